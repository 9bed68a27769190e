//! `decode` of several streams and folders into a folder (`-o DIR`): each
//! `<key>.vqt` becomes `DIR/<key>.npy`, byte-identical to the original; bad
//! arguments are refused before anything is decoded; a damaged stream fails the
//! run with nothing written (or, with `--salvage`, its verified frames); an
//! output is never written over an input; the single-stream form still works.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_fails, entries, first_frames, real, run, run_ok, stderr, tables_from};

const KEYS: [&str; 2] = ["commaai-commavq_0", "mattseabrook-commavq_0"];

/// The two real segments encoded (tables from segment 0) into `dir/streams/`
/// as `<key>.vqt`, by `encode` of a folder.
fn streams(dir: &Path) -> PathBuf {
    let npy = dir.join("npy");
    std::fs::create_dir(&npy).unwrap();
    for (i, key) in KEYS.iter().enumerate() {
        std::fs::copy(real(i), npy.join(format!("{key}.npy"))).unwrap();
    }
    let streams = dir.join("streams");
    run_ok(&[&"encode", &"--tables", &tables_from(0), &"-o", &streams, &npy]);
    assert_eq!(entries(&streams), KEYS.map(|k| format!("{k}.vqt")));
    streams
}

/// Asserts `dir` holds exactly the two real segments as `<key>.npy`,
/// byte-identical to the originals.
fn assert_decoded(dir: &Path) {
    assert_eq!(entries(dir), KEYS.map(|k| format!("{k}.npy")));
    for (i, key) in KEYS.iter().enumerate() {
        let got = std::fs::read(dir.join(format!("{key}.npy"))).unwrap();
        assert!(got == std::fs::read(real(i)).unwrap(), "{key}.npy differs from the original");
    }
}

#[test]
fn folders_and_several_streams_decode_to_key_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let streams = streams(dir.path());
    let tables = tables_from(0);
    // A folder of streams into a new folder.
    let out = dir.path().join("out");
    let said = run_ok(&[&"decode", &"--tables", &tables, &"-o", &out, &streams]);
    assert!(
        said.starts_with(&format!("decoded 2 streams (2400 frames) into {} as <key>.npy", out.display())),
        "{said}"
    );
    assert_decoded(&out);
    // Stream files given one by one, into a new folder.
    let files = dir.path().join("files");
    let (a, b) = (streams.join(format!("{}.vqt", KEYS[0])), streams.join(format!("{}.vqt", KEYS[1])));
    run_ok(&[&"decode", &"--tables", &tables, &"-o", &files, &a, &b]);
    assert_decoded(&files);
    // One stream into an existing folder: <key>.npy in it; other files stay.
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("keep.txt"), b"k").unwrap();
    run_ok(&[&"decode", &"--tables", &tables, &"-o", &existing, &a]);
    assert_eq!(entries(&existing), [format!("{}.npy", KEYS[0]), "keep.txt".to_string()]);
    // Into it again, with the other stream: replaced and added.
    run_ok(&[&"decode", &"--tables", &tables, &"-o", &existing, &streams]);
    assert_eq!(entries(&existing), [format!("{}.npy", KEYS[0]), "keep.txt".to_string(), format!("{}.npy", KEYS[1])]);
    // The single-stream form is unchanged.
    let one = dir.path().join("one.npy");
    let said = run_ok(&[&"decode", &"--tables", &tables, &"-o", &one, &b]);
    assert!(said.starts_with(&format!("decoded {} (1200 frames,", b.display())), "{said}");
    assert!(std::fs::read(&one).unwrap() == std::fs::read(real(1)).unwrap());
    // No temporaries anywhere.
    assert_eq!(entries(dir.path()), ["existing", "files", "npy", "one.npy", "out", "streams"]);
}

#[test]
fn bad_arguments_are_refused_before_any_decoding() {
    let dir = tempfile::tempdir().unwrap();
    let streams = streams(dir.path());
    let tables = tables_from(0);
    let out = dir.path().join("out");
    let a = streams.join(format!("{}.vqt", KEYS[0]));
    // The same key twice (another folder's copy): both named.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let copy = other.join(format!("{}.vqt", KEYS[0]));
    std::fs::copy(&a, &copy).unwrap();
    let r = run(&[&"decode", &"--tables", &tables, &"-o", &out, &streams, &other]);
    assert_fails(
        &r,
        1,
        &[&format!(
            "{} and {}: two streams with the key {}, which would both be decoded to {}.npy",
            a.display(),
            copy.display(),
            KEYS[0],
            KEYS[0]
        )],
    );
    assert_eq!(stderr(&r).lines().count(), 1, "{}", stderr(&r));
    // A folder without streams.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), b"x").unwrap();
    let r = run(&[&"decode", &"--tables", &tables, &"-o", &out, &empty]);
    assert_fails(
        &r,
        1,
        &[&format!("{}: holds no stream (no regular file named *.vqt directly inside)", empty.display())],
    );
    // A stream that does not exist, after a good one.
    let r = run(&[&"decode", &"--tables", &tables, &"-o", &out, &a, &dir.path().join("missing.vqt")]);
    assert_fails(&r, 1, &["missing.vqt: cannot read: No such file or directory"]);
    // A FIFO among the streams: refused from its metadata, never opened (so
    // nothing blocks); inside a folder, a FIFO named *.vqt is skipped.
    let fifo = dir.path().join("pipe.vqt");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid C string and mode.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let r = run(&[&"decode", &"--tables", &tables, &"-o", &out, &a, &fifo]);
    assert_fails(&r, 1, &[&format!("{}: is a FIFO", fifo.display())]);
    let with_pipe = dir.path().join("with_pipe");
    std::fs::create_dir(&with_pipe).unwrap();
    std::fs::copy(&a, with_pipe.join("x.vqt")).unwrap();
    std::os::unix::fs::symlink(&fifo, with_pipe.join("y.vqt")).unwrap();
    let piped = dir.path().join("piped");
    run_ok(&[&"decode", &"--tables", &tables, &"-o", &piped, &with_pipe]);
    assert_eq!(entries(&piped), ["x.npy"]);
    std::fs::remove_dir_all(&piped).unwrap();
    std::fs::remove_dir_all(&with_pipe).unwrap();
    std::fs::remove_file(&fifo).unwrap();
    // `-` among several streams, or a folder to standard output: usage errors.
    let r = run(&[&"decode", &"--tables", &tables, &"-o", &out, &a, &"-"]);
    assert_fails(&r, 2, &["a stream read from standard input (`-`) has no name"]);
    let r = run(&[&"decode", &"--tables", &tables, &"-o", &"-", &streams]);
    assert_fails(&r, 2, &["decode into a folder, not standard output: give -o DIR"]);
    // An output that would be an input: streams `k` and `k.npy` (keys `k` and
    // `k.npy`): `k`'s output k.npy is the other stream.
    let tricky = dir.path().join("tricky");
    std::fs::create_dir(&tricky).unwrap();
    std::fs::copy(&a, tricky.join("k")).unwrap();
    std::fs::copy(&a, tricky.join("k.npy")).unwrap();
    let before = std::fs::read(tricky.join("k.npy")).unwrap();
    let r = run(&[&"decode", &"--tables", &tables, &"-o", &tricky, &tricky.join("k"), &tricky.join("k.npy")]);
    assert_fails(&r, 1, &["k.npy"]);
    assert!(stderr(&r).contains("input"), "{}", stderr(&r));
    assert_eq!(std::fs::read(tricky.join("k.npy")).unwrap(), before);
    assert_eq!(entries(&tricky), ["k", "k.npy"]);
    // Nothing was created by any of these.
    assert!(!out.exists());
    assert_eq!(entries(dir.path()), ["empty", "npy", "other", "streams", "tricky"]);
}

#[test]
fn a_damaged_stream_fails_the_run_with_nothing_written_or_its_verified_frames_salvaged() {
    let dir = tempfile::tempdir().unwrap();
    let streams = streams(dir.path());
    let tables = tables_from(0);
    // Damage the matt stream near its end (in its last group: frames 1180..1200).
    let bad = streams.join(format!("{}.vqt", KEYS[1]));
    let mut bytes = std::fs::read(&bad).unwrap();
    let at = bytes.len() - 40;
    bytes[at] ^= 0x55;
    std::fs::write(&bad, &bytes).unwrap();
    let out = dir.path().join("out");
    let r = run(&[&"decode", &"--tables", &tables, &"-o", &out, &streams]);
    assert_fails(
        &r,
        1,
        &[&bad.display().to_string(), "1 of 2 streams did not decode (named above); nothing was written"],
    );
    assert_eq!(stderr(&r).lines().count(), 2, "the bad stream, then the summary: {}", stderr(&r));
    assert!(!out.exists());
    assert_eq!(entries(dir.path()), ["npy", "streams"], "no temporaries");
    // --salvage: the whole stream's file, and the damaged one's verified frames.
    let r = run(&[&"decode", &"--salvage", &"--tables", &tables, &"-o", &out, &streams]);
    let err = stderr(&r);
    assert_fails(
        &r,
        1,
        &[
            &format!("{}: first bad group", bad.display()),
            "verified frames before it to",
            "1 of 2 streams did not decode whole (named above); wrote 2 files",
        ],
    );
    assert_eq!(entries(&out), KEYS.map(|k| format!("{k}.npy")));
    assert!(std::fs::read(out.join(format!("{}.npy", KEYS[0]))).unwrap() == std::fs::read(real(0)).unwrap());
    let salvaged = std::fs::read(out.join(format!("{}.npy", KEYS[1]))).unwrap();
    let frames = (salvaged.len() - common::HEADER) / 256;
    assert!(frames % 20 == 0 && (1100..1200).contains(&frames), "{frames} frames salvaged; {err}");
    assert!(salvaged == first_frames(1, frames), "the salvaged frames are the original's first {frames}");
    assert!(err.contains(&format!("wrote the {frames} verified frames before it to")), "{err}");
}
