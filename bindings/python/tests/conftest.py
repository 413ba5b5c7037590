"""Fixtures: one real ``codegym serve`` for the whole test session.

``$CODEGYM_BIN`` names the binary (default: the repository's ``target/debug/codegym``) and
``$CODEGYM_ENVS`` its component directory (default: ``target/envs``); ``cargo xtask test``
sets both.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from codegym import Client

ROOT = Path(__file__).resolve().parents[3]
STARTUP_SECONDS = 30.0


def _binary() -> Path:
    binary = Path(os.environ.get("CODEGYM_BIN") or ROOT / "target/debug/codegym")
    if not binary.is_file():
        pytest.exit(
            f"no codegym binary at {binary}: run `cargo build --profile dev -p codegym-cli` (or set CODEGYM_BIN)",
            returncode=2,
        )
    return binary


def _env_dir() -> Path:
    envs = Path(os.environ.get("CODEGYM_ENVS") or ROOT / "target/envs")
    if not envs.is_dir() or not any(envs.glob("*.wasm")):
        pytest.exit(
            f"no environment components in {envs}: run `cargo xtask build-envs` (or set CODEGYM_ENVS)", returncode=2
        )
    return envs


@contextlib.contextmanager
def start_server(*extra: str, log_dir: Path) -> Iterator[str]:
    """Run ``codegym serve --addr 127.0.0.1:0`` (plus ``extra`` arguments) and yield its base
    URL once it prints it; stop it on exit."""
    log = log_dir / "stderr.log"
    command = [str(_binary()), "serve", "--addr", "127.0.0.1:0", "--env-dir", str(_env_dir()), *extra]
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
                raise RuntimeError(
                    f"`{' '.join(command)}` exited with {process.returncode}: {log.read_text(errors='replace')}"
                )
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
    """The base URL of a ``codegym serve`` started for this test run."""
    with start_server(log_dir=tmp_path_factory.mktemp("server")) as url:
        # Listing loads every component; with a cold compile cache (a fresh machine) that
        # takes a while on 2 cores, so do it once here with room, not in a test's timeout.
        with Client(url, timeout=600) as warm:
            warm.envs()
        yield url


@pytest.fixture
def client(server_url: str) -> Iterator[Client]:
    with Client(server_url) as client:
        yield client
