//! Documentation that must not drift from the code.

use std::path::Path;

/// The SDK tutorial's example is the real `count-evens` environment, byte for byte.
#[test]
fn sdk_tutorial_matches_the_count_evens_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("env-sdk/README.md")).expect("README");
    let block = |language: &str| -> String {
        let start = readme.find(&format!("```{language}\n")).expect("code block") + language.len() + 4;
        let end = readme[start..].find("```").expect("closing fence") + start;
        readme[start..end].to_owned()
    };
    for (language, file) in [("toml", "envs/count-evens/Cargo.toml"), ("rust", "envs/count-evens/src/lib.rs")]
    {
        let actual = std::fs::read_to_string(root.join(file)).expect(file);
        assert_eq!(block(language), actual, "env-sdk/README.md's {language} block differs from {file}");
    }
}

/// The README's table of environments names every crate in `envs/` and every Python
/// environment in `envs-py/`.
#[test]
fn readme_lists_every_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let table = &readme[readme.find("| category | environments |").expect("environment table")..];
    let table = &table[..table.find("\n\n").unwrap_or(table.len())];
    let listed: Vec<&str> = table
        .lines()
        .skip(2)
        .filter_map(|row| row.split('|').nth(2))
        .flat_map(|cell| cell.split(',').map(str::trim))
        .collect();
    let mut missing = Vec::new();
    let crates = std::fs::read_dir(root.join("envs"))
        .expect("envs/")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned());
    for name in crates.chain(crate::python::python_env_names()) {
        if !listed.contains(&name.as_str()) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "README.md's environment table lacks {missing:?}");
}

/// Every crate in `envs/` is in the native-vs-wasm check (and so a dev-dependency here).
#[test]
fn native_vs_wasm_checks_every_environment_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut crates: Vec<String> = std::fs::read_dir(root.join("envs"))
        .expect("envs/")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().replace('-', "_"))
        .collect();
    crates.sort();
    let mut checked: Vec<&str> = crate::native_vs_wasm::CHECKED.to_vec();
    checked.sort_unstable();
    assert_eq!(checked, crates, "tests/integration/native_vs_wasm.rs's every_environment! list");
}
