"""``python -m codegym.bench``: the in-process API's speed, beside its baselines, in one run.

Figures (p50 in microseconds, throughput in steps per second):

* ``make_reset_us``: ``codegym.make(name)`` then ``reset()``;
* ``step_us``: one ``Env.step`` of a cheap tool call (``Observe``) from Python;
* ``vec_steps_per_s``: ``make_vec`` with ``--num-envs`` environments, all stepped at once;
* ``http_step_us`` / ``http_steps_per_s``: the same step through ``codegym.Client`` against a
  ``codegym serve`` on 127.0.0.1 (``--codegym-bin``, default ``$CODEGYM_BIN``; skipped
  without one);
* ``native_steps_per_s``: a CodeGym-style Python class (``--native FILE.py``, default the
  repository's ``envs-py/search-insert-position.py``) stepped natively in this interpreter,
  unsandboxed, beside ``vec_python_steps_per_s``, the same file as a sandboxed package in
  ``make_vec``; and the ratios of the batched API to it;
* with ``--ray ADDRESS`` (a running cluster, e.g. ``ray start --head``), ``codegym.ray``:
  ``ray_step_us`` (one ``RemoteEnv.step``, a Ray actor call) and ``ray_vec_steps_per_s_1`` /
  ``_2`` (a ``make_vec`` batch over one actor, then two).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import codegym

OBSERVE = {"name": "Observe", "arguments": {}}
# Long episodes: the benchmark measures steps, not the step limit.
LIMITS = {"max_steps": 1 << 30, "fuel_per_episode": 1 << 62}


def p50_us(run: Callable[[], Any], count: int) -> float:
    samples = []
    for _ in range(count):
        started = time.perf_counter_ns()
        run()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1000


def per_second(run: Callable[[], int], seconds: float) -> float:
    """Steps per second of repeated ``run()`` (each returns the steps it took) for ``seconds``."""
    run()  # warm up
    steps, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        steps += run()
    return steps / elapsed


def bench_local(name: str, num_envs: int, seconds: float, env_dir: str | None) -> dict[str, float]:
    codegym.make(name, env_dir=env_dir).reset()  # load (and compile, once) outside the timing
    seed = iter(range(1 << 62))
    make_reset = p50_us(lambda: codegym.make(name, seed=next(seed), env_dir=env_dir).reset(), 2000)
    env = codegym.make(name, env_dir=env_dir, limits=LIMITS)
    env.reset()
    step = p50_us(lambda: env.step(OBSERVE), 20000)
    envs = codegym.make_vec(name, num_envs=num_envs, env_dir=env_dir, limits=LIMITS)
    envs.reset()
    actions = [OBSERVE] * num_envs

    def batch() -> int:
        envs.step(actions)
        return num_envs

    return {"make_reset_us": make_reset, "step_us": step, "vec_steps_per_s": per_second(batch, seconds)}


def bench_http(name: str, binary: str, env_dir: str | None, seconds: float) -> dict[str, float]:
    import subprocess

    command = [binary, "serve", "--addr", "127.0.0.1:0"] + (["--env-dir", env_dir] if env_dir else [])
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"`{' '.join(command)}` printed {line!r}")
        url = line.removeprefix("listening on ").strip()
        with codegym.Client(url, timeout=600) as client, client.make(name, limits={"max_steps": 1 << 30}) as env:
            env.reset()
            step = p50_us(lambda: env.step(OBSERVE), 3000)

            def one() -> int:
                env.step(OBSERVE)
                return 1

            return {"http_step_us": step, "http_steps_per_s": per_second(one, seconds)}
    finally:
        server.terminate()
        server.wait(timeout=10)


def bench_ray(address: str, name: str, num_envs: int, seconds: float, env_dir: str | None) -> dict[str, float]:
    import ray

    import codegym.ray as cgray

    ray.init(address=address, logging_level="warning")
    figures: dict[str, float] = {}
    try:
        for actors in (1, 2):
            with cgray.Pool(num_actors=actors, envs=[name], env_dir=env_dir) as pool:
                if actors == 1:
                    env = pool.make(name, limits=LIMITS)
                    env.reset()
                    figures["ray_step_us"] = p50_us(lambda: env.step(OBSERVE), 2000)
                batch = pool.make_vec(name, num_envs=num_envs, limits=LIMITS)
                batch.reset()
                actions = [OBSERVE] * num_envs

                def step() -> int:
                    batch.step(actions)
                    return num_envs

                figures[f"ray_vec_steps_per_s_{actors}"] = per_second(step, seconds)
    finally:
        ray.shutdown()
    figures["ray_2_over_1"] = figures["ray_vec_steps_per_s_2"] / figures["ray_vec_steps_per_s_1"]
    return figures


def bench_native(path: Path, seconds: float) -> float:
    """Steps per second of the file's environment class, natively (with the adapter's
    ``gymnasium`` shim if the real package is absent)."""
    shim = path.resolve().parents[1] / "env-sdk" / "python"
    if shim.is_dir():
        sys.path.append(str(shim))
    spec = importlib.util.spec_from_file_location("codegym_bench_native", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = next(
        value
        for value in vars(module).values()
        if isinstance(value, type) and value.__name__.endswith("Env") and value.__module__ == module.__name__
    )
    env = cls()
    env.reset(module.sample_config(0, 50))
    action = json.dumps({"name": "Observe", "parameters": {}})

    def batch() -> int:
        for _ in range(1000):
            env.step(action)
        return 1000

    return per_second(batch, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegym.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="binary-search", help="environment to step (default: %(default)s)")
    parser.add_argument("--num-envs", type=int, default=1000, help="make_vec's batch (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=2.0, help="per throughput figure (default: %(default)s)")
    parser.add_argument("--env-dir", help="environment directory (default: $CODEGYM_ENVS, else ./target/envs)")
    parser.add_argument("--codegym-bin", default=os.environ.get("CODEGYM_BIN"), help="for the HTTP baseline")
    parser.add_argument("--native", type=Path, default=Path("envs-py/search-insert-position.py"))
    parser.add_argument("--ray", metavar="ADDRESS", help="also measure codegym.ray on this running Ray cluster")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    args = parser.parse_args(argv)

    figures: dict[str, Any] = {"env": args.env, "num_envs": args.num_envs, "cpus": os.cpu_count()}
    figures.update(bench_local(args.env, args.num_envs, args.seconds, args.env_dir))
    if args.codegym_bin:
        figures.update(bench_http(args.env, args.codegym_bin, args.env_dir, args.seconds))
        figures["vec_over_http"] = figures["vec_steps_per_s"] / figures["http_steps_per_s"]
    if args.native.is_file():
        native_name = args.native.stem
        figures["native_env"] = native_name
        figures["native_steps_per_s"] = bench_native(args.native, args.seconds)
        figures["vec_over_native"] = figures["vec_steps_per_s"] / figures["native_steps_per_s"]
        if native_name in codegym.list_envs(env_dir=args.env_dir):
            python_vec = bench_local(native_name, args.num_envs, args.seconds, args.env_dir)
            figures["vec_python_steps_per_s"] = python_vec["vec_steps_per_s"]
            figures["vec_python_over_native"] = python_vec["vec_steps_per_s"] / figures["native_steps_per_s"]
    if args.ray:
        figures.update(bench_ray(args.ray, args.env, args.num_envs, args.seconds, args.env_dir))
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:>24}  {value:,.2f}" if isinstance(value, float) else f"{key:>24}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
