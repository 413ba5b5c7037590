"""CodeGym-rs environments for TRL's ``GRPOTrainer``, through its ``environment_factory``.

A few lines train on several environments at once::

    from trl import GRPOConfig, GRPOTrainer
    import codegym.trl

    names = ["binary-search", "two-sum"]
    trainer = GRPOTrainer(
        model="Qwen/Qwen3-0.6B",
        args=GRPOConfig(max_completion_length=1024, max_tool_calling_iterations=64),
        train_dataset=codegym.trl.dataset(names, seeds=range(1000)),
        environment_factory=codegym.trl.environment_factories(names),
    )
    trainer.train()

Each environment becomes a class (:func:`environment_class`) that TRL instantiates once per
rollout slot and resets per prompt: ``reset(**row)`` starts the row's episode in its own
sandbox and returns the task, which TRL appends to the prompt; each of the environment's tools
is a typed method whose signature and Google-style docstring TRL turns back into the tool's JSON
Schema; ``get_reward()`` is the episode's reward, so no ``reward_funcs`` are needed.

TRL is imported by nothing here: the module needs only ``codegym`` (and ``datasets`` for
:func:`dataset`).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Iterator, Sequence
from inspect import Parameter, Signature
from pathlib import Path
from typing import Any, Literal, Union

from . import _codegym

__all__ = ["environment_class", "environment_factories", "rows", "dataset", "EpisodeOver"]

#: Methods TRL gives a meaning of its own: a tool of these names cannot be a method.
_RESERVED = frozenset({"reset", "get_reward"})


class EpisodeOver(RuntimeError):
    """A tool was called after the episode ended (``Done``, or the call budget ran out).

    TRL catches exceptions from tools and shows the model ``{"error": message}``.
    """


class _Unset:
    """The default of an optional tool argument: left out of the call, as the model left it."""

    def __repr__(self) -> str:
        return "unset"


_UNSET = _Unset()


class CodegymEnvironment:
    """The base of every generated environment class (see :func:`environment_class`).

    Its public methods are exactly TRL's contract: ``reset``, ``get_reward`` and one method per
    tool; everything else is private, because TRL offers every other public method to the model
    as a tool.
    """

    #: The environment's name, set on each generated class.
    _name: str = ""
    _env_dir: str | None = None
    _limits: dict | None = None

    def __init__(self) -> None:
        self._env = _codegym.make(self._name, env_dir=self._env_dir, limits=self._limits)
        self._started = False
        self._done = False
        self._reward = 0.0

    def reset(self, seed: int | None = None, difficulty: int | None = None, config: Any = None, **row: Any) -> str:
        """Start the episode the dataset row names and return its task (TRL appends it to the prompt).

        ``seed`` and ``difficulty`` come from the row (see :func:`rows`); ``config`` (a dict or
        its JSON text) replays a task exactly instead. Other columns of the row are ignored.
        """
        options: dict[str, Any] = {}
        if difficulty is not None:
            options["difficulty"] = int(difficulty)
        if config is not None:
            options["config"] = config
        task, _info = self._env.reset(seed=None if seed is None else int(seed), options=options or None)
        self._started, self._done, self._reward = True, False, 0.0
        return task

    def get_reward(self) -> float:
        """The episode's reward so far: the environment's verdict once it has ended, else 0."""
        return self._reward

    def _call(self, tool: str, arguments: dict[str, Any]) -> str:
        if not self._started:
            raise EpisodeOver(f"{self._name}: no episode yet; TRL calls reset() before the tools")
        if self._done:
            raise EpisodeOver(f"the {self._name} episode is over (reward {self._reward:g}); no more tool calls")
        call = {k: v for k, v in arguments.items() if v is not _UNSET}
        observation, reward, terminated, truncated, _info = self._env.step({"name": tool, "arguments": call})
        self._reward += reward
        self._done = terminated or truncated
        return observation

    def _trajectory(self) -> dict:
        """The episode so far as a trajectory (what ``codegym replay`` re-runs)."""
        return self._env.trajectory()


def environment_class(name: str, *, env_dir: str | Path | None = None, limits: dict | None = None) -> type:
    """The class TRL's ``environment_factory`` takes for environment ``name``.

    It is loaded (and compiled, or taken from the compile cache) here, so a bad name fails now
    with :class:`codegym.UnknownEnvError`. ``env_dir`` and ``limits`` are as for
    :func:`codegym.make`.
    """
    env_dir = None if env_dir is None else str(env_dir)
    probe = _codegym.make(name, env_dir=env_dir, limits=limits)
    members: dict[str, Any] = {
        "_name": name,
        "_env_dir": env_dir,
        "_limits": limits,
        "__doc__": f"{probe.info['description']}\n\nThe CodeGym-rs environment `{name}`, one episode at a time.",
        "__module__": __name__,
    }
    for tool in probe.tools:
        method = _tool_method(name, tool)
        members[method.__name__] = method
    return type(_class_name(name), (CodegymEnvironment,), members)


def environment_factories(
    names: Iterable[str], *, env_dir: str | Path | None = None, limits: dict | None = None
) -> dict[str, type]:
    """``{name: environment_class(name)}``: TRL's multi-environment ``environment_factory``, which
    routes each dataset row to the environment its ``environment`` column names (see :func:`rows`)."""
    return {name: environment_class(name, env_dir=env_dir, limits=limits) for name in names}


def rows(
    names: str | Sequence[str], seeds: Iterable[int], difficulty: int = 50
) -> Iterator[dict[str, Any]]:
    """Dataset rows for ``GRPOTrainer``: one per (environment, seed), environments interleaved.

    Each row is ``{"prompt", "environment", "seed", "difficulty"}``. The prompt is an empty user
    turn: ``reset`` returns the task and TRL appends it there, and TRL's chat template renders the
    tools. ``environment`` routes the row with :func:`environment_factories`.
    """
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError("rows() needs at least one environment name")
    if not 0 <= difficulty <= 100:
        raise ValueError(f"difficulty must be 0..=100, got {difficulty}")
    for seed in seeds:
        for name in names:
            yield {
                "prompt": [{"role": "user", "content": ""}],
                "environment": name,
                "seed": int(seed),
                "difficulty": difficulty,
            }


def dataset(names: str | Sequence[str], seeds: Iterable[int], difficulty: int = 50):
    """:func:`rows` as a ``datasets.Dataset`` (the form ``GRPOTrainer`` takes)."""
    from datasets import Dataset

    return Dataset.from_list(list(rows(names, seeds, difficulty)))


def _class_name(name: str) -> str:
    """``binary-search`` → ``BinarySearch`` (TRL logs the reward under the class's name)."""
    words = re.split(r"[^0-9A-Za-z]+", name)
    camel = "".join(word[:1].upper() + word[1:] for word in words if word)
    return camel if camel[:1].isalpha() else f"Env{camel}"


def _tool_method(env: str, tool: dict[str, Any]):
    """One tool as a method TRL can offer: its signature carries the argument types, its
    docstring the descriptions, so ``transformers.utils.get_json_schema`` recovers the schema."""
    name = tool["name"]
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") or name in _RESERVED:
        raise ValueError(f"{env}: tool `{name}` cannot be a Python method name, so TRL cannot offer it")
    schema = tool.get("parameters") or {}
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    parameters = [Parameter("self", Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    for arg, arg_schema in properties.items():
        if not arg.isidentifier():
            raise ValueError(f"{env}: argument `{arg}` of tool `{name}` is not a Python identifier")
        hint = _hint(arg_schema)
        annotations[arg] = hint
        default = Parameter.empty if arg in required else _UNSET
        parameters.append(_keyword_parameter(arg, default, hint))
    annotations["return"] = str

    def method(self: CodegymEnvironment, **arguments: Any) -> str:
        return self._call(name, arguments)

    method.__name__ = method.__qualname__ = name
    method.__signature__ = Signature(parameters, return_annotation=str)
    method.__annotations__ = annotations
    method.__doc__ = _docstring(tool, properties)
    return method


def _keyword_parameter(name: str, default: Any, hint: Any) -> Parameter:
    """A keyword-only parameter, also for a name Python reserves (``from``, ``in``): callers
    pass arguments as ``**arguments`` (as TRL does), where any identifier is fine, and the
    signature must name the argument as its schema does for TRL to derive the same schema.
    ``Parameter`` refuses keywords, so such a name is set after construction."""
    if not keyword.iskeyword(name):
        return Parameter(name, Parameter.KEYWORD_ONLY, default=default, annotation=hint)
    parameter = Parameter("_", Parameter.KEYWORD_ONLY, default=default, annotation=hint)
    object.__setattr__(parameter, "_name", name)
    return parameter


def _hint(schema: Any) -> Any:
    """The Python type whose JSON Schema (as transformers derives it) is ``schema``'s shape."""
    if not isinstance(schema, dict):
        return Any
    if "enum" in schema and schema["enum"]:
        return Literal[tuple(schema["enum"])]
    if "const" in schema:
        return Literal[schema["const"]]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _union([_hint(option) for option in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([_hint({**schema, "type": single}) for single in kind])
    if kind == "array":
        items = schema.get("items")
        return list if items is None else list[_hint(items)]
    if kind == "object":
        extra = schema.get("additionalProperties")
        return dict[str, _hint(extra)] if isinstance(extra, dict) else dict
    return _SCALARS.get(kind, Any)


_SCALARS = {"integer": int, "number": float, "string": str, "boolean": bool, "null": type(None)}


def _union(hints: list[Any]) -> Any:
    unique = list(dict.fromkeys(hints))
    return unique[0] if len(unique) == 1 else Union[tuple(unique)]


def _docstring(tool: dict[str, Any], properties: dict[str, Any]) -> str:
    """A Google-style docstring: the tool's description, then ``Args:`` (one line per argument,
    with the bounds a type hint cannot carry), then ``Returns:``."""
    lines = [_one_line(tool.get("description") or tool["name"])]
    if properties:
        lines += ["", "Args:"]
        for arg, arg_schema in properties.items():
            lines.append(f"    {arg}: {_describe(arg, arg_schema)}")
    lines += ["", "Returns:", "    The environment's reply."]
    return "\n".join(lines)


#: Schema keywords that constrain a value but have no type-hint form, said in words instead.
_BOUNDS = {
    "minimum": "at least {}",
    "maximum": "at most {}",
    "exclusiveMinimum": "more than {}",
    "exclusiveMaximum": "less than {}",
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "minItems": "at least {} items",
    "maxItems": "at most {} items",
}


def _describe(arg: str, schema: Any) -> str:
    schema = schema if isinstance(schema, dict) else {}
    text = _one_line(schema.get("description") or schema.get("title") or f"The `{arg}` argument.")
    bounds = [phrase.format(schema[key]) for key, phrase in _BOUNDS.items() if key in schema]
    if bounds:
        text = f"{text.rstrip('.')} ({', '.join(bounds)})."
    return text


def _one_line(text: str) -> str:
    """``text`` on one line: the ``Args:`` parser starts a new argument at a line that begins
    with ``word:``, so a description spanning lines could be split into a false argument."""
    return re.sub(r"\s+", " ", text).strip()
