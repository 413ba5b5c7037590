"""Fixtures for the TRL integration's tests, run with the released ``trl`` and ``transformers``
(the venv ``cargo xtask setup`` makes at ``target/trainers-venv``) on CPU.

``$CODEGYM_ENVS`` names the component directory (default: ``target/envs``) and
``$CODEGYM_CACHE`` the compile cache; ``cargo xtask test`` sets both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

#: Qwen2.5's chat markers; the tool markers are ordinary (non-special) added tokens, as in
#: Qwen2.5's own tokenizer, so decoding keeps them and TRL's parser finds the calls.
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
TOOL_MARKERS = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]


@pytest.fixture(scope="session")
def env_dir() -> Path:
    envs = Path(os.environ.get("CODEGYM_ENVS") or ROOT / "target/envs")
    if not envs.is_dir() or not any(envs.glob("*.wasm")):
        pytest.exit(f"no components in {envs}: run `cargo xtask build-envs` (or set CODEGYM_ENVS)", returncode=2)
    return envs


@pytest.fixture(scope="session")
def tokenizer():
    """A real byte-level BPE tokenizer trained here on a little text (the hub is out of reach),
    carrying Qwen2.5's chat template as TRL ships it, so TRL recognises the template and parses
    ``<tool_call>`` replies as it does for Qwen2.5."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen2_5_chat_template

    corpus = [
        "You are Qwen, a helpful assistant. Call the tools to solve the task.",
        'tool_call {"name": "Get", "arguments": {"index": 3}} Done answer index value target',
        "Find the target value in a hidden sorted array of distinct integers.",
        "system user assistant tool function description parameters properties required type",
    ] * 20
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=400, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", padding_side="left"
    )
    tokenizer.add_tokens(TOOL_MARKERS)
    tokenizer.chat_template = qwen2_5_chat_template
    return tokenizer
