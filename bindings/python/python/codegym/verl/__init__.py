"""CodeGym environments in verl: an agent loop and a dataset converter.

- :class:`CodegymAgentLoop` (``codegym.verl.agent_loop``) is a verl ``AgentLoopBase``
  registered as ``codegym``: token-in/token-out through verl's server manager, each sample's
  episode stepped in-process (or on a ``codegym serve``), observation tokens masked out,
  the episode's reward as the sample's score.
- :func:`agent_loop_config_path` is the agent loop config file that selects it (set
  ``actor_rollout_ref.rollout.agent.agent_loop_config_path`` to it).
- :mod:`codegym.verl.dataset` writes verl's parquet rows for our tasks
  (``python -m codegym.verl.dataset --help``).

Importing this package does not import verl; ``CodegymAgentLoop`` does (on first use).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from .dataset import AGENT_NAME, make_rows, parse_difficulty, parse_seeds, write_rows

__all__ = [
    "AGENT_NAME",
    "CodegymAgentLoop",
    "agent_loop_config_path",
    "make_rows",
    "parse_difficulty",
    "parse_seeds",
    "write_rows",
]


def agent_loop_config_path() -> str:
    """The absolute path of the agent loop config shipped with the package
    (``agent_loop.yaml``: ``name: codegym`` and its ``_target_``), for verl's
    ``actor_rollout_ref.rollout.agent.agent_loop_config_path``."""
    return str(Path(str(resources.files(__package__) / "agent_loop.yaml")).resolve())


def __getattr__(name: str) -> Any:
    # verl (and torch with it) loads only when the agent loop is asked for.
    if name == "CodegymAgentLoop":
        from .agent_loop import CodegymAgentLoop

        return CodegymAgentLoop
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
