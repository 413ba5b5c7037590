"""A minimal stand-in for `gymnasium`, bundled into CodeGym-rs Python components.

CodeGym-style environments subclass `gymnasium.Env` but use nothing of it beyond the
class itself; the real package (and numpy under it) cannot run in a zero-import
component. This shim gives them the names they touch: `Env` (with a default `step` that
dispatches a `{"name": ..., "parameters": {...}}` action to the tool method of that name),
`spaces`, and `Space`.
"""

import json

from gymnasium import spaces
from gymnasium.spaces import Space

__all__ = ["Env", "Space", "spaces"]
__version__ = "0.0.0+codegym-shim"


class Env:
    """Base class of an environment. Subclasses override `reset` and `step`, or write
    tools as methods (names starting with a capital letter) and keep the default `step`."""

    metadata = {"render_modes": []}
    render_mode = None
    spec = None
    action_space = None
    observation_space = None
    reward_range = (float("-inf"), float("inf"))

    def __init__(self, *args, **kwargs):
        pass

    def reset(self, *args, **kwargs):
        return None

    def step(self, action):
        """Run the tool named in `action` (JSON text or a dict) with its parameters and
        return `(True, observation)`, CodeGym's shape. Errors are observations."""
        try:
            call = json.loads(action) if isinstance(action, str) else action
            name = call["name"]
            parameters = call.get("parameters", call.get("arguments", {})) or {}
            method = getattr(self, name, None) if isinstance(name, str) and name[:1].isupper() else None
            if method is None or not callable(method):
                return True, f"Error: unknown tool {name!r}"
            return True, method(**parameters)
        except Exception as error:
            return True, f"Error: {error}"

    def render(self):
        return None

    def close(self):
        return None

    @property
    def unwrapped(self):
        return self

    @property
    def np_random(self):
        import random

        return random.Random(0)
