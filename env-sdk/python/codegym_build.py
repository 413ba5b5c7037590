"""Build a CodeGym-style Python environment file into a zero-import component of
`wit/codegym.wit`, or the shared Python runtime that runs every such file as data.

    python codegym_build.py ENV.py --out ENV.wasm --wit WIT_DIR --name NAME [--configs F.jsonl]
    python codegym_build.py --runtime --out python-runtime.wasm --wit WIT_DIR

The runtime (world `python-runtime`) is the adapter, the `gymnasium` shim and the whole
importable standard library, pre-initialised and sealed; `codegym build-py` turns a file
into a `.pyenv` package on it (`runtime.prepare`) with neither componentize-py nor
Cranelift, and each episode `load`s one into a fresh instance.

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

RUNTIME_APP = '''\
import codegym_adapter

Environment, Runtime = codegym_adapter.runtime_exports()
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
    parser.add_argument("source", nargs="?", help="the environment file (.py)")
    parser.add_argument("--runtime", action="store_true", help="build the shared Python runtime instead")
    parser.add_argument("--out", required=True, help="the component to write (.wasm)")
    parser.add_argument("--wit", required=True, help="the directory of codegym.wit")
    parser.add_argument("--name", help="the environment's name (lowercase letters, digits, dashes)")
    parser.add_argument("--configs", help="JSONL of task configs, for a file without sample_config")
    args = parser.parse_args()
    if args.runtime == bool(args.source):
        sys.exit("codegym_build: give an environment file or --runtime, not both")
    if args.source and not args.name:
        sys.exit("codegym_build: --name is required with an environment file")

    with tempfile.TemporaryDirectory(prefix="codegym-py-") as stage:
        if args.runtime:
            world = "python-runtime"
            with open(os.path.join(stage, "codegym_app.py"), "w", encoding="utf-8") as app:
                app.write(RUNTIME_APP)
        else:
            world = "env"
            name = args.name
            module = "codegym_env_" + name.replace("-", "_")
            if not module.isidentifier():
                sys.exit(f"codegym_build: environment name {name!r} is not usable as a module name")
            try:
                configs = read_configs(args.configs) if args.configs else None
            except BuildError as error:
                sys.exit(f"codegym_build: {error}")
            shutil.copyfile(args.source, os.path.join(stage, module + ".py"))
            with open(os.path.join(stage, "codegym_app.py"), "w", encoding="utf-8") as app:
                app.write(APP.format(module=module, name=name, configs=configs))
        componentize(stage, world, os.path.abspath(args.wit), os.path.abspath(args.out), args.source or "the runtime")


def componentize(stage, world, wit, out, what):
    """Run componentize-py on the app module in `stage`, writing `out` (by rename)."""
    componentize = os.path.join(os.path.dirname(sys.executable), "componentize-py")
    if not os.path.exists(componentize):
        sys.exit(f"codegym_build: {componentize} is missing; run `cargo xtask setup`")
    partial = out + ".partial"
    command = [
        componentize,
        "--quiet",
        "-d",
        wit,
        "-w",
        world,
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
        sys.exit(f"codegym_build: componentize-py failed for {what}")
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
