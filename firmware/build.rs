//! Build script: puts `memory.x` on the linker search path and embeds the
//! payload file (default `data/placeholder.bin`, override with the
//! `VQTANS_FW_PAYLOAD` environment variable, path relative to this package).

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));

    fs::copy(manifest.join("memory.x"), out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    let payload = env::var_os("VQTANS_FW_PAYLOAD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data/placeholder.bin"));
    let payload = manifest.join(payload);
    fs::copy(&payload, out.join("payload.bin"))
        .unwrap_or_else(|e| panic!("copy payload {}: {e}", payload.display()));
    println!("cargo:rerun-if-env-changed=VQTANS_FW_PAYLOAD");
    println!("cargo:rerun-if-changed={}", payload.display());
    println!("cargo:rerun-if-changed=build.rs");
}
