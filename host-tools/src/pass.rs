//! One parallel pass over the segments of the inputs, summing per-segment
//! statistics.
//!
//! Segments are read one at a time by the [`Segments`] iterator and handed
//! to rayon's workers (`par_bridge`); each worker folds them into its own
//! accumulator and the accumulators are merged at the end. Memory is one
//! accumulator per worker plus the segments in flight, whatever the number of
//! segments.

use std::ops::AddAssign;

use indicatif::ProgressBar;
use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::io::{IoError, Segment, Segments};
use crate::progress;

/// What a pass does with a segment that cannot be read (bad `.npy`, damaged
/// shard, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBad {
    /// Stop the pass with that segment's error.
    Abort,
    /// Print a warning naming the file and go on without it.
    Warn,
    /// Go on without it silently (it was already reported by an earlier pass).
    Skip,
}

/// What a pass saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Segments used.
    pub segments: u64,
    /// Frames in the segments used.
    pub frames: u64,
    /// Tokens in the segments used.
    pub tokens: u64,
    /// Bad segments skipped (only with [`OnBad::Warn`] or [`OnBad::Skip`]).
    pub bad: u64,
}

impl AddAssign for Tally {
    fn add_assign(&mut self, other: Tally) {
        self.segments += other.segments;
        self.frames += other.frames;
        self.tokens += other.tokens;
        self.bad += other.bad;
    }
}

/// Folds every segment of `segments` into an accumulator, in parallel:
/// `init` makes an empty accumulator, `add` adds one segment, `merge`
/// combines two accumulators (it must be associative and commutative, so
/// the result does not depend on scheduling). `bar` advances by one per
/// item.
///
/// Errors: the first bad segment's error with [`OnBad::Abort`].
pub fn reduce<A, I, F, M>(
    segments: &mut Segments,
    bar: &ProgressBar,
    on_bad: OnBad,
    init: I,
    add: F,
    merge: M,
) -> Result<(A, Tally), IoError>
where
    A: Send,
    I: Fn() -> A + Sync + Send,
    F: Fn(&mut A, &Segment) + Sync + Send,
    M: Fn(A, A) -> A + Sync + Send,
{
    let empty = || (init(), Tally::default());
    segments
        .par_bridge()
        .try_fold(empty, |(mut acc, mut tally), item| {
            bar.inc(1);
            match item {
                Ok(seg) => {
                    add(&mut acc, &seg);
                    tally.segments += 1;
                    tally.frames += seg.frames as u64;
                    tally.tokens += seg.tokens.len() as u64;
                }
                Err(e) => match on_bad {
                    OnBad::Abort => return Err(e),
                    OnBad::Warn => {
                        progress::warn(bar, &format!("skipping bad segment: {e}"));
                        tally.bad += 1;
                    }
                    OnBad::Skip => tally.bad += 1,
                },
            }
            Ok((acc, tally))
        })
        .try_reduce(empty, |(a, mut ta), (b, tb)| {
            ta += tb;
            Ok((merge(a, b), ta))
        })
}
