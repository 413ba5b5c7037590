//! What generated Rust may not do at compile time. The code itself runs only inside the
//! sandbox, but the compiler runs on the host: macros that read host files
//! (`include_str!`, `include_bytes!`, `include!`) or a `#[path]` module would copy them into
//! the component (or into the error messages sent back to the model). Build scripts and
//! dependencies are impossible anyway (our manifest, `build = false`, `--locked`), and the
//! compiler's environment is cleared, so `env!` sees only what cargo itself sets.

/// Words refused anywhere in the source, as whole identifiers (a `macro_rules!` cannot build
/// an identifier from parts on stable Rust, so it cannot smuggle one in).
const REFUSED: [&str; 3] = ["include", "include_str", "include_bytes"];

/// Why `source` is refused, if it is.
pub fn check_rust(source: &str) -> Result<(), String> {
    if source.len() > 256 << 10 {
        return Err(format!("src/lib.rs is {} KiB; at most 256 KiB", source.len() >> 10));
    }
    for (index, word) in identifiers(source) {
        let word = word.strip_prefix("r#").unwrap_or(word);
        if REFUSED.contains(&word) {
            return Err(format!(
                "`{word}` at byte {index}: reading host files at compile time is not allowed"
            ));
        }
        if word == "path" && attribute_before(source, index) {
            return Err(format!("a `#[path]` attribute at byte {index}: only src/lib.rs is compiled"));
        }
    }
    Ok(())
}

/// Identifiers (with an optional `r#`) and their byte offsets, strings and comments included.
fn identifiers(source: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = source.as_bytes();
    let mut index = 0;
    std::iter::from_fn(move || {
        while index < bytes.len() {
            let start = index;
            let c = bytes[index];
            if c.is_ascii_alphabetic() || c == b'_' {
                if source[index..].starts_with("r#") {
                    index += 2;
                }
                while index < bytes.len() && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_') {
                    index += 1;
                }
                return Some((start, &source[start..index]));
            }
            // Skip a whole number or other token so `0x_include` is not read as a word.
            if c.is_ascii_digit() {
                while index < bytes.len() && (bytes[index].is_ascii_alphanumeric() || bytes[index] == b'_') {
                    index += 1;
                }
            } else {
                index += 1;
            }
        }
        None
    })
}

/// Whether the identifier at `index` is the first word inside `#[` or `#![`.
fn attribute_before(source: &str, index: usize) -> bool {
    let before = source[..index].trim_end();
    let Some(before) = before.strip_suffix('[') else { return false };
    let before = before.trim_end();
    let before = before.strip_suffix('!').map_or(before, str::trim_end);
    before.ends_with('#')
}

#[cfg(test)]
mod tests {
    use super::check_rust;

    #[test]
    fn host_file_readers_are_refused() {
        for source in [
            "const K: &str = include_str!(\"/etc/passwd\");",
            "const K: &[u8] = include_bytes! (\"/root/.ssh/id_rsa\");",
            "include!(\"/tmp/x.rs\");",
            "macro_rules! m { ($i:ident) => { $i!(\"/etc/hosts\") } } m!(include_str);",
            "#[path = \"/etc/hosts\"] mod hosts;",
            "# ! [ path = \"x\" ] fn f() {}",
            "const K: &str = core::r#include_str!(\"/etc/passwd\");",
        ] {
            assert!(check_rust(source).is_err(), "{source}");
        }
        for source in [
            "fn f(env: &mut Self) -> String { env!(\"CARGO_PKG_VERSION\").into() }",
            "fn path(p: &str) {} fn includes() {} let x = 0x1nclude;",
            "let path = 3; #[derive(Debug)] struct S;",
        ] {
            assert_eq!(check_rust(source), Ok(()), "{source}");
        }
    }
}
