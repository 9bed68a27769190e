//! Every SIMD decode path of this CPU (`kernel_paths()`: AVX2 and AVX-512 on x86-64,
//! NEON on aarch64) against the scalar reference: for arbitrary payloads behind a valid
//! header, and for valid streams with damage, both paths must give the same result,
//! the same tokens or the same error; for the order-0 model (which the kernel hands
//! to the scalar code whole) and the context model with default and other parameters
//! and as a compact version-3 set (16-bit entries, 10-bit lists, context map). (On a
//! CPU without either kernel both calls run the scalar code and the target checks
//! nothing beyond not crashing.)
#![no_main]

#[path = "common.rs"]
mod common;

use common::Fixture;
use libfuzzer_sys::fuzz_target;
use vqtans::simd::{decode_into_with, kernel_paths, DecodePath};

fn both_paths_agree(fixture: &Fixture, stream: &[u8]) {
    let run = |path| {
        let mut out = vec![0u16; 80 * 128];
        decode_into_with(path, stream, &fixture.set, fixture.tables.view(), &mut out).map(|n| out[..n].to_vec())
    };
    let scalar = run(DecodePath::Scalar);
    for path in kernel_paths() {
        assert_eq!(scalar, run(path), "Scalar and {path:?} disagree");
    }
}

fuzz_target!(|data: &[u8]| {
    let [pick, mode, rest @ ..] = data else { return };
    let (fixture, mode) = (Fixture::get(*pick as usize), *mode);
    if mode & 1 == 0 {
        // Arbitrary payload behind a valid header.
        let frames = 1 + (mode as u32 >> 1) % 64;
        both_paths_agree(fixture, &fixture.forge_stream(frames, mode >> 6, rest));
    } else {
        // A valid stream of up to 40 frames, damaged at the places the input names.
        let frames = 1 + (mode as usize >> 1) % 40;
        let tokens = common::synthetic_tokens(frames, rest.len() as u64 + 3);
        // Container format 2 with groups of 20 or 2 frames, or format 1.
        let mut stream = fixture.encoder_for(rest.len() as u8).encode(&tokens).unwrap();
        both_paths_agree(fixture, &stream);
        for pair in rest.chunks(2).take(8) {
            let at = pair[0] as usize * stream.len() / 256;
            match pair.get(1).copied().unwrap_or(0) % 3 {
                0 => stream[at] ^= 1 << (pair[0] % 8),
                1 => stream.truncate(at.max(1)),
                _ => stream[at] = pair[0],
            }
        }
        both_paths_agree(fixture, &stream);
    }
});
