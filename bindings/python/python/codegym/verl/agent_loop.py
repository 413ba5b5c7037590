"""verl's agent loop for CodeGym episodes, registered as ``codegym``.

One sample = one episode. verl's dataset row names the task in ``extra_info`` (``env``,
``seed``, ``difficulty`` and, as :mod:`codegym.verl.dataset` writes it, the task's
``config``); the loop makes that episode (in-process with :func:`codegym.make`, or as a
session of a ``codegym serve`` when ``base_url`` is set), renders the row's chat messages
with the tokenizer's chat template, and then, turn by turn:

1. asks verl's server manager for the next reply (token ids in, token ids out); those
   tokens are the policy's and get ``response_mask`` 1 (with their log-probs when the server
   returns them);
2. decodes the reply and steps the episode with it as raw model text
   (``{"text": reply, "format": format}``; a reply with no valid call is a parse-error turn
   whose observation is the parser's error);
3. unless the episode ended, appends the observation as a ``tool`` message: the chat
   template renders it, verl's Continuous Token builder takes only the new message's tokens
   (not the template's system prefix again), and they get ``response_mask`` 0.

It stops when the episode ends (``Done``, the step limit, a fatal fault), at verl's turn
limits (``actor_rollout_ref.rollout.multi_turn.max_assistant_turns`` / ``max_user_turns``)
or when the response would pass ``actor_rollout_ref.rollout.response_length``. The final
observation is not appended (the response ends on the policy's last tokens, where verl puts
the score). ``reward_score`` is the episode's return (1.0 when solved, else 0.0), so verl
needs no reward function for these rows.

Options (keys of this loop's entry in the agent loop config file; see ``agent_loop.yaml``):

- ``format``: how replies are parsed, ``hermes`` (default), ``codegym`` or ``openai-tools``;
- ``base_url``: a ``codegym serve`` to run the episodes on (default: in-process);
- ``env_dir``: the components' directory for in-process episodes (default
  ``$CODEGYM_ENVS``, else ``./target/envs``);
- ``limits``: the episode's limits, e.g. ``{max_steps: 64}``;
- ``tools_in_chat_template``: also pass the environment's tools to the chat template as
  OpenAI function schemas (default ``false``: the prompt's system message already lists
  them in the format's own syntax);
- ``max_observation_length``: observations longer than this many characters are cut (the
  side from ``multi_turn.tool_response_truncate_side``); default: verl's
  ``multi_turn.max_tool_response_length``; ``0``: never cut;
- ``client_timeout``: seconds per HTTP call to ``base_url`` (default 30).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

from omegaconf import DictConfig, ListConfig, OmegaConf
from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput, register
from verl.utils.rollout_trace import rollout_trace_op
from verl.workers.rollout.replica import TokenOutput

import codegym

from .dataset import AGENT_NAME

logger = logging.getLogger(__name__)
logger.setLevel(os.getenv("VERL_LOGGING_LEVEL", "WARN"))

__all__ = ["CodegymAgentLoop"]


def _plain(value: Any) -> Any:
    """A config value as plain Python (hydra hands nested YAML values over as DictConfig)."""
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _scalar(value: Any) -> Any:
    """A dataset value as plain Python (numpy scalars arrive from verl's batches)."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def _openai_tools(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Our tool specs as the OpenAI function schemas chat templates take."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
            },
        }
        for tool in tools
    ]


def _truncate(text: str, limit: int, side: str) -> str:
    """``text`` cut to ``limit`` characters the way verl's tool agent loop cuts tool output."""
    if limit <= 0 or len(text) <= limit:
        return text
    if side == "left":
        return "(truncated)..." + text[-limit:]
    if side == "right":
        return text[:limit] + "...(truncated)"
    half = limit // 2
    return text[:half] + "...(truncated)..." + text[-half:]


# One AsyncClient per server and event loop: verl makes an agent loop object per sample, and
# an httpx pool belongs to the loop it was made on (and goes with it).
_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, float], codegym.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def _client(base_url: str, timeout: float, format: str) -> codegym.AsyncClient:
    clients = _CLIENTS.setdefault(asyncio.get_running_loop(), {})
    client = clients.get((base_url, timeout))
    if client is None:
        client = clients[(base_url, timeout)] = codegym.AsyncClient(base_url, timeout=timeout, format=format)
    return client


class _Episode:
    """The sample's episode, in-process or on a server: start, step raw text, close."""

    def __init__(self, loop: CodegymAgentLoop, env: str, seed: int, difficulty: int, config: Any) -> None:
        self.owner = loop
        self.name, self.seed, self.difficulty, self.config = env, seed, difficulty, config
        self.local: codegym.Env | None = None
        self.session: codegym.AsyncSession | None = None
        self.tools: list[dict[str, Any]] = []

    async def start(self) -> None:
        owner = self.owner
        if owner.base_url:
            client = _client(owner.base_url, owner.client_timeout, owner.format)
            self.session = await client.make(
                self.name,
                seed=self.seed,
                difficulty=self.difficulty,
                config=self.config,
                limits=owner.limits,
                format=owner.format,
            )
            self.tools = list(self.session.tools)
            return

        def make() -> codegym.Env:
            env = codegym.make(
                self.name, seed=self.seed, difficulty=self.difficulty, env_dir=owner.env_dir, limits=owner.limits
            )
            env.reset(seed=self.seed, options={"config": self.config} if self.config is not None else None)
            return env

        # Loading a component can compile it (a cold cache): keep it off the event loop.
        self.local = await owner.loop.run_in_executor(None, make)
        self.tools = list(self.local.tools)

    def prompt(self) -> list[dict[str, Any]]:
        """The episode's own opening messages (for rows that carry no prompt)."""
        if self.local is None:
            raise ValueError("a row without a prompt needs an in-process episode to render one (no base_url)")
        return list(self.local.prompt(self.owner.format))

    async def step(self, text: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        action = {"text": text, "format": self.owner.format}
        if self.session is not None:
            observation, reward, terminated, truncated, info = await self.session.step(action)
            return observation, reward, terminated, truncated, dict(info)
        assert self.local is not None
        local = self.local
        # Steps are microseconds, but a hostile one may run to its time limit: off the loop.
        return await self.owner.loop.run_in_executor(None, local.step, action)

    async def close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            try:
                await session.close()
            except codegym.CodeGymError as error:
                logger.warning("closing codegym session %s: %s", session.id, error)
        if self.local is not None:
            self.local.close()
            self.local = None


@register(AGENT_NAME)
class CodegymAgentLoop(AgentLoopBase):
    """A CodeGym episode per sample; see the module's documentation."""

    def __init__(
        self,
        *args: Any,
        format: str = "hermes",
        base_url: str | None = None,
        env_dir: str | None = None,
        limits: Mapping[str, Any] | None = None,
        tools_in_chat_template: bool = False,
        max_observation_length: int | None = None,
        client_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        # `tools` (verl's own tool list) and `name` (this entry's) are no concern of ours.
        kwargs.pop("tools", None)
        kwargs.pop("name", None)
        super().__init__(*args, **kwargs)
        if format not in codegym.FORMATS:
            raise ValueError(f"codegym agent loop: unknown format {format!r}; use one of {', '.join(codegym.FORMATS)}")
        self.format = format
        self.base_url = base_url or None
        self.env_dir = env_dir or None
        self.limits = _plain(limits) or None
        self.tools_in_chat_template = bool(tools_in_chat_template)
        self.client_timeout = float(client_timeout)

        rollout = self.rollout_config
        multi_turn = rollout.get("multi_turn", None) or {}
        self.response_length = int(rollout.response_length)
        self.max_assistant_turns = multi_turn.get("max_assistant_turns", None)
        self.max_user_turns = multi_turn.get("max_user_turns", None)
        if max_observation_length is None:
            max_observation_length = multi_turn.get("max_tool_response_length", 0) or 0
        self.max_observation_length = int(max_observation_length)
        self.truncate_side = multi_turn.get("tool_response_truncate_side", "middle") or "middle"
        self.full_determinism = bool(rollout.get("full_determinism", False))

    @rollout_trace_op
    async def run(self, sampling_params: dict[str, Any], priority: int = 0, **kwargs: Any) -> AgentLoopOutput:
        extra_info = dict(_plain(kwargs.get("extra_info")) or {})
        if "env" not in extra_info:
            raise ValueError(
                "codegym agent loop: the row's extra_info names no `env` "
                "(write the dataset with `python -m codegym.verl.dataset`)"
            )
        episode = _Episode(
            self,
            str(extra_info["env"]),
            int(_scalar(extra_info.get("seed", 0))),
            int(_scalar(extra_info.get("difficulty", 50))),
            extra_info.get("config"),
        )
        await episode.start()
        try:
            return await self._play(episode, sampling_params, int(_scalar(priority)), kwargs)
        finally:
            await episode.close()

    async def _play(
        self, episode: _Episode, sampling_params: dict[str, Any], priority: int, kwargs: dict[str, Any]
    ) -> AgentLoopOutput:
        raw_prompt = kwargs.get("raw_prompt")
        if raw_prompt is not None and len(raw_prompt) > 0:
            messages = [{k: v for k, v in dict(m).items() if v is not None} for m in raw_prompt]
        else:
            messages = episode.prompt()
        tools = _openai_tools(episode.tools) if self.tools_in_chat_template else None

        metrics: dict[str, Any] = {"generate_sequences": 0.0, "tool_calls": 0.0, "num_preempted": -1}
        request_id = f"det-{priority}" if self.full_determinism else uuid4().hex
        prompt_ids = await self.ct_build_initial_tokens(messages, tools=tools)
        tokens = list(prompt_ids)  # the running sequence: prompt, then replies and observations
        response_mask: list[int] = []
        response_logprobs: list[float] = []  # kept while the server returns log-probs
        extra_fields: dict[str, Any] = {}

        assistant_turns = user_turns = parse_errors = 0
        episode_return = 0.0
        step_rewards: list[float] = []
        outcome: str | None = None
        env_steps = 0
        stop = "response_length"
        while True:
            budget = self.response_length - len(response_mask)
            params = dict(sampling_params)
            params["max_tokens"] = min(int(params.get("max_tokens") or budget), budget)
            started = time.perf_counter()
            output: TokenOutput = await self.server_manager.generate(
                request_id=request_id, prompt_ids=tokens, sampling_params=params
            )
            metrics["generate_sequences"] += time.perf_counter() - started
            if output.num_preempted is not None:
                metrics["num_preempted"] = max(metrics["num_preempted"], 0) + output.num_preempted
            if not extra_fields:
                extra_fields.update(output.extra_fields)
            elif output.extra_fields.get("max_global_steps") is not None:
                extra_fields["max_global_steps"] = output.extra_fields["max_global_steps"]
            if not output.token_ids:
                stop = "empty_reply"
                break
            assistant_turns += 1

            merged, response_mask, logprobs = await self.ct_merge_assistant_token(
                tokens,
                output.token_ids,
                response_mask,
                response_logprobs if (response_logprobs or output.log_probs) else None,
                assistant_logprobs=output.log_probs or None,
            )
            tokens = merged.token_ids
            response_logprobs = logprobs or []
            reply = self.tokenizer.decode(output.token_ids, skip_special_tokens=False)

            started = time.perf_counter()
            observation, reward, terminated, truncated, info = await episode.step(reply)
            metrics["tool_calls"] += time.perf_counter() - started
            episode_return += float(reward)
            step_rewards.append(float(reward))
            env_steps = int(info.get("steps", env_steps))
            if info.get("parse_error"):
                parse_errors += 1
            if terminated or truncated:
                outcome = info.get("outcome")
                stop = "episode_end"
                break
            if len(response_mask) >= self.response_length:
                break
            if self.max_assistant_turns and assistant_turns >= self.max_assistant_turns:
                stop = "max_assistant_turns"
                break
            if self.max_user_turns and user_turns >= self.max_user_turns:
                stop = "max_user_turns"
                break

            # The reply is in the tokens already; as a message it is only the context the
            # observation's rendering starts from (as in verl's tool agent loop).
            content = self.tokenizer.decode(output.token_ids, skip_special_tokens=True)
            messages.append({"role": "assistant", "content": content})
            previous = list(messages)
            messages.append(
                {"role": "tool", "content": _truncate(observation, self.max_observation_length, self.truncate_side)}
            )
            merged, mask, logprobs = await self.ct_merge_context_msg(
                previous, messages, tokens, response_mask, response_logprobs or None, tools=tools
            )
            if len(mask) >= self.response_length:
                break  # the observation does not fit: the response ends on the reply
            tokens, response_mask, response_logprobs = merged.token_ids, mask, logprobs or []
            user_turns += 1

        response_ids = tokens[len(tokens) - len(response_mask) :] if response_mask else []
        prompt_ids = tokens[: len(tokens) - len(response_mask)]
        extra_fields.update(
            {
                "turn_scores": step_rewards,
                "tool_rewards": [],
                "codegym": {
                    "env": episode.name,
                    "seed": episode.seed,
                    "difficulty": episode.difficulty,
                    "outcome": outcome,
                    "stop": stop,
                    "env_steps": env_steps,
                    "parse_errors": parse_errors,
                    "assistant_turns": assistant_turns,
                },
            }
        )
        return AgentLoopOutput(
            prompt_ids=prompt_ids,
            response_ids=response_ids[: self.response_length],
            response_mask=response_mask[: self.response_length],
            response_logprobs=response_logprobs[: self.response_length] if response_logprobs else None,
            reward_score=episode_return,
            num_turns=assistant_turns + user_turns + 1,
            metrics=metrics,
            extra_fields=extra_fields,
        )
