use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{components, openenv, python, python_package, setup, web};

const HELP: &str = "\
cargo xtask <task>

Tasks:
  demo         install the wasm target if missing, build the environments, run oracle and
               random rollouts over all of them and print the tables
  test         install what the tests need, build the environments (and the hostile test
               components), then run every test suite, rustfmt and clippy
  build-envs [NAME...]
               build envs/* into components at target/envs/<name>.wasm, the shared Python
               runtime (componentize-py, once: target/py-runtime/) and envs-py/*.py into
               packages on it at target/envs/<name>.pyenv (and tests/envs/*,
               tests/envs-py/*.py into target/test-envs/, the CodeGym-style files
               tests/envs-py/codegym/*.py with their *.jsonl configs into
               target/test-envs/codegym/); with names, only those
  build-py [NAME...]
               build only the shared Python runtime and the Python environments
               envs-py/*.py (`codegym build-py`: each named after its file, with FILE.jsonl
               as its configs if there is one)
  web [--open | --test]
               build the browser playground into target/web (the environments transpiled
               by jco, codegym-core as a component, the page); --open serves it with
               `codegym serve` on 127.0.0.1:8000 and opens a browser; --test builds it with
               the test components and runs only its Chromium tests (as `test` does; it
               builds nothing else: run build-envs and build the CLI first)
  setup        install what the tests need and is not Rust: Debian nginx and chromium, a
               venv for the `codegym` Python package (target/venv: maturin, httpx, ray, pytest),
               a venv with componentize-py (target/py-build-venv), one with openenv-core for
               the OpenEnv protocol's tests (target/openenv-venv), one with the released
               trainers (torch, transformers, trl, verl, mcp: target/trainers-venv) for the
               integrations' tests, the playground's npm packages (web/node_modules);
               idempotent, offline once done
  bench        run the criterion benchmarks, `codegym bench --json` and
               `codegym bench server --json`
  bench-openenv [SECONDS]
               our OpenEnv server (/openenv/binary-search) and OpenEnv's own (the echo
               environment of `openenv init`, on openenv-core) under the same lock-step
               WebSocket load at 1, 16 and 64 sessions, servers on core 0, client on core 1;
               SECONDS per row (default 5)
  help         this text
";

pub fn run(args: &[String]) -> Result<()> {
    let root = root();
    match args.first().map(String::as_str) {
        Some("build-envs") => build_envs(&root, &args[1..]),
        Some("build-py") => build_py(&root, &args[1..]),
        Some("demo") => demo(&root),
        Some("test") => test(&root),
        Some("setup") => setup::setup(&root),
        Some("bench") => bench(&root),
        Some("bench-openenv") => bench_openenv(&root, &args[1..]),
        Some("web") => web_task(&root, &args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{HELP}"),
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_owned)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub fn run_command(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

/// Build the environments, Rust and Python; `only` (names) restricts it to some of them.
fn build_envs(root: &Path, only: &[String]) -> Result<()> {
    let py_envs = python_envs(root, only)?;
    let rust_only: Vec<String> =
        only.iter().filter(|name| !py_envs.iter().any(|e| &&e.name == name)).cloned().collect();
    if only.is_empty() || !rust_only.is_empty() {
        build_rust_envs(root, &rust_only)?;
    }
    if only.is_empty() || !py_envs.is_empty() {
        build_python_envs(root, &py_envs, !only.is_empty())?;
    }
    Ok(())
}

/// The shared Python runtime, then `envs` (all of envs-py/ unless `only_some`) as packages on
/// it, and with all of them the test packages of tests/envs-py/ and tests/envs-py/codegym/.
fn build_python_envs(root: &Path, envs: &[python::PySource], only_some: bool) -> Result<()> {
    let started = std::time::Instant::now();
    python::build_runtime(root)?;
    build_cli(root)?;
    let codegym = root.join("target/debug/codegym");
    python::build_packages(&codegym, &root.join("envs-py"), envs, only_some, &root.join("target/envs"))?;
    let mut tests = 0;
    if !only_some {
        for (dir, out) in
            [("tests/envs-py", "target/test-envs"), ("tests/envs-py/codegym", "target/test-envs/codegym")]
        {
            let sources = python::discover(&root.join(dir))?;
            tests += sources.len();
            python::build_packages(&codegym, &root.join(dir), &sources, false, &root.join(out))?;
        }
    }
    eprintln!(
        "built {} Python environment packages into target/envs and {tests} into target/test-envs in {:.1}s",
        envs.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The Python environments `envs-py/<name>.py`: all, or those in `only` (names that are
/// not Python environments are left to the Rust build).
fn python_envs(root: &Path, only: &[String]) -> Result<Vec<python::PySource>> {
    Ok(python::discover(&root.join("envs-py"))?
        .into_iter()
        .filter(|env| only.is_empty() || only.contains(&env.name))
        .collect())
}

/// Build only the Python environments (all, or those named).
fn build_py(root: &Path, only: &[String]) -> Result<()> {
    let envs = python_envs(root, only)?;
    if let Some(unknown) = only.iter().find(|name| !envs.iter().any(|e| &&e.name == name)) {
        bail!("no file envs-py/{unknown}.py");
    }
    build_python_envs(root, &envs, !only.is_empty())
}

/// Build the Rust environment crates (all, or those named) and the Rust test components.
fn build_rust_envs(root: &Path, only: &[String]) -> Result<()> {
    setup::ensure_wasm_target()?;
    let started = std::time::Instant::now();
    let selected = |crates: Vec<components::EnvCrate>| -> Vec<_> {
        crates.into_iter().filter(|c| only.is_empty() || only.contains(&c.name)).collect()
    };
    let mut crates = selected(components::discover(&root.join("envs"))?);
    if let Some(unknown) = only.iter().find(|name| !crates.iter().any(|c| &&c.name == name)) {
        bail!("no environment crate envs/{unknown} nor file envs-py/{unknown}.py");
    }
    let shipped = crates.len();
    let test_crates =
        if only.is_empty() { components::discover(&root.join("tests/envs"))? } else { Vec::new() };
    let tests = test_crates.len();
    crates.extend(test_crates);
    // One cargo invocation for every crate, then split the outputs.
    let (shipped_crates, test_crates) = crates.split_at(shipped);
    components::build(root, &crates, &root.join("target/envs"), shipped_crates)?;
    components::wrap(root, test_crates, &root.join("target/test-envs"))?;
    if let Some(krate) = shipped_crates.iter().find(|c| c.name == "binary-search") {
        components::wrap_keeping_post_return(root, krate, &root.join("target/test-envs/kept-post-return"))?;
    }
    eprintln!(
        "built {shipped} environment components into target/envs and {tests} test components into \
         target/test-envs in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The CLI as built by [`build_cli`].
fn codegym(root: &Path) -> Command {
    Command::new(root.join("target/debug/codegym"))
}

/// The packages the CLI, the demo and the tests build together: the workspace without
/// xtask (built with its own features by `cargo xtask`) and without the trainer, which links
/// libtorch (installed by `cargo xtask setup`, which the demo does not need) and is built and
/// tested on its own. One selection means one feature set, so all of them share one build of
/// wasmtime (`cargo build -p codegym-cli` alone could resolve fewer features and rebuild).
/// Everything but xtask and the trainer (libtorch, after setup).
const CORE_PACKAGES: [&str; 5] = ["--workspace", "--exclude", "xtask", "--exclude", "codegym-trainer"];

/// The trainer package, built and tested after [`CORE_PACKAGES`].
const TRAINER_PACKAGE: [&str; 2] = ["--package", "codegym-trainer"];

/// Build the CLI (and every binary of [`CORE_PACKAGES`]).
fn build_cli(root: &Path) -> Result<()> {
    run_command(
        cargo()
            .current_dir(root)
            .args(["build", "--quiet", "--profile", "dev", "--bins"])
            .args(CORE_PACKAGES),
    )
}

/// Every environment for the demo and the benchmarks. The Python ones need componentize-py:
/// installing it is the one network step (once); without it the Rust ones are built alone.
fn build_envs_for_demo(root: &Path) -> Result<()> {
    match setup::PY_BUILD_VENV.ensure(root) {
        Ok(()) => build_envs(root, &[]),
        Err(error) => {
            eprintln!("xtask: skipping the Python environments: {error:#}");
            build_rust_envs(root, &[])
        }
    }
}

fn demo(root: &Path) -> Result<()> {
    build_envs_for_demo(root)?;
    build_cli(root)?;
    println!("\n== codegym list\n");
    run_command(codegym(root).arg("list"))?;
    println!("\n== codegym rollout --envs all --policy oracle --episodes 20 (per env)\n");
    run_command(codegym(root).args(["rollout", "--envs", "all", "--policy", "oracle", "--episodes", "20"]))?;
    println!("\n== codegym rollout --envs all --policy random --episodes 20 (per env)\n");
    run_command(codegym(root).args(["rollout", "--envs", "all", "--policy", "random", "--episodes", "20"]))?;
    println!("\nNext: `target/debug/codegym play binary-search` to play one yourself.");
    Ok(())
}

fn test(root: &Path) -> Result<()> {
    run_command(cargo().current_dir(root).args(["fmt", "--all", "--check"]))
        .context("code is not formatted; run `cargo fmt --all`")?;
    setup::setup(root)?;
    build_envs(root, &[])?;
    // `--profile dev`: the same artifacts as `cargo build`/`cargo run` (the CLI, the demo),
    // so wasmtime is compiled once per checkout, not once per profile. `build --all-targets`
    // first: the units `test` runs plus the Python package's cdylib (which has no tests of
    // its own in Rust), with the same features, so it costs no second build of the host.
    run_command(
        cargo().current_dir(root).args(["build", "--profile", "dev", "--all-targets"]).args(CORE_PACKAGES),
    )?;
    run_command(cargo().current_dir(root).args(["test", "--profile", "dev"]).args(CORE_PACKAGES))?;
    // The trainer after the rest: it needs setup's libtorch.
    run_command(cargo().current_dir(root).args(["test", "--profile", "dev"]).args(TRAINER_PACKAGE))?;
    // xtask's own tests, with the features `cargo xtask` itself was built with (so nothing
    // is rebuilt; `--workspace` above would unify features differently).
    run_command(cargo().current_dir(root).args(["test", "--quiet", "-p", "xtask"]))?;
    python_tests(root)?;
    openenv_tests(root)?;
    trainers_tests(root)?;
    adapter_tests(root)?;
    web_tests(root)?;
    run_command(cargo().current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    Ok(())
}

/// The browser playground, built from the components and the CLI already built, with the
/// compile cache the Rust tests filled, then tested in headless Chromium against a real
/// `codegym serve`.
fn web_tests(root: &Path) -> Result<()> {
    let cache = root.join("target/test-cache");
    // The site under test also holds the hostile environments, to show the browser's limits,
    // the determinism fixtures (nan-bits offered, NaNs pinned; relaxed-simd refused), a
    // CodeGym-style package with its configs, and a package naming a runtime nobody has
    // (refused).
    let mut extra: Vec<PathBuf> =
        web::TEST_EXTRAS.iter().map(|file| root.join("target/test-envs").join(file)).collect();
    extra.push(web::tampered_package(root)?);
    web::build(root, &root.join("target/debug/codegym"), Some(&cache), &extra)?;
    web::test(root, &root.join("target/debug/codegym"), &cache)
}

/// The Python package's pytest suite, on the package as `cargo build` just made it (see
/// [`python_package::develop`]), against the same components and compile cache (and the `codegym`
/// binary, for the HTTP client's tests).
fn python_tests(root: &Path) -> Result<()> {
    python_package::develop(root, &setup::PY_TEST_VENV)?;
    run_command(
        Command::new(setup::PY_TEST_VENV.python(root))
            .current_dir(root.join(python_package::DIR))
            .args(["-m", "pytest", "-q", "tests"])
            .env("CODEGYM_BIN", root.join("target/debug/codegym"))
            .env("CODEGYM_ENVS", root.join("target/envs"))
            .env("CODEGYM_TEST_ENVS", root.join("target/test-envs"))
            // The cache the Rust tests just filled: nothing is compiled twice.
            .env("CODEGYM_CACHE", root.join("target/test-cache")),
    )
    .context("the Python package's tests failed")
}

/// The server's OpenEnv protocol against the released `openenv-core` clients and its
/// `openenv validate`, with a real `codegym serve` (the binary `cargo test` just built).
fn openenv_tests(root: &Path) -> Result<()> {
    run_command(
        Command::new(setup::OPENENV_VENV.python(root))
            .current_dir(root.join("server/tests/openenv"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "."])
            .env("CODEGYM_BIN", root.join("target/debug/codegym"))
            .env("CODEGYM_ENVS", root.join("target/envs"))
            .env("CODEGYM_CACHE", root.join("target/test-cache")),
    )
    .context("the OpenEnv protocol's tests failed")
}

/// The directories of the integrations' pytest suites (relative to the root), each against the
/// released package it integrates with: TRL's `GRPOTrainer` through `codegym.trl`, verl's
/// agent-loop worker through `codegym.verl`, the `mcp` client against `codegym mcp`.
const TRAINERS_TESTS: &[&str] = &["bindings/python/tests_trainers", "cli/tests/mcp"];

/// Our integrations with the trainers users train with, run with the released packages in
/// [`setup::TRAINERS_VENV`] and the package as `cargo build` just made it.
fn trainers_tests(root: &Path) -> Result<()> {
    python_package::develop(root, &setup::TRAINERS_VENV)?;
    for dir in TRAINERS_TESTS {
        run_command(
            Command::new(setup::TRAINERS_VENV.python(root))
                .current_dir(root.join(dir))
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "."])
                .env("CODEGYM_BIN", root.join("target/debug/codegym"))
                .env("CODEGYM_ENVS", root.join("target/envs"))
                .env("CODEGYM_CACHE", root.join("target/test-cache"))
                // CPU only, as CI is; and no telemetry or hub lookups from the trainers.
                .env("CUDA_VISIBLE_DEVICES", "")
                .env("HF_HUB_OFFLINE", "1")
                .env("WANDB_MODE", "disabled"),
        )
        .with_context(|| format!("the integration tests in {dir} failed"))?;
    }
    Ok(())
}

/// The Python adapter's own tests, natively, with the build venv's Python.
fn adapter_tests(root: &Path) -> Result<()> {
    run_command(Command::new(setup::PY_BUILD_VENV.python(root)).current_dir(root).args([
        "-m",
        "unittest",
        "discover",
        "-s",
        "env-sdk/python/tests",
    ]))
    .context("the Python adapter's tests failed")
}

/// `cargo xtask web [--open | --test]`.
fn web_task(root: &Path, args: &[String]) -> Result<()> {
    let open = match args {
        [] => false,
        [flag] if flag == "--open" => true,
        [flag] if flag == "--test" => return web_tests(root),
        _ => bail!("usage: cargo xtask web [--open | --test]"),
    };
    build_envs_for_demo(root)?;
    build_cli(root)?;
    let site = web::build(root, &root.join("target/debug/codegym"), None, &[])?;
    let url = "http://127.0.0.1:8000/";
    if !open {
        println!("built {}; serve it with `target/debug/codegym serve` and open {url}", site.display());
        return Ok(());
    }
    let mut server = codegym(root).args(["serve", "--addr", "127.0.0.1:8000", "--web"]).arg(&site).spawn()?;
    std::thread::sleep(std::time::Duration::from_millis(500));
    if let Some(opener) = ["xdg-open", "open"].into_iter().find_map(setup::find_program) {
        // No browser to open is no failure: the URL is printed.
        let _ = Command::new(opener).arg(url).status();
    }
    println!("the playground is at {url}; Ctrl-C stops the server");
    let status = server.wait()?;
    if !status.success() {
        bail!("codegym serve exited with {status}");
    }
    Ok(())
}

fn bench_openenv(root: &Path, args: &[String]) -> Result<()> {
    let seconds = match args {
        [] => 5.0,
        [seconds] => {
            seconds.parse().ok().filter(|s: &f64| *s > 0.0).context("SECONDS must be a positive number")?
        }
        _ => bail!("usage: cargo xtask bench-openenv [SECONDS]"),
    };
    build_envs_for_demo(root)?;
    build_cli(root)?;
    openenv::bench(root, seconds)
}

fn bench(root: &Path) -> Result<()> {
    build_envs_for_demo(root)?;
    build_cli(root)?;
    run_command(cargo().current_dir(root).args(["bench", "--profile", "dev", "-p", "codegym-host"]))?;
    run_command(codegym(root).args(["bench", "--json"]))?;
    run_command(codegym(root).args(["bench", "server", "--json"]))
}
