"""The dataset converter: its rows, its parquet read back by pandas and by verl's
RLHFDataset, the command line and its errors; and the shipped agent loop config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from omegaconf import OmegaConf

import codegym
import codegym.verl
from codegym.verl.dataset import main, parse_difficulty, parse_seeds


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codegym.verl.dataset", *args], capture_output=True, text=True, timeout=300
    )


def test_rows_hold_the_episode(tmp_path: Path) -> None:
    rows = codegym.verl.make_rows(["binary-search", "coin-change"], range(3), "hard", split="train")
    assert len(rows) == 6
    assert [r["extra_info"]["index"] for r in rows] == list(range(6))
    for r in rows:
        info = r["extra_info"]
        env = codegym.make(info["env"], seed=info["seed"], difficulty=100)
        task, reset_info = env.reset()
        assert r["prompt"] == [{"role": m["role"], "content": m["content"]} for m in env.prompt("hermes")]
        assert r["prompt"][-1]["content"] == task
        assert info["config"] == reset_info["config"] and info["difficulty"] == 100
        assert info["split"] == "train"
        assert r["agent_name"] == "codegym"
        assert r["data_source"] == f"codegym/{info['env']}"
        assert r["ability"] == env.info["category"]
        assert r["reward_model"] == {"style": "codegym", "ground_truth": ""}
    # The seeds give distinct tasks.
    assert len({r["extra_info"]["config"] for r in rows}) == 6


def test_cli_writes_parquet_pandas_and_verl_read(tmp_path: Path, tokenizer: Any, model_dir: Path) -> None:
    out = tmp_path / "train.parquet"
    done = run_cli("--envs", "binary-search,coin-change", "--seeds", "0:4", "--difficulty", "medium", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "wrote 8 rows" in done.stdout

    frame = pd.read_parquet(out)
    assert list(frame.columns) == ["data_source", "prompt", "ability", "agent_name", "reward_model", "extra_info"]
    assert frame["agent_name"].tolist() == ["codegym"] * 8
    expected = codegym.verl.make_rows(["binary-search", "coin-change"], range(4), 50)
    for (_, got), want in zip(frame.iterrows(), expected):
        assert [dict(m) for m in got["prompt"]] == want["prompt"]
        assert dict(got["extra_info"]) == want["extra_info"]
        assert got["data_source"] == want["data_source"]

    from .helpers import trainer_config
    from verl.utils.dataset.rl_dataset import RLHFDataset

    dataset = RLHFDataset(str(out), tokenizer, trainer_config(model_dir).data)
    assert len(dataset) == 8
    item = dataset[5]
    assert item["agent_name"] == "codegym"
    assert item["index"] == 5
    assert [{"role": m["role"], "content": m["content"]} for m in item["raw_prompt"]] == expected[5]["prompt"]
    assert item["extra_info"]["env"] == "coin-change" and item["extra_info"]["seed"] == 1


def test_jsonl_and_function_entry(tmp_path: Path) -> None:
    out = tmp_path / "val.jsonl"
    assert main(["--envs", "binary-search", "--seeds", "7,9", "--difficulty", "20", "--out", str(out),
                 "--format", "codegym", "--start-index", "100"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["extra_info"]["seed"] for line in lines] == [7, 9]
    assert [line["extra_info"]["index"] for line in lines] == [100, 101]
    assert lines[0]["prompt"][0]["name"] == "functions"  # CodeGym's own layout
    assert lines[0]["extra_info"]["difficulty"] == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--envs", "no-such-env"], "no-such-env"),
        (["--envs", "binary-search", "--seeds", "5:3"], "empty seed range"),
        (["--envs", "binary-search", "--seeds", "a:b"], "bad seed range"),
        (["--envs", "binary-search", "--seeds=-1:3"], "non-negative"),
        (["--envs", "binary-search", "--seeds", "1,1"], "twice"),
        (["--envs", "binary-search", "--difficulty", "extreme"], "bad difficulty"),
        (["--envs", "binary-search", "--difficulty", "101"], "0..100"),
        (["--envs", "binary-search", "--format", "xml"], "unknown format"),
        (["--envs", "binary-search,"], "empty name"),
    ],
)
def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    out = tmp_path / "x.parquet"
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not out.exists()


def test_cli_help_and_bad_output_name(tmp_path: Path) -> None:
    done = run_cli("--help")
    assert done.returncode == 0 and "--envs" in done.stdout and "--seeds" in done.stdout
    assert main(["--envs", "binary-search", "--seeds", "0", "--out", str(tmp_path / "rows.csv")]) == 2


def test_seed_and_difficulty_parsing() -> None:
    assert parse_seeds("0:3") == [0, 1, 2]
    assert parse_seeds("4, 1,10:12") == [4, 1, 10, 11]
    assert [parse_difficulty(x) for x in ("easy", "Medium", "hard", "35", 70)] == [0, 50, 100, 35, 70]


def test_shipped_agent_loop_config() -> None:
    path = Path(codegym.verl.agent_loop_config_path())
    assert path.is_absolute() and path.is_file()
    (entry,) = OmegaConf.load(path)
    assert entry.name == "codegym" and entry._target_ == "codegym.verl.agent_loop.CodegymAgentLoop"
    done = subprocess.run([sys.executable, "-m", "codegym.verl", "--path"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == str(path)
    # Importing the package leaves verl alone (the agent loop imports it on first use).
    probe = "import sys, codegym, codegym.verl; print('verl' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"
