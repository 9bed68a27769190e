//! `build-tables --max-bytes N`: the context model whose table set fits `N` bytes of
//! device footprint (table set plus compiled decode image, as a device stores
//! them) and codes held-out training data best (`research/budget.md`, section 4).
//!
//! 1. Before any data is read: the candidates that fit ([`fitting_candidates`];
//!    footprints are exact functions of the settings), or an error naming the
//!    smallest footprint there is.
//! 2. Pass 1 over the segments: transition counts for two *folds*. Folds are whole
//!    segments, by the CRC-32 of their key ([`fold_of_key`]), when both get at
//!    least one segment; otherwise (one segment, or all keys in one fold) the first
//!    and second half of every segment's frames, each coded as its own sequence.
//!    Both splits are counted (and the whole data, as plain training does), so one
//!    pass decides.
//! 3. Successor lists at the longest length (8 builds, in parallel): for the whole
//!    data and for each fold model, the cross-fitted lists that rank training data,
//!    and the final lists that rank the data held out from it. Lists of any `K` are
//!    their prefixes.
//! 4. Pass 2: every segment runs the model for every candidate `K` at once
//!    ([`KClassCounts`]): as training data of the whole model, as training data of
//!    its fold's model and as held-out data of the other fold's model.
//! 5. Every fitting candidate is scored by the bits its tables (trained on a
//!    fold's training counts) spend on that fold's held-out counts, summed over both
//!    folds ([`Selector`]); the fewest bits win (ties: the smaller footprint, then
//!    the candidate order). The winner is trained on all the data with the counts
//!    of the whole model and written.
//!
//! Memory is fixed (about 32 MiB of transition counts per worker in pass 1, a few
//! MiB of class counts, nine sets of successor lists), whatever the number of
//! segments; every count is a sum of integers, so the result does not depend on
//! the input order or the number of threads.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use vqtans::model::context::select::{candidates, fold_of_key, Candidate, Fold, KClassCounts, Selector, KMAX};
use vqtans::model::context::train::{build_table_set, FoldLists, SuccessorLists, TrainConfig, TransitionCounts};
use vqtans::table_set::TableSet;

use crate::io::Segment;

/// The passes over the training segments that the selection needs, as a command
/// runs them (its inputs, workers, progress and error handling).
pub trait Passes {
    /// One pass over every training segment: each is added (`add`) to an
    /// accumulator made by `init`; accumulators are merged with `merge` (associative
    /// and commutative, so the result does not depend on scheduling).
    fn pass<A, I, F, M>(&mut self, name: &str, init: I, add: F, merge: M) -> Result<A>
    where
        A: Send,
        I: Fn() -> A + Sync + Send,
        F: Fn(&mut A, &Segment) + Sync + Send,
        M: Fn(A, A) -> A + Sync + Send;

    /// Runs `work` on the command's worker threads (rayon's parallel iterators
    /// inside it use them).
    fn parallel<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T>;
}

/// How the training data was split into the two folds of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldSplit {
    /// Whole segments, by their key's hash (`n` segments in each fold).
    Segments([u64; 2]),
    /// The first and second half of every segment.
    Halves,
}

/// A table set chosen for a budget, and how.
pub struct Budgeted {
    /// The table set, trained on all the data.
    pub set: TableSet,
    /// Its settings.
    pub candidate: Candidate,
    /// Candidates that fit the budget.
    pub fitting: usize,
    /// How the folds were made.
    pub split: FoldSplit,
    /// The estimated held-out rate of the chosen settings (tokens x 10 / bits,
    /// without stream headers and checksums), over both folds.
    pub held_out_rate: f64,
    /// Named durations of the steps.
    pub steps: Vec<(&'static str, Duration)>,
}

/// The candidates whose footprint is at most `max_bytes`, or an error naming the
/// smallest footprint of all.
pub fn fitting_candidates(max_bytes: usize) -> Result<Vec<Candidate>> {
    let all = candidates();
    let fitting: Vec<Candidate> = all.iter().copied().filter(|c| c.footprint() <= max_bytes).collect();
    if fitting.is_empty() {
        let smallest = all.iter().map(Candidate::footprint).min().unwrap_or(0);
        bail!("no configuration fits {max_bytes} bytes; the smallest takes {smallest} bytes");
    }
    Ok(fitting)
}

/// Transition counts of pass 1: both fold splits, and the segments per key fold.
struct Transitions {
    by_key: [TransitionCounts; 2],
    by_half: [TransitionCounts; 2],
    segments_by_key: [u64; 2],
}

impl Transitions {
    fn new() -> Self {
        Transitions {
            by_key: [TransitionCounts::default(), TransitionCounts::default()],
            by_half: [TransitionCounts::default(), TransitionCounts::default()],
            segments_by_key: [0; 2],
        }
    }

    fn add(&mut self, seg: &Segment) {
        let fold = fold_of_key(&seg.key);
        self.by_key[fold].add_segment(&seg.tokens);
        self.segments_by_key[fold] += 1;
        for (half, tokens) in halves(&seg.tokens).into_iter().enumerate() {
            self.by_half[half].add_segment(tokens);
        }
    }

    fn merge(self, other: Transitions) -> Self {
        let [a0, a1] = self.by_key;
        let [b0, b1] = self.by_half;
        Transitions {
            by_key: [a0.merge(&other.by_key[0]), a1.merge(&other.by_key[1])],
            by_half: [b0.merge(&other.by_half[0]), b1.merge(&other.by_half[1])],
            segments_by_key: [
                self.segments_by_key[0] + other.segments_by_key[0],
                self.segments_by_key[1] + other.segments_by_key[1],
            ],
        }
    }
}

/// The two halves of a segment's frames: frames `0..ceil(n/2)` and the rest (the
/// split of [`vqtans::model::context::train::fold_of`]).
fn halves(tokens: &[u16]) -> [&[u16]; 2] {
    let frames = tokens.len() / 128;
    tokens.split_at(frames.div_ceil(2) * 128).into()
}

/// The successor lists of the selection, at the longest length.
struct Lists {
    /// Cross-fitted lists of the whole data (rank its training counts).
    whole_folds: FoldLists,
    /// Final lists of the whole data (the written set's, as prefixes).
    whole: SuccessorLists,
    /// Per fold model: cross-fitted lists (rank its training counts).
    fold_folds: [FoldLists; 2],
    /// Per fold model: final lists (rank the data held out from it).
    fold_final: [SuccessorLists; 2],
}

/// Class counts of pass 2.
struct Counts {
    whole: KClassCounts,
    train: [KClassCounts; 2],
    held_out: [KClassCounts; 2],
}

impl Counts {
    fn new() -> Self {
        Counts { whole: KClassCounts::default(), train: Default::default(), held_out: Default::default() }
    }

    fn merge(self, other: Counts) -> Self {
        let [t0, t1] = self.train;
        let [h0, h1] = self.held_out;
        Counts {
            whole: self.whole.merge(&other.whole),
            train: [t0.merge(&other.train[0]), t1.merge(&other.train[1])],
            held_out: [h0.merge(&other.held_out[0]), h1.merge(&other.held_out[1])],
        }
    }
}

/// Builds the table set for a device footprint of at most `max_bytes` from the
/// segments of `passes` (two passes).
pub fn build(passes: &mut impl Passes, max_bytes: usize) -> Result<Budgeted> {
    let fitting = fitting_candidates(max_bytes)?;
    let mut steps = Vec::new();

    let t = Instant::now();
    let transitions = passes.pass("pass 1/2", Transitions::new, |acc, seg| acc.add(seg), Transitions::merge)?;
    steps.push(("pass 1", t.elapsed()));

    let t = Instant::now();
    let Transitions { by_key: [k0, k1], by_half, segments_by_key } = transitions;
    let (split, folds) = if segments_by_key.iter().all(|&n| n > 0) {
        (FoldSplit::Segments(segments_by_key), [k0.clone(), k1.clone()])
    } else {
        (FoldSplit::Halves, by_half)
    };
    let whole = k0.merge(&k1);
    let lists = passes.parallel(|| build_lists(&whole, &folds))??;
    drop((whole, folds));
    steps.push(("lists", t.elapsed()));

    let t = Instant::now();
    let lists_ref = &lists;
    let counts = passes.pass("pass 2/2", Counts::new, |acc, seg| count(acc, seg, lists_ref, split), Counts::merge)?;
    steps.push(("pass 2", t.elapsed()));

    let t = Instant::now();
    let Counts { whole, train: [t0, t1], held_out: [h0, h1] } = counts;
    let selector = Selector::new(vec![Fold { train: t0, held_out: h0 }, Fold { train: t1, held_out: h1 }]);
    let held_tokens = selector.held_out_tokens();
    if held_tokens == 0 {
        bail!("too little data to choose a configuration: nothing to hold out (the segments have one frame each)");
    }
    let (candidate, bits) = passes.parallel(|| choose(&selector, &fitting))??;
    steps.push(("selection", t.elapsed()));

    let t = Instant::now();
    let config: TrainConfig = candidate.config();
    let final_lists = lists.whole.truncated(candidate.k).context("cannot shorten the successor lists")?;
    let classes = whole.class_counts(candidate.k)?;
    let set = build_table_set(&final_lists, &classes, &config).context("cannot build the tables")?;
    steps.push(("tables", t.elapsed()));

    Ok(Budgeted {
        set,
        candidate,
        fitting: fitting.len(),
        split,
        held_out_rate: held_tokens as f64 * 10.0 / bits,
        steps,
    })
}

/// The eight lists of the selection, built in parallel.
fn build_lists(whole: &TransitionCounts, folds: &[TransitionCounts; 2]) -> Result<Lists> {
    let config = TrainConfig { k: KMAX, ..TrainConfig::default() };
    let final_of = |t: &TransitionCounts| SuccessorLists::build(&t.all(), KMAX, config.symmetric, config.two_step);
    let ((whole_folds, whole_final), (fold_folds, fold_final)) = rayon::join(
        || rayon::join(|| FoldLists::build(whole, &config), || final_of(whole)),
        || {
            rayon::join(
                || rayon::join(|| FoldLists::build(&folds[0], &config), || FoldLists::build(&folds[1], &config)),
                || rayon::join(|| final_of(&folds[0]), || final_of(&folds[1])),
            )
        },
    );
    Ok(Lists {
        whole_folds: whole_folds?,
        whole: whole_final?,
        fold_folds: [fold_folds.0?, fold_folds.1?],
        fold_final: [fold_final.0?, fold_final.1?],
    })
}

/// Pass 2 for one segment.
fn count(acc: &mut Counts, seg: &Segment, lists: &Lists, split: FoldSplit) {
    let frames = seg.tokens.len() / 128;
    acc.whole.add_sequence(&seg.tokens, |f, p, x| lists.whole_folds.rank(f, frames, p, x));
    let units: Vec<(usize, &[u16])> = match split {
        FoldSplit::Segments(_) => vec![(fold_of_key(&seg.key), &seg.tokens[..])],
        FoldSplit::Halves => halves(&seg.tokens).into_iter().enumerate().collect(),
    };
    for (fold, tokens) in units {
        let unit_frames = tokens.len() / 128;
        let folds = &lists.fold_folds[fold];
        acc.train[fold].add_sequence(tokens, |f, p, x| folds.rank(f, unit_frames, p, x));
        let other = &lists.fold_final[1 - fold];
        acc.held_out[1 - fold].add_sequence(tokens, |_, p, x| other.rank(p, x));
    }
}

/// The fitting candidate with the fewest held-out bits (ties: smaller footprint,
/// then candidate order), and its bits. Candidates of one `K` and table count
/// share their blending and are scored together, groups in parallel.
fn choose(selector: &Selector, fitting: &[Candidate]) -> Result<(Candidate, f64)> {
    let mut groups: Vec<((usize, usize), Vec<Candidate>)> = Vec::new();
    for c in fitting {
        match groups.iter_mut().find(|(key, _)| *key == (c.k, c.tables)) {
            Some((_, members)) => members.push(*c),
            None => groups.push(((c.k, c.tables), vec![*c])),
        }
    }
    let scored: Vec<Vec<(Candidate, f64)>> = groups
        .par_iter()
        .map(|((k, tables), members)| {
            let logs: Vec<(u8, u16)> = members.iter().map(|c| (c.state_log, c.slot_floor)).collect();
            let bits = selector.held_out_bits(*k, *tables, &logs)?;
            Ok(members.iter().copied().zip(bits).collect())
        })
        .collect::<Result<_>>()?;
    let order = |c: &Candidate| fitting.iter().position(|x| x == c).unwrap_or(usize::MAX);
    scored
        .into_iter()
        .flatten()
        .min_by(|(a, bits_a), (b, bits_b)| {
            bits_a.total_cmp(bits_b).then(a.footprint().cmp(&b.footprint())).then(order(a).cmp(&order(b)))
        })
        .context("no candidate to choose from")
}
