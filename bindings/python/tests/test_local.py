"""The in-process API (``codegym.make``, ``make_vec``, ...) on the real built components.

``$CODEGYM_ENVS`` names the built-in environments and ``$CODEGYM_TEST_ENVS`` the test
components (the hostile one); ``cargo xtask test`` sets both.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import codegym

from .conftest import ROOT
from .helpers import binary_search, play

ENVS = Path(os.environ.get("CODEGYM_ENVS") or ROOT / "target/envs")
TEST_ENVS = Path(os.environ.get("CODEGYM_TEST_ENVS") or ROOT / "target/test-envs")


def play_oracle(env: codegym.Env) -> tuple[float, int]:
    """Play the current episode with the environment's own oracle: (reward, steps)."""
    oracle = env.oracle()
    observation, reward, steps = "", 0.0, 0
    while (call := oracle.next(observation)) is not None:
        observation, reward, terminated, truncated, _ = env.step(call)
        steps += 1
        if terminated or truncated:
            break
    return reward, steps


def test_list_and_info() -> None:
    names = codegym.list_envs()
    assert "binary-search" in names
    assert names == sorted(names)
    assert names == codegym.list_envs(env_dir=ENVS)
    info = codegym.info("binary-search")
    assert info["name"] == "binary-search"
    assert len(info["hash"]) == 64
    tools = {tool["name"]: tool for tool in info["tools"]}
    assert {"Get", "Done", "Observe"} <= set(tools)
    assert tools["Get"]["parameters"]["type"] == "object"


def test_unknown_env_is_an_exception_naming_the_known_ones() -> None:
    with pytest.raises(codegym.UnknownEnvError, match="unknown environment `no-such-env`.*binary-search"):
        codegym.make("no-such-env")
    with pytest.raises(LookupError):
        codegym.info("no-such-env")
    with pytest.raises(codegym.CodeGymError, match="cannot open environment directory"):
        codegym.make("binary-search", env_dir="/nonexistent")


def test_reset_and_step_to_reward_one() -> None:
    env = codegym.make("binary-search", seed=3, difficulty=20)
    task, info = env.reset()
    assert info["seed"] == 3 and info["difficulty"] == 20
    assert json.loads(info["config"])
    _, reward, terminated, truncated, info = play(env, task)
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["outcome"] == "solved" and info["fault"] is None and not info["parse_error"]
    # Seeds go on from make's: the next reset without a seed is seed 4.
    _, info = env.reset()
    assert info["seed"] == 4


def test_same_seed_same_task_and_config_option() -> None:
    first, info = codegym.make("binary-search").reset(seed=11)
    second, _ = codegym.make("binary-search").reset(seed=11)
    assert first == second
    third, _ = codegym.make("binary-search").reset(options={"config": json.loads(info["config"])})
    assert third == first
    with pytest.raises(ValueError, match="unknown reset option `colour`"):
        codegym.make("binary-search").reset(options={"colour": 1})
    with pytest.raises(ValueError, match="difficulty must be 0..=100"):
        codegym.make("binary-search", difficulty=101)


def test_every_builtin_environment_solved_by_its_oracle() -> None:
    """Every built-in environment, Rust components and Python packages alike, through the
    Python API: the oracle's calls reach reward 1."""
    for name in codegym.list_envs():
        env = codegym.make(name, seed=1, difficulty=30)
        env.reset()
        reward, steps = play_oracle(env)
        assert reward == 1.0, (name, steps)


def test_raw_text_actions_and_parse_errors() -> None:
    env = codegym.make("binary-search", seed=5)
    env.reset()
    observation, _, _, _, info = env.step({"text": "I think I'll look first", "format": "hermes"})
    assert info["parse_error"] and info["steps"] == 0
    assert observation.startswith("Error")
    observation, _, _, _, info = env.step(
        {"text": '<tool_call>{"name": "Length", "arguments": {}}</tool_call>', "format": "hermes"}
    )
    assert not info["parse_error"] and info["steps"] == 1
    assert env.log()["calls"] == [{"name": "Length", "arguments": "{}"}]


@pytest.mark.parametrize(
    "action, message",
    [
        ("Observe", "an action is"),
        ({"name": "Observe", "argument": {}}, "got keys"),
        ({"name": 3}, "`name` must be a str"),
        ({"text": "x", "format": "yaml"}, "yaml"),
        ({"name": "Get", "text": "x"}, "an action is"),
        ({"name": "Get", "arguments": {"index": object()}}, "not JSON data"),
    ],
)
def test_bad_actions_raise(action: Any, message: str) -> None:
    env = codegym.make("binary-search")
    env.reset()
    with pytest.raises(codegym.InvalidActionError, match=message):
        env.step(action)
    # The episode is untouched.
    assert env.log()["calls"] == []


def test_unknown_tool_and_bad_arguments_are_observations() -> None:
    env = codegym.make("binary-search")
    env.reset()
    observation, reward, terminated, _, info = env.step({"name": "Fly", "arguments": {}})
    assert observation.startswith("Error") and not terminated and info["steps"] == 1
    observation, *_ = env.step({"name": "Get", "arguments": '{"index": "nine"'})
    assert observation.startswith("Error")


def test_step_before_reset() -> None:
    with pytest.raises(codegym.EpisodeError, match="reset"):
        codegym.make("binary-search").step({"name": "Observe"})


def test_prompt_formats() -> None:
    env = codegym.make("binary-search")
    task, _ = env.reset()
    for format in codegym.FORMATS:
        messages = env.prompt(format)
        assert messages[0]["role"] == "system"
        assert task in messages[-1]["content"]
    assert [tool["function"]["name"] for tool in env.openai_tools()] == [t["name"] for t in env.tools]
    with pytest.raises(ValueError):
        env.prompt("yaml")


def test_fork_is_independent() -> None:
    env = codegym.make("binary-search", seed=2)
    env.reset()
    env.step({"name": "Get", "arguments": {"index": 0}})
    child = env.fork()
    assert child.log() == env.log()
    child.step({"name": "Get", "arguments": {"index": 1}})
    assert len(child.log()["calls"]) == 2 and len(env.log()["calls"]) == 1
    # Both go on from the same state: the same call gives the same observation.
    assert env.step({"name": "Observe"})[0] == env.fork().step({"name": "Observe"})[0]


def test_trajectory_replays_byte_for_byte_here_and_in_the_cli(tmp_path: Path) -> None:
    env = codegym.make("binary-search", seed=9)
    env.reset()
    play_oracle(env)
    trajectory = env.trajectory()
    assert trajectory["outcome"] == {"kind": "solved"} and trajectory["reward"] == 1.0
    report = codegym.replay(trajectory)
    assert report["mismatches"] == [] and report["steps"] == len(trajectory["steps"]) > 0
    assert codegym.replay(json.dumps(trajectory))["mismatches"] == []
    # A tampered observation is found.
    trajectory["steps"][0]["observation"] += "!"
    assert [m["step"] for m in codegym.replay(trajectory)["mismatches"]] == [0]
    # The host's own `codegym replay` agrees with the untampered file.
    trajectory["steps"][0]["observation"] = trajectory["steps"][0]["observation"][:-1]
    path = tmp_path / "trajectory.jsonl"
    path.write_text(json.dumps(trajectory) + "\n")
    binary = os.environ.get("CODEGYM_BIN") or str(ROOT / "target/debug/codegym")
    result = subprocess.run(
        [binary, "replay", str(path), "--env-dir", str(ENVS)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr


def test_limits_and_step_limit_truncates() -> None:
    env = codegym.make("binary-search", limits={"max_steps": 2})
    assert env.limits["max_steps"] == 2
    env.reset()
    assert env.step({"name": "Observe"})[2:4] == (False, False)
    _, _, terminated, truncated, info = env.step({"name": "Observe"})
    assert (terminated, truncated, info["outcome"]) == (False, True, "step_limit")
    with pytest.raises(ValueError, match="unknown limit `max_stpes`"):
        codegym.make("binary-search", limits={"max_stpes": 2})


def test_hostile_component_faults_are_outcomes() -> None:
    env = codegym.make("hostile", env_dir=TEST_ENVS, limits={"step_timeout": 500})
    env.reset()
    env.step({"name": "Count"})
    for tool, fault in [
        ("Spin", {"out_of_fuel", "timeout"}),
        ("Grow", {"memory"}),
        ("Recurse", {"stack_overflow"}),
        ("Panic", {"panic"}),
        ("Big", {"output_too_large"}),
    ]:
        observation, reward, terminated, _, info = env.step({"name": tool, "arguments": {}})
        assert info["fault"] in fault, (tool, info)
        assert "rolled back" in observation and not terminated
    # Every fault was rolled back: only the first Count is in the log.
    assert env.log()["calls"] == [{"name": "Count", "arguments": "{}"}]


def test_make_vec_steps_and_auto_resets() -> None:
    envs = codegym.make_vec("binary-search", num_envs=4, seeds=100, difficulty=10)
    assert envs.num_envs == len(envs) == 4
    tasks, infos = envs.reset()
    single = codegym.make("binary-search", difficulty=10)
    assert tasks == [single.reset(seed=100 + i)[0] for i in range(4)]
    agents = [binary_search(task) for task in tasks]
    calls = [next(agent) for agent in agents]
    ended = [False] * 4
    restarted = [False] * 4
    for _ in range(64):
        observations, rewards, terminated, truncated, infos = envs.step(calls)
        assert infos["env_id"] == [0, 1, 2, 3]
        for i in range(4):
            if restarted[i]:
                continue
            if ended[i]:
                # Next-step auto-reset: the step after the end starts the next episode, on
                # seed + num_envs, whatever the action.
                assert infos["reset"][i] and rewards[i] == 0.0 and not terminated[i]
                assert observations[i] == single.reset(seed=104 + i)[0]
                restarted[i] = True
            elif terminated[i]:
                assert rewards[i] == 1.0 and infos["outcome"][i] == "solved" and not infos["reset"][i]
                ended[i] = True
                calls[i] = {"name": "Observe"}
            else:
                calls[i] = agents[i].send(observations[i])
        if all(restarted):
            break
    assert all(restarted)


def test_make_vec_mixed_envs_and_bad_input() -> None:
    names = ["binary-search", "hostile", "binary-search"]
    with pytest.raises(codegym.UnknownEnvError):
        codegym.make_vec(names)
    with pytest.raises(ValueError, match="3 names for num_envs=2"):
        codegym.make_vec(["binary-search"] * 3, num_envs=2)
    envs = codegym.make_vec(["binary-search", "binary-search"], seeds=[5, 6])
    envs.reset()
    with pytest.raises(ValueError, match="1 actions for 2"):
        envs.step([{"name": "Observe"}])
    with pytest.raises(codegym.InvalidActionError):
        envs.step([{"name": "Observe"}, "Observe"])


def test_send_recv_overlaps_and_refuses_conflicts() -> None:
    envs = codegym.make_vec("binary-search", num_envs=64)
    envs.reset()
    envs.send([{"name": "Observe"}] * 32, env_ids=list(range(32)))
    with pytest.raises(codegym.CodeGymError, match="already stepping"):
        envs.send([{"name": "Observe"}], env_ids=[3])
    with pytest.raises(codegym.CodeGymError, match="recv"):
        envs.step([{"name": "Observe"}] * 64)
    envs.send([{"name": "Observe"}] * 32, env_ids=list(range(32, 64)))
    got = []
    for _ in range(2):
        observations, _, _, _, infos = envs.recv()
        assert len(observations) == 32
        got += infos["env_id"]
    assert sorted(got) == list(range(64))
    with pytest.raises(codegym.CodeGymError, match="no batch sent"):
        envs.recv()
    with pytest.raises(IndexError):
        envs.send([{"name": "Observe"}], env_ids=[64])


def test_the_gil_is_released_while_a_batch_steps() -> None:
    """Another Python thread keeps running while a batch of slow steps runs."""
    limits = {"fuel_per_step": 500_000_000}
    envs = codegym.make_vec("hostile", num_envs=2, env_dir=TEST_ENVS, limits=limits)
    envs.reset()
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    thread = threading.Thread(target=count)
    thread.start()
    time.sleep(0.01)
    before, started = ticks, time.monotonic()
    _, _, _, _, infos = envs.step([{"name": "Spin"}] * 2)
    during, elapsed = ticks - before, time.monotonic() - started
    stop.set()
    thread.join()
    assert set(infos["fault"]) <= {"out_of_fuel", "timeout"}
    # Spinning to the fuel limit takes a while; had the GIL been held, the other thread
    # could not have ticked meanwhile.
    assert elapsed > 0.05, elapsed
    assert during >= elapsed * 1000 / 10, (elapsed, during)


def test_errors_share_one_base_with_the_client() -> None:
    assert issubclass(codegym.UnknownEnvError, codegym.CodeGymError)
    assert issubclass(codegym.NotFoundError, codegym.CodeGymError)
    error = pickle.loads(pickle.dumps(codegym.EpisodeError("x")))
    assert isinstance(error, codegym.CodeGymError)


def test_the_readme_rollout_example_runs() -> None:
    """The README's GRPO-style example, as written there."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("### A GRPO-style rollout in plain Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert len(scope["advantages"]) == scope["envs"].num_envs == 128
    assert all(scope["done"])
    # Each group's advantages are centred.
    for g in range(scope["TASKS"]):
        assert abs(sum(scope["advantages"][g * 8 : (g + 1) * 8])) < 1e-6


def test_tool_arguments_become_the_same_json() -> None:
    import collections

    env = codegym.make("binary-search")
    env.reset()
    arguments = {
        "index": 3,
        "nested": {"list": [1, 2.5, True, None, "é\"\\\n"], "tuple": (1, 2)},
        "big": 2**80,
        "negative": -7,
        "ordered": collections.OrderedDict(a=1),
    }
    env.step({"name": "Get", "arguments": arguments})
    sent = env.log()["calls"][-1]["arguments"]
    expected = dict(arguments, nested={"list": [1, 2.5, True, None, "é\"\\\n"], "tuple": [1, 2]}, ordered={"a": 1})
    assert json.loads(sent) == expected
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    for bad, message in [
        ({"x": float("nan")}, "no JSON form"),
        ({1: "one"}, "not a str"),
        ({"x": deep}, "deeper than"),
        ({"x": object()}, "not JSON data"),
    ]:
        with pytest.raises(codegym.InvalidActionError, match=message):
            env.step({"name": "Get", "arguments": bad})


def test_env_pickles_by_replaying_its_episode() -> None:
    fresh = pickle.loads(pickle.dumps(codegym.make("binary-search", seed=21, difficulty=40)))
    assert fresh.reset()[0] == codegym.make("binary-search", difficulty=40).reset(seed=21)[0]

    env = codegym.make("hostile", env_dir=TEST_ENVS)
    env.reset()
    env.step({"name": "Count"})
    env.step({"name": "Panic"})  # a fault, rolled back: still a step of the episode
    env.step({"text": "no call here"})  # a parse-error turn: not one
    copy = pickle.loads(pickle.dumps(env))
    assert copy.log() == env.log() and copy.trajectory() == env.trajectory()
    assert copy.step({"name": "Count"}) == env.step({"name": "Count"})

    # A pickle whose replies the environment would not give again is refused.
    reduce, (state,) = env.__reduce__()
    state["episode"]["steps"][0]["observation"] += "!"
    with pytest.raises(codegym.EpisodeError, match="does not replay: step 0"):
        reduce(state)
    state["hash"] = "0" * 64
    with pytest.raises(codegym.EpisodeError, match="not the build that was pickled"):
        reduce(state)
