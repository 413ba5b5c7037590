"""Build a CodeGym-style Python environment file into a zero-import component of
`wit/codegym.wit`.

    python codegym_build.py ENV.py --out ENV.wasm --wit WIT_DIR --name NAME [--configs F.jsonl]

Run with the Python of the venv `cargo xtask setup` makes (`target/py-build-venv`, which
has the pinned componentize-py); `cargo xtask build-py` and `codegym build-py` call it, and
derive NAME from the file's name (`codegym_componentize::python::env_name`).
The file is used unchanged: it is copied into a staging directory as a module
`codegym_env_<name>`, next to a generated app module that imports the adapter
(`codegym_adapter`, beside this script) and calls `codegym_adapter.wrap` on it; then
`componentize-py --stub-wasi` builds the component (no WASI imports: every WASI function is
a trapping stub, which the adapter keeps the environment from calling).

Configs from `--configs` are read here, natively, and written into the app module as data:
componentize-py runs the app module in a sandbox that sees the `-p` directories under other
paths (`/0`, `/1`, ...), so a path on this machine means nothing there.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

APP = '''\
import codegym_adapter

import {module} as environment

CONFIGS = {configs!r}

Environment = codegym_adapter.wrap(environment, {name!r}, CONFIGS)
'''


class BuildError(Exception):
    """A build input is unusable; the message says which and why."""


def read_configs(path):
    """The task configs of a JSONL file, one JSON object a line (blank lines skipped), as
    compact JSON texts."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(f"cannot read the configs file {path}: {error}")
    configs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            raise BuildError(f"{path}:{number}: not JSON: {error}")
        if not isinstance(value, dict):
            raise BuildError(f"{path}:{number}: a config must be a JSON object, not {type(value).__name__}")
        configs.append(json.dumps(value, separators=(",", ":")))
    if not configs:
        raise BuildError(f"{path}: no configs (want one JSON object a line)")
    return configs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="the environment file (.py)")
    parser.add_argument("--out", required=True, help="the component to write (.wasm)")
    parser.add_argument("--wit", required=True, help="the directory of codegym.wit")
    parser.add_argument("--name", required=True, help="the environment's name (lowercase letters, digits, dashes)")
    parser.add_argument("--configs", help="JSONL of task configs, for a file without sample_config")
    args = parser.parse_args()

    name = args.name
    module = "codegym_env_" + name.replace("-", "_")
    if not module.isidentifier():
        sys.exit(f"codegym_build: environment name {name!r} is not usable as a module name")
    try:
        configs = read_configs(args.configs) if args.configs else None
    except BuildError as error:
        sys.exit(f"codegym_build: {error}")
    componentize = os.path.join(os.path.dirname(sys.executable), "componentize-py")
    if not os.path.exists(componentize):
        sys.exit(f"codegym_build: {componentize} is missing; run `cargo xtask setup`")

    with tempfile.TemporaryDirectory(prefix=f"codegym-py-{name}-") as stage:
        shutil.copyfile(args.source, os.path.join(stage, module + ".py"))
        with open(os.path.join(stage, "codegym_app.py"), "w", encoding="utf-8") as app:
            app.write(APP.format(module=module, name=name, configs=configs))
        out = os.path.abspath(args.out)
        partial = out + ".partial"
        command = [
            componentize,
            "--quiet",
            "-d",
            os.path.abspath(args.wit),
            "-w",
            "env",
            "componentize",
            "--stub-wasi",
            "-p",
            stage,
            "-p",
            HERE,
            "codegym_app",
            "-o",
            partial,
        ]
        # No VIRTUAL_ENV: componentize-py would add the build venv's site-packages to the
        # component. The environment gets the standard library and the adapter only.
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        result = subprocess.run(command, cwd=stage, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(_explain(result.stderr or result.stdout))
            sys.exit(f"codegym_build: componentize-py failed for {args.source}")
        os.replace(partial, out)


def _explain(output):
    """componentize-py's error without its Rust stack backtrace."""
    lines = output.splitlines()
    kept = []
    for line in lines:
        if line.startswith("Stack backtrace:"):
            break
        kept.append(line)
    return "\n".join(kept).rstrip() + "\n"


if __name__ == "__main__":
    main()
