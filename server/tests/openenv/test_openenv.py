"""The released ``openenv-core`` clients against a real ``codegym serve``: ``GenericEnvClient``
and ``MCPToolClient`` (over the WebSocket and over HTTP ``/mcp``) play ``binary-search`` to
reward 1 with the oracle's calls (a binary search driven by ``Length`` and ``Get``), and
``openenv validate --url`` passes."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from openenv.core.env_server.mcp_types import CallToolAction
from openenv.core.generic_client import GenericEnvClient
from openenv.core.mcp_client import MCPToolClient

# Binary search over at most 2^31 elements: 32 reads, with room.
MAX_READS = 40


def target_of(task: str) -> int:
    match = re.search(r"target value (-?\d+)", task)
    assert match, task
    return int(match.group(1))


def search(target: int, length: int, get: Callable[[int], int]) -> int:
    """The oracle's policy: a binary search, in at most ``MAX_READS`` reads."""
    low, high = 0, length - 1
    for _ in range(MAX_READS):
        if low > high:
            return -1
        mid = (low + high) // 2
        value = get(mid)
        if value == target:
            return mid
        if value < target:
            low = mid + 1
        else:
            high = mid - 1
    raise AssertionError("binary search did not end")


def v1_status(server_url: str, session: str) -> int:
    try:
        with urllib.request.urlopen(f"{server_url}/v1/sessions/{session}", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_generic_env_client_plays_an_episode_to_reward_1(base_url: str, server_url: str) -> None:
    with GenericEnvClient(base_url=base_url).sync() as env:
        result = env.reset(seed=11, difficulty=60)
        assert result.done is False and result.reward is None
        task = result.observation["text"]
        assert {"Length", "Get", "Midpoint", "Done"} <= {tool["name"] for tool in result.observation["tools"]}
        session = result.observation["metadata"]["session_id"]

        def step(name: str, **arguments: object) -> str:
            step = env.step({"name": name, "arguments": arguments})
            assert step.done is False, step
            assert step.observation["tool_name"] == name
            return step.observation["text"]

        length = int(step("Length"))
        answer = search(target_of(task), length, lambda index: int(step("Get", index=index)))
        final = env.step({"name": "Done", "arguments": {"answer": answer}})
        assert (final.reward, final.done) == (1.0, True), final
        assert final.observation["outcome"] == {"kind": "solved"}

        state = env.state()
        assert state["session_id"] == session and state["status"] == "done" and state["reward"] == 1.0
        assert state["step_count"] == final.observation["steps"]
        assert v1_status(server_url, session) == 200
    # Leaving the block sends `close`: the session is gone.
    assert v1_status(server_url, session) == 404


def test_generic_env_client_sends_raw_model_output_and_is_told_of_bad_input(base_url: str) -> None:
    async def play() -> None:
        async with GenericEnvClient(base_url=base_url) as env:
            with pytest.raises(RuntimeError, match="EXECUTION_ERROR"):
                await env.step({"name": "Length"})
            with pytest.raises(RuntimeError, match="VALIDATION_ERROR"):
                await env.reset(difficulty=1000)
            result = await env.reset(seed=3)
            step = await env.step({"text": '<tool_call>{"name": "Length", "arguments": {}}</tool_call>', "format": "hermes"})
            assert step.observation["tool_name"] == "Length" and int(step.observation["text"]) > 0
            garbled = await env.step({"text": "I will not call a tool."})
            assert garbled.observation["parse_error"] is True and garbled.reward == 0.0
            with pytest.raises(RuntimeError, match="VALIDATION_ERROR"):
                await env.step({"code": "print(1)"})
            # The socket is still usable after the errors.
            assert (await env.state())["step_count"] == 1
            assert result.observation["text"]

    asyncio.run(play())


def test_an_unknown_environment_is_a_factory_error(server_url: str) -> None:
    with GenericEnvClient(base_url=f"{server_url}/openenv/no-such-env").sync() as env:
        with pytest.raises(RuntimeError, match="FACTORY_ERROR"):
            env.reset()


def test_mcp_tool_client_lists_and_calls_tools_to_reward_1(base_url: str) -> None:
    with MCPToolClient(base_url=base_url).sync() as env:
        # Tool discovery needs no reset.
        tools = env.list_tools()
        by_name = {tool.name: tool for tool in tools}
        assert {"Length", "Get", "Midpoint", "Done"} <= set(by_name)
        assert by_name["Get"].input_schema["properties"]["index"]
        assert by_name["Get"].description

        result = env.reset(seed=12, difficulty=50)
        # MCPToolClient keeps a reset's metadata (not its text): the task is there too.
        metadata = result.observation.metadata
        assert metadata["env"] == "binary-search"
        length = int(env.call_tool("Length"))
        assert int(env.call_tool("Midpoint", low=0, high=length - 1)) == (length - 1) // 2
        assert env.state().step_count == 2
        answer = search(target_of(metadata["task"]), length, lambda index: int(env.call_tool("Get", index=index)))
        final = env.step(CallToolAction(tool_name="Done", arguments={"answer": answer}))
        assert (final.reward, final.done) == (1.0, True), final
        assert final.observation.tool_name == "Done" and final.observation.result["data"]


def test_mcp_tool_client_in_production_mode_uses_http_mcp_sessions(base_url: str, server_url: str) -> None:
    client = MCPToolClient(base_url=base_url)
    client.use_production_mode = True
    with client.sync() as env:
        tools = env.list_tools()
        assert {"Length", "Get", "Done"} <= {tool.name for tool in tools}
        length = int(env.call_tool("Length"))
        session = client._production_session_id
        assert session and v1_status(server_url, session) == 200
        # No reset here: the episode's own `Observe` tells the target.
        observed = env.call_tool("Observe")
        match = re.search(r"Target: (-?\d+)", observed)
        assert match, observed
        answer = search(int(match.group(1)), length, lambda index: int(env.call_tool("Get", index=index)))
        observation = env.call_tool("Done", answer=answer)
        assert isinstance(observation, str) and observation
        with urllib.request.urlopen(f"{server_url}/v1/sessions/{session}", timeout=10) as response:
            shown = json.load(response)
        assert (shown["reward"], shown["outcome"]) == (1.0, {"kind": "solved"}), shown
    # Closing the client closes its HTTP MCP session.
    assert v1_status(server_url, session) == 404


# A Rust environment and a Python-lane one (componentize-py, on the shared runtime).
@pytest.mark.parametrize("env", ["binary-search", "house-robber"])
def test_openenv_validate_url_passes(server_url: str, env: str) -> None:
    openenv = Path(sys.executable).parent / "openenv"
    run = subprocess.run(
        [str(openenv), "validate", "--url", f"{server_url}/openenv/{env}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["passed"] is True, report
    assert report["standard_profile"] == "openenv-http/1.x", report
    failed = [criterion["id"] for criterion in report["criteria"] if not criterion["passed"]]
    assert failed == [], report
