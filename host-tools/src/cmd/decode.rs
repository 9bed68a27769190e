//! `host-tools decode`: a vqtans stream back to an int16 `(frames, 8, 16)`
//! `.npy` file.
//!
//! The output is byte-identical to the original `.npy` when that was an
//! int16 C-order array saved by numpy (the commaVQ files are). The codec
//! verifies the whole stream (every group checksum and the end of the
//! payload) before anything is written; the output is written by `io::output`
//! (atomically, through a device or FIFO, or `-` for standard output) and never
//! over the stream or the tables.
//!
//! With `--salvage`, a damaged stream still gives the frames of every checksum
//! group verified before the damage (written as above, and only if there is at
//! least one), and the command fails naming the first bad group. A stream cut
//! short (a partial download or copy) gives every group whose bytes all
//! arrived; a stream with bytes after its payload gives all its frames.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use vqtans::container::HEADER_LEN;

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
    /// On a damaged stream, write the frames of the checksum groups verified
    /// before the damage (and still fail, naming the first bad group).
    #[arg(long)]
    pub salvage: bool,
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
    let tokens = match tables.decode(&stream, stream_name) {
        Ok(tokens) => tokens,
        Err(e) if args.salvage => return salvage(output, &inputs, &tables, &stream, stream_name, e),
        Err(e) => return Err(e),
    };
    let (shown, on_stdout) = (output.shown(), output.is_stdout());
    let (frames, bytes) = write_frames(output, &inputs, &tokens)?;
    let summary = format!(
        "decoded {} ({} frames, {} bytes) -> {} ({} bytes)\n",
        show(stream_name),
        frames,
        stream.len(),
        shown,
        bytes
    );
    super::print_summary(&summary, on_stdout);
    Ok(())
}

/// Writes `tokens` as an int16 `.npy` file to `output`; returns the frames and
/// the bytes written.
fn write_frames(output: Output, inputs: &InputSet, tokens: &[u16]) -> Result<(usize, usize)> {
    let frames = tokens.len() / TOKENS_PER_FRAME;
    let npy = write_npy_i16(tokens, frames);
    output.write(&npy, inputs)?;
    Ok((frames, npy.len()))
}

/// `--salvage` after `failure`: decodes frame by frame up to the first failing
/// group, writes the verified frames before it, and fails naming the group.
fn salvage(
    output: Output,
    inputs: &InputSet,
    tables: &TableFile,
    stream: &[u8],
    stream_name: &Path,
    failure: anyhow::Error,
) -> Result<()> {
    // A stream cut short is decoded as far as its bytes go: the groups whose
    // bytes all arrived verify, the first one missing a byte fails (Truncated).
    let Ok(mut decoder) = tables.decoder_cut_short(stream) else {
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
        let extra = stream.len().saturating_sub(HEADER_LEN + decoder.header().payload_len as usize);
        if extra == 0 {
            bail!("{}: the frame-by-frame decoder found no damage the whole-stream decoder found", show(stream_name));
        }
        // Every group verified: the damage is after the payload.
        let shown = output.shown();
        let (frames, _) = write_frames(output, inputs, &tokens)?;
        bail!(
            "{}: {extra} bytes after the end of the payload; every group verified: wrote all {frames} frames to {shown}",
            show(stream_name)
        );
    };
    let group = decoder.current_group();
    let group_frames = decoder.header().group_frames();
    let first = group * group_frames;
    let end = (first + group_frames).min(decoder.header().frames);
    let verified = decoder.verified_frames() as usize;
    tokens.truncate(verified * TOKENS_PER_FRAME);
    let saved = if verified > 0 {
        let shown = output.shown();
        write_frames(output, inputs, &tokens)?;
        format!("wrote the {verified} verified frames before it to {shown}")
    } else {
        "no frame before it to write".to_string()
    };
    bail!("{}: first bad group {group} (frames {first}..{end}): {error}; {saved}", show(stream_name))
}
