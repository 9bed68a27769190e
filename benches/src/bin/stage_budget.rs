//! Where the AVX2 and AVX-512 kernels' cycles go: each stage of their row loops timed
//! on its own.
//!
//! ```text
//! cargo run --release -p vqtans-benches --bin stage_budget -- [--reps N] [--rows N] [FILES...]
//! ```
//!
//! Each FILE (default: the two real segments in `shared/data/commavq`) is coded with
//! tables trained on the other files (leave-one-out, as `compare` does), and
//! `vqtans::simd::budget::avx2` times every stage of the AVX2 kernel's row loop on
//! the inputs that decoding it gives (see that module); where the CPU has AVX-512
//! F/BW/VL/VBMI, `vqtans::simd::budget::avx512` does the same for the AVX-512
//! kernel, and its table follows the file's AVX2 table. A table gives TSC ticks per
//! row of 16 tokens: the median over `--reps N` interleaved repetitions (default
//! 21) with the lowest and highest, the median per token, and the share of the
//! whole decode (`decode_into_with(DecodePath::Avx2, ..)`, or `Avx512`, per row of
//! the stream). The per-row stage loops run over the first `--rows N` recorded rows
//! (default 1024, 0: all; see `budget::Config::rows`). The parts (a to h3) are
//! each stage's cost alone; they overlap in the real loop, so their sum exceeds the
//! kernel's frames timed as one ("frame"). "h3 + h4" is the whole minus "frame":
//! what the group checksum, the driver loop, opening the stream and its scalar tail
//! add. The latency lines are dependent-chain figures, not parts of the sum. The
//! CPU's name and the TSC's rate are printed first. x86-64 only.

use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(target_arch = "x86_64")]
fn main() -> ExitCode {
    use std::time::Instant;
    use vqtans::segment::{EncodeOptions, Encoder};
    use vqtans::simd::budget::{self, Config};
    use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
    use vqtans_benches::{leave_one_out_blobs, read_npy, real_segment_paths};

    let mut config = Config::default();
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--reps" {
            match args.next().and_then(|n| n.to_str().and_then(|n| n.parse::<usize>().ok())).filter(|&n| n > 0) {
                Some(n) => config.reps = n,
                None => {
                    eprintln!("error: --reps takes a positive number");
                    return ExitCode::from(2);
                }
            }
        } else if arg == "--rows" {
            match args.next().and_then(|n| n.to_str().and_then(|n| n.parse::<usize>().ok())) {
                Some(n) => config.rows = n,
                None => {
                    eprintln!("error: --rows takes a number (0: all)");
                    return ExitCode::from(2);
                }
            }
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    if paths.is_empty() {
        paths = real_segment_paths();
    }
    let mut segments = Vec::new();
    for p in &paths {
        match read_npy(p) {
            Ok(t) => segments.push(t),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    // The TSC's rate against the wall clock.
    let (c0, t0) = (tsc(), Instant::now());
    std::thread::sleep(std::time::Duration::from_millis(100));
    let rate = tsc().wrapping_sub(c0) as f64 / t0.elapsed().as_nanos() as f64;
    println!("CPU: {} (TSC {rate:.3} ticks/ns)", cpu_name());
    println!(
        "{} interleaved repetitions; stage loops over the first {} recorded rows (0: all); tables leave-one-out",
        config.reps, config.rows
    );
    let blobs = leave_one_out_blobs(&segments);
    for ((path, tokens), blob) in paths.iter().zip(&segments).zip(&blobs) {
        let set = TableSetRef::from_bytes(blob).expect("tables");
        let tables = OwnedDecodeTables::new(&set).expect("tables");
        // One section (container format 2): the stages are those of one chain of
        // rows; how two sections decoded together fare is `compare`'s figure.
        let one_section = EncodeOptions { sections: 1, ..EncodeOptions::default() };
        let stream = Encoder::with_options(&set, one_section).and_then(|e| e.encode(tokens)).expect("vqtans encode");
        let b = match budget::avx2(&stream, &set, tables.view(), config) {
            Ok(Some(b)) => b,
            Ok(None) => {
                eprintln!("{}: the AVX2 kernel does not run here (no AVX2, or it declines the set)", path.display());
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        };
        print_budget(path, &b);
        if !vqtans::simd::avx512_available() {
            continue;
        }
        match budget::avx512(&stream, &set, tables.view(), config) {
            Ok(Some(b)) => print_budget(path, &b),
            Ok(None) => println!("\n{}: the AVX-512 kernel declines the set", path.display()),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

#[cfg(not(target_arch = "x86_64"))]
fn main() -> ExitCode {
    let _: Vec<PathBuf> = Vec::new();
    eprintln!("stage_budget times the AVX2 and AVX-512 kernels: x86-64 only");
    ExitCode::FAILURE
}

/// Prints one kernel's budget table for the file at `path`.
#[cfg(target_arch = "x86_64")]
fn print_budget(path: &std::path::Path, b: &vqtans::simd::budget::Budget) {
    use vqtans::simd::budget::Measure;
    let whole = b.stages.iter().find(|s| s.measure == Measure::Whole).map_or(f64::NAN, |s| s.median);
    println!();
    println!(
        "{}: {} kernel, {} kernel rows of {} ({}context map)",
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        b.kernel,
        b.kernel_rows,
        b.stream_rows,
        if b.context_map { "" } else { "no " }
    );
    println!("{:<42} {:>22} {:>11} {:>7}", "stage", "ticks/row (low-high)", "ticks/token", "share");
    for s in &b.stages {
        if s.measure == Measure::Latency {
            // The latencies are not shares of the whole.
            println!(
                "{:<42} {:>22} {:>11.3} {:>7}",
                s.name,
                format!("{:.1} ({:.1}-{:.1})", s.median, s.low, s.high),
                s.median / 16.0,
                "-"
            );
            continue;
        }
        println!(
            "{:<42} {:>22} {:>11.3} {:>6.1}%",
            s.name,
            format!("{:.1} ({:.1}-{:.1})", s.median, s.low, s.high),
            s.median / 16.0,
            100.0 * s.median / whole
        );
    }
}

/// The time-stamp counter.
#[cfg(target_arch = "x86_64")]
fn tsc() -> u64 {
    // SAFETY: RDTSC exists on every x86-64 CPU and only reads the counter.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// The CPU's model name (Linux `/proc/cpuinfo`), or what is known without it.
#[cfg(target_arch = "x86_64")]
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}
