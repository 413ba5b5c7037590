"""One real ``codegym serve`` on 127.0.0.1 for the OpenEnv tests, run with the released
``openenv-core`` package (the venv ``cargo xtask setup`` makes at ``target/openenv-venv``).

``$CODEGYM_BIN`` names the binary (default: the repository's ``target/debug/codegym``) and
``$CODEGYM_ENVS`` its component directory (default: ``target/envs``); ``cargo xtask test``
sets both, and ``$CODEGYM_CACHE`` to the compile cache the Rust tests filled.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
STARTUP_SECONDS = 30.0
# Loading a component with a cold compile cache takes a while on 2 cores.
WARM_UP_SECONDS = 600.0


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


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT``) of a ``codegym serve`` for this run."""
    log = tmp_path_factory.mktemp("server") / "stderr.log"
    command = [str(_binary()), "serve", "--addr", "127.0.0.1:0", "--env-dir", str(_env_dir())]
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
                raise RuntimeError(f"`{' '.join(command)}` exited with {process.returncode}: {log.read_text(errors='replace')}")
            if line.startswith("listening on "):
                url = line.removeprefix("listening on ").strip().rstrip("/")
        assert url.startswith("http://127.0.0.1:"), url
        # Load the components the tests use once, with room for a cold compile cache.
        for env in ("binary-search", "house-robber"):
            with urllib.request.urlopen(f"{url}/openenv/{env}/health", timeout=WARM_UP_SECONDS) as response:
                assert response.status == 200
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def base_url(server_url: str) -> str:
    """OpenEnv's ``base_url`` for ``binary-search``."""
    return f"{server_url}/openenv/binary-search"
