//! Link the `baton` executable at a fixed address on Linux (`-no-pie`):
//! every baton command is a process start, and a position-independent
//! executable makes the dynamic loader apply ~24 000 relocations and copy
//! every page they touch before `main` (docs/performance.md, "Process
//! start"). The libraries it loads are still placed at random.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
