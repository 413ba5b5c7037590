"""``codegym.ray`` on a real two-node Ray cluster on 127.0.0.1: ``ray start --head`` plus a
second ``ray start --address``, as a user would start one (``ray`` from the test venv)."""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

import codegym
import codegym.ray as cgray

from .helpers import play

START_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A head node and a worker node, one CPU each; stopped (every Ray process of this
    machine) afterwards."""
    binary = str(Path(sys.executable).parent / "ray")
    # Ray's sockets live under its temp dir, whose path must stay short.
    temp = tempfile.mkdtemp(prefix="cg-ray-", dir="/tmp")
    address = f"127.0.0.1:{_free_port()}"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=100000000", "--disable-usage-stats"]
    head = [binary, "start", "--head", f"--port={address.rsplit(':', 1)[1]}", "--include-dashboard=false", f"--temp-dir={temp}"]
    try:
        subprocess.run(head + common, check=True, env=env, timeout=START_SECONDS, capture_output=True)
        subprocess.run([binary, "start", f"--address={address}", *common], check=True, env=env, timeout=START_SECONDS, capture_output=True)
        ray.init(address=address, logging_level="warning")
        yield address
    finally:
        ray.shutdown()
        subprocess.run([binary, "stop", "--force"], env=env, timeout=120, capture_output=True)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def pool(cluster: str) -> Iterator[cgray.Pool]:
    """Two actors, one CPU each: the whole cluster."""
    with cgray.Pool(num_actors=2, envs=["binary-search"]) as pool:
        yield pool


def test_two_nodes_and_a_pool_spread_over_them(pool: cgray.Pool) -> None:
    alive = [node for node in ray.nodes() if node["Alive"]]
    assert len(alive) == 2
    assert pool.envs == ["binary-search"]
    nodes = pool.nodes()
    assert len(set(nodes)) == 2, nodes


def test_remote_env_plays_to_reward_one_and_pickles(pool: cgray.Pool) -> None:
    env = pool.make("binary-search", seed=7, difficulty=20)
    task, info = env.reset()
    assert task == codegym.make("binary-search", difficulty=20).reset(seed=7)[0]
    _, reward, _, _, info = play(env, task)
    assert reward == 1.0 and info["outcome"] == "solved"
    # The handle and the trajectory travel: a replay here agrees with the actor's episode.
    assert codegym.replay(env.trajectory())["mismatches"] == []
    again = pickle.loads(pickle.dumps(env))
    assert again.log() == env.log()

    # The actors hold both CPUs; a task that reserves none can still run.
    @ray.remote(num_cpus=0)
    def steps_elsewhere(remote: cgray.RemoteEnv) -> int:
        child = remote.fork()
        child.reset(seed=8)
        return child.step({"name": "Observe"})[4]["steps"]

    assert ray.get(steps_elsewhere.remote(env)) == 1


def test_remote_errors_are_the_package_exceptions(pool: cgray.Pool) -> None:
    with pytest.raises(codegym.UnknownEnvError):
        cgray.Pool(num_actors=1, envs=["no-such-env"])
    env = pool.make("binary-search")
    env.reset()
    with pytest.raises(codegym.InvalidActionError):
        env.step({"nam": "Observe"})
    with pytest.raises(codegym.UnknownEnvError):
        pool.make("hostile")


def test_remote_vec_env_matches_a_local_one(pool: cgray.Pool) -> None:
    batch = pool.make_vec("binary-search", num_envs=5, seeds=40)
    local = codegym.make_vec("binary-search", num_envs=5, seeds=40)
    tasks, infos = batch.reset()
    assert tasks == local.reset()[0] and infos["env_id"] == list(range(5))
    actions = [{"name": "Get", "arguments": {"index": i}} for i in range(5)]
    remote_out = batch.step(actions)
    local_out = local.step(actions)
    assert remote_out[:4] == local_out[:4]
    assert remote_out[4]["env_id"] == list(range(5))
    batch.send(actions)
    with pytest.raises(codegym.CodeGymError, match="in flight"):
        batch.send(actions)
    assert batch.recv()[0] == local.step(actions)[0]
    assert pickle.loads(pickle.dumps(batch)).num_envs == 5
