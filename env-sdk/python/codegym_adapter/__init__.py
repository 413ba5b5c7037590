"""The CodeGym-rs Python adapter: a CodeGym-style environment class behind the WIT
world `codegym:env/env` (see `wit/codegym.wit`).

`cargo xtask build-py` (and `codegym build-py`) compile an environment file together with
this package, a `gymnasium` shim and a small app module into one component with
componentize-py `--stub-wasi`: it imports nothing. The app module imports this package
(which sets up the sandbox), imports the environment file, and calls `wrap`, which
inspects the class *at build time* — the module is imported while componentize-py
pre-initialises the interpreter and the resulting heap is snapshotted into the component —
so tool schemas, the shape of `step`'s return value and the whole importable standard
library are in the snapshot and cost nothing per episode.

The mapping, export by export:

- `info`: name (the file's name, or module `NAME`), `DESCRIPTION` (else the class
  docstring's first line), `CATEGORY`, and one tool per entry of the instance's
  `func_mapping` (else per public method whose name starts with a capital letter), with
  a JSON Schema built from the method's signature, type hints and Google-style docstring.
- `sample-config(seed, difficulty)`: the module's `sample_config(seed, difficulty)`, else
  config number `(101 * seed + difficulty) mod n` of the n given at build time (`--configs`,
  written into the app module as data); JSON text.
- `reset(config)`: a fresh instance of the class, then `reset(options)` with the config
  as a dict. The task statement is what `reset` returned if that is a real statement, else
  the description with a hint to call `Observe`.
- `step(name, arguments)`: the class's own `step` with CodeGym's action JSON
  `{"name": ..., "parameters": {...}}`; a `(ok, observation)` pair, a gymnasium
  `(observation, reward, terminated, truncated, info)` tuple or a bare observation are all
  understood; otherwise reward and done come from the `reward`/`finished` properties (or
  `_reward`/`_done`). An exception escaping it is the observation `Error: <Type>: <message>`.
  A finished episode's reward is 1 if it was positive, else 0 (CodeGym files use -1 too).
- `reference-answer`: `get_ref_answer()` as JSON.
- `oracle-start`/`oracle-next`: `solve()` on private instances (no config: it must act
  only through `self.step`), driven by re-execution (`oracle.py`): each `oracle-next`
  runs `solve()` again with a `step` that answers the calls made so far from the recorded
  observations (in the shape the class's `step` returns) and stops it at the next one,
  whose action is the call handed out. Any Python works there: nested functions, lambdas,
  recursion, helpers, an alias of `self.step`.

The sandbox: `print` (stdout and stderr) goes to a bounded buffer that is thrown away;
`open` and the file, process and clock functions of `os` and `time` raise
`PermissionError`; modules neither in the standard library's snapshot nor imported at
build time cannot be imported (an `ImportError` says so), and network and process modules
never can. Each of these would otherwise trap, since the component's WASI functions are
stubs. Threads can be imported (`logging`, `queue` need them) but not started.
"""

import builtins
import io
import json
import sys

# ---------------------------------------------------------------------------------------
# The sandbox, part 1 (at import, before the environment file is imported).


class _Sink(io.TextIOBase):
    """A stdout/stderr that keeps at most the last 4 KiB written, never writing out."""

    def __init__(self):
        self.tail = ""

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        self.tail = (self.tail + text)[-4096:]
        return len(text)

    def flush(self):
        pass


_OUTPUT = _Sink()

# Never importable: there is no network and no process in the sandbox.
_FORBIDDEN = set(
    (
        "socket _socket ssl _ssl select selectors asyncio subprocess _posixsubprocess "
        "multiprocessing concurrent urllib.request http.client http.server ftplib smtplib "
        "ctypes _ctypes mmap signal"
    ).split()
)

# Standard-library modules left out of the snapshot (a file may still import them at its
# top): programs and tools rather than libraries, modules with effects at import, and
# `xml`, whose parsers fetch external entities from files and URLs.
_NOT_PRELOADED = set(
    (
        "antigravity this idlelib tkinter turtle turtledemo ensurepip venv pydoc pydoc_data "
        "__hello__ __phello__ _pyrepl xml xmlrpc test"
    ).split()
)


def _within(name, families):
    return any(name == f or name.startswith(f + ".") for f in families)


class _Finder:
    """Refuses forbidden modules always; while the standard library is preloaded, the
    modules left out of it; once sealed, every module not yet loaded."""

    preloading = False
    sealed = False

    def find_spec(self, name, path=None, target=None):
        if _within(name, _FORBIDDEN):
            raise ImportError(f"module {name!r} is not available: environments have no network or processes")
        if self.sealed:
            raise ImportError(
                f"module {name!r} is not available at run time: environments may use only the "
                "standard library and the modules imported when the component was built (import "
                "it at the top of the file)"
            )
        if self.preloading and _within(name, _NOT_PRELOADED):
            raise ImportError(f"module {name!r} is not preloaded")
        return None

    def find_module(self, name, path=None):  # pragma: no cover - legacy protocol
        return None


_FINDER = _Finder()


def _preloadable(name):
    # A package's `__main__` runs a program when imported; its tests are not a library.
    last = name.rpartition(".")[2]
    return last not in ("__main__", "test", "tests", "idle_test") and not _within(name, _NOT_PRELOADED | _FORBIDDEN)


def preload_standard_library():
    """Import every module of the standard library that imports cleanly in the sandbox
    (its packages' submodules too), so that a module a tool imports late, or one that
    another imports lazily (`datetime.strptime` needs `_strptime`), is in the snapshot."""
    import os
    import pkgutil

    root = os.path.dirname(os.path.abspath(os.__file__))
    pending = sorted(n for n in sys.stdlib_module_names if _preloadable(n))
    _FINDER.preloading = True
    try:
        while pending:
            name = pending.pop(0)
            try:
                module = __import__(name, fromlist=["_"])
            except BaseException:
                continue
            paths = [p for p in getattr(module, "__path__", []) if os.path.abspath(p).startswith(root)]
            found = sorted(info.name for info in pkgutil.iter_modules(paths, name + "."))
            pending.extend(n for n in found if n not in sys.modules and _preloadable(n))
    finally:
        _FINDER.preloading = False


def _install():
    sys.meta_path.insert(0, _FINDER)
    preload_standard_library()


_install()

# ---------------------------------------------------------------------------------------
# Inspection of the environment class (at build time).

import inspect  # noqa: E402

from codegym_adapter.oracle import Oracle, OracleError  # noqa: E402
from codegym_adapter import schema as _schema  # noqa: E402

_STOCK_RESET = "environment has been reset."


class _Spec:
    """Everything learnt about the environment at build time."""

    def __init__(self, module, cls, name, configs):
        self.module = module
        self.cls = cls
        self.name = name
        self.configs = configs
        self.version = str(getattr(module, "__version__", getattr(module, "VERSION", "0.1.0")))
        doc = inspect.getdoc(cls) or ""
        first_line = doc.strip().splitlines()[0].strip() if doc.strip() else ""
        self.description = str(getattr(module, "DESCRIPTION", getattr(cls, "DESCRIPTION", first_line)))
        self.category = str(getattr(module, "CATEGORY", getattr(cls, "CATEGORY", "")))
        self.sample = getattr(module, "sample_config", None)
        if self.sample is None and not configs:
            raise RuntimeError(
                f"{module.__name__}: no `sample_config(seed, difficulty)` function and no configs "
                "file: give one or the other"
            )
        probe = _blank(cls)
        self.tools = _schema.tool_specs(cls, probe)
        self.step_shape = _step_shape(probe, self.tools)
        self.has_oracle = callable(getattr(cls, "solve", None))


def _blank(cls):
    """An instance reset to an empty config (a gymnasium-style `__init__` does not reset)."""
    instance = cls()
    try:
        instance.reset({})
    except Exception:
        pass
    return instance


def _find_class(module):
    """The environment class of `module`: defined there, with `step` or tool methods and
    `get_ref_answer`; a subclass of `gymnasium.Env` wins if there are several."""
    import gymnasium

    candidates = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and value.__module__ == module.__name__
        and callable(getattr(value, "get_ref_answer", None))
    ]
    if len(candidates) > 1:
        gyms = [c for c in candidates if issubclass(c, gymnasium.Env)]
        candidates = gyms or candidates
    if len(candidates) > 1:
        solvers = [c for c in candidates if callable(getattr(c, "solve", None))]
        candidates = solvers or candidates
    if len(candidates) != 1:
        names = ", ".join(c.__name__ for c in candidates) or "none"
        raise RuntimeError(
            f"{module.__name__}: want exactly one environment class (defined in the file, with "
            f"get_ref_answer); found {names}. Set `ENV_CLASS = <class>` to choose."
        )
    return candidates[0]


def _step_shape(probe, tools):
    """How many items the class's `step` returns (2: CodeGym's `(ok, observation)`, 5:
    gymnasium's tuple), or 0 for a bare observation; learnt by calling it once on a
    default instance."""
    name = "Observe" if any(t[0] == "Observe" for t in tools) else (tools[0][0] if tools else "Observe")
    try:
        value = probe.step(json.dumps({"name": name, "parameters": {}}))
    except Exception:
        return 2
    return len(value) if isinstance(value, tuple) else 0


# ---------------------------------------------------------------------------------------
# The sandbox, part 2 (after the environment file was imported): seal it.


def _refuse(what):
    def refused(*args, **kwargs):
        raise PermissionError(f"{what} is not available: environments have no files, processes or clocks")

    return refused


def _seal():
    _FINDER.sealed = True
    builtins.open = _refuse("open()")
    io.open = builtins.open
    import os

    for name in (
        "open listdir scandir stat lstat remove unlink mkdir makedirs rmdir removedirs rename "
        "renames replace walk system popen getcwd chdir urandom getpid getppid kill fork "
        "execv execve spawnv truncate utime chmod chown link symlink readlink access"
    ).split():
        if hasattr(os, name):
            setattr(os, name, _refuse(f"os.{name}"))
    import time

    for name in (
        "time time_ns monotonic monotonic_ns perf_counter perf_counter_ns process_time "
        "process_time_ns thread_time thread_time_ns sleep localtime gmtime ctime asctime "
        "strftime"
    ).split():
        if hasattr(time, name):
            setattr(time, name, _refuse(f"time.{name}"))
    sys.stdout = _OUTPUT
    sys.stderr = _OUTPUT
    # Everything in the snapshot lives as long as the instance: keep it out of the cyclic
    # collector, whose passes would write to (and so copy) every page of the shared image.
    import gc

    gc.collect()
    gc.freeze()


# ---------------------------------------------------------------------------------------
# The exports.

_SPEC = None
_EPISODE = None  # the episode's environment object
_ORACLE = None  # the oracle's generator


def _error(error):
    message = str(error)
    return f"Error: {type(error).__name__}: {message}" if message else f"Error: {type(error).__name__}"


def _as_text(value):
    return value if isinstance(value, str) else str(value)


def _json(value):
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return json.dumps(_as_text(value))


def load(module, name, configs=None):
    """Inspect the environment in `module` and make it the one the functions below serve.
    `configs`: JSON texts for `sample_config` when the module has none. Called by `wrap` at
    build time; tests call it directly (natively, without sealing the sandbox)."""
    global _SPEC, _EPISODE, _ORACLE
    cls = getattr(module, "ENV_CLASS", None) or _find_class(module)
    _SPEC = _Spec(module, cls, str(getattr(module, "NAME", name)), list(configs or []))
    _EPISODE = None
    _ORACLE = None
    return _SPEC


def wrap(module, name, configs=None):
    """The WIT export class for the environment in `module`, with the sandbox sealed
    (called once, at build time, by the generated app module)."""
    load(module, name, configs)
    # componentize-py imports these after the app module: load them before sealing.
    for runtime in _RUNTIME_MODULES:
        try:
            __import__(runtime)
        except ImportError:
            pass
    exports = _exports()
    _seal()
    return exports


_RUNTIME_MODULES = (
    "wit_world",
    "wit_world.exports",
    "wit_world.exports.environment",
    "componentize_py_types",
    "componentize_py_runtime",
    "componentize_py_async_support",
    "componentize_py_async_support.streams",
    "componentize_py_async_support.futures",
    "poll_loop",
)


class ResetError(Exception):
    """`reset` refused the config; the message is for the caller."""


# The WIT functions over the loaded environment, with plain Python values.


def info():
    """`(name, version, description, category, [(tool, description, schema_json)])`."""
    spec = _SPEC
    return (spec.name, spec.version, spec.description, spec.category, list(spec.tools))


def sample_config(seed, difficulty):
    spec = _SPEC
    if spec.sample is None:
        return spec.configs[(seed * 101 + difficulty) % len(spec.configs)]
    return _json(spec.sample(seed, difficulty))


def reset(config):
    """Start an episode from a JSON config; the task statement, or `ResetError`."""
    global _EPISODE
    spec = _SPEC
    _EPISODE = None
    try:
        options = json.loads(config)
    except ValueError as error:
        raise ResetError(f"the config is not JSON: {error}")
    if not isinstance(options, dict):
        raise ResetError("the config must be a JSON object")
    try:
        env = spec.cls()
        statement = env.reset(options)
    except BaseException as error:
        raise ResetError(_error(error)[len("Error: ") :])
    _EPISODE = env
    if isinstance(statement, tuple) and statement:
        statement = statement[0]
    if isinstance(statement, str) and statement.strip() and statement.strip().lower() != _STOCK_RESET:
        return statement
    return (
        f"{spec.description}\nThe task's data is hidden: use the tools to inspect it "
        "(Observe shows what you may see), then submit your answer with Done."
    )


def step(name, arguments):
    """One tool call: `(observation, reward, done)`; never raises."""
    env = _EPISODE
    if env is None:
        return ("Error: no episode; reset first.", 0.0, False)
    # CodeGym's action JSON, built around the arguments' own text (one parse fewer).
    if arguments != "{}":
        try:
            parameters = json.loads(arguments) if arguments.strip() else {}
        except ValueError as error:
            return (f"Error: the arguments are not JSON: {error}", 0.0, False)
        if not isinstance(parameters, dict):
            return ("Error: the arguments must be a JSON object", 0.0, False)
        if not arguments.strip():
            arguments = "{}"
    action = '{"name": ' + json.dumps(name) + ', "parameters": ' + arguments + "}"
    reward = None
    done = None
    try:
        value = env.step(action)
        if isinstance(value, tuple) and len(value) == 2:
            observation = value[1]
        elif isinstance(value, tuple) and len(value) >= 4:
            observation, reward, done = value[0], value[1], bool(value[2] or value[3])
        elif isinstance(value, tuple):
            observation = value[0] if value else ""
        else:
            observation = value
        observation = _as_text(observation)
        if done is None:
            done = bool(_attribute(env, "finished", "_done", False))
        if reward is None:
            reward = _attribute(env, "reward", "_reward", 0.0)
        reward = float(reward)
    except BaseException as error:
        return (_error(error), 0.0, False)
    if done:
        return (observation, 1.0 if reward > 0 else 0.0, True)
    return (observation, 0.0, False)


def reference_answer():
    env = _EPISODE
    if env is None:
        return "null"
    return _json(env.get_ref_answer())


def oracle_start(task):
    """Start the oracle: `solve()` on private instances that have no config (see
    `oracle.py`); the task text is not given to it, as CodeGym's `solve` takes none."""
    global _ORACLE
    spec = _SPEC
    shape = spec.step_shape
    _ORACLE = Oracle(lambda: _blank(spec.cls), lambda text: _shaped(text, shape)) if spec.has_oracle else None


def oracle_next(last_observation):
    """The oracle's next call as `(name, arguments_json)`, or None when it has finished.
    An oracle that cannot go on raises `OracleError` (in the component, a trap: the host
    records the oracle's fault)."""
    global _ORACLE
    if _ORACLE is None:
        return None
    try:
        action = _ORACLE.next(last_observation)
    except OracleError:
        _ORACLE = None
        raise
    if action is None:
        _ORACLE = None
        return None
    try:
        call = json.loads(action) if isinstance(action, (str, bytes)) else action
        parameters = call.get("parameters", call.get("arguments", {}))
        return (str(call["name"]), json.dumps(parameters if parameters is not None else {}))
    except Exception as error:
        _ORACLE = None
        raise OracleError(f"solve() called self.step with {action!r}, which is not a tool call ({_error(error)})")


def _exports():
    """The class componentize-py exports: the functions above in WIT types."""
    import wit_world
    from componentize_py_types import Err
    from wit_world.exports import environment as wit

    class Environment(wit_world.exports.Environment):
        def info(self):
            name, version, description, category, tools = info()
            return wit.EnvInfo(name, version, description, category, [wit.ToolSpec(*t) for t in tools])

        def sample_config(self, seed, difficulty):
            return sample_config(seed, difficulty)

        def reset(self, config):
            try:
                return reset(config)
            except ResetError as error:
                raise Err(str(error))

        def step(self, name, arguments):
            return wit.StepResult(*step(name, arguments))

        def reference_answer(self):
            return reference_answer()

        def oracle_start(self, task):
            oracle_start(task)

        def oracle_next(self, last_observation):
            call = oracle_next(last_observation)
            return None if call is None else wit.ToolCall(*call)

    return Environment


def _attribute(env, public, private, default):
    try:
        return getattr(env, public)
    except Exception:
        return getattr(env, private, default)


def _shaped(observation, shape):
    """An observation in the shape the class's `step` returns, for `solve`."""
    if shape == 2:
        return (True, observation)
    if shape == 4:
        return (observation, 0.0, False, {})
    if shape >= 5:
        return (observation, 0.0, False, False, {})
    return observation


__all__ = [
    "ResetError",
    "info",
    "load",
    "oracle_next",
    "oracle_start",
    "OracleError",
    "reference_answer",
    "reset",
    "sample_config",
    "step",
    "wrap",
]
