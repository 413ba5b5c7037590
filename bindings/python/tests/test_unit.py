"""Client logic that needs no server: replica grouping of batches, action bodies, errors and
retries, over an in-process httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from codegym import (
    REPLICA_HEADER,
    AsyncClient,
    BadRequestError,
    Client,
    NotFoundError,
    ServerError,
    StepResult,
    TooManySessionsError,
    TransportError,
    UnavailableError,
    group_by_replica,
    replica_of,
)
from codegym.client._core import step_body

A1, A2 = "a-0000000000000001", "a-0000000000000002"
B1 = "replica7-00000000000000b1"
PLAIN = "00000000000000c1"


def test_session_ids_name_their_replica() -> None:
    assert replica_of(A1) == "a"
    assert replica_of(B1) == "replica7"
    assert replica_of(PLAIN) is None
    assert replica_of("Not_A_Replica-0000000000000001") is None
    assert group_by_replica([A1, PLAIN, B1, A2, PLAIN]) == {"a": [0, 3], None: [1, 4], "replica7": [2]}


class FakeBatchServer:
    """Answers `POST /v1/step` by echoing each item's session id and name, recording every
    request; `GET /v1/sessions/{id}` says the episode hit the step limit."""

    def __init__(self) -> None:
        self.batches: list[tuple[str | None, list[str]]] = []

    def reply(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"outcome": {"kind": "step_limit"}})
        assert request.url.path == "/v1/step"
        steps = json.loads(request.content)["steps"]
        replica = request.headers.get(REPLICA_HEADER)
        self.batches.append((replica, [step["session_id"] for step in steps]))
        results: list[dict[str, Any]] = []
        for step in steps:
            session_id = step["session_id"]
            if replica_of(session_id) != replica:
                results.append({"session_id": session_id, "status": 404, "error": "unknown session"})
            else:
                done = step.get("name") == "Done"
                results.append(
                    {
                        "session_id": session_id,
                        "observation": step.get("name") or step["text"],
                        "reward": 0.0,
                        "done": done,
                        "steps": 1,
                    }
                )
        return httpx.Response(200, json={"results": results})


ITEMS: list[tuple[str, Any]] = [
    (A1, {"name": "Length"}),
    (PLAIN, {"name": "Observe"}),
    (B1, {"name": "Get", "arguments": {"index": 1}}),
    (A2, "some text"),
    (A1, {"name": "Done", "parameters": {"answer": 3}}),
    (PLAIN, {"name": "Length"}),
]


def check_batches(server: FakeBatchServer, results: list[Any]) -> None:
    by_replica = dict(server.batches)
    assert by_replica == {"a": [A1, A2, A1], "replica7": [B1], None: [PLAIN, PLAIN]}
    assert len(server.batches) == 3, "one request per replica"
    assert [r.session_id for r in results] == [item[0] for item in ITEMS], "results in item order"
    assert [r.observation for r in results] == ["Length", "Observe", "Get", "some text", "Done", "Length"]
    done = results[4]
    assert isinstance(done, StepResult) and done.truncated and done.info["outcome"] == "step_limit"


def test_sync_step_many_sends_one_batch_per_replica_with_its_header() -> None:
    server = FakeBatchServer()
    with Client("http://codegym", transport=httpx.MockTransport(server.reply)) as client:
        check_batches(server, client.step_many(ITEMS))


def test_async_step_many_sends_one_batch_per_replica_concurrently() -> None:
    server = FakeBatchServer()

    async def reply(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return server.reply(request)

    async def main() -> list[Any]:
        async with AsyncClient("http://codegym", transport=httpx.MockTransport(reply)) as client:
            return await client.step_many(ITEMS)

    check_batches(server, asyncio.run(main()))


def test_batches_are_split_in_order_and_a_failed_request_fails_its_items() -> None:
    server = FakeBatchServer()

    def reply(request: httpx.Request) -> httpx.Response:
        if request.headers.get(REPLICA_HEADER) == "replica7":
            return httpx.Response(413, json={"error": "too large"})
        return server.reply(request)

    with Client("http://codegym", transport=httpx.MockTransport(reply)) as client:
        results = client.step_many(ITEMS, batch_size=2)
    assert server.batches == [("a", [A1, A2]), ("a", [A1]), (None, [PLAIN, PLAIN])]
    failed = results[2]
    assert isinstance(failed, BadRequestError) and failed.status == 413 and failed.session_id == B1
    assert all(isinstance(r, StepResult) for i, r in enumerate(results) if i != 2)


def test_actions_become_step_bodies() -> None:
    assert step_body("hi", "hermes") == {"text": "hi", "format": "hermes"}
    assert step_body({"name": "Get", "parameters": {"index": 1}}, "codegym") == {
        "name": "Get",
        "arguments": {"index": 1},
    }
    assert step_body({"name": "Observe"}, "codegym") == {"name": "Observe", "arguments": {}}
    assert step_body({"function": {"name": "Get", "arguments": '{"index": 2}'}}, "codegym") == {
        "name": "Get",
        "arguments": '{"index": 2}',
    }
    assert step_body({"text": "x", "format": "openai-tools"}, "codegym") == {"text": "x", "format": "openai-tools"}
    with pytest.raises(TypeError):
        step_body({"arguments": {}}, "codegym")
    with pytest.raises(ValueError):
        step_body({"name": "a", "arguments": {}, "parameters": {}}, "codegym")
    with pytest.raises(ValueError):
        Client("http://codegym", format="xml")


def test_statuses_map_to_error_classes() -> None:
    statuses = iter([400, 404, 413, 422, 429, 503, 500])

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses), json={"error": "nope"})

    expected = [
        BadRequestError,
        NotFoundError,
        BadRequestError,
        BadRequestError,
        TooManySessionsError,
        UnavailableError,
        ServerError,
    ]
    with Client("http://codegym", transport=httpx.MockTransport(reply), retries=0) as client:
        for cls in expected:
            with pytest.raises(cls) as error:
                client.create_session("x")
            assert error.value.message == "nope"


def test_retries_only_what_is_safe_to_repeat() -> None:
    calls: list[str] = []
    failures = {"GET": 2, "POST": 1}

    def reply(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.url.path == "/refuse":
            raise httpx.ConnectError("refused", request=request)
        if failures[request.method] > 0:
            failures[request.method] -= 1
            return httpx.Response(503, json={"error": "busy"})
        return httpx.Response(200, json=[])

    with Client("http://codegym", transport=httpx.MockTransport(reply), retries=2) as client:
        assert client.envs() == []  # two 503s, then success
        assert calls == ["GET"] * 3
        calls.clear()
        with pytest.raises(UnavailableError):
            client.create_session("x")  # a create is not re-sent after a 503
        assert calls == ["POST"]
        calls.clear()
        with pytest.raises(TransportError):
            client._call("POST", "/refuse")  # never sent: retried, then given up
        assert calls == ["POST"] * 3
