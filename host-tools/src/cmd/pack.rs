//! `host-tools pack`: segments to one archive (`.vqa`, format in
//! `codec/FORMAT.md`), or with `--challenge` to a commaVQ compression-challenge
//! submission (a zip holding the archive, a static decoder and `decompress.py`).
//!
//! Inputs are read as a stream (as everywhere: `.npy` files, folders, shards
//! read to their end and checked) and encoded in parallel; the streams are
//! written in input order, with at most a few segments per thread in flight, so
//! memory does not grow with the number of segments (only the index does, about
//! 100 bytes a segment). Keys must be unique, and keys and `.json` `file_name`s
//! plain file names (no `/`, `..`, control characters), and with `--challenge`
//! no segment's output file may be one of the submission's own files
//! ([`challenge::MEMBERS`]): anything else stops the run before the archive
//! appears. The archive (or zip) is written to a
//! temporary file beside the output and renamed over it only when complete.

use std::io::{BufWriter, Seek, Write};
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use vqtans::container::{tokens_crc, DEFAULT_GROUP_FRAMES, DEFAULT_SECTIONS, MAX_SECTIONS};
use vqtans::segment::{EncodeOptions, Encoder};
use vqtans_archive::{ArchiveWriter, NewEntry};

use super::args::SelectionArgs;
use super::build_tables;
use super::challenge;
use crate::archives::rate;
use crate::io::{show, InputSet, Output, Segment, Segments};
use crate::pass::{Feed, OnBad};
use crate::progress;
use crate::tables::TableFile;
use crate::workers::{for_each_ordered, Workers};

/// Options of `pack`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive to write (`-` for standard output); with --challenge, the
    /// zip (a file).
    #[arg(short = 'o', long = "output", value_name = "SPLIT.vqa")]
    pub output: PathBuf,
    /// Table set to encode with (it is embedded in the archive).
    #[arg(long, value_name = "TABLES", required_unless_present = "train", conflicts_with = "train")]
    pub tables: Option<PathBuf>,
    /// Build the table set from the inputs first (as build-tables does; two more
    /// passes over them), and embed it.
    #[arg(long)]
    pub train: bool,
    /// With --train: successor list length K of the context model.
    #[arg(long = "k", value_name = "K", requires = "train", value_parser = build_tables::parse_k)]
    pub k: Option<usize>,
    /// Frames per checksum group (1..=65535).
    #[arg(long, value_name = "G", default_value_t = DEFAULT_GROUP_FRAMES,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub group_frames: u16,
    /// Independent sections per segment (container format 3, 1..=4): the
    /// AVX-512 decoder decodes two at once; 1 writes container format 2. Each
    /// section costs about 0.13% (its first frame is sent raw).
    #[arg(long, value_name = "S", default_value_t = DEFAULT_SECTIONS,
          value_parser = clap::value_parser!(u8).range(1..=MAX_SECTIONS as i64))]
    pub sections: u8,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Write a commaVQ compression-challenge submission: a zip with the archive
    /// (segments named by their `.json` file_name), the static decoder and
    /// decompress.py.
    #[arg(long)]
    pub challenge: bool,
    /// With --challenge: the statically linked decoder to ship (default: the
    /// x86_64-unknown-linux-musl build of vqtans-unpack next to this program's
    /// target folder, or $VQTANS_DECODER).
    #[arg(long, value_name = "PATH", requires = "challenge")]
    pub decoder: Option<PathBuf>,
    /// Input `.npy` files (`-` for one on standard input), folders of `.npy`
    /// files, or webdataset shards (`.json` members give the file names).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// What was packed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Packed {
    /// Segments in the archive.
    pub segments: u64,
    /// Their tokens.
    pub tokens: u64,
    /// Bytes of their streams.
    pub stream_bytes: u64,
    /// Bytes of the whole archive.
    pub archive_bytes: u64,
}

/// Runs `pack`.
pub fn run(args: &Args, workers: &Workers) -> Result<()> {
    let start = Instant::now();
    if args.challenge && crate::io::is_dash(&args.output) {
        return Err(super::usage("pack --challenge writes a zip, which needs a file: give -o submission.zip"));
    }
    let selection = args.selection.selection()?;
    let segments = Segments::open(&args.inputs, &selection)?;
    if args.train && segments.reads_stdin() {
        return Err(super::usage(
            "pack --train reads its inputs three times, so `-` (standard input) cannot be one of them",
        ));
    }
    let mut inputs = InputSet::new();
    inputs.extend(segments.files());
    if let Some(tables) = &args.tables {
        inputs.add(tables);
    }
    let decoder = match args.challenge {
        true => Some(challenge::Decoder::find(args.decoder.as_deref())?),
        false => None,
    };
    if let Some(decoder) = &decoder {
        inputs.add(&decoder.path);
    }
    let output = Output::plan(&args.output, &inputs)?;
    if args.challenge && output.is_stdout() {
        // `-o /dev/stdout` and the like.
        return Err(super::usage("pack --challenge writes a zip, which needs a file: give -o submission.zip"));
    }
    let (tables, tables_note) = match &args.tables {
        Some(path) => (TableFile::load(path)?, format!("tables {}", show(path))),
        None => {
            let train_args = build_tables::Args {
                output: PathBuf::new(),
                selection: args.selection.clone(),
                k: args.k.unwrap_or(vqtans::model::context::train::TrainConfig::default().k),
                order0: false,
                max_bytes: None,
                skip_bad: false,
                inputs: args.inputs.clone(),
            };
            let (blob, note) = build_tables::train(&train_args, workers)?;
            (TableFile::from_blob(blob, Path::new("the trained table set"))?, note)
        }
    };
    let group_frames = NonZeroU16::new(args.group_frames).context("--group-frames must be at least 1")?;
    let encoder =
        tables.encoder_with(EncodeOptions { group_frames, sections: args.sections, ..EncodeOptions::default() })?;
    let job = Job { args, encoder: &encoder, workers, keep_json: !args.challenge };

    let on_stdout = output.is_stdout();
    let mut stream = output.stream(&inputs)?;
    let shown = stream.shown();
    let summary = if let Some(decoder) = decoder {
        // The archive goes to an unnamed temporary beside the output (gone
        // whatever happens), then into the zip.
        let folder = match args.output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = tempfile::tempfile_in(&folder).map_err(|e| stream.error(e))?;
        let (temp, packed) = job.pack(segments, BufWriter::with_capacity(1 << 20, temp), &tables, "the archive")?;
        let mut temp = temp.into_inner().map_err(|e| stream.error(e.into_error()))?;
        temp.rewind().map_err(|e| stream.error(e))?;
        let zipped = challenge::write_zip(&mut stream, &mut temp, &decoder).map_err(|e| stream.error(e))?;
        stream.commit(&inputs)?;
        challenge::summary(&packed, &zipped, &shown)
    } else {
        let (mut stream, packed) = job.pack(segments, stream, &tables, &shown)?;
        stream.flush().map_err(|e| stream.error(e))?;
        stream.commit(&inputs)?;
        format!(
            "packed {} segment{}, {} tokens -> {} ({} bytes: {} of streams, rate {:.3} with the table set and \
             index, {:.3} without)\n",
            packed.segments,
            if packed.segments == 1 { "" } else { "s" },
            packed.tokens,
            shown,
            packed.archive_bytes,
            packed.stream_bytes,
            rate(packed.tokens, packed.archive_bytes),
            rate(packed.tokens, packed.stream_bytes),
        )
    };
    super::print_summary(&summary, on_stdout);
    super::print_summary(
        &format!(
            "table set {} ({}; {}), groups of {} frames, {}, {:.2} s\n",
            tables.id_hex(),
            tables.model_name(),
            tables_note,
            args.group_frames,
            super::sections_note(args.sections),
            start.elapsed().as_secs_f64()
        ),
        on_stdout,
    );
    Ok(())
}

/// An encode pass into an archive.
struct Job<'a> {
    args: &'a Args,
    encoder: &'a Encoder<'a>,
    workers: &'a Workers,
    keep_json: bool,
}

/// A segment ready for the archive.
struct Encoded {
    entry: NewEntry,
    tokens: u64,
    tokens_crc: u32,
    stream: Vec<u8>,
}

impl Job<'_> {
    /// Encodes `segments` in parallel into an archive written to `out` (named
    /// `name` in messages); returns `out` and the figures.
    fn pack<W: Write>(&self, mut segments: Segments, out: W, tables: &TableFile, name: &str) -> Result<(W, Packed)> {
        let bar = progress::segments_bar("pack", segments.len_hint());
        let mut writer = ArchiveWriter::new(out, name, tables.blob())?;
        let pool = self.workers.pool(None)?;
        let window = 2 * pool.current_num_threads() + 2;
        // Duplicate keys are refused by the writer, naming the archive and the key.
        let mut feed = Feed::new(&mut segments, OnBad::Abort, &bar);
        let mut packed = Packed::default();
        let written = for_each_ordered(
            &pool,
            feed.by_ref().map(|(_, seg)| seg),
            window,
            |seg| self.encode(seg),
            |encoded: Result<Encoded>| -> Result<()> {
                let e = encoded?;
                packed.segments += 1;
                packed.tokens += e.tokens;
                packed.stream_bytes += e.stream.len() as u64;
                writer.add(e.entry, e.tokens_crc, &e.stream)?;
                bar.inc(1);
                Ok(())
            },
        );
        bar.finish_and_clear();
        // The input error (first bad input in order; a shard's checks) first.
        feed.finish()?;
        written?;
        self.args.selection.check_only_matched(&segments)?;
        if packed.segments == 0 {
            bail!("no segment in the inputs (after --limit/--exclude/--only)");
        }
        let (out, size) = writer.finish()?;
        packed.archive_bytes = size;
        Ok((out, packed))
    }

    fn encode(&self, seg: Segment) -> Result<Encoded> {
        let file_name = seg.file_name().map_err(|why| anyhow::anyhow!("segment {}: {why}", seg.key))?;
        if self.args.challenge {
            let output = file_name.clone().unwrap_or_else(|| format!("{}.npy", seg.key));
            challenge::check_output_name(&output).map_err(|why| anyhow::anyhow!("segment {}: {why}", seg.key))?;
        }
        let stream = self
            .encoder
            .encode(&seg.tokens)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("segment {}: cannot encode", seg.key))?;
        Ok(Encoded {
            tokens: seg.tokens.len() as u64,
            tokens_crc: tokens_crc(&seg.tokens),
            entry: NewEntry { key: seg.key, file_name, json: if self.keep_json { seg.json } else { None } },
            stream,
        })
    }
}
