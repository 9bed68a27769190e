//! Choosing the context model's size parameters for a device-footprint budget, from
//! held-out data inside the training set (`research/budget.md`, section 4).
//!
//! The pieces, which `host-tools build-tables --max-bytes` puts together over its
//! streaming passes:
//! - [`candidates`]: the configurations considered (list length `K`, state log `M`
//!   with a slot floor, number of class tables `T`; 10-bit lists), each with an exact
//!   [`footprint_bound`] known before any data is read;
//! - [`KClassCounts`]: class histograms per context for every candidate `K` at once,
//!   from one run of the model over a sequence (the own lists do not depend on `K`,
//!   and the successor lists of a length are the prefixes of the longest ones);
//! - [`Selector`]: for each of two folds, the tables a candidate would have when
//!   trained on the fold's training histogram (greedy context map, blending, slot
//!   floor), and the bits they would spend on the fold's held-out histogram:
//!   `sum n * (log - log2 slots)` over contexts and classes, plus raw bits and
//!   initial states. No coding is needed: measured over 66,420 configurations this
//!   is within -0.59% .. +0.24% of the real stream size.

use super::classes::{bucket_bits, bucket_of, buckets_for, kind, Classes, OWN_DEPTH};
use super::contexts::{KindPlanes, CONTEXTS};
use super::own_lists::{OwnLists, Seen};
use super::train::{greedy_maps, tables_from_probs, ClassCounts, TrainConfig};
use super::{ListCoding, SECTION_HEADER, SECTION_HEADER_V3};
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::table_set::CHECKSUM_LEN;
use crate::{Error, Result};
use std::vec;
use std::vec::Vec;

/// The longest list length of the codec: lists of any other length are its prefixes.
pub const KMAX: usize = 768;
/// List lengths considered.
pub const KS: [usize; 12] = [8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384];
/// Numbers of class tables considered (greedy context maps; 100 = one per context).
pub const TABLES: [usize; 17] = [1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 50, 64, 80, 100];
/// State logs with their slot floors considered: every log 5..=10 with floor 1, and
/// log 8 with floor 2 (which gives it 16-bit decode entries).
pub const STATE_LOGS: [(u8, u16); 7] = [(5, 1), (6, 1), (7, 1), (8, 1), (8, 2), (9, 1), (10, 1)];

/// One configuration the selection considers (10-bit lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Successor list length.
    pub k: usize,
    /// State log.
    pub state_log: u8,
    /// Least slots per class.
    pub slot_floor: u16,
    /// Number of class tables.
    pub tables: usize,
}

impl Candidate {
    /// The training settings of this candidate (the defaults otherwise).
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            k: self.k,
            state_log: self.state_log,
            slot_floor: self.slot_floor,
            tables: self.tables,
            list_coding: ListCoding::Packed10,
            ..TrainConfig::default()
        }
    }

    /// [`footprint_bound`] of this candidate's settings.
    pub fn footprint(&self) -> usize {
        footprint_bound(&self.config())
    }
}

/// Every candidate, in a fixed order (by `K`, then state log and floor, then tables).
pub fn candidates() -> Vec<Candidate> {
    let mut out = Vec::new();
    for k in KS {
        for (state_log, slot_floor) in STATE_LOGS {
            for tables in TABLES {
                out.push(Candidate { k, state_log, slot_floor, tables });
            }
        }
    }
    out
}

/// Bytes of a postcard varint holding `v`.
fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// Bytes of the serialised table set `config` trains (checksum included): exact,
/// whatever the data (`codec/FORMAT.md`: postcard of format, state log, `T` logs,
/// `T` alphabets, `T` tables of counts, model section).
pub fn blob_bytes(config: &TrainConfig) -> Result<usize> {
    config.check()?;
    let t = config.tables;
    let alphabet = Classes { buckets: buckets_for(config.k).ok_or(Error::TableSetInvalid)? }.alphabet();
    let lists = config.list_coding.list_bytes(config.k);
    let section = if config.list_coding == ListCoding::U16 && t == CONTEXTS {
        SECTION_HEADER + lists
    } else {
        SECTION_HEADER_V3 + lists
    };
    let counts = 2 * t * alphabet;
    Ok(1 + 1
        + varint_len(t)
        + t
        + varint_len(2 * t)
        + 2 * t
        + varint_len(counts)
        + counts
        + varint_len(section)
        + section
        + CHECKSUM_LEN)
}

/// Bytes per decode entry that a set trained with `config` has at most: 2 where the
/// settings guarantee 16-bit entries (state log <= 7, or 8 with a slot floor of at
/// least 2: every step then reads at most 7 bits; class alphabets have at most 24
/// symbols), else 4. A set of state log 8 and floor 1 may still come out with 16-bit
/// entries (if every class of every table got 2 slots or more).
pub fn entry_bytes_bound(config: &TrainConfig) -> usize {
    if config.state_log <= 7 || (config.state_log == 8 && config.slot_floor >= 2) {
        2
    } else {
        4
    }
}

/// The device footprint of a set trained with `config`, at most (exact but for the
/// case of [`entry_bytes_bound`]): [`blob_bytes`] plus the compiled image,
/// `T * 2^M` entries. 0 for settings [`TrainConfig::check`] refuses.
pub fn footprint_bound(config: &TrainConfig) -> usize {
    match blob_bytes(config) {
        Ok(blob) => blob + (config.tables << config.state_log) * entry_bytes_bound(config),
        Err(_) => 0,
    }
}

/// Which fold a segment's key puts it in when folds are whole segments: the low bit
/// of the CRC-32/ISO-HDLC of the key's bytes (the same on every machine, in any
/// input order).
pub fn fold_of_key(key: &str) -> usize {
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    (CRC32.checksum(key.as_bytes()) & 1) as usize
}

/// Class histograms per context for every length of [`KS`] at once, with the raw
/// bits the tokens need (successor offsets, escapes, frame 0), summed over
/// sequences. Sums of integers: merging in any order gives the same counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KClassCounts {
    /// Per length of [`KS`]: `counts[ctx * alphabet + class]`.
    counts: Vec<Vec<u64>>,
    /// Per length of [`KS`]: raw bits.
    raw_bits: Vec<u64>,
    /// Tokens counted (frame 0 included).
    tokens: u64,
    /// Sequences counted (each codes its own initial states).
    sequences: u64,
}

impl Default for KClassCounts {
    fn default() -> Self {
        KClassCounts {
            counts: KS.iter().map(|&k| vec![0; CONTEXTS * alphabet_of(k)]).collect(),
            raw_bits: vec![0; KS.len()],
            tokens: 0,
            sequences: 0,
        }
    }
}

/// The class alphabet's size for lists of `k` (an allowed length).
fn alphabet_of(k: usize) -> usize {
    Classes { buckets: buckets_for(k).unwrap_or(0) }.alphabet()
}

impl KClassCounts {
    /// Runs the model over one sequence (whole frames, values <= 1023) as its own
    /// stream, for every length of [`KS`]: `rank(frame, p, x)` is the rank of a
    /// changed token `x` in the successor list of `p` at length [`KMAX`] (`None` if
    /// not listed). The same counts as [`ClassCounts::add_segment_ranked`] with lists
    /// of each length.
    pub fn add_sequence(&mut self, tokens: &[u16], rank: impl Fn(usize, u16, u16) -> Option<usize>) {
        let mut own = OwnLists::default();
        let mut kinds: Vec<KindPlanes> = vec![KindPlanes::default(); KS.len()];
        let escapes: Vec<usize> = KS.iter().map(|&k| alphabet_of(k) - 1).collect();
        let frames = tokens.len() / FRAME_TOKENS;
        if frames == 0 {
            return;
        }
        self.sequences += 1;
        self.tokens += (frames * FRAME_TOKENS) as u64;
        for raw in self.raw_bits.iter_mut() {
            *raw += 10 * FRAME_TOKENS as u64;
        }
        for (f, frame) in tokens.chunks_exact(FRAME_TOKENS).enumerate() {
            for r in 0..ROWS {
                for c in 0..COLS {
                    let pos = r * COLS + c;
                    let x = frame[pos];
                    if f == 0 {
                        own.push_front(pos, x);
                        for planes in kinds.iter_mut() {
                            planes.set_kind(pos, kind::ESCAPE);
                        }
                        continue;
                    }
                    let (own_rank, successor_rank) = match own.observe(pos, x) {
                        Seen::Own(rank) => (Some(rank), None),
                        Seen::New { front } => (None, rank(f, front, x)),
                    };
                    for (i, &k) in KS.iter().enumerate() {
                        let a = escapes[i] + 1;
                        let (class, class_kind, raw) = match (own_rank, successor_rank) {
                            (Some(0), _) => (0, kind::COPY, 0),
                            (Some(rank), _) => (rank, kind::OWN, 0),
                            (None, Some(rank)) if rank < k => {
                                let b = bucket_of(rank as u16);
                                (OWN_DEPTH + b, kind::SUCCESSOR, bucket_bits(b) as u64)
                            }
                            (None, _) => (escapes[i], kind::ESCAPE, 10),
                        };
                        let planes = &mut kinds[i];
                        self.counts[i][planes.context(pos) * a + class] += 1;
                        self.raw_bits[i] += raw;
                        planes.set_kind(pos, class_kind);
                    }
                }
            }
            for planes in kinds.iter_mut() {
                planes.next_frame();
            }
        }
    }

    /// Adds another set of counts.
    pub fn merge(mut self, other: &KClassCounts) -> Self {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        for (a, b) in self.raw_bits.iter_mut().zip(&other.raw_bits) {
            *a += b;
        }
        self.tokens += other.tokens;
        self.sequences += other.sequences;
        self
    }

    /// The class counts for lists of `k` (one of [`KS`]).
    pub fn class_counts(&self, k: usize) -> Result<ClassCounts> {
        let i = KS.iter().position(|&x| x == k).ok_or(Error::TableSetInvalid)?;
        ClassCounts::from_counts(k, self.counts[i].clone())
    }

    /// Raw bits for lists of `k` (one of [`KS`]; 0 otherwise).
    pub fn raw_bits(&self, k: usize) -> u64 {
        KS.iter().position(|&x| x == k).map_or(0, |i| self.raw_bits[i])
    }

    /// Tokens counted.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Sequences counted.
    pub fn sequences(&self) -> u64 {
        self.sequences
    }
}

/// What one fold contributes: the class counts of the model trained on it, and of
/// the data held out from that model (ranked with its lists).
#[derive(Debug, Clone)]
pub struct Fold {
    /// Training counts (ranked with the fold's cross-fitted lists).
    pub train: KClassCounts,
    /// Held-out counts (ranked with the fold model's final lists).
    pub held_out: KClassCounts,
}

/// Scores candidates by the bits their tables would spend on held-out data.
#[derive(Debug, Clone)]
pub struct Selector {
    folds: Vec<FoldData>,
}

#[derive(Debug, Clone)]
struct FoldData {
    fold: Fold,
    /// Per length of [`KS`]: the greedy context maps of the training counts
    /// (`maps[i][t - 1]` has `t` tables).
    maps: Vec<Vec<[u8; CONTEXTS]>>,
}

impl Selector {
    /// Prepares scoring for `folds` (the greedy context maps of each fold's training
    /// counts, for every `K`).
    pub fn new(folds: Vec<Fold>) -> Self {
        let folds = folds
            .into_iter()
            .map(|fold| {
                let maps =
                    KS.iter().enumerate().map(|(i, &k)| greedy_maps(&fold.train.counts[i], alphabet_of(k))).collect();
                FoldData { fold, maps }
            })
            .collect();
        Selector { folds }
    }

    /// Held-out tokens over all folds.
    pub fn held_out_tokens(&self) -> u64 {
        self.folds.iter().map(|f| f.fold.held_out.tokens).sum()
    }

    /// Held-out bits, summed over the folds, of the candidates of list length `k`
    /// and `tables` tables at each state log and floor of `state_logs` (in that
    /// order): for each fold the tables trained on its training counts, costed on
    /// its held-out counts, plus the held-out raw bits and `M` bits per initial
    /// state. The blending is shared by the state logs.
    pub fn held_out_bits(&self, k: usize, tables: usize, state_logs: &[(u8, u16)]) -> Result<Vec<f64>> {
        let i = KS.iter().position(|&x| x == k).ok_or(Error::TableSetInvalid)?;
        if !(1..=CONTEXTS).contains(&tables) {
            return Err(Error::TableSetInvalid);
        }
        let alphabet = alphabet_of(k);
        let mut bits = vec![0f64; state_logs.len()];
        for fold in &self.folds {
            let map = &fold.maps[i][tables - 1];
            let train = ClassCounts::from_counts(k, fold.fold.train.counts[i].clone())?;
            let probs = train.blended_mapped(TrainConfig::default().blend, map, tables);
            let held = &fold.fold.held_out;
            for (b, &(state_log, slot_floor)) in bits.iter_mut().zip(state_logs) {
                let config = TrainConfig { k, state_log, slot_floor, tables, ..TrainConfig::default() };
                config.check()?;
                let built = tables_from_probs(&probs, &config)?;
                *b += coded_bits(&held.counts[i], alphabet, map, &built)
                    + held.raw_bits[i] as f64
                    + (held.sequences * (COLS as u64) * state_log as u64) as f64;
            }
        }
        Ok(bits)
    }
}

/// Bits that class tables `tables` (chosen per context by `map`) spend on class
/// counts `counts` (`counts[ctx * alphabet + class]`): `n * (log - log2 slots)`
/// summed (infinite if a counted class has no slot).
pub fn coded_bits(counts: &[u64], alphabet: usize, map: &[u8; CONTEXTS], tables: &[(u8, Vec<u16>)]) -> f64 {
    let mut bits = 0f64;
    for (ctx, &t) in map.iter().enumerate() {
        let Some((log, norm)) = tables.get(t as usize) else { return f64::INFINITY };
        for (&n, &slots) in counts[ctx * alphabet..(ctx + 1) * alphabet].iter().zip(norm) {
            if n > 0 {
                if slots == 0 {
                    return f64::INFINITY;
                }
                bits += n as f64 * (*log as f64 - (slots as f64).log2());
            }
        }
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_valid_and_distinct() {
        let all = candidates();
        assert_eq!(all.len(), KS.len() * STATE_LOGS.len() * TABLES.len());
        for c in &all {
            c.config().check().unwrap();
            assert!(c.footprint() > 0);
        }
        let smallest = all.iter().map(|c| c.footprint()).min().unwrap();
        assert!(smallest > 5_000 && smallest < 20_000, "{smallest}");
    }

    #[test]
    fn fold_of_key_is_the_low_bit_of_the_crc32() {
        // zlib.crc32 of the ASCII bytes: 0xbc65304c, 0xa8fc236, 0xe8b7be43, 0x71beeff9.
        assert_eq!(fold_of_key("commaai-commavq_0"), 0);
        assert_eq!(fold_of_key("mattseabrook-commavq_0"), 0);
        assert_eq!(fold_of_key("a"), 1);
        assert_eq!(fold_of_key("b"), 1);
    }
}
