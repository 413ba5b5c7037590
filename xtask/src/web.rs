//! `cargo xtask web`: the browser playground into `target/web` — every component of
//! `target/envs` transpiled by jco, codegym-core's parser and renderer as one more
//! zero-import component (`web/core`), the page (`web/site`) and an index of the
//! environments (`envs.json`). `web/build.mjs` does the JavaScript side.
//!
//! A browser runs wasm natively: its NaNs have the CPU's bits and its relaxed SIMD the CPU's
//! answers, where the host pins both. So the page gets each component with NaN
//! canonicalisation written into its code ([`pin`]), and none that uses relaxed SIMD.

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

/// The components of `target/test-envs` the playground's tests need in the site.
pub const TEST_EXTRAS: [&str; 3] = ["hostile", "nan-bits", "relaxed-simd"];

/// Build the site from the components in `target/envs` (built already), plus the `extra`
/// components of `target/test-envs` named ([`TEST_EXTRAS`] for the tests), with the CLI at
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
    let test_envs = root.join("target/test-envs");
    let pinned = scratch.join("pinned");
    let refused = pin(&envs, &test_envs, extra, &pinned)?;
    let refused_file = scratch.join("refused.json");
    std::fs::write(&refused_file, refused_json(&refused))?;
    let list_file = scratch.join("envs-list.json");
    std::fs::write(&list_file, list(codegym, cache, &envs)?)?;
    let extra_list = scratch.join("extra-list.json");
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
            .arg(&pinned)
            .arg("--core")
            .arg(&core)
            .arg("--list")
            .arg(&list_file)
            .arg("--refused")
            .arg(&refused_file)
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

/// Why the browser cannot run a component as the host does.
const RELAXED_SIMD: &str = "uses relaxed SIMD, whose results differ between CPUs in a browser";

/// A component the page does not get, and why.
struct Refused {
    name: String,
    reason: &'static str,
}

/// Every component of `envs`, and the `extra` ones of `test_envs`, with NaN canonicalisation
/// written into its code, into `out` (rewritten only when its source is newer); those that
/// use relaxed SIMD are refused instead (a `<name>.refused` marker), and returned.
fn pin(envs: &Path, test_envs: &Path, extra: &[&str], out: &Path) -> Result<Vec<Refused>> {
    std::fs::create_dir_all(out)?;
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(envs).with_context(|| format!("reading {}", envs.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            sources.push(path);
        }
    }
    sources.sort();
    sources.extend(extra.iter().map(|name| test_envs.join(format!("{name}.wasm"))));
    let started = std::time::Instant::now();
    let mut rewritten = 0;
    let mut refused = Vec::new();
    for source in sources {
        let name = source.file_stem().and_then(|n| n.to_str()).context("a component's name")?.to_owned();
        let pinned = out.join(format!("{name}.wasm"));
        let marker = out.join(format!("{name}.refused"));
        if !components::is_fresh(&pinned, &source) && !components::is_fresh(&marker, &source) {
            let bytes = std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
            if codegym_componentize::uses_relaxed_simd(&bytes)? {
                std::fs::write(&marker, RELAXED_SIMD)?;
                let _ = std::fs::remove_file(&pinned);
            } else {
                let canonical = codegym_componentize::canonicalize_nans(&bytes)
                    .with_context(|| format!("canonicalising the NaNs of {name}"))?;
                std::fs::write(&pinned, canonical)?;
                let _ = std::fs::remove_file(&marker);
            }
            rewritten += 1;
        }
        if marker.exists() {
            eprintln!("skipping {name}: {RELAXED_SIMD}");
            refused.push(Refused { name, reason: RELAXED_SIMD });
        }
    }
    if rewritten > 0 {
        eprintln!(
            "canonicalised the NaNs of {rewritten} components for the browser in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(refused)
}

/// `[{"name": …, "reason": …}, …]`.
fn refused_json(refused: &[Refused]) -> String {
    let string = |text: &str| {
        let mut quoted = String::from('"');
        for c in text.chars() {
            match c {
                '"' | '\\' => quoted.extend(['\\', c]),
                c if c.is_control() => quoted += &format!("\\u{:04x}", u32::from(c)),
                c => quoted.push(c),
            }
        }
        quoted + "\""
    };
    let entries: Vec<String> = refused
        .iter()
        .map(|r| format!("{{\"name\": {}, \"reason\": {}}}", string(&r.name), string(r.reason)))
        .collect();
    format!("[{}]", entries.join(", "))
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
            .env("CODEGYM_TEST_ENVS", root.join("target/test-envs"))
            .env("CODEGYM_CACHE", cache)
            .env("CODEGYM_WEB", site_dir(root))
            .env("CHROMIUM", chromium)
            // The README's picture (docs/playground.png) is a copy of this.
            .env("CODEGYM_SCREENSHOT", root.join("target/web-build/playground.png")),
    )
    .context("the browser playground's tests failed")
}
