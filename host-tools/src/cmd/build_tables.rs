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
//! single pass counts token values for the order-0 reference model.
//!
//! A bad segment aborts the build with an error naming the file, and no
//! tables are written; with `--skip-bad` it is reported as a warning and left
//! out. A damaged shard always aborts (what was read from it cannot be
//! trusted). Every input is read to its end, and every shard checked, in both
//! passes before the tables are written. Segments hold 1..=65536 frames, as
//! for `encode`. Remote inputs are downloaded in each pass, unless `--cache`
//! keeps them after the first.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vqtans::model::context::classes::buckets_for;
use vqtans::model::context::train::{
    build_table_set, ClassCounts, FoldLists, SuccessorLists, TrainConfig, TransitionCounts,
};
use vqtans::table_set::{table_set_id, TableSet};

use super::args::SelectionArgs;
use crate::io::remote::is_remote;
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
    /// Warn about unreadable segments and leave them out, instead of
    /// aborting.
    #[arg(long)]
    pub skip_bad: bool,
    /// Input `.npy` files, folders of `.npy` files, or webdataset shards
    /// (`.tar`, `.tar.gz`, `.tgz`); or http://, https:// or hf:// URLs of
    /// `.npy` files or shards (bases ending in `/` with --shards).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Runs `build-tables`.
pub fn run(args: &Args, workers: &Workers) -> Result<()> {
    let start = Instant::now();
    let selection = args.selection.selection()?;
    let segments = Segments::open(&args.inputs, &selection)?;
    if segments.reads_stdin() {
        bail!("build-tables reads its inputs twice, so `-` (standard input) cannot be one of them");
    }
    if selection.fetch.cache.is_none() && args.inputs.iter().any(|input| is_remote(input)) {
        eprintln!("note: build-tables reads its inputs twice: without --cache DIR, remote inputs are downloaded twice");
    }
    let mut inputs = InputSet::new();
    inputs.extend(segments.files());
    let output = Output::plan(&args.output, &inputs)?;
    let run = Run { args, selection, workers };
    let built = if args.order0 { build_order0(&run, segments)? } else { build_context(&run, segments)? };
    let blob = built.set.to_bytes().context("cannot serialise the table set")?;
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
    if tally2 != tally {
        bail!(
            "the inputs changed between the two passes ({} segments / {} tokens, then {} / {})",
            tally.segments,
            tally.tokens,
            tally2.segments,
            tally2.tokens
        );
    }
    drop(fold_lists);
    steps.push(("pass 2", t.elapsed()));

    let t = Instant::now();
    let spinner = progress::step_spinner("tables");
    let lists = SuccessorLists::build(&transitions.all(), config.k, config.symmetric, config.two_step)
        .context("cannot build the successor lists")?;
    let set = build_table_set(&lists, &classes, &config).context("cannot build the tables")?;
    spinner.finish_and_clear();
    steps.push(("tables", t.elapsed()));

    Ok(Built { set, model: format!("context model, K = {}", config.k), tally, steps })
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
    Ok(Built { set, model: "order-0 model".to_string(), tally, steps: vec![("pass", t.elapsed())] })
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
    let _ = writeln!(s, "table-set id  {:016x}", table_set_id(blob));
    let _ = writeln!(s, "blob          {} bytes -> {output}", blob.len());
    let steps: Vec<String> = built.steps.iter().map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64())).collect();
    let _ = writeln!(s, "time          {:.2} s ({})", total.as_secs_f64(), steps.join(", "));
    s
}
