//! Building generated code: the only step that runs outside the sandbox, so it runs with a
//! time limit and a memory limit, with a cleared environment, offline, against our
//! own `Cargo.toml` and lock file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Limits on one build (cargo and everything it starts).
#[derive(Clone, Copy, Debug)]
pub struct BuildLimits {
    /// Wall clock for the whole build; then the process group is killed.
    pub timeout: Duration,
    /// Private writable memory of each process (RLIMIT_DATA: heap and anonymous mappings).
    /// Not the address space: rustc and wasmtime reserve far more than they ever touch.
    pub memory_bytes: u64,
}

impl Default for BuildLimits {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(300), memory_bytes: 4 << 30 }
    }
}

/// Why a build produced nothing.
#[derive(Debug)]
pub enum BuildFailure {
    /// The compiler's errors: worth showing the model for a repair.
    Errors(String),
    /// A limit was hit, or the toolchain is broken: not the model's to fix.
    Fatal(String),
}

/// Where builds happen and with what.
#[derive(Clone, Debug)]
pub struct Toolchain {
    /// The CodeGym-rs workspace: env-sdk, `Cargo.lock`, `.cargo/config.toml`, the root
    /// manifest's `[profile.wasm]`, the Python adapter, `wit/`.
    pub workspace: PathBuf,
    /// The shared target directory, so a generated crate reuses the built dependencies.
    pub target_dir: PathBuf,
    /// The shared Python runtime, which the Python lane's attempts are prepared on.
    pub python_runtime: PathBuf,
    pub limits: BuildLimits,
}

/// Variables a build may see; everything else (API keys above all: `env!` reads the
/// compiler's environment) is cleared.
const PASSED_VARS: [&str; 6] = ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "TMPDIR"];

impl Toolchain {
    /// `line` (program first) under `timeout` (which kills the whole process group) and
    /// `prlimit --data`, with only [`PASSED_VARS`] from our environment.
    fn limited(&self, line: &[OsString], dir: &Path) -> Command {
        let mut command = Command::new("timeout");
        command
            .current_dir(dir)
            .args(["--kill-after=5", &format!("{}", self.limits.timeout.as_secs().max(1))])
            .arg("prlimit")
            .arg(format!("--data={}", self.limits.memory_bytes))
            .arg("--")
            .args(line)
            .env_clear();
        for var in PASSED_VARS {
            if let Some(value) = std::env::var_os(var) {
                command.env(var, value);
            }
        }
        command
    }

    /// Run a limited build; its stderr on failure.
    fn run(&self, line: &[OsString], dir: &Path, extra_env: &[(&str, &Path)]) -> Result<(), BuildFailure> {
        let mut command = self.limited(line, dir);
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let output =
            command.output().map_err(|e| BuildFailure::Fatal(format!("cannot run the build: {e}")))?;
        if output.status.success() {
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(124 | 137) => Err(BuildFailure::Fatal(format!(
                "the build ran past its time limit of {} s",
                self.limits.timeout.as_secs()
            ))),
            _ if stderr.contains("memory allocation of") || stderr.contains("MemoryError") => {
                Err(BuildFailure::Fatal(format!(
                    "the build ran past its memory limit of {} MiB",
                    self.limits.memory_bytes >> 20
                )))
            }
            _ => Err(BuildFailure::Errors(compiler_errors(&stderr))),
        }
    }

    /// Build `source` as the `src/lib.rs` of crate `codegym-synth-<name>-<hash of dir>` in
    /// `dir` and return the core module.
    pub fn build_rust(&self, name: &str, source: &str, dir: &Path) -> Result<Vec<u8>, BuildFailure> {
        let fatal = |what: &str, e: std::io::Error| BuildFailure::Fatal(format!("{what}: {e}"));
        // The crate's directory in the name: two runs (two OUT directories) that synthesise
        // the same problem share the target directory but never an output file.
        // blake3, not `DefaultHasher`: the name lands on disk, so it must not change between
        // Rust releases.
        let dir_hash = blake3::hash(dir.as_os_str().as_encoded_bytes()).to_hex();
        let package = format!("codegym-synth-{name}-{}", &dir_hash[..16]);
        std::fs::create_dir_all(dir.join("src")).map_err(|e| fatal("creating the crate", e))?;
        let manifest = self.manifest(&package).map_err(|e| fatal("reading the workspace manifest", e))?;
        std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| fatal("writing Cargo.toml", e))?;
        std::fs::write(dir.join("src/lib.rs"), source).map_err(|e| fatal("writing src/lib.rs", e))?;
        let lock = dir.join("Cargo.lock");
        if !lock.exists() {
            // Our lock, with the new crate added and nothing else changed (`--workspace`
            // touches only members); the build then runs `--locked`.
            std::fs::copy(self.workspace.join("Cargo.lock"), &lock)
                .map_err(|e| fatal("copying Cargo.lock", e))?;
            let cargo = cargo();
            self.run(&[cargo.clone(), "update".into(), "--offline".into(), "--workspace".into()], dir, &[])
                .map_err(|f| match f {
                BuildFailure::Errors(e) | BuildFailure::Fatal(e) => {
                    BuildFailure::Fatal(format!("locking the crate: {e}"))
                }
            })?;
            // Nothing but the crate itself may be new.
            let read =
                |path: &Path| std::fs::read_to_string(path).map_err(|e| fatal("reading a lock file", e));
            let (ours, theirs) = (read(&self.workspace.join("Cargo.lock"))?, read(&lock)?);
            let ours = locked_packages(&ours);
            if let Some((name, version)) =
                locked_packages(&theirs).into_iter().find(|p| p.0 != package && !ours.contains(p))
            {
                let _ = std::fs::remove_file(&lock);
                return Err(BuildFailure::Fatal(format!(
                    "locking the crate would add {name} {version}, which the workspace's Cargo.lock does not have"
                )));
            }
        }
        let config = self.workspace.join(".cargo/config.toml");
        let mut line: Vec<OsString> = vec![cargo()];
        if config.is_file() {
            // The workspace's rustflags for wasm32 (stack size), so dependencies built by
            // `cargo xtask build-envs` are reused rather than rebuilt.
            line.extend(["--config".into(), config.into()]);
        }
        line.extend(
            [
                "build",
                "--offline",
                "--locked",
                "--profile",
                "wasm",
                "--target",
                "wasm32-unknown-unknown",
                "--message-format",
                "short",
                "--color",
                "never",
            ]
            .map(OsString::from),
        );
        self.run(&line, dir, &[("CARGO_TARGET_DIR", &self.target_dir)])?;
        let module = self
            .target_dir
            .join("wasm32-unknown-unknown/wasm")
            .join(format!("{}.wasm", package.replace('-', "_")));
        std::fs::read(&module).map_err(|e| fatal(&format!("reading {}", module.display()), e))
    }

    /// Our manifest for a generated crate: the SDK and the workspace's locked dependencies,
    /// no build script, no targets besides the library, the workspace's `wasm` profile.
    pub(crate) fn manifest(&self, package: &str) -> std::io::Result<String> {
        let root = std::fs::read_to_string(self.workspace.join("Cargo.toml"))?;
        let sdk = self.workspace.join("env-sdk");
        Ok(format!(
            r#"# Written by codegym synth: the generated code may only replace src/lib.rs.
[package]
name = "{package}"
version = "0.1.0"
edition = "2024"
publish = false
build = false
autobins = false
autoexamples = false
autotests = false
autobenches = false

[lib]
crate-type = ["cdylib"]
path = "src/lib.rs"
proc-macro = false

[dependencies]
codegym-env-sdk = {{ path = {sdk:?} }}
serde = {{ version = "1", default-features = false, features = ["derive", "alloc", "std"] }}
serde_json = {{ version = "1", default-features = false, features = ["alloc", "std"] }}
schemars = {{ version = "1.2", default-features = false, features = ["derive", "std"] }}

# Its own workspace, so it never joins the one it is built beside.
[workspace]

{profile}"#,
            sdk = sdk.display().to_string(),
            profile = section(&root, "[profile.wasm]").unwrap_or("[profile.wasm]\ninherits = \"release\"\n"),
        ))
    }
}

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// The text of a TOML section (its header line to the next header), if present.
fn section<'a>(manifest: &'a str, header: &str) -> Option<&'a str> {
    let start = manifest.find(&format!("\n{header}\n")).map(|i| i + 1)?;
    let body = &manifest[start + header.len() + 1..];
    let end = body.find("\n[").map_or(body.len(), |i| i + 1);
    Some(&manifest[start..start + header.len() + 1 + end])
}

/// `(name, version)` of every `[[package]]` in a lock file.
fn locked_packages(lock: &str) -> std::collections::BTreeSet<(&str, &str)> {
    fn value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
        line.strip_prefix(key)?.strip_prefix(" = \"")?.strip_suffix('"')
    }
    lock.split("[[package]]")
        .skip(1)
        .filter_map(|entry| {
            let mut lines = entry.lines();
            let name = lines.find_map(|line| value(line, "name"))?;
            let version = lines.find_map(|line| value(line, "version"))?;
            Some((name, version))
        })
        .collect()
}

/// The lines of a failed build's stderr a model can act on: cargo's progress lines left out.
fn compiler_errors(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            let line = line.trim_start();
            !(line.starts_with("Compiling ")
                || line.starts_with("Blocking ")
                || line.starts_with("Updating ")
                || line.starts_with("Locking "))
        })
        .collect();
    crate::prompt::clip(lines.join("\n").trim(), 8000)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::Path;
    use std::time::Duration;

    use super::{BuildFailure, BuildLimits, Toolchain, section};

    /// `script` run by `sh` as a build, under `limits`.
    fn build(dir: &Path, script: &str, limits: BuildLimits) -> BuildFailure {
        let toolchain = Toolchain {
            workspace: dir.to_owned(),
            target_dir: dir.join("target"),
            python_runtime: dir.join("python-runtime.wasm"),
            limits,
        };
        let line: Vec<OsString> = ["sh", "-c", script].map(OsString::from).into();
        toolchain.run(&line, dir, &[]).expect_err("the stand-in build fails")
    }

    #[test]
    fn a_build_past_its_time_limit_is_killed_with_its_children() {
        let dir = tempfile::tempdir().expect("temp dir");
        let marker = dir.path().join("child-survived");
        // The child outlives the script unless the whole process group is killed.
        let script = format!("(sleep 3; touch {}) & sleep 30", marker.display());
        let limits = BuildLimits { timeout: Duration::from_secs(1), ..BuildLimits::default() };
        let failure = build(dir.path(), &script, limits);
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
        let failure = build(dir.path(), "exec python3 -c 'block = bytearray(1 << 30)'", limits);
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
        let failure = build(dir.path(), "env >&2; exit 1", BuildLimits::default());
        let BuildFailure::Errors(printed) = failure else { panic!("{failure:?}") };
        let names: Vec<&str> =
            printed.lines().filter_map(|line| line.split_once('=').map(|(k, _)| k)).collect();
        assert!(names.contains(&"PATH"), "{printed}");
        assert!(!names.contains(&"CARGO_MANIFEST_DIR"), "{printed}");
        let allowed =
            ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "TMPDIR", "PWD", "SHLVL", "_"];
        assert!(names.iter().all(|name| allowed.contains(name)), "{names:?}");
    }

    #[test]
    fn locked_packages_are_read_by_name_and_version() {
        let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"x\"\n\n\
                    [[package]]\nname = \"b\"\nversion = \"0.2.1\"\ndependencies = [\n \"a\",\n]\n";
        let packages: Vec<(&str, &str)> = super::locked_packages(lock).into_iter().collect();
        assert_eq!(packages, [("a", "1.0.0"), ("b", "0.2.1")]);
    }

    #[test]
    fn section_is_cut_at_the_next_header() {
        let manifest = "[a]\nx = 1\n\n[profile.wasm]\ninherits = \"release\"\nlto = true\n\n[b]\ny = 2\n";
        assert_eq!(
            section(manifest, "[profile.wasm]"),
            Some("[profile.wasm]\ninherits = \"release\"\nlto = true\n\n")
        );
        assert_eq!(section(manifest, "[c]"), None);
    }
}
