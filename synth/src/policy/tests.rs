//! One case per hole: the source, and the verdict (`ok` or the reason the model is told).
//! `UPDATE_EXPECT=1 cargo test ...` rewrites the expectations.

use std::path::Path;

use expect_test::{Expect, expect};

use super::{DEPENDENCIES, check_rust};

fn check(source: &str, verdict: Expect) {
    verdict.assert_eq(&(check_rust(source).err().unwrap_or_else(|| "ok".into()) + "\n"));
}

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("synth/ is inside the workspace")
}

#[test]
fn cfg_attr_is_expanded_whatever_its_predicate() {
    check(
        r#"#[cfg_attr(all(), path = "/etc/passwd")] mod m;"#,
        expect![[r#"
            `#[path]` at 1:19 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"#[cfg_attr(any(), path = "/etc/passwd")] mod m;"#,
        expect![[r#"
            `#[path]` at 1:19 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"#[cfg_attr(unix, cfg_attr(all(), path = "/etc/passwd"))] mod m;"#,
        expect![[r#"
            `#[path]` at 1:34 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"#![cfg_attr(all(), path = "/etc/passwd")]
fn f() {}"#,
        expect![[r#"
            `#[path]` at 1:20 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"#[cfg_attr(true, derive(Debug), doc = "fine", path = "/etc/passwd")] mod m {}"#,
        expect![[r#"
            `#[path]` at 1:47 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"#[cfg_attr(all(), unsafe(export_name = "cabi_realloc"))] fn f() {}"#,
        expect![[r#"
            `#[export_name]` at 1:26 is not allowed: it defines a symbol by its link name, which could replace the SDK's exports
        "#]],
    );
    check(
        r#"#[cfg_attr(test, derive(Debug))] struct S;"#,
        expect![[r#"
        ok
    "#]],
    );
}

#[test]
fn attributes_are_checked_wherever_they_are() {
    check(
        r#"fn f() {
    #[path = "/etc/passwd"]
    mod m {}
}"#,
        expect![[r#"
            `#[path]` at 2:7 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"struct S;
impl S {
    #[cfg_attr(all(), doc = include_str!("/etc/passwd"))]
    fn f() {}
}"#,
        expect![[r#"
            `#[doc = ...]` at 3:23 is not a string literal: only plain text may be documentation (`include_str!` would read a host file)
        "#]],
    );
    check(
        r#"struct S {
    #[cfg_attr(all(), debugger_visualizer(gdb_script_file = "/etc/passwd"))]
    x: u8,
}"#,
        expect![[r#"
            `#[debugger_visualizer]` at 2:23 is not allowed: it embeds a host file (a natvis or GDB script) in the build
        "#]],
    );
    check(
        r#"fn f() {
    #[cfg_attr(all(), path = "/etc/passwd")]
    let x = 1;
}"#,
        expect![[r#"
            `#[path]` at 2:23 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"fn f() -> u8 {
    let x = #[cfg_attr(all(), path = "/etc/passwd")] 1;
    x
}"#,
        expect![[r#"
            `#[path]` at 2:31 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"trait T {
    #[cfg_attr(all(), path = "/etc/passwd")]
    fn f();
}"#,
        expect![[r#"
            `#[path]` at 2:23 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"enum E {
    #[cfg_attr(all(), path = "/etc/passwd")]
    A,
}"#,
        expect![[r#"
            `#[path]` at 2:23 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
}

#[test]
fn documentation_is_plain_text() {
    check(
        r#"#[doc = include_str!("/etc/passwd")]
pub struct S;"#,
        expect![[r#"
            `#[doc = ...]` at 1:3 is not a string literal: only plain text may be documentation (`include_str!` would read a host file)
        "#]],
    );
    check(
        r#"#![doc = include_str!("/etc/passwd")]
pub struct S;"#,
        expect![[r#"
            `#[doc = ...]` at 1:4 is not a string literal: only plain text may be documentation (`include_str!` would read a host file)
        "#]],
    );
    check(
        r#"#[doc = concat!("a", "b")] pub struct S;"#,
        expect![[r#"
            `#[doc = ...]` at 1:3 is not a string literal: only plain text may be documentation (`include_str!` would read a host file)
        "#]],
    );
    check(
        r#"//! A crate.
/// A struct; it would include_str!("/etc/passwd") if it could.
#[doc = "More."]
#[doc(hidden, alias = "T")]
pub struct S;"#,
        expect![[r#"
            ok
        "#]],
    );
}

#[test]
fn attributes_that_read_files_or_reach_past_the_crate_are_refused() {
    check(
        r#"#![debugger_visualizer(natvis_file = "/etc/passwd")]
fn f() {}"#,
        expect![[r#"
            `#[debugger_visualizer]` at 1:4 is not allowed: it embeds a host file (a natvis or GDB script) in the build
        "#]],
    );
    check(
        r#"#[link(name = "c", kind = "static")] unsafe extern "C" {}"#,
        expect![[r#"
            `#[link]` at 1:3 is not allowed: it links a native library, which the linker reads from the host
        "#]],
    );
    check(
        r#"#[link(wasm_import_module = "m", name = "c")] unsafe extern "C" {}"#,
        expect![[r#"
            `#[link]` at 1:3 is not allowed: it links a native library, which the linker reads from the host
        "#]],
    );
    // Imports name no file; the checks stage drops a component that has any.
    check(
        r#"#[link(wasm_import_module = "telemetry")]
unsafe extern "C" {
    #[link_name = "record"]
    fn record_read(index: u32);
}"#,
        expect![[r#"
            ok
        "#]],
    );
    check(
        r#"#[unsafe(no_mangle)] pub extern "C" fn cabi_realloc() {}"#,
        expect![[r#"
            `#[no_mangle]` at 1:10 is not allowed: it defines a symbol by its link name, which could replace the SDK's exports
        "#]],
    );
    check(
        r#"#[no_mangle] pub extern "C" fn cabi_realloc() {}"#,
        expect![[r#"
            `#[no_mangle]` at 1:3 is not allowed: it defines a symbol by its link name, which could replace the SDK's exports
        "#]],
    );
    check(
        r#"#[unsafe(link_section = "codegym:budget")] static B: [u8; 0] = [];"#,
        expect![[r#"
            `#[link_section]` at 1:10 is not allowed: it writes a custom section, which wit-component and the host read
        "#]],
    );
    check(
        r#"#![crate_type = "proc-macro"]"#,
        expect![[r#"
            `#[crate_type]` at 1:4 is not allowed: our manifest sets the crate's type and name
        "#]],
    );
    check(
        r#"#[proc_macro_derive(Evil)] pub fn evil() {}"#,
        expect![[r#"
            `#[proc_macro_derive]` at 1:3 is not allowed: a generated crate is a library, never a proc-macro crate
        "#]],
    );
    check(
        r#"#![feature(proc_macro_hygiene)]"#,
        expect![[r#"
            `#[feature]` at 1:4 is not allowed: it enables nightly-only features, and the toolchain is stable
        "#]],
    );
    check(
        r#"#[tokio::main] fn main() {}"#,
        expect![[r#"
            `#[tokio::main]` at 1:3 would be an attribute macro, and the dependencies export none
        "#]],
    );
    check(
        r#"#[evil] fn f() {}"#,
        expect![[r#"
            `#[evil]` at 1:3 is neither a built-in attribute nor a helper of the derives the dependencies export (garde, schemars, serde, validate); they export no attribute macros
        "#]],
    );
    check(
        r#"#[rustfmt::skip]
#[diagnostic::on_unimplemented(message = "no")]
#[allow(dead_code, reason = "a test")]
#[inline]
#[must_use = "use it"]
#[deprecated(note = "old")]
pub trait T {}"#,
        expect![[r#"
            ok
        "#]],
    );
}

#[test]
fn file_reading_macros_are_refused_by_any_path() {
    check(
        r#"const K: &str = include_str!("/etc/passwd");"#,
        expect![[r#"
            `include_str` at 1:17: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"const K: &[u8] = include_bytes! ("/root/.ssh/id_rsa");"#,
        expect![[r#"
            `include_bytes` at 1:18: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"include!("/tmp/x.rs");"#,
        expect![[r#"
            `include` at 1:1: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"const K: &[u8] = core::include_bytes!("/etc/passwd");"#,
        expect![[r#"
            `include_bytes` at 1:24: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"const K: &str = ::std::include_str!("/etc/passwd");"#,
        expect![[r#"
            `include_str` at 1:24: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"const K: &str = r#include_str!("/etc/passwd");"#,
        expect![[r#"
            `include_str` at 1:17: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"const K: &str = core::r#include_str!("/etc/passwd");"#,
        expect![[r#"
            `include_str` at 1:23: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"fn f() -> Vec<&'static str> { vec![include_str!("/etc/passwd")] }"#,
        expect![[r#"
            `include_str` at 1:36: reading host files at compile time is not allowed (the name is refused anywhere, so that no macro can be handed it)
        "#]],
    );
    check(
        r#"macro_rules! secret { () => { include_str!("/etc/passwd") } }
const K: &str = secret!();"#,
        expect![[r#"
            `include_str` at 1:31: reading host files at compile time is not allowed (the name is refused anywhere, so that no macro can be handed it)
        "#]],
    );
    check(
        r#"macro_rules! m { ($i:ident) => { $i!("/etc/hosts") } }
const K: &str = m!(include_str);"#,
        expect![[r#"
            `include_str` at 2:20: reading host files at compile time is not allowed (the name is refused anywhere, so that no macro can be handed it)
        "#]],
    );
    check(
        r#"use core::include_str as read;
const K: &str = read!("/etc/passwd");"#,
        expect![[r#"
            `include_str` in a `use` at 1:11: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"use std::{include_bytes};"#,
        expect![[r#"
            `include_bytes` in a `use` at 1:11: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"type T = [u8; include_bytes!("/etc/passwd").len()];"#,
        expect![[r#"
            `include_bytes` at 1:15: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"fn f(x: &str) { match x { include_str!("/etc/passwd") => {} _ => {} } }"#,
        expect![[r#"
            `include_str` at 1:27: reading host files at compile time is not allowed
        "#]],
    );
    check(
        r#"global_asm!(".incbin \"/etc/passwd\"");"#,
        expect![[r#"
            `global_asm` at 1:1: inline assembly is not allowed
        "#]],
    );
    // A derive parses some of its attributes' strings as Rust.
    check(
        r#"#[derive(Serialize)]
#[serde(bound = "[(); include_bytes!(\"/etc/passwd\").len()]: Sized")]
struct S;"#,
        expect![[r#"
            `include_bytes` at 2:17: reading host files at compile time is not allowed (the name is refused anywhere, so that no macro can be handed it)
        "#]],
    );
    check(
        r#"#[derive(Serialize)]
#[serde(bound = "[(); { #[path = \"/etc/passwd\"] mod m {} 0 }]: Sized")]
struct S;"#,
        expect![[r#"
            `#[path]` at 2:17 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    // Plain text may say anything.
    check(
        r#"// include_str!("/etc/passwd")
const K: &str = "include_str!(\"/etc/passwd\")";
fn f(env: &mut u8) -> String { env!("CARGO_PKG_VERSION").into() }
fn path(p: &str) -> usize { let path = 3; let x = 0x1nclude; p.len() + path }"#,
        expect![[r#"
            ok
        "#]],
    );
    // The names are refused anywhere, as plain identifiers too.
    check(
        r#"fn include() {}"#,
        expect![[r#"
            `include` at 1:4: reading host files at compile time is not allowed (the name is refused anywhere, so that no macro can be handed it)
        "#]],
    );
}

#[test]
fn attributes_in_macros_must_be_written_out_whole() {
    check(
        r#"macro_rules! m { () => { #[path = "/etc/passwd"] mod x {} } }"#,
        expect![[r#"
            `#[path]` at 1:28 is not allowed: only src/lib.rs is compiled, and the compiler would read (and quote) any host file named
        "#]],
    );
    check(
        r#"macro_rules! m { ($a:meta) => { #[$a] mod x {} } }
m!(path = "/etc/passwd");"#,
        expect![[r#"
            an attribute at 1:33 built from macro fragments (`$...`): attributes in macros must be written out whole to be checked
        "#]],
    );
    check(
        r#"macro_rules! m { ($t:tt) => { # $t mod x {} } }
m!([path = "/etc/passwd"]);"#,
        expect![[r#"
            a `#` at 1:31 that does not start an attribute: attributes in macros must be written out whole (`#[...]`) to be checked
        "#]],
    );
    check(
        r#"macro_rules! m { ($h:tt, $t:tt) => { $h $t mod x {} } }
m!(#, [path = "/etc/passwd"]);"#,
        expect![[r#"
            a `#` at 2:4 that does not start an attribute: attributes in macros must be written out whole (`#[...]`) to be checked
        "#]],
    );
    check(
        r#"macro_rules! m { () => { #[cfg_attr(all(), unsafe(no_mangle))] fn f() {} } }"#,
        expect![[r#"
            `#[no_mangle]` at 1:51 is not allowed: it defines a symbol by its link name, which could replace the SDK's exports
        "#]],
    );
    check(
        r#"macro_rules! m {
    () => {
        /// Documented.
        #[derive(Debug, Clone)]
        struct S;
    };
}
m!();"#,
        expect![[r#"
            ok
        "#]],
    );
}

#[test]
fn crates_features_and_files_beyond_the_manifest_are_refused() {
    check(
        r#"extern crate proc_macro;"#,
        expect![[r#"
            `extern crate proc_macro` at 1:14: the compiler's own crate is for proc-macro crates, and a generated crate is a library
        "#]],
    );
    check(
        r#"extern crate libc;"#,
        expect![[r#"
            `extern crate libc` at 1:14: a generated crate may use only codegym_env_sdk, serde, serde_json, schemars and core, alloc, std
        "#]],
    );
    check(
        r#"extern crate alloc;
extern crate self as me;
extern crate serde as s;
extern crate codegym_env_sdk;"#,
        expect![[r#"
            ok
        "#]],
    );
    check(
        r#"mod m;"#,
        expect![[r#"
            `mod m;` at 1:5 would read another file: only src/lib.rs is compiled, so write the module inline (`mod m { ... }`)
        "#]],
    );
    check(
        r#"#![feature(adt_const_params)] fn f() {}"#,
        expect![[r#"
            `#[feature]` at 1:4 is not allowed: it enables nightly-only features, and the toolchain is stable
        "#]],
    );
}

#[test]
fn derives_come_from_the_dependencies() {
    check(
        r#"#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[derive(Serialize, Deserialize, JsonSchema)]
#[derive(serde::Serialize, codegym_env_sdk::prelude::JsonSchema, core::fmt::Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(description = "S: its fields include the path #1")]
struct S {
    #[serde(rename = "include", default = "zero")]
    n: u8,
}"#,
        expect![[r#"
            ok
        "#]],
    );
    check(
        r#"#[derive(Evil)] struct S;"#,
        expect![[r#"
            `#[derive(Evil)]` at 1:3: the derives available are the built-in ones and Serialize, Deserialize, JsonSchema, JsonSchema_repr (from serde and schemars)
        "#]],
    );
    check(
        r#"#[derive(thiserror::Error)] struct S;"#,
        expect![[r#"
            `#[derive(thiserror::Error)]` at 1:3: `thiserror` is not a dependency (a generated crate may use only codegym_env_sdk, serde, serde_json, schemars)
        "#]],
    );
}

#[test]
fn what_does_not_parse_is_refused_with_its_place() {
    check(
        "fn f() {\n    let x = ;\n}",
        expect![[r#"
        src/lib.rs does not parse at 2:13: expected an expression
    "#]],
    );
    check(
        "fn f( {}",
        expect![[r#"
            src/lib.rs does not parse at 1:5: an unclosed delimiter, or a literal or comment that never ends
        "#]],
    );
    check(
        "fn f() {\n    \"never closed\n}",
        expect![[r#"
            src/lib.rs does not parse at 2:5: an unclosed delimiter, or a literal or comment that never ends
        "#]],
    );
    check(
        &format!("const X: u8 = {}1{};", "(".repeat(200), ")".repeat(200)),
        expect![[r#"
            delimiters nested more than 128 deep at 1:142
        "#]],
    );
    check(
        &"x".repeat(300 << 10),
        expect![[r#"
        src/lib.rs is 300 KiB; at most 256 KiB
    "#]],
    );
    check(
        &"x ".repeat(70_000),
        expect![[r#"
        src/lib.rs has more than 65536 tokens
    "#]],
    );
}

#[test]
fn deep_nesting_within_the_limits_does_not_overflow_the_stack() {
    // About the most levels the token limit allows, in each shape syn recurses on: (one
    // level, its tokens, the end). All are valid Rust.
    for (level, tokens, end) in [
        ("!", 1, "true"),
        ("- ", 1, "1"),
        ("return ", 1, "1"),
        ("x = ", 2, "1"),
        ("|_| ", 3, "0"),
        ("if true {} else ", 4, "{}"),
    ] {
        let levels = (64_000 / tokens).min(250_000 / level.len());
        let source = format!("fn f() {{ let _ = {}{end}; }}", level.repeat(levels));
        // A stack overflow would abort the test binary.
        assert_eq!(check_rust(&source), Ok(()), "{level}");
    }
    for (level, tokens, close) in [("& ", 1, ""), ("*const ", 2, ""), ("fn() -> ", 4, ""), ("Vec<", 3, ">")] {
        let levels = (64_000 / tokens).min(250_000 / (level.len() + close.len()));
        let source = format!("type T = {}u8{};", level.repeat(levels), close.repeat(levels));
        // A stack overflow would abort the test binary.
        assert_eq!(check_rust(&source), Ok(()), "{level}");
    }
}

/// The environments and examples the model is shown, and everything the pipeline's tests
/// feed it, pass.
#[test]
fn real_environments_and_examples_pass() {
    check(
        include_str!("../../../envs/binary-search/src/lib.rs"),
        expect![[r#"
        ok
    "#]],
    );
    // The example in the generation prompt.
    check(
        include_str!("../../../envs/count-evens/src/lib.rs"),
        expect![[r#"
        ok
    "#]],
    );
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(workspace().join("envs")).expect("envs/") {
        let lib = entry.expect("an entry").path().join("src/lib.rs");
        sources.push((lib.display().to_string(), std::fs::read_to_string(&lib).expect("an env's lib.rs")));
    }
    // The SDK's guide, also in the prompt, and the recorded replies of the pipeline's tests.
    let guide = std::fs::read_to_string(workspace().join("env-sdk/README.md")).expect("the guide");
    sources.push(("env-sdk/README.md".into(), crate::extract_code(&guide, crate::Lang::Rust).expect("code")));
    for entry in std::fs::read_dir(workspace().join("synth/tests/fixtures/replies/rust")).expect("replies") {
        let path = entry.expect("an entry").path();
        let reply = std::fs::read_to_string(&path).expect("a reply");
        if let Some(code) = crate::extract_code(&reply, crate::Lang::Rust) {
            sources.push((path.display().to_string(), code));
        }
    }
    assert!(sources.len() > 40, "{}", sources.len());
    for (name, source) in sources {
        assert_eq!(check_rust(&source), Ok(()), "{name}");
    }
}

/// The crates a generated crate may name are those our manifest gives it.
#[test]
fn the_allowed_crates_are_the_manifests_dependencies() {
    let toolchain = crate::Toolchain {
        workspace: workspace().to_owned(),
        target_dir: workspace().join("target"),
        python_runtime: workspace().join("target/py-runtime/python-runtime.wasm"),
        limits: crate::BuildLimits::default(),
    };
    let manifest = toolchain.manifest("codegym-synth-x").expect("the manifest");
    let dependencies = manifest.split("\n[dependencies]\n").nth(1).expect("a [dependencies] section");
    let mut names: Vec<String> = dependencies
        .lines()
        .take_while(|line| !line.trim().is_empty() && !line.starts_with('['))
        .filter_map(|line| line.split_once(" = ").map(|(name, _)| name.trim().replace('-', "_")))
        .collect();
    names.sort();
    let mut ours = DEPENDENCIES.map(str::to_owned).to_vec();
    ours.sort();
    assert_eq!(names, ours);
}
