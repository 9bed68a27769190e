//! Feeding segments to the workers, and one parallel pass over them summing
//! per-segment statistics.
//!
//! [`Feed`] takes the segments from [`Segments`] (or any other stream of
//! segments, e.g. arrays handed over by the Python package) in input order and deals with
//! bad ones there, sequentially, before any worker sees them: so the error a
//! command reports is always the first bad input in input order, whatever the
//! number of threads, and a damaged shard stops every command (its segments
//! already handed out cannot be trusted), even `--skip-bad`.
//!
//! [`reduce`] hands the segments to rayon's workers (`par_bridge`); each worker
//! folds them into its own accumulator, created when the worker gets its first
//! segment, and the accumulators are merged at the end. Memory is one
//! accumulator and one segment per busy worker, whatever the number of
//! segments or threads.

use std::collections::HashSet;
use std::ops::AddAssign;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::io::{IoError, Segment, Segments};
use crate::progress;

/// What to do with a segment that cannot be read (bad `.npy`, bad member).
/// A damaged shard always stops the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBad {
    /// Stop with that segment's error.
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

/// The good segments of [`Segments`] (or of another stream `S` of segments),
/// numbered in input order, as an iterator that stops at the first error it
/// must not skip (kept for [`Feed::finish`]).
pub struct Feed<'a, S = Segments> {
    segments: &'a mut S,
    on_bad: OnBad,
    bar: &'a ProgressBar,
    error: Option<IoError>,
    bad: u64,
    next_index: usize,
    unique: Option<(PathBuf, HashSet<String>)>,
}

impl<'a, S: Iterator<Item = Result<Segment, IoError>>> Feed<'a, S> {
    /// Feeds `segments`; bad ones are handled as `on_bad` says and advance
    /// `bar`.
    pub fn new(segments: &'a mut S, on_bad: OnBad, bar: &'a ProgressBar) -> Feed<'a, S> {
        Feed { segments, on_bad, bar, error: None, bad: 0, next_index: 0, unique: None }
    }

    /// Also stops with [`IoError::DuplicateKey`] (naming `input`) at a key
    /// seen before.
    pub fn unique_keys(mut self, input: &Path) -> Feed<'a, S> {
        self.unique = Some((input.to_path_buf(), HashSet::new()));
        self
    }

    /// After the iteration: the error that stopped it, if any, else the
    /// number of bad segments skipped. Only when this is `Ok` were all inputs
    /// read to their end and every shard checked.
    pub fn finish(self) -> Result<u64, IoError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.bad),
        }
    }
}

impl<S: Iterator<Item = Result<Segment, IoError>>> Iterator for Feed<'_, S> {
    type Item = (usize, Segment);

    fn next(&mut self) -> Option<(usize, Segment)> {
        if self.error.is_some() {
            return None;
        }
        loop {
            match self.segments.next()? {
                Ok(seg) => {
                    if let Some((input, seen)) = &mut self.unique {
                        if !seen.insert(seg.key.clone()) {
                            self.error = Some(IoError::DuplicateKey { file: input.clone(), key: seg.key });
                            return None;
                        }
                    }
                    self.next_index += 1;
                    return Some((self.next_index - 1, seg));
                }
                Err(e) if e.spoils_shard() || self.on_bad == OnBad::Abort => {
                    self.error = Some(e);
                    return None;
                }
                Err(e) => {
                    self.bad += 1;
                    self.bar.inc(1);
                    if self.on_bad == OnBad::Warn {
                        progress::warn(self.bar, &format!("skipping bad segment: {e}"));
                    }
                }
            }
        }
    }
}

/// Folds every segment of `feed` into an accumulator, in parallel (on the
/// current rayon pool): `init` makes an empty accumulator, `add` adds one
/// segment, `merge` combines two accumulators (it must be associative and
/// commutative, so the result does not depend on scheduling). `bar` advances
/// by one per segment.
///
/// Errors: the error that stopped the feed ([`Feed::finish`]).
pub fn reduce<S, A, I, F, M>(
    mut feed: Feed<'_, S>,
    bar: &ProgressBar,
    init: I,
    add: F,
    merge: M,
) -> Result<(A, Tally), IoError>
where
    S: Iterator<Item = Result<Segment, IoError>> + Send,
    A: Send,
    I: Fn() -> A + Sync + Send,
    F: Fn(&mut A, &Segment) + Sync + Send,
    M: Fn(A, A) -> A + Sync + Send,
{
    let empty = || (None, Tally::default());
    let (acc, mut tally) = feed
        .by_ref()
        .par_bridge()
        .fold(empty, |(acc, mut tally): (Option<A>, Tally), (_, seg)| {
            let mut acc = acc.unwrap_or_else(&init);
            add(&mut acc, &seg);
            tally.segments += 1;
            tally.frames += seg.frames as u64;
            tally.tokens += seg.tokens.len() as u64;
            bar.inc(1);
            (Some(acc), tally)
        })
        .reduce(empty, |(a, mut ta), (b, tb)| {
            ta += tb;
            let acc = match (a, b) {
                (Some(a), Some(b)) => Some(merge(a, b)),
                (a, None) => a,
                (None, b) => b,
            };
            (acc, ta)
        });
    tally.bad = feed.finish()?;
    Ok((acc.unwrap_or_else(init), tally))
}
