//! The limits every build runs under, with stand-ins for the build tool (shell scripts in
//! the place of the venv's Python), so no real compile is needed to see them work.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use codegym_synth::{BuildFailure, BuildLimits, Toolchain};

use crate::workspace;

/// A toolchain whose "Python" is `script`.
fn toolchain(dir: &Path, script: &str, limits: BuildLimits) -> Toolchain {
    let bin = dir.join("venv/bin");
    std::fs::create_dir_all(&bin).expect("venv dir");
    let python = bin.join("python");
    std::fs::write(&python, format!("#!/bin/sh\n{script}\n")).expect("script");
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Toolchain {
        workspace: workspace().to_owned(),
        target_dir: dir.join("target"),
        python_venv: dir.join("venv"),
        python_runtime: dir.join("python-runtime.wasm"),
        limits,
    }
}

fn build(toolchain: &Toolchain, dir: &Path) -> BuildFailure {
    let source = dir.join("env.py");
    std::fs::write(&source, "CATEGORY = 'arrays'\n").expect("source");
    match toolchain.build_python("probe", &source, &dir.join("out.wasm")) {
        Ok(_) => panic!("the stand-in builds nothing"),
        Err(failure) => failure,
    }
}

#[test]
fn a_build_past_its_time_limit_is_killed_with_its_children() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("child-survived");
    // The child outlives the script unless the whole process group is killed.
    let script = format!("(sleep 3; touch {}) & sleep 30", marker.display());
    let limits = BuildLimits { timeout: Duration::from_secs(1), ..BuildLimits::default() };
    let failure = build(&toolchain(dir.path(), &script, limits), dir.path());
    assert!(
        matches!(&failure, BuildFailure::Fatal(reason) if reason.contains("time limit of 1 s")),
        "{failure:?}"
    );
    std::thread::sleep(Duration::from_secs(4));
    assert!(!marker.exists(), "a process of the build outlived the time limit");
}

#[test]
fn a_build_past_its_memory_limit_fails_as_such() {
    let dir = tempfile::tempdir().expect("temp dir");
    let limits = BuildLimits { memory_bytes: 256 << 20, ..BuildLimits::default() };
    let script = "exec python3 -c 'block = bytearray(1 << 30)'";
    let failure = build(&toolchain(dir.path(), script, limits), dir.path());
    assert!(
        matches!(&failure, BuildFailure::Fatal(reason) if reason.contains("memory limit of 256 MiB")),
        "{failure:?}"
    );
}

#[test]
fn a_build_sees_only_the_variables_it_needs() {
    let dir = tempfile::tempdir().expect("temp dir");
    // cargo sets CARGO_MANIFEST_DIR for this test process; a key would be there the same way.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let failure = build(&toolchain(dir.path(), "env >&2; exit 1", BuildLimits::default()), dir.path());
    let BuildFailure::Errors(printed) = failure else { panic!("{failure:?}") };
    let names: Vec<&str> = printed.lines().filter_map(|line| line.split_once('=').map(|(k, _)| k)).collect();
    assert!(names.contains(&"PATH"), "{printed}");
    assert!(!names.contains(&"CARGO_MANIFEST_DIR"), "{printed}");
    let allowed =
        ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "TMPDIR", "PWD", "SHLVL", "_"];
    assert!(names.iter().all(|name| allowed.contains(name)), "{names:?}");
}
