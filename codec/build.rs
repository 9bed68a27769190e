//! Sets `vqtans_v7em` when building for an ARMv7E-M target (`thumbv7em-*`: Cortex-M4,
//! M7), which turns on the hand-written frame loop in
//! `src/model/context/kernel_v7em.rs`, and `vqtans_v6m` for an ARMv6-M target
//! (`thumbv6m-*`: Cortex-M0, M0+, M1), which turns on the hand-written frame loop in
//! `src/model/context/kernel_v6m.rs` (16-bit entries, 10-bit lists), picks code shapes
//! that suit its 8 low registers and byte loads (the byte-wise token checksum in
//! `src/container.rs`) and leaves out the portable frame loop's copies specialised for
//! `u16` lists (small flash: one copy per entry width only).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(vqtans_v7em)");
    println!("cargo::rustc-check-cfg=cfg(vqtans_v6m)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=vqtans_v7em");
    }
    if target.starts_with("thumbv6m-") {
        println!("cargo::rustc-cfg=vqtans_v6m");
    }
}
