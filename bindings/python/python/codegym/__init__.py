"""CodeGym-rs from Python.

In-process, every episode in its own WebAssembly sandbox (fuel, memory and time limits)::

    import codegym

    env = codegym.make("binary-search", seed=1)
    task, info = env.reset()
    observation, reward, terminated, truncated, info = env.step({"name": "Observe", "arguments": {}})

Batched, envpool-style, stepped on worker threads with the GIL released::

    envs = codegym.make_vec("binary-search", num_envs=1024)
    tasks, infos = envs.reset()
    observations, rewards, terminated, truncated, infos = envs.step([{"name": "Observe"}] * 1024)

Remote, against ``codegym serve`` (the same vocabulary)::

    with codegym.Client("http://127.0.0.1:8000") as client:
        with client.make("binary-search", seed=1) as env:
            observation, info = env.reset()
"""

from ._codegym import (
    FORMATS,
    Env,
    Oracle,
    VecEnv,
    info,
    list_envs,
    make,
    make_vec,
    replay,
)
from .client import REPLICA_HEADER, Action, AsyncClient, AsyncSession, Client, Session, StepResult, group_by_replica, replica_of
from .errors import (
    APIStatusError,
    BadRequestError,
    CodeGymError,
    EpisodeError,
    InvalidActionError,
    NotFoundError,
    ServerError,
    TooManySessionsError,
    TransportError,
    UnavailableError,
    UnknownEnvError,
)

__version__ = "0.1.0"

__all__ = [
    "make",
    "make_vec",
    "list_envs",
    "info",
    "replay",
    "Env",
    "VecEnv",
    "Oracle",
    "FORMATS",
    "CodeGymError",
    "UnknownEnvError",
    "InvalidActionError",
    "EpisodeError",
    "Client",
    "Session",
    "AsyncClient",
    "AsyncSession",
    "StepResult",
    "Action",
    "REPLICA_HEADER",
    "replica_of",
    "group_by_replica",
    "TransportError",
    "APIStatusError",
    "BadRequestError",
    "NotFoundError",
    "TooManySessionsError",
    "UnavailableError",
    "ServerError",
]
