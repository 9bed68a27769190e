//! `host-tools build-tables`: learn a table set from segments.
//!
//! The context model is trained in two streaming passes over the inputs
//! (see `vqtans::model::context::train`):
//! 1. [`TransitionCounts`] of every segment, summed in parallel; then the
//!    per-fold successor lists ([`FoldLists`]);
//! 2. [`ClassCounts`] of every segment ranked with those lists, summed in
//!    parallel; then the final [`SuccessorLists`] and the table set.
//!
//! Memory does not depend on the number of segments. With `--order0` a
//! single pass counts token values for the order-0 reference model. With
//! `--max-bytes N` the same two passes also choose the model's size
//! parameters for a device footprint of at most `N` bytes
//! ([`crate::budget`]).
//!
//! A bad segment aborts the build with an error naming the file, and no
//! tables are written; with `--skip-bad` it is reported as a warning and left
//! out. A damaged shard always aborts (what was read from it cannot be
//! trusted). Every input is read to its end, and every shard checked, in both
//! passes before the tables are written. Segments hold 1..=65536 frames, as
//! for `encode`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vqtans::model::context::classes::buckets_for;
use vqtans::model::context::train::{
    build_table_set, ClassCounts, FoldLists, SuccessorLists, TrainConfig, TransitionCounts,
};
use vqtans::table_set::{table_set_id, TableSet, TableSetRef};

use super::args::SelectionArgs;
use crate::budget;
use crate::io::{InputSet, Output, Segments, Selection};
use crate::pass::{self, Feed, OnBad, Tally};
use crate::progress;
use crate::workers::Workers;

/// Table log of the order-0 reference table.
const ORDER0_LOG: u8 = 12;

/// Options of `build-tables`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the table set (`-` for standard output).
    #[arg(short = 'o', long = "output", value_name = "TABLES")]
    pub output: PathBuf,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Successor list length K of the context model (4, 6, 8, 12, 16, 24,
    /// 32, 48, 64, 96, 128, 192, 256, 384, 512 or 768).
    #[arg(long = "k", value_name = "K", default_value_t = TrainConfig::default().k)]
    pub k: usize,
    /// Build the order-0 reference table set (one 1024-symbol table)
    /// instead of the context model.
    #[arg(long, conflicts_with = "k")]
    pub order0: bool,
    /// Choose the context model's size parameters (list length, state log,
    /// number of class tables; 10-bit lists) for the best compression of
    /// held-out training data whose device footprint (table set plus
    /// compiled decode image) is at most N bytes.
    #[arg(long, value_name = "N", conflicts_with_all = ["k", "order0"])]
    pub max_bytes: Option<usize>,
    /// Warn about unreadable segments and leave them out, instead of
    /// aborting.
    #[arg(long)]
    pub skip_bad: bool,
    /// Input `.npy` files, folders of `.npy` files, or webdataset shards
    /// (`.tar`, `.tar.gz`, `.tgz`).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Runs `build-tables`.
pub fn run(args: &Args, workers: &Workers) -> Result<()> {
    let start = Instant::now();
    if let Some(max_bytes) = args.max_bytes {
        // Before any input is opened: a budget nothing fits is an error at once.
        budget::fitting_candidates(max_bytes)?;
    }
    let selection = args.selection.selection()?;
    let segments = Segments::open(&args.inputs, &selection)?;
    if segments.reads_stdin() {
        bail!("build-tables reads its inputs twice, so `-` (standard input) cannot be one of them");
    }
    let mut inputs = InputSet::new();
    inputs.extend(segments.files());
    let output = Output::plan(&args.output, &inputs)?;
    let run = Run { args, selection, workers };
    let built = match args.max_bytes {
        _ if args.order0 => build_order0(&run, segments)?,
        Some(max_bytes) => build_budgeted(&run, segments, max_bytes)?,
        None => build_context(&run, segments)?,
    };
    let blob = built.set.to_bytes().context("cannot serialise the table set")?;
    if let Some(max_bytes) = args.max_bytes {
        let footprint = TableSetRef::from_bytes(&blob)?.device_footprint();
        if footprint > max_bytes {
            bail!("internal error: the chosen table set takes {footprint} bytes, over the budget of {max_bytes}");
        }
    }
    let on_stdout = output.is_stdout();
    let shown = output.shown();
    output.write(&blob, &inputs)?;
    super::print_summary(&summary(&built, &blob, &shown, start.elapsed()), on_stdout);
    Ok(())
}

/// What every pass needs.
struct Run<'a> {
    args: &'a Args,
    selection: Selection,
    workers: &'a Workers,
}

impl Run<'_> {
    /// Opens the inputs again for another pass.
    fn reopen(&self) -> Result<Segments> {
        Ok(Segments::open(&self.args.inputs, &self.selection)?)
    }

    /// One pass over `segments` (see [`pass::reduce`]) on the workers.
    fn pass<A, I, F, M>(
        &self,
        name: &str,
        first: bool,
        mut segments: Segments,
        init: I,
        add: F,
        merge: M,
    ) -> Result<(A, Tally, Segments)>
    where
        A: Send,
        I: Fn() -> A + Sync + Send,
        F: Fn(&mut A, &crate::io::Segment) + Sync + Send,
        M: Fn(A, A) -> A + Sync + Send,
    {
        let bar = progress::segments_bar(name, segments.len_hint());
        let items = segments.len_hint();
        let feed = Feed::new(&mut segments, on_bad(self.args, first), &bar);
        let (acc, tally) = self.workers.run(items, || pass::reduce(feed, &bar, init, add, merge))??;
        bar.finish_and_clear();
        Ok((acc, tally, segments))
    }
}

/// A table set and how it was made.
struct Built {
    set: TableSet,
    model: String,
    tally: Tally,
    /// Named durations of the steps.
    steps: Vec<(&'static str, Duration)>,
    /// More summary lines (label, value).
    notes: Vec<(&'static str, String)>,
}

/// The context model's training config for `--k`, checked.
fn config(k: usize) -> Result<TrainConfig> {
    if buckets_for(k).is_none() {
        bail!(
            "--k {k}: the successor list length must be one of 4, 6, 8, 12, 16, 24, 32, 48, \
             64, 96, 128, 192, 256, 384, 512, 768"
        );
    }
    Ok(TrainConfig { k, ..TrainConfig::default() })
}

fn on_bad(args: &Args, first_pass: bool) -> OnBad {
    match (args.skip_bad, first_pass) {
        (false, _) => OnBad::Abort,
        (true, true) => OnBad::Warn,
        (true, false) => OnBad::Skip,
    }
}

/// Fails when a pass found nothing to train on.
fn check_nonempty(tally: &Tally) -> Result<()> {
    if tally.segments == 0 {
        if tally.bad > 0 {
            bail!("no usable segment in the inputs ({} bad)", tally.bad);
        }
        bail!("no segment in the inputs (after --limit/--exclude/--only)");
    }
    Ok(())
}

/// Fails if a later pass saw other inputs than the first.
fn check_unchanged(first: &Tally, later: &Tally) -> Result<()> {
    if later != first {
        bail!(
            "the inputs changed between the two passes ({} segments / {} tokens, then {} / {})",
            first.segments,
            first.tokens,
            later.segments,
            later.tokens
        );
    }
    Ok(())
}

fn build_context(run: &Run, segments: Segments) -> Result<Built> {
    let args = run.args;
    let config = config(args.k)?;
    let mut steps = Vec::new();

    // Pass 1: transition counts.
    let t = Instant::now();
    let (transitions, tally, segments) = run.pass(
        "pass 1/2",
        true,
        segments,
        TransitionCounts::default,
        |acc, seg| acc.add_segment(&seg.tokens),
        |a, b| a.merge(&b),
    )?;
    args.selection.check_only_matched(&segments)?;
    check_nonempty(&tally)?;
    steps.push(("pass 1", t.elapsed()));

    let t = Instant::now();
    let spinner = progress::step_spinner("fold lists");
    let fold_lists = FoldLists::build(&transitions, &config).context("cannot build the per-fold successor lists")?;
    spinner.finish_and_clear();
    steps.push(("fold lists", t.elapsed()));

    // Pass 2: class counts, ranked with the other fold's lists.
    let t = Instant::now();
    let (classes, tally2, _) = run.pass(
        "pass 2/2",
        false,
        run.reopen()?,
        || ClassCounts::new(config.k).expect("K checked by config()"),
        |acc, seg| acc.add_segment(&fold_lists, &seg.tokens),
        |a, b| a.merge(&b),
    )?;
    check_unchanged(&tally, &tally2)?;
    drop(fold_lists);
    steps.push(("pass 2", t.elapsed()));

    let t = Instant::now();
    let spinner = progress::step_spinner("tables");
    let lists = SuccessorLists::build(&transitions.all(), config.k, config.symmetric, config.two_step)
        .context("cannot build the successor lists")?;
    let set = build_table_set(&lists, &classes, &config).context("cannot build the tables")?;
    spinner.finish_and_clear();
    steps.push(("tables", t.elapsed()));

    Ok(Built { set, model: format!("context model, K = {}", config.k), tally, steps, notes: Vec::new() })
}

/// The passes of `--max-bytes` over the inputs: the first pass checks the
/// selection and that there is data, later ones that the inputs did not change.
struct BudgetPasses<'a> {
    run: &'a Run<'a>,
    first: Option<Segments>,
    tally: Option<Tally>,
}

impl budget::Passes for BudgetPasses<'_> {
    fn pass<A, I, F, M>(&mut self, name: &str, init: I, add: F, merge: M) -> Result<A>
    where
        A: Send,
        I: Fn() -> A + Sync + Send,
        F: Fn(&mut A, &crate::io::Segment) + Sync + Send,
        M: Fn(A, A) -> A + Sync + Send,
    {
        let segments = match self.first.take() {
            Some(segments) => segments,
            None => self.run.reopen()?,
        };
        let (acc, tally, segments) = self.run.pass(name, self.tally.is_none(), segments, init, add, merge)?;
        match self.tally {
            None => {
                self.run.args.selection.check_only_matched(&segments)?;
                check_nonempty(&tally)?;
                self.tally = Some(tally);
            }
            Some(first) => check_unchanged(&first, &tally)?,
        }
        Ok(acc)
    }

    fn parallel<T: Send>(&self, work: impl FnOnce() -> T + Send) -> Result<T> {
        self.run.workers.run(None, work)
    }
}

fn build_budgeted(run: &Run, segments: Segments, max_bytes: usize) -> Result<Built> {
    let mut passes = BudgetPasses { run, first: Some(segments), tally: None };
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
    Ok(Built { set: b.set, model: format!("context model, K = {}", c.k), tally, steps: b.steps, notes })
}

fn build_order0(run: &Run, segments: Segments) -> Result<Built> {
    let args = run.args;
    let t = Instant::now();
    let (counts, tally, segments) = run.pass(
        "pass 1/1",
        true,
        segments,
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
    args.selection.check_only_matched(&segments)?;
    check_nonempty(&tally)?;
    let set = vqtans::model::order0::build_table_set(&counts, ORDER0_LOG).context("cannot build the order-0 table")?;
    Ok(Built { set, model: "order-0 model".to_string(), tally, steps: vec![("pass", t.elapsed())], notes: Vec::new() })
}

/// The summary lines: what was built from what, and where it went.
fn summary(built: &Built, blob: &[u8], output: &str, total: Duration) -> String {
    let t = &built.tally;
    let mut s = String::new();
    let _ = writeln!(s, "built {} table set", built.model);
    let _ = write!(s, "segments      {}", t.segments);
    if t.bad > 0 {
        let _ = write!(s, " ({} bad skipped)", t.bad);
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "frames        {}", t.frames);
    let _ = writeln!(s, "tokens        {}", t.tokens);
    for (label, value) in &built.notes {
        let _ = writeln!(s, "{label:<13} {value}");
    }
    let _ = writeln!(s, "table-set id  {:016x}", table_set_id(blob));
    let _ = writeln!(s, "blob          {} bytes -> {output}", blob.len());
    if let Ok(set) = TableSetRef::from_bytes(blob) {
        let _ = writeln!(s, "footprint     {}", crate::tables::footprint_summary(&set));
    }
    let steps: Vec<String> = built.steps.iter().map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64())).collect();
    let _ = writeln!(s, "time          {:.2} s ({})", total.as_secs_f64(), steps.join(", "));
    s
}
