//! The policy side on the real SmolLM2-135M-Instruct GGUF (CPU): tokenizer, chat template,
//! weights, perplexity, generation with and without the KV cache, batching, save/reload.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use codegym_core::{ChatMessage, ChatToolCall, Role};
use codegym_trainer::generate::{Finish, SamplingParams, generate};
use codegym_trainer::gguf::Gguf;
use codegym_trainer::model::{KvCache, Llama, LlamaConfig};
use codegym_trainer::weights::{self, Loaded, WeightsError};
use rand::SeedableRng;
use tch::{Device, Kind, Tensor};

use crate::smollm2_gguf;

/// The model, loaded once for the whole test binary (loading takes a few seconds). Tensors are
/// not `Sync`, so tests take turns with it, which on 2 cores costs nothing: libtorch already
/// uses both.
fn smollm2() -> MutexGuard<'static, Loaded> {
    static MODEL: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let model = MODEL.get_or_init(|| {
        crate::init_threads();
        let loaded =
            weights::load(&smollm2_gguf(), Device::Cpu).unwrap_or_else(|e| panic!("loading SmolLM2: {e}"));
        Mutex::new(loaded)
    });
    // A failed test must not fail the others through poisoning.
    model.lock().unwrap_or_else(PoisonError::into_inner)
}

fn rng(seed: u64) -> rand_pcg::Pcg64 {
    rand_pcg::Pcg64::seed_from_u64(seed)
}

fn greedy(max_tokens: usize) -> SamplingParams {
    SamplingParams { temperature: 0.0, top_p: 1.0, max_tokens, stop: Vec::new() }
}

fn user_prompt(m: &Loaded, question: &str) -> Vec<u32> {
    let messages = [ChatMessage::new(Role::User, question)];
    let text = m.tokenizer.render_chat(&messages, true).expect("render");
    m.tokenizer.encode(&text)
}

/// Rows of ids as a right-padded [B,T] batch and its mask.
fn batch(rows: &[Vec<u32>], pad: u32) -> (Tensor, Tensor) {
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut ids = Vec::new();
    let mut mask = Vec::new();
    for r in rows {
        ids.extend(
            r.iter().map(|&t| i64::from(t)).chain(std::iter::repeat_n(i64::from(pad), width - r.len())),
        );
        mask.extend(std::iter::repeat_n(1i64, r.len()).chain(std::iter::repeat_n(0, width - r.len())));
    }
    let shape = [rows.len() as i64, width as i64];
    (Tensor::from_slice(&ids).view(shape), Tensor::from_slice(&mask).view(shape))
}

const PARAGRAPH: &str = "The city of Paris is the capital of France. It is known for the Eiffel Tower, \
    which was built in 1889 for the World's Fair. Millions of tourists visit the city every year \
    to see its museums, such as the Louvre, and to walk along the river Seine.";

#[test]
fn gguf_header_and_metadata_are_read() {
    let g = Gguf::open(&smollm2_gguf()).expect("open");
    assert_eq!(g.version, 3);
    assert_eq!(g.tensors.len(), 272);
    assert_eq!(g.get("general.architecture").and_then(|v| v.as_str()), Some("llama"));
    assert_eq!(g.get("llama.block_count").and_then(|v| v.as_u64()), Some(30));
    let tokens = g.get("tokenizer.ggml.tokens").and_then(|v| v.as_array()).map(<[_]>::len);
    assert_eq!(tokens, Some(49152));
    let config = weights::config_from_gguf(&g).expect("config");
    assert_eq!(
        (
            config.hidden_size,
            config.intermediate_size,
            config.num_attention_heads,
            config.num_key_value_heads
        ),
        (576, 1536, 9, 3)
    );
    assert_eq!(config.rope_theta, 100_000.0);
    assert!(config.tie_word_embeddings);
    // Q8_0 embedding dequantises to the [vocab, hidden] torch shape with sane values.
    let emb = g.tensor("token_embd.weight").expect("embedding");
    assert_eq!(emb.size(), [49152, 576]);
    let std = f64::try_from(emb.std(true)).expect("scalar");
    assert!(std > 0.01 && std < 1.0, "embedding std {std}");
}

#[test]
fn tokenizer_round_trips_and_knows_special_tokens() {
    let m = smollm2();
    let t = &m.tokenizer;
    assert_eq!(t.encode("<|im_start|>"), [1]);
    assert_eq!(t.encode("<|im_end|>"), [2]);
    assert_eq!(t.encode("<|endoftext|>"), [0]);
    assert_eq!(t.eos_ids().first(), Some(&2));
    assert!(t.eos_ids().contains(&0));
    // Digits are split one by one (the `smollm` pre-tokenizer).
    let digits = t.encode("12345");
    assert_eq!(digits.len(), 5, "{digits:?}");
    let ids = t.encode("<|im_start|>user\nHello world<|im_end|>");
    assert_eq!(ids.first(), Some(&1));
    assert_eq!(ids.last(), Some(&2));
    assert_eq!(ids.len(), 6, "{ids:?}");
    for text in
        [PARAGRAPH, "fn main() {\n    println!(\"héllo, 世界 🌍\");\n}\n", "  leading spaces\t\ttabs\n\n"]
    {
        assert_eq!(t.decode(&t.encode(text)), text);
    }
    // Whole words come out as the vocabulary's own entries, a leading space as GPT-2's "Ġ".
    for (text, token) in [("Hello", "Hello"), (" world", "Ġworld"), (" the", "Ġthe"), ("\n", "Ċ")] {
        let id = t.token_to_id(token).unwrap_or_else(|| panic!("{token} not in the vocabulary"));
        assert_eq!(t.encode(text), [id], "{text:?}");
    }
}

#[test]
fn chat_template_renders_chatml_with_tool_messages() {
    let m = smollm2();
    let t = &m.tokenizer;
    let mut assistant = ChatMessage::new(Role::Assistant, "Let me look.");
    assistant.tool_calls.push(ChatToolCall::new("call_1", "Observe", "{}"));
    let messages = [
        ChatMessage::new(Role::System, "You solve tasks."),
        ChatMessage::new(Role::User, "Go."),
        assistant,
        ChatMessage::tool_result("call_1", "array: [1, 2, 3]"),
    ];
    let text = t.render_chat(&messages, true).expect("render");
    let expected = "<|im_start|>system\nYou solve tasks.<|im_end|>\n<|im_start|>user\nGo.<|im_end|>\n\
        <|im_start|>assistant\nLet me look.<|im_end|>\n<|im_start|>tool\narray: [1, 2, 3]<|im_end|>\n\
        <|im_start|>assistant\n";
    assert_eq!(text, expected);
    // Without a system message the template adds SmolLM's own.
    let text = t.render_chat(&[ChatMessage::new(Role::User, "Hi")], false).expect("render");
    assert!(text.starts_with("<|im_start|>system\n"), "{text}");
    assert!(text.ends_with("<|im_start|>user\nHi<|im_end|>\n"), "{text}");
}

#[test]
fn perplexity_on_english_is_low() {
    let m = &*smollm2();
    let ids = m.tokenizer.encode(PARAGRAPH);
    let (tokens, mask) = batch(&[ids], m.tokenizer.pad_id());
    let lp = tch::no_grad(|| m.model.token_logprobs(&tokens, &mask));
    let nll = -f64::try_from(lp.mean(Kind::Float)).expect("scalar");
    let ppl = nll.exp();
    println!("SmolLM2-135M (Q4_1 GGUF, f32) perplexity on the paragraph: {ppl:.2}");
    assert!(ppl.is_finite() && ppl < 40.0, "perplexity {ppl}");
}

#[test]
fn greedy_answer_is_fluent() {
    let m = &*smollm2();
    let prompt = user_prompt(m, "What is the capital of France?");
    let params = SamplingParams { stop: vec!["<|im_end|>".into()], ..greedy(24) };
    let g = &generate(&m.model, &m.tokenizer, &[prompt], &params, &mut rng(0))[0];
    println!("greedy answer: {:?} ({:?})", g.text, g.finish);
    assert!(g.text.contains("Paris"), "{:?}", g.text);
    if g.finish == Finish::Stop {
        assert!(g.text.ends_with("<|im_end|>"));
        assert_eq!(g.tokens.last(), Some(&2));
    }
}

#[test]
fn kv_cache_generation_matches_full_recompute() {
    let m = &*smollm2();
    let prompt = user_prompt(m, "Write a haiku about rust.");
    let n = 12;
    let cached = &generate(&m.model, &m.tokenizer, std::slice::from_ref(&prompt), &greedy(n), &mut rng(0))[0];
    let mut seq = prompt.clone();
    let mut fresh = Vec::new();
    for _ in 0..n {
        let (tokens, mask) = batch(&[seq.clone()], 0);
        let logits = tch::no_grad(|| m.model.forward(&tokens, &mask));
        let next = logits.get(0).get(seq.len() as i64 - 1).argmax(-1, false);
        let next = u32::try_from(i64::try_from(next).expect("id")).expect("u32");
        fresh.push(next);
        seq.push(next);
        if m.tokenizer.eos_ids().contains(&next) {
            break;
        }
    }
    assert_eq!(cached.tokens, fresh);
}

#[test]
fn batched_generation_equals_one_at_a_time() {
    let m = &*smollm2();
    let prompts = vec![
        user_prompt(m, "Name a color."),
        user_prompt(m, "What is two plus two? Answer with a number and explain your reasoning briefly."),
        m.tokenizer.encode("The quick brown fox"),
    ];
    assert!(prompts[0].len() != prompts[1].len() && prompts[1].len() != prompts[2].len());
    let params = greedy(10);
    let together = generate(&m.model, &m.tokenizer, &prompts, &params, &mut rng(0));
    for (p, g) in prompts.iter().zip(&together) {
        let alone = &generate(&m.model, &m.tokenizer, std::slice::from_ref(p), &params, &mut rng(0))[0];
        assert_eq!(&g.tokens, &alone.tokens);
        assert_eq!(g.text, alone.text);
    }
}

#[test]
fn sampling_is_deterministic_for_a_seed_and_respects_limits() {
    let m = &*smollm2();
    let prompts = vec![user_prompt(m, "Tell me a story."); 2];
    let params = SamplingParams { temperature: 1.0, top_p: 0.9, max_tokens: 8, stop: Vec::new() };
    let a = generate(&m.model, &m.tokenizer, &prompts, &params, &mut rng(7));
    let b = generate(&m.model, &m.tokenizer, &prompts, &params, &mut rng(7));
    assert_eq!(a, b);
    for g in &a {
        assert!(g.tokens.len() <= 8);
        assert!(g.finish == Finish::Stop || g.tokens.len() == 8);
    }
    // Different seeds diverge somewhere over a few draws at temperature 1.
    let c = generate(&m.model, &m.tokenizer, &prompts, &params, &mut rng(8));
    let d = generate(&m.model, &m.tokenizer, &prompts, &params, &mut rng(9));
    assert!(a != c || a != d);
    // A stop string ends the generation and is kept.
    let stop = SamplingParams { stop: vec![" ".into()], ..greedy(16) };
    let g = &generate(&m.model, &m.tokenizer, &[m.tokenizer.encode("Once upon a")], &stop, &mut rng(0))[0];
    assert_eq!(g.finish, Finish::Stop);
    assert!(g.text.ends_with(' ') && g.text.matches(' ').count() == 1, "{:?}", g.text);
}

#[test]
fn gguf_to_safetensors_and_back_gives_identical_logits() {
    let m = &*smollm2();
    let dir = tempfile::tempdir().expect("tempdir");
    weights::save(dir.path(), m).expect("save");
    for f in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let back = weights::load(dir.path(), Device::Cpu).expect("reload");
    assert_eq!(back.config, m.config);
    let ids = m.tokenizer.encode(PARAGRAPH);
    assert_eq!(back.tokenizer.encode(PARAGRAPH), ids);
    let msgs = [ChatMessage::new(Role::User, "Hi")];
    assert_eq!(back.tokenizer.render_chat(&msgs, true).ok(), m.tokenizer.render_chat(&msgs, true).ok());
    assert_eq!(back.tokenizer.eos_ids(), m.tokenizer.eos_ids());
    let (tokens, mask) = batch(&[ids[..32].to_vec()], 0);
    let a = tch::no_grad(|| m.model.forward(&tokens, &mask));
    let b = tch::no_grad(|| back.model.forward(&tokens, &mask));
    assert!(a.equal(&b), "max diff {}", f64::try_from((a - b).abs().max()).unwrap_or(f64::NAN));
}

#[test]
fn bad_files_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(smollm2_gguf()).expect("read");
    let m = smollm2();

    // Truncated in the header, and in the tensor data.
    let err = Gguf::parse(bytes[..1000].to_vec()).expect_err("truncated header");
    assert!(err.to_string().contains("truncated"), "{err}");
    let err = Gguf::parse(bytes[..bytes.len() - 10].to_vec()).expect_err("truncated data");
    assert!(err.to_string().contains("past the end of the file"), "{err}");
    let err = Gguf::parse(b"GGML\x03\0\0\0".to_vec()).expect_err("magic");
    assert!(err.to_string().contains("not a GGUF file"), "{err}");

    // An unknown quantisation type: rewrite the first Q4_1 tensor's type to Q4_K (12).
    let g = Gguf::parse(bytes.clone()).expect("parse");
    let q41 = g.tensors.iter().find(|t| t.name == "blk.0.attn_q.weight").expect("tensor");
    let name = q41.name.as_bytes();
    let at = bytes.windows(name.len()).position(|w| w == name).expect("name in header");
    let type_at = at + name.len() + 4 + 8 * q41.dims.len();
    assert_eq!(bytes[type_at..type_at + 4], 3u32.to_le_bytes());
    let mut patched = bytes.clone();
    patched[type_at..type_at + 4].copy_from_slice(&12u32.to_le_bytes());
    let path = dir.path().join("q4k.gguf");
    std::fs::write(&path, &patched).expect("write");
    let err = weights::load(&path, Device::Cpu).expect_err("unknown quant");
    assert!(err.to_string().contains("unsupported quantisation type 12"), "{err}");

    // A missing tensor: rename one.
    let mut patched = bytes.clone();
    patched[at..at + 3].copy_from_slice(b"xlk");
    std::fs::write(&path, &patched).expect("write");
    let err = weights::load(&path, Device::Cpu).expect_err("missing tensor");
    assert!(matches!(err, WeightsError::MissingTensor(_)), "{err}");
    assert!(err.to_string().contains("blk.0.attn_q.weight"), "{err}");

    // A shape mismatch: a safetensors directory whose config is wider than its tensors.
    let mut config = LlamaConfig::tiny(40);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let model = Llama::new(vs.root(), &config);
    let small = Loaded { config: config.clone(), vs, model, tokenizer: m.tokenizer.clone() };
    let st_dir = dir.path().join("hf");
    weights::save(&st_dir, &small).expect("save");
    config.intermediate_size += 8;
    std::fs::write(st_dir.join("config.json"), config.to_hf_json()).expect("write");
    let err = weights::load(&st_dir, Device::Cpu).expect_err("shape");
    assert!(matches!(err, WeightsError::ShapeMismatch { .. }), "{err}");
    assert!(err.to_string().contains("mlp"), "{err}");
}

/// Logits of `rows` one at a time, each [T_i, V].
fn alone(model: &Llama, rows: &[Vec<u32>]) -> Vec<Tensor> {
    rows.iter()
        .map(|r| {
            let (t, m) = batch(std::slice::from_ref(r), 0);
            model.forward(&t, &m).get(0)
        })
        .collect()
}

#[test]
fn padding_left_or_right_leaves_real_positions_unchanged() {
    crate::init_threads();
    tch::manual_seed(1);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let model = Llama::new(vs.root(), &LlamaConfig::tiny(50));
    let rows = vec![vec![3, 14, 15, 9, 2], vec![6, 5, 3, 5, 8, 9, 7, 9]];
    let single = alone(&model, &rows);

    let (tokens, mask) = batch(&rows, 0);
    let right = model.forward(&tokens, &mask);
    assert_eq!(right.size(), [2, 8, 50]);
    for (i, s) in single.iter().enumerate() {
        let n = s.size()[0];
        assert!(right.get(i as i64).narrow(0, 0, n).allclose(s, 1e-5, 1e-5, false), "row {i}");
    }

    // Left padding: positions count real tokens, so the short row's logits are the same.
    let tokens = Tensor::from_slice(&[0i64, 0, 0, 3, 14, 15, 9, 2]).view([1, 8]);
    let mask = Tensor::from_slice(&[0i64, 0, 0, 1, 1, 1, 1, 1]).view([1, 8]);
    let left = model.forward(&tokens, &mask).get(0).narrow(0, 3, 5);
    assert!(left.allclose(&single[0], 1e-5, 1e-5, false));

    // token_logprobs is log_softmax of the logits at the next token.
    let (tokens, mask) = batch(&rows, 0);
    let lp = model.token_logprobs(&tokens, &mask);
    assert_eq!(lp.size(), [2, 7]);
    let expected = right.log_softmax(-1, Kind::Float).narrow(1, 0, 7).gather(
        -1,
        &tokens.narrow(1, 1, 7).unsqueeze(-1),
        false,
    );
    assert!(lp.allclose(&expected.squeeze_dim(-1), 1e-5, 1e-5, false));
    // And it is differentiable.
    lp.sum(Kind::Float).backward();
    let grad = vs.variables()["model.embed_tokens.weight"].grad();
    assert!(f64::try_from(grad.abs().sum(Kind::Float)).expect("scalar") > 0.0);
}

#[test]
fn qwen2_style_checkpoint_round_trips_with_biases_and_an_untied_head() {
    crate::init_threads();
    let tokenizer = smollm2().tokenizer.clone();
    let config = LlamaConfig {
        model_type: "qwen2".into(),
        attention_bias: true,
        tie_word_embeddings: false,
        ..LlamaConfig::tiny(50)
    };
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let model = Llama::new(vs.root(), &config);
    let names = vs.variables();
    assert!(names.contains_key("model.layers.1.self_attn.k_proj.bias"));
    assert!(names.contains_key("lm_head.weight"));
    assert!(!names.contains_key("model.layers.1.self_attn.o_proj.bias"));
    let original = Loaded { config: config.clone(), vs, model, tokenizer };
    let dir = tempfile::tempdir().expect("tempdir");
    weights::save(dir.path(), &original).expect("save");

    // Qwen2's own config.json has no attention_bias key: the architecture implies it.
    let text = std::fs::read_to_string(dir.path().join("config.json")).expect("config");
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["architectures"][0], "Qwen2ForCausalLM");
    json.as_object_mut().expect("object").remove("attention_bias");
    std::fs::write(dir.path().join("config.json"), json.to_string()).expect("write");

    let back = weights::load(dir.path(), Device::Cpu).expect("load");
    assert_eq!(back.config, config);
    let (tokens, mask) = batch(&[vec![1, 2, 3, 4, 5, 6]], 0);
    assert!(original.model.forward(&tokens, &mask).equal(&back.model.forward(&tokens, &mask)));
}

#[test]
fn hf_config_json_matches_the_gguf_metadata() {
    // SmolLM2-135M-Instruct's config.json as published (abridged to the keys that matter).
    let text = r#"{"architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1,
        "eos_token_id": 2, "hidden_act": "silu", "hidden_size": 576, "intermediate_size": 1536,
        "max_position_embeddings": 8192, "model_type": "llama", "num_attention_heads": 9,
        "num_hidden_layers": 30, "num_key_value_heads": 3, "pad_token_id": 2, "rms_norm_eps": 1e-05,
        "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true,
        "torch_dtype": "bfloat16", "vocab_size": 49152}"#;
    let hf = LlamaConfig::from_hf_json(text).expect("parse");
    let gguf = weights::config_from_gguf(&Gguf::open(&smollm2_gguf()).expect("open")).expect("config");
    assert_eq!(hf, gguf);
    assert_eq!(hf.head_dim(), 64);

    let scaled =
        text.replace(r#""rope_scaling": null"#, r#""rope_scaling": {"rope_type": "llama3", "factor": 8.0}"#);
    let err = LlamaConfig::from_hf_json(&scaled).expect_err("rope scaling");
    assert!(err.to_string().contains("rope_scaling"), "{err}");
}

#[test]
fn a_growing_cache_fed_token_by_token_matches_the_full_forward() {
    crate::init_threads();
    tch::manual_seed(2);
    let vs = tch::nn::VarStore::new(Device::Cpu);
    let config = LlamaConfig::tiny(50);
    let model = Llama::new(vs.root(), &config);
    let ids: Vec<i64> = vec![7, 1, 4, 9, 33, 2, 8, 41, 5, 12, 3];
    let n = ids.len() as i64;
    let all = Tensor::from_slice(&ids).view([1, n]);
    let full = model.forward(&all, &Tensor::ones([1, n], (Kind::Int64, Device::Cpu))).get(0);
    // No reserved capacity: the buffers grow 3 -> 6 -> 12 slots along the way.
    let mut cache = KvCache::new(&config);
    let prefill = 3;
    let last = model.forward_cached(
        &all.narrow(1, 0, prefill),
        &Tensor::ones([1, prefill], (Kind::Int64, Device::Cpu)),
        &mut cache,
    );
    assert!(last.get(0).allclose(&full.get(prefill - 1), 1e-5, 1e-5, false));
    for i in prefill..n {
        let one = Tensor::ones([1, 1], (Kind::Int64, Device::Cpu));
        let last = model.forward_cached(&all.narrow(1, i, 1), &one, &mut cache);
        assert!(last.get(0).allclose(&full.get(i), 1e-5, 1e-5, false), "position {i}");
    }
    assert_eq!(cache.len(), n);
}

/// The CUDA path's dtype handling (bf16 parameters, f32 logits, bf16 checkpoints), exercised
/// on the CPU.
#[test]
fn bf16_parameters_give_f32_logits_close_to_f32_and_save_as_bf16() {
    crate::init_threads();
    tch::manual_seed(3);
    let config = LlamaConfig::tiny(50);
    let mut vs = tch::nn::VarStore::new(Device::Cpu);
    let model = Llama::new(vs.root(), &config);
    let (tokens, mask) = batch(&[vec![3, 1, 4, 1, 5, 9, 2, 6], vec![2, 7, 1, 8]], 0);
    let f32_logits = model.forward(&tokens, &mask);
    vs.bfloat16();
    assert_eq!(model.kind(), Kind::BFloat16);
    let bf16_logits = model.forward(&tokens, &mask);
    assert_eq!(bf16_logits.kind(), Kind::Float);
    let diff = f64::try_from((&bf16_logits - &f32_logits).abs().max()).expect("scalar");
    assert!(diff < 0.1, "bf16 vs f32 logits differ by {diff}");
    assert!(diff > 0.0, "the cast did not take effect");

    let tokenizer = smollm2().tokenizer.clone();
    let loaded = Loaded { config, vs, model, tokenizer };
    let prompts = [vec![3, 1, 4], vec![1, 5, 9, 2, 6]];
    let g = generate(&loaded.model, &loaded.tokenizer, &prompts, &greedy(4), &mut rng(0));
    assert!(g.iter().all(|g| g.tokens.len() == 4 && g.tokens.iter().all(|&t| t < 50)));

    let dir = tempfile::tempdir().expect("tempdir");
    weights::save(dir.path(), &loaded).expect("save");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).expect("read"))
            .expect("json");
    assert_eq!(json["torch_dtype"], "bfloat16");
    let bytes = std::fs::read(dir.path().join("model.safetensors")).expect("read");
    let header_len =
        usize::try_from(u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))).expect("len");
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).expect("utf8");
    assert!(header.contains("\"BF16\"") && !header.contains("\"F32\""), "{header}");
    // Loading on the CPU gives f32 parameters holding the same (bf16-representable) values.
    let back = weights::load(dir.path(), Device::Cpu).expect("load");
    assert_eq!(back.model.kind(), Kind::Float);
    assert!(back.model.forward(&tokens, &mask).allclose(&bf16_logits, 1e-2, 1e-2, false));
}
