//! On `wasm32-wasip2` the compiler emits calls to `memcmp`/`memcpy`; with `no_std` nothing
//! provides them, so link the target's static libc. It adds code, not imports.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("wasi") {
        println!("cargo:rustc-link-lib=static:-bundle=c");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
