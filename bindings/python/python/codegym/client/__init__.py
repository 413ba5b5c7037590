"""The client of the CodeGym-rs rollout server (``codegym serve``), as ``codegym.Client``.

Blocking, Gymnasium-style::

    from codegym import Client

    with Client("http://127.0.0.1:8000") as client:
        with client.make("binary-search", seed=1) as env:
            observation, info = env.reset()
            observation, reward, terminated, truncated, info = env.step(
                {"name": "Length", "arguments": {}}
            )

Asyncio, with batches for rollout workers::

    async with AsyncClient(url) as client:
        sessions = await client.make_many("binary-search", range(64))
        results = await client.step_many([(s, {"name": "Observe"}) for s in sessions])
"""

from ._async import AsyncClient, AsyncSession
from ._core import REPLICA_HEADER, Action, StepResult, group_by_replica, replica_of
from ._sync import Client, Session

__all__ = [
    "Client",
    "Session",
    "AsyncClient",
    "AsyncSession",
    "StepResult",
    "Action",
    "REPLICA_HEADER",
    "replica_of",
    "group_by_replica",
]
