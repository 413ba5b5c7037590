"""What the sync and async clients share: request bodies, reply parsing, replica grouping,
retry rules. No I/O here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import httpx

from ..errors import APIStatusError, CodeGymError, error_for_status

__all__ = [
    "Action",
    "StepResult",
    "REPLICA_HEADER",
    "DEFAULT_URL",
    "replica_of",
    "group_by_replica",
]

DEFAULT_URL = "http://127.0.0.1:8000"

#: The header a batch ``POST /v1/step`` carries when its sessions live on a named replica,
#: so a proxy in front of several servers can route the whole batch to that replica.
REPLICA_HEADER = "X-CodeGym-Replica"

#: Text formats the server parses raw model output in.
FORMATS = ("codegym", "hermes", "openai-tools")

#: An action: a tool call ``{"name": ..., "arguments": {...}}`` (CodeGym's
#: ``{"name": ..., "parameters": {...}}`` and OpenAI's ``{"function": {"name", "arguments"}}``
#: are accepted too; arguments may be a dict or its JSON text), or a string of raw model
#: output that the server parses in the session's format.
Action = str | Mapping[str, Any]

#: Outcomes that mean the environment itself ended the episode (``Done`` was called).
TERMINAL_OUTCOMES = frozenset({"solved", "wrong_answer"})

_REPLICA = re.compile(r"[a-z0-9]{1,16}")


class StepResult(NamedTuple):
    """One step's result; unpacks Gymnasium-style as
    ``observation, reward, terminated, truncated, info = result``.

    ``terminated``: the environment ended the episode (``Done`` was called: solved or wrong
    answer). ``truncated``: it ended for another reason, the step limit (``max_steps``) or a
    budget the episode spent (fuel); ``info["outcome"]`` says which. ``info`` holds
    ``session_id``, ``steps`` (tool calls so far), ``done``, ``parse_error`` (the text held no
    valid call and the episode did not see it), ``fault`` (a fault the call hit and that was
    rolled back, e.g. ``"out_of_fuel"``, else ``None``) and ``outcome`` (``None`` while the
    episode runs, then ``"solved"``, ``"wrong_answer"``, ``"step_limit"`` or a fault name).
    """

    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]

    @property
    def session_id(self) -> str:
        """The session that took the step."""
        return str(self.info["session_id"])

    @property
    def done(self) -> bool:
        """Whether the episode is over (``terminated or truncated``)."""
        return self.terminated or self.truncated


def replica_of(session_id: str) -> str | None:
    """The replica a session id names: ``"a"`` for ``"a-0123456789abcdef"``; ``None`` for an id
    without a ``-`` (from a server that is not a named replica) or whose prefix is no replica
    name (1 to 16 of ``a-z0-9``; the server will answer 404 for it)."""
    prefix, sep, _ = session_id.partition("-")
    return prefix if sep and _REPLICA.fullmatch(prefix) else None


def group_by_replica(session_ids: Iterable[str]) -> dict[str | None, list[int]]:
    """The positions of ``session_ids`` grouped by :func:`replica_of`, groups in order of
    first appearance, positions in order within each group."""
    groups: dict[str | None, list[int]] = {}
    for index, session_id in enumerate(session_ids):
        groups.setdefault(replica_of(session_id), []).append(index)
    return groups


def replica_headers(replica: str | None) -> dict[str, str]:
    return {} if replica is None else {REPLICA_HEADER: replica}


def create_body(
    env: str,
    seed: int | None,
    difficulty: int | None,
    config: Any,
    limits: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The body of ``POST /v1/sessions``; ``None`` fields are left to the server."""
    if not isinstance(env, str) or not env:
        raise TypeError("env must be an environment name (str)")
    body: dict[str, Any] = {"env": env}
    if seed is not None:
        body["seed"] = int(seed)
    if difficulty is not None:
        body["difficulty"] = int(difficulty)
    if config is not None:
        body["config"] = config
    if limits is not None:
        body["limits"] = dict(limits)
    return body


def check_format(format: str) -> str:
    if format not in FORMATS:
        raise ValueError(f"unknown text format {format!r}; use one of {', '.join(FORMATS)}")
    return format


def step_body(action: Action, format: str) -> dict[str, Any]:
    """The body of a step: ``{"name", "arguments"}`` for a tool call, ``{"text", "format"}``
    for raw model output."""
    if isinstance(action, str):
        return {"text": action, "format": format}
    if not isinstance(action, Mapping):
        raise TypeError(f"an action is a str or a mapping with a tool `name`, not {type(action).__name__}")
    if "text" in action:
        text = action["text"]
        if not isinstance(text, str):
            raise TypeError("an action's `text` must be a str")
        return {"text": text, "format": action.get("format") or format}
    function = action.get("function")
    if isinstance(function, Mapping):  # an OpenAI tool call
        action = function
    name = action.get("name")
    if not isinstance(name, str):
        raise TypeError("a tool call needs a `name` (str)")
    if "arguments" in action and "parameters" in action:
        raise ValueError("a tool call has `arguments` or `parameters`, not both")
    arguments = action.get("arguments", action.get("parameters"))
    if arguments is None:
        arguments = {}
    elif not isinstance(arguments, (Mapping, str)):
        raise TypeError("a tool call's arguments are a mapping or its JSON text")
    return {"name": name, "arguments": dict(arguments) if isinstance(arguments, Mapping) else arguments}


def normalize_outcome(outcome: Any) -> str | None:
    """The server's outcome (``{"kind": "step_limit"}``, ``{"kind": "fault", "fault": "timeout"}``
    or a plain string) as one string: ``"step_limit"``, ``"timeout"``..."""
    if outcome is None:
        return None
    if isinstance(outcome, str):
        return outcome
    if isinstance(outcome, Mapping):
        kind = outcome.get("kind")
        if kind == "fault" and outcome.get("fault"):
            return str(outcome["fault"])
        return None if kind is None else str(kind)
    return str(outcome)


def reply_outcome(reply: Mapping[str, Any]) -> tuple[str | None, bool]:
    """The outcome a step reply implies, and whether it must still be looked up (the episode
    ended with reward 0 and the reply does not say why)."""
    if not reply.get("done"):
        return None, False
    if "outcome" in reply:
        return normalize_outcome(reply["outcome"]), False
    if float(reply.get("reward", 0.0)) > 0.0:
        return "solved", False
    return None, True


def step_result(session_id: str, reply: Mapping[str, Any], outcome: str | None) -> StepResult:
    """A :class:`StepResult` from a step reply and the episode's outcome (``None`` while it
    runs, or when it could not be learnt: then an ended episode counts as terminated)."""
    done = bool(reply.get("done"))
    terminated = done and (outcome is None or outcome in TERMINAL_OUTCOMES)
    info: dict[str, Any] = {
        "session_id": session_id,
        "steps": int(reply.get("steps", 0)),
        "done": done,
        "parse_error": bool(reply.get("parse_error", False)),
        "fault": reply.get("fault"),
        "outcome": outcome if done else None,
    }
    return StepResult(
        observation=str(reply.get("observation", "")),
        reward=float(reply.get("reward", 0.0)),
        terminated=terminated,
        truncated=done and not terminated,
        info=info,
    )


def batch_item_error(item: Mapping[str, Any], session_id: str) -> APIStatusError:
    """The error of a failed batch item ``{session_id?, status, error}``."""
    status = int(item.get("status", 500))
    return error_for_status(status, str(item.get("error", "")), session_id=session_id, body=dict(item))


def error_from_response(response: httpx.Response, session_id: str | None = None) -> APIStatusError:
    """The error an HTTP error reply stands for, with the server's `{"error": ...}` message."""
    body: Any
    try:
        body = response.json()
    except (json.JSONDecodeError, ValueError):
        body = None
    if isinstance(body, Mapping) and isinstance(body.get("error"), str):
        message = body["error"]
    else:
        message = response.text.strip() or response.reason_phrase or "error"
    return error_for_status(response.status_code, message, session_id=session_id, body=body)


def decode(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, ValueError) as error:
        raise CodeGymError(
            f"the server's reply to {response.request.method} {response.request.url.path} is not JSON: {error}",
            status=response.status_code,
        ) from error


#: Transport errors raised before any byte of the request was sent: always safe to retry.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

#: Methods whose retry cannot apply an action twice.
IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE"})


def may_retry(method: str, error: BaseException | None, status: int | None) -> bool:
    """Whether a failed call may be sent again: connection errors before sending, any
    transport error or a 503 on an idempotent call."""
    if error is not None:
        if isinstance(error, NOT_SENT):
            return True
        return method in IDEMPOTENT and isinstance(error, httpx.TransportError)
    return method in IDEMPOTENT and status == 503


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (1, 2, ...)."""
    return min(0.1 * 2.0 ** (attempt - 1), 2.0)


def chunks(positions: Sequence[int], size: int | None) -> list[Sequence[int]]:
    if size is None or size <= 0 or len(positions) <= size:
        return [positions]
    return [positions[start : start + size] for start in range(0, len(positions), size)]


class PendingReply:
    """A batch item's successful reply, before its outcome is resolved."""

    __slots__ = ("reply",)

    def __init__(self, reply: Mapping[str, Any]) -> None:
        self.reply = reply


def batch_bodies(
    items: Sequence[tuple[Any, Action]], format: str | None, default: str
) -> tuple[list[str], list[dict[str, Any]]]:
    """The session id and step body of every item. Text is in ``format`` when given, else
    in the session's format (for a session object) or ``default`` (for a bare id)."""
    if format is not None:
        check_format(format)
    ids: list[str] = []
    bodies: list[dict[str, Any]] = []
    for item in items:
        try:
            target, action = item
        except (TypeError, ValueError):
            raise TypeError("step_many takes (session or session id, action) pairs") from None
        if isinstance(target, str):
            session_id, item_format = target, format or default
        elif isinstance(target, SessionState):
            session_id = target._require_id()
            item_format = format or target.format
        else:
            raise TypeError(f"step_many: a session or a session id, not {type(target).__name__}")
        body = step_body(action, item_format)
        body["session_id"] = session_id
        ids.append(session_id)
        bodies.append(body)
    return ids, bodies


def fill_batch(reply: Any, chunk: Sequence[int], ids: list[str], results: list[Any]) -> None:
    """Put a batch reply's results into their positions."""
    items = reply.get("results") if isinstance(reply, Mapping) else None
    if not isinstance(items, list) or len(items) != len(chunk):
        for i in chunk:
            results[i] = CodeGymError("the server's batch reply does not match the request", session_id=ids[i])
        return
    for i, item in zip(chunk, items):
        if isinstance(item, Mapping) and "error" in item:
            results[i] = batch_item_error(item, ids[i])
        else:
            results[i] = PendingReply(item)


def copy_error(error: CodeGymError, session_id: str) -> CodeGymError:
    """``error`` for one item of a batch that failed whole."""
    copy = type(error).__new__(type(error))
    copy.__dict__.update(error.__dict__)
    copy.args = error.args
    copy.session_id = session_id
    copy.__cause__ = error
    return copy


class SessionState:
    """The client-side record of a session, shared by :class:`Session` and
    :class:`AsyncSession`."""

    env: str
    seed: int | None
    difficulty: int | None
    config: Any
    limits: Mapping[str, Any] | None
    format: str
    id: str | None
    task: str
    tools: list[dict[str, Any]]
    steps: int
    outcome: str | None
    done: bool

    def _init_state(
        self,
        env: str,
        *,
        seed: int | None,
        difficulty: int | None,
        config: Any,
        limits: Mapping[str, Any] | None,
        format: str,
    ) -> None:
        self.env = env
        self.seed = seed
        self.difficulty = difficulty
        self.config = config
        self.limits = limits
        self.format = check_format(format)
        self.id = None
        self.task = ""
        self.tools = []
        self.steps = 0
        self.outcome = None
        self.done = False
        self.created: dict[str, Any] = {}
        # Created and not yet stepped: the first `reset()` returns it instead of a new one.
        self._fresh = False

    def _adopt(self, created: Mapping[str, Any]) -> None:
        """Take the server's reply to a create or fork."""
        self.created = dict(created)
        self.id = str(created["session_id"])
        self.task = str(created.get("task", ""))
        self.tools = list(created.get("tools", []))
        self.steps = int(created.get("steps", 0))
        self.outcome = None
        self.done = False

    def _apply(self, result: StepResult) -> None:
        self._fresh = False
        self.steps = result.info["steps"]
        self.done = result.done
        if result.done:
            self.outcome = result.info["outcome"]

    def _reset_plan(
        self,
        seed: int | None,
        difficulty: int | None,
        config: Any,
        limits: Mapping[str, Any] | None,
        options: Mapping[str, Any] | None,
    ) -> bool:
        """Update the episode parameters for a reset; ``True`` when the session created by
        ``make`` can serve as this episode (nothing changed, never stepped)."""
        options = dict(options or {})
        unknown = set(options) - {"difficulty", "config", "limits"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; known: difficulty, config, limits")
        difficulty = options.get("difficulty", difficulty)
        config = options.get("config", config)
        limits = options.get("limits", limits)
        reuse = (
            self._fresh
            and self.id is not None
            and (seed is None or seed == self.seed)
            and difficulty is None
            and config is None
            and limits is None
        )
        if reuse:
            return True
        if seed is not None:
            self.seed = seed
        elif self.seed is not None:
            # A seedless reset moves on to the next task: seed, seed + 1, ...
            self.seed += 1
        if difficulty is not None:
            self.difficulty = difficulty
        if config is not None:
            self.config = config
        if limits is not None:
            self.limits = limits
        return False

    def _reset_reply(self) -> tuple[str, dict[str, Any]]:
        self._fresh = False
        info: dict[str, Any] = {
            "session_id": self.id,
            "env": self.env,
            "seed": self.seed,
            "difficulty": self.difficulty,
            "config": self.created.get("config"),
            "tools": self.tools,
            "steps": self.steps,
        }
        return self.task, info

    def _require_id(self) -> str:
        if self.id is None:
            raise CodeGymError("the session is closed; call reset() to start a new one")
        return self.id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(env={self.env!r}, id={self.id!r}, steps={self.steps}, done={self.done})"
