//! Shared helpers of the vqtans benchmarks and the peer comparison: reading
//! segments from `.npy` files, leave-one-out table sets, the peers' input layout and
//! timing.

use std::path::{Path, PathBuf};

use vqtans::model::context::train::{train_in_memory, TrainConfig};

/// Tokens per frame (8 rows x 16 columns).
pub const FRAME_TOKENS: usize = 128;

/// Folder of the real commaVQ segments (`shared/` beside the checkout).
pub fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/commavq");
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// The two distinct real segments the tests and benchmarks use.
pub fn real_segment_paths() -> Vec<PathBuf> {
    ["commaai-commavq_0", "mattseabrook-commavq_0"].iter().map(|n| data_dir().join(format!("{n}.npy"))).collect()
}

/// Reads a `(frames, 8, 16)` token array (`int16`, `uint16`, `int32` or `int64`,
/// values 0..=1023) from a `.npy` file, frame-major, row-major.
pub fn read_npy(path: &Path) -> Result<Vec<u16>, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let bytes = std::fs::read(path).map_err(|e| err(&e))?;
    let open = || npyz::NpyFile::new(&bytes[..]).map_err(|e| err(&e));
    let npy = open()?;
    let shape = npy.shape().to_vec();
    if shape.len() != 3 || shape[1] != 8 || shape[2] != 16 || shape[0] == 0 {
        return Err(format!("{}: shape {shape:?} is not (frames, 8, 16)", path.display()));
    }
    if npy.order() != npyz::Order::C {
        return Err(format!("{}: Fortran order is not supported", path.display()));
    }
    let values: Vec<i64> = if let Ok(v) = open()?.into_vec::<i16>() {
        v.into_iter().map(i64::from).collect()
    } else if let Ok(v) = open()?.into_vec::<u16>() {
        v.into_iter().map(i64::from).collect()
    } else if let Ok(v) = open()?.into_vec::<i32>() {
        v.into_iter().map(i64::from).collect()
    } else {
        open()?.into_vec::<i64>().map_err(|e| err(&e))?
    };
    values
        .into_iter()
        .map(|v| {
            u16::try_from(v)
                .ok()
                .filter(|&t| t <= 1023)
                .ok_or_else(|| format!("{}: token {v} out of range", path.display()))
        })
        .collect()
}

/// A serialised table set trained on `segments` with the default configuration.
pub fn train_blob(segments: &[&[u16]]) -> Vec<u8> {
    train_in_memory(segments, &TrainConfig::default())
        .and_then(|set| set.to_bytes())
        .unwrap_or_else(|e| panic!("table training failed: {e}"))
}

/// Leave-one-out table sets: for each segment, tables trained on all the others
/// (with a single segment, on itself).
pub fn leave_one_out_blobs(segments: &[Vec<u16>]) -> Vec<Vec<u8>> {
    (0..segments.len())
        .map(|i| {
            let others: Vec<&[u16]> = if segments.len() == 1 {
                vec![&segments[0]]
            } else {
                segments.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, s)| s.as_slice()).collect()
            };
            train_blob(&others)
        })
        .collect()
}

/// The peers' input: the `(frames, 8, 16)` array transposed to `(8, 16, frames)`,
/// C order, as little-endian `i16`, so each position's time series is contiguous.
pub fn transposed_i16_le(tokens: &[u16]) -> Vec<u8> {
    let frames = tokens.len() / FRAME_TOKENS;
    let mut out = Vec::with_capacity(tokens.len() * 2);
    for pos in 0..FRAME_TOKENS {
        for f in 0..frames {
            out.extend_from_slice(&(tokens[f * FRAME_TOKENS + pos] as i16).to_le_bytes());
        }
    }
    out
}
