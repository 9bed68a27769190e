//! Shared helpers for the codec's integration tests: the real segments.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

/// Folder of the real commaVQ segments (`shared/` beside the checkout).
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/commavq")
}

/// The distinct real segments (near-duplicates left out), as (name, tokens).
pub fn real_segments() -> Vec<(String, Vec<u16>)> {
    let mut out = Vec::new();
    for name in ["commaai-commavq_0", "mattseabrook-commavq_0"] {
        let path = data_dir().join(format!("{name}.npy"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[1200, 8, 16]);
        let tokens: Vec<u16> = npy.into_vec::<i16>().unwrap().into_iter().map(|t| t as u16).collect();
        out.push((name.to_string(), tokens));
    }
    out
}

/// Order-0 counts of tokens.
pub fn counts(tokens: &[u16]) -> Vec<u64> {
    let mut c = vec![0u64; 1024];
    for &t in tokens {
        c[t as usize] += 1;
    }
    c
}

/// A real segment: name, tokens, and a table set trained on the other segment
/// (leave-one-out, default settings).
pub type Real = (String, Vec<u16>, Vec<u8>);

/// The real segments, each with leave-one-out tables (trained once per test binary).
pub fn real_leave_one_out() -> &'static [Real] {
    static REAL: OnceLock<Vec<Real>> = OnceLock::new();
    REAL.get_or_init(|| {
        let segs = real_segments();
        let config = vqtans::model::context::train::TrainConfig::default();
        (0..segs.len())
            .map(|i| {
                let other = &segs[1 - i].1;
                let set = vqtans::model::context::train::train_in_memory(&[other], &config).unwrap();
                (segs[i].0.clone(), segs[i].1.clone(), set.to_bytes().unwrap())
            })
            .collect()
    })
}

/// Decodes `d`'s frames in turn, then its end checks (`finish`): the tokens of the
/// frames that decoded before the first error, and that error (or `Ok`).
pub fn frames_then_finish(d: &mut vqtans::segment::SegmentDecoder<'_, '_>) -> (Vec<u16>, vqtans::Result<()>) {
    let mut tokens = Vec::new();
    let mut frame = [0u16; 128];
    for _ in 0..d.header().frames {
        if let Err(e) = d.next_frame(&mut frame) {
            return (tokens, Err(e));
        }
        tokens.extend_from_slice(&frame);
    }
    let end = d.finish();
    (tokens, end)
}
