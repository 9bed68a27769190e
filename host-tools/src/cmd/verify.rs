//! `host-tools verify`: does a stream decode to exactly the original tokens?
//!
//! The stream is decoded frame by frame and compared with the original as it
//! goes, so a damaged stream reports both how far it decoded correctly and
//! the decode error. Exit status (like `cmp`): 0 when the stream decodes to
//! exactly the original; 1 when it does not (a difference, a different frame
//! count, a damaged stream: a decode, header or checksum error); 2 when the
//! check could not be made (the tables, the original or the stream cannot be
//! read or are invalid, or the stream was coded with other tables).
//!
//! `verify SPLIT.vqa [INPUT...]` checks an archive (told apart from a stream by
//! its first bytes): every segment is decoded (in parallel) and verified
//! (group checksums, end of stream, the index's token CRC-32); with INPUTs
//! (`.npy` files, folders, shards), each of their segments is also compared
//! with the archive's segment of the same key, and one missing from the archive
//! is a difference. A damaged segment never stops the others: each is named.
//! Exit status as above: 1 when the archive is damaged anywhere (its header,
//! table set, footer, index or a stream: it does not verify); 2 when the check
//! could not be made (the archive cannot be read, or is of a format version or
//! holds a table-set model this build does not know; an INPUT cannot be read).
//! An archive is told apart from a stream by its magic, its `.vqa` name or its
//! footer, so one with a damaged magic is still reported as a damaged archive.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use super::args::SelectionArgs;
use crate::archives::{is_archive, open};
use crate::diff::first_difference;
use crate::io::sources::STDIN_NAME;
use crate::io::Segments;
use crate::io::{is_dash, read_npy_input, show, tokens::TOKENS_PER_FRAME};
use crate::pass::{Feed, OnBad};
use crate::progress;
use crate::tables::{read_stream, TableFile};
use crate::workers::Workers;
use rayon::iter::{IntoParallelIterator, ParallelBridge, ParallelIterator};
use vqtans_archive::{ArchiveError, Problem};

/// Options of `verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set the stream was encoded with (not for an archive, which holds
    /// its own).
    #[arg(long, value_name = "TABLES")]
    pub tables: Option<PathBuf>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The stream to check (`-` for standard input), or an archive.
    #[arg(value_name = "STREAM|SPLIT.vqa")]
    pub stream: PathBuf,
    /// For a stream: the `.npy` file it should decode to (`-` for standard
    /// input; or an http://, https:// or hf:// URL). For an archive: optional
    /// INPUTs (`.npy` files, folders, shards, URLs) whose segments it should
    /// hold.
    #[arg(value_name = "ORIGINAL")]
    pub original: Vec<PathBuf>,
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
pub fn run(args: &Args, workers: &Workers) -> Result<Verdict> {
    if is_archive(&args.stream) {
        if args.tables.is_some() {
            bail!("{}: an archive holds its own table set; leave out --tables", show(&args.stream));
        }
        return verify_archive(args, workers);
    }
    let [original] = &args.original[..] else {
        bail!("verify STREAM takes exactly one ORIGINAL.npy (several INPUTs are for an archive)");
    };
    if !args.selection.only.is_empty() || !args.selection.exclude.is_empty() || args.selection.limit.is_some() {
        bail!("--only, --exclude and --limit are for an archive's INPUTs, not for a stream");
    }
    let Some(tables_path) = &args.tables else {
        bail!("verify STREAM needs --tables (the table set the stream was encoded with)");
    };
    if is_dash(&args.stream) && is_dash(original) {
        bail!("STREAM and ORIGINAL cannot both be `-` (standard input)");
    }
    let tables = TableFile::load(tables_path)?;
    let original_path = original;
    let original = read_npy_input(original_path, &args.selection.remote.fetch())?;
    let stream = read_stream(&args.stream)?;
    let named = |p: &Path| if is_dash(p) { STDIN_NAME.to_string() } else { show(p) };
    let stream_name = named(&args.stream);
    let original_name = named(original_path);

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

/// `verify SPLIT.vqa [INPUT...]`.
fn verify_archive(args: &Args, workers: &Workers) -> Result<Verdict> {
    let archive = match open(&args.stream) {
        Ok(archive) => archive,
        Err(e) => match e.downcast_ref::<ArchiveError>() {
            Some(damaged) if is_damage(&damaged.problem) => return Ok(Verdict::Differs(vec![damaged.to_string()])),
            _ => return Err(e),
        },
    };
    let name = show(&args.stream);
    let n = archive.entries().len();
    let reader = archive.reader();
    let mut compared = vec![false; n];
    let mut problems = Vec::new();
    if !args.original.is_empty() {
        let selection = args.selection.selection()?;
        let mut segments = Segments::open(&args.original, &selection)?;
        let bar = progress::segments_bar("verify", segments.len_hint());
        let mut feed = Feed::new(&mut segments, OnBad::Abort, &bar);
        let results: Vec<(usize, Result<usize, String>)> = workers.run(None, || {
            feed.by_ref()
                .par_bridge()
                .map(|(order, seg)| {
                    let result = match archive.find(&seg.key) {
                        Err(e) => Err(e.to_string()),
                        Ok(i) => match reader.decode(i) {
                            Err(e) => Err(e.to_string()),
                            Ok(tokens) if tokens.len() != seg.tokens.len() => Err(format!(
                                "{name}: segment {} holds {} frames, the original {}",
                                seg.key,
                                tokens.len() / TOKENS_PER_FRAME,
                                seg.frames
                            )),
                            Ok(tokens) => match first_difference(&tokens, &seg.tokens, 0) {
                                Some(d) => Err(format!("{name}: segment {} differs from the original: {d}", seg.key)),
                                None => Ok(i),
                            },
                        },
                    };
                    bar.inc(1);
                    (order, result)
                })
                .collect()
        })?;
        bar.finish_and_clear();
        feed.finish()?;
        args.selection.check_only_matched(&segments)?;
        let mut results = results;
        results.sort_by_key(|(order, _)| *order);
        for (_, result) in results {
            match result {
                Ok(i) => compared[i] = true,
                Err(problem) => problems.push(problem),
            }
        }
    }
    // The segments no INPUT held: decoded and checked against the index.
    let rest: Vec<usize> = (0..n).filter(|&i| !compared[i]).collect();
    let mut failures: Vec<(usize, String)> = workers.run(Some(rest.len()), || {
        rest.into_par_iter().filter_map(|i| reader.decode(i).err().map(|e| (i, e.to_string()))).collect()
    })?;
    failures.sort_by_key(|(i, _)| *i);
    problems.extend(failures.into_iter().map(|(_, problem)| problem));
    if !problems.is_empty() {
        return Ok(Verdict::Differs(problems));
    }
    let with = compared.iter().filter(|&&c| c).count();
    println!(
        "OK: {name}: all {n} segments decode and verify{}",
        if args.original.is_empty() { String::new() } else { format!(", {with} of them identical to the originals") }
    );
    Ok(Verdict::Identical)
}

/// Whether an archive that cannot be opened for `problem` is damaged (it does
/// not verify: exit status 1), rather than unreadable or of a kind this build
/// does not know (the check cannot be made: 2).
fn is_damage(problem: &Problem) -> bool {
    use vqtans::Error::{TableSetFormat, UnknownModel, UnsupportedVersion};
    !matches!(
        problem,
        Problem::Io(_)
            | Problem::UnsupportedVersion(_)
            | Problem::Tables(TableSetFormat { .. } | UnknownModel | UnsupportedVersion { .. })
    )
}
