"""Fixtures for the trainer integrations' tests (verl's agent loop, TRL's ``GRPOTrainer``),
run with the released packages in the venv ``cargo xtask setup`` makes at
``target/trainers-venv``: a real tokenizer built here (with a ChatML template for verl, with
Qwen2.5's as TRL ships it for TRL), verl's own trainer config, and a real ``codegym serve``
for the remote-episode test.

``$CODEGYM_ENVS`` names the component directory (default ``target/envs``), ``$CODEGYM_BIN``
the server binary (default ``target/debug/codegym``); ``cargo xtask test`` sets both.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
STARTUP_SECONDS = 30.0


def env_dir() -> Path:
    envs = Path(os.environ.get("CODEGYM_ENVS") or ROOT / "target/envs")
    if not envs.is_dir() or not any(envs.glob("*.wasm")):
        pytest.exit(
            f"no environment components in {envs}: run `cargo xtask build-envs` (or set CODEGYM_ENVS)", returncode=2
        )
    return envs


@pytest.fixture(scope="session", autouse=True)
def _components() -> None:
    os.environ["CODEGYM_ENVS"] = str(env_dir())


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory as verl loads one by path: the test tokenizer (trained on our
    prompts and observations) and a Qwen2 ``config.json`` (no weights: nothing runs a model)."""
    import codegym
    from transformers import Qwen2Config

    from .tokenizer import build_tokenizer

    corpus = []
    for name in ("binary-search", "coin-change"):
        env = codegym.make(name, seed=0)
        env.reset()
        corpus += [message["content"] for message in env.prompt("hermes")]
        corpus.append('<tool_call>\n{"name": "Get", "arguments": {"index": 12}}\n</tool_call>')
    corpus += [f"{n} -{n} Error: the value {n}" for n in range(200)]
    directory = tmp_path_factory.mktemp("model")
    tokenizer = build_tokenizer(corpus, directory)
    Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        architectures=["Qwen2ForCausalLM"],
    ).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def envs() -> Path:
    """The component directory, for the tests that pass it explicitly."""
    return env_dir()


#: The environments TRL's trainer test runs; the TRL tokenizer is trained on their prompts.
TRL_ENVS = ("binary-search", "two-sum")


@pytest.fixture(scope="session")
def qwen_tokenizer() -> Any:
    """The test tokenizer with Qwen2.5's chat template as TRL ships it, so that TRL recognises
    the template and parses ``<tool_call>`` replies as it does for Qwen2.5; trained on the
    prompts TRL renders for ``TRL_ENVS`` (their tasks, their tools' schemas), which keeps them
    a few hundred tokens long."""
    import json

    import codegym
    import codegym.trl
    from transformers.utils import get_json_schema
    from trl.chat_template_utils import qwen2_5_chat_template

    from .tokenizer import build_tokenizer

    corpus = ['<tool_call>\n{"name": "Get", "arguments": {"index": 0}}\n</tool_call>']
    for name in TRL_ENVS:
        instance = codegym.trl.environment_class(name)()
        for seed in range(8):
            corpus.append(instance.reset(seed=seed))
        for tool in codegym.make(name).tools:
            corpus.append(json.dumps(get_json_schema(getattr(instance, tool["name"]))))
    return build_tokenizer(corpus * 4, vocab_size=1500, chat_template=qwen2_5_chat_template)


@pytest.fixture(scope="session")
def tokenizer(model_dir: Path) -> Any:
    """The tokenizer loaded from ``model_dir`` the way verl loads it (``hf_tokenizer``)."""
    from verl.utils import hf_tokenizer

    return hf_tokenizer(str(model_dir))


def _binary() -> Path:
    binary = Path(os.environ.get("CODEGYM_BIN") or ROOT / "target/debug/codegym")
    if not binary.is_file():
        pytest.fail(f"no codegym binary at {binary}: run `cargo build -p codegym-cli` (or set CODEGYM_BIN)")
    return binary


@contextlib.contextmanager
def start_server(log_dir: Path) -> Iterator[str]:
    """Run ``codegym serve --addr 127.0.0.1:0`` and yield its base URL once it prints it."""
    command = [str(_binary()), "serve", "--addr", "127.0.0.1:0", "--env-dir", str(env_dir())]
    log = log_dir / "stderr.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        url = None
        while url is None:
            try:
                line = lines.get(timeout=STARTUP_SECONDS)
            except queue.Empty:
                raise RuntimeError(f"`{' '.join(command)}` printed no address in {STARTUP_SECONDS} s") from None
            if line is None:
                process.wait(timeout=5)
                raise RuntimeError(f"`{' '.join(command)}` exited: {log.read_text(errors='replace')}")
            if line.startswith("listening on "):
                url = line.removeprefix("listening on ").strip()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import codegym

    with start_server(tmp_path_factory.mktemp("server")) as url:
        with codegym.Client(url, timeout=600) as warm:  # a cold compile cache takes a while
            warm.envs()
        yield url
