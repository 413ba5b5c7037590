"""Environment pools as Ray actors: when one machine is not enough.

Each actor is a Python process holding the host in-process (``codegym.make`` /
``make_vec``), so every episode is sandboxed as anywhere else; Ray places the actors over the
cluster's nodes and carries calls and results. The environments travel with the pool: their
files are put into Ray's object store once (by content hash), and each actor writes them
into a directory of its own node's, so a node needs nothing but the ``codegym`` package.

::

    import ray, codegym.ray

    ray.init(address="auto")
    pool = codegym.ray.Pool(num_actors=8, envs=["binary-search"])
    env = pool.make("binary-search", seed=1)            # a RemoteEnv on one of the actors
    task, info = env.reset()
    observation, reward, terminated, truncated, info = env.step({"name": "Observe"})

    batch = pool.make_vec("binary-search", num_envs=4096) # split over every actor
    tasks, infos = batch.reset()
    observations, rewards, terminated, truncated, infos = batch.step(actions)

Handles (``RemoteEnv``, ``RemoteVecEnv``) and results pickle, so they can be passed to other
Ray tasks and actors.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ray

import codegym

from ._codegym import list_envs

__all__ = ["Pool", "RemoteEnv", "RemoteVecEnv", "EnvActor"]


def _files_of(env_dir: Path, names: Sequence[str] | None) -> dict[str, bytes]:
    """The files environments ``names`` (default: all) need: each ``<name>.wasm`` or
    ``<name>.pyenv``, and the shared runtimes under ``runtimes/`` that packages run on."""
    wanted = set(names) if names is not None else set(list_envs(env_dir=str(env_dir)))
    files: dict[str, bytes] = {}
    for name in sorted(wanted):
        for ext in ("wasm", "pyenv"):
            path = env_dir / f"{name}.{ext}"
            if path.is_file():
                files[path.name] = path.read_bytes()
                break
        else:
            raise codegym.UnknownEnvError(f"unknown environment `{name}` in {env_dir}")
    if any(name.endswith(".pyenv") for name in files):
        runtimes = env_dir / "runtimes"
        for runtime in sorted(runtimes.glob("*.wasm")) if runtimes.is_dir() else []:
            files[f"runtimes/{runtime.name}"] = runtime.read_bytes()
    return files


def _digest(files: dict[str, bytes]) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for name in sorted(files):
        hasher.update(name.encode() + b"\0" + hashlib.blake2b(files[name]).digest())
    return hasher.hexdigest()


class EnvActor:
    """One pool member: environments of its own node's directory, sessions and batches.
    Wrapped with ``ray.remote`` by :class:`Pool`; usable directly (for tests) too."""

    def __init__(self, files: dict[str, bytes], digest: str) -> None:
        # One directory per node and set of files, written once (first actor there wins;
        # the rename makes a half-written directory invisible).
        root = Path(os.environ.get("CODEGYM_RAY_DIR") or Path(tempfile.gettempdir()) / "codegym-ray")
        self.env_dir = root / digest
        if not self.env_dir.is_dir():
            partial = Path(tempfile.mkdtemp(prefix=f"{digest}.", dir=root if root.is_dir() else None))
            for name, data in files.items():
                (partial / name).parent.mkdir(parents=True, exist_ok=True)
                (partial / name).write_bytes(data)
            root.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(partial, self.env_dir)
            except OSError:
                if not self.env_dir.is_dir():
                    raise
        self.sessions: dict[int, codegym.Env] = {}
        self.next_id = 0
        self.vec: codegym.VecEnv | None = None

    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def make(self, name: str, seed: int, difficulty: int, limits: dict[str, Any] | None) -> int:
        env = codegym.make(name, seed=seed, difficulty=difficulty, env_dir=str(self.env_dir), limits=limits)
        self.next_id += 1
        self.sessions[self.next_id] = env
        return self.next_id

    def _env(self, session: int) -> codegym.Env:
        try:
            return self.sessions[session]
        except KeyError:
            raise codegym.EpisodeError(f"no session {session} on this actor (closed?)") from None

    def reset(self, session: int, seed: int | None, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        return self._env(session).reset(seed=seed, options=options)

    def step(self, session: int, action: dict[str, Any]) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return self._env(session).step(action)

    def call(self, session: int, method: str) -> Any:
        if method not in ("log", "trajectory", "tools", "prompt"):
            raise codegym.CodeGymError(f"no remote method `{method}`")
        value = getattr(self._env(session), method)
        return value() if callable(value) else value

    def fork(self, session: int) -> int:
        self.next_id += 1
        self.sessions[self.next_id] = self._env(session).fork()
        return self.next_id

    def close(self, session: int) -> None:
        env = self.sessions.pop(session, None)
        if env is not None:
            env.close()

    def make_vec(self, names: list[str], seeds: list[int], difficulty: int, limits: dict[str, Any] | None) -> int:
        self.vec = codegym.make_vec(
            names, seeds=seeds, difficulty=difficulty, env_dir=str(self.env_dir), limits=limits
        )
        return self.vec.num_envs

    def vec_reset(self) -> tuple[list[str], dict[str, list[Any]]]:
        assert self.vec is not None, "make_vec first"
        return self.vec.reset()

    def vec_step(self, actions: list[dict[str, Any]]) -> tuple[Any, ...]:
        assert self.vec is not None, "make_vec first"
        return self.vec.step(actions)


class RemoteEnv:
    """One session on one actor, with ``codegym.Env``'s methods (each a Ray call)."""

    def __init__(self, actor: Any, session: int) -> None:
        self.actor, self.session = actor, session

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        return ray.get(self.actor.reset.remote(self.session, seed, options))

    def step(self, action: dict[str, Any]) -> tuple[str, float, bool, bool, dict[str, Any]]:
        return ray.get(self.actor.step.remote(self.session, action))

    def step_async(self, action: dict[str, Any]) -> ray.ObjectRef:
        """The step's result as an ``ObjectRef`` (``ray.get`` it), so many can be in flight."""
        return self.actor.step.remote(self.session, action)

    def log(self) -> dict[str, Any]:
        return ray.get(self.actor.call.remote(self.session, "log"))

    def trajectory(self) -> dict[str, Any]:
        return ray.get(self.actor.call.remote(self.session, "trajectory"))

    @property
    def tools(self) -> list[dict[str, Any]]:
        return ray.get(self.actor.call.remote(self.session, "tools"))

    def fork(self) -> RemoteEnv:
        return RemoteEnv(self.actor, ray.get(self.actor.fork.remote(self.session)))

    def close(self) -> None:
        ray.get(self.actor.close.remote(self.session))

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteEnv, (self.actor, self.session))


class RemoteVecEnv:
    """A batch split over the pool's actors in contiguous chunks; ``step`` steps every chunk
    at once and joins the results in order, as one ``codegym.VecEnv`` would give them."""

    def __init__(self, actors: list[Any], sizes: list[int]) -> None:
        self.actors, self.sizes = actors, sizes
        self.num_envs = sum(sizes)
        self._sent: list[ray.ObjectRef] | None = None

    def __len__(self) -> int:
        return self.num_envs

    def reset(self) -> tuple[list[str], dict[str, list[Any]]]:
        parts = ray.get([actor.vec_reset.remote() for actor in self.actors])
        tasks = [task for part in parts for task in part[0]]
        return tasks, _join_infos([part[1] for part in parts], self.sizes)

    def send(self, actions: Sequence[dict[str, Any]]) -> None:
        """Start a step of every environment; ``recv`` gives its results."""
        if self._sent is not None:
            raise codegym.CodeGymError("a batch is already in flight: recv() it first")
        if len(actions) != self.num_envs:
            raise ValueError(f"{len(actions)} actions for {self.num_envs} environments")
        chunks, start = [], 0
        for actor, size in zip(self.actors, self.sizes):
            chunks.append(actor.vec_step.remote(list(actions[start : start + size])))
            start += size
        self._sent = chunks

    def recv(self) -> tuple[list[str], list[float], list[bool], list[bool], dict[str, list[Any]]]:
        if self._sent is None:
            raise codegym.CodeGymError("recv() with no batch sent")
        parts, self._sent = ray.get(self._sent), None
        joined = [[item for part in parts for item in part[column]] for column in range(4)]
        return joined[0], joined[1], joined[2], joined[3], _join_infos([part[4] for part in parts], self.sizes)

    def step(self, actions: Sequence[dict[str, Any]]) -> tuple[list[str], list[float], list[bool], list[bool], dict[str, list[Any]]]:
        self.send(actions)
        return self.recv()

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteVecEnv, (self.actors, self.sizes))


def _join_infos(parts: list[dict[str, list[Any]]], sizes: list[int]) -> dict[str, list[Any]]:
    """Infos of the chunks as one, `env_id` renumbered over the whole batch."""
    joined: dict[str, list[Any]] = {}
    offset = 0
    for part, size in zip(parts, sizes):
        for key, values in part.items():
            if key == "env_id":
                values = [offset + value for value in values]
            joined.setdefault(key, []).extend(values)
        offset += size
    return joined


class Pool:
    """``num_actors`` :class:`EnvActor` s, spread over the cluster's nodes (Ray's ``SPREAD``
    scheduling), holding environments ``envs`` (default: every one) of ``env_dir`` (default
    ``$CODEGYM_ENVS``, else ``./target/envs``). ``num_cpus`` is each actor's reservation,
    and the number of threads its batches step on. Sessions are placed round-robin."""

    def __init__(
        self,
        num_actors: int = 2,
        envs: Sequence[str] | None = None,
        env_dir: str | os.PathLike[str] | None = None,
        num_cpus: float = 1,
    ) -> None:
        if num_actors < 1:
            raise ValueError("a pool needs at least one actor")
        directory = Path(env_dir or os.environ.get("CODEGYM_ENVS") or "target/envs")
        files = _files_of(directory, envs)
        digest = _digest(files)
        shipped = ray.put(files)
        # Each actor steps its batches on as many threads as the cores it reserved.
        threads = {"RAYON_NUM_THREADS": str(max(1, round(num_cpus)))}
        remote = ray.remote(num_cpus=num_cpus, scheduling_strategy="SPREAD", runtime_env={"env_vars": threads})(
            EnvActor
        )
        self.actors = [remote.remote(shipped, digest) for _ in range(num_actors)]
        self.envs = sorted(name.rsplit(".", 1)[0] for name in files if "/" not in name)
        self._next = 0

    def close(self) -> None:
        """Stop the actors now (they also stop once the pool and every handle are gone)."""
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def nodes(self) -> list[str]:
        """The node each actor runs on."""
        return ray.get([actor.node.remote() for actor in self.actors])

    def make(
        self, name: str, seed: int = 0, difficulty: int = 50, limits: dict[str, Any] | None = None
    ) -> RemoteEnv:
        actor = self.actors[self._next % len(self.actors)]
        self._next += 1
        return RemoteEnv(actor, ray.get(actor.make.remote(name, seed, difficulty, limits)))

    def make_vec(
        self,
        names: str | Sequence[str],
        num_envs: int | None = None,
        seeds: int | Sequence[int] = 0,
        difficulty: int = 50,
        limits: dict[str, Any] | None = None,
    ) -> RemoteVecEnv:
        """Like ``codegym.make_vec``, the environments split over the actors in contiguous
        chunks. Environment ``i``'s first episode runs on ``seeds[i]``, as in one ``VecEnv``;
        after an auto-reset, on ``seeds[i] + k * (its chunk's size)``."""
        names = [names] * (num_envs or 1) if isinstance(names, str) else list(names)
        count = len(names)
        if num_envs is not None and num_envs != count:
            raise ValueError(f"{count} names for num_envs={num_envs}")
        seeds = [seeds + i for i in range(count)] if isinstance(seeds, int) else list(seeds)
        if len(seeds) != count:
            raise ValueError(f"{len(seeds)} seeds for {count} environments")
        actors = self.actors[: max(1, min(len(self.actors), count))]
        sizes = [count // len(actors) + (1 if i < count % len(actors) else 0) for i in range(len(actors))]
        calls, start = [], 0
        for actor, size in zip(actors, sizes):
            calls.append(actor.make_vec.remote(names[start : start + size], seeds[start : start + size], difficulty, limits))
            start += size
        ray.get(calls)
        return RemoteVecEnv(actors, sizes)
