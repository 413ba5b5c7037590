//! `cargo xtask web`: the browser playground into `target/web` — every environment of
//! `target/envs` (components transpiled by jco; Python packages with the one shared runtime
//! they name, transpiled once), codegym-core's parser and renderer as one more zero-import
//! component (`web/core`), the page (`web/site`) and an index of the environments
//! (`envs.json`). `web/build.mjs` does the JavaScript side, from the plan this writes.
//!
//! A browser runs wasm natively: its NaNs have the CPU's bits and its relaxed SIMD the CPU's
//! answers, where the host pins both. So the page gets each component, runtimes included,
//! with NaN canonicalisation written into its code ([`pin`]), and none that uses relaxed SIMD.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::tasks::run_command;
use crate::{components, setup};

/// Where the site is built.
pub fn site_dir(root: &Path) -> PathBuf {
    root.join("target/web")
}

/// Node.js, which runs jco and the playground's tests.
pub fn node() -> Result<PathBuf> {
    setup::find_program("node").context("no node on PATH; the browser playground needs Node.js 20+")
}

/// The environments of `target/test-envs` (files under it) the playground's tests need in
/// the site: the hostile component and package, the determinism fixtures and a CodeGym-style
/// package that carries its configs.
pub const TEST_EXTRAS: [&str; 5] = [
    "hostile.wasm",
    "hostile-py.pyenv",
    "nan-bits.wasm",
    "relaxed-simd.wasm",
    "codegym/leetcode-0739-a-dailytemperaturesenv.pyenv",
];

/// Build the site from the environments in `target/envs` (built already), plus the `extra`
/// component or package files named (the tests' [`TEST_EXTRAS`] and more), with the CLI at
/// `codegym` (which lists them, loading each as the host does; `cache` is its compile
/// cache, if not the default).
pub fn build(root: &Path, codegym: &Path, cache: Option<&Path>, extra: &[PathBuf]) -> Result<PathBuf> {
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

    let mut plan = Plan::new(codegym, cache, scratch.join("pinned"))?;
    plan.add_dir(&root.join("target/envs"))?;
    for file in extra {
        plan.add_extra(file)?;
    }
    plan.finish()?;
    let plan_file = scratch.join("plan.json");
    std::fs::write(&plan_file, plan.to_json(&core).to_string())?;

    let out = site_dir(root);
    run_command(
        Command::new(node()?)
            .current_dir(root)
            .arg("web/build.mjs")
            .arg("--plan")
            .arg(&plan_file)
            .arg("--out")
            .arg(&out),
    )
    .context("building the playground")?;
    Ok(out)
}

/// A test fixture: house-robber's package renamed `tampered-runtime` and naming a runtime
/// one digit off its own, in a directory of its own (`target/web-build/tampered/`).
pub fn tampered_package(root: &Path) -> Result<PathBuf> {
    let source = root.join("target/envs/house-robber.pyenv");
    let bytes = std::fs::read(&source).with_context(|| format!("reading {}", source.display()))?;
    let mut package: Value = serde_json::from_slice(&bytes)?;
    let mut runtime = package_runtime(&source)?;
    let last = if runtime.ends_with('0') { "1" } else { "0" };
    runtime.replace_range(63.., last);
    package["runtime"] = runtime.into();
    package["name"] = "tampered-runtime".into();
    package["info"]["name"] = "tampered-runtime".into();
    let dir = root.join("target/web-build/tampered");
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("tampered-runtime.pyenv");
    std::fs::write(&file, package.to_string())?;
    Ok(file)
}

/// Why the browser cannot run a component as the host does.
const RELAXED_SIMD: &str = "uses relaxed SIMD, whose results differ between CPUs in a browser";

/// What goes into the site, for `build.mjs`: each environment offered (a pinned component,
/// or a package and the runtime it names), each runtime once (pinned), and each environment
/// refused with the reason.
struct Plan {
    codegym: PathBuf,
    cache: Option<PathBuf>,
    /// Where pinned copies go: `<name>.wasm` for components, `runtimes/<blake3>.wasm`.
    pinned: PathBuf,
    /// `codegym list` of each directory: what it listed, and why it skipped the others.
    listed: BTreeMap<PathBuf, Listing>,
    envs: Vec<Value>,
    /// Runtime blake3 → its pinned copy, or why it is refused.
    runtimes: BTreeMap<String, Result<PathBuf, &'static str>>,
    refused: Vec<Value>,
    rewritten: usize,
    started: std::time::Instant,
}

/// `codegym list --json` of a directory.
struct Listing {
    infos: Vec<Value>,
    /// Name → the host's reason for skipping it (`warning: skipping NAME: REASON`).
    skipped: BTreeMap<String, String>,
}

impl Plan {
    fn new(codegym: &Path, cache: Option<&Path>, pinned: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(pinned.join("runtimes"))?;
        Ok(Self {
            codegym: codegym.to_owned(),
            cache: cache.map(Path::to_owned),
            pinned,
            listed: BTreeMap::new(),
            envs: Vec::new(),
            runtimes: BTreeMap::new(),
            refused: Vec::new(),
            rewritten: 0,
            started: std::time::Instant::now(),
        })
    }

    /// Every environment of `dir`, in `codegym list`'s order, then those it skipped.
    fn add_dir(&mut self, dir: &Path) -> Result<()> {
        let listing = self.listing(dir)?;
        let names: Vec<String> =
            listing.infos.iter().filter_map(|info| info["name"].as_str().map(str::to_owned)).collect();
        let skipped: Vec<(String, String)> = listing.skipped.clone().into_iter().collect();
        for name in names {
            let component = dir.join(format!("{name}.wasm"));
            let file = if component.is_file() { component } else { dir.join(format!("{name}.pyenv")) };
            self.add(&file, false)?;
        }
        for (name, reason) in skipped {
            self.refuse(&name, reason);
        }
        Ok(())
    }

    /// One more environment file (`.wasm` or `.pyenv`), whose directory `codegym list` lists.
    fn add_extra(&mut self, file: &Path) -> Result<()> {
        let dir = file.parent().context("an environment file's directory")?;
        self.listing(dir)?;
        self.add(file, true)
    }

    /// `codegym list` of `dir`, run once.
    fn listing(&mut self, dir: &Path) -> Result<&Listing> {
        if !self.listed.contains_key(dir) {
            let listing = list(&self.codegym, self.cache.as_deref(), dir)?;
            self.listed.insert(dir.to_owned(), listing);
        }
        Ok(&self.listed[dir])
    }

    fn add(&mut self, file: &Path, extra: bool) -> Result<()> {
        let name = file.file_stem().and_then(|n| n.to_str()).context("an environment's name")?.to_owned();
        let dir = file.parent().context("an environment file's directory")?;
        let listing = &self.listed[dir];
        let Some(info) = listing.infos.iter().find(|info| info["name"] == name.as_str()).cloned() else {
            let reason = listing.skipped.get(&name).cloned();
            self.refuse(
                &name,
                reason.unwrap_or_else(|| format!("codegym list did not list {}", file.display())),
            );
            return Ok(());
        };
        if file.extension().is_some_and(|e| e == "pyenv") {
            let runtime = package_runtime(file)?;
            let source = dir.join("runtimes").join(format!("{runtime}.wasm"));
            if !source.is_file() {
                // Where the host looks first: `codegym list` found it elsewhere.
                self.refuse(&name, format!("its Python runtime is not at {}", source.display()));
                return Ok(());
            }
            match self.runtime(&runtime, &source)? {
                Ok(()) => self.envs.push(json!({
                    "name": name, "info": info, "extra": extra, "package": file, "runtime": runtime,
                })),
                Err(why) => self.refuse(&name, format!("its Python runtime {runtime} {why}")),
            }
        } else {
            let pinned = self.pinned.join(format!("{name}.wasm"));
            match self.pin(file, &pinned)? {
                Ok(()) => {
                    self.envs.push(json!({"name": name, "info": info, "extra": extra, "component": pinned}))
                }
                Err(why) => self.refuse(&name, why.to_owned()),
            }
        }
        Ok(())
    }

    /// The runtime `hash` (at `source`) pinned once for every package that names it.
    fn runtime(&mut self, hash: &str, source: &Path) -> Result<Result<(), &'static str>> {
        if !self.runtimes.contains_key(hash) {
            let pinned = self.pinned.join("runtimes").join(format!("{hash}.wasm"));
            let pinned = self.pin(source, &pinned)?.map(|()| pinned);
            self.runtimes.insert(hash.to_owned(), pinned);
        }
        Ok(self.runtimes[hash].as_ref().map(|_| ()).map_err(|why| *why))
    }

    /// `source` with NaN canonicalisation written into its code, at `pinned` (rewritten only
    /// when the source is newer), or refused for relaxed SIMD (a `.refused` marker beside it).
    fn pin(&mut self, source: &Path, pinned: &Path) -> Result<Result<(), &'static str>> {
        let marker = pinned.with_extension("refused");
        if !components::is_fresh(pinned, source) && !components::is_fresh(&marker, source) {
            let bytes = std::fs::read(source).with_context(|| format!("reading {}", source.display()))?;
            if codegym_componentize::uses_relaxed_simd(&bytes)? {
                std::fs::write(&marker, RELAXED_SIMD)?;
                let _ = std::fs::remove_file(pinned);
            } else {
                let canonical = codegym_componentize::canonicalize_nans(&bytes)
                    .with_context(|| format!("canonicalising the NaNs of {}", source.display()))?;
                std::fs::write(pinned, canonical)?;
                let _ = std::fs::remove_file(&marker);
            }
            self.rewritten += 1;
        }
        Ok(if marker.exists() { Err(RELAXED_SIMD) } else { Ok(()) })
    }

    fn refuse(&mut self, name: &str, reason: String) {
        eprintln!("skipping {name}: {reason}");
        self.refused.push(json!({"name": name, "reason": reason}));
    }

    /// Report the pinning, and delete pinned copies nothing uses any more.
    fn finish(&self) -> Result<()> {
        if self.rewritten > 0 {
            eprintln!(
                "canonicalised the NaNs of {} components for the browser in {:.1}s",
                self.rewritten,
                self.started.elapsed().as_secs_f64()
            );
        }
        let used = |path: &Path| {
            let stem = path.file_stem().and_then(|n| n.to_str()).unwrap_or_default();
            self.envs.iter().any(|env| env["component"].is_string() && env["name"] == stem)
                || self.runtimes.contains_key(stem)
                || self.refused.iter().any(|r| r["name"] == stem)
        };
        for dir in [self.pinned.clone(), self.pinned.join("runtimes")] {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_file() && !used(&path) {
                    std::fs::remove_file(&path)?;
                }
            }
        }
        Ok(())
    }

    fn to_json(&self, core: &Path) -> Value {
        let runtimes: BTreeMap<&String, &PathBuf> =
            self.runtimes.iter().filter_map(|(hash, pinned)| Some((hash, pinned.as_ref().ok()?))).collect();
        json!({"core": core, "envs": self.envs, "runtimes": runtimes, "refused": self.refused})
    }
}

/// The runtime (blake3 hex) a package names.
fn package_runtime(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let package: Value =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", file.display()))?;
    match package["runtime"].as_str() {
        Some(hash) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(hash.to_owned()),
        _ => bail!("{} names no runtime (a blake3 in hex)", file.display()),
    }
}

/// `codegym list --json` of the environments in `dir`.
fn list(codegym: &Path, cache: Option<&Path>, dir: &Path) -> Result<Listing> {
    let mut list = Command::new(codegym);
    list.arg("--env-dir").arg(dir);
    if let Some(cache) = cache {
        list.arg("--cache-dir").arg(cache);
    }
    let listed = list.args(["list", "--json"]).output().context("running codegym list")?;
    let stderr = String::from_utf8_lossy(&listed.stderr);
    if !listed.status.success() {
        bail!("codegym list failed: {stderr}");
    }
    let infos = serde_json::from_slice(&listed.stdout).context("parsing codegym list --json")?;
    let skipped = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("warning: skipping ")?.split_once(": "))
        .map(|(name, reason)| (name.to_owned(), reason.to_owned()))
        .collect();
    Ok(Listing { infos, skipped })
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
