//! `host-tools shard`: segments to one webdataset shard like the hub's
//! (`data-NNNN.tar.gz`), the reference a commaVQ challenge submission is
//! checked against (`scripts/challenge-check.py SUBMISSION.zip SHARD...`, as
//! the challenge's evaluate.py reads its shards).
//!
//! Each segment becomes `<key>.json` then `<key>.token.npy`, in input order.
//! The `.token.npy` member is the int16 `(frames, 8, 16)` array as numpy saves
//! it (byte-identical to a commaVQ `.npy` file; other integer dtypes and
//! `(N, 128)` shapes are written in that form). The `.json` member is the
//! segment's own when it comes from a shard that has one, else
//! `{"file_name": "<key>.npy"}`: the file a submission must write for it (and
//! the name `pack` keeps, so `pack --challenge` of the shard writes it).
//!
//! Inputs are read as everywhere (`.npy` files, folders, shards checked to
//! their end, URLs); keys must be unique. The shard is written to a
//! temporary file beside the output and renamed over it only when complete;
//! never over an input.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};

use super::args::SelectionArgs;
use crate::io::shard_out::ShardWriter;
use crate::io::{InputSet, IoError, Output, Segments};
use crate::pass::{Feed, OnBad};
use crate::progress;

/// Options of `shard`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shard to write (`.tar.gz`; `-` for standard output).
    #[arg(short = 'o', long = "output", value_name = "SHARD.tar.gz")]
    pub output: PathBuf,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Input `.npy` files (`-` for one on standard input), folders of `.npy`
    /// files, or webdataset shards; or http://, https:// or hf:// URLs.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Runs `shard`.
pub fn run(args: &Args) -> Result<()> {
    let start = Instant::now();
    let selection = args.selection.selection()?;
    let mut segments = Segments::open(&args.inputs, &selection)?;
    let mut inputs = InputSet::new();
    inputs.extend(segments.files());
    let output = Output::plan(&args.output, &inputs)?;
    let on_stdout = output.is_stdout();
    let stream = output.stream(&inputs)?;
    let shown = stream.shown();
    let mut shard = ShardWriter::new(stream, flate2::Compression::default());
    let bar = progress::segments_bar("shard", segments.len_hint());
    let mut feed = Feed::new(&mut segments, OnBad::Abort, &bar);
    let write_error = |e| IoError::Write { file: args.output.clone(), source: e };
    let mut keys = std::collections::HashSet::new();
    let (mut count, mut frames) = (0u64, 0u64);
    let written = feed.by_ref().try_for_each(|(_, seg)| -> Result<()> {
        if !keys.insert(seg.key.clone()) {
            bail!("segment {}: two inputs hold this key; the keys of a shard must be unique", seg.key);
        }
        let default_name = format!("{}.npy", seg.key);
        shard.add(&seg.key, seg.json.as_deref(), &default_name, &seg.to_npy()).map_err(write_error)?;
        bar.inc(1);
        count += 1;
        frames += seg.frames as u64;
        Ok(())
    });
    bar.finish_and_clear();
    // The input error (first bad input in order; a shard's checks) first.
    feed.finish()?;
    written?;
    args.selection.check_only_matched(&segments)?;
    if count == 0 {
        bail!("no segment in the inputs (after --limit/--exclude/--only)");
    }
    let mut stream = shard.finish().map_err(write_error)?;
    stream.flush().map_err(|e| stream.error(e))?;
    stream.commit(&inputs)?;
    super::print_summary(
        &format!(
            "wrote {count} segment{} ({frames} frames) to {shown}: <key>.json and <key>.token.npy each, {:.2} s\n",
            if count == 1 { "" } else { "s" },
            start.elapsed().as_secs_f64()
        ),
        on_stdout,
    );
    Ok(())
}
