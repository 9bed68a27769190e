//! `vqtans-unpack` under SIGINT, SIGTERM and SIGHUP: a signal before the files are
//! in place removes the temporaries and exits with 128 + the signal, leaving
//! OUTPUT_DIR as it was; one after they are in place does not change the outcome
//! (exit 0, every file there). Temporaries of a killed run are removed by the next.
//! The run is paused at a named point (`VQTANS_TEST_PAUSE`) and signalled there.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a run may take before the test calls it hung (a hang guard only).
const HANG: Duration = Duration::from_secs(120);

/// The 50-frame format-1 stream and its tables kept with the codec's tests.
fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../codec/tests/data")
}

/// Writes `dir/six.vqa`, an archive of 6 segments `s0`..`s5` (the same stream),
/// and returns it with the `.npy` bytes each segment unpacks to.
fn archive(dir: &Path) -> (PathBuf, Vec<u8>) {
    let blob = std::fs::read(data().join("v1-k4.vqtt")).unwrap();
    let stream = std::fs::read(data().join("v1-commaai-50.vqt")).unwrap();
    let tables = vqtans_archive::Tables::from_blob(blob.clone()).unwrap();
    let tokens = vqtans::segment::decode(&stream, &tables.set(), tables.decode_tables()).unwrap();
    let npy = vqtans_archive::npy::write_i16(&tokens, 50);
    let path = dir.join("six.vqa");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut writer = vqtans_archive::ArchiveWriter::new(file, "six.vqa", &blob).unwrap();
    for i in 0..6 {
        let entry = vqtans_archive::NewEntry { key: format!("s{i}"), ..Default::default() };
        writer.add(entry, vqtans::container::tokens_crc(&tokens), &stream).unwrap();
    }
    writer.finish().unwrap();
    (path, npy)
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

/// Starts `vqtans-unpack archive out` paused at `point` and waits until it is there.
fn paused_at(point: &str, archive: &Path, out: &Path) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vqtans-unpack"))
        .arg(archive)
        .arg(out)
        .env("VQTANS_TEST_PAUSE", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert_eq!(line.trim_end(), format!("test pause: {point}"));
    (child, stderr)
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
            panic!("vqtans-unpack did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_signal_before_the_moves_leaves_the_folder_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = archive(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("s0.npy"), b"old").unwrap();
    std::fs::write(out.join("keep.txt"), b"keep").unwrap();
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130), (libc::SIGHUP, 129)] {
        let (child, _stderr) = paused_at("staged", &archive, &out);
        // The six temporaries are there.
        assert_eq!(names(&out).iter().filter(|n| n.ends_with(".tmp")).count(), 6, "{:?}", names(&out));
        assert_eq!(signal_and_wait(child, signal), Some(code), "signal {signal}");
        assert_eq!(names(&out), ["keep.txt", "s0.npy"], "signal {signal}");
        assert_eq!(std::fs::read(out.join("s0.npy")).unwrap(), b"old");
    }
}

#[test]
fn a_signal_after_the_moves_does_not_change_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, npy) = archive(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("s0.npy"), b"old").unwrap();
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let (child, _stderr) = paused_at("moved", &archive, &out);
        assert_eq!(signal_and_wait(child, signal), Some(0), "signal {signal}");
        assert_eq!(names(&out), ["s0.npy", "s1.npy", "s2.npy", "s3.npy", "s4.npy", "s5.npy"]);
        for name in names(&out) {
            assert!(std::fs::read(out.join(&name)).unwrap() == npy, "{name}");
        }
    }
}

#[test]
fn temporaries_of_a_killed_run_are_removed_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, npy) = archive(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // What SIGKILL leaves: a run's temporaries, its pid no longer running.
    let (mut child, _stderr) = paused_at("staged", &archive, &out);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(names(&out).iter().filter(|n| n.ends_with(".tmp")).count(), 6);
    // A temporary of a running process (this one) stays.
    let live = out.join(format!(".vqtans-unpack-{}-0.tmp", std::process::id()));
    std::fs::write(&live, b"in use").unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_vqtans-unpack")).arg(&archive).arg(&out).status().unwrap();
    assert_eq!(status.code(), Some(0));
    let left = names(&out);
    assert_eq!(left.len(), 7, "{left:?}");
    assert!(left.iter().filter(|n| n.ends_with(".npy")).all(|n| std::fs::read(out.join(n)).unwrap() == npy));
    assert!(live.exists());
}
