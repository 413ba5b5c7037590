//! The policy's tokenizer: a byte-level BPE (the `tokenizers` crate), built from a GGUF
//! file's vocabulary and merges or read from a Hugging Face `tokenizer.json`, plus the
//! checkpoint's own Jinja chat template (minijinja).

use std::path::Path;

use codegym_core::ChatMessage;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, PreTokenizerWrapper};

use crate::gguf::{Gguf, Value};

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("GGUF tokenizer: {0}")]
    Gguf(String),
    #[error("tokenizer: {0}")]
    Tokenizers(#[from] tokenizers::Error),
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Json { path: String, source: serde_json::Error },
    #[error("chat template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("the checkpoint has no chat template")]
    NoChatTemplate,
}

/// Text ↔ token ids, and chat messages → prompt text.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    chat_template: Option<String>,
    bos_token: Option<String>,
    eos_token: Option<String>,
    eos_ids: Vec<u32>,
    pad_id: u32,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("eos_ids", &self.eos_ids)
            .field("pad_id", &self.pad_id)
            .finish_non_exhaustive()
    }
}

/// Tokens a chat model ends a turn or a document with, besides its configured EOS.
const END_TOKENS: &[&str] = &["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>"];

impl Tokenizer {
    /// Builds the BPE described by a GGUF file's `tokenizer.ggml.*` metadata (`gpt2`-style
    /// byte-level BPE; the `pre` key picks the pre-tokenizer).
    pub fn from_gguf(gguf: &Gguf) -> Result<Self, TokenizerError> {
        let err = |m: &str| TokenizerError::Gguf(m.into());
        let model = gguf.get("tokenizer.ggml.model").and_then(Value::as_str).unwrap_or("");
        if model != "gpt2" {
            return Err(TokenizerError::Gguf(format!(
                "tokenizer model {model:?} is not supported (only byte-level BPE, \"gpt2\")"
            )));
        }
        let strings = |key: &str| -> Result<Vec<&str>, TokenizerError> {
            let items =
                gguf.get(key).and_then(Value::as_array).ok_or_else(|| err(&format!("{key} missing")))?;
            items.iter().map(|v| v.as_str().ok_or_else(|| err(&format!("{key}: not strings")))).collect()
        };
        let tokens = strings("tokenizer.ggml.tokens")?;
        let merges = strings("tokenizer.ggml.merges")?;
        let vocab: Vocab = tokens.iter().enumerate().map(|(i, t)| (t.to_string(), id(i))).collect();
        let merges = merges
            .iter()
            .map(|m| m.split_once(' ').map(|(a, b)| (a.to_string(), b.to_string())))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| err("a merge is not two tokens separated by a space"))?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| TokenizerError::Gguf(e.to_string()))?;

        let pre = gguf.get("tokenizer.ggml.pre").and_then(Value::as_str).unwrap_or("default");
        let byte_level = ByteLevel::new(false, true, true);
        let pre_tokenizer: PreTokenizerWrapper = match pre {
            // llama.cpp's regexes for these: single digits, then GPT-2's byte-level split.
            "smollm" | "starcoder" | "refact" | "codeshell" => {
                Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into()
            }
            "default" | "gpt2" | "gpt-2" => byte_level.into(),
            other => {
                return Err(TokenizerError::Gguf(format!(
                    "pre-tokenizer {other:?} is not supported (smollm, starcoder, gpt2)"
                )));
            }
        };
        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer));
        inner.with_decoder(Some(ByteLevel::default()));

        // Control (3) and user-defined (4) tokens are matched whole in text.
        let types = gguf.get("tokenizer.ggml.token_type").and_then(Value::as_array).unwrap_or_default();
        let special: Vec<AddedToken> = types
            .iter()
            .zip(&tokens)
            .filter(|(t, _)| matches!(t.as_u64(), Some(3 | 4)))
            .map(|(_, tok)| AddedToken::from(tok.to_string(), true))
            .collect();
        inner.add_special_tokens(special)?;

        let token_at = |key: &str| {
            let i = gguf.get(key).and_then(Value::as_u64)?;
            tokens.get(usize::try_from(i).ok()?).map(|s| s.to_string())
        };
        let chat_template = gguf.get("tokenizer.chat_template").and_then(Value::as_str).map(str::to_string);
        let eos_token = token_at("tokenizer.ggml.eos_token_id");
        let pad_token = token_at("tokenizer.ggml.padding_token_id");
        Ok(Self::assemble(
            inner,
            chat_template,
            token_at("tokenizer.ggml.bos_token_id"),
            eos_token,
            pad_token,
        ))
    }

    /// Reads `tokenizer.json` and, when present, `tokenizer_config.json` (chat template and
    /// special tokens) from a Hugging Face directory.
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizerError> {
        let inner = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))?;
        let config_path = dir.join("tokenizer_config.json");
        let config: serde_json::Value = match std::fs::read_to_string(&config_path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|source| TokenizerError::Json { path: config_path.display().to_string(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Value::Null,
            Err(source) => {
                return Err(TokenizerError::Io { path: config_path.display().to_string(), source });
            }
        };
        // A special token is a string or an `{"content": ...}` object.
        let token = |key: &str| {
            let v = config.get(key)?;
            v.as_str().or_else(|| v.get("content")?.as_str()).map(str::to_string)
        };
        let template = config.get("chat_template").and_then(|v| v.as_str()).map(str::to_string);
        Ok(Self::assemble(inner, template, token("bos_token"), token("eos_token"), token("pad_token")))
    }

    fn assemble(
        inner: tokenizers::Tokenizer,
        chat_template: Option<String>,
        bos_token: Option<String>,
        eos_token: Option<String>,
        pad_token: Option<String>,
    ) -> Self {
        let mut eos_ids: Vec<u32> = Vec::new();
        for t in eos_token.iter().map(String::as_str).chain(END_TOKENS.iter().copied()) {
            if let Some(i) = inner.token_to_id(t).filter(|i| !eos_ids.contains(i)) {
                eos_ids.push(i);
            }
        }
        let pad_id = pad_token.and_then(|t| inner.token_to_id(&t)).or(eos_ids.first().copied()).unwrap_or(0);
        Self { inner, chat_template, bos_token, eos_token, eos_ids, pad_id }
    }

    /// Writes `tokenizer.json` and `tokenizer_config.json` (with the chat template) to `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), TokenizerError> {
        self.inner.save(dir.join("tokenizer.json"), false)?;
        let mut config = serde_json::json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "add_bos_token": false,
            "clean_up_tokenization_spaces": false,
        });
        let pad = self.inner.id_to_token(self.pad_id);
        for (key, value) in [
            ("chat_template", self.chat_template.clone()),
            ("bos_token", self.bos_token.clone()),
            ("eos_token", self.eos_token.clone()),
            ("pad_token", pad),
        ] {
            if let (Some(v), Some(map)) = (value, config.as_object_mut()) {
                map.insert(key.into(), v.into());
            }
        }
        let path = dir.join("tokenizer_config.json");
        let text = serde_json::to_string_pretty(&config).unwrap_or_default();
        std::fs::write(&path, text)
            .map_err(|source| TokenizerError::Io { path: path.display().to_string(), source })
    }

    /// Token ids of `text`; special tokens written in it (`<|im_start|>`) become their ids.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        // Encoding a &str with a BPE over all 256 bytes cannot fail.
        self.inner.encode_fast(text, false).map(|e| e.get_ids().to_vec()).unwrap_or_default()
    }

    /// The text of `ids`, special tokens included; ids outside the vocabulary are skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        let known: Vec<u32> = ids.iter().copied().filter(|&i| self.inner.id_to_token(i).is_some()).collect();
        self.inner.decode(&known, false).unwrap_or_default()
    }

    /// Ids that end a generation: the configured EOS and the usual end-of-turn tokens.
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    /// The id padding is filled with (the pad token, else the first EOS id).
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// Vocabulary size, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// The prompt text of `messages` under the checkpoint's chat template (tool messages
    /// included), ending with the assistant's header when `add_generation_prompt`.
    pub fn render_chat(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, TokenizerError> {
        let template = self.chat_template.as_deref().ok_or(TokenizerError::NoChatTemplate)?;
        let mut env = minijinja::Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        });
        env.add_template("chat", template)?;
        let messages: Vec<serde_json::Value> = messages.iter().map(template_message).collect();
        let ctx = minijinja::context! {
            messages => minijinja::Value::from(minijinja::value::Serde(&messages)),
            add_generation_prompt => add_generation_prompt,
            bos_token => self.bos_token.clone().unwrap_or_default(),
            eos_token => self.eos_token.clone().unwrap_or_default(),
        };
        Ok(env.get_template("chat")?.render(ctx)?)
    }
}

/// A message as Hugging Face templates expect it: `content` a string (empty rather than
/// null), tool-call arguments as an object when they parse as JSON.
fn template_message(m: &ChatMessage) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        map.insert("content".into(), m.text().into());
        if let Some(calls) = map.get_mut("tool_calls").and_then(|c| c.as_array_mut()) {
            for call in calls {
                if let Some(args) = call.pointer_mut("/function/arguments")
                    && let Some(parsed) = args.as_str().and_then(|s| serde_json::from_str(s).ok())
                {
                    *args = parsed;
                }
            }
        }
    }
    v
}

fn id(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}
