//! `host-tools ls`: the segments of an archive (from its index only: no stream
//! is read), with their frames, stream bytes and rates, and the totals, then
//! where the bytes of a challenge submission go and the rates they give
//! ([`crate::rate_parts`]). The archive may also be the one inside a
//! submission zip (`ls submission.zip`).

use std::path::PathBuf;

use anyhow::Result;
use vqtans_archive::error::escape;

use crate::archives::{open_any, rate};
use crate::io::show;
use crate::tables::TableFile;

/// Options of `ls`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive, or a challenge submission zip holding one.
    #[arg(value_name = "SPLIT.vqa")]
    pub archive: PathBuf,
}

/// Runs `ls`.
pub fn run(args: &Args) -> Result<()> {
    let (archive, zip) = open_any(&args.archive)?;
    let tables = TableFile::from_blob(archive.tables().blob().to_vec(), &args.archive)?;
    let entries = archive.entries();
    let key_width = entries.iter().map(|e| escape(&e.key).chars().count()).chain([5]).max().unwrap_or(5);
    println!(
        "{}: {} segment{}, {} bytes, table set {} ({}, {} bytes)",
        show(&args.archive),
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        archive.size(),
        tables.id_hex(),
        tables.model_name(),
        tables.blob().len()
    );
    println!("{:<key_width$} {:>7} {:>10} {:>7}  file_name", "key", "frames", "bytes", "rate");
    let (mut frames, mut bytes) = (0u64, 0u64);
    for e in entries {
        let tokens = u64::from(e.frames) * 128;
        println!(
            "{:<key_width$} {:>7} {:>10} {:>7.3}  {}",
            escape(&e.key),
            e.frames,
            e.length,
            rate(tokens, u64::from(e.length)),
            e.file_name.as_deref().map(escape).unwrap_or_else(|| "-".into())
        );
        frames += u64::from(e.frames);
        bytes += u64::from(e.length);
    }
    println!("{}", "-".repeat(key_width + 28));
    println!("{:<key_width$} {:>7} {:>10} {:>7.3}  (streams only)", "TOTAL", frames, bytes, rate(frames * 128, bytes));
    println!(
        "{:<key_width$} {:>7} {:>10} {:>7.3}  (whole archive: table set, index, headers)",
        "",
        "",
        archive.size(),
        rate(frames * 128, archive.size())
    );
    print!("{}", crate::rate_parts::measure(&archive, zip).report());
    Ok(())
}
