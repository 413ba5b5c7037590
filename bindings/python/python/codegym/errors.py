"""Every error the package raises is a :class:`CodeGymError`.

In-process (``codegym.make``, ``make_vec``, ...), with the host's own messages::

    CodeGymError                  the host could not do it (e.g. a component failed to load)
    ├── UnknownEnvError          no environment of that name (also a ``LookupError``)
    ├── InvalidActionError       not {"name", "arguments"} nor {"text", "format"} (a ``ValueError``)
    └── EpisodeError             an episode could not start or fork, or none was started

A fault inside an environment (fuel, memory, time, a trap) is never an exception: it is an
outcome in the step's ``info``, the call rolled back.

From the HTTP client (``codegym.Client``, batch calls return them). One the server answered
carries its HTTP status and the message of its JSON body ``{"error": "..."}``::

    CodeGymError
    ├── TransportError          no reply: connection refused or reset, timeout
    └── APIStatusError          the server answered 4xx/5xx (``.status``, ``.message``)
        ├── BadRequestError      400, 413, 415, 422: the request is malformed or too large
        ├── NotFoundError        404: unknown session (expired, deleted), environment or route
        ├── TooManySessionsError 429: the server holds its maximum of sessions
        ├── UnavailableError     503: the change could not be made durable, or no instance
        └── ServerError          any other 5xx
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CodeGymError",
    "UnknownEnvError",
    "InvalidActionError",
    "EpisodeError",
    "TransportError",
    "APIStatusError",
    "BadRequestError",
    "NotFoundError",
    "TooManySessionsError",
    "UnavailableError",
    "ServerError",
    "error_for_status",
]


class CodeGymError(Exception):
    """Base of every error of the package.

    Attributes:
        message: what went wrong (the server's own message when it answered).
        status: the HTTP status, or ``None`` when no reply came.
        session_id: the session the failed call addressed, when there was one.
    """

    status: int | None = None

    def __init__(self, message: str, *, status: int | None = None, session_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.session_id = session_id

    def __str__(self) -> str:
        if self.status is None:
            return self.message
        return f"{self.status}: {self.message}"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status!r}, message={self.message!r}, session_id={self.session_id!r})"


class UnknownEnvError(CodeGymError, LookupError):
    """No environment of that name in the environment directory."""


class InvalidActionError(CodeGymError, ValueError):
    """An action that is neither ``{"name", "arguments"}`` nor ``{"text", "format"}``."""


class EpisodeError(CodeGymError):
    """An episode could not start (a bad config, a faulting reset) or fork, or none was started."""


class TransportError(CodeGymError):
    """No HTTP reply: the connection failed, was reset or timed out."""


class APIStatusError(CodeGymError):
    """The server answered with an error status; ``body`` is its decoded JSON, if any."""

    status: int

    def __init__(
        self,
        message: str,
        *,
        status: int,
        session_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, status=status, session_id=session_id)
        self.body = body


class BadRequestError(APIStatusError):
    """400 malformed JSON or invalid request, 413 body too large, 415, 422 wrong shape."""


class NotFoundError(APIStatusError):
    """404: an unknown session (it may have expired or been deleted), environment or route."""


class TooManySessionsError(APIStatusError):
    """429: the server already holds its ``--max-sessions``."""


class UnavailableError(APIStatusError):
    """503: the change could not be made durable, or the server has no free instance."""


class ServerError(APIStatusError):
    """Any other 5xx."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    404: NotFoundError,
    413: BadRequestError,
    415: BadRequestError,
    422: BadRequestError,
    429: TooManySessionsError,
    503: UnavailableError,
}


def error_for_status(status: int, message: str, *, session_id: str | None = None, body: Any = None) -> APIStatusError:
    """The :class:`APIStatusError` subclass for an HTTP status."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIStatusError
    return cls(message, status=status, session_id=session_id, body=body)
