//! `host-tools verify`: does a stream decode to exactly the original tokens?
//!
//! The stream is decoded frame by frame and compared with the original as it
//! goes, so a damaged stream reports both how far it decoded correctly and
//! the decode error. Exit status (like `cmp`): 0 when the stream decodes to
//! exactly the original, 1 when it does not (a difference, a different frame
//! count, a decode or checksum error, or a stream made with other tables), 2
//! when the check could not be made (unreadable or invalid original or
//! tables).

use std::path::PathBuf;

use anyhow::Result;

use crate::diff::first_difference;
use crate::io::{read_npy_file, tokens::TOKENS_PER_FRAME};
use crate::message::describe;
use crate::tables::{read_stream, TableFile};

/// Options of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set the stream was encoded with.
    #[arg(long, value_name = "TABLES")]
    pub tables: PathBuf,
    /// The stream to check.
    #[arg(value_name = "STREAM")]
    pub stream: PathBuf,
    /// The `.npy` file it should decode to.
    #[arg(value_name = "ORIGINAL.npy")]
    pub original: PathBuf,
}

/// The outcome of a check that could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The stream decodes to exactly the original tokens.
    Identical,
    /// It does not; each line says what is wrong.
    Differs(Vec<String>),
}

/// Runs `verify`. `Err` means the check could not be made (exit status 2);
/// a stream that cannot be read or decoded is a [`Verdict::Differs`].
pub fn run(args: &Args) -> Result<Verdict> {
    let tables = TableFile::load(&args.tables)?;
    let original = read_npy_file(&args.original)?;
    let stream = match read_stream(&args.stream) {
        Ok(s) => s,
        Err(e) => return Ok(Verdict::Differs(vec![describe(&e)])),
    };
    let stream_name = args.stream.display();
    let original_name = args.original.display();

    let mut decoder = match tables.decoder(&stream, &args.stream) {
        Ok(d) => d,
        Err(e) => return Ok(Verdict::Differs(vec![describe(&e)])),
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
        "OK: {stream_name} decodes to exactly {original_name} ({frames} frames, {} bytes, \
         table set {})",
        stream.len(),
        tables.id_hex()
    );
    Ok(Verdict::Identical)
}
