//! Trains a context-model table set with a list length and state log of your
//! choice (`TrainConfig`), for devices whose flash the default set does not
//! fit. `host-tools build-tables` chooses `K` (`--k`) but not the state log;
//! the firmware tests use this for the microbit (K = 48, state log 6:
//! 127,418 B of table set and compiled image, research/budget.md section 3).
//!
//! ```text
//! cargo run --release -p vqtans --example train_tables -- --k 48 --state-log 6 -o OUT.tables IN.npy...
//! ```
//!
//! Inputs are `.npy` token arrays of shape `(frames, 8, 16)` (int16 or uint16),
//! each one segment. The output is written atomically (a temporary file in the
//! same folder, then renamed); nothing is written on an error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use vqtans::model::context::train::{train_in_memory, TrainConfig};

/// The command line: `--k K`, `--state-log M`, `-o OUT`, inputs.
struct Args {
    config: TrainConfig,
    out: PathBuf,
    inputs: Vec<PathBuf>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut config = TrainConfig::default();
    let (mut out, mut inputs) = (None, Vec::new());
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--k" => config.k = value("--k")?.parse().map_err(|e| format!("--k: {e}"))?,
            "--state-log" => {
                config.state_log = value("--state-log")?.parse().map_err(|e| format!("--state-log: {e}"))?
            }
            "-o" => out = Some(PathBuf::from(value("-o")?)),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => inputs.push(PathBuf::from(arg)),
        }
    }
    let out = out.ok_or("no output (-o OUT)")?;
    if inputs.is_empty() {
        return Err("no input .npy".into());
    }
    Ok(Args { config, out, inputs })
}

/// The tokens of one `.npy` segment.
fn read_segment(path: &Path) -> Result<Vec<u16>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| format!("{}: {e}", path.display()))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 3 || shape[1] != 8 || shape[2] != 16 {
        return Err(format!("{}: shape {shape:?} is not (frames, 8, 16)", path.display()));
    }
    let tokens: Vec<u16> = match npy.dtype().descr().as_str() {
        "<u2" => npy.into_vec::<u16>().map_err(|e| format!("{}: {e}", path.display()))?,
        _ => npy
            .into_vec::<i16>()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .into_iter()
            .map(|t| t as u16)
            .collect(),
    };
    if tokens.iter().any(|&t| t > 1023) {
        return Err(format!("{}: a token outside 0..1023", path.display()));
    }
    Ok(tokens)
}

fn run() -> Result<(), String> {
    let args = parse(std::env::args().skip(1))?;
    let segments = args.inputs.iter().map(|p| read_segment(p)).collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&[u16]> = segments.iter().map(Vec::as_slice).collect();
    let set = train_in_memory(&refs, &args.config).map_err(|e| format!("training: {e}"))?;
    let blob = set.to_bytes().map_err(|e| format!("serialising: {e}"))?;
    let tmp = args.out.with_extension("tables.tmp");
    std::fs::write(&tmp, &blob).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", args.out.display())
    })?;
    println!("{}: K = {}, state log {}: {} B", args.out.display(), args.config.k, args.config.state_log, blob.len());
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("train_tables: {e}");
            ExitCode::FAILURE
        }
    }
}
