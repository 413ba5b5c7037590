"""What the verl tests share: verl's trainer config, a scripted stand-in for verl's server
manager, scripted policies, and the agent loop made the way verl's worker makes it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
import verl
from omegaconf import DictConfig, OmegaConf
from verl.experimental.agent_loop.agent_loop import DictConfigWrap, ToolListWrap
from verl.utils.dataset.rl_dataset import RLHFDataset
from verl.workers.rollout.replica import TokenOutput

import codegym
import codegym.verl

# The tool turn just before the generation prompt holds the observation the policy was shown.
OBSERVATION_OPEN = "<|im_start|>user\n<tool_response>\n"
OBSERVATION_CLOSE = "\n</tool_response><|im_end|>\n<|im_start|>assistant\n"


def last_observation(text: str) -> str:
    """The observation ``text`` (a decoded prompt) ends with, ``""`` if none."""
    if OBSERVATION_OPEN not in text or not text.endswith(OBSERVATION_CLOSE):
        return ""
    return text.rsplit(OBSERVATION_OPEN, 1)[1][: -len(OBSERVATION_CLOSE)]


def trainer_config(model_dir: Path, **rollout: Any) -> DictConfig:
    """verl's own PPO trainer config (the generated defaults verl ships), pointed at the
    test model and at our agent loop config; ``rollout`` overrides keys of
    ``actor_rollout_ref.rollout`` (dotted, e.g. ``multi_turn.max_assistant_turns=2``)."""
    config = OmegaConf.load(Path(verl.__file__).parent / "trainer/config/_generated_ppo_trainer.yaml")
    config.actor_rollout_ref.model.path = str(model_dir)
    config.actor_rollout_ref.rollout.name = "vllm"
    config.actor_rollout_ref.rollout.agent.agent_loop_config_path = codegym.verl.agent_loop_config_path()
    config.data.max_prompt_length = 4096
    config.data.max_response_length = 2048
    for key, value in rollout.items():
        OmegaConf.update(config, f"actor_rollout_ref.rollout.{key}", value)
    return config


def hermes(call: dict[str, Any]) -> str:
    """A tool call as a Hermes-style model writes it."""
    arguments = call["arguments"]
    if isinstance(arguments, str):
        arguments = json.loads(arguments)
    return "<tool_call>\n" + json.dumps({"name": call["name"], "arguments": arguments}) + "\n</tool_call>"


Policy = Callable[[str], str]
"""The text of the next reply, given the last observation (``""`` before the first)."""


def oracle_policy(env: str, seed: int, difficulty: int = 50, *, before: list[str] | None = None) -> Policy:
    """The environment's oracle (in a sandbox of its own, seeing only the observations the
    policy is shown), its calls written as Hermes text; ``before``: replies sent first."""
    reference = codegym.make(env, seed=seed, difficulty=difficulty)
    reference.reset()
    oracle = reference.oracle()
    queued = list(before or [])
    started = False

    def policy(observation: str) -> str:
        nonlocal started
        if queued:
            return queued.pop(0)
        call = oracle.next(observation if started else "")
        started = True
        assert call is not None, "the oracle stopped before the episode ended"
        return hermes(call)

    return policy


def replies(*texts: str) -> Policy:
    queued = list(texts)

    def policy(observation: str) -> str:
        assert queued, "the scripted policy ran out of replies"
        return queued.pop(0)

    return policy


@dataclass
class Call:
    prompt_ids: list[int]
    sampling_params: dict[str, Any]
    request_id: str
    observation: str
    token_ids: list[int]
    log_probs: list[float] | None


class ScriptedServerManager:
    """TEST DOUBLE for verl's server manager (``LLMServerClient``): there is no GPU or LLM
    here, so a scripted policy writes each reply. It has the real ``generate`` signature,
    sees only token ids (it decodes the prompt to find the last observation, as a model
    would read it), tokenizes its reply with the real tokenizer, ends it with ``<|im_end|>``
    like a chat model stopping, honours ``max_tokens``, and returns verl's ``TokenOutput``.
    (A plain class: hydra, which makes the agent loop, would turn a dataclass into a config.)"""

    def __init__(self, tokenizer: Any, policy: Policy, log_probs: bool = False) -> None:
        self.tokenizer = tokenizer
        self.policy = policy
        self.log_probs = log_probs
        self.calls: list[Call] = []

    async def generate(
        self,
        request_id: str,
        *,
        prompt_ids: list[int],
        sampling_params: dict[str, Any],
        image_data: Any = None,
        video_data: Any = None,
        audio_data: Any = None,
        mm_processor_kwargs: Any = None,
        **kwargs: Any,
    ) -> TokenOutput:
        text = self.tokenizer.decode(prompt_ids, skip_special_tokens=False)
        observation = last_observation(text)
        reply = self.policy(observation)
        token_ids = self.tokenizer.encode(reply, add_special_tokens=False) + [self.tokenizer.eos_token_id]
        token_ids = token_ids[: int(sampling_params.get("max_tokens", len(token_ids)))]
        # Distinct per token, so a test can tell where each one landed.
        log_probs = [-(len(self.calls) + 1) - i / 1000 for i in range(len(token_ids))] if self.log_probs else None
        self.calls.append(
            Call(list(prompt_ids), dict(sampling_params), request_id, observation, token_ids, log_probs)
        )
        return TokenOutput(token_ids=token_ids, log_probs=log_probs, stop_reason="completed", num_preempted=0)


def make_loop(config: DictConfig, server: Any, tokenizer: Any, **options: Any) -> Any:
    """Our agent loop as verl's ``AgentLoopWorker._run_agent_loop`` makes it: the entry of
    the agent loop config file, instantiated by hydra with the worker's arguments;
    ``options`` override the entry's keys."""
    (entry,) = OmegaConf.load(config.actor_rollout_ref.rollout.agent.agent_loop_config_path)
    assert entry.name == "codegym"
    entry = OmegaConf.merge(entry, options)
    return hydra.utils.instantiate(
        config=entry,
        trainer_config=DictConfigWrap(config=config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        hf_model_type="qwen2",
        dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(config.data),
        tools=ToolListWrap([]),
    )


def row(env: str, seed: int, difficulty: int = 50, **kwargs: Any) -> dict[str, Any]:
    """The row the dataset converter writes for one task."""
    (one,) = codegym.verl.make_rows([env], [seed], difficulty, **kwargs)
    return one


async def run_loop(config: DictConfig, server: Any, tokenizer: Any, sample: dict[str, Any], **options: Any) -> Any:
    loop = make_loop(config, server, tokenizer, **options)
    sampling_params = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "repetition_penalty": 1.0, "logprobs": False}
    return await loop.run(
        sampling_params,
        raw_prompt=sample["prompt"],
        extra_info=sample["extra_info"],
        index=sample["extra_info"].get("index", 0),
        data_source=sample["data_source"],
        reward_model=sample["reward_model"],
        tools_kwargs={},
        interaction_kwargs={},
    )


def segments(mask: list[int]) -> Iterator[tuple[int, int, int]]:
    """``(value, start, stop)`` for each run of equal values in ``mask``."""
    start = 0
    for i in range(1, len(mask) + 1):
        if i == len(mask) or mask[i] != mask[start]:
            yield mask[start], start, i
            start = i


def replay_observations(env: str, seed: int, texts: list[str], difficulty: int = 50) -> list[str]:
    """The observations a fresh episode answers ``texts`` (raw Hermes replies) with."""
    episode = codegym.make(env, seed=seed, difficulty=difficulty)
    episode.reset()
    return [episode.step({"text": text, "format": "hermes"})[0] for text in texts]
