//! `host-tools groups`: where each checksum group of a stream lies, for tools
//! and tests that damage a chosen group (the firmware's `uart-corrupt` case).
//!
//! One line per group: `group G frames A..B bits S..E bytes X..Y`, where
//! `S..E` are the group's payload bits (its frames, then its 32-bit checksum;
//! group 0 also holds the coder's initial states) and `X..Y` the stream-file
//! bytes holding them (header included in the offsets). The stream must
//! decode and verify.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use vqtans::container::HEADER_LEN;

use crate::io::show;
use crate::tables::{read_stream, TableFile};

/// Options of `groups`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Table set the stream was encoded with.
    #[arg(long, value_name = "TABLES")]
    pub tables: PathBuf,
    /// The stream.
    #[arg(value_name = "STREAM")]
    pub stream: PathBuf,
}

/// Runs `groups`.
pub fn run(args: &Args) -> Result<()> {
    let tables = TableFile::load(&args.tables)?;
    let stream = read_stream(&args.stream)?;
    let mut decoder = tables.decoder(&stream).map_err(|e| tables.explain(e, &args.stream))?;
    let header = *decoder.header();
    let mut frame = [0u16; 128];
    let mut lines = Vec::new();
    let (mut first, mut start) = (0u32, 0usize);
    for f in 0..header.frames {
        decoder.next_frame(&mut frame).map_err(|e| fail_in(&args.stream, decoder.current_group(), e))?;
        if f + 1 == header.frames || (f + 1) % header.group_frames() == 0 {
            let end = decoder.consumed_bits();
            lines.push(format!(
                "group {} frames {first}..{} bits {start}..{end} bytes {}..{}",
                header.group_of(f),
                f + 1,
                HEADER_LEN + start / 8,
                HEADER_LEN + end.div_ceil(8)
            ));
            (first, start) = (f + 1, end);
        }
    }
    decoder.finish().map_err(|e| fail_in(&args.stream, decoder.current_group(), e))?;
    let sections = match header.sections() {
        1 => String::new(),
        n => format!(", {n} sections"),
    };
    println!(
        "{}: container format {}, {} frames in {} group(s) of {} frames{sections}",
        show(&args.stream),
        header.version(),
        header.frames,
        header.groups(),
        header.group_frames()
    );
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// A decode error of `stream` in group `group`.
fn fail_in(stream: &std::path::Path, group: u32, e: vqtans::Error) -> anyhow::Error {
    anyhow!("{}: group {group}: {e}", show(stream))
}
