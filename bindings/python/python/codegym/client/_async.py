"""The asyncio client: :class:`AsyncClient`, :class:`AsyncSession` and the batch API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Union

import httpx

from . import _core
from ._core import Action, SessionState, StepResult
from ..errors import CodeGymError, NotFoundError, TransportError

__all__ = ["AsyncClient", "AsyncSession"]

#: An item of :meth:`AsyncClient.step_many`: whom to step (a session id or an
#: :class:`AsyncSession`) and the action.
AsyncStepItem = tuple[Union[str, "AsyncSession"], Action]


class AsyncClient:
    """An asyncio connection to a ``codegym serve`` server: the calls of
    :class:`codegym.Client` as coroutines, plus the batch calls :meth:`make_many` and
    :meth:`step_many` for RL rollout loops.

    Args are those of :class:`codegym.Client`. Use it as an async context manager,
    or ``await client.aclose()``.
    """

    def __init__(
        self,
        url: str = _core.DEFAULT_URL,
        *,
        timeout: float = 30.0,
        retries: int = 2,
        format: str = "codegym",
        resolve_outcomes: bool = True,
        max_connections: int = 100,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = max(0, retries)
        self.format = _core.check_format(format)
        self.resolve_outcomes = resolve_outcomes
        self._http = httpx.AsyncClient(
            base_url=self.url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
        )

    # -- plumbing ---------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connection pool (sessions stay on the server; close them first)."""
        await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        session_id: str | None = None,
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, json=json, headers=headers)
            except httpx.TransportError as error:
                if attempt < self.retries and _core.may_retry(method, error, None):
                    attempt += 1
                    await asyncio.sleep(_core.backoff(attempt))
                    continue
                raise TransportError(
                    f"{method} {self.url}{path}: {type(error).__name__}: {error}", session_id=session_id
                ) from error
            if response.status_code < 400:
                return response
            if attempt < self.retries and _core.may_retry(method, None, response.status_code):
                attempt += 1
                await asyncio.sleep(_core.backoff(attempt))
                continue
            raise _core.error_from_response(response, session_id)

    async def _call(self, method: str, path: str, *, json: Any = None, session_id: str | None = None) -> Any:
        return _core.decode(await self._send(method, path, json=json, session_id=session_id))

    # -- the server and its environments ----------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """``GET /healthz``."""
        return dict(await self._call("GET", "/healthz"))

    async def envs(self) -> list[dict[str, Any]]:
        """Every environment in short (see :meth:`codegym.Client.envs`)."""
        return list(await self._call("GET", "/v1/envs"))

    async def env_info(self, name: str) -> dict[str, Any]:
        """One environment: info, component ``hash`` and ``tools`` with JSON Schemas."""
        return dict(await self._call("GET", f"/v1/envs/{name}"))

    async def metrics(self) -> str:
        """``GET /metrics``: the Prometheus text."""
        return (await self._send("GET", "/metrics")).text

    async def openapi(self) -> dict[str, Any]:
        """``GET /openapi.json``."""
        return dict(await self._call("GET", "/openapi.json"))

    # -- sessions by id ---------------------------------------------------------------------

    async def create_session(
        self,
        env: str,
        *,
        seed: int | None = 0,
        difficulty: int | None = 50,
        config: Any = None,
        limits: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/sessions`` (see :meth:`codegym.Client.create_session`)."""
        body = _core.create_body(env, seed, difficulty, config, limits)
        return dict(await self._call("POST", "/v1/sessions", json=body))

    async def step(self, session_id: str, action: Action, *, format: str | None = None) -> StepResult:
        """``POST /v1/sessions/{id}/step`` with one action."""
        body = _core.step_body(action, format or self.format)
        reply = await self._call("POST", f"/v1/sessions/{session_id}/step", json=body, session_id=session_id)
        return await self._result(session_id, reply, None)

    async def get_session(self, session_id: str) -> dict[str, Any]:
        """``GET /v1/sessions/{id}``: status, outcome, counters, limits and the action log."""
        return dict(await self._call("GET", f"/v1/sessions/{session_id}", session_id=session_id))

    async def fork_session(self, session_id: str) -> dict[str, Any]:
        """``POST /v1/sessions/{id}/fork``."""
        return dict(await self._call("POST", f"/v1/sessions/{session_id}/fork", session_id=session_id))

    async def delete_session(self, session_id: str, *, missing_ok: bool = False) -> None:
        """``DELETE /v1/sessions/{id}``; with ``missing_ok`` an unknown session is no error."""
        try:
            await self._send("DELETE", f"/v1/sessions/{session_id}", session_id=session_id)
        except NotFoundError:
            if not missing_ok:
                raise

    async def _result(self, session_id: str, reply: Mapping[str, Any], known: str | None) -> StepResult:
        outcome, unknown = _core.reply_outcome(reply)
        if unknown:
            outcome = known or (await self._lookup_outcome(session_id) if self.resolve_outcomes else None)
        return _core.step_result(session_id, reply, outcome)

    async def _lookup_outcome(self, session_id: str) -> str | None:
        try:
            return _core.normalize_outcome((await self.get_session(session_id)).get("outcome"))
        except CodeGymError:
            return None

    # -- batches ----------------------------------------------------------------------------

    async def step_many(
        self,
        items: Sequence[AsyncStepItem],
        *,
        format: str | None = None,
        batch_size: int | None = 1024,
    ) -> list[StepResult | CodeGymError]:
        """Step many sessions with ``POST /v1/step``: one result per item, in order, each a
        :class:`StepResult` or that item's :class:`CodeGymError` (returned, never raised).

        Items are grouped by the replica their session id names (``replica-<hex>``; ids
        without a ``-`` form one group); each group goes in its own requests with the
        ``X-CodeGym-Replica`` header, groups concurrently, a group's requests (at most
        ``batch_size`` items each) one after another so that a session's steps run in item
        order. Text actions use ``format``, else the session's (or the client's) format.
        """
        ids, bodies = _core.batch_bodies(items, format, self.format)
        results: list[Any] = [None] * len(items)

        async def send_group(replica: str | None, positions: list[int]) -> None:
            for chunk in _core.chunks(positions, batch_size):
                body = {"steps": [bodies[i] for i in chunk]}
                try:
                    response = await self._send("POST", "/v1/step", json=body, headers=_core.replica_headers(replica))
                    reply = _core.decode(response)
                except CodeGymError as error:
                    for i in chunk:
                        results[i] = _core.copy_error(error, ids[i])
                    continue
                _core.fill_batch(reply, chunk, ids, results)

        groups = _core.group_by_replica(ids)
        await asyncio.gather(*(send_group(replica, positions) for replica, positions in groups.items()))

        async def resolve(i: int) -> None:
            target = items[i][0]
            known = target.outcome if isinstance(target, AsyncSession) else None
            results[i] = await self._result(ids[i], results[i].reply, known)

        await asyncio.gather(*(resolve(i) for i, r in enumerate(results) if isinstance(r, _core.PendingReply)))
        for (target, _), result in zip(items, results):
            if isinstance(target, AsyncSession) and isinstance(result, StepResult):
                target._apply(result)
        return results

    async def make_many(
        self,
        env: str,
        seeds: Iterable[int],
        *,
        difficulty: int = 50,
        config: Any = None,
        limits: Mapping[str, Any] | None = None,
        format: str | None = None,
        concurrency: int = 64,
    ) -> list[AsyncSession]:
        """One session of ``env`` per seed, in seed order, created concurrently (at most
        ``concurrency`` requests at once). Each is ready to step; ``session.task`` is its
        task statement (also what its first ``reset()`` returns).

        If any creation fails, the sessions that were created are deleted and the first
        error is raised.
        """
        seeds = list(seeds)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(seed: int) -> AsyncSession:
            async with gate:
                return await self.make(
                    env, seed=seed, difficulty=difficulty, config=config, limits=limits, format=format
                )

        made = await asyncio.gather(*(one(seed) for seed in seeds), return_exceptions=True)
        sessions = [s for s in made if isinstance(s, AsyncSession)]
        failures = [e for e in made if isinstance(e, BaseException)]
        if failures:
            await self.close_many(sessions)
            raise failures[0]
        return sessions

    async def close_many(self, sessions: Iterable[AsyncSession], *, concurrency: int = 64) -> None:
        """Delete many sessions on the server, concurrently (unknown ones are no error)."""
        gate = asyncio.Semaphore(max(1, concurrency))

        async def one(session: AsyncSession) -> None:
            async with gate:
                await session.close()

        await asyncio.gather(*(one(s) for s in sessions))

    # -- Gymnasium-style sessions -----------------------------------------------------------

    async def make(
        self,
        env: str,
        seed: int = 0,
        difficulty: int = 50,
        config: Any = None,
        limits: Mapping[str, Any] | None = None,
        format: str | None = None,
    ) -> AsyncSession:
        """Start a session of ``env`` (see :meth:`codegym.Client.make`)."""
        session = AsyncSession(
            self,
            env,
            seed=seed,
            difficulty=difficulty,
            config=config,
            limits=limits,
            format=format or self.format,
        )
        created = await self.create_session(env, seed=seed, difficulty=difficulty, config=config, limits=limits)
        session._adopt(created)
        session._fresh = True
        return session


class AsyncSession(SessionState):
    """One environment session with coroutine ``reset()`` / ``step()``; see
    :class:`codegym.Session`. An async context manager that deletes the session."""

    def __init__(
        self,
        client: AsyncClient,
        env: str,
        *,
        seed: int | None = 0,
        difficulty: int | None = 50,
        config: Any = None,
        limits: Mapping[str, Any] | None = None,
        format: str = "codegym",
    ) -> None:
        self.client = client
        self._init_state(env, seed=seed, difficulty=difficulty, config=config, limits=limits, format=format)

    async def reset(
        self,
        seed: int | None = None,
        *,
        difficulty: int | None = None,
        config: Any = None,
        limits: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Start a new episode: ``(observation, info)`` (see :meth:`codegym.Session.reset`)."""
        if self._reset_plan(seed, difficulty, config, limits, options):
            return self._reset_reply()
        if self.id is not None:
            old, self.id = self.id, None
            await self.client.delete_session(old, missing_ok=True)
        created = await self.client.create_session(
            self.env, seed=self.seed, difficulty=self.difficulty, config=self.config, limits=self.limits
        )
        self._adopt(created)
        return self._reset_reply()

    async def step(self, action: Action, *, format: str | None = None) -> StepResult:
        """Take one action: ``(observation, reward, terminated, truncated, info)``."""
        session_id = self._require_id()
        body = _core.step_body(action, format or self.format)
        reply = await self.client._call("POST", f"/v1/sessions/{session_id}/step", json=body, session_id=session_id)
        result = await self.client._result(session_id, reply, self.outcome)
        self._apply(result)
        return result

    async def fork(self) -> AsyncSession:
        """An independent copy of this session on the server, in the same state."""
        created = await self.client.fork_session(self._require_id())
        fork = AsyncSession(
            self.client,
            self.env,
            seed=self.seed,
            difficulty=self.difficulty,
            config=self.config,
            limits=self.limits,
            format=self.format,
        )
        fork._adopt(created)
        fork.done, fork.outcome = self.done, self.outcome
        return fork

    async def log(self) -> dict[str, Any]:
        """The server's record of the session (``GET /v1/sessions/{id}``)."""
        return await self.client.get_session(self._require_id())

    async def close(self) -> None:
        """Delete the session on the server (an already expired one is no error)."""
        if self.id is not None:
            session_id, self.id = self.id, None
            await self.client.delete_session(session_id, missing_ok=True)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
