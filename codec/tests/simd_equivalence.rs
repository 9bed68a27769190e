//! Every SIMD decode path this CPU has (AVX2 and AVX-512 on x86-64, NEON on aarch64;
//! `decode_simd` takes the fastest) gives exactly what the scalar reference (`decode`)
//! gives: the same tokens for every intact stream and the same error for every
//! damaged one, wherever the kernel hands over to the scalar decoder.

mod common;

use proptest::prelude::*;
use std::num::NonZeroU16;
use vqtans::container::{Header, HEADER_LEN};
use vqtans::model::context::train::{train_in_memory, TrainConfig};
use vqtans::segment::{decode, decode_into, decode_simd, EncodeOptions, Encoder};
#[cfg(target_arch = "x86_64")]
use vqtans::simd::decode_into_with_report;
#[cfg(target_arch = "aarch64")]
use vqtans::simd::neon_available;
#[cfg(target_arch = "x86_64")]
use vqtans::simd::{avx2_available, avx512_available};
use vqtans::simd::{
    decode_into_path_frames, decode_into_simd_frames, decode_into_simd_report, decode_into_with, kernel_paths,
    DecodePath, SimdReport, KERNEL_ROOM,
};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::Error;

/// The real segments, each with leave-one-out tables.
fn real() -> &'static [common::Real] {
    common::real_leave_one_out()
}

/// Tables trained on the first 300 frames of both real segments with other model
/// settings: list length `k` and state log `state_log`.
fn tables_with(k: usize, state_log: u8) -> Vec<u8> {
    let segs = common::real_segments();
    let parts: Vec<&[u16]> = segs.iter().map(|(_, t)| &t[..300 * 128]).collect();
    let config = TrainConfig { k, state_log, ..TrainConfig::default() };
    train_in_memory(&parts, &config).unwrap().to_bytes().unwrap()
}

/// Scalar and SIMD results of `stream`; panics if they differ. Every kernel this
/// CPU has is compared, at every hand-over point in `handovers` too (frames decoded
/// by the kernel before the scalar decoder takes over).
fn both(blob: &[u8], stream: &[u8], handovers: &[u32]) -> Result<Vec<u16>, Error> {
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let scalar = decode(stream, &set, tables.view());
    let simd = decode_simd(stream, &set, tables.view());
    assert_eq!(scalar, simd, "scalar and SIMD differ");
    let frames = Header::parse(stream).map(|(h, _)| h.frames as usize).unwrap_or(1);
    let mut out = vec![0u16; frames * 128];
    for path in kernel_paths() {
        let r = decode_into_with(path, stream, &set, tables.view(), &mut out).map(|n| out[..n].to_vec());
        assert_eq!(scalar, r, "scalar and {path:?} differ");
        for &h in handovers {
            let r = decode_into_path_frames(path, stream, &set, tables.view(), &mut out, h).map(|n| out[..n].to_vec());
            assert_eq!(scalar, r, "{path:?}: hand-over after {h} frames differs");
        }
    }
    for &h in handovers {
        let r = decode_into_simd_frames(stream, &set, tables.view(), &mut out, h).map(|n| out[..n].to_vec());
        assert_eq!(scalar, r, "hand-over after {h} frames differs");
    }
    scalar
}

/// On a CPU with a SIMD kernel (AVX2, NEON), the kernel must have decoded every
/// frame of `stream` (each section's tail, which starts within [`KERNEL_ROOM`] bytes of
/// its end, from a zero-padded copy); on one without, the scalar code decodes everything and the
/// test log says the SIMD path went untested (also outside the captured output, for
/// `scripts/test.sh`).
fn assert_kernel_decoded(what: &str, stream: &[u8], set: &TableSetRef<'_>, tables: &OwnedDecodeTables) -> SimdReport {
    let frames = Header::parse(stream).unwrap().0.frames;
    let mut out = vec![0u16; frames as usize * 128];
    let (_, report) = decode_into_simd_report(stream, set, tables.view(), &mut out).unwrap();
    assert_eq!(report.simd_frames + report.scalar_frames, frames, "{what}: {report:?}");
    assert_eq!(report.kernel, DecodePath::best(), "{what}: the fastest kernel did not decode: {report:?}");
    if DecodePath::best() == DecodePath::Scalar {
        say_simd_untested();
        assert_eq!(report.simd_frames, 0, "{what}: {report:?}");
        return report;
    }
    // Every frame, each section's tail included (from a padded copy): a kernel that
    // declined would leave them all to the scalar code.
    assert_eq!(report.scalar_frames, 0, "{what}: {report:?}");
    assert!(report.bytes_left_at_handover < KERNEL_ROOM, "{what}: {report:?}");
    report
}

/// Prints, once and uncaptured, that this CPU cannot test the SIMD path.
fn say_simd_untested() {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "no SIMD kernel (AVX2, NEON) on this CPU: the SIMD path is NOT tested");
    });
}

#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_kernel_decodes_every_frame() {
    for (name, tokens, blob) in real() {
        let set = TableSetRef::from_bytes(blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
        let report = assert_kernel_decoded(name, &stream, &set, &tables);
        println!("{name}: {report:?} (AVX2 available: {})", avx2_available());
        for (path, available) in [(DecodePath::Avx2, avx2_available()), (DecodePath::Avx512, avx512_available())] {
            assert_path_decoded(name, path, available, &stream, &set, &tables);
        }
    }
}

/// The AVX-512 kernel, where the CPU has it, is the fastest path and decodes every
/// frame of the real segments; where it does not, the path falls back
/// (and the log says so). Fails if the CPU has AVX-512 F/BW/VL/VBMI but the kernel
/// did not run.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx512_kernel_decodes_every_frame() {
    let cpu_has = std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512vbmi");
    assert_eq!(avx512_available(), cpu_has);
    if cpu_has {
        assert_eq!(DecodePath::best(), DecodePath::Avx512);
    }
    for (name, tokens, blob) in real() {
        let set = TableSetRef::from_bytes(blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
        let report = assert_path_decoded(name, DecodePath::Avx512, cpu_has, &stream, &set, &tables);
        println!("{name}: {report:?} (AVX-512 available: {cpu_has})");
    }
}

/// `path` decoded every frame of the 1200-frame `stream` if the CPU has
/// it (`available`); else nothing ran under its name and the log says it went untested.
#[cfg(target_arch = "x86_64")]
fn assert_path_decoded(
    what: &str,
    path: DecodePath,
    available: bool,
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: &OwnedDecodeTables,
) -> SimdReport {
    let mut out = vec![0u16; 1200 * 128];
    let (_, report) = decode_into_with_report(path, stream, set, tables.view(), &mut out).unwrap();
    if available {
        assert_eq!(report.kernel, path, "{what}: {report:?}");
        assert_eq!(report.simd_frames, 1200, "{what}: {report:?}");
        assert!(report.bytes_left_at_handover < KERNEL_ROOM, "{what}: {report:?}");
    } else {
        assert_ne!(report.kernel, path, "{what}: {report:?}");
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "no {path:?} on this CPU: its kernel is NOT tested");
    }
    report
}

/// On aarch64 the NEON kernel is the path (every aarch64 Linux CPU has NEON), and it
/// must decode every frame of the real segments.
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_kernel_decodes_every_frame() {
    assert!(neon_available());
    assert_eq!(DecodePath::best(), DecodePath::Neon);
    for (name, tokens, blob) in real() {
        let set = TableSetRef::from_bytes(blob).unwrap();
        let tables = OwnedDecodeTables::new(&set).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
        let report = assert_kernel_decoded(name, &stream, &set, &tables);
        assert_eq!(report.simd_frames, 1200, "{name}: {report:?}");
        println!("{name}: {report:?} (NEON available: {})", neon_available());
    }
}

#[test]
fn real_segments_decode_identically() {
    for (name, tokens, blob) in real() {
        let set = TableSetRef::from_bytes(blob).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
        let out = both(blob, &stream, &[0, 1, 2, 3, 100, 1199, 1200]).unwrap();
        assert_eq!(&out, tokens, "{name}");
        // The explicit paths too.
        let tables = OwnedDecodeTables::new(&set).unwrap();
        for path in [DecodePath::Scalar, DecodePath::Avx2, DecodePath::Avx512, DecodePath::Neon] {
            let mut out = vec![0u16; tokens.len()];
            assert_eq!(decode_into_with(path, &stream, &set, tables.view(), &mut out), Ok(tokens.len()));
            assert_eq!(&out, tokens, "{name} {path:?}");
        }
    }
}

#[test]
fn other_model_settings_decode_identically() {
    let segs = common::real_segments();
    // Frames the tables were not trained on.
    let tokens = &segs[0].1[600 * 128..800 * 128];
    for (k, state_log) in [(4, 9), (16, 11), (64, 12), (768, 15), (192, 10)] {
        let blob = tables_with(k, state_log);
        let set = TableSetRef::from_bytes(&blob).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
        assert_eq!(&both(&blob, &stream, &[1, 7]).unwrap(), tokens, "K {k}, state log {state_log}");
        let tables = OwnedDecodeTables::new(&set).unwrap();
        assert_kernel_decoded(&format!("K {k}, state log {state_log}"), &stream, &set, &tables);
    }
}

#[test]
fn order0_streams_fall_back_to_scalar() {
    let segs = common::real_segments();
    let blob = vqtans::model::order0::build_table_set(&common::counts(&segs[1].1), 11).unwrap().to_bytes().unwrap();
    let set = TableSetRef::from_bytes(&blob).unwrap();
    let tokens = &segs[0].1[..100 * 128];
    let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
    assert_eq!(&both(&blob, &stream, &[5]).unwrap(), tokens);
    // No kernel for order-0: every frame is the scalar code's.
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let mut out = vec![0u16; tokens.len()];
    let (_, report) = decode_into_simd_report(&stream, &set, tables.view(), &mut out).unwrap();
    assert_eq!((report.simd_frames, report.scalar_frames), (0, 100));
}

#[test]
fn errors_before_decoding_are_the_same() {
    let (_, tokens, blob) = &real()[0];
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tables = OwnedDecodeTables::new(&set).unwrap();
    let stream = Encoder::new(&set).unwrap().encode(&tokens[..20 * 128]).unwrap();
    // Buffer too small.
    let mut small = vec![0u16; 19 * 128];
    let scalar = decode_into(&stream, &set, tables.view(), &mut small);
    assert_eq!(scalar, Err(Error::BufferTooSmall { needed: 20 * 128 }));
    assert_eq!(vqtans::segment::decode_into_simd(&stream, &set, tables.view(), &mut small), scalar);
    // Other tables.
    let other = &real()[1].2;
    assert!(matches!(both(other, &stream, &[]), Err(Error::TableSetMismatch { .. })));
    // Header damage, trailing bytes, truncation.
    for (i, flip) in [(0usize, 1u8), (4, 2), (5, 1), (9, 4), (21, 8), (30, 1)] {
        let mut s = stream.clone();
        s[i] ^= flip;
        assert!(both(blob, &s, &[]).is_err());
    }
    let mut s = stream.clone();
    s.push(0);
    assert_eq!(both(blob, &s, &[]), Err(Error::TrailingBytes));
}

/// A real segment's stream with damage: every way of damaging it must give the same
/// result on both paths.
#[test]
fn damaged_real_streams_fail_identically() {
    let (_, tokens, blob) = &real()[0];
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tokens = &tokens[..200 * 128];
    let stream = Encoder::new(&set).unwrap().encode(tokens).unwrap();
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut note = |r: &Result<Vec<u16>, Error>| {
        // Damage that still decodes must give the original tokens (a successor
        // list may hold a token twice, so two ranks can code the same token).
        let key = match r {
            Ok(out) if out == tokens => "Ok, same tokens".to_string(),
            Ok(_) => "Ok".to_string(),
            // The variant's name (a group checksum error names its group too).
            Err(e) => format!("{e:?}").split(' ').next().unwrap_or_default().to_string(),
        };
        *kinds.entry(key).or_default() += 1;
    };
    // Single bit flips all over the payload.
    for i in (HEADER_LEN..stream.len()).step_by(3) {
        let mut s = stream.clone();
        s[i] ^= 1 << (i % 8);
        note(&both(blob, &s, &[]));
    }
    // Bursts of garbage.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..200 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = HEADER_LEN + (x as usize % (stream.len() - HEADER_LEN));
        let mut s = stream.clone();
        for (j, b) in s[at..].iter_mut().take(1 + (x >> 40) as usize % 16).enumerate() {
            *b = (x >> (j % 8 * 8)) as u8;
        }
        note(&both(blob, &s, &[]));
    }
    // Truncation (the header still claiming the full length, and re-made to claim
    // the shorter payload), and payloads cut by a few bytes at the end.
    for cut in (HEADER_LEN..stream.len()).step_by(97).chain(stream.len() - 600..stream.len()) {
        note(&both(blob, &stream[..cut], &[]));
        let mut s = stream[..cut].to_vec();
        let mut h = Header::parse(&stream).unwrap().0;
        h.payload_len = (cut - HEADER_LEN) as u32;
        s[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        note(&both(blob, &s, &[]));
    }
    // Zero bytes appended to the payload (header re-made to include them).
    for extra in [1usize, 8, 500, 1000] {
        let mut s = stream.clone();
        s.extend(std::iter::repeat(0).take(extra));
        let mut h = Header::parse(&stream).unwrap().0;
        h.payload_len += extra as u32;
        s[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        note(&both(blob, &s, &[3]));
    }
    println!("results: {kinds:?}");
    assert!(!kinds.contains_key("Ok"), "damage went undetected: {kinds:?}");
    for e in ["ModelCorrupt", "PayloadCorrupt", "GroupChecksum", "Truncated"] {
        assert!(kinds.contains_key(e), "no damage produced {e}: {kinds:?}");
    }
}

/// Group sizes (and format 1): the same tokens, and for damage in any group the same
/// error naming the same group, wherever the kernel hands over (at group ends and
/// next to them too), in one section and in 2 to 4 independent sections (format 3).
#[test]
fn every_group_size_and_format_1_decode_and_fail_identically() {
    let (_, tokens, blob) = &real()[1];
    let set = TableSetRef::from_bytes(blob).unwrap();
    let tokens = &tokens[..130 * 128];
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    let cases = [
        (1u16, false, 2),
        (5, false, 1),
        (5, false, 4),
        (20, false, 1),
        (20, false, 2),
        (20, false, 3),
        (60, false, 2),
        (65535, false, 2),
        (20, true, 1),
    ];
    for (g, version_1, sections) in cases {
        let options = EncodeOptions { group_frames: NonZeroU16::new(g).unwrap(), version_1, sections };
        let stream = Encoder::with_options(&set, options).unwrap().encode(tokens).unwrap();
        let handovers = [0, 1, 4, 5, 6, 19, 20, 21, 59, 60, 61, 129, 130];
        let what = format!("G {g}, format 1: {version_1}, sections {sections}");
        assert_eq!(&both(blob, &stream, &handovers).unwrap(), tokens, "{what}");
        for i in (HEADER_LEN..stream.len()).step_by(211) {
            let mut s = stream.clone();
            s[i] ^= 1 << (i % 8);
            let r = both(blob, &s, &[1, 20, 60]);
            if let Err(e) = r {
                *errors.entry(format!("{e:?}").split(' ').next().unwrap_or_default().to_string()).or_default() += 1;
            }
        }
    }
    println!("errors: {errors:?}");
    assert!(errors.contains_key("GroupChecksum") && errors.contains_key("ChecksumMismatch"), "{errors:?}");
}

/// Tokens with temporal structure: each position mostly repeats itself, sometimes
/// returns to one of its recent values, takes a value near the previous one, or
/// jumps anywhere (a deterministic generator driven by `seed`).
fn structured_tokens(frames: usize, seed: u64, p_copy: u32, p_jump: u32) -> Vec<u16> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut tokens = Vec::with_capacity(frames * 128);
    for f in 0..frames {
        for pos in 0..128 {
            let r = next();
            let t = if f == 0 {
                (r % 1024) as u16
            } else {
                let prev = tokens[(f - 1) * 128 + pos];
                match (r % 100) as u32 {
                    p if p < p_copy => prev,
                    p if p < p_copy + p_jump => ((r >> 20) % 1024) as u16,
                    p if p % 2 == 0 && f >= 3 => tokens[(f - 3) * 128 + pos],
                    _ => ((prev as u64 + (r >> 32) % 9 + 1020) % 1024) as u16,
                }
            };
            tokens.push(t);
        }
    }
    tokens
}

fn default_blob() -> &'static [u8] {
    &real()[1].2
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_structured_streams_decode_identically(
        frames in 1usize..90,
        seed in any::<u64>(),
        p_copy in 0u32..95,
        p_jump in 0u32..40,
        handover in 0u32..90,
    ) {
        let p_jump = p_jump.min(100 - p_copy);
        let tokens = structured_tokens(frames, seed, p_copy, p_jump);
        let blob = default_blob();
        let set = TableSetRef::from_bytes(blob).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(&tokens).unwrap();
        let out = both(blob, &stream, &[handover]).unwrap();
        prop_assert_eq!(out, tokens);
    }

    #[test]
    fn random_damage_fails_identically(
        frames in 2usize..60,
        seed in any::<u64>(),
        p_copy in 20u32..90,
        flips in prop::collection::vec((any::<u32>(), 0u8..8), 1..4),
        cut in any::<u32>(),
    ) {
        let tokens = structured_tokens(frames, seed, p_copy, 5);
        let blob = default_blob();
        let set = TableSetRef::from_bytes(blob).unwrap();
        let stream = Encoder::new(&set).unwrap().encode(&tokens).unwrap();
        let payload = stream.len() - HEADER_LEN;
        let mut s = stream.clone();
        for &(at, bit) in &flips {
            s[HEADER_LEN + at as usize % payload] ^= 1 << bit;
        }
        let r = both(blob, &s, &[1]);
        prop_assert!(r.is_err() || r.as_ref().ok() == Some(&tokens));
        // The same damage on a payload cut short, with a header claiming the cut length.
        let keep = cut as usize % payload;
        let mut t = s[..HEADER_LEN + keep].to_vec();
        let mut h = Header::parse(&stream).unwrap().0;
        h.payload_len = keep as u32;
        t[..HEADER_LEN].copy_from_slice(&h.to_bytes());
        let r = both(blob, &t, &[1]);
        prop_assert!(r.is_err());
    }
}
