//! `host-tools decode`: a vqtans stream back to an int16 `(frames, 8, 16)`
//! `.npy` file.
//!
//! The output is byte-identical to the original `.npy` when that was an
//! int16 C-order array saved by numpy (the commaVQ files are). The codec
//! verifies the whole stream (payload and token checksum) before anything is
//! written; the output is written by `io::output` (atomically, through a
//! device or FIFO, or `-` for standard output) and never over the stream or
//! the tables.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::io::sources::STDIN_NAME;
use crate::io::{is_dash, show, tokens::TOKENS_PER_FRAME, write_npy_i16, InputSet, Output};
use crate::tables::{read_stream, TableFile};

/// Options of `decode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set the stream was encoded with.
    #[arg(long, value_name = "TABLES")]
    pub tables: PathBuf,
    /// The `.npy` file to write (`-` for standard output).
    #[arg(short = 'o', long = "output", value_name = "OUT.npy")]
    pub output: PathBuf,
    /// The stream to decode (`-` for standard input).
    #[arg(value_name = "STREAM")]
    pub stream: PathBuf,
}

/// Runs `decode`.
pub fn run(args: &Args) -> Result<()> {
    let tables = TableFile::load(&args.tables)?;
    let mut inputs = InputSet::new();
    inputs.extend([&args.tables, &args.stream]);
    let output = Output::plan(&args.output, &inputs)?;
    let stream = read_stream(&args.stream)?;
    let stream_name = if is_dash(&args.stream) { Path::new(STDIN_NAME) } else { args.stream.as_path() };
    let tokens = tables.decode(&stream, stream_name)?;
    let frames = tokens.len() / TOKENS_PER_FRAME;
    let npy = write_npy_i16(&tokens, frames);
    let (shown, on_stdout) = (output.shown(), output.is_stdout());
    output.write(&npy, &inputs)?;
    let summary = format!(
        "decoded {} ({} frames, {} bytes) -> {} ({} bytes)\n",
        show(stream_name),
        frames,
        stream.len(),
        shown,
        npy.len()
    );
    super::print_summary(&summary, on_stdout);
    Ok(())
}
