//! What `host-tools` does with damaged streams, wrong tables and bad inputs:
//! a non-zero exit with a message naming the file, never a panic, and never
//! a clobbered input.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

/// Encodes real segment `seg` with tables trained on the other one.
fn stream_of(seg: usize, dir: &Path) -> (PathBuf, PathBuf) {
    let tables = tables_from(1 - seg);
    let stream = dir.join(format!("seg{seg}.vqt"));
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &stream, &real(seg)]);
    (tables, stream)
}

/// No panic message in `stderr`.
fn no_panic() -> impl Predicate<str> {
    contains("panicked").not()
}

#[test]
fn verify_fails_on_one_flipped_payload_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(1, dir.path());
    let good = std::fs::read(&stream).unwrap();
    // Several positions across the payload, one at a time.
    for at in [32, 40, good.len() / 3, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        let flipped = dir.path().join("flipped.vqt");
        std::fs::write(&flipped, &bad).unwrap();
        host_tools()
            .args(["verify", "--tables"])
            .arg(&tables)
            .arg(&flipped)
            .arg(real(1))
            .assert()
            .code(1)
            .stderr(contains("flipped.vqt").and(no_panic()));
        host_tools()
            .args(["decode", "--tables"])
            .arg(&tables)
            .arg("-o")
            .arg(dir.path().join("out.npy"))
            .arg(&flipped)
            .assert()
            .failure()
            .stderr(contains("flipped.vqt").and(no_panic()));
        assert!(!dir.path().join("out.npy").exists(), "flip at {at}");
    }
}

#[test]
fn wrong_tables_name_both_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    let other = tables_from(0);
    let ids = || contains(table_id(&tables)).and(contains(table_id(&other)));
    host_tools()
        .args(["verify", "--tables"])
        .arg(&other)
        .arg(&stream)
        .arg(real(0))
        .assert()
        .code(2)
        .stderr(ids().and(no_panic()));
    host_tools()
        .args(["decode", "--tables"])
        .arg(&other)
        .arg("-o")
        .arg(dir.path().join("out.npy"))
        .arg(&stream)
        .assert()
        .failure()
        .stderr(ids().and(contains("seg0.vqt")));
    // Order-0 tables on a context-model stream: also a mismatch.
    host_tools()
        .args(["verify", "--tables"])
        .arg(order0_tables())
        .arg(&stream)
        .arg(real(0))
        .assert()
        .code(2)
        .stderr(contains(table_id(&tables)));
}

#[test]
fn verify_reports_the_first_difference() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    // The original with one token changed at frame 700, row 3, col 9.
    let mut changed = std::fs::read(real(0)).unwrap();
    let at = HEADER + 2 * ((700 * 8 + 3) * 16 + 9);
    changed[at] ^= 0x01;
    let changed_path = dir.path().join("changed.npy");
    std::fs::write(&changed_path, &changed).unwrap();
    host_tools()
        .args(["verify", "--tables"])
        .arg(&tables)
        .arg(&stream)
        .arg(&changed_path)
        .assert()
        .code(1)
        .stderr(contains("frame 700 row 3 col 9"));
    // A shorter original: the frame counts differ.
    let short = dir.path().join("short.npy");
    std::fs::write(&short, first_frames(0, 10)).unwrap();
    host_tools()
        .args(["verify", "--tables"])
        .arg(&tables)
        .arg(&stream)
        .arg(&short)
        .assert()
        .code(1)
        .stderr(contains("1200 frames").and(contains("10")));
}

#[test]
fn truncated_and_foreign_streams_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(1, dir.path());
    let good = std::fs::read(&stream).unwrap();
    for (name, bytes) in [
        ("cut.vqt", good[..good.len() - 7].to_vec()),
        ("header-only.vqt", good[..20].to_vec()),
        ("empty.vqt", Vec::new()),
        ("trailing.vqt", [&good[..], b"x"].concat()),
        ("foreign.vqt", std::fs::read(real(1)).unwrap()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        host_tools()
            .args(["decode", "--tables"])
            .arg(&tables)
            .arg("-o")
            .arg(dir.path().join("out.npy"))
            .arg(&path)
            .assert()
            .code(1)
            .stderr(contains(name).and(no_panic()));
        host_tools()
            .args(["verify", "--tables"])
            .arg(&tables)
            .arg(&path)
            .arg(real(1))
            .assert()
            .code(1)
            .stderr(contains(name).and(no_panic()));
    }
}

/// Runs host-tools with `args` and checks it refuses to write over `victim`, which
/// keeps its bytes.
fn refuses_to_overwrite(args: &[&std::ffi::OsStr], victim: &Path) {
    let before = std::fs::read(victim).unwrap();
    host_tools().args(args).assert().code(1).stderr(contains("refusing to write"));
    assert_eq!(std::fs::read(victim).unwrap(), before, "{} changed", victim.display());
}

#[test]
fn outputs_never_overwrite_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    let (t, s) = (tables.as_os_str(), stream.as_os_str());
    let os = |a: &'static str| std::ffi::OsStr::new(a);
    // decode onto its stream, or onto its tables.
    refuses_to_overwrite(&[os("decode"), os("--tables"), t, os("-o"), s, s], &stream);
    refuses_to_overwrite(&[os("decode"), os("--tables"), t, os("-o"), t, s], &tables);
    // encode onto its own input (a copy, the real file is read-only).
    let npy = dir.path().join("seg.npy");
    std::fs::copy(real(1), &npy).unwrap();
    let n = npy.as_os_str();
    refuses_to_overwrite(&[os("encode"), os("--tables"), t, os("-o"), n, n], &npy);
    // build-tables onto one of its inputs.
    refuses_to_overwrite(&[os("build-tables"), os("-o"), n, n], &npy);
    assert_eq!(std::fs::read(&npy).unwrap(), std::fs::read(real(1)).unwrap());
}

/// Bad `.npy` files derived from real segment 0, by name.
fn bad_inputs(dir: &Path) -> Vec<(&'static str, PathBuf, &'static str)> {
    let original = std::fs::read(real(0)).unwrap();
    let mut big = original.clone();
    let at = HEADER + 2 * ((3 * 8 + 2) * 16 + 1);
    big[at..at + 2].copy_from_slice(&1024u16.to_le_bytes());
    let cases = [
        ("float.npy", replace_in_header(&original, "'<i2'", "'<f2'"), "unsupported dtype"),
        ("value1024.npy", big, "value 1024 at frame 3 row 2 col 1"),
        ("shape.npy", replace_in_header(&original, "(1200, 8, 16)", "(1200, 16, 8)"), "wrong shape"),
        ("truncated.npy", original[..original.len() - 100].to_vec(), "truncated"),
        ("garbage.npy", b"not a numpy file".to_vec(), "garbage.npy"),
    ];
    cases
        .into_iter()
        .map(|(name, bytes, what)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            (name, path, what)
        })
        .collect()
}

#[test]
fn bad_inputs_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(1);
    for (name, path, what) in bad_inputs(dir.path()) {
        let message = || contains(name).and(contains(what)).and(no_panic());
        host_tools()
            .args(["encode", "--tables"])
            .arg(&tables)
            .arg("-o")
            .arg(dir.path().join("out.vqt"))
            .arg(&path)
            .assert()
            .code(1)
            .stderr(message());
        assert!(!dir.path().join("out.vqt").exists());
        host_tools().args(["stats", "--tables"]).arg(&tables).arg(&path).assert().code(1).stderr(message());
        host_tools()
            .args(["verify", "--tables"])
            .arg(&tables)
            .arg(dir.path().join("whatever.vqt"))
            .arg(&path)
            .assert()
            .code(2)
            .stderr(message());
    }
}

#[test]
fn too_many_frames_for_a_stream_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let frames = 65_537;
    let original = std::fs::read(real(0)).unwrap();
    let mut npy = replace_in_header(&original[..HEADER], "(1200, 8, 16)", &format!("({frames}, 8, 16)"));
    npy.resize(HEADER + frames * 128 * 2, 0);
    let path = dir.path().join("long.npy");
    std::fs::write(&path, npy).unwrap();
    host_tools()
        .args(["encode", "--tables"])
        .arg(tables_from(0))
        .arg("-o")
        .arg(dir.path().join("long.vqt"))
        .arg(&path)
        .assert()
        .code(1)
        .stderr(contains("65537 frames").and(no_panic()));
}

#[test]
fn build_tables_aborts_on_a_bad_segment_or_skips_it() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("in");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(real(0), folder.join("good.npy")).unwrap();
    let bad = bad_inputs(dir.path());
    std::fs::copy(&bad[1].1, folder.join("value1024.npy")).unwrap();
    let out = dir.path().join("t.vqtt");
    host_tools()
        .args(["build-tables", "-o"])
        .arg(&out)
        .arg(&folder)
        .assert()
        .code(1)
        .stderr(contains("value1024.npy").and(no_panic()));
    assert!(!out.exists(), "no tables may be written after a bad segment");

    // --skip-bad: a warning naming the file, and the same tables as from the
    // good segment alone.
    host_tools()
        .args(["build-tables", "--skip-bad", "-o"])
        .arg(&out)
        .arg(&folder)
        .assert()
        .success()
        .stderr(contains("warning").and(contains("value1024.npy")))
        .stdout(contains("1 bad skipped"));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(tables_from(0)).unwrap());

    // Only bad segments: nothing to train on.
    host_tools()
        .args(["build-tables", "--skip-bad", "-o"])
        .arg(dir.path().join("none.vqtt"))
        .arg(&bad[0].1)
        .assert()
        .code(1)
        .stderr(contains("no usable segment"));
}

#[test]
fn bad_arguments_and_tables_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    host_tools()
        .args(["build-tables", "--k", "7", "-o"])
        .arg(&out)
        .arg(real(0))
        .assert()
        .code(2)
        .stderr(contains("invalid value '7' for '--k <K>'"));
    host_tools()
        .args(["build-tables", "--only", "no-such-key", "-o"])
        .arg(&out)
        .arg(real(0))
        .assert()
        .code(1)
        .stderr(contains("no-such-key"));
    host_tools()
        .args(["build-tables", "-o"])
        .arg(&out)
        .arg(dir.path().join("missing.npy"))
        .assert()
        .code(1)
        .stderr(contains("missing.npy"));
    host_tools().args(["build-tables", "-o"]).arg(&out).arg(dir.path().join("notes.txt")).assert().code(1);
    assert!(!out.exists());

    // A damaged table-set file.
    let mut blob = std::fs::read(tables_from(0)).unwrap();
    blob.truncate(blob.len() / 2);
    let broken = dir.path().join("broken.vqtt");
    std::fs::write(&broken, &blob).unwrap();
    host_tools()
        .args(["encode", "--tables"])
        .arg(&broken)
        .arg("-o")
        .arg(dir.path().join("x.vqt"))
        .arg(real(0))
        .assert()
        .code(1)
        .stderr(contains("broken.vqtt").and(no_panic()));
    // verify cannot check without valid tables: status 2.
    host_tools()
        .args(["verify", "--tables"])
        .arg(&broken)
        .arg(dir.path().join("x.vqt"))
        .arg(real(0))
        .assert()
        .code(2)
        .stderr(contains("broken.vqtt"));
    // No subcommand / unknown option: usage error.
    host_tools().assert().code(2);
    host_tools().args(["encode", "--nope"]).assert().code(2);
}

/// Writes an archive at `path` of `count` segments whose streams are a bare
/// header announcing one frame and no payload: each fails to decode at once.
fn archive_of_empty_streams(path: &Path, count: usize) {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    let stream = std::fs::read(stream).unwrap();
    let (mut header, _) = vqtans::container::Header::parse(&stream).unwrap();
    (header.frames, header.payload_len) = (1, 0);
    // One frame is one section: container format 2.
    header.check = vqtans::container::Check::Groups { group_frames: header.group_frames() as u16 };
    let bare = header.to_bytes();
    let blob = std::fs::read(tables).unwrap();
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut writer = vqtans_archive::ArchiveWriter::new(file, "many.vqa", &blob).unwrap();
    for i in 0..count {
        let entry = vqtans_archive::NewEntry { key: format!("k{i:06}"), ..Default::default() };
        writer.add(entry, 0, &bare).unwrap();
    }
    writer.finish().unwrap();
}

/// Runs `host-tools args` with stderr to `stderr`; returns its exit code and
/// its peak resident memory in KiB (the kernel's count for that one process).
fn exit_and_peak_kib(args: &[&dyn AsRef<std::ffi::OsStr>], stderr: &Path) -> (i32, i64) {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("host-tools"))
        .args(args)
        // Errors capture a backtrace with this set: the costliest case.
        .env("RUST_BACKTRACE", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid pointers.
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut usage) }, pid);
    assert!(libc::WIFEXITED(status), "host-tools ended by a signal: {status}");
    (libc::WEXITSTATUS(status), usage.ru_maxrss)
}

#[test]
fn unpack_memory_does_not_grow_with_the_bad_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (few, many) = (2_000usize, 40_000usize);
    let mut peaks = Vec::new();
    for count in [few, many] {
        let archive = dir.path().join(format!("bad-{count}.vqa"));
        archive_of_empty_streams(&archive, count);
        let out = dir.path().join(format!("out-{count}"));
        let log = dir.path().join(format!("stderr-{count}.txt"));
        let (code, peak) = exit_and_peak_kib(&[&"unpack", &"--threads", &"2", &archive, &"-o", &out], &log);
        let stderr = std::fs::read_to_string(&log).unwrap();
        assert_eq!(code, 1, "{stderr}");
        // One line per bad segment, then the summary; nothing written.
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), count + 1, "{}", &stderr[..stderr.len().min(2000)]);
        assert!(lines[..count].iter().all(|l| l.contains(": segment k") && l.contains("stream")), "{}", lines[0]);
        assert!(
            lines[count]
                .contains(&format!("{count} of {count} segments did not verify (named above); nothing was written")),
            "{}",
            lines[count]
        );
        assert!(!out.exists());
        peaks.push(peak);
    }
    // What the index and the file names of the extra segments take is well
    // under 1 KiB a segment; a kept error per failed segment is more.
    let growth_per_segment = (peaks[1] - peaks[0]) as f64 * 1024.0 / (many - few) as f64;
    assert!(growth_per_segment < 1024.0, "peaks {peaks:?} KiB: {growth_per_segment:.0} bytes more per bad segment");
}
