"""The blocking client: :class:`Client` and its Gymnasium-style :class:`Session`."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Union

import httpx

from . import _core
from ._core import Action, SessionState, StepResult
from ..errors import CodeGymError, NotFoundError, TransportError

__all__ = ["Client", "Session"]

#: An item of :meth:`Client.step_many`: whom to step (a session id or a :class:`Session`) and
#: the action.
StepItem = tuple[Union[str, "Session"], Action]


class Client:
    """A connection to a ``codegym serve`` server.

    Args:
        url: the server's base URL, e.g. ``"http://127.0.0.1:8000"``.
        timeout: seconds for each HTTP request (connect, read, write).
        retries: how many times a call is sent again after a connection error, and, for
            idempotent calls (GET, DELETE) only, after a transport error or a 503. Steps and
            creates are never re-sent once they may have reached the server.
        format: the default text format of raw-output actions: ``"codegym"``, ``"hermes"`` or
            ``"openai-tools"``.
        resolve_outcomes: when a step ends an episode with reward 0 and the reply does not
            say why, ask the server (``GET /v1/sessions/{id}``) whether it was a wrong answer
            (terminated) or the step limit (truncated). With ``False`` such an end counts as
            terminated and ``info["outcome"]`` is ``None``.
        max_connections: the size of the HTTP connection pool.
        transport: an httpx transport to send requests through instead of the network
            (e.g. ``httpx.MockTransport`` in tests).

    Use it as a context manager, or call :meth:`close`.
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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = max(0, retries)
        self.format = _core.check_format(format)
        self.resolve_outcomes = resolve_outcomes
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
        )

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool (sessions stay on the server; close them first)."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _send(
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
                response = self._http.request(method, path, json=json, headers=headers)
            except httpx.TransportError as error:
                if attempt < self.retries and _core.may_retry(method, error, None):
                    attempt += 1
                    time.sleep(_core.backoff(attempt))
                    continue
                raise TransportError(
                    f"{method} {self.url}{path}: {type(error).__name__}: {error}", session_id=session_id
                ) from error
            if response.status_code < 400:
                return response
            if attempt < self.retries and _core.may_retry(method, None, response.status_code):
                attempt += 1
                time.sleep(_core.backoff(attempt))
                continue
            raise _core.error_from_response(response, session_id)

    def _call(self, method: str, path: str, *, json: Any = None, session_id: str | None = None) -> Any:
        return _core.decode(self._send(method, path, json=json, session_id=session_id))

    # -- the server and its environments ----------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``GET /healthz``: ``{"status": "ok"}`` when the server is up."""
        return dict(self._call("GET", "/healthz"))

    def envs(self) -> list[dict[str, Any]]:
        """Every environment in short: ``name``, ``version``, ``category``, ``description``,
        ``tools`` (how many)."""
        return list(self._call("GET", "/v1/envs"))

    def env_info(self, name: str) -> dict[str, Any]:
        """One environment: its info, component ``hash`` and ``tools`` with JSON Schemas."""
        return dict(self._call("GET", f"/v1/envs/{name}"))

    def metrics(self) -> str:
        """``GET /metrics``: the Prometheus text."""
        return self._send("GET", "/metrics").text

    def openapi(self) -> dict[str, Any]:
        """``GET /openapi.json``: the server's OpenAPI 3.1 document."""
        return dict(self._call("GET", "/openapi.json"))

    # -- sessions by id ---------------------------------------------------------------------

    def create_session(
        self,
        env: str,
        *,
        seed: int | None = 0,
        difficulty: int | None = 50,
        config: Any = None,
        limits: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/sessions``: the server's reply ``{session_id, env, task, config, steps,
        tools}``. ``config`` (a dict or its JSON text) replaces sampling from seed and
        difficulty; ``limits`` (e.g. ``{"max_steps": 64}``) may only tighten the server's."""
        body = _core.create_body(env, seed, difficulty, config, limits)
        return dict(self._call("POST", "/v1/sessions", json=body))

    def step(self, session_id: str, action: Action, *, format: str | None = None) -> StepResult:
        """``POST /v1/sessions/{id}/step`` with one action (see :data:`Action`)."""
        body = _core.step_body(action, format or self.format)
        reply = self._call("POST", f"/v1/sessions/{session_id}/step", json=body, session_id=session_id)
        return self._result(session_id, reply, None)

    def get_session(self, session_id: str) -> dict[str, Any]:
        """``GET /v1/sessions/{id}``: status, outcome, counters, limits and the action log."""
        return dict(self._call("GET", f"/v1/sessions/{session_id}", session_id=session_id))

    def fork_session(self, session_id: str) -> dict[str, Any]:
        """``POST /v1/sessions/{id}/fork``: a new, independent session in the same state."""
        return dict(self._call("POST", f"/v1/sessions/{session_id}/fork", session_id=session_id))

    def delete_session(self, session_id: str, *, missing_ok: bool = False) -> None:
        """``DELETE /v1/sessions/{id}``; with ``missing_ok`` an unknown session is no error."""
        try:
            self._send("DELETE", f"/v1/sessions/{session_id}", session_id=session_id)
        except NotFoundError:
            if not missing_ok:
                raise

    def step_many(
        self,
        items: Sequence[StepItem],
        *,
        format: str | None = None,
        batch_size: int | None = 1024,
    ) -> list[StepResult | CodeGymError]:
        """Step many sessions with ``POST /v1/step``: one result per item, in order, each a
        :class:`StepResult` or the :class:`CodeGymError` of that item (never raised).

        Items are grouped by the replica their session id names (see
        :func:`codegym.replica_of`); each group is sent with its
        ``X-CodeGym-Replica`` header, in requests of at most ``batch_size`` items, in order.
        A session may appear more than once; its steps run in item order.
        """
        ids, bodies = _core.batch_bodies(items, format, self.format)
        results: list[StepResult | CodeGymError | None] = [None] * len(items)
        for replica, positions in _core.group_by_replica(ids).items():
            for chunk in _core.chunks(positions, batch_size):
                self._send_batch(replica, chunk, ids, bodies, results)
        return self._finish_batch(items, ids, results)

    def _send_batch(
        self,
        replica: str | None,
        chunk: Sequence[int],
        ids: list[str],
        bodies: list[dict[str, Any]],
        results: list[StepResult | CodeGymError | None],
    ) -> None:
        body = {"steps": [bodies[i] for i in chunk]}
        try:
            response = self._send("POST", "/v1/step", json=body, headers=_core.replica_headers(replica))
            reply = _core.decode(response)
        except CodeGymError as error:
            for i in chunk:
                results[i] = _core.copy_error(error, ids[i])
            return
        _core.fill_batch(reply, chunk, ids, results)

    def _finish_batch(
        self,
        items: Sequence[StepItem],
        ids: list[str],
        results: list[StepResult | CodeGymError | None],
    ) -> list[StepResult | CodeGymError]:
        done: list[StepResult | CodeGymError] = []
        for (target, _), session_id, result in zip(items, ids, results):
            if isinstance(result, _core.PendingReply):
                known = target.outcome if isinstance(target, Session) else None
                result = self._result(session_id, result.reply, known)
            if isinstance(target, Session) and isinstance(result, StepResult):
                target._apply(result)
            assert result is not None
            done.append(result)
        return done

    def _result(self, session_id: str, reply: Mapping[str, Any], known: str | None) -> StepResult:
        outcome, unknown = _core.reply_outcome(reply)
        if unknown:
            outcome = known or (self._lookup_outcome(session_id) if self.resolve_outcomes else None)
        return _core.step_result(session_id, reply, outcome)

    def _lookup_outcome(self, session_id: str) -> str | None:
        try:
            return _core.normalize_outcome(self.get_session(session_id).get("outcome"))
        except CodeGymError:
            return None

    # -- Gymnasium-style sessions -----------------------------------------------------------

    def make(
        self,
        env: str,
        seed: int = 0,
        difficulty: int = 50,
        config: Any = None,
        limits: Mapping[str, Any] | None = None,
        format: str | None = None,
    ) -> Session:
        """Start a session of ``env`` and return it as a Gymnasium-style :class:`Session`.

        The session exists on the server at once (so a bad name fails here), and its first
        :meth:`Session.reset` returns it rather than starting another. ``format`` is the text
        format of the session's raw-output actions (the client's by default).
        """
        session = Session(
            self,
            env,
            seed=seed,
            difficulty=difficulty,
            config=config,
            limits=limits,
            format=format or self.format,
        )
        session._adopt(self.create_session(env, seed=seed, difficulty=difficulty, config=config, limits=limits))
        session._fresh = True
        return session


class Session(SessionState):
    """One environment session, Gymnasium-style: ``reset()`` and ``step(action)``.

    Made by :meth:`Client.make`. Attributes: ``id`` (the server's session id, ``None`` once
    closed), ``env``, ``seed``, ``difficulty``, ``task`` (the task statement), ``tools`` (each
    ``{name, description, parameters}`` with a JSON Schema), ``steps``, ``done``, ``outcome``.
    A context manager: leaving it deletes the session on the server.
    """

    def __init__(
        self,
        client: Client,
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

    def reset(
        self,
        seed: int | None = None,
        *,
        difficulty: int | None = None,
        config: Any = None,
        limits: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Start a new episode: ``(observation, info)``, where the observation is the task
        statement and ``info`` has ``session_id``, ``env``, ``seed``, ``difficulty``,
        ``config`` (the task configuration, JSON text) and ``tools``.

        A reset deletes the previous server session and creates a fresh one (except the
        first after :meth:`Client.make`, which returns the session ``make`` created).
        Without ``seed`` the next task comes from ``seed + 1``; ``difficulty``, ``config`` and
        ``limits`` (or the same keys in ``options``) replace the session's for this and later
        episodes.
        """
        if self._reset_plan(seed, difficulty, config, limits, options):
            return self._reset_reply()
        if self.id is not None:
            old, self.id = self.id, None
            self.client.delete_session(old, missing_ok=True)
        created = self.client.create_session(
            self.env, seed=self.seed, difficulty=self.difficulty, config=self.config, limits=self.limits
        )
        self._adopt(created)
        return self._reset_reply()

    def step(self, action: Action, *, format: str | None = None) -> StepResult:
        """Take one action: ``(observation, reward, terminated, truncated, info)``.

        ``action`` is a tool call ``{"name": ..., "arguments": {...}}`` (or CodeGym's
        ``"parameters"``) or a string of raw model output, parsed in the session's format (or
        ``format``). A tool error or unparseable text is an ``"Error: ..."`` observation, not
        an exception; see :class:`StepResult` for ``terminated``, ``truncated`` and ``info``.
        """
        session_id = self._require_id()
        body = _core.step_body(action, format or self.format)
        reply = self.client._call("POST", f"/v1/sessions/{session_id}/step", json=body, session_id=session_id)
        result = self.client._result(session_id, reply, self.outcome)
        self._apply(result)
        return result

    def fork(self) -> Session:
        """An independent copy of this session on the server, in the same state."""
        created = self.client.fork_session(self._require_id())
        fork = Session(
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

    def log(self) -> dict[str, Any]:
        """The server's record of the session (``GET /v1/sessions/{id}``): ``status``,
        ``outcome``, ``steps``, ``faults``, ``reward``, ``fuel_used``, ``limits`` and ``log``
        (the task configuration and every tool call)."""
        return self.client.get_session(self._require_id())

    def close(self) -> None:
        """Delete the session on the server (an already expired one is no error)."""
        if self.id is not None:
            session_id, self.id = self.id, None
            self.client.delete_session(session_id, missing_ok=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
