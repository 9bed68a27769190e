//! Differential test of the SIMD kernel this CPU has (NEON on aarch64, AVX2 on x86-64)
//! against the scalar reference, on many random and damaged streams: every stream
//! gives the same tokens or the same error on both paths. Run by `scripts/test.sh`
//! for aarch64 under QEMU, where it compares NEON with scalar.
//!
//! The streams: random token sequences of 2 to 40 frames (each position copying,
//! revisiting or jumping with its own odds) encoded with four table sets (the default
//! version-2 set, and version-3 sets with 16-bit entries, 10-bit lists and a context
//! map), then damaged in one of several ways (bit flips, a garbage burst, a cut with
//! or without a header that claims the cut, random payload bytes behind a valid
//! header), plus the intact streams themselves. `VQTANS_DIFF_STREAMS` sets the count
//! (default 100,000); `VQTANS_DIFF_SECONDS`, if set, also ends the draw after that
//! many seconds (the streams drawn are the same, only how many is up to the clock).
//! Under QEMU on this project's 2-core VM 100,000 take 1 to 3 minutes.
//! The test prints, outside the captured output, the count it compared and what the
//! results were.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use vqtans::container::{Header, HEADER_LEN};
use vqtans::model::context::train::{train_in_memory, TrainConfig};
use vqtans::model::context::ListCoding;
use vqtans::segment::Encoder;
use vqtans::simd::{decode_into_with, DecodePath};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};

/// A xorshift generator: the test is deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Tokens with temporal structure: `frames` frames, each position repeating itself
/// with probability `p_copy`%, jumping anywhere with `p_jump`%, else returning to
/// its value three frames back or moving a little.
fn tokens(rng: &mut Rng, frames: usize, p_copy: usize, p_jump: usize) -> Vec<u16> {
    let mut t = Vec::with_capacity(frames * 128);
    for f in 0..frames {
        for pos in 0..128 {
            let r = rng.next();
            let v = if f == 0 {
                (r % 1024) as u16
            } else {
                let prev = t[(f - 1) * 128 + pos];
                match (r % 100) as usize {
                    p if p < p_copy => prev,
                    p if p < p_copy + p_jump => ((r >> 20) % 1024) as u16,
                    _ if f >= 3 && r & (1 << 40) != 0 => t[(f - 3) * 128 + pos],
                    _ => ((prev as u64 + (r >> 32) % 9 + 1020) % 1024) as u16,
                }
            };
            t.push(v);
        }
    }
    t
}

/// The table sets: trained on the first 200 frames of each real segment.
fn table_sets() -> Vec<(String, Vec<u8>)> {
    let segs = common::real_segments();
    let parts: Vec<&[u16]> = segs.iter().map(|(_, t)| &t[..200 * 128]).collect();
    let packed = ListCoding::Packed10;
    [
        ("default (v2, 32-bit entries)", TrainConfig::default()),
        (
            "v3, 16-bit entries, 10-bit lists, 12 tables",
            TrainConfig {
                k: 96,
                state_log: 8,
                slot_floor: 2,
                tables: 12,
                list_coding: packed,
                ..TrainConfig::default()
            },
        ),
        (
            "v3, 32-bit entries, 10-bit lists, 24 tables",
            TrainConfig { k: 256, state_log: 10, tables: 24, list_coding: packed, ..TrainConfig::default() },
        ),
        (
            "v3, 16-bit entries, u16 lists, 3 tables",
            TrainConfig { k: 64, state_log: 6, tables: 3, ..TrainConfig::default() },
        ),
    ]
    .into_iter()
    .map(|(name, config)| (name.to_string(), train_in_memory(&parts, &config).unwrap().to_bytes().unwrap()))
    .collect()
}

/// Damages `stream` in place in the way `how` names, at places drawn from `rng`.
fn damage(rng: &mut Rng, stream: &mut Vec<u8>, how: usize) {
    let payload = stream.len() - HEADER_LEN;
    match how {
        // One to four bit flips in the payload.
        0 => {
            for _ in 0..1 + rng.below(4) {
                let at = HEADER_LEN + rng.below(payload);
                stream[at] ^= 1 << rng.below(8);
            }
        }
        // A burst of up to 16 random bytes.
        1 => {
            let at = HEADER_LEN + rng.below(payload);
            for b in stream[at..].iter_mut().take(1 + rng.below(16)) {
                *b = rng.next() as u8;
            }
        }
        // Cut short, the header still claiming the full length.
        2 => stream.truncate(HEADER_LEN + rng.below(payload)),
        // Cut short with a header claiming the cut.
        3 => {
            let keep = rng.below(payload);
            let mut h = Header::parse(stream).unwrap().0;
            h.payload_len = keep as u32;
            stream.truncate(HEADER_LEN + keep);
            stream[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        }
        // Random bytes from some point on (the kernel decodes garbage).
        _ => {
            let at = HEADER_LEN + rng.below(payload);
            for b in &mut stream[at..] {
                *b = rng.next() as u8;
            }
        }
    }
}

#[test]
fn simd_kernel_matches_scalar_on_many_random_and_damaged_streams() {
    let want: usize = std::env::var("VQTANS_DIFF_STREAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let budget = std::env::var("VQTANS_DIFF_SECONDS").ok().and_then(|v| v.parse().ok()).map(Duration::from_secs);
    // Every kernel this CPU has, each against the scalar reference on every stream.
    let paths = vqtans::simd::kernel_paths();
    let sets = table_sets();
    let sets: Vec<_> = sets
        .iter()
        .map(|(name, blob)| {
            let set = TableSetRef::from_bytes(blob).unwrap();
            let tables = OwnedDecodeTables::new(&set).unwrap();
            (name, set, tables)
        })
        .collect();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut results = BTreeMap::<String, usize>::new();
    let mut kernel_frames = vec![0u64; paths.len()];
    let mut compared = 0usize;
    let mut out_scalar = vec![0u16; 40 * 128];
    let mut out_simd = vec![0u16; 40 * 128];
    let start = Instant::now();
    while compared < want && budget.is_none_or(|b| start.elapsed() < b) {
        let (name, set, tables) = &sets[rng.below(sets.len())];
        let frames = 2 + rng.below(39);
        let p_copy = rng.below(95);
        let p_jump = rng.below(100 - p_copy).min(30);
        let t = tokens(&mut rng, frames, p_copy, p_jump);
        let stream = Encoder::new(set).unwrap().encode(&t).unwrap();
        // The intact stream, then several damaged copies of it.
        for variant in 0..8 {
            let mut s = stream.clone();
            if variant > 0 {
                let how = rng.below(5);
                damage(&mut rng, &mut s, how);
            }
            let scalar = decode_into_with(DecodePath::Scalar, &s, set, tables.view(), &mut out_scalar);
            for (&path, kernel_frames) in paths.iter().zip(&mut kernel_frames) {
                let simd = vqtans::simd::decode_into_with_report(path, &s, set, tables.view(), &mut out_simd);
                let simd_n = simd.map(|(n, report)| {
                    if report.kernel == path {
                        *kernel_frames += u64::from(report.simd_frames);
                    }
                    n
                });
                assert_eq!(scalar, simd_n, "{name}: {frames} frames, variant {variant}, {path:?}: results differ");
                if let Ok(n) = scalar {
                    assert_eq!(
                        out_scalar[..n],
                        out_simd[..n],
                        "{name}: {frames} frames, variant {variant}, {path:?}: tokens differ"
                    );
                }
            }
            if variant == 0 {
                assert_eq!(scalar, Ok(t.len()), "{name}: intact stream");
            }
            let key = match scalar {
                Ok(_) if variant == 0 => "intact".to_string(),
                Ok(_) => "damaged, still decodes".to_string(),
                Err(e) => format!("{e:?}").split([' ', '(']).next().unwrap_or_default().to_string(),
            };
            *results.entry(key).or_default() += 1;
            compared += 1;
        }
    }
    // Outside the captured output, for scripts/test.sh's log.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "differential: {compared} streams compared in {:.0} s, {paths:?} against Scalar ({kernel_frames:?} frames \
         decoded by each kernel): {results:?}",
        start.elapsed().as_secs_f64()
    );
    for (path, frames) in paths.iter().zip(&kernel_frames) {
        // Each kernel really ran (intact streams of 40 frames leave it most frames).
        assert!(*frames > compared as u64, "{path:?}: {frames} kernel frames");
    }
    for e in ["ModelCorrupt", "Truncated", "PayloadCorrupt", "GroupChecksum"] {
        assert!(results.contains_key(e), "no stream gave {e}: {results:?}");
    }
}
