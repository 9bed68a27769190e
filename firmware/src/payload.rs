//! The bytes the firmware sends. For now a placeholder file embedded in
//! flash by `build.rs` (see `VQTANS_FW_PAYLOAD`); later the encoded segment
//! that the decoder expands.

/// Payload bytes, stored in flash (`.rodata`).
pub static PAYLOAD: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/payload.bin"));
