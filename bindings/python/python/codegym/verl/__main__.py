"""``python -m codegym.verl``: the path of the agent loop config and the trainer overrides
that select the ``codegym`` agent loop."""

from __future__ import annotations

import sys

from . import agent_loop_config_path


def main() -> int:
    path = agent_loop_config_path()
    if "--path" in sys.argv[1:]:
        print(path)
        return 0
    print(
        f"""# The agent loop config shipped with codegym:
{path}

# verl trainer overrides (python -m verl.trainer.main_ppo ...):
actor_rollout_ref.rollout.agent.agent_loop_config_path={path}
actor_rollout_ref.rollout.multi_turn.max_assistant_turns=64
actor_rollout_ref.rollout.multi_turn.max_tool_response_length=2048
data.max_prompt_length=2048          # rollout.prompt_length follows it
data.max_response_length=8192        # rollout.response_length: replies and observations together
data.train_files=train.parquet
data.val_files=val.parquet

# `python -m codegym.verl --path` prints the path alone."""
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
