//! `host-tools`: build vqtans table sets, encode and decode commaVQ token
//! segments, verify streams and measure compression.
//!
//! Exit status: 0 only when every output is complete and right; 1 on any
//! error (one line on stderr naming the file, the member where there is one,
//! and the problem), and for `verify` when the stream does not decode to the
//! original; 2 for a usage error, and for `verify` when the check could not
//! be made; 101 for an internal error (a bug: one line, no backtrace); 128 +
//! the signal number when stopped by SIGINT, SIGTERM or SIGHUP (130, 143,
//! 129), after removing the run's temporary files. A failed or interrupted
//! run leaves no output behind and never modifies an input.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use host_tools::cmd::verify::Verdict;
use host_tools::workers::{Workers, MAX_THREADS};
use host_tools::{cmd, io, message};

/// Lossless compression of commaVQ driving-video tokens with vqtans.
#[derive(Debug, Parser)]
#[command(name = "host-tools", version, about, long_about = None)]
struct Cli {
    /// Worker threads, 1..=256 (default: one per CPU; never more than there
    /// are segments when their number is known up front).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_THREADS)))]
    threads: Option<u16>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Learn a table set from segments (two streaming passes).
    BuildTables(cmd::build_tables::Args),
    /// Encode a .npy file to a stream, or a folder/shard to a folder of streams.
    Encode(cmd::encode::Args),
    /// Decode a stream to an int16 (frames, 8, 16) .npy file, or streams and
    /// folders of them to a folder of <key>.npy files.
    Decode(cmd::decode::Args),
    /// Check that a stream decodes to exactly an original .npy file
    /// (exit 0 if so, 1 if not, 2 if the check could not be made).
    Verify(cmd::verify::Args),
    /// Encode, decode and compare segments in memory and report the compression.
    Stats(cmd::stats::Args),
    /// Print where each checksum group of a stream lies (frames, payload bits,
    /// file bytes).
    Groups(cmd::groups::Args),
    /// Encode segments into one archive (.vqa) with its table set and an index,
    /// or with --challenge into a commaVQ compression-challenge submission zip.
    Pack(cmd::pack::Args),
    /// Write segments as one webdataset shard (<key>.json + <key>.token.npy
    /// each), the reference a challenge submission is checked against.
    Shard(cmd::shard::Args),
    /// List the segments of an archive (from its index).
    Ls(cmd::ls::Args),
    /// Write one segment of an archive, or frames A..B of it, as a .npy file.
    Get(cmd::get::Args),
    /// Write every segment of an archive as .npy files (or webdataset shards).
    Unpack(cmd::unpack::Args),
    /// Send streams to a device running the firmware's streaming mode (serial
    /// port, pty, Unix socket or TCP) and compare the verified frames it
    /// sends back with the originals.
    Link(cmd::link::Args),
    /// Print a table set's model parameters and device footprint (table set
    /// plus compiled decode image).
    TablesInfo(cmd::tables_info::Args),
}

/// Exit status for a failed command or a stream that does not verify.
const FAILURE: u8 = 1;
/// Exit status of `verify` when the check could not be made.
const TROUBLE: u8 = 2;
/// Exit status for a usage error (as clap's own).
const USAGE: u8 = 2;

/// Has glibc's malloc keep freed memory for the next segment instead of
/// handing it back to the kernel: each segment allocates a few MB of buffers
/// (tokens, model operations, the stream), and with glibc's defaults every one
/// is a fresh `mmap` whose pages fault in zeroed, about a fifth of `pack`'s CPU
/// time (185,000 page faults for 200 segments; 3,400 with this). Peak memory is
/// unchanged (only memory that was in use is kept); it is no longer trimmed
/// between segments.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets malloc parameters; it runs before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

/// Other C libraries keep their defaults.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> ExitCode {
    keep_freed_memory();
    message::install_panic_hook();
    let cli = Cli::parse();
    if let Err(e) = io::temporaries::install_signal_handlers() {
        return report(&anyhow::anyhow!("cannot install signal handlers: {e}"), FAILURE);
    }
    let workers = Workers::new(cli.threads);
    let result = match &cli.command {
        Command::BuildTables(args) => cmd::build_tables::run(args, &workers),
        Command::Encode(args) => cmd::encode::run(args, &workers),
        Command::Decode(args) => cmd::decode::run(args, &workers),
        Command::Stats(args) => cmd::stats::run(args, &workers),
        Command::Groups(args) => cmd::groups::run(args),
        Command::Pack(args) => cmd::pack::run(args, &workers),
        Command::Shard(args) => cmd::shard::run(args),
        Command::Ls(args) => cmd::ls::run(args),
        Command::Get(args) => cmd::get::run(args),
        Command::Unpack(args) => cmd::unpack::run(args, &workers),
        Command::TablesInfo(args) => cmd::tables_info::run(args),
        Command::Link(args) => cmd::link::run(args),
        Command::Verify(args) => {
            return match cmd::verify::run(args, &workers) {
                Ok(Verdict::Identical) => ExitCode::SUCCESS,
                Ok(Verdict::Differs(problems)) => {
                    eprintln!("verify FAILED: {}", message::escape_controls(&problems.join("; ")));
                    ExitCode::from(FAILURE)
                }
                Err(e) => report(&e, TROUBLE),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<cmd::UsageError>() => report(&e, USAGE),
        Err(e) => report(&e, FAILURE),
    }
}

/// Prints `error` with its chain of causes on stderr, as one line, and
/// returns `code`.
fn report(error: &anyhow::Error, code: u8) -> ExitCode {
    eprintln!("error: {}", message::escape_controls(&message::describe(error)));
    ExitCode::from(code)
}
