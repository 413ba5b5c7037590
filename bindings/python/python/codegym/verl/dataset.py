"""verl dataset rows for CodeGym tasks.

::

    python -m codegym.verl.dataset --envs binary-search,coin-change --seeds 0:100 \\
        --difficulty medium --out train.parquet

writes one row per (environment, seed), in the layout verl's ``RLHFDataset`` reads:

- ``prompt``: the episode's opening chat messages (:meth:`codegym.Env.prompt` in
  ``--format``, default ``hermes``): a system message describing the environment, its tools
  and the call syntax, then the task;
- ``data_source``: ``codegym/<env>`` (verl reports validation scores per data source);
- ``ability``: the environment's category;
- ``agent_name``: ``codegym``, which selects :class:`codegym.verl.agent_loop.CodegymAgentLoop`;
- ``reward_model``: ``{"style": "codegym", "ground_truth": ""}``: the score is the
  episode's own reward, which the agent loop returns (verl needs no reward function);
- ``extra_info``: ``{"env", "seed", "difficulty", "config", "index", "split"}``: the agent
  loop starts the episode from ``config`` (the task configuration the seed and difficulty
  gave when the row was written, so the prompt and the episode agree even if the
  environment's sampler changes); ``index`` numbers the rows from 0.

The same from Python: ``write_rows(make_rows(["binary-search"], range(100)), "train.parquet")``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

AGENT_NAME = "codegym"

#: Named difficulties: the points the host's cards and verification probe.
DIFFICULTIES = {"easy": 0, "medium": 50, "hard": 100}

__all__ = ["AGENT_NAME", "DIFFICULTIES", "make_rows", "write_rows", "parse_seeds", "parse_difficulty", "main"]


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``"0:100"`` (0 to 99), ``"7"`` or a comma-separated mix (``"1,5,10:20"``)."""
    seeds: list[int] = []
    parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ValueError("no seeds given; write a range such as 0:100 or a list such as 1,2,3")
    for part in parts:
        if not part:
            raise ValueError(f"empty item in seed list {text!r}")
        if ":" in part:
            start_text, _, stop_text = part.partition(":")
            try:
                start, stop = int(start_text), int(stop_text)
            except ValueError:
                raise ValueError(f"bad seed range {part!r}: write START:STOP with integers, e.g. 0:100") from None
            if start < 0:
                raise ValueError(f"bad seed range {part!r}: seeds are non-negative")
            if stop <= start:
                raise ValueError(f"empty seed range {part!r}: STOP must be greater than START (STOP is excluded)")
            seeds.extend(range(start, stop))
        else:
            try:
                seed = int(part)
            except ValueError:
                raise ValueError(f"bad seed {part!r}: seeds are non-negative integers") from None
            if seed < 0:
                raise ValueError(f"bad seed {part!r}: seeds are non-negative")
            seeds.append(seed)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seed list {text!r} names a seed twice")
    return seeds


def parse_difficulty(value: str | int) -> int:
    """``easy`` (0), ``medium`` (50), ``hard`` (100) or an integer in 0..=100."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip().lower()
        if text in DIFFICULTIES:
            return DIFFICULTIES[text]
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"bad difficulty {value!r}: use easy, medium, hard or an integer 0..100") from None
    if not 0 <= number <= 100:
        raise ValueError(f"bad difficulty {value!r}: it must be in 0..100")
    return number


def make_rows(
    envs: Iterable[str],
    seeds: Iterable[int],
    difficulty: str | int = "medium",
    *,
    format: str = "hermes",
    env_dir: str | None = None,
    split: str | None = None,
    agent_name: str = AGENT_NAME,
    start_index: int = 0,
) -> list[dict[str, Any]]:
    """One verl row per (environment, seed), environments in the order given (see the
    module's documentation). Raises :class:`codegym.UnknownEnvError` for an environment
    that is not in ``env_dir`` and ``ValueError`` for a bad format or difficulty."""
    import codegym

    names = list(envs)
    seeds = list(seeds)
    if not names:
        raise ValueError("no environments given")
    if not seeds:
        raise ValueError("no seeds given")
    if format not in codegym.FORMATS:
        raise ValueError(f"unknown format {format!r}; use one of {', '.join(codegym.FORMATS)}")
    level = parse_difficulty(difficulty)
    rows: list[dict[str, Any]] = []
    for name in names:
        # An unknown name raises UnknownEnvError, whose message lists the available ones.
        env = codegym.make(name, seed=seeds[0], difficulty=level, env_dir=env_dir)
        category = str(env.info.get("category", ""))
        with env:
            for seed in seeds:
                _task, info = env.reset(seed=seed)
                messages = [_message(message) for message in env.prompt(format)]
                extra_info: dict[str, Any] = {
                    "env": name,
                    "seed": int(seed),
                    "difficulty": int(info["difficulty"]),
                    "config": str(info["config"]),
                    "index": start_index + len(rows),
                }
                if split is not None:
                    extra_info["split"] = split
                rows.append(
                    {
                        "data_source": f"codegym/{name}",
                        "prompt": messages,
                        "ability": category,
                        "agent_name": agent_name,
                        "reward_model": {"style": "codegym", "ground_truth": ""},
                        "extra_info": extra_info,
                    }
                )
    return rows


def _message(message: Any) -> dict[str, str]:
    """A chat message with the fields every row's messages share (``role``, ``content``;
    ``name`` where the format names its system message), as strings."""
    out = {"role": str(message["role"]), "content": str(message["content"])}
    if message.get("name"):
        out["name"] = str(message["name"])
    return out


def write_rows(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write ``rows`` to ``path``: parquet (``.parquet``, what verl's ``data.train_files``
    usually names) or JSON lines (``.jsonl``/``.json``, which verl reads too)."""
    path = Path(path)
    if not rows:
        raise ValueError("no rows to write")
    suffix = path.suffix.lower()
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    if suffix in (".jsonl", ".json"):
        with open(path, "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path
    if suffix != ".parquet":
        raise ValueError(f"unknown output type {path.name!r}: name a .parquet or .jsonl file")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("writing parquet needs pyarrow (`pip install pyarrow`, which verl installs)") from None
    pq.write_table(pa.Table.from_pylist(list(rows)), path)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegym.verl.dataset",
        description="Write verl dataset rows (parquet or JSON lines) for CodeGym tasks: one row per "
        "environment and seed, selecting the `codegym` agent loop.",
    )
    parser.add_argument(
        "--envs",
        required=True,
        help="comma-separated environment names (`all`: every environment in the directory)",
    )
    parser.add_argument("--seeds", default="0:100", help="seeds: START:STOP (STOP excluded), N, or a comma list (default 0:100)")
    parser.add_argument(
        "--difficulty", default="medium", help="easy (0), medium (50), hard (100) or 0..100 (default medium)"
    )
    parser.add_argument(
        "--format", default="hermes", help="the prompt's call syntax: hermes (default), codegym or openai-tools"
    )
    parser.add_argument("--split", default=None, help="a split name to record in extra_info (e.g. train, test)")
    parser.add_argument("--env-dir", default=None, help="component directory (default $CODEGYM_ENVS, else ./target/envs)")
    parser.add_argument("--start-index", type=int, default=0, help="extra_info.index of the first row (default 0)")
    parser.add_argument("--out", required=True, help="output file: .parquet or .jsonl")
    args = parser.parse_args(argv)

    import codegym

    try:
        if args.envs.strip() == "all":
            names = codegym.list_envs(env_dir=args.env_dir)
        else:
            names = [name.strip() for name in args.envs.split(",")]
            if not all(names):
                raise ValueError(f"empty name in --envs {args.envs!r}")
        rows = make_rows(
            names,
            parse_seeds(args.seeds),
            args.difficulty,
            format=args.format,
            env_dir=args.env_dir,
            split=args.split,
            start_index=args.start_index,
        )
        path = write_rows(rows, args.out)
    except (ValueError, codegym.CodeGymError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} rows ({len(names)} environments) to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
