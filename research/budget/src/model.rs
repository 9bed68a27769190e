//! The context model with its size parameters free: list length `K` (uniform or per
//! predecessor), state log `M`, and a coarser context set (a partition of the 100
//! contexts). Training mirrors `vqtans::model::context::train` step by step and
//! coding uses the codec's own tANS encoder, so at the default parameters the tables
//! and stream sizes are exactly the codec's (checked by `validate`).
//!
//! A coarser context set is a function of the fine context `(gprev*5 + nbb)*5 + up`:
//! every fine context of a group uses the group's table. Its rate is therefore exactly
//! that of a decoder whose context function is the coarse one (or that maps the 100
//! fine contexts to tables through a 100-byte map).

use crate::data::FRAME;
use vqtans::container::{DEFAULT_GROUP_FRAMES, GROUP_CHECK_BITS};
use vqtans::model::context::classes::{bucket_bits, bucket_of, buckets_for, Classes, EDGES, OWN_DEPTH};
use vqtans::model::context::contexts::{KindPlanes, CONTEXTS};
use vqtans::model::context::own_lists::{OwnLists, Seen};
use vqtans::model::context::train::{fold_of, SuccessorLists, TransitionCounts};
use vqtans::tans::encode_table::EncodeTable;
use vqtans::tans::encoder::{encode, Op};
use vqtans::tans::normalize::{choose_log, normalize};
use vqtans::tans::NormalizedRef;

/// The longest list length the codec allows; shorter lists are its prefixes (the
/// ranking of `SuccessorLists::build` does not depend on `K`).
pub const KMAX: usize = 768;
const ROWS: usize = 8;
const COLS: usize = 16;
/// The codec's training defaults.
const SYMMETRIC: f64 = 1.0;
const TWO_STEP: f64 = 8.0;
const BLEND: f64 = 60.0;

/// Lists learned from one training set, at the longest length.
pub struct Learned {
    folds: [SuccessorLists; 2],
    all: SuccessorLists,
    /// `freq_rank[p]`: place of `p` among the predecessors by how often a change
    /// starts from them in training (0 = most often).
    pub freq_rank: Vec<u16>,
}

impl Learned {
    pub fn new(segments: &[&[u16]]) -> Self {
        let mut t = TransitionCounts::default();
        for s in segments {
            t.add_segment(s);
        }
        let one = |c: &[u32]| SuccessorLists::build(c, KMAX, SYMMETRIC, TWO_STEP).expect("lists");
        let all = t.all();
        let mut from = vec![0u64; 1024];
        for (i, &c) in all.iter().enumerate() {
            from[i / 1024] += c as u64;
        }
        let mut by_freq: Vec<u16> = (0..1024).collect();
        by_freq.sort_by(|&a, &b| from[b as usize].cmp(&from[a as usize]).then(a.cmp(&b)));
        let mut freq_rank = vec![0u16; 1024];
        for (r, &p) in by_freq.iter().enumerate() {
            freq_rank[p as usize] = r as u16;
        }
        Learned { folds: [one(t.fold(0)), one(t.fold(1))], all: one(&all), freq_rank }
    }

    /// The final lists (`K` prefix of each), as the model section stores them.
    pub fn final_list(&self, p: u16, k: usize) -> &[u16] {
        &self.all.list(p)[..k]
    }
}

/// How long the successor list of each predecessor is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ListShape {
    /// Every list has `K` entries (today's model).
    Uniform(usize),
    /// The `n_hi` predecessors that start the most changes in training get `k_hi`
    /// entries, the others `k_lo` (0: no list, every non-own token is an escape).
    Tiered { k_hi: usize, n_hi: usize, k_lo: usize },
    /// `k` stored entries per list, extended without storage by the first `k2`
    /// entries of the lists of the first `i` entries (two hops: successors of
    /// successors), ranks `k..k + i*k2`; `interleave`: rank `k + j*i + n` is entry `j`
    /// of the list of entry `n` (else `k + n*k2 + j`). Duplicates are not removed
    /// (decoding stays two loads); the encoder takes the smallest rank.
    TwoHop { k: usize, i: usize, k2: usize, interleave: bool },
}

impl ListShape {
    /// The alphabet's list length (the longest list).
    pub fn k(&self) -> usize {
        match *self {
            ListShape::Uniform(k) => k,
            ListShape::Tiered { k_hi, .. } => k_hi,
            ListShape::TwoHop { k, i, k2, .. } => k + i * k2,
        }
    }
    fn len_of(&self, p: u16, learned: &Learned) -> usize {
        match *self {
            ListShape::Uniform(k) | ListShape::TwoHop { k, .. } => k,
            ListShape::Tiered { k_hi, n_hi, k_lo } => {
                if (learned.freq_rank[p as usize] as usize) < n_hi {
                    k_hi
                } else {
                    k_lo
                }
            }
        }
    }
    /// Total list entries stored.
    pub fn entries(&self) -> usize {
        match *self {
            ListShape::Uniform(k) => 1024 * k,
            ListShape::Tiered { k_hi, n_hi, k_lo } => n_hi * k_hi + (1024 - n_hi) * k_lo,
            ListShape::TwoHop { k, .. } => 1024 * k,
        }
    }
    pub fn label(&self) -> String {
        match *self {
            ListShape::Uniform(k) => format!("{k}"),
            ListShape::Tiered { k_hi, n_hi, k_lo } => format!("{k_hi}x{n_hi}+{k_lo}"),
            ListShape::TwoHop { k, i, k2, interleave } => format!("{k}h{i}{}{k2}", if interleave { "i" } else { "x" }),
        }
    }
}

/// One coded token of frames >= 1: fine context, class symbol and raw bits.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub ctx: u8,
    pub class: u8,
    pub raw_bits: u8,
    pub raw: u16,
}

/// Rank of `x` among the successors of `p` for list shape `shape`, with `lists`.
fn shape_rank(shape: ListShape, learned: &Learned, lists: &SuccessorLists, p: u16, x: u16) -> Option<usize> {
    let direct = lists.rank(p, x).filter(|&r| r < shape.len_of(p, learned));
    let ListShape::TwoHop { k, i, k2, interleave } = shape else { return direct };
    if direct.is_some() {
        return direct;
    }
    (0..i)
        .filter_map(|n| {
            let j = lists.rank(lists.list(p)[n], x).filter(|&j| j < k2)?;
            Some(if interleave { k + j * i + n } else { k + n * k2 + j })
        })
        .min()
}

/// Runs the model over `tokens`: frame-0 tokens, then one event per later token, the
/// successors of frame `f` ranked with `lists(f)`.
pub fn events<'l>(
    tokens: &[u16],
    shape: ListShape,
    learned: &'l Learned,
    lists: impl Fn(usize) -> &'l SuccessorLists,
) -> Vec<Event> {
    let classes = Classes { buckets: buckets_for(shape.k()).expect("allowed K") };
    let mut own = OwnLists::default();
    let mut kinds = KindPlanes::default();
    let mut out = Vec::with_capacity(tokens.len());
    for (f, frame) in tokens.chunks_exact(FRAME).enumerate() {
        for r in 0..ROWS {
            for c in 0..COLS {
                let pos = r * COLS + c;
                let x = frame[pos];
                if f == 0 {
                    own.push_front(pos, x);
                    kinds.set_kind(pos, vqtans::model::context::classes::kind::ESCAPE);
                    continue;
                }
                let (class, raw_bits, raw) = match own.observe(pos, x) {
                    Seen::Own(rank) => (rank, 0, 0),
                    Seen::New { front } => match shape_rank(shape, learned, lists(f), front, x) {
                        Some(rank) => {
                            let b = bucket_of(rank as u16);
                            (OWN_DEPTH + b, bucket_bits(b) as u8, rank as u16 - EDGES[b])
                        }
                        None => (classes.escape() as usize, 10, x),
                    },
                };
                let ctx = kinds.context(pos);
                out.push(Event { ctx: ctx as u8, class: class as u8, raw_bits, raw });
                kinds.set_kind(pos, classes.kind(class as u16));
            }
        }
        kinds.next_frame();
    }
    out
}

/// Training events: each frame's successors ranked with the other fold's lists.
pub fn training_events(segments: &[&[u16]], shape: ListShape, learned: &Learned) -> Vec<Event> {
    let mut all = Vec::new();
    for s in segments {
        let frames = s.len() / FRAME;
        all.extend(events(s, shape, learned, |f| &learned.folds[1 - fold_of(f, frames)]));
    }
    all
}

/// Events of a measured segment, ranked with the final lists.
pub fn coding_events(tokens: &[u16], shape: ListShape, learned: &Learned) -> Vec<Event> {
    events(tokens, shape, learned, |_| &learned.all)
}

/// A partition of the 100 fine contexts: the table of each.
#[derive(Debug, Clone)]
pub struct CtxSet {
    pub name: String,
    /// `map[ctx]`: table of fine context `ctx` (tables `0..tables`, all used).
    pub map: Vec<u8>,
    tables: usize,
}

impl CtxSet {
    /// The set with `map`, tables renumbered in order of first use.
    pub fn from_map(name: String, map: &[usize]) -> CtxSet {
        let mut number = std::collections::HashMap::new();
        let map: Vec<u8> = map
            .iter()
            .map(|g| {
                let next = number.len();
                *number.entry(*g).or_insert(next) as u8
            })
            .collect();
        CtxSet { name, map, tables: number.len() }
    }
    /// Merges values of each context variable: `g[gprev]`, `n[nbb]`, `u[up]`.
    pub fn structured(name: String, g: &[u8], n: &[u8], u: &[u8]) -> CtxSet {
        let map: Vec<usize> =
            (0..CONTEXTS).map(|c| (g[c / 25] as usize * 8 + n[c / 5 % 5] as usize) * 8 + u[c % 5] as usize).collect();
        CtxSet::from_map(name, &map)
    }
    /// Number of tables.
    pub fn tables(&self) -> usize {
        self.tables
    }
    pub fn is_identity(&self) -> bool {
        self.tables == CONTEXTS
    }
    /// Table of fine context `ctx`.
    pub fn table(&self, ctx: usize) -> usize {
        self.map[ctx] as usize
    }
}

/// The context sets swept: every combination of these merges of gprev, nbb and up.
pub fn context_sets() -> Vec<CtxSet> {
    // gprev: copy, own, successor, escape.
    let gs: [(&str, [u8; 4]); 4] =
        [("g4", [0, 1, 2, 3]), ("g3", [0, 1, 2, 2]), ("g2", [0, 1, 1, 1]), ("g1", [0, 0, 0, 0])];
    // nbb buckets: n = 0, 1-2, 3-5, 6-8, 9.
    let ns: [(&str, [u8; 5]); 5] = [
        ("n5", [0, 1, 2, 3, 4]),
        ("n4", [0, 1, 2, 3, 3]),
        ("n3", [0, 1, 1, 2, 2]),
        ("n2", [0, 1, 1, 1, 1]),
        ("n1", [0, 0, 0, 0, 0]),
    ];
    // up: copy, own, successor, escape, none (row 0).
    let us: [(&str, [u8; 5]); 4] =
        [("u5", [0, 1, 2, 3, 4]), ("u3", [0, 1, 1, 1, 2]), ("u2", [0, 1, 1, 1, 1]), ("u1", [0, 0, 0, 0, 0])];
    let mut out = Vec::new();
    for (gn, g) in &gs {
        for (nn, n) in &ns {
            for (un, u) in &us {
                out.push(CtxSet::structured(format!("{gn}{nn}{un}"), g, n, u));
            }
        }
    }
    out
}

/// Greedy merging of the fine contexts by their training counts: starting from one
/// group per context, repeatedly merge the two groups whose merge adds the fewest
/// bits to the training data's empirical code length. The partition at each number
/// of groups from 100 down to 1 (`result[t - 1]` has `t` groups).
pub fn greedy_maps(counts: &[u64], alphabet: usize) -> Vec<Vec<usize>> {
    let cost = |h: &[u64]| -> f64 {
        let n: u64 = h.iter().sum();
        h.iter().filter(|&&c| c > 0).map(|&c| -(c as f64) * (c as f64 / n as f64).log2()).sum()
    };
    let mut groups: Vec<(Vec<usize>, Vec<u64>)> =
        (0..CONTEXTS).map(|c| (vec![c], counts[c * alphabet..(c + 1) * alphabet].to_vec())).collect();
    let mut out = vec![Vec::new(); CONTEXTS];
    loop {
        let mut map = vec![0usize; CONTEXTS];
        for (g, (members, _)) in groups.iter().enumerate() {
            for &c in members {
                map[c] = g;
            }
        }
        out[groups.len() - 1] = map;
        if groups.len() == 1 {
            return out;
        }
        let mut best = (f64::INFINITY, 0, 0);
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let merged: Vec<u64> = groups[a].1.iter().zip(&groups[b].1).map(|(x, y)| x + y).collect();
                let d = cost(&merged) - cost(&groups[a].1) - cost(&groups[b].1);
                if d < best.0 {
                    best = (d, a, b);
                }
            }
        }
        let (_, a, b) = best;
        let (members, h) = groups.remove(b);
        groups[a].0.extend(members);
        for (x, y) in groups[a].1.iter_mut().zip(h) {
            *x += y;
        }
    }
}

/// Class counts per fine context: `counts[ctx * alphabet + class]`.
pub fn fine_counts(events: &[Event], alphabet: usize) -> Vec<u64> {
    let mut c = vec![0u64; CONTEXTS * alphabet];
    for e in events {
        c[e.ctx as usize * alphabet + e.class as usize] += 1;
    }
    c
}

/// One normalised table.
pub type Table = (u8, Vec<u16>);

/// The tables of context set `set` at state log `m` from fine counts, every symbol
/// with at least `floor` slots (1 as the codec; 2 or 4 keep every decode step's bit
/// count at most `M - 1` or `M - 2`, what some 16-bit entry layouts need), blending each
/// table with its parents as the codec does: the fine contexts sharing a
/// (gprev, nbb) pair with one of the table's contexts, those sharing a gprev, and
/// all (identical tables for the identity partition).
pub fn build_tables(counts: &[u64], alphabet: usize, set: &CtxSet, m: u8, floor: u16) -> Vec<Table> {
    let sum_where = |keep: &dyn Fn(usize) -> bool| -> Vec<f64> {
        let mut h = vec![0f64; alphabet];
        for ctx in (0..CONTEXTS).filter(|&c| keep(c)) {
            for (s, hs) in h.iter_mut().enumerate() {
                *hs += counts[ctx * alphabet + s] as f64;
            }
        }
        h
    };
    let mix = |h: &[f64], parent: &[f64]| -> Vec<f64> {
        let n: f64 = h.iter().sum();
        h.iter().zip(parent).map(|(&c, &q)| (c + BLEND * q) / (n + BLEND)).collect()
    };
    let global = sum_where(&|_| true);
    let total: f64 = global.iter().sum();
    let p0: Vec<f64> = global.iter().map(|&c| (c + 0.5) / (total + 0.5 * alphabet as f64)).collect();
    (0..set.tables())
        .map(|table| {
            let members: Vec<usize> = (0..CONTEXTS).filter(|&c| set.table(c) == table).collect();
            let p1 = mix(&sum_where(&|c| members.iter().any(|&x| x / 25 == c / 25)), &p0);
            let p2 = mix(&sum_where(&|c| members.iter().any(|&x| x / 5 == c / 5)), &p1);
            let probs = mix(&sum_where(&|c| set.table(c) == table), &p2);
            let counts: Vec<u64> = probs.iter().map(|&p| ((p * (1u64 << 32) as f64).round() as u64).max(1)).collect();
            let log = choose_log(&counts, m, 0.0).expect("log");
            let mut norm = normalize(&counts, log).expect("normalize");
            if floor > 1 {
                floor_to(&mut norm, floor);
            }
            (log, norm)
        })
        .collect()
}

/// Raises every count below `f` to `f`, taking slots from the largest counts.
fn floor_to(norm: &mut [u16], f: u16) {
    while let Some(i) = norm.iter().position(|&c| c < f) {
        let need = f - norm[i];
        norm[i] = f;
        for _ in 0..need {
            let j = (0..norm.len()).max_by_key(|&j| norm[j]).unwrap();
            norm[j] -= 1;
        }
    }
}

/// Bytes of the stream coding a segment: 32-byte header + payload from the codec's
/// own tANS encoder (16 interleaved states, one per column), with the 32-bit group
/// checksum after every group of `DEFAULT_GROUP_FRAMES` frames (container format 2).
pub fn stream_bytes(frame0: &[u16], events: &[Event], set: &CtxSet, tables: &[Table], m: u8) -> usize {
    let bytes: Vec<Vec<u8>> = tables.iter().map(|(_, c)| c.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let enc: Vec<EncodeTable> = tables
        .iter()
        .zip(&bytes)
        .map(|((log, _), b)| EncodeTable::new(&NormalizedRef { log: *log, counts_le: b }))
        .collect();
    let map: Vec<u16> = (0..CONTEXTS).map(|c| set.table(c) as u16).collect();
    let mut ops = Vec::with_capacity(frame0.len() + events.len() * 5 / 4);
    ops.extend(frame0.iter().map(|&t| Op::Raw { value: t, bits: 10 }));
    let frames = 1 + events.len() / FRAME;
    for (i, e) in events.iter().enumerate() {
        ops.push(Op::Symbol { state: (i % COLS) as u8, table: map[e.ctx as usize], symbol: e.class as u16 });
        if e.raw_bits > 0 {
            ops.push(Op::Raw { value: e.raw, bits: e.raw_bits });
        }
        if (i + 1) % FRAME == 0 && ends_group(1 + (i + 1) / FRAME, frames) {
            push_group_check(&mut ops);
        }
    }
    if frames == 1 {
        push_group_check(&mut ops);
    }
    32 + encode(&enc, m, COLS, &ops).expect("encode").len()
}

/// Whether the frame count `done` (frames coded so far, of `frames`) ends a checksum
/// group of the codec's container format 2 (`DEFAULT_GROUP_FRAMES` frames per group,
/// the last group possibly shorter).
fn ends_group(done: usize, frames: usize) -> bool {
    done % DEFAULT_GROUP_FRAMES as usize == 0 || done == frames
}

/// A group checksum: 32 raw bits, as two 16-bit raw values. Only the stream's size is
/// wanted here, and raw bits cost the same whatever their value, so they are zeros.
fn push_group_check(ops: &mut Vec<Op>) {
    ops.extend([Op::Raw { value: 0, bits: 16 }, Op::Raw { value: 0, bits: 16 }]);
}

/// Group checksum bytes of a stream of `frames` frames (4 per started group).
pub fn group_check_bytes(frames: usize) -> usize {
    frames.div_ceil(DEFAULT_GROUP_FRAMES as usize) * GROUP_CHECK_BITS as usize / 8
}

/// Rate on the 10-bit basis.
pub fn rate(tokens: usize, bytes: usize) -> f64 {
    tokens as f64 * 10.0 / (bytes as f64 * 8.0)
}

/// Stream bytes estimated without coding: every class symbol costs
/// `M - log2(slots)` bits under its table, plus the raw bits, the initial states
/// and the header. `held_out` is the class histogram per fine context of the
/// measured data, `raw_bits` its raw bits (frame 0 and group checksums included).
pub fn estimated_bytes(
    held_out: &[u64],
    alphabet: usize,
    raw_bits: usize,
    set: &CtxSet,
    tables: &[Table],
    m: u8,
) -> usize {
    let mut bits = (raw_bits + COLS * m as usize) as f64;
    for ctx in 0..CONTEXTS {
        let (log, norm) = &tables[set.table(ctx)];
        for (s, &n) in held_out[ctx * alphabet..(ctx + 1) * alphabet].iter().enumerate() {
            if n > 0 {
                bits += n as f64 * (*log as f64 - (norm[s] as f64).log2());
            }
        }
    }
    32 + (bits / 8.0).ceil() as usize
}
