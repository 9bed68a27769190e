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
//!
//! Several streams, or folders of them (every `*.vqt` file directly inside,
//! not recursive), or `-o` naming an existing folder, decode into the folder
//! OUT as `<key>.npy` each (the key is the stream's file name minus `.vqt`,
//! as `encode` names its streams `<key>.vqt`): see [`super::decode_folder`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use vqtans::container::HEADER_LEN;

use crate::io::sources::STDIN_NAME;
use crate::io::{is_dash, show, tokens::TOKENS_PER_FRAME, write_npy_i16, InputSet, Output};
use crate::tables::{decode_verified_groups, read_stream, TableFile};
use crate::workers::Workers;

/// Options of `decode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set the stream was encoded with.
    #[arg(long, value_name = "TABLES")]
    pub tables: PathBuf,
    /// The `.npy` file to write (`-` for standard output); for several
    /// streams or a folder, the folder to write `<key>.npy` files into
    /// (created if needed; its parent must exist). An existing folder
    /// receives `<key>.npy` also for one stream.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// On a damaged stream, write the frames of the checksum groups verified
    /// before the damage (and still fail, naming the first bad group).
    #[arg(long)]
    pub salvage: bool,
    /// The streams to decode: stream files (`-` for one on standard input)
    /// or folders of `*.vqt` streams.
    #[arg(required = true, value_name = "STREAM")]
    pub streams: Vec<PathBuf>,
}

/// Runs `decode`: one stream to one file, or streams into a folder.
pub fn run(args: &Args, workers: &Workers) -> Result<()> {
    match &args.streams[..] {
        [stream] if !super::decode_folder::wanted(stream, &args.output) => decode_file(args, stream),
        streams => super::decode_folder::run(args, streams, workers),
    }
}

/// One stream to one `.npy` file (or standard output).
fn decode_file(args: &Args, stream_path: &Path) -> Result<()> {
    let tables = TableFile::load(&args.tables)?;
    let mut inputs = InputSet::new();
    inputs.extend([&args.tables, stream_path]);
    let output = Output::plan(&args.output, &inputs)?;
    let stream = read_stream(stream_path)?;
    let stream_name = if is_dash(stream_path) { Path::new(STDIN_NAME) } else { stream_path };
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

/// `--salvage` after `failure`: writes the verified frames (if any) and fails
/// saying what is wrong and what was written.
fn salvage(
    output: Output,
    inputs: &InputSet,
    tables: &TableFile,
    stream: &[u8],
    stream_name: &Path,
    failure: anyhow::Error,
) -> Result<()> {
    match salvage_frames(tables, stream, stream_name, failure)? {
        Salvaged::Nothing(error) => Err(error),
        Salvaged::Frames { tokens, problem, all } => {
            let shown = output.shown();
            if !tokens.is_empty() {
                write_frames(output, inputs, &tokens)?;
            }
            bail!("{}", salvage_message(&problem, tokens.len() / TOKENS_PER_FRAME, all, &shown))
        }
    }
}

/// What `--salvage` recovered from a stream that failed to decode whole.
pub(super) enum Salvaged {
    /// No group could be saved (the header or the tables are wrong): the error.
    Nothing(anyhow::Error),
    /// The tokens of the verified frames (possibly none), `problem` naming the
    /// stream and the damage, and whether these are all the stream's frames
    /// (the damage is after the payload).
    Frames { tokens: Vec<u16>, problem: String, all: bool },
}

/// The message of a salvaged stream: `problem`, then what was written of its
/// `frames` verified frames (`all` of them or those before the damage) to
/// `shown`.
pub(super) fn salvage_message(problem: &str, frames: usize, all: bool, shown: &str) -> String {
    match (all, frames) {
        (true, _) => format!("{problem}; every group verified: wrote all {frames} frames to {shown}"),
        (false, 0) => format!("{problem}; no frame before it to write"),
        (false, _) => format!("{problem}; wrote the {frames} verified frames before it to {shown}"),
    }
}

/// `--salvage` after `failure`: decodes frame by frame up to the first failing
/// group and returns the verified frames before it.
///
/// Errors: the frame-by-frame decoder finds no damage where the whole-stream
/// decoder found some (a bug).
pub(super) fn salvage_frames(
    tables: &TableFile,
    stream: &[u8],
    stream_name: &Path,
    failure: anyhow::Error,
) -> Result<Salvaged> {
    // A stream cut short is decoded as far as its bytes go: the groups whose
    // bytes all arrived verify, the first one missing a byte fails (Truncated).
    let Ok(mut decoder) = tables.decoder_cut_short(stream) else {
        // The header or the tables are wrong: there are no groups to save.
        return Ok(Salvaged::Nothing(failure.context("nothing to salvage")));
    };
    let (tokens, result) = decode_verified_groups(&mut decoder);
    let Err(error) = result else {
        let extra = stream.len().saturating_sub(HEADER_LEN + decoder.header().payload_len as usize);
        if extra == 0 {
            bail!("{}: the frame-by-frame decoder found no damage the whole-stream decoder found", show(stream_name));
        }
        // Every group verified: the damage is after the payload.
        let problem = format!("{}: {extra} bytes after the end of the payload", show(stream_name));
        return Ok(Salvaged::Frames { tokens, problem, all: true });
    };
    let group = decoder.current_group();
    let group_frames = decoder.header().group_frames();
    let first = group * group_frames;
    let end = (first + group_frames).min(decoder.header().frames);
    let problem = format!("{}: first bad group {group} (frames {first}..{end}): {error}", show(stream_name));
    Ok(Salvaged::Frames { tokens, problem, all: false })
}
