//! `host-tools unpack`: every segment of an archive back to files.
//!
//! By default each segment becomes `DIR/<file_name>` (the `file_name` of its
//! `.json` when it was packed from a shard that had one) or `DIR/<key>.npy`, the
//! int16 `.npy` numpy writes, byte-identical to the commaVQ original. With
//! `--shards`, the segments become webdataset shards `DIR/data-0000.tar.gz`,
//! `data-0001.tar.gz`, ... of `--shard-size` segments each (2,500, as on the
//! hub), in archive order, each segment as `<key>.json` (the original bytes
//! when the archive kept them, else `{"file_name": "<file_name or key.npy>"}`,
//! the file `unpack` without `--shards` and a challenge submission write it
//! to) and `<key>.token.npy` (byte-identical to the original member). Other
//! members of the original shards are not kept.
//!
//! Segments are decoded in parallel and each is verified (its group checksums,
//! the end of its stream, the index's token CRC-32) before it is written. A
//! damaged segment does not stop the others: each bad one is reported when it
//! is found (one line naming the archive and the key; memory does not grow with
//! their number), all others are still decoded and checked, and the command
//! then fails. All or nothing, as for every command: the files are
//! staged and appear only when every segment verified. With `--salvage`, the
//! segments that verified are written all the same and the command still fails.
//! Names were checked when the archive was opened: plain file names only, so
//! nothing is ever written outside DIR.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{bail, Result};
use rayon::iter::{IntoParallelIterator, ParallelIterator};
use vqtans_archive::{Archive, ArchiveError, Reader};

use crate::archives::open;
use crate::io::shard_out::ShardWriter;
use crate::io::{show, write_npy_i16, FolderOutput, InputSet, IoError};
use crate::progress;
use crate::workers::{for_each_ordered, Workers};

/// Segments per shard on the hub.
pub const HUB_SHARD_SEGMENTS: usize = 2500;

/// Options of `unpack`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive.
    #[arg(value_name = "SPLIT.vqa")]
    pub archive: PathBuf,
    /// The folder to write into (created if needed; its parent must exist).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// Write webdataset shards data-NNNN.tar.gz instead of .npy files.
    #[arg(long)]
    pub shards: bool,
    /// With --shards: segments per shard.
    #[arg(long, value_name = "N", default_value_t = HUB_SHARD_SEGMENTS as u32, requires = "shards",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_size: u32,
    /// Write the segments that verified even if others did not (the command
    /// still fails, naming each bad one).
    #[arg(long)]
    pub salvage: bool,
}

/// Runs `unpack`.
pub fn run(args: &Args, workers: &Workers) -> Result<()> {
    let start = Instant::now();
    let archive = open(&args.archive)?;
    let mut inputs = InputSet::new();
    inputs.add(&args.archive);
    let n = archive.entries().len();
    let names: Vec<String> = if args.shards {
        (0..n.div_ceil(args.shard_size as usize)).map(shard_name).collect()
    } else {
        archive.entries().iter().map(|e| e.output_name()).collect()
    };
    let out = FolderOutput::plan(&args.output, &inputs, &names)?;
    let bar = progress::segments_bar("unpack", Some(n));
    let failures = Failures::new(n);
    if args.shards {
        write_shards(&archive, &out, args.shard_size as usize, workers, &bar, &failures)?
    } else {
        write_npy_files(&archive, &out, workers, &bar, &failures)?
    };
    bar.finish_and_clear();
    let tokens: u64 = archive.entries().iter().map(|e| u64::from(e.frames) * 128).sum();
    let shown = out.shown();
    let what = match names.len() {
        1 if args.shards => "1 shard".to_string(),
        shards if args.shards => format!("{shards} shards"),
        _ => ".npy files".to_string(),
    };
    let bad = failures.count();
    if bad == 0 {
        out.commit(&names, &inputs)?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "unpacked {n} segments ({tokens} tokens) from {} into {shown} as {what}, all verified, {secs:.2} s \
             ({:.0} M tokens/s)",
            show(&args.archive),
            tokens as f64 / secs / 1e6
        );
        return Ok(());
    }
    if args.salvage && !args.shards && bad < n {
        let good: Vec<String> =
            names.iter().enumerate().filter(|&(i, _)| !failures.failed(i)).map(|(_, name)| name.clone()).collect();
        out.commit(&good, &inputs)?;
        bail!(
            "{}: {bad} of {n} segments did not verify (named above); wrote the other {} to {shown}",
            show(&args.archive),
            good.len()
        );
    }
    if args.salvage && args.shards && bad < n {
        out.commit(&names, &inputs)?;
        bail!(
            "{}: {bad} of {n} segments did not verify (named above) and are missing from the shards in {shown}",
            show(&args.archive),
        );
    }
    bail!(
        "{}: {bad} of {n} segments did not verify (named above); nothing was written{}",
        show(&args.archive),
        if args.salvage { "" } else { " (--salvage writes the others)" }
    )
}

/// The segments that did not verify: each is reported on stderr (one line
/// naming the archive and the key) when it fails, and only a count and one
/// flag per segment are kept, so memory does not grow with the failures
/// (a flag per segment is less than its index entry already takes).
struct Failures {
    count: AtomicUsize,
    failed: Vec<AtomicBool>,
}

impl Failures {
    fn new(segments: usize) -> Failures {
        Failures { count: AtomicUsize::new(0), failed: (0..segments).map(|_| AtomicBool::new(false)).collect() }
    }

    /// Reports that segment `i` failed with `error`.
    fn report(&self, i: usize, error: &ArchiveError) {
        // ArchiveError's text is one whole line (its I/O source included).
        eprintln!("error: {}", crate::message::escape_controls(&error.to_string()));
        self.failed[i].store(true, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// How many segments failed.
    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether segment `i` failed.
    fn failed(&self, i: usize) -> bool {
        self.failed[i].load(Ordering::Relaxed)
    }
}

/// `data-NNNN.tar.gz`.
pub fn shard_name(i: usize) -> String {
    format!("data-{i:04}.tar.gz")
}

/// Segment `i` decoded and verified, as `.npy` bytes.
fn npy_of(reader: &Reader<'_>, archive: &Archive, i: usize) -> Result<Vec<u8>, ArchiveError> {
    let tokens = reader.decode(i)?;
    Ok(write_npy_i16(&tokens, archive.entries()[i].frames as usize))
}

/// Every segment to `DIR/<name>`, in parallel; a segment that fails is
/// reported to `failures`. An output error (the disk) stops the run.
fn write_npy_files(
    archive: &Archive,
    out: &FolderOutput,
    workers: &Workers,
    bar: &indicatif::ProgressBar,
    failures: &Failures,
) -> Result<()> {
    let n = archive.entries().len();
    let reader = archive.reader();
    workers.run(Some(n), || {
        (0..n).into_par_iter().try_for_each(|i| {
            let result = match npy_of(&reader, archive, i) {
                Ok(npy) => out.write(&archive.entries()[i].output_name(), &npy),
                Err(e) => {
                    failures.report(i, &e);
                    Ok(())
                }
            };
            bar.inc(1);
            result
        })
    })??;
    Ok(())
}

/// Every segment into shards of `shard_size`, in archive order: decoded in
/// parallel, written in order by this thread; a segment that fails is reported
/// to `failures` (and left out of its shard).
fn write_shards(
    archive: &Archive,
    out: &FolderOutput,
    shard_size: usize,
    workers: &Workers,
    bar: &indicatif::ProgressBar,
    failures: &Failures,
) -> Result<()> {
    let pool = workers.pool(Some(archive.entries().len()))?;
    let window = 2 * pool.current_num_threads() + 2;
    let reader = archive.reader();
    let mut shard: Option<(String, ShardWriter<std::fs::File>)> = None;
    let io_error =
        |name: &str, e: std::io::Error| anyhow::Error::from(IoError::Write { file: out.final_path(name), source: e });
    for_each_ordered(
        &pool,
        0..archive.entries().len(),
        window,
        |i| (i, npy_of(&reader, archive, i)),
        |(i, npy)| -> Result<()> {
            bar.inc(1);
            if i % shard_size == 0 {
                if let Some((name, builder)) = shard.take() {
                    finish_shard(builder).map_err(|e| io_error(&name, e))?;
                }
                let name = shard_name(i / shard_size);
                let file = out.create(&name)?;
                shard = Some((name, ShardWriter::new(file, flate2::Compression::fast())));
            }
            let npy = match npy {
                Ok(npy) => npy,
                Err(e) => {
                    failures.report(i, &e);
                    return Ok(());
                }
            };
            let (name, builder) = shard.as_mut().expect("opened above");
            let entry = &archive.entries()[i];
            builder.add(&entry.key, entry.json.as_deref(), &entry.output_name(), &npy).map_err(|e| io_error(name, e))
        },
    )?;
    if let Some((name, builder)) = shard.take() {
        finish_shard(builder).map_err(|e| io_error(&name, e))?;
    }
    Ok(())
}

/// Ends the tar archive and the gzip stream, and syncs the file.
fn finish_shard(builder: ShardWriter<std::fs::File>) -> std::io::Result<()> {
    builder.finish()?.sync_all()
}
