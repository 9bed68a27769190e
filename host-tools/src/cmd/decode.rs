//! `host-tools decode`: a vqtans stream back to an int16 `(frames, 8, 16)`
//! `.npy` file.
//!
//! The output is byte-identical to the original `.npy` when that was an
//! int16 C-order array saved by numpy (the commaVQ files are). The codec
//! verifies the whole stream (every group checksum and the end of the
//! payload) before anything is written; the output is written atomically and
//! never over the stream or the tables.
//!
//! With `--salvage`, a damaged stream still gives the frames of every checksum
//! group verified before the damage (written as above, and only if there is at
//! least one), and the command fails naming the first bad group.

use std::path::PathBuf;

use anyhow::{bail, Result};

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
    /// On a damaged stream, write the frames of the checksum groups verified
    /// before the damage (and still fail, naming the first bad group).
    #[arg(long)]
    pub salvage: bool,
    /// The stream to decode.
    #[arg(value_name = "STREAM")]
    pub stream: PathBuf,
}

/// Runs `decode`.
pub fn run(args: &Args) -> Result<()> {
    let tables = TableFile::load(&args.tables)?;
    let stream = read_stream(&args.stream)?;
    let tokens = match tables.decode(&stream, &args.stream) {
        Ok(tokens) => tokens,
        Err(e) if args.salvage => return salvage(args, &tables, &stream, e),
        Err(e) => return Err(e),
    };
    let frames = write_frames(args, &tokens)?;
    println!(
        "decoded {} ({} frames, {} bytes) -> {} ({} bytes)",
        args.stream.display(),
        frames,
        stream.len(),
        args.output.display(),
        std::fs::metadata(&args.output).map(|m| m.len()).unwrap_or(0)
    );
    Ok(())
}

/// Writes `tokens` as an int16 `.npy` file (atomically); returns the frames.
fn write_frames(args: &Args, tokens: &[u16]) -> Result<usize> {
    let frames = tokens.len() / TOKENS_PER_FRAME;
    let npy = write_npy_i16(tokens, frames);
    write_atomic(&args.output, &npy, &[&args.stream, &args.tables])?;
    Ok(frames)
}

/// `--salvage` after `failure`: decodes frame by frame up to the first failing
/// group, writes the verified frames before it, and fails naming the group.
fn salvage(args: &Args, tables: &TableFile, stream: &[u8], failure: anyhow::Error) -> Result<()> {
    let Ok(mut decoder) = tables.decoder(stream, &args.stream) else {
        // The header or the tables are wrong: there are no groups to save.
        return Err(failure.context("nothing to salvage"));
    };
    let mut tokens = Vec::new();
    let mut frame = [0u16; TOKENS_PER_FRAME];
    let mut result = Ok(());
    for _ in 0..decoder.header().frames {
        result = decoder.next_frame(&mut frame);
        if result.is_err() {
            break;
        }
        tokens.extend_from_slice(&frame);
    }
    if result.is_ok() {
        result = decoder.finish();
    }
    let Err(error) = result else {
        bail!("{}: the frame-by-frame decoder found no damage the whole-stream decoder found", args.stream.display());
    };
    let group = decoder.current_group();
    let group_frames = decoder.header().group_frames();
    let first = group * group_frames;
    let end = (first + group_frames).min(decoder.header().frames);
    let verified = decoder.verified_frames() as usize;
    tokens.truncate(verified * TOKENS_PER_FRAME);
    let saved = if verified > 0 {
        write_frames(args, &tokens)?;
        format!("wrote the {verified} verified frames before it to {}", args.output.display())
    } else {
        "no frame before it to write".to_string()
    };
    bail!("{}: first bad group {group} (frames {first}..{end}): {error}; {saved}", args.stream.display())
}
