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

/// The Python test environment: the client package (editable) and its test requirements,
/// pinned in `clients/python/pyproject.toml`.
const PYTHON_PROJECT: &str = "clients/python";

/// What builds Python environments into components (`cargo xtask build-py`,
/// `codegym build-py`), in a venv of its own: the build tool has nothing to do with the
/// client's test requirements.
const PY_BUILD_REQUIREMENTS: &[&str] = &["componentize-py==0.25.1"];

pub fn setup(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    ensure_debian_packages(DEBIAN_PACKAGES)?;
    ensure_python_venv(root)?;
    ensure_py_build_venv(root)?;
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

/// The venv's Python.
pub fn venv_python(root: &Path) -> PathBuf {
    root.join("target/venv/bin/python")
}

/// A venv at `target/venv` with the Python client installed editable plus its test extras.
/// A stamp holding the project file's contents marks it done; a changed file reinstalls.
fn ensure_python_venv(root: &Path) -> Result<()> {
    let project = root.join(PYTHON_PROJECT);
    let pyproject = project.join("pyproject.toml");
    if !pyproject.is_file() {
        return Ok(());
    }
    let wanted = std::fs::read(&pyproject).with_context(|| format!("reading {}", pyproject.display()))?;
    let venv = root.join("target/venv");
    let stamp = venv.join("codegym-setup.stamp");
    if std::fs::read(&stamp).is_ok_and(|done| done == wanted) && venv_python(root).is_file() {
        return Ok(());
    }
    let python = ["python3", "python"].into_iter().find_map(find_program);
    let Some(python) = python else { bail!("no python3 on PATH; the Python client tests need it") };
    eprintln!("xtask setup: creating {} with {PYTHON_PROJECT}[test]", venv.display());
    run_command(Command::new(python).arg("-m").arg("venv").arg(&venv))?;
    run_command(
        Command::new(venv_python(root))
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--editable"])
            .arg(format!("{}[test]", project.display())),
    )
    .context("cannot install the Python client's test requirements (network?)")?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
}

/// The Python of the build venv for Python environments.
pub fn py_build_python(root: &Path) -> PathBuf {
    root.join("target/py-build-venv/bin/python")
}

/// Written when the build venv holds exactly [`PY_BUILD_REQUIREMENTS`].
pub fn py_build_stamp(root: &Path) -> PathBuf {
    root.join("target/py-build-venv/codegym-setup.stamp")
}

/// A venv at `target/py-build-venv` with the pinned componentize-py. A stamp holding the
/// requirements marks it done; changed requirements reinstall.
pub fn ensure_py_build_venv(root: &Path) -> Result<()> {
    let wanted = PY_BUILD_REQUIREMENTS.join("\n");
    let stamp = py_build_stamp(root);
    let python = py_build_python(root);
    if std::fs::read_to_string(&stamp).is_ok_and(|done| done == wanted) && python.is_file() {
        return Ok(());
    }
    let system = ["python3", "python"].into_iter().find_map(find_program);
    let Some(system) = system else { bail!("no python3 on PATH; building Python environments needs it") };
    let venv = root.join("target/py-build-venv");
    eprintln!("xtask setup: creating {} with {}", venv.display(), PY_BUILD_REQUIREMENTS.join(" "));
    run_command(Command::new(system).arg("-m").arg("venv").arg(&venv))?;
    run_command(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(PY_BUILD_REQUIREMENTS),
    )
    .context("cannot install componentize-py (network?)")?;
    std::fs::write(&stamp, wanted)?;
    Ok(())
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
