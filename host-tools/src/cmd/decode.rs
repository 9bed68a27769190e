//! `host-tools decode`: a vqtans stream back to an int16 `(frames, 8, 16)`
//! `.npy` file.
//!
//! The output is byte-identical to the original `.npy` when that was an
//! int16 C-order array saved by numpy (the commaVQ files are). The codec
//! verifies the whole stream (payload and token checksum) before anything is
//! written; the output is written atomically and never over the stream or
//! the tables.

use std::path::PathBuf;

use anyhow::Result;

use crate::io::{tokens::TOKENS_PER_FRAME, write_atomic, write_npy_i16};
use crate::tables::{read_stream, TableFile};

/// Options of `decode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set the stream was encoded with.
    #[arg(long, value_name = "TABLES")]
    pub tables: PathBuf,
    /// The `.npy` file to write.
    #[arg(short = 'o', long = "output", value_name = "OUT.npy")]
    pub output: PathBuf,
    /// The stream to decode.
    #[arg(value_name = "STREAM")]
    pub stream: PathBuf,
}

/// Runs `decode`.
pub fn run(args: &Args) -> Result<()> {
    let tables = TableFile::load(&args.tables)?;
    let stream = read_stream(&args.stream)?;
    let tokens = tables.decode(&stream, &args.stream)?;
    let frames = tokens.len() / TOKENS_PER_FRAME;
    let npy = write_npy_i16(&tokens, frames);
    write_atomic(&args.output, &npy, &[&args.stream, &args.tables])?;
    println!(
        "decoded {} ({} frames, {} bytes) -> {} ({} bytes)",
        args.stream.display(),
        frames,
        stream.len(),
        args.output.display(),
        npy.len()
    );
    Ok(())
}
