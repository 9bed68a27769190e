//! `host-tools`: build vqtans table sets, encode and decode commaVQ token
//! segments, verify streams and measure compression.
//!
//! Exit status: 0 on success; 1 on any error (the message names the file
//! concerned), and for `verify` when the stream does not decode to the
//! original; 2 for a usage error, and for `verify` when the check could not
//! be made.

mod cmd;
mod diff;
// A general I/O API: a few items (e.g. `AtomicFile::path`) are not used by
// the commands.
#[allow(dead_code)]
mod io;
mod message;
mod pass;
mod progress;
mod tables;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cmd::verify::Verdict;

/// Lossless compression of commaVQ driving-video tokens with vqtans.
#[derive(Debug, Parser)]
#[command(name = "host-tools", version, about, long_about = None)]
struct Cli {
    /// Worker threads (default: one per CPU).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Learn a table set from segments (two streaming passes).
    BuildTables(cmd::build_tables::Args),
    /// Encode a .npy file to a stream, or a folder/shard to a folder of streams.
    Encode(cmd::encode::Args),
    /// Decode a stream to an int16 (frames, 8, 16) .npy file.
    Decode(cmd::decode::Args),
    /// Check that a stream decodes to exactly an original .npy file
    /// (exit 0 if so, 1 if not, 2 if the check could not be made).
    Verify(cmd::verify::Args),
    /// Encode, decode and compare segments in memory and report the compression.
    Stats(cmd::stats::Args),
    /// Print where each checksum group of a stream lies (frames, payload bits,
    /// file bytes).
    Groups(cmd::groups::Args),
}

/// Exit status for a failed command or a stream that does not verify.
const FAILURE: u8 = 1;
/// Exit status of `verify` when the check could not be made.
const TROUBLE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global() {
            return report(&anyhow::anyhow!("--threads {n}: {e}"), FAILURE);
        }
    }
    let result = match &cli.command {
        Command::BuildTables(args) => cmd::build_tables::run(args),
        Command::Encode(args) => cmd::encode::run(args),
        Command::Decode(args) => cmd::decode::run(args),
        Command::Stats(args) => cmd::stats::run(args),
        Command::Groups(args) => cmd::groups::run(args),
        Command::Verify(args) => {
            return match cmd::verify::run(args) {
                Ok(Verdict::Identical) => ExitCode::SUCCESS,
                Ok(Verdict::Differs(problems)) => {
                    eprintln!("verify FAILED:");
                    for p in problems {
                        eprintln!("  {p}");
                    }
                    ExitCode::from(FAILURE)
                }
                Err(e) => report(&e, TROUBLE),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e, FAILURE),
    }
}

/// Prints `error` with its chain of causes on stderr and returns `code`.
fn report(error: &anyhow::Error, code: u8) -> ExitCode {
    eprintln!("error: {}", message::describe(error));
    ExitCode::from(code)
}
