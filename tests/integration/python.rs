//! The Python lane's environments (`envs-py/*.py`, built by `cargo xtask build-envs`) are
//! part of the corpus: the corpus tests verify them with the Rust ones; here, what only
//! they need checked.

use std::path::Path;

use codegym_env_sdk::CATEGORIES;

use crate::registry;

/// The names of the Python environment files.
pub(crate) fn python_env_names() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../envs-py");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("envs-py/")
        .filter_map(|entry| {
            let path = entry.expect("entry").path();
            let stem = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == "py" && !stem.starts_with('_')).then_some(stem)
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_python_environment_is_built_with_a_category_and_a_one_line_description() {
    let names = python_env_names();
    assert!(names.len() >= 5, "{names:?}");
    let registry = registry();
    let mut categories = Vec::new();
    for name in &names {
        let env = registry.get(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let info = env.info();
        assert!(CATEGORIES.contains(&info.category.as_str()), "{name}: category {:?}", info.category);
        assert!(
            !info.description.is_empty() && !info.description.contains('\n'),
            "{name}: {:?}",
            info.description
        );
        categories.push(info.category.clone());
    }
    // Different shapes of problem: array search, DP, graph, string, simulation.
    for shape in ["searching", "dynamic-programming", "graphs", "strings", "simulation"] {
        assert!(categories.iter().any(|c| c == shape), "no Python environment in {shape}: {categories:?}");
    }
}
