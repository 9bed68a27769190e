//! Table sets the fuzz targets decode with: built deterministically from synthetic
#![allow(dead_code)]
//! data, so no files are needed.

use vqtans::container::Check;
use vqtans::model::context::train::{train_in_memory, TrainConfig};
use vqtans::segment::{EncodeOptions, Encoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};

/// A fixed order-0 table set with a skewed distribution (some symbols cost 1-2 bits,
/// others the maximum), so random payloads exercise every code length.
pub fn order0_blob() -> Vec<u8> {
    let counts: Vec<u64> = (0..1024u64).map(|i| if i < 8 { 50_000 >> i } else { (i * 7919) % 13 }).collect();
    vqtans::model::order0::build_table_set(&counts, 11).unwrap().to_bytes().unwrap()
}

/// Synthetic tokens with temporal structure: positions mostly keep their token,
/// sometimes return to a recent one, sometimes jump.
pub fn synthetic_tokens(frames: usize, seed: u64) -> Vec<u16> {
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut tokens = vec![0u16; frames * 128];
    for pos in 0..128 {
        tokens[pos] = (next() % 1024) as u16;
    }
    for f in 1..frames {
        for pos in 0..128 {
            let prev = tokens[(f - 1) * 128 + pos];
            let r = next() % 100;
            tokens[f * 128 + pos] = if r < 45 {
                prev
            } else if r < 60 && f >= 2 {
                tokens[(f - 2) * 128 + pos]
            } else if r < 90 {
                (prev + 1 + (next() % 8) as u16 * 37) % 1024
            } else {
                (next() % 1024) as u16
            };
        }
    }
    tokens
}

/// A context-model table set trained on synthetic data, default parameters (the
/// decoder's specialised loop).
pub fn context_blob() -> Vec<u8> {
    let tokens = synthetic_tokens(60, 7);
    train_in_memory(&[&tokens], &TrainConfig::default()).unwrap().to_bytes().unwrap()
}

/// A context-model table set with other parameters (K = 16, state log 11: the
/// decoder's general loop).
pub fn context_blob_other() -> Vec<u8> {
    let tokens = synthetic_tokens(60, 9);
    let config = TrainConfig { k: 16, state_log: 11, ..TrainConfig::default() };
    train_in_memory(&[&tokens], &config).unwrap().to_bytes().unwrap()
}

/// The tokens `load_table_set` codes with every table set that loads: three frames
/// of [`synthetic_tokens`], the same whatever the input (so `make_seeds` can check
/// that its seeds code them).
pub fn probe_tokens() -> Vec<u16> {
    synthetic_tokens(3, 5)
}

/// A table set loaded once per fuzzing process, with its compiled tables and encoder.
pub struct Fixture {
    pub set: TableSetRef<'static>,
    pub tables: OwnedDecodeTables,
    /// Container format 2, groups of 20 frames (the default).
    pub encoder: Encoder<'static>,
    /// The default, format 2 with groups of 2 frames, and format 1 (see `encoder_for`).
    encoders: [Encoder<'static>; 3],
    pub n_states: u8,
}

impl Fixture {
    /// Loads `blob` (leaked: it lives as long as the process).
    pub fn new(blob: Vec<u8>, n_states: u8) -> Self {
        let blob: &'static [u8] = Box::leak(blob.into_boxed_slice());
        let set = TableSetRef::from_bytes(blob).unwrap();
        let with = |options| Encoder::with_options(&set, options).unwrap();
        let pairs = EncodeOptions { group_frames: std::num::NonZeroU16::new(2).unwrap(), ..EncodeOptions::default() };
        let v1 = EncodeOptions { version_1: true, ..EncodeOptions::default() };
        Fixture {
            set,
            tables: OwnedDecodeTables::new(&set).unwrap(),
            encoder: Encoder::new(&set).unwrap(),
            encoders: [Encoder::new(&set).unwrap(), with(pairs), with(v1)],
            n_states,
        }
    }

    /// The fixtures: order-0, context model with default parameters, context model
    /// with other parameters.
    pub fn all() -> [Fixture; 3] {
        [Fixture::new(order0_blob(), 4), Fixture::new(context_blob(), 16), Fixture::new(context_blob_other(), 16)]
    }

    /// A stream whose header is valid for this fixture (right table-set id, state
    /// count, payload length) around an arbitrary `payload`, claiming `frames` frames;
    /// `check` (from the input) picks container format 1 (`0`) or format 2 with groups
    /// of 1, 5 or 20 frames.
    pub fn forge_stream(&self, frames: u32, check: u8, payload: &[u8]) -> Vec<u8> {
        let check = match check % 4 {
            0 => Check::WholeStream { tokens_crc: 0 },
            1 => Check::Groups { group_frames: 1 },
            2 => Check::Groups { group_frames: 5 },
            _ => Check::Groups { group_frames: 20 },
        };
        let header = vqtans::container::Header {
            n_states: self.n_states,
            frames,
            table_set_id: self.set.id(),
            payload_len: payload.len() as u32,
            check,
        };
        let mut stream = header.to_bytes().to_vec();
        stream.extend_from_slice(payload);
        stream
    }

    /// Decodes `stream`; the tokens if it decoded and verified.
    pub fn decode(&self, stream: &[u8]) -> Option<Vec<u16>> {
        vqtans::segment::decode(stream, &self.set, self.tables.view()).ok()
    }

    /// The encoder for stream kind `kind % 3`: container format 2 with groups of 20
    /// frames (the default) or of 2 frames, or container format 1.
    pub fn encoder_for(&self, kind: u8) -> &Encoder<'static> {
        &self.encoders[kind as usize % 3]
    }
}
