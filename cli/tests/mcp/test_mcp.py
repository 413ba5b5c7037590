"""The released ``mcp`` Python client against a real ``codegym mcp``: over stdio and over
streamable HTTP it reads the task from the server's instructions, lists the tools with their
JSON Schemas, gets error results for bad calls, plays ``binary-search`` to ``Done`` with reward
1 by the oracle's policy (a binary search driven by ``Length`` and ``Get``), and gets an error
for any call after the end. Over HTTP each MCP session is its own episode."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import anyio
import mcp.types as types
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

# Binary search over at most 2^31 elements: 32 reads, with room.
MAX_READS = 40
# Generous: the first episode may compile its component.
SESSION_SECONDS = 600.0


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def target_of(task: str) -> int:
    match = re.search(r"target value (-?\d+)", task)
    assert match, task
    return int(match.group(1))


async def call(session: ClientSession, name: str, arguments: dict | None = None) -> types.CallToolResult:
    """A call the environment accepts, without ending the episode."""
    result = await session.call_tool(name, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is None, result
    return result


async def search(session: ClientSession, target: int) -> int:
    """The oracle's policy: a binary search, in at most ``MAX_READS`` reads."""
    low, high = 0, int(text_of(await call(session, "Length"))) - 1
    for _ in range(MAX_READS):
        if low > high:
            return -1
        mid = (low + high) // 2
        value = int(text_of(await call(session, "Get", {"index": mid})))
        if value == target:
            return mid
        if value < target:
            low = mid + 1
        else:
            high = mid - 1
    raise AssertionError("binary search did not end")


async def start(session: ClientSession) -> str:
    """Initialise the session; the task its episode poses."""
    init = await session.initialize()
    assert init.server_info.name == "codegym-binary-search", init.server_info
    assert init.capabilities.tools is not None
    assert init.instructions, init
    return init.instructions


async def check_tools(session: ClientSession) -> None:
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert {"Length", "Get", "Done"} <= tools.keys(), tools.keys()
    get = tools["Get"]
    assert get.description
    assert get.input_schema["type"] == "object"
    assert get.input_schema["properties"]["index"]["type"] == "integer", get.input_schema
    assert "index" in get.input_schema.get("required", []), get.input_schema


async def check_bad_calls(session: ClientSession) -> None:
    """Bad calls are error results with the environment's message; the episode goes on."""
    unknown = await session.call_tool("Teleport", {})
    assert unknown.is_error
    assert text_of(unknown).startswith("Error: unknown tool `Teleport`"), text_of(unknown)
    wrong = await session.call_tool("Get", {"index": "middle"})
    assert wrong.is_error
    assert text_of(wrong).startswith("Error: invalid arguments for Get"), text_of(wrong)
    out_of_range = await session.call_tool("Get", {"index": 1 << 30})
    assert out_of_range.is_error
    assert "out of range" in text_of(out_of_range), text_of(out_of_range)


async def finish(session: ClientSession, answer: int) -> None:
    """``Done`` ends the episode with reward 1; later calls are refused."""
    done = await session.call_tool("Done", {"answer": answer})
    assert not done.is_error, text_of(done)
    assert "Result: correct" in text_of(done), text_of(done)
    assert "Episode over: solved, reward 1" in text_of(done), text_of(done)
    structured = done.structured_content
    assert structured is not None
    assert (structured["reward"], structured["done"], structured["outcome"]) == (1.0, True, "solved"), structured
    after = await session.call_tool("Length", {})
    assert after.is_error
    assert "episode is over" in text_of(after), text_of(after)
    assert after.structured_content is not None and after.structured_content["reward"] == 1.0


async def play(session: ClientSession) -> None:
    task = await start(session)
    await check_tools(session)
    await check_bad_calls(session)
    await finish(session, await search(session, target_of(task)))


def run(main: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        with anyio.fail_after(SESSION_SECONDS):
            await main()

    anyio.run(bounded)


def test_stdio_plays_binary_search_to_reward_1(mcp_command) -> None:
    command, args = mcp_command("binary-search")

    async def main() -> None:
        async with stdio_client(StdioServerParameters(command=command, args=args)) as (read, write):
            async with ClientSession(read, write) as session:
                await play(session)

    run(main)


def test_http_plays_binary_search_to_reward_1(http_url: str) -> None:
    async def main() -> None:
        async with streamable_http_client(http_url) as (read, write):
            async with ClientSession(read, write) as session:
                await play(session)

    run(main)


def test_http_sessions_are_separate_episodes_of_one_task(http_url: str) -> None:
    """Two sessions at once: one ends its episode; the other's goes on, on the same task."""

    async def main() -> None:
        async with (
            streamable_http_client(http_url) as (read_a, write_a),
            streamable_http_client(http_url) as (read_b, write_b),
            ClientSession(read_a, write_a) as first,
            ClientSession(read_b, write_b) as second,
        ):
            task = await start(first)
            assert await start(second) == task
            answer = await search(first, target_of(task))
            await finish(first, answer)
            await call(second, "Length")
            await finish(second, answer)

    run(main)
