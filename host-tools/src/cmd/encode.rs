//! `host-tools encode`: segments to vqtans streams.
//!
//! One `.npy` file becomes one stream file (or `OUT/<key>.vqt` when OUT is an
//! existing folder); a folder of `.npy` files or a webdataset shard becomes a
//! folder OUT (created if needed) holding one `<key>.vqt` per segment,
//! encoded in parallel. Every file is written atomically and never over an
//! input or the tables. The first bad segment stops the command with an
//! error naming its file (streams already written stay).

use std::collections::HashSet;
use std::num::NonZeroU16;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use rayon::iter::{ParallelBridge, ParallelIterator};
use vqtans::container::DEFAULT_GROUP_FRAMES;
use vqtans::segment::EncodeOptions;

use crate::io::{read_npy_file, write_atomic, InputKind, Segment, Segments, Selection};
use crate::progress;
use crate::tables::{check_frames, TableFile};

/// File extension of stream files.
pub const STREAM_EXT: &str = "vqt";

/// Options of `encode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set to encode with (from `build-tables`).
    #[arg(long, value_name = "TABLES")]
    pub tables: PathBuf,
    /// Output: a stream file for a `.npy` INPUT, a folder for a folder or
    /// shard INPUT.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Frames per checksum group (1..=65535): a decoder verifies the stream group
    /// by group, 4 bytes per group.
    #[arg(long, value_name = "G", default_value_t = DEFAULT_GROUP_FRAMES,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub group_frames: u16,
    /// A `.npy` file, a folder of `.npy` files, or a webdataset shard.
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
pub fn run(args: &Args) -> Result<()> {
    let start = Instant::now();
    let tables = TableFile::load(&args.tables)?;
    let group_frames = NonZeroU16::new(args.group_frames).context("--group-frames must be at least 1")?;
    let encoder = tables.encoder_with(EncodeOptions { group_frames, ..EncodeOptions::default() })?;
    // Never write over the input or the tables.
    let protected = [args.input.as_path(), args.tables.as_path()];
    let encode_one = |seg: &Segment, out: &Path| -> Result<Totals> {
        check_frames(seg)?;
        let stream = encoder
            .encode(&seg.tokens)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("segment {}: cannot encode", seg.key))?;
        write_atomic(out, &stream, &protected)?;
        Ok(Totals { segments: 1, tokens: seg.tokens.len() as u64, bytes: stream.len() as u64 })
    };

    let (totals, destination) = match InputKind::of(&args.input)? {
        InputKind::Npy => {
            let seg = read_npy_file(&args.input)?;
            let out = if args.output.is_dir() { stream_path(&args.output, &seg.key) } else { args.output.clone() };
            (encode_one(&seg, &out)?, out)
        }
        InputKind::Folder | InputKind::Shard => {
            if args.output.exists() && !args.output.is_dir() {
                bail!(
                    "{}: exists and is not a folder (a folder or shard INPUT is encoded to a \
                     folder of streams)",
                    args.output.display()
                );
            }
            std::fs::create_dir_all(&args.output)
                .with_context(|| format!("{}: cannot create folder", args.output.display()))?;
            let segments = Segments::open(&[&args.input], &Selection::default())?;
            let bar = progress::segments_bar("encode", segments.len_hint());
            let mut seen = HashSet::new();
            let input = &args.input;
            let totals = segments
                .map(|item| -> Result<Segment> {
                    let seg = item?;
                    if !seen.insert(seg.key.clone()) {
                        return Err(anyhow!(
                            "{}: two segments have the key {}; their streams would overwrite \
                             each other",
                            input.display(),
                            seg.key
                        ));
                    }
                    Ok(seg)
                })
                .par_bridge()
                .map(|item| -> Result<Totals> {
                    let seg = item?;
                    let totals = encode_one(&seg, &stream_path(&args.output, &seg.key))?;
                    bar.inc(1);
                    Ok(totals)
                })
                .try_reduce(Totals::default, |a, b| Ok(a.add(b)))?;
            bar.finish_and_clear();
            if totals.segments == 0 {
                bail!("{}: holds no segment", args.input.display());
            }
            (totals, args.output.clone())
        }
    };

    println!(
        "encoded {} segment{}, {} tokens -> {} bytes in {} (rate {:.3}, {:.4} bits/token, \
         tables {}, groups of {} frames), {:.2} s",
        totals.segments,
        if totals.segments == 1 { "" } else { "s" },
        totals.tokens,
        totals.bytes,
        destination.display(),
        totals.tokens as f64 * 10.0 / (totals.bytes as f64 * 8.0),
        totals.bytes as f64 * 8.0 / totals.tokens as f64,
        tables.id_hex(),
        args.group_frames,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `dir/<key>.vqt`.
pub fn stream_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.{STREAM_EXT}"))
}
