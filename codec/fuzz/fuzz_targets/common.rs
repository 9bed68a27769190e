//! Table sets the fuzz targets decode with: built deterministically from synthetic
#![allow(dead_code)]
//! data, so no files are needed.

use vqtans::container::Check;
use vqtans::model::context::train::{
    build_table_set, train_in_memory, ClassCounts, FoldLists, SuccessorLists, TrainConfig, TransitionCounts,
};
use vqtans::model::context::ListCoding;
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

/// The training shared by [`context_blob`] and [`context_blob_compact`]: 60 frames
/// of [`synthetic_tokens`], their cross-fitted and final successor lists at the
/// default `K` (lists of a smaller `K` are their prefixes). Building lists is what
/// takes the time under the sanitizers, so it is done once.
fn synthetic_training() -> &'static (Vec<u16>, FoldLists, SuccessorLists) {
    static TRAINING: std::sync::OnceLock<(Vec<u16>, FoldLists, SuccessorLists)> = std::sync::OnceLock::new();
    TRAINING.get_or_init(|| {
        let tokens = synthetic_tokens(60, 7);
        let config = TrainConfig::default();
        let mut transitions = TransitionCounts::default();
        transitions.add_segment(&tokens);
        let folds = FoldLists::build(&transitions, &config).unwrap();
        let lists = SuccessorLists::build(&transitions.all(), config.k, config.symmetric, config.two_step).unwrap();
        (tokens, folds, lists)
    })
}

/// A table set of `config` from [`synthetic_training`] (what `train_in_memory` makes
/// from its tokens).
fn synthetic_set(config: &TrainConfig) -> Vec<u8> {
    let (tokens, folds, lists) = synthetic_training();
    let mut classes = ClassCounts::new(config.k).unwrap();
    classes.add_segment(folds, tokens);
    let lists = lists.truncated(config.k).unwrap();
    build_table_set(&lists, &classes, config).unwrap().to_bytes().unwrap()
}

/// A context-model table set trained on synthetic data, default parameters (the
/// decoder's specialised loop).
pub fn context_blob() -> Vec<u8> {
    synthetic_set(&TrainConfig::default())
}

/// A context-model table set with other parameters (K = 16, state log 11: the
/// decoder's general loop).
pub fn context_blob_other() -> Vec<u8> {
    let tokens = synthetic_tokens(60, 9);
    let config = TrainConfig { k: 16, state_log: 11, ..TrainConfig::default() };
    train_in_memory(&[&tokens], &config).unwrap().to_bytes().unwrap()
}

/// A small context-model table set of the kinds `build-tables --max-bytes` makes:
/// model section version 3 (10-bit successor lists, 6 class tables chosen by a
/// context map) and 16-bit decode entries (state log 8, every class at least 2
/// slots); the decoder's general loop with 16-bit entries.
pub fn context_blob_compact() -> Vec<u8> {
    let config = TrainConfig {
        k: 16,
        state_log: 8,
        slot_floor: 2,
        tables: 6,
        list_coding: ListCoding::Packed10,
        ..TrainConfig::default()
    };
    let blob = synthetic_set(&config);
    let set = TableSetRef::from_bytes(&blob).unwrap();
    assert_eq!(set.entry_width(), vqtans::tans::decode_table::EntryWidth::Short);
    assert_eq!(set.model()[1], 3, "model section version 3");
    blob
}

/// Number of fixtures ([`Fixture::all`]).
pub const FIXTURES: usize = 4;

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
    /// with other parameters, and a compact context-model set (version 3, 16-bit
    /// entries, 10-bit lists, context map).
    pub fn all() -> [Fixture; FIXTURES] {
        core::array::from_fn(Fixture::number)
    }

    /// Fixture `i` of [`Fixture::all`] (`i < FIXTURES`).
    pub fn number(i: usize) -> Fixture {
        match i % FIXTURES {
            0 => Fixture::new(order0_blob(), 4),
            1 => Fixture::new(context_blob(), 16),
            2 => Fixture::new(context_blob_other(), 16),
            _ => Fixture::new(context_blob_compact(), 16),
        }
    }

    /// Fixture `i % FIXTURES`, made the first time it is asked for (training a
    /// context-model set under the sanitizers takes seconds: each input pays only
    /// for the fixture it uses, so none runs into libFuzzer's timeout).
    pub fn get(i: usize) -> &'static Fixture {
        static CELLS: [std::sync::OnceLock<Fixture>; FIXTURES] = [const { std::sync::OnceLock::new() }; FIXTURES];
        CELLS[i % FIXTURES].get_or_init(|| Fixture::number(i))
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
