"""A hand-written binary-search agent for the `binary-search` environment, driven one
observation at a time so that it works over single steps and over batches alike."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any

TASK = re.compile(r"array of (\d+) distinct integers.*target value (-?\d+)", re.S)


def parse_task(task: str) -> tuple[int, int]:
    """(length, target) from the environment's task statement."""
    match = TASK.search(task)
    assert match, task
    return int(match.group(1)), int(match.group(2))


def binary_search(task: str) -> Generator[dict[str, Any], str, None]:
    """Tool calls that find the target: send each, then `.send()` the observation back."""
    length, target = parse_task(task)
    low, high = 0, length - 1
    while low <= high:
        mid = (low + high) // 2
        value = int((yield {"name": "Get", "arguments": {"index": mid}}))
        if value == target:
            yield {"name": "Done", "arguments": {"answer": mid}}
            return
        if value < target:
            low = mid + 1
        else:
            high = mid - 1
    yield {"name": "Done", "arguments": {"answer": -1}}


def play(env: Any, task: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
    """Play :func:`binary_search` on ``env`` (a local ``Env``, a ``RemoteEnv`` or an HTTP
    ``Session``) until the episode ends: the last step's
    ``(observation, reward, terminated, truncated, info)``."""
    agent = binary_search(task)
    action = next(agent)
    while True:
        observation, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return observation, reward, terminated, truncated, info
        action = agent.send(observation)
