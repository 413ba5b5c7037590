//! Python environments as data on the shared runtime (`target/py-runtime`, built by
//! `cargo xtask build-envs`): packages prepared from source in the test, loaded, isolated
//! from each other, and refused with clear errors when tampered with or broken.

use std::path::{Path, PathBuf};

use codegym_host::{Error, FaultKind, LoadError, Outcome, Package, PythonRuntime, RUNTIMES_DIR};

use crate::call;
use crate::python::host;

fn runtime_file() -> PathBuf {
    let path = crate::workspace().join("target/py-runtime/python-runtime.wasm");
    assert!(path.is_file(), "{} is missing: run `cargo xtask build-envs` first", path.display());
    path
}

fn runtime() -> PythonRuntime {
    host().python_runtime(&runtime_file()).expect("the shared runtime loads")
}

/// A directory holding the runtime (hard-linked or copied) as packages expect it.
fn package_dir(runtime: &PythonRuntime) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtimes = dir.path().join(RUNTIMES_DIR);
    std::fs::create_dir(&runtimes).expect("runtimes/");
    let target = runtimes.join(format!("{}.wasm", runtime.hash()));
    std::fs::hard_link(runtime_file(), &target)
        .or_else(|_| std::fs::copy(runtime_file(), &target).map(drop))
        .expect("runtime");
    dir
}

fn write(dir: &Path, package: &Package) -> PathBuf {
    let path = dir.join(format!("{}.pyenv", package.name));
    std::fs::write(&path, package.to_bytes()).expect("write package");
    path
}

/// A small environment whose tools reach into state every instance of the runtime has
/// (standard-library modules, `sys.modules`): `Poison` changes them, `Probe` reports them.
const POISONER: &str = r#"
import math
import string
import sys

import gymnasium

CATEGORY = "simulation"
DESCRIPTION = "Test fixture: changes state shared by the runtime's modules."

def sample_config(seed, difficulty):
    return {"seed": seed}

class PoisonEnv(gymnasium.Env):
    def reset(self, options={}):
        self._done = False
        self._reward = 0
        return "Poison the runtime, or probe it."

    def get_ref_answer(self):
        return 0

    @property
    def finished(self):
        return self._done

    @property
    def reward(self):
        return float(self._reward)

    def Poison(self):
        """Change two standard-library modules and plant a module."""
        math.pi = 3
        string.ascii_letters = "poisoned"
        sys.modules["planted"] = math
        return "done"

    def Probe(self):
        """What the shared state looks like."""
        return "|".join([str(math.pi), string.ascii_letters[:3], str("planted" in sys.modules)])

    def Observe(self):
        """Nothing to see."""
        return "nothing"

    def Done(self, answer: int):
        """Submit."""
        self._done = True
        self._reward = 1 if answer == 0 else -1
        return "ok"
"#;

#[test]
fn a_package_is_small_and_loads_as_any_environment() {
    let runtime = runtime();
    let dir = package_dir(&runtime);
    let package = runtime.prepare("poison", "poison.py", POISONER, None).expect("prepare");
    assert_eq!(package.runtime, runtime.hash());
    let bytes = package.to_bytes();
    assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
    assert_eq!(Package::parse(&bytes).expect("parses again"), package);
    let env = host().load(&write(dir.path(), &package)).expect("load");
    assert_eq!((env.name(), env.info().category.as_str()), ("poison", "simulation"));
    assert_eq!(env.runtime_hash(), Some(runtime.hash()));
    assert_eq!(env.hash(), blake3::hash(&bytes).to_hex().to_string(), "identity is the file's bytes");
    let names: Vec<&str> = env.info().tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Poison", "Probe", "Observe", "Done"]);
    let mut episode = env.start(&env.sample_config(1, 50).expect("config")).expect("start");
    assert_eq!(episode.step(&call("Probe", "{}")).observation, "3.141592653589793|abc|False");
    let done = episode.step(&call("Done", r#"{"answer": 0}"#));
    assert_eq!((done.reward, episode.outcome()), (1.0, Some(Outcome::Solved)));
}

/// Every episode is its own instance of the runtime: what one environment does to the
/// interpreter's shared modules, another (or another episode of it) never sees.
#[test]
fn environments_on_one_runtime_never_see_each_other() {
    let runtime = runtime();
    let dir = package_dir(&runtime);
    let poison = host()
        .load(&write(dir.path(), &runtime.prepare("poison", "poison.py", POISONER, None).expect("prepare")))
        .expect("load");
    let other_source = POISONER.replace("PoisonEnv", "OtherEnv");
    let other = host()
        .load(&write(
            dir.path(),
            &runtime.prepare("other", "other.py", &other_source, None).expect("prepare"),
        ))
        .expect("load");
    let config = poison.sample_config(0, 50).expect("config");
    let mut poisoned = poison.start(&config).expect("start");
    assert_eq!(poisoned.step(&call("Poison", "{}")).observation, "done");
    assert_eq!(poisoned.step(&call("Probe", "{}")).observation, "3|poi|True");
    for env in [&poison, &other] {
        let mut clean = env.start(&config).expect("start");
        assert_eq!(
            clean.step(&call("Probe", "{}")).observation,
            "3.141592653589793|abc|False",
            "{}",
            env.name()
        );
    }
    // A fork replays the log into a fresh instance: the same poisoned state, privately.
    let mut fork = poisoned.fork().expect("fork");
    assert_eq!(fork.step(&call("Probe", "{}")).observation, "3|poi|True");
}

/// CodeGym's files have no `sample_config`: the package carries their configs, and the
/// host serves config `(101 * seed + difficulty) mod n` as the adapter would.
#[test]
fn a_package_serves_its_own_configs() {
    let runtime = runtime();
    let dir = package_dir(&runtime);
    let file = "LeetCode_0739_A__DailyTemperaturesEnv";
    let fixtures = crate::workspace().join("tests/envs-py/codegym");
    let source = std::fs::read_to_string(fixtures.join(format!("{file}.py"))).expect("source");
    let refused = runtime.prepare("daily", "daily.py", &source, None).expect_err("no configs");
    assert!(refused.to_string().contains("no `sample_config"), "{refused}");
    let configs = vec![r#"{"temperatures": [3, 1, 2]}"#.to_owned(), r#"{"temperatures": [5, 6]}"#.to_owned()];
    let package = runtime.prepare("daily", "daily.py", &source, Some(configs.clone())).expect("prepare");
    let env = host().load(&write(dir.path(), &package)).expect("load");
    for (seed, difficulty) in [(0, 0), (0, 1), (7, 50), (8, 50)] {
        let index = (101 * seed + difficulty as u64) as usize % configs.len();
        assert_eq!(env.sample_config(seed, difficulty).expect("config"), configs[index]);
    }
}

#[test]
fn broken_sources_are_refused_with_the_reason() {
    let runtime = runtime();
    let cases = [
        ("def broken(:\n", "broken.py:1"),
        ("raise ValueError('at import')\n", "ValueError: at import"),
        ("import numpy\n", "module 'numpy' is not available at run time"),
        ("open('/etc/passwd')\n", "open() is not available"),
        ("x = 1\n", "want exactly one environment class"),
    ];
    for (source, expected) in cases {
        let error = runtime.prepare("broken", "broken.py", source, None).expect_err(source);
        assert!(matches!(error, Error::Package(_)), "{source}: {error:?}");
        assert!(error.to_string().contains(expected), "{source}: {error}");
    }
    let spin = runtime.prepare("spin", "spin.py", "while True:\n    pass\n", None).expect_err("spins");
    assert!(
        matches!(error_fault(&spin), Some(FaultKind::OutOfFuel | FaultKind::Timeout)),
        "a file whose top level never ends is stopped: {spin:?}"
    );
}

fn error_fault(error: &Error) -> Option<FaultKind> {
    match error {
        Error::Fault { kind, .. } => Some(*kind),
        _ => None,
    }
}

/// Nothing in a package is trusted: a tampered one is a clear error at load, never a crash,
/// and a missing or substituted runtime is named.
#[test]
fn tampered_packages_and_missing_runtimes_are_clear_errors() {
    let runtime = runtime();
    let dir = package_dir(&runtime);
    let good = runtime.prepare("poison", "poison.py", POISONER, None).expect("prepare");

    let mut flipped = good.clone();
    for byte in flipped.code.iter_mut().skip(16).step_by(7) {
        *byte ^= 0x5a;
    }
    let mut renamed = good.clone();
    renamed.name = "other".into();
    let mut lost = good.clone();
    lost.runtime = "0".repeat(64);
    let cases: [(&str, Package, &str); 3] = [
        ("flipped code", flipped, "is unusable"),
        ("a name its info does not have", renamed, "its info says"),
        ("an unknown runtime", lost, "is not installed"),
    ];
    for (what, package, expected) in cases {
        let error =
            host().load(&write(dir.path(), &package)).err().unwrap_or_else(|| panic!("{what} loaded"));
        let text = error.to_string();
        let faulted = matches!(error, Error::Fault { during: "load", .. });
        assert!(text.contains(expected) || (what == "flipped code" && faulted), "{what}: {text}");
    }

    let garbage = dir.path().join("garbage.pyenv");
    std::fs::write(&garbage, b"{\"format\": 1").expect("write");
    let error = host().load(&garbage).err().expect("garbage loads");
    assert!(matches!(error, Error::Load(LoadError::Package { .. })), "{error:?}");

    // A file under the runtime's name with other bytes (a fresh host: this one has the
    // runtime loaded already).
    let (fresh, _cache) = crate::host_with(|_| {});
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let runtimes = elsewhere.path().join(RUNTIMES_DIR);
    std::fs::create_dir(&runtimes).expect("runtimes/");
    std::fs::copy(
        crate::component("envs", "binary-search"),
        runtimes.join(format!("{}.wasm", runtime.hash())),
    )
    .expect("copy");
    let error = fresh.load(&write(elsewhere.path(), &good)).err().expect("a substituted runtime loads");
    assert!(error.to_string().contains("hash to"), "{error}");
}
