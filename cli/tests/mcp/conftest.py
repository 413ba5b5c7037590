"""``codegym mcp`` for the released ``mcp`` Python client: the command line of a stdio server,
and one streamable-HTTP server on 127.0.0.1 for the run.

``$CODEGYM_BIN`` names the binary (default: the repository's ``target/debug/codegym``),
``$CODEGYM_ENVS`` its component directory (default: ``target/envs``) and ``$CODEGYM_CACHE``
the compile cache (default: the binary's own, ``~/.cache/codegym``).
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# Loading a component with a cold compile cache takes a while on 2 cores.
STARTUP_SECONDS = 600.0
SEED = "11"
DIFFICULTY = "60"


def _binary() -> Path:
    binary = Path(os.environ.get("CODEGYM_BIN") or ROOT / "target/debug/codegym")
    if not binary.is_file():
        pytest.exit(f"no codegym binary at {binary}: run `cargo build -p codegym-cli` (or set CODEGYM_BIN)", returncode=2)
    return binary


def _env_dir() -> Path:
    envs = Path(os.environ.get("CODEGYM_ENVS") or ROOT / "target/envs")
    if not envs.is_dir() or not any(envs.glob("*.wasm")):
        pytest.exit(f"no components in {envs}: run `cargo xtask build-envs` (or set CODEGYM_ENVS)", returncode=2)
    return envs


def _global_args() -> list[str]:
    args = ["--env-dir", str(_env_dir())]
    if cache := os.environ.get("CODEGYM_CACHE"):
        args += ["--cache-dir", cache]
    return args


@pytest.fixture(scope="session")
def mcp_command() -> Callable[..., tuple[str, list[str]]]:
    """``mcp_command(ENV, *ARGS)``: the program and arguments of ``codegym mcp ENV ARGS``
    (seed 11, difficulty 60 unless ARGS say otherwise), as ``StdioServerParameters`` take
    them."""

    def command(env: str, *args: str) -> tuple[str, list[str]]:
        return str(_binary()), [*_global_args(), "mcp", env, "--seed", SEED, "--difficulty", DIFFICULTY, *args]

    return command


@pytest.fixture(scope="session")
def http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The endpoint (``http://127.0.0.1:PORT/mcp``) of a ``codegym mcp binary-search --http``
    for this run."""
    log = tmp_path_factory.mktemp("mcp") / "stderr.log"
    command = [
        str(_binary()),
        *_global_args(),
        "mcp",
        "binary-search",
        "--seed",
        SEED,
        "--difficulty",
        DIFFICULTY,
        "--http",
        "127.0.0.1:0",
    ]
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
        try:
            line = lines.get(timeout=STARTUP_SECONDS)
        except queue.Empty:
            raise RuntimeError(f"`{' '.join(command)}` printed no address in {STARTUP_SECONDS} s") from None
        if line is None:
            process.wait(timeout=5)
            raise RuntimeError(f"`{' '.join(command)}` exited with {process.returncode}: {log.read_text(errors='replace')}")
        assert line.startswith("listening on "), line
        url = line.removeprefix("listening on ").strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp"), url
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
