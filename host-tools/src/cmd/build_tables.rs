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
//! out.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use vqtans::model::context::classes::buckets_for;
use vqtans::model::context::train::{
    build_table_set, ClassCounts, FoldLists, SuccessorLists, TrainConfig, TransitionCounts,
};
use vqtans::table_set::{table_set_id, TableSet};

use super::args::SelectionArgs;
use crate::io::{write_atomic, Segments};
use crate::pass::{self, OnBad, Tally};
use crate::progress;

/// Table log of the order-0 reference table.
const ORDER0_LOG: u8 = 12;

/// Options of `build-tables`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the table set.
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
    /// (`.tar`, `.tar.gz`, `.tgz`).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Runs `build-tables`.
pub fn run(args: &Args) -> Result<()> {
    let start = Instant::now();
    let built = if args.order0 { build_order0(args)? } else { build_context(args)? };
    let blob = built.set.to_bytes().context("cannot serialise the table set")?;
    write_atomic(&args.output, &blob, &args.inputs)?;
    print_summary(args, &built, &blob, start.elapsed());
    Ok(())
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

/// Opens the inputs for one pass.
fn open(args: &Args) -> Result<Segments> {
    Ok(Segments::open(&args.inputs, &args.selection.selection())?)
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

fn build_context(args: &Args) -> Result<Built> {
    let config = config(args.k)?;
    let mut steps = Vec::new();

    // Pass 1: transition counts.
    let t = Instant::now();
    let mut segments = open(args)?;
    let bar = progress::segments_bar("pass 1/2", segments.len_hint());
    let (transitions, tally) = pass::reduce(
        &mut segments,
        &bar,
        on_bad(args, true),
        TransitionCounts::default,
        |acc, seg| acc.add_segment(&seg.tokens),
        |a, b| a.merge(&b),
    )?;
    bar.finish_and_clear();
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
    let mut segments = open(args)?;
    let bar = progress::segments_bar("pass 2/2", segments.len_hint());
    let (classes, tally2) = pass::reduce(
        &mut segments,
        &bar,
        on_bad(args, false),
        || ClassCounts::new(config.k).expect("K checked by config()"),
        |acc, seg| acc.add_segment(&fold_lists, &seg.tokens),
        |a, b| a.merge(&b),
    )?;
    bar.finish_and_clear();
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

fn build_order0(args: &Args) -> Result<Built> {
    let t = Instant::now();
    let mut segments = open(args)?;
    let bar = progress::segments_bar("pass 1/1", segments.len_hint());
    let (counts, tally) = pass::reduce(
        &mut segments,
        &bar,
        on_bad(args, true),
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
    bar.finish_and_clear();
    args.selection.check_only_matched(&segments)?;
    check_nonempty(&tally)?;
    let set = vqtans::model::order0::build_table_set(&counts, ORDER0_LOG).context("cannot build the order-0 table")?;
    Ok(Built { set, model: "order-0 model".to_string(), tally, steps: vec![("pass", t.elapsed())] })
}

fn print_summary(args: &Args, built: &Built, blob: &[u8], total: Duration) {
    let t = &built.tally;
    println!("built {} table set", built.model);
    print!("segments      {}", t.segments);
    if t.bad > 0 {
        print!(" ({} bad skipped)", t.bad);
    }
    println!();
    println!("frames        {}", t.frames);
    println!("tokens        {}", t.tokens);
    println!("table-set id  {:016x}", table_set_id(blob));
    println!("blob          {} bytes -> {}", blob.len(), args.output.display());
    let steps: Vec<String> = built.steps.iter().map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64())).collect();
    println!("time          {:.2} s ({})", total.as_secs_f64(), steps.join(", "));
}
