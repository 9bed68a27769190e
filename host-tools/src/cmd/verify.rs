//! `host-tools verify`: does a stream decode to exactly the original tokens?
//!
//! The stream is decoded frame by frame and compared with the original as it
//! goes, so a damaged stream reports both how far it decoded correctly and
//! the decode error. Exit status (like `cmp`): 0 when the stream decodes to
//! exactly the original; 1 when it does not (a difference, a different frame
//! count, a damaged stream: a decode, header or checksum error); 2 when the
//! check could not be made (the tables, the original or the stream cannot be
//! read or are invalid, or the stream was coded with other tables).

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::args::RemoteArgs;
use crate::diff::first_difference;
use crate::io::sources::STDIN_NAME;
use crate::io::{is_dash, read_npy_input, show, tokens::TOKENS_PER_FRAME};
use crate::tables::{read_stream, TableFile};

/// Options of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set the stream was encoded with.
    #[arg(long, value_name = "TABLES")]
    pub tables: PathBuf,
    /// The stream to check (`-` for standard input).
    #[arg(value_name = "STREAM")]
    pub stream: PathBuf,
    /// The `.npy` file it should decode to (`-` for standard input; or an
    /// http://, https:// or hf:// URL).
    #[arg(value_name = "ORIGINAL.npy")]
    pub original: PathBuf,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// The outcome of a check that could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The stream decodes to exactly the original tokens.
    Identical,
    /// It does not; each line says what is wrong.
    Differs(Vec<String>),
}

/// Runs `verify`. `Err` means the check could not be made (exit status 2).
pub fn run(args: &Args) -> Result<Verdict> {
    if is_dash(&args.stream) && is_dash(&args.original) {
        bail!("STREAM and ORIGINAL cannot both be `-` (standard input)");
    }
    let tables = TableFile::load(&args.tables)?;
    let original = read_npy_input(&args.original, &args.remote.fetch())?;
    let stream = read_stream(&args.stream)?;
    let named = |p: &Path| if is_dash(p) { STDIN_NAME.to_string() } else { show(p) };
    let stream_name = named(&args.stream);
    let original_name = named(&args.original);

    let mut decoder = match tables.decoder(&stream) {
        Ok(d) => d,
        // Other tables: no verdict about the stream can be given.
        Err(e @ vqtans::Error::TableSetMismatch { .. }) => return Err(tables.explain(e, Path::new(&stream_name))),
        Err(e) => return Ok(Verdict::Differs(vec![format!("{stream_name}: not a valid stream: {e}")])),
    };
    let frames = decoder.header().frames as usize;
    let mut problems = Vec::new();
    if frames != original.frames {
        problems.push(format!("{stream_name} holds {frames} frames, {original_name} holds {}", original.frames));
    }
    let mut frame = [0u16; TOKENS_PER_FRAME];
    for f in 0..frames {
        if let Err(e) = decoder.next_frame(&mut frame) {
            problems.push(format!(
                "{stream_name}: decode error at frame {f} in checksum group {} (frames 0..{f} match): {e}",
                decoder.current_group()
            ));
            return Ok(Verdict::Differs(problems));
        }
        if f < original.frames {
            if let Some(d) = first_difference(&frame, original.frame(f), f * TOKENS_PER_FRAME) {
                problems.push(format!("{stream_name} vs {original_name}: {d}"));
                return Ok(Verdict::Differs(problems));
            }
        }
    }
    if let Err(e) = decoder.finish() {
        problems.push(format!(
            "{stream_name}: stream check failed after the last frame (checksum group {}): {e}",
            decoder.current_group()
        ));
    }
    if !problems.is_empty() {
        return Ok(Verdict::Differs(problems));
    }
    println!(
        "OK: {stream_name} decodes to exactly {original_name} ({frames} frames, {} bytes, table set {})",
        stream.len(),
        tables.id_hex()
    );
    Ok(Verdict::Identical)
}
