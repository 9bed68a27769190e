//! `host-tools stats`: compression figures of a table set on segments.
//!
//! Every segment is encoded in memory (in parallel), decoded again and
//! compared with the original, so the figures are known to be lossless.
//! Reported per segment and in total: frames, tokens, stream bytes (the
//! whole stream, 32-byte header included), the rate on a 10-bit basis
//! (`tokens * 10 / (bytes * 8)`), bits per token, and bits per token split
//! by model part. The part `overhead` is what no model part accounts for:
//! the header, the coder's initial states and the final byte padding, so the
//! parts add up to the total. The table set's device footprint (blob plus
//! compiled decode image) heads the report. The text report fits 100
//! columns, parts summed into groups (class symbols; successor offset;
//! escaped tokens; order-0 tokens; frame 0, group checks and overhead);
//! `--wide` gives every part (and the tokens) a column of its own.
//!
//! `stats SPLIT.vqa` measures an archive instead (told apart by its first
//! bytes; it holds its own tables): every segment is decoded in parallel and
//! verified, and the report gives per segment and in total the frames, tokens,
//! stream bytes, rate and bits per token, the whole archive's rate (table set
//! and index included), where the bytes of a challenge submission go
//! ([`crate::rate_parts`]: zip, decoder, table set, streams, the projection
//! to 5,000 segments) and the decode speed. A challenge submission zip is
//! measured through the archive inside it. Per-part figures need the
//! encoder's view and are only given for segments encoded by `stats` itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::iter::{ParallelBridge, ParallelIterator};
use serde_json::json;
use vqtans::model::context::encode::Part;
use vqtans::table_set::TableSetRef;

use super::args::SelectionArgs;
use crate::archives::{is_archive, open_any};
use crate::diff::first_difference;
use crate::io::{show, Segments};
use crate::pass::{Feed, OnBad};
use crate::progress;
use crate::tables::TableFile;
use crate::workers::Workers;

/// Options of `stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set to measure (not for an archive, which holds its own).
    #[arg(long, value_name = "TABLES")]
    pub tables: Option<PathBuf>,
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Print every model part in its own column (and the tokens column);
    /// without it the table fits 100 columns, parts grouped.
    #[arg(long)]
    pub wide: bool,
    /// Input `.npy` files (`-` for one on standard input), folders of `.npy`
    /// files, or webdataset shards; or http://, https:// or hf:// URLs of
    /// `.npy` files or shards (bases ending in `/` with --shards); or one
    /// archive.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Figures of one segment, or of a total.
#[derive(Debug, Clone, Default)]
struct Figures {
    key: String,
    segments: u64,
    frames: u64,
    tokens: u64,
    bytes: u64,
    /// Payload bits per model part.
    parts: BTreeMap<Part, u64>,
}

impl Figures {
    fn bits(&self) -> u64 {
        self.bytes * 8
    }
    /// Bits no model part accounts for (header, initial states, padding).
    fn overhead_bits(&self) -> u64 {
        self.bits().saturating_sub(self.parts.values().sum())
    }
    /// `tokens * 10 / bits`: the compression rate against 10-bit tokens.
    fn rate(&self) -> f64 {
        self.tokens as f64 * 10.0 / self.bits() as f64
    }
    fn per_token(&self, bits: u64) -> f64 {
        bits as f64 / self.tokens as f64
    }
    fn add(&mut self, other: &Figures) {
        self.segments += other.segments;
        self.frames += other.frames;
        self.tokens += other.tokens;
        self.bytes += other.bytes;
        for (&part, &bits) in &other.parts {
            *self.parts.entry(part).or_default() += bits;
        }
    }
    fn to_json(&self) -> serde_json::Value {
        let mut parts = serde_json::Map::new();
        for (&part, &bits) in &self.parts {
            parts.insert(part.name().to_string(), json!({ "bits": bits, "bits_per_token": self.per_token(bits) }));
        }
        let overhead = self.overhead_bits();
        parts.insert("overhead".to_string(), json!({ "bits": overhead, "bits_per_token": self.per_token(overhead) }));
        json!({
            "key": self.key,
            "segments": self.segments,
            "frames": self.frames,
            "tokens": self.tokens,
            "bytes": self.bytes,
            "rate": self.rate(),
            "bits_per_token": self.per_token(self.bits()),
            "parts": parts,
        })
    }
}

/// Runs `stats`. Nothing is printed unless every input was read to its end
/// (every shard checked) and every segment round-tripped.
pub fn run(args: &Args, workers: &Workers) -> Result<()> {
    let start = Instant::now();
    if let [archive] = &args.inputs[..] {
        if is_archive(archive) || crate::rate_parts::is_zip(archive) {
            if args.tables.is_some() {
                return Err(super::usage(format!(
                    "{}: an archive holds its own table set; leave out --tables",
                    show(archive)
                )));
            }
            return archive_stats(args, archive, workers);
        }
    }
    let Some(tables_path) = &args.tables else {
        return Err(super::usage("stats needs --tables for segments (only an archive holds its own table set)"));
    };
    let selection = args.selection.selection()?;
    let tables = TableFile::load(tables_path)?;
    let encoder = tables.encoder()?;
    let mut segments = Segments::open(&args.inputs, &selection)?;
    let bar = progress::segments_bar("stats", segments.len_hint());
    let items = segments.len_hint();
    let mut feed = Feed::new(&mut segments, OnBad::Abort, &bar);

    let rows = workers.run(items, || {
        feed.by_ref()
            .par_bridge()
            .map(|(index, seg)| -> Result<(usize, Figures)> {
                let (stream, parts) = encoder
                    .encode_with_stats(&seg.tokens)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("segment {}: cannot encode", seg.key))?;
                let decoded = tables
                    .decode(&stream, Path::new(&format!("{} (stream in memory)", seg.key)))
                    .context("round trip failed")?;
                if decoded.len() != seg.tokens.len() {
                    bail!(
                        "segment {}: round trip failed: {} tokens decoded, {} expected",
                        seg.key,
                        decoded.len(),
                        seg.tokens.len()
                    );
                }
                if let Some(d) = first_difference(&decoded, &seg.tokens, 0) {
                    bail!("segment {}: round trip failed: {d}", seg.key);
                }
                bar.inc(1);
                Ok((
                    index,
                    Figures {
                        key: seg.key,
                        segments: 1,
                        frames: seg.frames as u64,
                        tokens: seg.tokens.len() as u64,
                        bytes: stream.len() as u64,
                        parts,
                    },
                ))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    feed.finish()?;
    let mut rows = rows?;
    bar.finish_and_clear();
    args.selection.check_only_matched(&segments)?;
    if rows.is_empty() {
        bail!("no segment in the inputs (after --limit/--exclude/--only)");
    }
    rows.sort_by_key(|(index, _)| *index);
    let rows: Vec<Figures> = rows.into_iter().map(|(_, f)| f).collect();
    let mut total = Figures { key: "TOTAL".to_string(), ..Figures::default() };
    for row in &rows {
        total.add(row);
    }

    if args.json {
        let doc = json!({
            "tables": {
                "path": show(tables.path()),
                "id": tables.id_hex(),
                "model": tables.model_name(),
                "footprint": footprint_json(&tables.set()),
            },
            "segments": rows.iter().map(Figures::to_json).collect::<Vec<_>>(),
            "total": total.to_json(),
            "lossless_verified": true,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        if args.wide {
            print_wide_table(&tables, &rows, &total);
        } else {
            print_table(&tables, &rows, &total);
        }
        println!(
            "{} segment{} encoded, decoded and compared: all lossless ({:.2} s)",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The device footprint of `set` as JSON: bytes of the blob, of the compiled image,
/// their sum and the entry width.
pub fn footprint_json(set: &TableSetRef<'_>) -> serde_json::Value {
    json!({
        "bytes": set.device_footprint(),
        "table_set_bytes": set.blob_len(),
        "image_bytes": set.compiled_bytes(),
        "entry_bits": 8 * set.entry_width().bytes(),
    })
}

/// The header lines of the text report: the table set and its footprint.
fn print_tables_header(tables: &TableFile) {
    println!("tables {} ({}, id {})", show(tables.path()), tables.model_name(), tables.id_hex());
    println!("footprint {}", tables.footprint_summary());
}

/// A column of the default report: a name and the model parts whose bits it
/// sums (`overhead` included when `overhead` is set).
struct Group {
    name: &'static str,
    parts: &'static [Part],
    overhead: bool,
}

/// The part groups of the default report, in order; a group none of whose
/// parts occur is left out, except `other` (which holds the overhead).
const GROUPS: [Group; 5] = [
    Group {
        name: "class",
        parts: &[Part::ClassCopy, Part::ClassOwn, Part::ClassSuccessor, Part::ClassEscape],
        overhead: false,
    },
    Group { name: "offset", parts: &[Part::SuccessorOffset], overhead: false },
    Group { name: "escaped", parts: &[Part::EscapeToken], overhead: false },
    Group { name: "order0", parts: &[Part::Order0], overhead: false },
    Group { name: "other", parts: &[Part::FirstFrame, Part::GroupCheck], overhead: true },
];

/// Keys longer than this go on a line of their own in the default report,
/// so its lines stay within 100 columns.
const KEY_COLUMN: usize = 24;

/// The default text report, within 100 columns: one line per segment, then
/// the total; model parts summed into the groups of [`GROUPS`] (`--wide`
/// prints each part).
fn print_table(tables: &TableFile, rows: &[Figures], total: &Figures) {
    print_tables_header(tables);
    let groups: Vec<&Group> =
        GROUPS.iter().filter(|g| g.overhead || g.parts.iter().any(|p| total.parts.contains_key(p))).collect();
    let key_width = rows.iter().map(|r| r.key.len()).chain([total.key.len(), 3]).max().unwrap_or(5).min(KEY_COLUMN);
    let mut header = format!("{:<key_width$} {:>7} {:>10} {:>7} {:>8}", "key", "frames", "bytes", "rate", "bits/tok");
    for g in &groups {
        header.push_str(&format!(" {:>8}", g.name));
    }
    println!("{header}");
    for (i, row) in rows.iter().chain([total]).enumerate() {
        if i == rows.len() {
            println!("{}", "-".repeat(header.len()));
        }
        let key = if row.key.len() > key_width {
            println!("{}", row.key);
            ""
        } else {
            row.key.as_str()
        };
        let mut line = format!(
            "{:<key_width$} {:>7} {:>10} {:>7.3} {:>8.4}",
            key,
            row.frames,
            row.bytes,
            row.rate(),
            row.per_token(row.bits())
        );
        for g in &groups {
            let bits: u64 = g.parts.iter().filter_map(|p| row.parts.get(p)).sum::<u64>()
                + if g.overhead { row.overhead_bits() } else { 0 };
            line.push_str(&format!(" {:>8.4}", row.per_token(bits)));
        }
        println!("{line}");
    }
    println!("(part columns are bits per token; they add up to bits/tok)");
    println!("(class: the class symbols; other: frame 0, group checks, overhead; --wide: every part)");
}

/// The `--wide` text report: one line per segment, then the total; every
/// model part in its own column.
fn print_wide_table(tables: &TableFile, rows: &[Figures], total: &Figures) {
    print_tables_header(tables);
    let parts: Vec<Part> = total.parts.keys().copied().collect();
    let key_width = rows.iter().map(|r| r.key.len()).chain([total.key.len(), 3]).max().unwrap_or(5);
    let part_names: Vec<&str> = parts.iter().map(|p| p.name()).chain(["overhead"]).collect();
    let mut header = format!(
        "{:<key_width$} {:>7} {:>10} {:>10} {:>7} {:>8}",
        "key", "frames", "tokens", "bytes", "rate", "bits/tok"
    );
    for name in &part_names {
        header.push_str(&format!(" {:>w$}", name, w = name.len().max(8)));
    }
    println!("{header}");
    let rule = "-".repeat(header.len());
    for (i, row) in rows.iter().chain([total]).enumerate() {
        if i == rows.len() {
            println!("{rule}");
        }
        let mut line = format!(
            "{:<key_width$} {:>7} {:>10} {:>10} {:>7.3} {:>8.4}",
            row.key,
            row.frames,
            row.tokens,
            row.bytes,
            row.rate(),
            row.per_token(row.bits())
        );
        let values = parts.iter().map(|p| row.parts.get(p).copied().unwrap_or(0)).chain([row.overhead_bits()]);
        for (name, bits) in part_names.iter().zip(values) {
            line.push_str(&format!(" {:>w$.4}", row.per_token(bits), w = name.len().max(8)));
        }
        println!("{line}");
    }
    println!("(part columns are bits per token; they add up to bits/tok)");
}

/// `stats SPLIT.vqa`: every segment decoded and verified; figures from the index.
fn archive_stats(args: &Args, path: &Path, workers: &Workers) -> Result<()> {
    use rayon::iter::IntoParallelIterator;
    let start = Instant::now();
    let (archive, zip) = open_any(path)?;
    let tables = TableFile::from_blob(archive.tables().blob().to_vec(), path)?;
    let parts = crate::rate_parts::measure(&archive, zip);
    let selection = args.selection.selection()?;
    let wanted: Vec<usize> = archive
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            !selection.exclude.contains(&e.key) && (selection.only.is_empty() || selection.only.contains(&e.key))
        })
        .map(|(i, _)| i)
        .take(selection.limit.unwrap_or(usize::MAX))
        .collect();
    for key in &selection.only {
        archive.find(key)?;
    }
    let reader = archive.reader();
    let decode_start = Instant::now();
    let results: Vec<Result<(), vqtans_archive::ArchiveError>> = workers
        .run(Some(wanted.len()), || wanted.clone().into_par_iter().map(|i| reader.decode(i).map(drop)).collect())?;
    let decode_secs = decode_start.elapsed().as_secs_f64();
    let failures: Vec<String> = results.into_iter().filter_map(|r| r.err().map(|e| e.to_string())).collect();
    if !failures.is_empty() {
        bail!("{} segment(s) did not verify: {}", failures.len(), failures.join("; "));
    }
    let rows: Vec<Figures> = wanted
        .iter()
        .map(|&i| {
            let e = &archive.entries()[i];
            Figures {
                key: e.key.clone(),
                segments: 1,
                frames: u64::from(e.frames),
                tokens: u64::from(e.frames) * 128,
                bytes: u64::from(e.length),
                parts: BTreeMap::new(),
            }
        })
        .collect();
    let mut total = Figures { key: "TOTAL".to_string(), ..Figures::default() };
    rows.iter().for_each(|r| total.add(r));
    let whole_rate = total.tokens as f64 * 10.0 / (archive.size() as f64 * 8.0);
    let speed = total.tokens as f64 / decode_secs / 1e6;
    if args.json {
        let strip = |f: &Figures| {
            let mut v = f.to_json();
            if let Some(o) = v.as_object_mut() {
                o.remove("parts");
            }
            v
        };
        let doc = json!({
            "archive": { "path": show(path), "bytes": archive.size(), "rate": whole_rate },
            "tables": { "id": tables.id_hex(), "model": tables.model_name(), "bytes": tables.blob().len() },
            "segments": rows.iter().map(strip).collect::<Vec<_>>(),
            "total": strip(&total),
            "parts": parts.to_json(),
            "decode_m_tokens_per_s": speed,
            "lossless_verified": true,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("archive {} ({} bytes), tables {} ({})", show(path), archive.size(), tables.id_hex(), tables.model_name());
    let key_width = rows.iter().map(|r| r.key.len()).chain([5]).max().unwrap_or(5);
    let header = format!(
        "{:<key_width$} {:>7} {:>10} {:>10} {:>7} {:>8}",
        "key", "frames", "tokens", "bytes", "rate", "bits/tok"
    );
    println!("{header}");
    for (i, row) in rows.iter().chain([&total]).enumerate() {
        if i == rows.len() {
            println!("{}", "-".repeat(header.len()));
        }
        println!(
            "{:<key_width$} {:>7} {:>10} {:>10} {:>7.3} {:>8.4}",
            vqtans_archive::error::escape(&row.key),
            row.frames,
            row.tokens,
            row.bytes,
            row.rate(),
            row.per_token(row.bits())
        );
    }
    println!("whole archive (table set, index and headers included): rate {whole_rate:.3}");
    print!("{}", parts.report());
    println!(
        "{} segment{} decoded and verified ({speed:.0} M tokens/s on {} threads; {:.2} s in all)",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        workers.count(Some(rows.len())),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
