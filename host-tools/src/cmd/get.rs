//! `host-tools get`: one segment, or a range of its frames, out of an archive.
//!
//! Reads the archive's index and that one segment's stream (positional reads:
//! no other stream is read). `--frames A..B` is half-open, as Rust ranges:
//! `600..660` is the 60 frames 600 to 659. The stream is decoded only through
//! the end of the checksum group holding frame `B - 1` (groups of 20 frames, one
//! second, unless packed with another `--group-frames`), and every frame written
//! is verified by its group's checksum; a range reaching into the last group
//! also gets the end-of-stream checks and the index's token CRC-32. The output
//! is the int16 `(B - A, 8, 16)` `.npy` numpy writes; for the whole segment it is
//! byte-identical to the original commaVQ file.

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::archives::open;
use crate::io::{show, write_npy_i16, InputSet, Output};

/// Options of `get`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive.
    #[arg(value_name = "SPLIT.vqa")]
    pub archive: PathBuf,
    /// The segment's key (see `ls`).
    #[arg(value_name = "KEY")]
    pub key: String,
    /// Only frames A..B (half-open: A included, B not; 600..660 is 60 frames).
    #[arg(long, value_name = "A..B", value_parser = parse_range)]
    pub frames: Option<(u32, u32)>,
    /// The `.npy` file to write (`-` for standard output).
    #[arg(short = 'o', long = "output", value_name = "OUT.npy")]
    pub output: PathBuf,
}

/// Parses `A..B` (two whole numbers); the range itself is checked against the
/// segment later.
pub fn parse_range(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{text:?} is not a frame range A..B (half-open, e.g. 600..660 for 60 frames)");
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let number = |s: &str| s.parse::<u32>().ok().filter(|_| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()));
    match (number(a), number(b)) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(bad()),
    }
}

/// Runs `get`.
pub fn run(args: &Args) -> Result<()> {
    let archive = open(&args.archive)?;
    let mut inputs = InputSet::new();
    inputs.add(&args.archive);
    let output = Output::plan(&args.output, &inputs)?;
    let i = archive.find(&args.key)?;
    let frames = archive.entries()[i].frames;
    let (start, end) = args.frames.unwrap_or((0, frames));
    if args.frames.is_some() && start >= end {
        bail!(
            "{}: segment {}: --frames {start}..{end} is empty or reversed (A..B is half-open and needs A < B)",
            show(&args.archive),
            args.key
        );
    }
    let tokens = archive.decode_frames(i, start, end)?;
    let npy = write_npy_i16(&tokens, (end - start) as usize);
    let (shown, on_stdout) = (output.shown(), output.is_stdout());
    output.write(&npy, &inputs)?;
    super::print_summary(
        &format!(
            "{} segment {} frames {start}..{end} of {frames} -> {shown} ({} bytes)\n",
            show(&args.archive),
            vqtans_archive::error::escape(&args.key),
            npy.len()
        ),
        on_stdout,
    );
    Ok(())
}
