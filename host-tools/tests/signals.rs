//! `host-tools` under SIGINT, SIGTERM and SIGHUP at the end of a run: a signal
//! before the outputs are moved into place removes every temporary and exits
//! with 128 + the signal, leaving the output folder as it was; one after they
//! are in place does not change the outcome (the run ends with its own status:
//! 0, every file there). The run is paused at a named point
//! (`VQTANS_TEST_PAUSE`) and signalled there. (Signals in the middle of a run:
//! `hostile.rs`.)

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Longest a run may take before the test calls it hung (a hang guard only).
const HANG: Duration = Duration::from_secs(120);

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

/// Starts `host-tools args` paused at `point` and waits until it is there.
fn paused_at(point: &str, args: &[&dyn AsRef<OsStr>]) -> Child {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("host-tools"))
        .args(args)
        .env("VQTANS_TEST_PAUSE", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the run ended without pausing at {point}: {seen}");
        if line.trim_end() == format!("test pause: {point}") {
            break;
        }
        seen.push_str(&line);
    }
    // Keep reading stderr so that the run never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    child
}

/// Sends `signal` to `child` and returns its exit code (None if a signal ended it).
fn signal_and_wait(mut child: Child, signal: i32) -> Option<i32> {
    // SAFETY: sends a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if start.elapsed() > HANG {
            child.kill().unwrap();
            panic!("host-tools did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An existing output folder `dir/out` as a run finds it: `keep.txt` and an
/// old version of `replaced`.
fn existing_folder(dir: &Path, replaced: &str) -> std::path::PathBuf {
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), b"keep").unwrap();
    std::fs::write(out.join(replaced), b"old").unwrap();
    out
}

/// `unpack` (an archive of both real segments) and folder `encode` (both real
/// segments) into an existing folder: `(args, the files written, one of
/// them already there)`.
fn folder_runs(dir: &Path, out: &Path) -> Vec<(Vec<std::ffi::OsString>, [&'static str; 2])> {
    let tables = tables_from(0);
    let archive = dir.join("two.vqa");
    run_ok(&[&"pack", &"--tables", &tables, &"-o", &archive, &real(0), &real(1)]);
    let input = dir.join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(real(0), input.join("commaai-commavq_0.npy")).unwrap();
    std::fs::copy(real(1), input.join("mattseabrook-commavq_0.npy")).unwrap();
    let os = |s: &dyn AsRef<OsStr>| s.as_ref().to_os_string();
    vec![
        (
            vec![os(&"unpack"), os(&archive), os(&"-o"), os(&out)],
            ["commaai-commavq_0.npy", "mattseabrook-commavq_0.npy"],
        ),
        (
            vec![os(&"encode"), os(&"--tables"), os(&tables), os(&"-o"), os(&out), os(&input)],
            ["commaai-commavq_0.vqt", "mattseabrook-commavq_0.vqt"],
        ),
    ]
}

#[test]
fn a_signal_before_the_moves_leaves_the_folder_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (args, files) in folder_runs(dir.path(), &out) {
        let out = existing_folder(dir.path(), files[0]);
        let args: Vec<&dyn AsRef<OsStr>> = args.iter().map(|a| a as &dyn AsRef<OsStr>).collect();
        for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130), (libc::SIGHUP, 129)] {
            let child = paused_at("before-commit", &args);
            assert_eq!(signal_and_wait(child, signal), Some(code), "{:?} signal {signal}", args[0].as_ref());
            assert_eq!(names(&out), [files[0], "keep.txt"], "{:?} signal {signal}", args[0].as_ref());
            assert_eq!(std::fs::read(out.join(files[0])).unwrap(), b"old");
            assert_eq!(names(dir.path()).iter().filter(|n| n.starts_with(".vqtans-")).count(), 0);
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn a_signal_after_the_moves_does_not_change_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (args, files) in folder_runs(dir.path(), &out) {
        let out = existing_folder(dir.path(), files[0]);
        let args: Vec<&dyn AsRef<OsStr>> = args.iter().map(|a| a as &dyn AsRef<OsStr>).collect();
        let expected = {
            let reference = dir.path().join("reference");
            run_ok(
                &args.iter().map(|a| if a.as_ref() == out.as_os_str() { &reference } else { *a }).collect::<Vec<_>>(),
            );
            files.map(|f| std::fs::read(reference.join(f)).unwrap())
        };
        for signal in [libc::SIGTERM, libc::SIGINT] {
            std::fs::write(out.join(files[0]), b"old").unwrap();
            let child = paused_at("output-committed", &args);
            assert_eq!(signal_and_wait(child, signal), Some(0), "{:?} signal {signal}", args[0].as_ref());
            assert_eq!(names(&out), [files[0], "keep.txt", files[1]]);
            for (file, bytes) in files.iter().zip(&expected) {
                assert!(&std::fs::read(out.join(file)).unwrap() == bytes, "{file}");
            }
            assert_eq!(names(dir.path()).iter().filter(|n| n.starts_with(".vqtans-")).count(), 0);
        }
        std::fs::remove_dir_all(&out).unwrap();
        std::fs::remove_dir_all(dir.path().join("reference")).unwrap();
    }
}

#[test]
fn a_signal_after_a_single_output_is_in_place_does_not_change_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let stream = dir.path().join("s.vqt");
    let child = paused_at("output-committed", &[&"encode", &"--tables", &tables, &"-o", &stream, &real(1)]);
    assert_eq!(signal_and_wait(child, libc::SIGTERM), Some(0));
    let out = dir.path().join("s.npy");
    let child = paused_at("output-committed", &[&"decode", &"--tables", &tables, &"-o", &out, &stream]);
    assert_eq!(signal_and_wait(child, libc::SIGINT), Some(0));
    assert!(std::fs::read(&out).unwrap() == std::fs::read(real(1)).unwrap());
    assert_eq!(names(dir.path()), ["s.npy", "s.vqt"]);
}
