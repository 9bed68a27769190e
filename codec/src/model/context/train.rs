//! Learning the context model's static tables from data.
//!
//! Two passes over the training segments, each a sum of per-segment counts that can
//! be merged in any order (so callers fan segments out to threads and keep memory
//! independent of the number of segments):
//! 1. [`TransitionCounts`]: how often token `p` changed into `x` at a position from one
//!    frame to the next. From them, [`SuccessorLists::build`] ranks for every `p` the
//!    likely next tokens by a symmetric, two-step-smoothed score.
//! 2. [`ClassCounts`]: class symbols per context, obtained by running the model over
//!    the training data. Tokens are ranked with successor lists learned from the
//!    other half of the data ([`fold_of`]): ranking them with lists that have seen
//!    them would make list misses look rare (measured: leave-one-out rate 1.89/2.19
//!    with self-ranked statistics, 1.95/2.23 cross-fitted). [`build_table_set`] turns
//!    the counts into one tANS table per context, blending each context with its
//!    coarser parents so sparse contexts stay sane.

use super::classes::{bucket_of, buckets_for, kind, Classes, OWN_DEPTH};
use super::contexts::{KindPlanes, CONTEXTS};
use super::own_lists::OwnLists;
use super::{KIND, VERSION};
use crate::container::{COLS, FRAME_TOKENS, ROWS};
use crate::table_set::TableSet;
use crate::tans::normalize::{choose_log, normalize};
use crate::{Error, Result};
use std::vec;
use std::vec::Vec;

/// Settings of table building. The defaults are the values measured best on the
/// real segments (see `research/` and `shared/notes/model-findings.md`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainConfig {
    /// Successor list length `K` (an allowed bucket edge, 4..=768).
    pub k: usize,
    /// State log of the table set and largest class-table log.
    pub state_log: u8,
    /// Weight of the reversed transitions in the successor score.
    pub symmetric: f64,
    /// Weight of two-step transitions (successors of successors) in the score.
    pub two_step: f64,
    /// Pseudo-count weight of a parent context when blending class tables.
    pub blend: f64,
    /// A class table gets the smallest log whose coded size on its own statistics is
    /// within this fraction of the size at `state_log`.
    pub log_tolerance: f64,
}

/// The defaults: `K` = 192, state log 10 and every class table at log 10
/// (`log_tolerance` 0). Measured leave-one-out on the two real segments, uniform
/// logs 9..=12 code within 0.02% of each other and 0.1% better than per-table logs
/// chosen at 0.1% tolerance (small tables fit the training data, not unseen data);
/// trained on both segments, log 10 is within 0.01% of log 11 and log 9 0.05% below.
/// One log for all tables also makes the compiled image `100 x 2^10` entries (400 KiB).
impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            k: super::DEFAULT_K as usize,
            state_log: super::DEFAULT_STATE_LOG,
            symmetric: 1.0,
            two_step: 8.0,
            blend: 60.0,
            log_tolerance: 0.0,
        }
    }
}

/// Which half of the training data a frame belongs to: the first or second half of
/// its segment. Successor lists learned from one half rank the tokens of the other
/// when class statistics are counted, so the tables expect list misses and escapes
/// as often as unseen data will produce them. Depending only on the frame's place in
/// its segment, the split is the same whatever order segments arrive in.
#[inline]
pub fn fold_of(frame: usize, frames: usize) -> usize {
    (2 * frame >= frames) as usize
}

/// Pass 1 counts: transitions `p -> x` (`x != p`) at a position between consecutive
/// frames, per fold (the fold of the later frame): `folds[h][p * 1024 + x]`.
/// 8 MiB whatever the amount of data.
#[derive(Debug, Clone)]
pub struct TransitionCounts {
    folds: [Vec<u32>; 2],
}

impl Default for TransitionCounts {
    fn default() -> Self {
        TransitionCounts { folds: [vec![0; 1024 * 1024], vec![0; 1024 * 1024]] }
    }
}

impl TransitionCounts {
    /// Adds one segment (whole frames, values <= 1023).
    pub fn add_segment(&mut self, tokens: &[u16]) {
        let frames: Vec<&[u16]> = tokens.chunks_exact(FRAME_TOKENS).collect();
        for t in 1..frames.len() {
            let fold = &mut self.folds[fold_of(t, frames.len())];
            for (&p, &x) in frames[t - 1].iter().zip(frames[t]) {
                if p != x {
                    let c = &mut fold[(p as usize & 1023) * 1024 + (x as usize & 1023)];
                    *c = c.saturating_add(1);
                }
            }
        }
    }
    /// Adds another set of counts.
    pub fn merge(mut self, other: &TransitionCounts) -> Self {
        for (mine, theirs) in self.folds.iter_mut().zip(&other.folds) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a = a.saturating_add(*b);
            }
        }
        self
    }
    /// Total number of transitions counted.
    pub fn total(&self) -> u64 {
        self.folds.iter().flatten().map(|&c| c as u64).sum()
    }
    /// Counts of one fold.
    pub fn fold(&self, h: usize) -> &[u32] {
        &self.folds[h % 2]
    }
    /// Counts of both folds together.
    pub fn all(&self) -> Vec<u32> {
        self.folds[0].iter().zip(&self.folds[1]).map(|(a, b)| a.saturating_add(*b)).collect()
    }
}

/// Successor lists, and where each token sits in them.
#[derive(Debug, Clone)]
pub struct SuccessorLists {
    k: usize,
    /// `lists[p * k + r]`: the token of rank `r` for `p`.
    lists: Vec<u16>,
    /// `rank[p * 1024 + x]`: rank of `x` in the list of `p`, or `u16::MAX`.
    rank: Vec<u16>,
}

/// Score units per transition count (the score is rounded to this precision).
const SCORE_UNIT: f64 = 64.0;

impl SuccessorLists {
    /// Ranks successors from transition counts `c` (`c[p * 1024 + x]`):
    /// score = S + two_step * (N.N) * rowsum(S) / 8 with S = C + symmetric * C^T and N
    /// = S with rows normalised, rounded to 1/64; ties broken by how often a token is
    /// the target of a change overall (most often first), then by lower token.
    pub fn build(c: &[u32], k: usize, symmetric: f64, two_step: f64) -> Result<Self> {
        buckets_for(k).ok_or(Error::TableSetInvalid)?;
        const N: usize = 1024;
        if c.len() != N * N {
            return Err(Error::TableSetInvalid);
        }
        let mut s = vec![0f64; N * N];
        for p in 0..N {
            for x in 0..N {
                s[p * N + x] = c[p * N + x] as f64 + symmetric * c[x * N + p] as f64;
            }
        }
        let rowsum: Vec<f64> = (0..N).map(|p| s[p * N..(p + 1) * N].iter().sum::<f64>().max(1.0)).collect();
        let norm: Vec<f64> = (0..N * N).map(|i| s[i] / rowsum[i / N]).collect();
        let mut score = s;
        if two_step != 0.0 {
            for p in 0..N {
                let row = &mut score[p * N..(p + 1) * N];
                let w = two_step / 8.0 * rowsum[p];
                for m in 0..N {
                    let a = norm[p * N + m];
                    if a == 0.0 {
                        continue;
                    }
                    let aw = a * w;
                    for (dst, &b) in row.iter_mut().zip(&norm[m * N..(m + 1) * N]) {
                        *dst += aw * b;
                    }
                }
            }
        }
        let mut target = vec![0u64; N];
        for (i, &n) in c.iter().enumerate() {
            target[i % N] += n as u64;
        }
        let mut by_target: Vec<usize> = (0..N).collect();
        by_target.sort_by(|&a, &b| target[b].cmp(&target[a]).then(a.cmp(&b)));
        let mut tie_rank = vec![0usize; N];
        for (rank, &x) in by_target.iter().enumerate() {
            tie_rank[x] = rank;
        }
        let mut lists = vec![0u16; N * k];
        let mut rank = vec![u16::MAX; N * N];
        let mut order: Vec<(i64, usize)> = Vec::with_capacity(N);
        for p in 0..N {
            order.clear();
            order.extend((0..N).filter(|&x| x != p).map(|x| ((score[p * N + x] * SCORE_UNIT).round() as i64, x)));
            order.sort_by(|a, b| b.0.cmp(&a.0).then(tie_rank[a.1].cmp(&tie_rank[b.1])));
            for (r, &(_, x)) in order.iter().take(k).enumerate() {
                lists[p * k + r] = x as u16;
                rank[p * N + x] = r as u16;
            }
        }
        Ok(SuccessorLists { k, lists, rank })
    }

    /// List length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The list of `p`.
    pub fn list(&self, p: u16) -> &[u16] {
        &self.lists[p as usize * self.k..(p as usize + 1) * self.k]
    }

    /// Rank of `x` in the list of `p`, if listed.
    #[inline]
    pub fn rank(&self, p: u16, x: u16) -> Option<usize> {
        let r = self.rank[(p as usize & 1023) * 1024 + (x as usize & 1023)];
        (r != u16::MAX).then_some(r as usize)
    }

    /// The model section bytes: kind, version, `K`, then the lists.
    pub fn model_section(&self) -> Vec<u8> {
        let mut out = vec![KIND, VERSION];
        out.extend_from_slice(&(self.k as u16).to_le_bytes());
        out.extend(self.lists.iter().flat_map(|t| t.to_le_bytes()));
        out
    }
}

/// The lists learned from each fold, used to rank the other fold's tokens.
#[derive(Debug, Clone)]
pub struct FoldLists {
    folds: [SuccessorLists; 2],
}

impl FoldLists {
    /// Builds each fold's lists.
    pub fn build(counts: &TransitionCounts, config: &TrainConfig) -> Result<Self> {
        let one = |h| SuccessorLists::build(counts.fold(h), config.k, config.symmetric, config.two_step);
        Ok(FoldLists { folds: [one(0)?, one(1)?] })
    }
}

/// Pass 2 counts: class symbols per context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassCounts {
    k: usize,
    classes: Classes,
    /// `counts[ctx * alphabet + class]`.
    counts: Vec<u64>,
}

impl ClassCounts {
    /// Empty counts for lists of length `k`.
    pub fn new(k: usize) -> Result<Self> {
        let classes = Classes { buckets: buckets_for(k).ok_or(Error::TableSetInvalid)? };
        Ok(ClassCounts { k, classes, counts: vec![0; CONTEXTS * classes.alphabet()] })
    }

    /// Runs the model over one training segment and counts its class symbols, each
    /// frame's successor tokens ranked with the lists of the other fold.
    pub fn add_segment(&mut self, lists: &FoldLists, tokens: &[u16]) {
        let frames = tokens.len() / FRAME_TOKENS;
        self.add_segment_ranked(tokens, |f, p, x| lists.folds[1 - fold_of(f, frames)].rank(p, x));
    }

    /// Runs the model over one training segment and counts its class symbols, with
    /// `rank(frame, p, x)` giving the successor rank of a changed token.
    pub fn add_segment_ranked(&mut self, tokens: &[u16], rank: impl Fn(usize, u16, u16) -> Option<usize>) {
        let a = self.classes.alphabet();
        let mut own = OwnLists::default();
        let mut kinds = KindPlanes::default();
        for (f, frame) in tokens.chunks_exact(FRAME_TOKENS).enumerate() {
            for r in 0..ROWS {
                for c in 0..COLS {
                    let pos = r * COLS + c;
                    let x = frame[pos];
                    if f == 0 {
                        own.push_front(pos, x);
                        kinds.set_kind(pos, kind::ESCAPE);
                        continue;
                    }
                    let class = match own.rank_of(pos, x) {
                        Some(rank) => {
                            own.promote(pos, rank);
                            rank
                        }
                        None => {
                            let p = own.list(pos)[0];
                            own.push_front(pos, x);
                            match rank(f, p, x).filter(|&r| r < self.k) {
                                Some(rank) => OWN_DEPTH + bucket_of(rank as u16),
                                None => self.classes.escape() as usize,
                            }
                        }
                    };
                    self.counts[kinds.context(pos) * a + class] += 1;
                    kinds.set_kind(pos, self.classes.kind(class as u16));
                }
            }
            kinds.next_frame();
        }
    }

    /// Adds another set of counts (same `K`).
    pub fn merge(mut self, other: &ClassCounts) -> Self {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self
    }

    /// Class-symbol probabilities per context after blending with the parents
    /// gprev x nbb, gprev, and the global distribution.
    pub fn blended(&self, blend: f64) -> Vec<Vec<f64>> {
        let a = self.classes.alphabet();
        let sum_where = |keep: &dyn Fn(usize) -> bool| -> Vec<f64> {
            let mut h = vec![0f64; a];
            for ctx in (0..CONTEXTS).filter(|&c| keep(c)) {
                for (s, hs) in h.iter_mut().enumerate() {
                    *hs += self.counts[ctx * a + s] as f64;
                }
            }
            h
        };
        let mix = |h: &[f64], parent: &[f64]| -> Vec<f64> {
            let n: f64 = h.iter().sum();
            h.iter().zip(parent).map(|(&c, &q)| (c + blend * q) / (n + blend)).collect()
        };
        let global = sum_where(&|_| true);
        let total: f64 = global.iter().sum();
        let p0: Vec<f64> = global.iter().map(|&c| (c + 0.5) / (total + 0.5 * a as f64)).collect();
        (0..CONTEXTS)
            .map(|ctx| {
                let (g, nbb) = (ctx / 25, ctx / 5 % 5);
                let p1 = mix(&sum_where(&|c| c / 25 == g), &p0);
                let p2 = mix(&sum_where(&|c| c / 25 == g && c / 5 % 5 == nbb), &p1);
                mix(&sum_where(&|c| c == ctx), &p2)
            })
            .collect()
    }
}

/// Builds the context model's table set from the successor lists and class counts.
pub fn build_table_set(lists: &SuccessorLists, classes: &ClassCounts, config: &TrainConfig) -> Result<TableSet> {
    if lists.k() != config.k || classes.classes.buckets != buckets_for(config.k).ok_or(Error::TableSetInvalid)? {
        return Err(Error::TableSetInvalid);
    }
    let mut tables = Vec::with_capacity(CONTEXTS);
    for probs in classes.blended(config.blend) {
        // Probabilities as fine-grained counts; every class keeps at least one slot.
        let counts: Vec<u64> = probs.iter().map(|&p| ((p * (1u64 << 32) as f64).round() as u64).max(1)).collect();
        let log = choose_log(&counts, config.state_log, config.log_tolerance)?;
        tables.push((log, normalize(&counts, log)?));
    }
    Ok(TableSet { state_log: config.state_log, tables, model: lists.model_section() })
}

/// Trains a table set from segments held in memory, on one thread (tests, small
/// jobs; `host-tools build-tables` streams and parallelises the same two passes).
pub fn train_in_memory(segments: &[&[u16]], config: &TrainConfig) -> Result<TableSet> {
    let transitions = segments.iter().fold(TransitionCounts::default(), |mut acc, s| {
        acc.add_segment(s);
        acc
    });
    let folds = FoldLists::build(&transitions, config)?;
    let mut classes = ClassCounts::new(config.k)?;
    for s in segments {
        classes.add_segment(&folds, s);
    }
    let lists = SuccessorLists::build(&transitions.all(), config.k, config.symmetric, config.two_step)?;
    build_table_set(&lists, &classes, config)
}
