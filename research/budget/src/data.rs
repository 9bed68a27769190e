//! The two real segments, read from their `.npy` files.

use std::path::PathBuf;

/// Tokens per frame.
pub const FRAME: usize = 128;

/// A named real segment: frames of 8x16 tokens, row-major, values 0..=1023.
pub struct Segment {
    pub name: &'static str,
    pub tokens: Vec<u16>,
}

impl Segment {
    /// Frames `from..to` as a new segment.
    pub fn frames(&self, name: &'static str, from: usize, to: usize) -> Segment {
        Segment { name, tokens: self.tokens[from * FRAME..to * FRAME].to_vec() }
    }
    pub fn n_frames(&self) -> usize {
        self.tokens.len() / FRAME
    }
}

/// `shared/data/commavq` beside the checkout (or `$VQTANS_DATA`).
fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VQTANS_DATA") {
        return dir.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/commavq")
}

fn read(name: &'static str, file: &str) -> Segment {
    let path = data_dir().join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let shape = npy.shape().to_vec();
    assert!(shape.len() == 3 && shape[1] == 8 && shape[2] == 16, "{}: shape {shape:?}", path.display());
    let values: Vec<i16> = npy.into_vec().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tokens =
        values.into_iter().map(|v| u16::try_from(v).ok().filter(|&t| t <= 1023).expect("token out of range")).collect();
    Segment { name, tokens }
}

/// `[commaai, matt]`.
pub fn real_segments() -> [Segment; 2] {
    [read("commaai", "commaai-commavq_0.npy"), read("matt", "mattseabrook-commavq_0.npy")]
}
