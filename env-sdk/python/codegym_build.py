"""Build a CodeGym-style Python environment file into a zero-import component of
`wit/codegym.wit`.

    python codegym_build.py ENV.py --out ENV.wasm --wit WIT_DIR [--name NAME] [--configs F.jsonl]

Run with the Python of the venv `cargo xtask setup` makes (`target/py-build-venv`, which
has the pinned componentize-py); `cargo xtask build-py` and `codegym build-py` call it.
The file is used unchanged: it is copied into a staging directory as a module
`codegym_env_<name>`, next to a generated app module that imports the adapter
(`codegym_adapter`, beside this script) and calls `codegym_adapter.wrap` on it; then
`componentize-py --stub-wasi` builds the component (no WASI imports: every WASI function is
a trapping stub, which the adapter keeps the environment from calling).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

APP = '''\
import codegym_adapter

import {module} as environment

Environment = codegym_adapter.wrap(environment, {name!r}, codegym_adapter.read_configs({configs!r}))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="the environment file (.py)")
    parser.add_argument("--out", required=True, help="the component to write (.wasm)")
    parser.add_argument("--wit", required=True, help="the directory of codegym.wit")
    parser.add_argument("--name", help="environment name (default: the file's name without .py)")
    parser.add_argument("--configs", help="JSONL of task configs, for a file without sample_config")
    args = parser.parse_args()

    name = args.name or os.path.splitext(os.path.basename(args.source))[0]
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        sys.exit(f"codegym_build: environment name {name!r} must be lowercase letters, digits and dashes")
    module = "codegym_env_" + name.replace("-", "_")
    componentize = os.path.join(os.path.dirname(sys.executable), "componentize-py")
    if not os.path.exists(componentize):
        sys.exit(f"codegym_build: {componentize} is missing; run `cargo xtask setup`")

    with tempfile.TemporaryDirectory(prefix=f"codegym-py-{name}-") as stage:
        shutil.copyfile(args.source, os.path.join(stage, module + ".py"))
        configs = None
        if args.configs:
            configs = os.path.join(stage, "configs.jsonl")
            shutil.copyfile(args.configs, configs)
        with open(os.path.join(stage, "codegym_app.py"), "w") as app:
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
