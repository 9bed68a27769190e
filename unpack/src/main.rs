//! `vqtans-unpack ARCHIVE OUTPUT_DIR [--threads N]`: writes every segment of a
//! vqtans archive to `OUTPUT_DIR/<file_name>` (or `<key>.npy`) as the `.npy`
//! bytes `np.save` writes for an int16 `(frames, 8, 16)` array.
//!
//! This is the decoder inside a commaVQ challenge submission (built for
//! `x86_64-unknown-linux-musl`, statically linked, by `scripts/test.sh` and
//! `host-tools pack --challenge`'s instructions), so it depends on the codec and
//! the archive reader only. Every segment is verified (group checksums, end of
//! stream, the index's token CRC-32) before it is written. All or nothing: the
//! files are written to temporaries in `OUTPUT_DIR` and renamed into place only
//! when every segment verified; otherwise the temporaries are removed, every bad
//! segment is named on stderr and the exit status is 1. Names are checked by the
//! archive reader (plain file names only), and no file is written over the
//! archive itself. Usage errors exit with 2. SIGINT, SIGTERM and SIGHUP before
//! the files are in place remove the temporaries and exit with 128 + the signal
//! number; after, the run ends with its own status (see [`temps`]).

mod temps;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use vqtans_archive::{npy, Archive};

const USAGE: &str = "usage: vqtans-unpack ARCHIVE OUTPUT_DIR [--threads N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (archive, out_dir, threads) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("vqtans-unpack: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(why) = temps::catch_signals() {
        eprintln!("vqtans-unpack: {why}");
        return ExitCode::from(1);
    }
    match run(&archive, &out_dir, threads) {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("vqtans-unpack: {why}");
            ExitCode::from(1)
        }
    }
}

fn parse(args: &[String]) -> Result<(PathBuf, PathBuf, usize), String> {
    let mut paths = Vec::new();
    let mut threads = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--threads" {
            let n = args.get(i + 1).and_then(|v| v.parse::<usize>().ok()).filter(|n| (1..=256).contains(n));
            threads = n.ok_or("--threads takes a number from 1 to 256")?;
            i += 2;
        } else {
            paths.push(PathBuf::from(&args[i]));
            i += 1;
        }
    }
    match <[PathBuf; 2]>::try_from(paths) {
        Ok([archive, out_dir]) => Ok((archive, out_dir, threads)),
        Err(_) => Err("expected ARCHIVE and OUTPUT_DIR".into()),
    }
}

fn run(archive_path: &Path, out_dir: &Path, threads: usize) -> Result<(), String> {
    let archive = Archive::open(archive_path, &archive_path.display().to_string()).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: cannot create the folder: {e}", out_dir.display()))?;
    temps::remove_stale(out_dir);
    let archive_id = std::fs::metadata(archive_path).map(|m| (m.dev(), m.ino())).map_err(|e| e.to_string())?;
    let entries = archive.entries();
    for e in entries {
        let target = out_dir.join(e.output_name());
        if std::fs::metadata(&target).is_ok_and(|m| (m.dev(), m.ino()) == archive_id) {
            return Err(format!(
                "{}: segment {} would be written over the archive itself",
                archive.name(),
                vqtans_archive::error::escape(&e.key)
            ));
        }
    }
    let reader = archive.reader();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.min(entries.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= entries.len() {
                    break;
                }
                let temp = temps::temp_path(out_dir, i);
                let target = out_dir.join(entries[i].output_name());
                let written = reader.decode(i).map_err(|e| e.to_string()).and_then(|tokens| {
                    let bytes = npy::write_i16(&tokens, entries[i].frames as usize);
                    temps::create(&temp, &target)?
                        .write_all(&bytes)
                        .map_err(|e| format!("{}: cannot write: {e}", temp.display()))
                });
                if let Err(why) = written {
                    failures.lock().expect("no panics while held").push((i, why));
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("threads joined");
    if !failures.is_empty() {
        temps::remove_all();
        failures.sort_by_key(|(i, _)| *i);
        for (_, why) in &failures {
            eprintln!("vqtans-unpack: {why}");
        }
        return Err(format!(
            "{} of {} segments failed; nothing was written to {}",
            failures.len(),
            entries.len(),
            out_dir.display()
        ));
    }
    temps::pause_for_tests("staged");
    temps::move_all()?;
    temps::pause_for_tests("moved");
    let tokens: u64 = entries.iter().map(|e| u64::from(e.frames) * 128).sum();
    println!(
        "vqtans-unpack: {} segments ({tokens} tokens) verified and written to {}",
        entries.len(),
        out_dir.display()
    );
    Ok(())
}
