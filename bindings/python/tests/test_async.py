"""The asyncio client and its batch API against a real `codegym serve`."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import httpx
import pytest

from codegym import REPLICA_HEADER, AsyncClient, AsyncSession, NotFoundError, StepResult, replica_of

from .conftest import start_server
from .helpers import binary_search, parse_task

SESSIONS = 64


def test_make_many_and_step_many_over_many_sessions_in_order(server_url: str) -> None:
    async def main() -> None:
        async with AsyncClient(server_url) as client:
            sessions = await client.make_many("binary-search", range(SESSIONS))
            assert [s.seed for s in sessions] == list(range(SESSIONS))
            assert len({s.id for s in sessions}) == SESSIONS
            try:
                # Index i reads element i of session i, so every result is told apart.
                results = await client.step_many([(s, {"name": "Length"}) for s in sessions])
                assert len(results) == SESSIONS
                for session, result in zip(sessions, results):
                    assert isinstance(result, StepResult), result
                    assert result.session_id == session.id
                    assert result.observation == str(parse_task(session.task)[0])

                # Drive every episode to the end with batches only: one binary search each.
                agents = [binary_search(s.task) for s in sessions]
                actions = [next(agent) for agent in agents]
                live = list(range(SESSIONS))
                final: dict[int, StepResult] = {}
                while live:
                    results = await client.step_many([(sessions[i], actions[i]) for i in live])
                    still = []
                    for i, result in zip(live, results):
                        assert isinstance(result, StepResult), result
                        if result.done:
                            final[i] = result
                        else:
                            actions[i] = agents[i].send(result.observation)
                            still.append(i)
                    live = still
                assert all(r.reward == 1.0 and r.terminated and not r.truncated for r in final.values())
                assert all(s.done and s.outcome == "solved" for s in sessions)
            finally:
                await client.close_many(sessions)
            for session in sessions[:3]:
                with pytest.raises(NotFoundError):
                    await client.get_session(session.created["session_id"])

    asyncio.run(main())


def test_step_many_returns_failures_in_place(server_url: str) -> None:
    async def main() -> None:
        async with AsyncClient(server_url) as client:
            sessions = await client.make_many("binary-search", [1, 2], limits={"max_steps": 1})
            results = await client.step_many(
                [
                    (sessions[0], {"name": "Done", "arguments": {"answer": -7}}),
                    ("0000000000000000", {"name": "Observe"}),
                    (sessions[1].id, "no call in here"),  # type: ignore[list-item]
                    (sessions[1], {"name": "Length"}),
                ]
            )
            wrong, missing, unparsed, limited = results
            assert isinstance(wrong, StepResult) and wrong.terminated and wrong.info["outcome"] == "wrong_answer"
            assert isinstance(missing, NotFoundError) and missing.status == 404
            assert isinstance(unparsed, StepResult) and unparsed.info["parse_error"]
            assert isinstance(limited, StepResult) and limited.truncated and limited.info["outcome"] == "step_limit"
            assert sessions[1].outcome == "step_limit"
            await client.close_many(sessions)

    asyncio.run(main())


def test_async_sessions_reset_step_fork_and_close(server_url: str) -> None:
    async def main() -> None:
        async with AsyncClient(server_url, format="hermes") as client:
            async with await client.make("binary-search", seed=3) as env:
                assert isinstance(env, AsyncSession)
                task, info = await env.reset()
                assert info["session_id"] == env.id
                observation, reward, terminated, truncated, info = await env.step(
                    '<tool_call>{"name": "Get", "arguments": {"index": 0}}</tool_call>'
                )
                assert not info["parse_error"] and (reward, terminated, truncated) == (0.0, False, False)
                fork = await env.fork()
                assert (await fork.step({"name": "Done", "arguments": {"answer": -5}})).done
                assert not (await env.step({"name": "Observe"})).done
                await fork.close()
                _, info = await env.reset()
                assert info["seed"] == 4 and env.steps == 0
                session_id = env.id
            with pytest.raises(NotFoundError):
                await client.get_session(session_id)  # type: ignore[arg-type]
            with pytest.raises(NotFoundError):
                await client.make_many("no-such-env", range(3))

    asyncio.run(main())


class ReplicaRouter(httpx.AsyncBaseTransport):
    """What the nginx config in deploy/ does, in-process: a batch goes to the replica its
    `X-CodeGym-Replica` header names, a session's own route to the replica its id names, a
    new session to the replicas in turn."""

    def __init__(self, replicas: dict[str, str]) -> None:
        self.replicas = {name: httpx.URL(url) for name, url in replicas.items()}
        self.transport = httpx.AsyncHTTPTransport()
        self.turn = itertools.cycle(sorted(replicas))
        self.batches: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/step":
            replica = request.headers.get(REPLICA_HEADER)
            assert replica in self.replicas, f"a batch without a known replica header: {replica!r}"
            self.batches.append(replica)
        elif path.startswith("/v1/sessions/"):
            replica = replica_of(path.split("/")[3])
            assert replica in self.replicas, path
        else:
            replica = next(self.turn)
        target = self.replicas[replica]
        request.url = request.url.copy_with(host=target.host, port=target.port)
        return await self.transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self.transport.aclose()


def test_step_many_routes_batches_to_named_replicas(tmp_path: Path) -> None:
    (tmp_path / "r1").mkdir()
    (tmp_path / "r2").mkdir()
    with (
        start_server("--replica", "r1", log_dir=tmp_path / "r1") as r1,
        start_server("--replica", "r2", log_dir=tmp_path / "r2") as r2,
    ):
        router = ReplicaRouter({"r1": r1, "r2": r2})

        async def main() -> None:
            async with AsyncClient("http://codegym", transport=router) as client:
                sessions = await client.make_many("binary-search", range(8), concurrency=1)
                assert sorted({replica_of(s.id or "") for s in sessions}) == ["r1", "r2"]
                items = [(s, {"name": "Length"}) for s in sessions]
                items.append(("r2-0000000000000000", {"name": "Length"}))
                results = await client.step_many(items)
                assert sorted(router.batches) == ["r1", "r2"], "one batch per replica"
                for session, result in zip(sessions, results):
                    assert isinstance(result, StepResult) and result.session_id == session.id
                    assert result.observation == str(parse_task(session.task)[0])
                assert isinstance(results[-1], NotFoundError)
                await client.close_many(sessions)

        asyncio.run(main())
