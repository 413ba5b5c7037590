"""The CodeGym-rs Python adapter: a CodeGym-style environment class behind the WIT
world `codegym:env/env` (see `wit/codegym.wit`).

It serves two builds, both made with componentize-py `--stub-wasi` (so they import
nothing), both with this package, a `gymnasium` shim and the whole importable standard
library in the snapshot that componentize-py takes of the pre-initialised interpreter:

- The shared runtime (world `python-runtime`, `runtime_exports`), built once: the host
  calls `runtime.prepare` on an environment file's source, which compiles it, runs its top
  level and inspects the class (tools, schemas, the shape of `step`'s return) in the
  sealed sandbox, and stores the result with the source as a `.pyenv` package; every new
  instance then gets `runtime.load`, which runs the compiled module again and takes the
  rest from the package, so an episode start inspects nothing.
- One component per file (`wrap`, `codegym build-py FILE --component`): the file is
  imported and inspected at build time, in the snapshot.

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
                "Python standard library"
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
    """Everything learnt about the environment when it was inspected: at build time in a
    per-file component, by `prepare` on the shared runtime (and then handed to `load` as
    JSON, so an episode start inspects nothing)."""

    def __init__(self, module, cls, name, configs, has_configs=False, learnt=None, info=None):
        self.module = module
        self.cls = cls
        self.name = name
        self.configs = configs
        self.sample = getattr(module, "sample_config", None)
        if learnt is not None:
            # Loaded on the shared runtime: the `env-info` is kept as text and parsed only if
            # `info()` is called (the host has it already).
            self._info_text = info
            self._info = None
            self.step_shape = learnt["step_shape"]
            self.has_oracle = learnt["oracle"]
            return
        doc = inspect.getdoc(cls) or ""
        first_line = doc.strip().splitlines()[0].strip() if doc.strip() else ""
        self._info = {
            "version": str(getattr(module, "__version__", getattr(module, "VERSION", "0.1.0"))),
            "description": str(getattr(module, "DESCRIPTION", getattr(cls, "DESCRIPTION", first_line))),
            "category": str(getattr(module, "CATEGORY", getattr(cls, "CATEGORY", ""))),
        }
        if self.sample is None and not configs and not has_configs:
            raise RuntimeError(
                f"{module.__name__}: no `sample_config(seed, difficulty)` function and no configs "
                "file: give one or the other"
            )
        probe = _blank(cls)
        self._info["tools"] = _schema.tool_specs(cls, probe)
        self.step_shape = _step_shape(probe, self._info["tools"])
        self.has_oracle = callable(getattr(cls, "solve", None))

    def _learnt(self, key):
        if self._info is None:
            info = json.loads(self._info_text)
            info["tools"] = [(t["name"], t["description"], t["parameters"]) for t in info["tools"]]
            self._info = info
        return self._info[key]

    version = property(lambda self: self._learnt("version"))
    description = property(lambda self: self._learnt("description"))
    category = property(lambda self: self._learnt("category"))
    tools = property(lambda self: self._learnt("tools"))

    def info_json(self):
        """The `env-info` as JSON, as the host reads it."""
        tools = [{"name": t[0], "description": t[1], "parameters": t[2]} for t in self.tools]
        info = {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "category": self.category,
            "tools": tools,
        }
        return json.dumps(info)

    def spec_json(self):
        """What `load` needs besides the code and the `env-info`."""
        return json.dumps(
            {
                "name": self.name,
                "class": self.cls.__qualname__,
                "step_shape": self.step_shape,
                "oracle": self.has_oracle,
            }
        )


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


# Audit events refused below Python's own functions: C code that would open a file (as
# the parser does to quote a syntax error's line) asks first, and gets an error instead of
# reaching a WASI stub, which would trap.
_REFUSED_EVENTS = frozenset(
    (
        "open os.listdir os.scandir os.remove os.rename os.mkdir os.rmdir os.chdir os.chmod "
        "os.chown os.link os.symlink os.truncate os.utime os.system os.exec os.posix_spawn "
        "os.spawn os.fork os.kill subprocess.Popen socket.__new__ "
        "socket.connect socket.bind socket.getaddrinfo ctypes.dlopen"
    ).split()
)


# Armed by the first call into an instance, not at the seal: componentize-py still runs
# code of its own after the app module while it builds the snapshot.
_ARMED = False


def _arm():
    global _ARMED
    _ARMED = True


def _audit(event, args):
    if _ARMED and event in _REFUSED_EVENTS:
        raise PermissionError(f"{event} is not available: environments have no files, processes or network")


def _seal():
    _FINDER.sealed = True
    sys.addaudithook(_audit)
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


# ---------------------------------------------------------------------------------------
# The shared runtime: one component, any environment given as data (world `python-runtime`).


class PrepareError(Exception):
    """The source is not a usable environment; the message says why."""


def _module_name(name):
    module = "codegym_env_" + name.replace("-", "_")
    if not module.isidentifier():
        raise PrepareError(f"environment name {name!r} is not usable as a module name")
    return module


def _execute(code, module_name, file_name):
    """A new module `module_name` holding what `code` defines (registered in `sys.modules`,
    as `dataclasses` and `pickle` look classes' modules up there)."""
    import types

    module = types.ModuleType(module_name)
    module.__file__ = file_name
    sys.modules[module_name] = module
    exec(code, module.__dict__)
    return module


def prepare(name, file_name, source, has_configs):
    """Compile and inspect an environment file: `(info_json, spec_json, code)`, what
    `load_prepared` takes. The file's top level runs here, in the sealed sandbox."""
    import marshal

    module_name = _module_name(name)
    try:
        code = compile(source, file_name, "exec", dont_inherit=True)
    except SyntaxError as error:
        raise PrepareError(f"{file_name}:{error.lineno}: {error.msg}")
    try:
        module = _execute(code, module_name, file_name)
        cls = getattr(module, "ENV_CLASS", None) or _find_class(module)
        spec = _Spec(module, cls, str(getattr(module, "NAME", name)), [], has_configs=has_configs)
    except PrepareError:
        raise
    except BaseException as error:
        raise PrepareError(_error(error)[len("Error: ") :])
    return (spec.info_json(), spec.spec_json(), marshal.dumps(code))


def load_prepared(info_json, spec_json, code):
    """Become the environment `prepare` described (once per instance): runs the module's
    top level again and takes everything else from the spec."""
    global _SPEC, _EPISODE, _ORACLE
    import marshal

    if _SPEC is not None:
        raise PrepareError(f"this instance already holds the environment {_SPEC.name!r}")
    learnt = json.loads(spec_json)
    code = marshal.loads(code)
    # The module's name is its code's: `co_filename` is the file's, the name derives from
    # the environment's, which the host keeps in the package beside this.
    name = learnt["name"]
    module = _execute(code, _module_name(name), code.co_filename)
    cls = module
    for part in learnt["class"].split("."):
        cls = getattr(cls, part)
    _SPEC = _Spec(module, cls, name, [], learnt=learnt, info=info_json)
    _EPISODE = None
    _ORACLE = None


def runtime_exports():
    """The two WIT export classes of the shared runtime, with the sandbox sealed (called
    once, at build time, by the runtime's app module)."""
    import gymnasium  # noqa: F401  (environment files import it: in the snapshot)
    import gymnasium.spaces  # noqa: F401

    for runtime in _RUNTIME_MODULES + ("wit_world.exports.runtime",):
        try:
            __import__(runtime)
        except ImportError:
            pass
    environment = _exports()
    from componentize_py_types import Err
    from wit_world import exports
    from wit_world.exports import runtime as wit

    class Runtime(exports.Runtime):
        def prepare(self, name, file_name, source, has_configs):
            _arm()
            try:
                info, spec, code = prepare(name, file_name, source, has_configs)
            except PrepareError as error:
                raise Err(str(error))
            return wit.Prepared(info, spec, code)

        def load(self, info, spec, code):
            _arm()
            try:
                load_prepared(info, spec, code)
            except BaseException as error:
                raise Err(_error(error)[len("Error: ") :])

    _warm_up()
    _seal()
    return environment, Runtime


# A small environment that `_warm_up` prepares, loads and plays once before the snapshot.
_WARM_UP = '''
import json
import gymnasium


def sample_config(seed, difficulty):
    return {"values": [seed, difficulty]}


class WarmUpEnv(gymnasium.Env):
    """Warm up."""

    def reset(self, options={}):
        self.values = list(options.get("values", []))
        self._done = False
        self._reward = 0
        return "Warm up."

    def get_ref_answer(self):
        return sum(self.values)

    @property
    def finished(self):
        return self._done

    @property
    def reward(self):
        return float(self._reward)

    def GetItem(self, index: int):
        """An item."""
        return str(self.values[index])

    def Observe(self):
        """Nothing."""
        return "nothing"

    def Done(self, answer: int):
        """Submit."""
        self._done = True
        self._reward = 1 if answer == sum(self.values) else -1
        return "done"

    def solve(self):
        a = int(self.step(json.dumps({"name": "GetItem", "parameters": {"index": 0}}))[1])
        self.step(json.dumps({"name": "Done", "parameters": {"answer": a}}))
'''


def _warm_up():
    """Run what every episode runs (`prepare`, `load`, `reset`, steps, the oracle) once
    before the snapshot, so that what CPython sets up on first use (caches, the parser and
    marshal's state, lazily built tables) is in the shared image, not redone and dirtied in
    every instance; then forget the environment."""
    global _SPEC, _EPISODE, _ORACLE
    prepared = prepare("warm-up", "warm-up.py", _WARM_UP, False)
    _SPEC = None
    load_prepared(*prepared)
    reset(sample_config(1, 2))
    step("GetItem", '{"index": 0}')
    step("Observe", "{}")
    oracle_start("")
    observation = ""
    while (call := oracle_next(observation)) is not None:
        observation = step(*call)[0]
    reference_answer()
    info()
    sys.modules.pop(_module_name("warm-up"), None)
    _SPEC = _EPISODE = _ORACLE = None


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
        if not spec.configs:
            # On the shared runtime, a file's own configs are data the host serves.
            raise RuntimeError(f"{spec.name} has no sample_config: its configs are given as data")
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
            _arm()
            name, version, description, category, tools = info()
            return wit.EnvInfo(name, version, description, category, [wit.ToolSpec(*t) for t in tools])

        def sample_config(self, seed, difficulty):
            _arm()
            return sample_config(seed, difficulty)

        def reset(self, config):
            _arm()
            try:
                return reset(config)
            except ResetError as error:
                raise Err(str(error))

        def step(self, name, arguments):
            return wit.StepResult(*step(name, arguments))

        def reference_answer(self):
            return reference_answer()

        def oracle_start(self, task):
            _arm()
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
    "PrepareError",
    "ResetError",
    "info",
    "load",
    "load_prepared",
    "prepare",
    "runtime_exports",
    "oracle_next",
    "oracle_start",
    "OracleError",
    "reference_answer",
    "reset",
    "sample_config",
    "step",
    "wrap",
]
