//! Links the release `bootstrap` with the code a warm request runs placed
//! together (`hot-text.ld`, written by `scripts/hot-text.sh`).
//!
//! Why: a function's peak RSS is mostly its executable's code pages, and the
//! kernel maps file pages in 64 KiB windows around each fault. After fat LTO
//! the 0.55 MiB of code a request runs was spread over the 2.9 MiB of
//! `.text`, beside code that never runs on that path (rustls, ring, the AWS
//! SDK, jsonwebtoken), so 2.2 MiB of it was resident. With the hot code in
//! one place about 1.1 MiB is: peak RSS 5.15 -> 4.06 MB, 0.364x -> 0.285x
//! Python's handler (bench/lambda_bench.py, 5 rounds of 300 calls). Only the
//! layout changes, not the code.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=hot-text.ld");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    // Debug builds (tests, the end-to-end runs) keep the linker's defaults.
    if env::var("PROFILE").as_deref() != Ok("release")
        || env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux")
    {
        return;
    }
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let script = Path::new(&dir).join("hot-text.ld");
    // The script's `INSERT AFTER .text` adds `.text.hot` to the linker's
    // default layout instead of replacing it (lld and GNU ld take it).
    println!(
        "cargo:rustc-link-arg-bin=bootstrap=-Wl,-T,{}",
        script.display()
    );
    // rustc's own linker for this target (rust-lld, LLVM 20 or later): the
    // rest of `.text` ordered by similarity, so deflate finds more repeats.
    // The host build's zip went from 2,096,114 to 2,055,467 bytes, under the
    // 2 MiB budget (2,097,152); cargo-lambda links with zig's older lld,
    // which has no such option, and its zip is smaller anyway.
    if env::var("TARGET").as_deref() == Ok("x86_64-unknown-linux-gnu")
        && env::var_os("RUSTC_LINKER").is_none()
    {
        println!("cargo:rustc-link-arg-bin=bootstrap=-Wl,--bp-compression-sort=function");
    }
}
