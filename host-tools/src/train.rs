//! Training a table set from segments: the one training core behind
//! `host-tools build-tables` and the Python package's `build_tables`, so the
//! same segments give the same table set, byte for byte, whichever front end
//! reads them and whatever the number of worker threads.
//!
//! The context model is trained in two streaming passes over the inputs
//! (see `vqtans::model::context::train`):
//! 1. [`TransitionCounts`] of every segment, summed in parallel; then the
//!    per-fold successor lists ([`FoldLists`]);
//! 2. [`ClassCounts`] of every segment ranked with those lists, summed in
//!    parallel; then the final [`SuccessorLists`] and the table set.
//!
//! With a device-footprint budget ([`ModelKind::Budget`]) the same two passes
//! also choose the context model's size parameters ([`crate::budget`]).
//! The order-0 reference model needs a single pass counting token values.
//! Memory does not depend on the number of segments: each pass holds one
//! accumulator and one segment per busy worker.
//!
//! The inputs are a [`TrainingInputs`]: something that can be opened once per
//! pass and yields the same segments each time. A bad segment aborts the
//! build with its error (with [`TrainOptions::skip_bad`] it is reported as a
//! warning and left out); a damaged shard always aborts. Every input is read
//! to its end in every pass before a table set is returned, and a pass that
//! sees other segments than the first one did is an error.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vqtans::model::context::classes::buckets_for;
use vqtans::model::context::train::{
    build_table_set, ClassCounts, FoldLists, SuccessorLists, TrainConfig, TransitionCounts,
};
use vqtans::table_set::TableSet;

use crate::budget;
use crate::io::{IoError, Segment};
use crate::pass::{self, Feed, OnBad, Tally};
use crate::progress;
use crate::workers::Workers;

/// Table log of the order-0 reference table.
const ORDER0_LOG: u8 = 12;

/// Where the segments to train on come from: opened once per pass.
pub trait TrainingInputs {
    /// The segments of one pass, in input order (a bad one as its error).
    type Pass: Iterator<Item = Result<Segment, IoError>> + Send;

    /// Opens the inputs for one more pass. Every call must yield the same
    /// segments (checked: a pass that counts other segments, frames or tokens
    /// than the first is an error).
    fn open(&self) -> Result<Self::Pass>;

    /// How many items `pass` will yield, when known before reading any data:
    /// sizes the progress bar and caps the number of workers.
    fn len_hint(pass: &Self::Pass) -> Option<usize>;

    /// Called once the first pass has read all of `pass`: checks that need the
    /// whole input (e.g. that every requested key was found).
    fn check_complete(&self, pass: &Self::Pass) -> Result<()> {
        let _ = pass;
        Ok(())
    }
}

/// Which model to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// The context model (default training config) with successor lists of
    /// length `k` (one of [`VALID_K`], see [`check_k`]).
    Context {
        /// Successor list length.
        k: usize,
    },
    /// The context model with the size parameters (list length, state log,
    /// number of class tables) that code held-out training data best within a
    /// device footprint of `max_bytes` ([`crate::budget`]).
    Budget {
        /// The budget: table set plus compiled decode image, in bytes.
        max_bytes: usize,
    },
    /// The order-0 reference model (one 1024-symbol table).
    Order0,
}

/// How to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainOptions {
    /// The model.
    pub model: ModelKind,
    /// Warn about unreadable segments and leave them out, instead of
    /// aborting (a damaged shard aborts all the same).
    pub skip_bad: bool,
    /// Show progress bars on stderr (only ever shown when stderr is a
    /// terminal).
    pub progress: bool,
}

/// The successor list lengths K the context model supports.
pub const VALID_K: &str = "4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768";

/// The default successor list length K of the context model.
pub fn default_k() -> usize {
    TrainConfig::default().k
}

/// Checks that the context model supports successor lists of length `k`.
///
/// Errors: `k` is not one of [`VALID_K`]; the message says so (the caller
/// names the option that gave `k`).
pub fn check_k(k: usize) -> Result<(), String> {
    match buckets_for(k) {
        Some(_) => Ok(()),
        None => Err(format!("the successor list length must be one of {VALID_K}")),
    }
}

/// A table set and how it was made.
pub struct Trained {
    /// The table set.
    pub set: TableSet,
    /// The model, e.g. `context model, K = 192`.
    pub model: String,
    /// What the (first) pass saw.
    pub tally: Tally,
    /// Named durations of the steps.
    pub steps: Vec<(&'static str, Duration)>,
    /// More facts about how it was made, as (label, value) lines (the budget
    /// and the settings it chose).
    pub notes: Vec<(&'static str, String)>,
}

/// Trains a table set from `inputs` on `workers` (see the module
/// documentation). The result depends only on the segments, `options.model`
/// and, with `skip_bad`, which segments are bad; not on the number of workers
/// or their scheduling.
///
/// Errors: the first bad input in input order (unless skipped), a damaged
/// shard, no usable segment, inputs that changed between the passes, and
/// errors of [`TrainingInputs::open`] and [`TrainingInputs::check_complete`].
pub fn train<T: TrainingInputs>(inputs: &T, options: &TrainOptions, workers: &Workers) -> Result<Trained> {
    let run = Run { inputs, options, workers };
    match options.model {
        ModelKind::Context { k } => {
            check_k(k).map_err(|e| anyhow::anyhow!("K = {k}: {e}"))?;
            build_context(&run, &TrainConfig { k, ..TrainConfig::default() })
        }
        ModelKind::Budget { max_bytes } => {
            // Before any input is opened: a budget nothing fits is an error at once.
            budget::fitting_candidates(max_bytes)?;
            build_budgeted(&run, max_bytes)
        }
        ModelKind::Order0 => build_order0(&run),
    }
}

/// What every pass needs.
struct Run<'a, T> {
    inputs: &'a T,
    options: &'a TrainOptions,
    workers: &'a Workers,
}

impl<T: TrainingInputs> Run<'_, T> {
    /// One pass over freshly opened inputs (see [`pass::reduce`]) on the
    /// workers; the first pass also runs [`TrainingInputs::check_complete`]
    /// and checks that it found something to train on.
    fn pass<A, I, F, M>(&self, name: &str, first: bool, init: I, add: F, merge: M) -> Result<(A, Tally)>
    where
        A: Send,
        I: Fn() -> A + Sync + Send,
        F: Fn(&mut A, &Segment) + Sync + Send,
        M: Fn(A, A) -> A + Sync + Send,
    {
        let mut segments = self.inputs.open()?;
        let items = T::len_hint(&segments);
        let bar = self.bar(name, items);
        let feed = Feed::new(&mut segments, self.on_bad(first), &bar);
        let (acc, tally) = self.workers.run(items, || pass::reduce(feed, &bar, init, add, merge))??;
        bar.finish_and_clear();
        if first {
            self.inputs.check_complete(&segments)?;
            check_nonempty(&tally)?;
        }
        Ok((acc, tally))
    }

    fn bar(&self, name: &str, items: Option<usize>) -> indicatif::ProgressBar {
        if self.options.progress {
            progress::segments_bar(name, items)
        } else {
            indicatif::ProgressBar::hidden()
        }
    }

    fn spinner(&self, name: &str) -> indicatif::ProgressBar {
        if self.options.progress {
            progress::step_spinner(name)
        } else {
            indicatif::ProgressBar::hidden()
        }
    }

    fn on_bad(&self, first_pass: bool) -> OnBad {
        match (self.options.skip_bad, first_pass) {
            (false, _) => OnBad::Abort,
            (true, true) => OnBad::Warn,
            (true, false) => OnBad::Skip,
        }
    }
}

/// Fails when a pass found nothing to train on.
fn check_nonempty(tally: &Tally) -> Result<()> {
    if tally.segments == 0 {
        if tally.bad > 0 {
            bail!("no usable segment in the inputs ({} bad)", tally.bad);
        }
        bail!("no segment in the inputs (none left after the selection, if one was given)");
    }
    Ok(())
}

/// Fails if a later pass saw other inputs than the first.
fn check_unchanged(first: &Tally, later: &Tally) -> Result<()> {
    if later != first {
        bail!(
            "the inputs changed between the passes ({} segments / {} tokens, then {} / {})",
            first.segments,
            first.tokens,
            later.segments,
            later.tokens
        );
    }
    Ok(())
}

fn build_context<T: TrainingInputs>(run: &Run<'_, T>, config: &TrainConfig) -> Result<Trained> {
    let mut steps = Vec::new();
    let k = config.k;

    // Pass 1: transition counts.
    let t = Instant::now();
    let (transitions, tally) = run.pass(
        "pass 1/2",
        true,
        TransitionCounts::default,
        |acc, seg| acc.add_segment(&seg.tokens),
        |a, b| a.merge(&b),
    )?;
    steps.push(("pass 1", t.elapsed()));

    let t = Instant::now();
    let spinner = run.spinner("fold lists");
    let fold_lists = FoldLists::build(&transitions, config).context("cannot build the per-fold successor lists")?;
    spinner.finish_and_clear();
    steps.push(("fold lists", t.elapsed()));

    // Pass 2: class counts, ranked with the other fold's lists.
    let t = Instant::now();
    let (classes, tally2) = run.pass(
        "pass 2/2",
        false,
        || ClassCounts::new(k).expect("K checked by train()"),
        |acc, seg| acc.add_segment(&fold_lists, &seg.tokens),
        |a, b| a.merge(&b),
    )?;
    check_unchanged(&tally, &tally2)?;
    drop(fold_lists);
    steps.push(("pass 2", t.elapsed()));

    let t = Instant::now();
    let spinner = run.spinner("tables");
    let lists = SuccessorLists::build(&transitions.all(), k, config.symmetric, config.two_step)
        .context("cannot build the successor lists")?;
    let set = build_table_set(&lists, &classes, config).context("cannot build the tables")?;
    spinner.finish_and_clear();
    steps.push(("tables", t.elapsed()));

    Ok(Trained { set, model: format!("context model, K = {k}"), tally, steps, notes: Vec::new() })
}

fn build_order0<T: TrainingInputs>(run: &Run<'_, T>) -> Result<Trained> {
    let t = Instant::now();
    let (counts, tally) = run.pass(
        "pass 1/1",
        true,
        || vec![0u64; 1024],
        |acc, seg| {
            for &t in &seg.tokens {
                acc[usize::from(t) & 1023] += 1;
            }
        },
        |mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        },
    )?;
    let set = vqtans::model::order0::build_table_set(&counts, ORDER0_LOG).context("cannot build the order-0 table")?;
    Ok(Trained {
        set,
        model: "order-0 model".to_string(),
        tally,
        steps: vec![("pass", t.elapsed())],
        notes: Vec::new(),
    })
}

/// The passes of a budgeted build ([`budget::Passes`]) over the training
/// inputs: the first checks the selection and that there is data (and keeps
/// its tally), later ones that the inputs did not change.
struct BudgetPasses<'r, 'a, T> {
    run: &'r Run<'a, T>,
    tally: Option<Tally>,
}

impl<T: TrainingInputs> budget::Passes for BudgetPasses<'_, '_, T> {
    fn pass<A, I, F, M>(&mut self, name: &str, init: I, add: F, merge: M) -> Result<A>
    where
        A: Send,
        I: Fn() -> A + Sync + Send,
        F: Fn(&mut A, &Segment) + Sync + Send,
        M: Fn(A, A) -> A + Sync + Send,
    {
        let (acc, tally) = self.run.pass(name, self.tally.is_none(), init, add, merge)?;
        match &self.tally {
            None => self.tally = Some(tally),
            Some(first) => check_unchanged(first, &tally)?,
        }
        Ok(acc)
    }

    fn parallel<R: Send>(&self, work: impl FnOnce() -> R + Send) -> Result<R> {
        self.run.workers.run(None, work)
    }
}

fn build_budgeted<T: TrainingInputs>(run: &Run<'_, T>, max_bytes: usize) -> Result<Trained> {
    let mut passes = BudgetPasses { run, tally: None };
    let b = budget::build(&mut passes, max_bytes)?;
    let tally = passes.tally.unwrap_or_default();
    let c = b.candidate;
    let split = match b.split {
        budget::FoldSplit::Segments([a, b]) => format!("whole segments by key ({a} + {b})"),
        budget::FoldSplit::Halves => "first and second half of each segment".to_string(),
    };
    let notes = vec![
        (
            "budget",
            format!(
                "{max_bytes} bytes: {} of {} configurations fit",
                b.fitting,
                vqtans::model::context::select::candidates().len()
            ),
        ),
        (
            "chosen",
            format!(
                "K = {}, state log {}, slot floor {}, {} class tables, 10-bit lists",
                c.k, c.state_log, c.slot_floor, c.tables
            ),
        ),
        ("folds", split),
        ("held-out rate", format!("{:.4} (estimated, both folds)", b.held_out_rate)),
    ];
    Ok(Trained { set: b.set, model: format!("context model, K = {}", c.k), tally, steps: b.steps, notes })
}
