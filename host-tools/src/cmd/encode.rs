//! `host-tools encode`: segments to vqtans streams.
//!
//! One `.npy` file (or `-`, one array on standard input) becomes one stream
//! file (or `-`, standard output). When OUT is an existing folder, the stream
//! of a named `.npy` file goes to `OUT/<key>.vqt`, and the command says so on
//! the terminal.
//!
//! A folder of `.npy` files or a webdataset shard becomes a folder OUT
//! (created if needed; its parent must exist) holding one `<key>.vqt` per
//! segment, encoded in parallel. The streams are staged in a temporary folder
//! and moved into OUT only when every segment was encoded and the whole input
//! was read and checked (a shard to its gzip trailer): either all streams of
//! the run appear, or none and no new folder.
//!
//! The INPUT may be a URL (`http://`, `https://`, `hf://`) of a `.npy` file
//! or shard, downloaded as it is read; with `--shards A..B` it is a base and
//! the streams of all its shards `data-%04d.tar.gz` go to the folder OUT
//! (keys must differ across them).
//!
//! Outputs are never written over an input or the tables (see `io::output`).

use std::num::NonZeroU16;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::iter::{ParallelBridge, ParallelIterator};
use vqtans::container::{DEFAULT_GROUP_FRAMES, DEFAULT_SECTIONS, MAX_SECTIONS};
use vqtans::segment::EncodeOptions;

use super::args::RemoteArgs;
use crate::io::remote::{is_remote, parse_shard_range, RemoteInput};
use crate::io::sources::npy_key;
use crate::io::{
    is_dash, read_npy_input, show, FolderOutput, InputKind, InputSet, Output, Segment, Segments, Selection,
};
use crate::pass::{Feed, OnBad};
use crate::progress;
use crate::tables::TableFile;
use crate::workers::Workers;
use vqtans::segment::Encoder;

/// File extension of stream files.
pub const STREAM_EXT: &str = "vqt";

/// Options of `encode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set to encode with (from `build-tables`).
    #[arg(long, value_name = "TABLES")]
    pub tables: PathBuf,
    /// Output: a stream file for a `.npy` INPUT (`-` for standard output; an
    /// existing folder receives `<key>.vqt`), a folder for a folder or shard
    /// INPUT.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Frames per checksum group (1..=65535): a decoder verifies the stream group
    /// by group, 4 bytes per group.
    #[arg(long, value_name = "G", default_value_t = DEFAULT_GROUP_FRAMES,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub group_frames: u16,
    /// Independent sections per segment (container format 3, 1..=4): the
    /// AVX-512 decoder decodes two at once; 1 writes container format 2. Each
    /// section costs about 0.13% (its first frame is sent raw).
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SECTIONS,
          value_parser = clap::value_parser!(u8).range(1..=MAX_SECTIONS as i64))]
    pub sections: u8,
    /// Encode the shards data-A.tar.gz to data-(B-1).tar.gz of INPUT, which
    /// is then a base: a URL or hf:// prefix ending in `/`, or a folder.
    #[arg(long, value_name = "A..B", value_parser = parse_shard_range)]
    pub shards: Option<Range<u32>>,
    #[command(flatten)]
    pub remote: RemoteArgs,
    /// A `.npy` file (`-` for standard input), a folder of `.npy` files, or a
    /// webdataset shard; or an http://, https:// or hf:// URL of a `.npy`
    /// file or shard.
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
}

/// Totals of an encode run.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    segments: u64,
    tokens: u64,
    bytes: u64,
}

impl Totals {
    fn add(self, other: Totals) -> Totals {
        Totals {
            segments: self.segments + other.segments,
            tokens: self.tokens + other.tokens,
            bytes: self.bytes + other.bytes,
        }
    }
}

/// Runs `encode`.
pub fn run(args: &Args, workers: &Workers) -> Result<()> {
    let start = Instant::now();
    let tables = TableFile::load(&args.tables)?;
    let group_frames = NonZeroU16::new(args.group_frames).context("--group-frames must be at least 1")?;
    let encoder =
        tables.encoder_with(EncodeOptions { group_frames, sections: args.sections, ..EncodeOptions::default() })?;
    let mut inputs = InputSet::new();
    inputs.add(&args.tables);
    let kind = if args.shards.is_some() { InputKind::Folder } else { InputKind::of(&args.input)? };
    let (totals, destination, on_stdout) = match kind {
        InputKind::Npy | InputKind::Stdin => encode_file(args, &encoder, &mut inputs)?,
        InputKind::Folder | InputKind::Shard => encode_folder(args, &encoder, &mut inputs, workers)?,
    };
    let summary = format!(
        "encoded {} segment{}, {} tokens -> {} bytes in {} (rate {:.3}, {:.4} bits/token, tables {}, groups of {} frames, {}), {:.2} s\n",
        totals.segments,
        if totals.segments == 1 { "" } else { "s" },
        totals.tokens,
        totals.bytes,
        destination,
        totals.tokens as f64 * 10.0 / (totals.bytes as f64 * 8.0),
        totals.bytes as f64 * 8.0 / totals.tokens as f64,
        tables.id_hex(),
        args.group_frames,
        super::sections_note(args.sections),
        start.elapsed().as_secs_f64()
    );
    super::print_summary(&summary, on_stdout);
    Ok(())
}

/// The stream of `seg`.
fn encode_segment(encoder: &Encoder<'_>, seg: &Segment) -> Result<Vec<u8>> {
    encoder
        .encode(&seg.tokens)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("segment {}: cannot encode", seg.key))
}

/// One `.npy` INPUT to one stream.
fn encode_file(args: &Args, encoder: &Encoder<'_>, inputs: &mut InputSet) -> Result<(Totals, String, bool)> {
    let fetch = args.remote.fetch();
    let remote = if is_remote(&args.input) { Some(RemoteInput::parse(&args.input)?) } else { None };
    match (&remote, &fetch.cache) {
        (Some(remote), Some(cache)) => inputs.add(&remote.cache_entry(cache)),
        (Some(_), None) => {}
        (None, _) => inputs.add(&args.input),
    }
    let into_folder = !is_dash(&args.output) && args.output.is_dir();
    let out_path = if into_folder {
        if is_dash(&args.input) {
            bail!(
                "{}: is a folder, and a segment read from standard input has no key to name its stream; give \
                 a file name",
                show(&args.output)
            );
        }
        let key = match &remote {
            Some(remote) => remote.key()?,
            None => npy_key(&args.input)?,
        };
        stream_path(&args.output, &key)
    } else {
        args.output.clone()
    };
    let output = Output::plan(&out_path, inputs)?;
    if into_folder {
        eprintln!("note: {} is a folder: writing {}", show(&args.output), output.shown());
    }
    let seg = read_npy_input(&args.input, &fetch)?;
    let stream = encode_segment(encoder, &seg)?;
    let totals = Totals { segments: 1, tokens: seg.tokens.len() as u64, bytes: stream.len() as u64 };
    let (shown, on_stdout) = (output.shown(), output.is_stdout());
    output.write(&stream, inputs)?;
    Ok((totals, shown, on_stdout))
}

/// A folder or shard INPUT to a folder of streams, staged.
fn encode_folder(
    args: &Args,
    encoder: &Encoder<'_>,
    inputs: &mut InputSet,
    workers: &Workers,
) -> Result<(Totals, String, bool)> {
    let selection = Selection { shards: args.shards.clone(), fetch: args.remote.fetch(), ..Selection::default() };
    let mut segments = Segments::open(&[&args.input], &selection)?;
    inputs.extend(segments.files());
    let expected: Vec<String> = segments.known_keys().iter().map(|k| stream_name(k)).collect();
    let out = FolderOutput::plan(&args.output, inputs, &expected)?;
    let bar = progress::segments_bar("encode", segments.len_hint());
    let items = segments.len_hint();
    let mut feed = Feed::new(&mut segments, OnBad::Abort, &bar).unique_keys(&args.input);
    let encoded = workers.run(items, || {
        feed.by_ref()
            .par_bridge()
            .map(|(_, seg)| -> Result<(Totals, Vec<String>)> {
                let stream = encode_segment(encoder, &seg)?;
                let name = stream_name(&seg.key);
                out.write(&name, &stream)?;
                bar.inc(1);
                Ok((Totals { segments: 1, tokens: seg.tokens.len() as u64, bytes: stream.len() as u64 }, vec![name]))
            })
            .try_reduce(
                || (Totals::default(), Vec::new()),
                |(ta, mut na), (tb, nb)| {
                    na.extend(nb);
                    Ok((ta.add(tb), na))
                },
            )
    })?;
    bar.finish_and_clear();
    // The input error (first bad input in order; a shard's checks) first.
    feed.finish()?;
    let (totals, names) = encoded?;
    if totals.segments == 0 {
        bail!("{}: holds no segment", show(&args.input));
    }
    let shown = out.shown();
    out.commit(&names, inputs)?;
    Ok((totals, shown, false))
}

/// `<key>.vqt`.
pub fn stream_name(key: &str) -> String {
    format!("{key}.{STREAM_EXT}")
}

/// `dir/<key>.vqt`.
pub fn stream_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(stream_name(key))
}
