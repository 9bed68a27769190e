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
//!    the counts into one tANS table per context (or per group of contexts, merged
//!    greedily: [`greedy_maps`]), blending each with its coarser parents so sparse
//!    contexts stay sane.

use super::classes::{bucket_of, buckets_for, kind, Classes, OWN_DEPTH};
use super::contexts::{KindPlanes, CONTEXTS};
use super::own_lists::{OwnLists, Seen};
use super::{ListCoding, IDENTITY_MAP, KIND, VERSION_2, VERSION_3};
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
    /// Every class of every table gets at least this many slots (1 or more). 2 at
    /// state log 8 keeps every decode step within 7 bits, so the set gets 16-bit
    /// decode entries (`codec/FORMAT.md`).
    pub slot_floor: u16,
    /// Number of class tables `T` (1..=100). Below 100 the 100 contexts are merged
    /// into `T` groups greedily by their training counts ([`greedy_maps`]).
    pub tables: usize,
    /// How the successor lists are stored. With `U16` and 100 tables the set gets a
    /// version-2 model section (as before version 3 existed), else version 3.
    pub list_coding: ListCoding,
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
            slot_floor: 1,
            tables: CONTEXTS,
            list_coding: ListCoding::U16,
        }
    }
}

impl TrainConfig {
    /// Checks the settings: `K` an allowed list length, the state log in range, 1..=100
    /// tables, a slot floor of at least 1 whose slots fit a table of the state log.
    pub fn check(&self) -> Result<()> {
        let buckets = buckets_for(self.k).ok_or(Error::TableSetInvalid)?;
        if !(crate::tans::MIN_TABLE_LOG..=crate::tans::MAX_TABLE_LOG).contains(&self.state_log) {
            return Err(Error::TableLog { log: self.state_log });
        }
        let alphabet = Classes { buckets }.alphabet() as u64;
        if !(1..=CONTEXTS).contains(&self.tables)
            || self.slot_floor == 0
            || self.slot_floor as u64 * alphabet > 1u64 << self.state_log
        {
            return Err(Error::TableSetInvalid);
        }
        Ok(())
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

    /// The first `k` entries of every list (the ranking does not depend on the
    /// length, so they are the lists [`Self::build`] makes for `k`); `None` unless
    /// `k` is an allowed length up to this one's.
    pub fn truncated(&self, k: usize) -> Option<SuccessorLists> {
        buckets_for(k).filter(|_| k <= self.k)?;
        let lists: Vec<u16> = self.lists.chunks_exact(self.k).flat_map(|l| &l[..k]).copied().collect();
        let rank = self.rank.iter().map(|&r| if (r as usize) < k { r } else { u16::MAX }).collect();
        Some(SuccessorLists { k, lists, rank })
    }

    /// The version-2 model section: kind, version, `K`, then the lists as `u16`
    /// (one class table per context).
    pub fn model_section(&self) -> Vec<u8> {
        let mut out = vec![KIND, VERSION_2];
        out.extend_from_slice(&(self.k as u16).to_le_bytes());
        out.extend(self.lists.iter().flat_map(|t| t.to_le_bytes()));
        out
    }

    /// The model section for lists coded as `coding` and class tables chosen by
    /// `map` (`n_tables` of them): version 2 for `u16` lists and the identity map,
    /// else version 3 (`codec/FORMAT.md`).
    pub fn model_section_with(&self, coding: ListCoding, map: &[u8; CONTEXTS], n_tables: usize) -> Vec<u8> {
        if coding == ListCoding::U16 && n_tables == CONTEXTS && *map == IDENTITY_MAP {
            return self.model_section();
        }
        let mut out = vec![KIND, VERSION_3];
        out.extend_from_slice(&(self.k as u16).to_le_bytes());
        out.push(coding.byte());
        out.push(n_tables as u8);
        out.extend_from_slice(map);
        match coding {
            ListCoding::U16 => out.extend(self.lists.iter().flat_map(|t| t.to_le_bytes())),
            ListCoding::Packed10 => {
                let mut packed = vec![0u8; coding.list_bytes(self.k)];
                for (i, &t) in self.lists.iter().enumerate() {
                    let (bit, v) = (10 * i, (t & 0x3FF) as u32);
                    let byte = bit >> 3;
                    let word = v << (bit & 7);
                    packed[byte] |= word as u8;
                    packed[byte + 1] |= (word >> 8) as u8;
                }
                out.extend_from_slice(&packed);
            }
        }
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

    /// Rank of `x` in the list of `p` that ranks frame `frame` of a segment of
    /// `frames` frames: the list learned from the other fold ([`fold_of`]).
    #[inline]
    pub fn rank(&self, frame: usize, frames: usize, p: u16, x: u16) -> Option<usize> {
        self.folds[1 - fold_of(frame, frames)].rank(p, x)
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
        self.add_segment_ranked(tokens, |f, p, x| lists.rank(f, frames, p, x));
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
                    let class = match own.observe(pos, x) {
                        Seen::Own(rank) => rank,
                        Seen::New { front } => match rank(f, front, x).filter(|&r| r < self.k) {
                            Some(rank) => OWN_DEPTH + bucket_of(rank as u16),
                            None => self.classes.escape() as usize,
                        },
                    };
                    self.counts[kinds.context(pos) * a + class] += 1;
                    kinds.set_kind(pos, self.classes.kind(class as u16));
                }
            }
            kinds.next_frame();
        }
    }

    /// Counts made elsewhere: `counts[ctx * alphabet + class]` for lists of `k`.
    pub fn from_counts(k: usize, counts: Vec<u64>) -> Result<Self> {
        let classes = Classes { buckets: buckets_for(k).ok_or(Error::TableSetInvalid)? };
        if counts.len() != CONTEXTS * classes.alphabet() {
            return Err(Error::TableSetInvalid);
        }
        Ok(ClassCounts { k, classes, counts })
    }

    /// The counts: `counts[ctx * alphabet + class]`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The class alphabet.
    pub fn classes(&self) -> Classes {
        self.classes
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
        self.blended_mapped(blend, &IDENTITY_MAP, CONTEXTS)
    }

    /// Class-symbol probabilities per class table of context map `map` (`n_tables`
    /// tables, each used by some context): a table's counts are those of its
    /// contexts, blended with its parents: first all contexts that share a gprev with
    /// one of its contexts, then those that share a (gprev, nbb) pair with one, each
    /// level blended with the one above and the first with the global distribution.
    /// For the identity map these are the 100 contexts' own parents, exactly
    /// [`Self::blended`].
    pub fn blended_mapped(&self, blend: f64, map: &[u8; CONTEXTS], n_tables: usize) -> Vec<Vec<f64>> {
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
        (0..n_tables)
            .map(|table| {
                let members: Vec<usize> = (0..CONTEXTS).filter(|&c| map[c] as usize == table).collect();
                let p1 = mix(&sum_where(&|c| members.iter().any(|&x| x / 25 == c / 25)), &p0);
                let p2 = mix(&sum_where(&|c| members.iter().any(|&x| x / 5 == c / 5)), &p1);
                mix(&sum_where(&|c| map[c] as usize == table), &p2)
            })
            .collect()
    }
}

/// Greedy merging of the 100 contexts by class counts `counts`
/// (`counts[ctx * alphabet + class]`): starting from one group per context,
/// repeatedly merge the two groups whose merge adds the fewest bits to the counts'
/// empirical code length (ties: the first pair in group order). Returns the context
/// map at every number of groups: `maps[t - 1]` has `t` tables, numbered in order of
/// their first context. `maps[99]` is the identity map.
pub fn greedy_maps(counts: &[u64], alphabet: usize) -> Vec<[u8; CONTEXTS]> {
    let cost = |h: &[u64]| -> f64 {
        let n: u64 = h.iter().sum();
        h.iter().filter(|&&c| c > 0).map(|&c| -(c as f64) * (c as f64 / n as f64).log2()).sum()
    };
    let mut groups: Vec<(Vec<usize>, Vec<u64>)> =
        (0..CONTEXTS).map(|c| (vec![c], counts[c * alphabet..(c + 1) * alphabet].to_vec())).collect();
    let mut costs: Vec<f64> = groups.iter().map(|(_, h)| cost(h)).collect();
    let mut out = vec![[0u8; CONTEXTS]; CONTEXTS];
    loop {
        let mut group_of = [0usize; CONTEXTS];
        for (g, (members, _)) in groups.iter().enumerate() {
            for &c in members {
                group_of[c] = g;
            }
        }
        out[groups.len() - 1] = numbered_by_first_use(&group_of);
        if groups.len() == 1 {
            return out;
        }
        let mut best = (f64::INFINITY, 0, 0);
        let mut merged = vec![0u64; alphabet];
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                for ((m, x), y) in merged.iter_mut().zip(&groups[a].1).zip(&groups[b].1) {
                    *m = x + y;
                }
                let d = cost(&merged) - costs[a] - costs[b];
                if d < best.0 {
                    best = (d, a, b);
                }
            }
        }
        let (_, a, b) = best;
        let (members, h) = groups.remove(b);
        costs.remove(b);
        groups[a].0.extend(members);
        for (x, y) in groups[a].1.iter_mut().zip(h) {
            *x += y;
        }
        costs[a] = cost(&groups[a].1);
    }
}

/// A map from contexts to groups, with the groups renumbered `0..` in order of their
/// first context.
fn numbered_by_first_use(group_of: &[usize; CONTEXTS]) -> [u8; CONTEXTS] {
    let mut number = [u8::MAX; CONTEXTS];
    let mut next = 0u8;
    let mut map = [0u8; CONTEXTS];
    for (m, &g) in map.iter_mut().zip(group_of) {
        if number[g] == u8::MAX {
            number[g] = next;
            next += 1;
        }
        *m = number[g];
    }
    map
}

/// The context map of `config.tables` tables for class counts `classes`: the
/// identity for 100, else the greedy merge ([`greedy_maps`]).
pub fn context_map(classes: &ClassCounts, tables: usize) -> Result<[u8; CONTEXTS]> {
    match tables {
        CONTEXTS => Ok(IDENTITY_MAP),
        1..CONTEXTS => Ok(greedy_maps(&classes.counts, classes.classes.alphabet())[tables - 1]),
        _ => Err(Error::TableSetInvalid),
    }
}

/// One class table from blended probabilities: counts at a 2^32 scale (every class
/// at least one), the table log [`choose_log`] picks under `state_log` (raised until
/// `slot_floor` slots per class fit), normalised, then every class raised to at
/// least `slot_floor` slots, taking them one at a time from the largest count (the
/// last such class on ties).
pub fn class_table(probs: &[f64], state_log: u8, log_tolerance: f64, slot_floor: u16) -> Result<(u8, Vec<u16>)> {
    let counts: Vec<u64> = probs.iter().map(|&p| ((p * (1u64 << 32) as f64).round() as u64).max(1)).collect();
    let mut log = choose_log(&counts, state_log, log_tolerance)?;
    let floor = slot_floor.max(1);
    while (floor as u64) * (counts.len() as u64) > 1u64 << log {
        if log >= state_log {
            return Err(Error::TableSetInvalid);
        }
        log += 1;
    }
    let mut norm = normalize(&counts, log)?;
    while let Some(i) = norm.iter().position(|&c| c < floor) {
        let need = floor - norm[i];
        norm[i] = floor;
        for _ in 0..need {
            let j = (0..norm.len()).max_by_key(|&j| norm[j]).unwrap_or(0);
            norm[j] -= 1;
        }
    }
    Ok((log, norm))
}

/// The class tables (log, counts) of blended probabilities `probs` (one per table)
/// under `config`'s state log, log tolerance and slot floor ([`class_table`]).
pub fn tables_from_probs(probs: &[Vec<f64>], config: &TrainConfig) -> Result<Vec<(u8, Vec<u16>)>> {
    probs.iter().map(|p| class_table(p, config.state_log, config.log_tolerance, config.slot_floor)).collect()
}

/// Builds the context model's table set from the successor lists and class counts,
/// with `config.tables` class tables (context map from the counts:
/// [`context_map`]), lists coded as `config.list_coding`.
pub fn build_table_set(lists: &SuccessorLists, classes: &ClassCounts, config: &TrainConfig) -> Result<TableSet> {
    config.check()?;
    let map = context_map(classes, config.tables)?;
    build_table_set_mapped(lists, classes, config, &map)
}

/// [`build_table_set`] with a given context map (`config.tables` tables, each used).
pub fn build_table_set_mapped(
    lists: &SuccessorLists,
    classes: &ClassCounts,
    config: &TrainConfig,
    map: &[u8; CONTEXTS],
) -> Result<TableSet> {
    config.check()?;
    if lists.k() != config.k || classes.classes.buckets != buckets_for(config.k).ok_or(Error::TableSetInvalid)? {
        return Err(Error::TableSetInvalid);
    }
    let mut used = [false; CONTEXTS];
    for &t in map {
        *used.get_mut(t as usize).filter(|_| (t as usize) < config.tables).ok_or(Error::TableSetInvalid)? = true;
    }
    if used[..config.tables].iter().any(|&u| !u) {
        return Err(Error::TableSetInvalid);
    }
    let tables = tables_from_probs(&classes.blended_mapped(config.blend, map, config.tables), config)?;
    let model = lists.model_section_with(config.list_coding, map, config.tables);
    Ok(TableSet { state_log: config.state_log, tables, model })
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
