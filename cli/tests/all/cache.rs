//! The compile cache's troubles reach the user: one warning line per component on stderr
//! when an artifact was bad and recompiled, or when the cache directory is not trusted.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::workspace;

/// `codegym --cache-dir CACHE rollout` of two oracle episodes of binary-search, which must
/// succeed; its stderr's warning lines.
fn rollout_warnings(cache: &Path) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_codegym"))
        .arg("--env-dir")
        .arg(workspace().join("target/envs"))
        .arg("--cache-dir")
        .arg(cache)
        .args(["rollout", "--envs", "binary-search", "--episodes", "2", "--threads", "2", "--json"])
        .output()
        .expect("run codegym");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(report["solved"], 2, "{report}");
    stderr.lines().filter(|line| line.starts_with("warning:")).map(str::to_owned).collect()
}

#[test]
fn a_recompiled_artifact_and_an_untrusted_cache_are_each_one_warning() {
    let cache = tempfile::tempdir().expect("temp dir");
    assert_eq!(rollout_warnings(cache.path()), Vec::<String>::new(), "a first compile is no news");

    let artifact = std::fs::read_dir(cache.path())
        .expect("cache dir")
        .map(|entry| entry.expect("entry").path())
        .find(|path| path.extension().is_some_and(|ext| ext == "cwasm"))
        .expect("an artifact");
    let mut bytes = std::fs::read(&artifact).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&artifact, bytes).expect("corrupt");
    let warnings = rollout_warnings(cache.path());
    assert_eq!(warnings.len(), 1, "once per component, not per episode: {warnings:?}");
    assert!(
        warnings[0].starts_with("warning: binary-search: recompiled, the cached artifact was bad: ")
            && warnings[0].contains("digest mismatch"),
        "{warnings:?}"
    );
    assert_eq!(rollout_warnings(cache.path()), Vec::<String>::new(), "the cache is good again");

    std::fs::set_permissions(cache.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let warnings = rollout_warnings(cache.path());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("warning: binary-search: compile cache not used: ")
            && warnings[0].contains("is writable by group or others (mode 777;"),
        "{warnings:?}"
    );
}
