//! `cargo xtask web`: the browser playground into `target/web` — every component of
//! `target/envs` transpiled by jco, codegym-core's parser and renderer as one more
//! zero-import component (`web/core`), the page (`web/site`) and an index of the
//! environments (`envs.json`). `web/build.mjs` does the JavaScript side.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::tasks::run_command;
use crate::{components, python, setup};

/// Where the site is built.
pub fn site_dir(root: &Path) -> PathBuf {
    root.join("target/web")
}

/// Node.js, which runs jco and the playground's tests.
pub fn node() -> Result<PathBuf> {
    setup::find_program("node").context("no node on PATH; the browser playground needs Node.js 20+")
}

/// Build the site from the components in `target/envs` (built already), plus the `extra`
/// components of `target/test-envs` named (the tests' hostile environment), with the CLI at
/// `codegym` (which lists them; `cache` is its compile cache, if not the default).
pub fn build(root: &Path, codegym: &Path, cache: Option<&Path>, extra: &[&str]) -> Result<PathBuf> {
    setup::ensure_web_deps(root)?;
    let scratch = root.join("target/web-build");
    std::fs::create_dir_all(&scratch)?;

    // codegym-core for the page: a component of the `web-core` world (web/core/wit).
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(root).args([
        "build",
        "--quiet",
        "--profile",
        "wasm",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "codegym-web-core",
    ]);
    run_command(&mut cargo)?;
    let module = root.join("target/wasm32-unknown-unknown/wasm/codegym_web_core.wasm");
    let core = scratch.join("web-core.wasm");
    let bytes = std::fs::read(&module).with_context(|| format!("reading {}", module.display()))?;
    let component = components::encode(&bytes).context("componentizing web/core")?;
    if std::fs::read(&core).ok().as_deref() != Some(component.as_slice()) {
        std::fs::write(&core, component)?;
    }

    // The index: what `codegym list --json` says of every component.
    let envs = root.join("target/envs");
    let list_file = scratch.join("envs-list.json");
    std::fs::write(&list_file, list(codegym, cache, &envs)?)?;
    let extra_list = scratch.join("extra-list.json");
    let test_envs = root.join("target/test-envs");
    std::fs::write(
        &extra_list,
        if extra.is_empty() { b"[]".to_vec() } else { list(codegym, cache, &test_envs)? },
    )?;

    let python: Vec<String> =
        python::discover(&root.join("envs-py"))?.into_iter().map(|env| env.name).collect();
    let out = site_dir(root);
    run_command(
        Command::new(node()?)
            .current_dir(root)
            .arg("web/build.mjs")
            .arg("--envs")
            .arg(&envs)
            .arg("--core")
            .arg(&core)
            .arg("--list")
            .arg(&list_file)
            .arg("--extra-envs")
            .arg(&test_envs)
            .arg("--extra-list")
            .arg(&extra_list)
            .arg("--extra")
            .arg(extra.join(","))
            .arg("--python")
            .arg(python.join(","))
            .arg("--out")
            .arg(&out),
    )
    .context("building the playground")?;
    Ok(out)
}

/// `codegym list --json` of the components in `dir`.
fn list(codegym: &Path, cache: Option<&Path>, dir: &Path) -> Result<Vec<u8>> {
    let mut list = Command::new(codegym);
    list.arg("--env-dir").arg(dir);
    if let Some(cache) = cache {
        list.arg("--cache-dir").arg(cache);
    }
    let listed = list.args(["list", "--json"]).output().context("running codegym list")?;
    if !listed.status.success() {
        bail!("codegym list failed: {}", String::from_utf8_lossy(&listed.stderr));
    }
    Ok(listed.stdout)
}

/// The playground's tests (`web/tests`, node's test runner driving headless Chromium),
/// against the CLI at `codegym`.
pub fn test(root: &Path, codegym: &Path, cache: &Path) -> Result<()> {
    let chromium = setup::find_program("chromium").context("no chromium on PATH (cargo xtask setup)")?;
    run_command(
        Command::new(node()?)
            .current_dir(root)
            .args(["--test", "--test-reporter=spec", "web/tests/"])
            .env("CODEGYM_BIN", codegym)
            .env("CODEGYM_ENVS", root.join("target/envs"))
            .env("CODEGYM_CACHE", cache)
            .env("CODEGYM_WEB", site_dir(root))
            .env("CHROMIUM", chromium)
            // The README's picture (docs/playground.png) is a copy of this.
            .env("CODEGYM_SCREENSHOT", root.join("target/web-build/playground.png")),
    )
    .context("the browser playground's tests failed")
}
