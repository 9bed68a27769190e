//! Valid streams, then damaged: the input supplies tokens to encode and a list of
//! mutations (bit flips, truncation, insertion). Decoding the damaged stream must
//! fail cleanly or, if it succeeds, give back exactly the original tokens.
#![no_main]

#[path = "common.rs"]
mod common;

use common::Fixture;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let fixture = Fixture::get((data[0] >> 6) as usize);
    let frames = 1 + data[0] as usize % 6;
    let edits = &data[1..1 + (data.len() - 1).min(16)];
    let seed = &data[1 + edits.len()..];
    // Tokens with temporal structure (so the context model uses every path), varied
    // by the input.
    let mut tokens = common::synthetic_tokens(frames, seed.len() as u64 + 1);
    for (i, &b) in seed.iter().enumerate() {
        let at = (i * 131) % tokens.len();
        tokens[at] = (tokens[at] ^ b as u16) & 1023;
    }
    // Container format 2 with groups of 20 or 2 frames, or format 1.
    let mut stream = fixture.encoder_for(edits.len() as u8).encode(&tokens).unwrap();
    assert_eq!(fixture.decode(&stream).as_deref(), Some(&tokens[..]));
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
    if let Some(decoded) = fixture.decode(&stream) {
        assert_eq!(decoded, tokens, "a damaged stream decoded to different tokens");
    }
});
