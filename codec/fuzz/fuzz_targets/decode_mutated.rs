//! Valid streams, then damaged: the input supplies tokens to encode and a list of
//! mutations (bit flips, truncation, insertion). Decoding the damaged stream must
//! fail cleanly or, if it succeeds, give back exactly the original tokens.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use vqtans::segment::Encoder;
use vqtans::table_set::TableSetRef;

static BLOB: OnceLock<Vec<u8>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let blob = BLOB.get_or_init(common::order0_blob);
    if data.len() < 4 {
        return;
    }
    let frames = 1 + data[0] as usize % 4;
    let edits = &data[1..1 + (data.len() - 1).min(16)];
    let seed = &data[1 + edits.len()..];
    let tokens: Vec<u16> = (0..frames * 128)
        .map(|i| {
            let b = seed.get(i % seed.len().max(1)).copied().unwrap_or(0) as u16;
            (b.wrapping_mul(7) ^ (i as u16 >> 3)) & 1023
        })
        .collect();
    let set = TableSetRef::from_bytes(blob).unwrap();
    let mut stream = Encoder::new(&set).unwrap().encode(&tokens).unwrap();
    assert_eq!(common::decode(blob, &stream).as_deref(), Some(&tokens[..]));
    for pair in edits.chunks(2) {
        let at = pair[0] as usize * stream.len() / 256;
        match pair.get(1).copied().unwrap_or(0) % 4 {
            0 | 1 => stream[at] ^= 1 << (pair[0] % 8),
            2 => stream.truncate(at.max(1)),
            _ => stream.insert(at, pair[0]),
        }
        if stream.is_empty() {
            break;
        }
    }
    if let Some(decoded) = common::decode(blob, &stream) {
        assert_eq!(decoded, tokens, "a damaged stream decoded to different tokens");
    }
});
