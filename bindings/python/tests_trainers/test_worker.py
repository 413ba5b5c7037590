"""From our parquet to verl's training batch: rows read by verl's RLHFDataset, batched by its
collate_fn, rolled out by verl's AgentLoopWorker (which loads our agent loop config from
``agent_loop_config_path`` and picks the loop by the rows' ``agent_name``), against the
scripted server manager (a test double: no GPU or LLM here)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import torch
from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
from verl.protocol import DataProto
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn
from verl.workers.rollout.replica import TokenOutput

import codegym
import codegym.verl

from .helpers import ScriptedServerManager, hermes, oracle_policy, replies, trainer_config

ENV = "binary-search"


class RoutingServer:
    """TEST DOUBLE for verl's server manager serving several episodes at once: each request
    id gets the scripted policy of the task its first prompt states."""

    def __init__(self, tokenizer: Any, policies: dict[str, Any]) -> None:
        self.tokenizer = tokenizer
        self.policies = policies
        self.servers: dict[str, ScriptedServerManager] = {}

    async def generate(self, request_id: str, *, prompt_ids: list[int], sampling_params: dict[str, Any],
                       **kwargs: Any) -> TokenOutput:
        if request_id not in self.servers:
            text = self.tokenizer.decode(prompt_ids, skip_special_tokens=False)
            (task,) = [task for task in self.policies if task in text]
            self.servers[request_id] = ScriptedServerManager(self.tokenizer, self.policies[task])
        return await self.servers[request_id].generate(
            request_id, prompt_ids=prompt_ids, sampling_params=sampling_params, **kwargs
        )


def test_worker_rolls_out_our_rows(model_dir: Path, tokenizer: Any, tmp_path: Path) -> None:
    rows = codegym.verl.make_rows([ENV], [20, 21], "medium")
    path = codegym.verl.write_rows(rows, tmp_path / "train.parquet")
    config = trainer_config(model_dir)
    dataset = RLHFDataset(str(path), tokenizer, config.data)
    assert len(dataset) == 2

    # Seed 20 is played by its oracle, seed 21 answers at once (and wrongly: -7 is no index).
    tasks = [sample["prompt"][-1]["content"] for sample in rows]
    policies = {
        tasks[0]: oracle_policy(ENV, 20),
        tasks[1]: replies(hermes({"name": "Done", "arguments": {"answer": -7}})),
    }
    server = RoutingServer(tokenizer, policies)
    batch = DataProto.from_single_dict(collate_fn([dataset[0], dataset[1]]))

    async def rollout() -> DataProto:
        worker = AgentLoopWorker(config, llm_client=server)
        return await worker.generate_sequences(batch)

    output = asyncio.run(rollout())

    scores = output.batch["rm_scores"]
    assert scores.sum(dim=1).tolist() == [1.0, 0.0]
    prompt_width = output.batch["prompts"].shape[1]
    response_attention = output.batch["attention_mask"][:, prompt_width:]
    # verl puts the score on the last token of the response.
    last = response_attention.sum(dim=1) - 1
    assert scores[0, last[0]] == 1.0 and torch.count_nonzero(scores[0]) == 1

    by_task = {}
    for request, scripted in server.servers.items():
        text = tokenizer.decode(scripted.calls[0].prompt_ids, skip_special_tokens=False)
        by_task[next(i for i, task in enumerate(tasks) if task in text)] = scripted
    for i in range(2):
        generated = sum(len(call.token_ids) for call in by_task[i].calls)
        assert int(output.batch["response_mask"][i].sum()) == generated
    # The wrong answer: one reply, every response token the policy's.
    assert int(response_attention[1].sum()) == len(by_task[1].calls[0].token_ids)
    assert output.non_tensor_batch["__num_turns__"].tolist() == [2 * len(by_task[0].calls), 2]
    outcomes = [fields["outcome"] for fields in output.non_tensor_batch["codegym"]]
    assert outcomes == ["solved", "wrong_answer"]
    assert [info["seed"] for info in output.non_tensor_batch["extra_info"]] == [20, 21]
