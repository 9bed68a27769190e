//! `host-tools decode` of several streams (or folders of them) into a folder:
//! each stream `<key>.vqt` becomes `OUT/<key>.npy`, as `encode` of a folder
//! names its streams `<key>.vqt`.
//!
//! The STREAM arguments are stream files (any name: the key is the file name
//! minus a `.vqt` suffix, any case) and folders, of which every regular file
//! directly inside whose name ends in `.vqt` is a stream (not recursive), in
//! byte order of file name. Before anything is decoded: every argument must
//! exist and be a regular file or a folder (a FIFO or device is refused
//! without being opened), a folder must hold a stream, `-` (standard input)
//! is refused (its stream has no key to name a file), and two streams with
//! the same key are refused, naming both.
//!
//! The streams are decoded in parallel, each verified whole (every group
//! checksum, the end of its payload) and written to a staging folder
//! ([`FolderOutput`]): the `.npy` files appear in OUT only when every stream
//! decoded, all at once for a new folder. A stream that fails is reported
//! when it fails (one line naming it) and does not stop the others; the
//! command then fails, writing nothing. With `--salvage` the verified frames
//! of each damaged stream (when there are any) are written beside the whole
//! streams' files, and the command still fails, naming each damaged stream.
//! Outputs never go over an input (the streams, the tables): see
//! `io::output`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Result};
use rayon::iter::{IntoParallelRefIterator, ParallelIterator};

use super::decode::{salvage_frames, salvage_message, Args, Salvaged};
use super::encode::STREAM_EXT;
use crate::io::input::{kind_of, open_regular};
use crate::io::name::utf8_name;
use crate::io::tokens::TOKENS_PER_FRAME;
use crate::io::{is_dash, show, write_npy_i16, FolderOutput, InputSet, IoError};
use crate::progress;
use crate::tables::{read_stream, TableFile};
use crate::workers::Workers;

/// Whether `decode` of the one STREAM `stream` to `output` writes into a
/// folder: when the stream is a folder, or `output` is an existing folder.
pub fn wanted(stream: &Path, output: &Path) -> bool {
    let is_dir = |p: &Path| !is_dash(p) && std::fs::metadata(p).is_ok_and(|m| m.is_dir());
    is_dir(stream) || is_dir(output)
}

/// One stream to decode.
#[derive(Debug)]
struct Job {
    /// The stream file.
    path: PathBuf,
    /// Its key: the file name minus `.vqt`.
    key: String,
}

impl Job {
    /// `<key>.npy`.
    fn output_name(&self) -> String {
        format!("{}.npy", self.key)
    }
}

/// The key of stream file `path`: its file name minus `.vqt` (any case).
///
/// Errors: a name that is not UTF-8 or holds control characters, or a name
/// that is only `.vqt`.
pub fn stream_key(path: &Path) -> Result<String> {
    let name = utf8_name(path)?;
    let suffix = STREAM_EXT.len() + 1;
    let key = match name.len().checked_sub(suffix) {
        Some(cut) if name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(&format!(".{STREAM_EXT}")) => {
            &name[..cut]
        }
        _ => name,
    };
    if key.is_empty() {
        bail!("{}: a stream's file name gives its key, and this one has none", show(path));
    }
    Ok(key.to_string())
}

/// Regular files (symlinks followed) directly in `dir` whose name ends in
/// `.vqt` (any case), sorted by file name.
fn list_streams(dir: &Path) -> Result<Vec<PathBuf>> {
    let read_err = |e| IoError::Read { file: dir.to_path_buf(), source: e };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name().as_encoded_bytes().to_ascii_lowercase();
        if !name.ends_with(format!(".{STREAM_EXT}").as_bytes()) {
            continue;
        }
        let path = entry.path();
        if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        bail!("{}: holds no stream (no regular file named *.{STREAM_EXT} directly inside)", show(dir));
    }
    Ok(files)
}

/// The streams of the STREAM arguments, in order, with unique keys.
fn jobs(streams: &[PathBuf]) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for arg in streams {
        if is_dash(arg) {
            return Err(super::usage(
                "decode into a folder names each file after its stream, and a stream read from standard input \
                 (`-`) has no name: give it as a file, or decode it alone to a file (-o OUT.npy)",
            ));
        }
        let meta = std::fs::metadata(arg).map_err(|e| IoError::Read { file: arg.clone(), source: e })?;
        if meta.is_dir() {
            jobs.extend(list_streams(arg)?);
        } else if meta.is_file() {
            jobs.push(arg.clone());
        } else {
            return Err(IoError::NotAFile { file: arg.clone(), kind: kind_of(&meta) }.into());
        }
    }
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut out = Vec::with_capacity(jobs.len());
    for path in jobs {
        let key = stream_key(&path)?;
        if let Some(first) = seen.get(&key) {
            bail!(
                "{} and {}: two streams with the key {}, which would both be decoded to {}.npy",
                show(first),
                show(&path),
                crate::io::name::escape_controls(&key),
                crate::io::name::escape_controls(&key)
            );
        }
        seen.insert(key.clone(), path.clone());
        out.push(Job { path, key });
    }
    Ok(out)
}

/// What became of one stream.
enum Outcome {
    /// Decoded whole: frames and `.npy` bytes written.
    Whole { frames: usize, bytes: usize },
    /// Damaged (reported), with the verified frames written under --salvage
    /// when there are any.
    Bad { written: bool },
}

/// Runs `decode` of `streams` into the folder `args.output`.
pub fn run(args: &Args, streams: &[PathBuf], workers: &Workers) -> Result<()> {
    let start = Instant::now();
    if is_dash(&args.output) {
        return Err(super::usage(
            "several streams (or a folder of them) decode into a folder, not standard output: give -o DIR",
        ));
    }
    let tables = TableFile::load(&args.tables)?;
    let jobs = jobs(streams)?;
    // Every stream is opened now: a missing or unreadable one stops the run
    // before any work (a FIFO is refused without being opened).
    for job in &jobs {
        open_regular(&job.path)?;
    }
    let mut inputs = InputSet::new();
    inputs.add(&args.tables);
    inputs.extend(jobs.iter().map(|j| &j.path));
    let names: Vec<String> = jobs.iter().map(Job::output_name).collect();
    let out = FolderOutput::plan(&args.output, &inputs, &names)?;
    let bar = progress::segments_bar("decode", Some(jobs.len()));
    let bad = AtomicUsize::new(0);
    let outcomes: Result<Vec<Outcome>> = workers.run(Some(jobs.len()), || {
        jobs.par_iter()
            .map(|job| {
                let outcome = decode_one(args, &tables, job, &out);
                bar.inc(1);
                if matches!(outcome, Ok(Outcome::Bad { .. })) {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
                outcome
            })
            .collect()
    })?;
    bar.finish_and_clear();
    let outcomes = outcomes?;
    let bad = bad.into_inner();
    let shown = out.shown();
    if bad > 0 {
        let written: Vec<String> = jobs
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| matches!(o, Outcome::Whole { .. } | Outcome::Bad { written: true }))
            .map(|(job, _)| job.output_name())
            .collect();
        if args.salvage && !written.is_empty() {
            out.commit(&written, &inputs)?;
            bail!(
                "{bad} of {} streams did not decode whole (named above); wrote {} file{} to {shown}: the whole \
                 streams and the verified frames of the damaged ones",
                jobs.len(),
                written.len(),
                if written.len() == 1 { "" } else { "s" }
            );
        }
        bail!(
            "{bad} of {} streams did not decode (named above); nothing was written{}",
            jobs.len(),
            if args.salvage { "" } else { " (--salvage writes the verified frames)" }
        );
    }
    let (frames, bytes) = outcomes.iter().fold((0usize, 0usize), |(f, b), o| match o {
        Outcome::Whole { frames, bytes } => (f + frames, b + bytes),
        Outcome::Bad { .. } => (f, b),
    });
    out.commit(&names, &inputs)?;
    println!(
        "decoded {} stream{} ({frames} frames) into {shown} as <key>.npy ({bytes} bytes), all verified, {:.2} s",
        jobs.len(),
        if jobs.len() == 1 { "" } else { "s" },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Decodes `job` into the staging folder of `out`. A stream that cannot be
/// read or decoded is reported on stderr (one line) and is `Outcome::Bad`;
/// an error writing the output stops the run.
fn decode_one(args: &Args, tables: &TableFile, job: &Job, out: &FolderOutput) -> Result<Outcome> {
    let report = |error: &anyhow::Error| {
        eprintln!("error: {}", crate::message::escape_controls(&crate::message::describe(error)));
    };
    let stream = match read_stream(&job.path) {
        Ok(stream) => stream,
        Err(e) => {
            report(&e);
            return Ok(Outcome::Bad { written: false });
        }
    };
    let failure = match tables.decode(&stream, &job.path) {
        Ok(tokens) => {
            let frames = tokens.len() / TOKENS_PER_FRAME;
            let npy = write_npy_i16(&tokens, frames);
            out.write(&job.output_name(), &npy)?;
            return Ok(Outcome::Whole { frames, bytes: npy.len() });
        }
        Err(e) => e,
    };
    if !args.salvage {
        report(&failure);
        return Ok(Outcome::Bad { written: false });
    }
    match salvage_frames(tables, &stream, &job.path, failure)? {
        Salvaged::Nothing(error) => {
            report(&error);
            Ok(Outcome::Bad { written: false })
        }
        Salvaged::Frames { tokens, problem, all } => {
            let frames = tokens.len() / TOKENS_PER_FRAME;
            let shown = show(&out.final_path(&job.output_name()));
            if frames > 0 {
                out.write(&job.output_name(), &write_npy_i16(&tokens, frames))?;
            }
            report(&anyhow::anyhow!("{}", salvage_message(&problem, frames, all, &shown)));
            Ok(Outcome::Bad { written: frames > 0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_file_names_minus_vqt() {
        assert_eq!(stream_key(Path::new("d/abc_13.vqt")).unwrap(), "abc_13");
        assert_eq!(stream_key(Path::new("d/abc_13.VQT")).unwrap(), "abc_13");
        assert_eq!(stream_key(Path::new("d/abc.bin")).unwrap(), "abc.bin");
        assert!(stream_key(Path::new("d/.vqt")).is_err());
        assert!(stream_key(Path::new("d/a\nb.vqt")).is_err());
    }
}
