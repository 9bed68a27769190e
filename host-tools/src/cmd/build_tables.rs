//! `host-tools build-tables`: learn a table set from segments, with the
//! training core of [`crate::train`] (two streaming passes over the inputs
//! for the context model, one for `--order0`; memory does not depend on the
//! number of segments). With `--max-bytes N` the same passes also choose the
//! model's size parameters for a device footprint of at most `N` bytes
//! ([`crate::budget`]).
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

use anyhow::{anyhow, bail, Context, Result};
use vqtans::table_set::{table_set_id, TableSetRef};

use super::args::SelectionArgs;
use crate::io::remote::is_remote;
use crate::io::{InputSet, Output, Segments, Selection};
use crate::train::{self, ModelKind, TrainOptions, Trained, TrainingInputs};
use crate::workers::Workers;

/// Options of `build-tables`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the table set (a `.vqtt` file by convention; `-` for
    /// standard output).
    #[arg(short = 'o', long = "output", value_name = "TABLES")]
    pub output: PathBuf,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Successor list length K of the context model (4, 6, 8, 12, 16, 24,
    /// 32, 48, 64, 96, 128, 192, 256, 384, 512 or 768).
    #[arg(long = "k", value_name = "K", default_value_t = train::default_k(), value_parser = parse_k)]
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
    /// (`.tar`, `.tar.gz`, `.tgz`); or http://, https:// or hf:// URLs of
    /// `.npy` files or shards (bases ending in `/` with --shards).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// `--k K`: a successor list length the context model supports
/// ([`train::check_k`]), so that any other is a usage error (status 2) reported
/// by clap before anything is read.
pub fn parse_k(text: &str) -> Result<usize, String> {
    let k = text.parse::<usize>().map_err(|_| format!("expected one of {}, not {text:?}", train::VALID_K))?;
    train::check_k(k)?;
    Ok(k)
}

/// Runs `build-tables`.
pub fn run(args: &Args, workers: &Workers) -> Result<()> {
    let start = Instant::now();
    if let Some(max_bytes) = args.max_bytes {
        // Before any input is opened: a budget nothing fits is an error at once.
        crate::budget::fitting_candidates(max_bytes)?;
    }
    let inputs = CliInputs { args, selection: args.selection.selection()? };
    let segments = inputs.open()?;
    if segments.reads_stdin() {
        return Err(super::usage("build-tables reads its inputs twice, so `-` (standard input) cannot be one of them"));
    }
    if inputs.selection.fetch.cache.is_none() && args.inputs.iter().any(|input| is_remote(input)) {
        eprintln!("note: build-tables reads its inputs twice: without --cache DIR, remote inputs are downloaded twice");
    }
    let mut files = InputSet::new();
    files.extend(segments.files());
    drop(segments);
    let output = Output::plan(&args.output, &files)?;
    let (blob, built) = build(&inputs, true, workers)?;
    if let Some(max_bytes) = args.max_bytes {
        let footprint = TableSetRef::from_bytes(&blob)?.device_footprint();
        if footprint > max_bytes {
            bail!("internal error: the chosen table set takes {footprint} bytes, over the budget of {max_bytes}");
        }
    }
    let on_stdout = output.is_stdout();
    let shown = output.shown();
    output.write(&blob, &files)?;
    super::print_summary(&summary(&built, &blob, &shown, start.elapsed()), on_stdout);
    Ok(())
}

/// Trains a table set from the inputs of `args` as `build-tables` does (its
/// `output` is not used) and returns the serialised set and a one-line
/// description (`context model, K = 192 trained on N segments`). `pack
/// --train` uses this.
pub fn train(args: &Args, workers: &Workers) -> Result<(Vec<u8>, String)> {
    let inputs = CliInputs { args, selection: args.selection.selection()? };
    if inputs.open()?.reads_stdin() {
        return Err(super::usage("training reads its inputs twice, so `-` (standard input) cannot be one of them"));
    }
    let (blob, built) = build(&inputs, false, workers)?;
    Ok((blob, format!("{} trained on {} segments", built.model, built.tally.segments)))
}

/// The training of `build-tables` over `inputs` ([`train::train`]), and the
/// serialised set.
fn build(inputs: &CliInputs<'_>, progress: bool, workers: &Workers) -> Result<(Vec<u8>, Trained)> {
    let args = inputs.args;
    let model = match args.max_bytes {
        _ if args.order0 => ModelKind::Order0,
        Some(max_bytes) => ModelKind::Budget { max_bytes },
        None => {
            train::check_k(args.k).map_err(|e| anyhow!("--k {}: {e}", args.k))?;
            ModelKind::Context { k: args.k }
        }
    };
    let options = TrainOptions { model, skip_bad: args.skip_bad, progress };
    let built = train::train(inputs, &options, workers)?;
    let blob = built.set.to_bytes().context("cannot serialise the table set")?;
    Ok((blob, built))
}

/// The INPUT arguments with `--limit/--exclude/--only`, opened once per pass.
struct CliInputs<'a> {
    args: &'a Args,
    selection: Selection,
}

impl TrainingInputs for CliInputs<'_> {
    type Pass = Segments;

    fn open(&self) -> Result<Segments> {
        Ok(Segments::open(&self.args.inputs, &self.selection)?)
    }

    fn len_hint(pass: &Segments) -> Option<usize> {
        pass.len_hint()
    }

    fn check_complete(&self, pass: &Segments) -> Result<()> {
        self.args.selection.check_only_matched(pass)
    }
}

/// The summary lines: what was built from what, and where it went.
fn summary(built: &Trained, blob: &[u8], output: &str, total: Duration) -> String {
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
