//! What generated Rust may not do at compile time. The code itself runs only inside the
//! sandbox, but the compiler runs on the host: a macro or attribute that reads a host file
//! (`include_str!`, `#[path]`, `#[debugger_visualizer]`, ...) would copy it into the
//! component, or into the errors sent back to the model and saved with the attempt.
//!
//! The check is over syn's parse of the file: every attribute anywhere (with `cfg_attr`
//! expanded whatever its predicate, and `unsafe(...)` unwrapped), every macro invocation by
//! any path, every `use` that could rename a macro, `extern crate`, out-of-line modules.
//! Macro bodies are token streams that syn does not parse, so their tokens are checked too:
//! the refused macro names are refused as identifiers there, and an attribute in them must
//! be written out whole. A second, coarser layer then checks every token of the file the
//! same way, so nothing syn keeps unparsed (`Verbatim`) escapes.
//!
//! Build scripts, dependencies and a proc-macro crate of its own are impossible anyway (our
//! manifest, `build = false`, `--locked`), so the only code that runs in the compiler is the
//! toolchain's and the proc macros of the crate's dependencies (serde's and schemars'
//! derives). `env!` and `option_env!` are allowed: `compile.rs` clears the compiler's
//! environment, so they see only cargo's own variables and PATH, HOME, CARGO_HOME,
//! RUSTUP_HOME, RUSTUP_TOOLCHAIN and TMPDIR, never a key.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::ext::IdentExt as _;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// The largest source checked (and compiled).
const MAX_BYTES: usize = 256 << 10;
/// syn's parser (and dropping what it built) recurses once per nesting level, and a level
/// can be a single token (`!!!!x`, `&&&&T`, `Vec<Vec<...>>`): the check runs on a thread
/// whose stack holds the deepest nesting this many tokens can make. (Unoptimised, the
/// deepest shapes in the tests need between 128 and 256 MiB; the stack is address space,
/// and only what the recursion reaches is touched.)
const MAX_TOKENS: usize = 1 << 16;
const STACK_BYTES: usize = 512 << 20;
/// Delimiters nested deeper than this are refused before parsing (no environment needs
/// them), which also bounds the recursion of the token checks below.
const MAX_DEPTH: usize = 128;

/// The crates a generated crate depends on, by the names source uses: `compile.rs`'s
/// manifest's `[dependencies]` (a test checks they match).
const DEPENDENCIES: [&str; 4] = ["codegym_env_sdk", "serde", "serde_json", "schemars"];
/// The toolchain's crates any crate may name. `proc_macro` and `test` are left out: the
/// one is for proc-macro crates, the other is unstable.
const SYSROOT: [&str; 3] = ["core", "alloc", "std"];

/// The proc-macro derives those dependencies export (serde's from `serde_derive`, schemars'
/// from `schemars_derive`; the SDK's prelude re-exports them) and the helper attributes each
/// takes. None exports an attribute macro or a function-like proc macro: `export_env!`,
/// `json!` and `json_schema!` are `macro_rules!`.
const DERIVES: [(&str, &[&str]); 4] = [
    ("Serialize", &["serde"]),
    ("Deserialize", &["serde"]),
    ("JsonSchema", &["schemars", "serde", "validate", "garde"]),
    ("JsonSchema_repr", &["schemars", "serde"]),
];
const BUILTIN_DERIVES: [&str; 9] =
    ["Clone", "Copy", "Debug", "Default", "Eq", "Hash", "Ord", "PartialEq", "PartialOrd"];

/// Built-in attributes that neither read files nor reach past the crate: the Rust
/// reference's list less those [`refused_attribute`] names. `cfg_attr`, `unsafe`, `doc` and
/// `derive` are checked on their own.
const BUILTIN_ATTRIBUTES: [&str; 36] = [
    "allow",
    "automatically_derived",
    "cfg",
    "cold",
    "collapse_debuginfo",
    "deny",
    "deprecated",
    "expect",
    "forbid",
    "global_allocator",
    "ignore",
    "inline",
    "instruction_set",
    "link_name",
    "link_ordinal",
    "macro_export",
    "macro_use",
    "must_use",
    "no_builtins",
    "no_implicit_prelude",
    "no_link",
    "no_main",
    "no_std",
    "non_exhaustive",
    "panic_handler",
    "recursion_limit",
    "repr",
    "should_panic",
    "target_feature",
    "test",
    "track_caller",
    "type_length_limit",
    "used",
    "warn",
    "windows_subsystem",
    "coverage",
];
/// Tools' attribute namespaces (`#[rustfmt::skip]`, `#[diagnostic::on_unimplemented]`):
/// inert for the compiler.
const TOOLS: [&str; 4] = ["rustfmt", "clippy", "diagnostic", "rust_analyzer"];

/// Why an attribute is refused, if it is.
fn refused_attribute(name: &str) -> Option<&'static str> {
    Some(match name {
        "path" => "only src/lib.rs is compiled, and the compiler would read (and quote) any host file named",
        "debugger_visualizer" => "it embeds a host file (a natvis or GDB script) in the build",
        "feature" => "it enables nightly-only features, and the toolchain is stable",
        // Only `#[link(wasm_import_module = "..")]` is not: see `check_meta`.
        "link" => "it links a native library, which the linker reads from the host",
        // A symbol of our choosing would replace one `export_env!` defines (an export, or
        // `cabi_realloc`): the host would call the model's code instead of the SDK's glue.
        "no_mangle" | "export_name" => {
            "it defines a symbol by its link name, which could replace the SDK's exports"
        }
        // wit-component reads the component's type from `component-type:*` sections and the
        // host reads budgets from `codegym:budget`: only our build writes custom sections.
        "link_section" => "it writes a custom section, which wit-component and the host read",
        "crate_type" | "crate_name" => "our manifest sets the crate's type and name",
        "proc_macro" | "proc_macro_derive" | "proc_macro_attribute" => {
            "a generated crate is a library, never a proc-macro crate"
        }
        _ => return None,
    })
}

/// Why a macro (and so its name anywhere, see [`check_tokens`]) is refused, if it is.
fn refused_macro(name: &str) -> Option<&'static str> {
    match name {
        "include" | "include_str" | "include_bytes" => {
            Some("reading host files at compile time is not allowed")
        }
        // wasm32 has no stable inline assembly, and elsewhere `.incbin` reads host files.
        "asm" | "global_asm" | "naked_asm" => Some("inline assembly is not allowed"),
        _ => None,
    }
}

/// Why `source` is refused, if it is.
pub fn check_rust(source: &str) -> Result<(), String> {
    if source.len() > MAX_BYTES {
        return Err(format!("src/lib.rs is {} KiB; at most {} KiB", source.len() >> 10, MAX_BYTES >> 10));
    }
    // Its own thread: the deep stack, and the span table proc-macro2 keeps per thread (for
    // line:column) is dropped with it.
    std::thread::scope(|scope| {
        let checker = std::thread::Builder::new()
            .name("rust-source-policy".into())
            .stack_size(STACK_BYTES)
            .spawn_scoped(scope, || check(source))
            .map_err(|error| format!("cannot start the source check: {error}"))?;
        checker.join().unwrap_or_else(|_| Err("the source check failed".into()))
    })
}

fn check(source: &str) -> Result<(), String> {
    let tokens = lex(source)?;
    let file = syn::parse2::<syn::File>(tokens.clone())
        .map_err(|error| format!("src/lib.rs does not parse at {}: {error}", at(error.span())))?;
    let mut policy = Policy::default();
    policy.visit_file(&file);
    policy.verdict()?;
    check_tokens(&tokens, Strings::Text, None)
}

/// The file's tokens (less a BOM and a shebang line, as rustc reads it), within the limits
/// on size and nesting.
fn lex(source: &str) -> Result<TokenStream, String> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let source = match source.strip_prefix("#!") {
        // The first line goes, its newline stays, so lines keep their numbers.
        Some(rest) if !rest.trim_start().starts_with('[') => {
            &source[source.find('\n').unwrap_or(source.len())..]
        }
        _ => source,
    };
    let tokens: TokenStream = source.parse().map_err(|error: proc_macro2::LexError| {
        format!(
            "src/lib.rs does not parse at {}: an unclosed delimiter, or a literal or comment that never ends",
            at(error.span())
        )
    })?;
    let (mut count, mut levels) = (0, vec![tokens.clone().into_iter()]);
    while let Some(level) = levels.last_mut() {
        let Some(token) = level.next() else {
            levels.pop();
            continue;
        };
        count += 1;
        if count > MAX_TOKENS {
            return Err(format!("src/lib.rs has more than {MAX_TOKENS} tokens"));
        }
        if let TokenTree::Group(group) = token {
            if levels.len() >= MAX_DEPTH {
                return Err(format!(
                    "delimiters nested more than {MAX_DEPTH} deep at {}",
                    at(group.span_open())
                ));
            }
            levels.push(group.stream().into_iter());
        }
    }
    Ok(tokens)
}

/// `line:column` of a span's start (1-based, as rustc prints them).
fn at(span: Span) -> String {
    let start = span.start();
    if start.line == 0 {
        "the end of the file".into()
    } else {
        format!("{}:{}", start.line, start.column + 1)
    }
}

/// Checks a syntax tree; keeps the first refusal.
#[derive(Default)]
struct Policy {
    /// Where to point for everything, when the tree was parsed from a string literal.
    origin: Option<Span>,
    refusal: Option<String>,
}

impl Policy {
    fn note(&mut self, verdict: Result<(), String>) {
        if let Err(reason) = verdict {
            self.refusal.get_or_insert(reason);
        }
    }

    fn at(&self, span: Span) -> String {
        at(self.origin.unwrap_or(span))
    }

    fn verdict(self) -> Result<(), String> {
        self.refusal.map_or(Ok(()), Err)
    }

    fn refuse_macro_name(&mut self, ident: &proc_macro2::Ident, what: &str) {
        let name = ident.unraw().to_string();
        if let Some(reason) = refused_macro(&name) {
            self.note(Err(format!("`{name}`{what} at {}: {reason}", self.at(ident.span()))));
        }
    }
}

impl<'ast> Visit<'ast> for Policy {
    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        let verdict = check_meta(&attribute.meta, self.origin);
        self.note(verdict);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(last) = mac.path.segments.last() {
            self.refuse_macro_name(&last.ident, "");
        }
        let verdict = check_tokens(&mac.tokens, Strings::Text, self.origin);
        self.note(verdict);
        visit::visit_macro(self, mac);
    }

    fn visit_use_name(&mut self, name: &'ast syn::UseName) {
        self.refuse_macro_name(&name.ident, " in a `use`");
    }

    fn visit_use_rename(&mut self, rename: &'ast syn::UseRename) {
        self.refuse_macro_name(&rename.ident, " in a `use`");
        visit::visit_use_rename(self, rename);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        let name = item.ident.unraw().to_string();
        if !(name == "self" || DEPENDENCIES.contains(&name.as_str()) || SYSROOT.contains(&name.as_str())) {
            let reason = if name == "proc_macro" {
                "the compiler's own crate is for proc-macro crates, and a generated crate is a library"
                    .to_owned()
            } else {
                format!(
                    "a generated crate may use only {} and {}",
                    DEPENDENCIES.join(", "),
                    SYSROOT.join(", ")
                )
            };
            self.note(Err(format!("`extern crate {name}` at {}: {reason}", self.at(item.ident.span()))));
        }
        visit::visit_item_extern_crate(self, item);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // Its attributes first: `#[path] mod m;` is refused for its `path`.
        visit::visit_item_mod(self, item);
        if item.content.is_none() {
            let name = item.ident.unraw();
            self.note(Err(format!(
                "`mod {name};` at {} would read another file: only src/lib.rs is compiled, so write \
                 the module inline (`mod {name} {{ ... }}`)",
                self.at(item.ident.span())
            )));
        }
    }
}

/// Whether string literals in tokens may be code: derives parse some of their helper
/// attributes' strings as Rust (`#[serde(bound = "...")]`, `#[schemars(with = "...")]`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strings {
    Text,
    Code,
}

/// Tokens that syn leaves unparsed (a macro's, an attribute's, or a whole file's): no
/// refused macro's name anywhere (a `macro_rules!` can be handed a name and call it), and
/// every attribute written out whole (`#[...]` with no `$fragment` inside, which a macro
/// could fill with `path = "..."`), then checked like any other.
fn check_tokens(tokens: &TokenStream, strings: Strings, origin: Option<Span>) -> Result<(), String> {
    let place = |span: Span| at(origin.unwrap_or(span));
    let mut levels: Vec<(Vec<TokenTree>, usize)> = vec![(tokens.clone().into_iter().collect(), 0)];
    while let Some((level, index)) = levels.last_mut() {
        let Some(token) = level.get(*index).cloned() else {
            levels.pop();
            continue;
        };
        *index += 1;
        match token {
            TokenTree::Ident(ident) => {
                let name = ident.unraw().to_string();
                if let Some(reason) = refused_macro(&name) {
                    return Err(format!(
                        "`{name}` at {}: {reason} (the name is refused anywhere, so that no macro can be handed it)",
                        place(ident.span())
                    ));
                }
            }
            TokenTree::Punct(punct) if punct.as_char() == '#' => {
                let mut next = level.get(*index);
                if let Some(TokenTree::Punct(bang)) = next
                    && bang.as_char() == '!'
                {
                    next = level.get(*index + 1);
                }
                match next {
                    Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => {
                        check_attribute_tokens(&group.stream(), origin.unwrap_or(punct.span()), origin)?;
                    }
                    _ => {
                        return Err(format!(
                            "a `#` at {} that does not start an attribute: attributes in macros must be \
                             written out whole (`#[...]`) to be checked",
                            place(punct.span())
                        ));
                    }
                }
            }
            TokenTree::Literal(literal) if strings == Strings::Code => {
                if let Lit::Str(text) = Lit::new(literal.clone()) {
                    check_string(&text.value(), origin.unwrap_or(literal.span()))?;
                }
            }
            TokenTree::Group(group) => {
                if levels.len() >= MAX_DEPTH {
                    return Err(format!(
                        "delimiters nested more than {MAX_DEPTH} deep at {}",
                        place(group.span_open())
                    ));
                }
                levels.push((group.stream().into_iter().collect(), 0));
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
    Ok(())
}

/// A string a derive may parse as Rust. Without a `!` it calls no macro, so no name in it can
/// read a file and no `#` in it can be glued into an attribute: only the attributes written
/// out in it are checked, and text (a description, a `rename`) passes as it is.
fn check_string(text: &str, origin: Span) -> Result<(), String> {
    // Not tokens, so not code either.
    let Ok(code) = text.parse::<TokenStream>() else { return Ok(()) };
    if text.contains('!') {
        return check_tokens(&code, Strings::Code, Some(origin));
    }
    // (depth, tokens) of the groups still to look into.
    let mut groups: Vec<(usize, Vec<TokenTree>)> = vec![(0, code.into_iter().collect())];
    while let Some((depth, tokens)) = groups.pop() {
        for (index, token) in tokens.iter().enumerate() {
            match (token, tokens.get(index + 1)) {
                (TokenTree::Punct(punct), Some(TokenTree::Group(group)))
                    if punct.as_char() == '#' && group.delimiter() == Delimiter::Bracket =>
                {
                    check_attribute_tokens(&group.stream(), origin, Some(origin))?;
                }
                (TokenTree::Group(_), _) if depth >= MAX_DEPTH => {
                    return Err(format!("delimiters nested more than {MAX_DEPTH} deep at {}", at(origin)));
                }
                (TokenTree::Group(group), _) => {
                    groups.push((depth + 1, group.stream().into_iter().collect()))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The inside of an attribute found among tokens.
fn check_attribute_tokens(inside: &TokenStream, span: Span, origin: Option<Span>) -> Result<(), String> {
    let mut levels = vec![inside.clone().into_iter()];
    while let Some(level) = levels.last_mut() {
        match level.next() {
            None => {
                levels.pop();
            }
            Some(TokenTree::Punct(punct)) if punct.as_char() == '$' => {
                return Err(format!(
                    "an attribute at {} built from macro fragments (`$...`): attributes in macros must be \
                     written out whole to be checked",
                    at(span)
                ));
            }
            Some(TokenTree::Group(group)) => levels.push(group.stream().into_iter()),
            Some(_) => {}
        }
    }
    let meta = syn::parse2::<Meta>(inside.clone())
        .map_err(|error| format!("an attribute at {} that does not parse: {error}", at(span)))?;
    check_meta(&meta, origin)
}

/// One attribute (`#[meta]`), `cfg_attr` expanded.
fn check_meta(meta: &Meta, origin: Option<Span>) -> Result<(), String> {
    let path = meta.path();
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.unraw().to_string()).collect();
    let shown = names.join("::");
    let place =
        at(origin.unwrap_or_else(|| path.segments.first().map_or_else(Span::call_site, |s| s.ident.span())));
    let list = |meta: &Meta| {
        meta.require_list().map_err(|error| format!("`#[{shown}]` at {place}: {error}")).cloned()
    };
    if let [name] = names.as_slice()
        && let Some(reason) = refused_attribute(name)
        && !(name == "link" && names_only_imports(meta))
    {
        return Err(format!("`#[{name}]` at {place} is not allowed: {reason}"));
    }
    match names.as_slice() {
        [name] => match name.as_str() {
            "cfg_attr" => {
                let list = list(meta)?;
                let attributes = list
                    .parse_args_with(cfg_attr_attributes)
                    .map_err(|error| format!("`#[cfg_attr]` at {place} that does not parse: {error}"))?;
                // Every attribute it could produce, whatever the predicate says.
                for attribute in &attributes {
                    check_meta(attribute, origin)?;
                }
                check_tokens(&list.tokens, Strings::Text, origin)
            }
            "unsafe" => {
                let list = list(meta)?;
                let inner = list
                    .parse_args::<Meta>()
                    .map_err(|error| format!("`#[unsafe(...)]` at {place} that does not parse: {error}"))?;
                check_meta(&inner, origin)
            }
            "doc" => match meta {
                Meta::NameValue(pair)
                    if !matches!(pair.value, Expr::Lit(ExprLit { lit: Lit::Str(_), .. })) =>
                {
                    Err(format!(
                        "`#[doc = ...]` at {place} is not a string literal: only plain text may be documentation \
                         (`include_str!` would read a host file)"
                    ))
                }
                Meta::List(list) => check_tokens(&list.tokens, Strings::Text, origin),
                Meta::NameValue(_) | Meta::Path(_) => Ok(()),
            },
            "derive" => {
                let list = list(meta)?;
                let derives = list
                    .parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
                    .map_err(|error| format!("`#[derive]` at {place} that does not parse: {error}"))?;
                derives.iter().try_for_each(|derive| check_derive(derive, &place))
            }
            name if name == "link" || BUILTIN_ATTRIBUTES.contains(&name) => {
                check_meta_value(meta, Strings::Text, origin)
            }
            name if DERIVES.iter().any(|(_, helpers)| helpers.contains(&name)) => {
                check_meta_value(meta, Strings::Code, origin)
            }
            name => Err(format!(
                "`#[{name}]` at {place} is neither a built-in attribute nor a helper of the derives the \
                 dependencies export ({}); they export no attribute macros",
                helper_attributes().join(", ")
            )),
        },
        [tool, ..] if TOOLS.contains(&tool.as_str()) => check_meta_value(meta, Strings::Text, origin),
        _ => Err(format!(
            "`#[{shown}]` at {place} would be an attribute macro, and the dependencies export none"
        )),
    }
}

/// Whether a `#[link(...)]` only names the module of wasm imports: no library, so no file.
/// (`link_name` renames an import.) An environment with imports is dropped at the checks
/// stage, as the pipeline's tests show with one.
fn names_only_imports(meta: &Meta) -> bool {
    let Ok(list) = meta.require_list() else { return false };
    list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated).is_ok_and(|keys| {
        keys.iter()
            .all(|key| matches!(key, Meta::NameValue(pair) if pair.path.is_ident("wasm_import_module")))
    })
}

/// A `cfg_attr`'s attributes: everything after the predicate.
fn cfg_attr_attributes(input: ParseStream<'_>) -> syn::Result<Punctuated<Meta, Token![,]>> {
    // The predicate runs to the first comma outside delimiters (`all(a, b)` is one group).
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<TokenTree>()?;
    }
    if input.is_empty() {
        return Ok(Punctuated::new());
    }
    input.parse::<Token![,]>()?;
    Punctuated::parse_terminated(input)
}

/// What an allowed attribute carries: its list's tokens, or its value.
fn check_meta_value(meta: &Meta, strings: Strings, origin: Option<Span>) -> Result<(), String> {
    match meta {
        Meta::Path(_) => Ok(()),
        Meta::List(list) => check_tokens(&list.tokens, strings, origin),
        Meta::NameValue(pair) => {
            let mut policy = Policy { origin, refusal: None };
            policy.visit_expr(&pair.value);
            policy.verdict()
        }
    }
}

/// A derive: built in, or one the dependencies export, named from a dependency if by path.
fn check_derive(path: &syn::Path, place: &str) -> Result<(), String> {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.unraw().to_string()).collect();
    let shown = names.join("::");
    if let [root, _, ..] = names.as_slice()
        && !(["crate", "self", "super"].contains(&root.as_str())
            || DEPENDENCIES.contains(&root.as_str())
            || SYSROOT.contains(&root.as_str()))
    {
        return Err(format!(
            "`#[derive({shown})]` at {place}: `{root}` is not a dependency (a generated crate may use only {})",
            DEPENDENCIES.join(", ")
        ));
    }
    let name = names.last().map_or("", String::as_str);
    if BUILTIN_DERIVES.contains(&name) || DERIVES.iter().any(|(derive, _)| *derive == name) {
        return Ok(());
    }
    Err(format!(
        "`#[derive({shown})]` at {place}: the derives available are the built-in ones and {} (from serde and schemars)",
        DERIVES.map(|(derive, _)| derive).join(", ")
    ))
}

/// The derives' helper attributes, each once.
fn helper_attributes() -> Vec<&'static str> {
    let mut helpers: Vec<&str> = DERIVES.iter().flat_map(|(_, helpers)| helpers.iter().copied()).collect();
    helpers.sort_unstable();
    helpers.dedup();
    helpers
}

#[cfg(test)]
mod tests;
