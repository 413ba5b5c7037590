"""``codegym.trl`` against the released TRL and transformers: the generated methods carry the
schemas TRL derives, calls through them reach the sandboxed episode, and a real
``GRPOTrainer`` step runs through the factory (a tiny randomly initialised model on CPU)."""

from __future__ import annotations

import json
import os

import pytest
import torch
from transformers.utils import get_json_schema

import codegym
import codegym.trl

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def _shape(schema: dict) -> dict:
    """What a schema says about a value's shape: its types (``null`` among them when it may be
    absent), its items' shape and its allowed values. Bounds and formats are left out: a type
    hint cannot carry them (``codegym.trl`` writes them into the argument's description)."""
    if "anyOf" in schema or "oneOf" in schema:
        options = [_shape(option) for option in schema.get("anyOf") or schema.get("oneOf")]
        types = sorted({kind for option in options for kind in option["types"]})
        items = [option["items"] for option in options if option.get("items")]
        return {"types": types, "items": items[0] if items else None, "enum": None}
    kind = schema.get("type", [])
    types = set(kind if isinstance(kind, list) else [kind])
    if schema.get("nullable"):
        types.add("null")
    if "enum" in schema:
        types = {_json_type(value) for value in schema["enum"]} | types
    items = _shape(schema["items"]) if isinstance(schema.get("items"), dict) else None
    return {"types": sorted(types), "items": items, "enum": schema.get("enum")}


def _json_type(value) -> str:
    return {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}[type(value)]


def test_every_tool_of_every_environment_has_the_schema_trl_derives(envs):
    names = codegym.list_envs(env_dir=str(envs))
    assert len(names) >= 50, names
    checked = 0
    for name in names:
        cls = codegym.trl.environment_class(name, env_dir=envs)
        instance = cls()
        tools = codegym.make(name, env_dir=str(envs)).tools
        methods = {
            member
            for member in dir(type(instance))
            if callable(getattr(type(instance), member)) and not member.startswith("_")
        }
        # TRL offers every public method but reset and get_reward to the model: exactly the tools.
        assert methods - {"reset", "get_reward"} == {tool["name"] for tool in tools}, name
        for tool in tools:
            derived = get_json_schema(getattr(instance, tool["name"]))["function"]
            assert derived["name"] == tool["name"]
            assert derived["description"] == " ".join(tool["description"].split())
            ours = tool["parameters"]
            params = derived["parameters"]
            assert set(params["properties"]) == set(ours.get("properties", {})), (name, tool["name"])
            assert set(params.get("required", [])) == set(ours.get("required", [])), (name, tool["name"])
            for arg, arg_schema in ours.get("properties", {}).items():
                theirs = params["properties"][arg]
                assert _shape(theirs) == _shape(arg_schema), (name, tool["name"], arg, theirs, arg_schema)
                if arg_schema.get("description"):
                    assert theirs["description"].startswith(" ".join(arg_schema["description"].split()).rstrip("."))
            checked += 1
    assert checked >= 150, checked


def _play_oracle(instance, env) -> float:
    """Play the environment's own oracle through the generated methods, with its arguments
    parsed from JSON as TRL parses a model's call."""
    oracle = env.oracle()
    observation = ""
    while (call := oracle.next(observation)) is not None:
        arguments = json.loads(call["arguments"]) if isinstance(call["arguments"], str) else call["arguments"]
        observation = getattr(instance, call["name"])(**arguments)
        assert isinstance(observation, str)
    return instance.get_reward()


@pytest.mark.parametrize("name", ["binary-search", "two-sum", "edit-distance", "number-of-islands", "knapsack"])
def test_the_oracle_through_the_methods_earns_reward_one(envs, name):
    cls = codegym.trl.environment_class(name, env_dir=envs)
    instance = cls()
    for seed in (3, 4):
        task = instance.reset(seed=seed, difficulty=50, prompt=[{"role": "user", "content": ""}])
        reference = codegym.make(name, seed=seed, env_dir=str(envs))
        assert task == reference.reset(seed=seed)[0]
        assert instance.get_reward() == 0.0
        assert _play_oracle(instance, reference) == 1.0
        # What was played is an episode of the real environment: it replays byte for byte.
        trajectory = instance._trajectory()
        assert trajectory["seed"] == seed
        assert codegym.replay(trajectory, env_dir=str(envs))
        with pytest.raises(codegym.trl.EpisodeOver, match="episode is over"):
            getattr(instance, next(iter(t["name"] for t in reference.tools)))()


def test_a_wrong_answer_scores_zero_and_bad_arguments_are_observations(envs):
    instance = codegym.trl.environment_class("binary-search", env_dir=envs)()
    with pytest.raises(codegym.trl.EpisodeOver, match="reset"):
        instance.Get(index=0)
    instance.reset(seed=11)
    # A call the environment refuses is its reply, as the model would see it; the episode goes on.
    refused = instance.Get(index="not a number")
    assert "index" in refused.lower() or "invalid" in refused.lower(), refused
    assert instance.get_reward() == 0.0
    assert instance.Get(index=0).strip().lstrip("-").isdigit()
    instance.Done(answer=10**12)
    assert instance.get_reward() == 0.0
    with pytest.raises(codegym.trl.EpisodeOver):
        instance.Get(index=0)


def test_rows_route_to_their_environments(envs):
    names = ["binary-search", "two-sum"]
    rows = list(codegym.trl.rows(names, seeds=range(3), difficulty=20))
    assert [(row["environment"], row["seed"]) for row in rows] == [(n, s) for s in range(3) for n in names]
    assert all(row["difficulty"] == 20 and row["prompt"][-1]["role"] == "user" for row in rows)
    factories = codegym.trl.environment_factories(names, env_dir=envs)
    assert set(factories) == set(names)
    for row in rows:
        env = factories[row["environment"]]()
        # TRL passes every column but `environment` to reset in multi-environment mode.
        task = env.reset(**{k: v for k, v in row.items() if k != "environment"})
        assert task == codegym.make(row["environment"], env_dir=str(envs)).reset(seed=row["seed"], options={"difficulty": 20})[0]
    with pytest.raises(codegym.UnknownEnvError):
        codegym.trl.environment_class("no-such-env", env_dir=envs)
    with pytest.raises(ValueError, match="difficulty"):
        list(codegym.trl.rows(names, seeds=[0], difficulty=101))


#: The one call the trainer test's model is taught to make, and its token form.
TAUGHT_CALL = {"name": "Get", "arguments": {"index": 0}}
TAUGHT_REPLY = '<tool_call>\n{"name": "Get", "arguments": {"index": 0}}\n</tool_call><|im_end|>'


def _teach(model, tokenizer, prompts: list[list[int]], steps: int = 300) -> float:
    """Fit ``model`` to answer each prompt with ``TAUGHT_REPLY`` (cross-entropy on the reply's
    tokens only), so that its samples call a tool; the last loss."""
    reply = tokenizer(TAUGHT_REPLY, add_special_tokens=False)["input_ids"]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(steps):
        prompt = prompts[step % len(prompts)]
        ids = torch.tensor([prompt + reply])
        labels = ids.clone()
        labels[0, : len(prompt)] = -100
        loss = model(input_ids=ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def test_one_grpo_step_through_the_factory_calls_tools_in_the_episodes(envs, qwen_tokenizer, tmp_path):
    """A real ``GRPOTrainer`` step on CPU: TRL probes the classes, renders their tools into
    Qwen2.5's template, resets one environment per rollout from the dataset's rows, parses the
    model's tool calls and calls the methods, which step the sandboxed episodes, and scores the
    rollouts with ``get_reward``. The model is tiny and randomly initialised, then taught one
    reply (a ``Get`` call) so that its samples do call a tool."""
    from transformers import Qwen2Config, Qwen2ForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    from .conftest import TRL_ENVS

    tokenizer = qwen_tokenizer
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(
        Qwen2Config(
            vocab_size=len(tokenizer),
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )
    names = list(TRL_ENVS)
    factories = codegym.trl.environment_factories(names, env_dir=envs)
    trainer = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        args=GRPOConfig(
            output_dir=str(tmp_path),
            max_steps=1,
            per_device_train_batch_size=4,
            num_generations=2,
            max_completion_length=96,
            max_tool_calling_iterations=2,
            # Near-greedy samples: the taught reply, token for token.
            temperature=0.1,
            learning_rate=1e-3,
            use_cpu=True,
            report_to=[],
            logging_steps=1,
            save_strategy="no",
            seed=0,
        ),
        train_dataset=codegym.trl.dataset(names, seeds=range(2)),
        environment_factory=factories,
    )
    # The prompts exactly as TRL renders them (its template, the environment's tools, the task
    # appended to the row's empty user turn), for teaching the model its reply.
    prompts = []
    for name in names:
        instance = factories[name]()
        for seed in range(2):
            encoded = tokenizer.apply_chat_template(
                [{"role": "user", "content": instance.reset(seed=seed)}],
                tools=trainer._env_tools[name],
                chat_template=trainer.chat_template,
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
            )
            prompts.append(list(encoded["input_ids"]))
    assert _teach(model, tokenizer, prompts) < 0.05

    # TRL found the tools on the classes: every tool of both environments is offered.
    offered = {tool.__name__ for tool in trainer.tools}
    expected = {tool["name"] for name in names for tool in codegym.make(name, env_dir=str(envs)).tools}
    assert offered == expected
    trainer.train()
    assert trainer.state.global_step == 1
    logged = {key: value for entry in trainer.state.log_history for key, value in entry.items()}
    # The environments' own reward source, logged under each class's name.
    assert {"rewards/BinarySearch/mean", "rewards/TwoSum/mean"} <= set(logged), sorted(logged)
    # The model's calls reached the sandboxed episodes, each reset on its row's seed.
    searches = [env for env in trainer._environment_pool["binary-search"] if env._started]
    assert searches
    for env in searches:
        trajectory = env._trajectory()
        assert trajectory["seed"] in range(2)
        calls = [step["call"] for step in trajectory["steps"]]
        assert calls and all(call["name"] == "Get" for call in calls), trajectory["steps"]
        assert codegym.replay(trajectory, env_dir=str(envs))
