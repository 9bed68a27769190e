//! Arbitrary bytes as a stream, for the order-0 and the context model (default and
//! other parameters, and a compact version-3 set with 16-bit entries): the decoder
//! must return (Ok or an error), never panic, hang or read out of bounds. A valid
//! header is forged around the bytes too, so the payload decoder itself gets
//! exercised, not just the header checks.
#![no_main]

#[path = "common.rs"]
mod common;

use common::Fixture;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let fixture = Fixture::get(selector as usize);
    let _ = fixture.decode(rest);
    if rest.len() >= 2 {
        let frames = 1 + (u16::from_le_bytes([rest[0], rest[1]]) as u32 % 64);
        // The checksums cannot match by chance often; decoding must still end cleanly,
        // in either container format.
        let _ = fixture.decode(&fixture.forge_stream(frames, rest[1] >> 6, &rest[2..]));
    }
});
