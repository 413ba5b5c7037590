"""The `codegym` agent loop run with verl's own classes (AgentLoopBase, the Continuous Token
builder, hydra instantiation from our agent loop config, TokenOutput) against a scripted
stand-in for verl's server manager (helpers.ScriptedServerManager: a test double, as there
is no GPU or LLM here) and a real tokenizer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import codegym
import codegym.verl

from .helpers import (
    ScriptedServerManager,
    hermes,
    make_loop,
    oracle_policy,
    replay_observations,
    replies,
    row,
    run_loop,
    segments,
    trainer_config,
)

ENV = "binary-search"


def play(model_dir: Path, tokenizer: Any, policy: Any, sample: dict[str, Any], rollout: dict[str, Any] | None = None,
         log_probs: bool = False, **options: Any) -> tuple[Any, ScriptedServerManager, Any]:
    config = trainer_config(model_dir, **(rollout or {}))
    server = ScriptedServerManager(tokenizer, policy, log_probs=log_probs)
    output = asyncio.run(run_loop(config, server, tokenizer, sample, **options))
    return output, server, config


def tool_turn(observation: str) -> str:
    """An observation as the chat template renders a tool message after an assistant turn
    (the newline that ends the assistant's turn included), up to the next generation prompt."""
    return f"\n<|im_start|>user\n<tool_response>\n{observation}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"


def check_layout(output: Any, server: ScriptedServerManager, tokenizer: Any, observations: list[str]) -> None:
    """The response is the server's replies (mask 1) with the observations between them
    (mask 0), token for token; each request continued the sequence so far."""
    mask, ids = output.response_mask, output.response_ids
    assert len(mask) == len(ids)
    runs = list(segments(mask))
    assert [value for value, _, _ in runs] == [1, 0] * (len(server.calls) - 1) + [1]
    for turn, call in enumerate(server.calls):
        _, start, stop = runs[2 * turn]
        assert ids[start:stop] == call.token_ids, f"reply {turn} is not the tokens the server returned"
        if turn + 1 < len(server.calls):
            _, obs_start, obs_stop = runs[2 * turn + 1]
            assert tokenizer.decode(ids[obs_start:obs_stop], skip_special_tokens=False) == tool_turn(observations[turn])
            # The next request is the whole sequence so far: token in, token out.
            assert server.calls[turn + 1].prompt_ids == output.prompt_ids + ids[:obs_stop]
            assert server.calls[turn + 1].observation == observations[turn]
    assert server.calls[0].prompt_ids == output.prompt_ids


def test_oracle_episode_scores_one(model_dir: Path, tokenizer: Any) -> None:
    sample = row(ENV, seed=3)
    output, server, config = play(model_dir, tokenizer, oracle_policy(ENV, 3), sample)

    # The prompt is the row's messages through the chat template.
    expected_prompt = tokenizer.apply_chat_template(sample["prompt"], tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(output.prompt_ids, skip_special_tokens=False) == expected_prompt

    texts = [tokenizer.decode(call.token_ids, skip_special_tokens=False) for call in server.calls]
    observations = replay_observations(ENV, 3, texts)
    check_layout(output, server, tokenizer, observations)

    # Prompt + response is exactly the chat template's rendering of the whole conversation.
    conversation = list(sample["prompt"])
    for turn, call in enumerate(server.calls):
        conversation.append({"role": "assistant", "content": tokenizer.decode(call.token_ids, skip_special_tokens=True)})
        if turn + 1 < len(server.calls):
            conversation.append({"role": "tool", "content": observations[turn]})
    rendered = tokenizer.apply_chat_template(conversation, tokenize=False)
    whole = tokenizer.decode(output.prompt_ids + output.response_ids, skip_special_tokens=False)
    assert whole + "\n" == rendered

    assert output.reward_score == 1.0
    info = output.extra_fields["codegym"]
    assert info["outcome"] == "solved" and info["stop"] == "episode_end"
    assert info["parse_errors"] == 0 and info["env_steps"] == len(server.calls)
    assert output.num_turns == 2 * len(server.calls)  # the prompt, n replies, n - 1 observations
    assert output.extra_fields["turn_scores"] == [0.0] * (len(server.calls) - 1) + [1.0]
    assert output.response_logprobs is None
    # Each request may use what is left of the response budget, and no more.
    for turn, call in enumerate(server.calls):
        used = len(server.calls[turn].prompt_ids) - len(output.prompt_ids)
        assert call.sampling_params["max_tokens"] == config.actor_rollout_ref.rollout.response_length - used
    assert len({call.request_id for call in server.calls}) == 1  # one sticky session per episode


def test_wrong_answer_scores_zero(model_dir: Path, tokenizer: Any) -> None:
    # The oracle's final call, with another answer.
    reference = codegym.make(ENV, seed=4)
    task, _ = reference.reset()
    oracle, observation, last = reference.oracle(), "", None
    while (call := oracle.next(observation)) is not None:
        last = call
        observation, _, terminated, truncated, _ = reference.step(call)
        if terminated or truncated:
            break
    assert last is not None and last["name"] == "Done"
    wrong = dict(json.loads(last["arguments"]))
    wrong["answer"] = wrong["answer"] + 1
    output, server, _ = play(model_dir, tokenizer, replies(hermes({"name": "Done", "arguments": wrong})), row(ENV, 4))

    assert output.reward_score == 0.0
    assert output.extra_fields["codegym"]["outcome"] == "wrong_answer"
    assert len(server.calls) == 1
    # The episode ended on the reply: no observation follows it, every token is the policy's.
    assert output.response_mask == [1] * len(server.calls[0].token_ids)
    assert output.response_ids == server.calls[0].token_ids
    assert output.num_turns == 2


@pytest.mark.parametrize("limit", ["multi_turn.max_assistant_turns", "multi_turn.max_user_turns"])
def test_turn_limit_truncates(model_dir: Path, tokenizer: Any, limit: str) -> None:
    seed = 5
    value = 2 if limit.endswith("assistant_turns") else 1
    output, server, _ = play(model_dir, tokenizer, oracle_policy(ENV, seed), row(ENV, seed), rollout={limit: value})

    assert len(server.calls) == 2  # the oracle needs more: binary search over dozens of items
    assert [v for v, _, _ in segments(output.response_mask)] == [1, 0, 1]
    assert output.reward_score == 0.0
    info = output.extra_fields["codegym"]
    assert info["outcome"] is None
    assert info["stop"] == ("max_assistant_turns" if value == 2 else "max_user_turns")
    assert info["env_steps"] == 2  # the last reply was still stepped
    assert output.num_turns == 4


def test_malformed_reply_is_a_parse_error_turn(model_dir: Path, tokenizer: Any) -> None:
    seed = 6
    garbage = "I would look at the middle element first."
    output, server, _ = play(model_dir, tokenizer, oracle_policy(ENV, seed, before=[garbage]), row(ENV, seed))

    texts = [tokenizer.decode(call.token_ids, skip_special_tokens=False) for call in server.calls]
    observations = replay_observations(ENV, seed, texts)
    assert "tool call" in observations[0].lower()  # the parser's error, shown to the policy
    check_layout(output, server, tokenizer, observations)
    assert server.calls[1].observation == observations[0]

    info = output.extra_fields["codegym"]
    assert info["parse_errors"] == 1
    assert info["env_steps"] == len(server.calls) - 1  # the environment never saw the bad reply
    assert output.reward_score == 1.0 and info["outcome"] == "solved"


def test_long_observations_are_cut(model_dir: Path, tokenizer: Any) -> None:
    seed = 6
    garbage = "no call here"
    error = replay_observations(ENV, seed, [garbage])[0]
    assert len(error) > 40
    output, server, _ = play(
        model_dir, tokenizer, oracle_policy(ENV, seed, before=[garbage]), row(ENV, seed), max_observation_length=40
    )
    assert server.calls[1].observation == error[:20] + "...(truncated)..." + error[-20:]
    assert output.reward_score == 1.0  # the oracle's observations are short: never cut


def test_response_length_bounds_the_episode(model_dir: Path, tokenizer: Any) -> None:
    seed = 7
    budget = 60
    output, server, _ = play(
        model_dir, tokenizer, oracle_policy(ENV, seed), row(ENV, seed), rollout={"response_length": budget}
    )
    assert 0 < len(output.response_ids) <= budget and len(output.response_mask) == len(output.response_ids)
    assert output.reward_score == 0.0
    assert output.extra_fields["codegym"]["stop"] == "response_length"
    for call in server.calls:
        used = len(call.prompt_ids) - len(output.prompt_ids)
        assert call.sampling_params["max_tokens"] == budget - used > 0
    # An observation that would not fit is left out: the response ends on a reply.
    assert output.response_mask[-1] == 1


def test_log_probs_follow_the_generated_tokens(model_dir: Path, tokenizer: Any) -> None:
    seed = 8
    output, server, _ = play(model_dir, tokenizer, oracle_policy(ENV, seed), row(ENV, seed), log_probs=True)
    assert output.response_logprobs is not None
    assert len(output.response_logprobs) == len(output.response_mask)
    generated = [lp for lp, m in zip(output.response_logprobs, output.response_mask) if m == 1]
    assert generated == [lp for call in server.calls for lp in call.log_probs]
    assert all(lp == 0.0 for lp, m in zip(output.response_logprobs, output.response_mask) if m == 0)


def test_tools_in_chat_template(model_dir: Path, tokenizer: Any) -> None:
    seed = 9
    sample = row(ENV, seed)
    output, _, _ = play(model_dir, tokenizer, oracle_policy(ENV, seed), sample, tools_in_chat_template=True)
    env = codegym.make(ENV, seed=seed)
    tools = [
        {"type": "function", "function": {"name": t["name"], "description": t["description"], "parameters": t["parameters"]}}
        for t in env.tools
    ]
    expected = tokenizer.apply_chat_template(sample["prompt"], tools=tools, tokenize=False, add_generation_prompt=True)
    prompt = tokenizer.decode(output.prompt_ids, skip_special_tokens=False)
    assert prompt == expected and "<tools>" in prompt and '"name": "Get"' in prompt
    assert output.reward_score == 1.0


def test_row_without_prompt_uses_the_episode_prompt(model_dir: Path, tokenizer: Any) -> None:
    seed = 10
    sample = dict(row(ENV, seed), prompt=[])
    output, _, _ = play(model_dir, tokenizer, oracle_policy(ENV, seed), sample)
    env = codegym.make(ENV, seed=seed)
    env.reset()
    expected = tokenizer.apply_chat_template(env.prompt("hermes"), tokenize=False, add_generation_prompt=True)
    assert tokenizer.decode(output.prompt_ids, skip_special_tokens=False) == expected
    assert output.reward_score == 1.0


def test_bad_rows_and_options(model_dir: Path, tokenizer: Any) -> None:
    config = trainer_config(model_dir)
    server = ScriptedServerManager(tokenizer, replies())
    sample = dict(row(ENV, 0), extra_info={"seed": 0})
    with pytest.raises(ValueError, match="names no `env`"):
        asyncio.run(run_loop(config, server, tokenizer, sample))
    sample = dict(row(ENV, 0), extra_info={"env": "no-such-env", "seed": 0})
    with pytest.raises(codegym.UnknownEnvError, match="no-such-env"):
        asyncio.run(run_loop(config, server, tokenizer, sample))
    # hydra wraps what the constructor raises in its own InstantiationException.
    with pytest.raises(Exception, match="unknown format 'xml'"):

        async def make() -> None:
            make_loop(config, server, tokenizer, format="xml")

        asyncio.run(make())
    assert server.calls == []


def test_remote_episode_matches_local(model_dir: Path, tokenizer: Any, server_url: str) -> None:
    seed = 11
    local, _, _ = play(model_dir, tokenizer, oracle_policy(ENV, seed), row(ENV, seed))
    remote, server, _ = play(model_dir, tokenizer, oracle_policy(ENV, seed), row(ENV, seed), base_url=server_url)
    assert remote.reward_score == 1.0
    assert remote.response_ids == local.response_ids and remote.response_mask == local.response_mask
    assert remote.extra_fields["codegym"] == local.extra_fields["codegym"]
    with codegym.Client(server_url) as client:  # the loop closed its session
        live = [line for line in client.metrics().splitlines() if line.startswith("codegym_sessions_live")]
        assert live == ["codegym_sessions_live 0"]
