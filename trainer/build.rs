//! Find libtorch at run time without `LD_LIBRARY_PATH`: torch-sys links it by name only.

fn main() {
    // Set by torch-sys (`links = "tch"`) for its direct dependents.
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    // libtorch registers its CUDA backend from a library nothing references by symbol, so
    // the linker would drop it unless told to keep it.
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
