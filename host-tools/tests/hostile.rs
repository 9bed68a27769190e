//! host-tools used as a careless or hostile user would (issue 9): outputs that
//! are devices, FIFOs, symlinks or inputs; inputs that are FIFOs, damaged
//! shards, huge members, odd names; signals; absurd options. Each test names
//! the defect of the issue it holds fixed. Throughout: an error is one line
//! on stderr, escaped, with no panic, and a failed run leaves no output.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

/// A generous bound that only a hang reaches.
const HANG: Duration = Duration::from_secs(60);

/// Checks `stderr` is exactly one line of printable text without a panic.
fn one_clean_line(stderr: &[u8]) {
    let text = String::from_utf8_lossy(stderr);
    assert!(stderr.ends_with(b"\n") && stderr.iter().filter(|&&b| b == b'\n').count() == 1, "not one line: {text:?}");
    assert!(
        stderr[..stderr.len() - 1].iter().all(|&b| b >= 0x20 && b != 0x7f),
        "raw control bytes in the message: {text:?}"
    );
    assert!(!text.contains("panicked") && !text.contains("RUST_BACKTRACE"), "{text}");
}

/// Runs host-tools with `args`, expects exit status `code` and one clean
/// stderr line containing every one of `needles`; returns stderr.
fn fails(args: &[&OsStr], code: i32, needles: &[&str]) -> String {
    let out = host_tools().args(args).timeout(HANG).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    one_clean_line(&out.stderr);
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: {n:?} not in {stderr}");
    }
    stderr
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// No temporary of host-tools in `dir`.
fn no_temporaries(dir: &Path) {
    let left: Vec<String> = entries(dir).into_iter().filter(|n| n.starts_with(".vqtans-")).collect();
    assert!(left.is_empty(), "temporaries left in {}: {left:?}", dir.display());
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string and mode.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}

/// Encodes real segment `seg` with tables from the other one into `dir`.
fn stream_of(seg: usize, dir: &Path) -> (PathBuf, PathBuf) {
    let tables = tables_from(1 - seg);
    let stream = dir.join(format!("seg{seg}.vqt"));
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &stream, &real(seg)]);
    (tables, stream)
}

/// A tar archive of `members` (raw names), as bytes.
fn tar_of(members: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, Path::new(OsStr::from_bytes(name)), *data).unwrap();
    }
    builder.into_inner().unwrap()
}

/// `data` as one gzip member.
fn gzip(data: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// The two real segments as members `k0.token.npy`, `k1.token.npy` (with a
/// `.json` each).
fn real_members() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut m = Vec::new();
    for i in 0..2 {
        m.push((format!("k{i}.json").into_bytes(), b"{}".to_vec()));
        m.push((format!("k{i}.token.npy").into_bytes(), fs::read(real(i)).unwrap()));
    }
    m
}

fn as_refs(m: &[(Vec<u8>, Vec<u8>)]) -> Vec<(&[u8], &[u8])> {
    m.iter().map(|(a, b)| (a.as_slice(), b.as_slice())).collect()
}

// Defect 1: outputs that are not regular files were replaced.
#[test]
fn non_regular_outputs_are_written_through_and_symlinks_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    let original = fs::read(real(0)).unwrap();

    // `-` is standard output; the summary then goes to stderr.
    let out = host_tools().args([os("decode"), os("--tables")]).arg(&tables).args(["-o", "-"]).arg(&stream).output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout == original, "decode -o - wrote {} bytes", out.stdout.len());
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard output"));
    assert!(!dir.path().join("-").exists());
    // /dev/stdout is standard output too (here a pipe).
    let out = host_tools().args(["decode", "--tables"]).arg(&tables).args(["-o", "/dev/stdout"]).arg(&stream).output();
    assert!(out.unwrap().stdout == original);

    // A FIFO is written through, and stays a FIFO.
    let fifo = dir.path().join("pipe.npy");
    mkfifo(&fifo);
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            let mut bytes = Vec::new();
            fs::File::open(fifo).unwrap().read_to_end(&mut bytes).unwrap();
            bytes
        }
    });
    host_tools()
        .args(["decode", "--tables"])
        .arg(&tables)
        .arg("-o")
        .arg(&fifo)
        .arg(&stream)
        .timeout(HANG)
        .assert()
        .success();
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    assert!(reader.join().unwrap() == original);

    // A symlink is followed (dangling, then existing target); it stays a link.
    let link = dir.path().join("link.npy");
    std::os::unix::fs::symlink("target.npy", &link).unwrap();
    for _ in 0..2 {
        host_tools().args(["decode", "--tables"]).arg(&tables).arg("-o").arg(&link).arg(&stream).assert().success();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the symlink was replaced");
        assert!(fs::read(dir.path().join("target.npy")).unwrap() == original);
    }
    no_temporaries(dir.path());

    // A character device of our own (mknod needs root; CI runs as root): a
    // null device in the temporary folder, harmless if it were replaced.
    let null = dir.path().join("null");
    let c = std::ffi::CString::new(null.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid path and mode; makedev(1, 3) is the null device.
    if unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) } == 0 {
        host_tools().args(["decode", "--tables"]).arg(&tables).arg("-o").arg(&null).arg(&stream).assert().success();
        assert!(fs::symlink_metadata(&null).unwrap().file_type().is_char_device(), "the device was replaced");
    }
    // /dev/null itself, with every command that writes (only after the checks
    // above passed): it stays the character device.
    let dev_null = Path::new("/dev/null");
    host_tools().args(["decode", "--tables"]).arg(&tables).args(["-o", "/dev/null"]).arg(&stream).assert().success();
    host_tools().args(["encode", "--tables"]).arg(&tables).args(["-o", "/dev/null"]).arg(real(0)).assert().success();
    host_tools().args(["build-tables", "-o", "/dev/null"]).arg(real(0)).assert().success();
    assert!(fs::symlink_metadata(dev_null).unwrap().file_type().is_char_device(), "/dev/null was replaced");
    // A folder output of encode cannot be a device.
    let folder = dir.path().join("in");
    fs::create_dir(&folder).unwrap();
    fs::copy(real(0), folder.join("a.npy")).unwrap();
    fails(
        &[os("encode"), os("--tables"), tables.as_os_str(), os("-o"), os("/dev/null"), folder.as_os_str()],
        1,
        &["not a folder"],
    );
    assert!(fs::symlink_metadata(dev_null).unwrap().file_type().is_char_device());
}

// `-` for standard input and output where it makes sense.
#[test]
fn dash_reads_standard_input_and_writes_standard_output() {
    let tables = tables_from(1);
    let original = fs::read(real(0)).unwrap();
    let out = host_tools()
        .args(["encode", "--tables"])
        .arg(&tables)
        .args(["-o", "-", "-"])
        .write_stdin(original.clone())
        .output();
    let out = out.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stream = out.stdout;
    assert_eq!(&stream[..4], b"VQTA");
    let out = host_tools()
        .args(["decode", "--tables"])
        .arg(&tables)
        .args(["-o", "-", "-"])
        .write_stdin(stream.clone())
        .output();
    assert!(out.unwrap().stdout == original);
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.vqt");
    fs::write(&s, &stream).unwrap();
    host_tools()
        .args(["verify", "--tables"])
        .arg(&tables)
        .arg(&s)
        .arg("-")
        .write_stdin(original.clone())
        .assert()
        .success();
    host_tools().args(["verify", "--tables"]).arg(&tables).arg("-").arg(real(0)).write_stdin(stream).assert().success();
    host_tools()
        .args(["stats", "--tables"])
        .arg(&tables)
        .arg("-")
        .write_stdin(original.clone())
        .assert()
        .success()
        .stdout(contains("stdin"));
    // build-tables reads its inputs twice: stdin cannot be one (a usage error).
    let out = host_tools()
        .args(["build-tables", "-o"])
        .arg(dir.path().join("t.vqtt"))
        .arg("-")
        .write_stdin(original)
        .output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(2));
    one_clean_line(&out.stderr);
    assert!(!dir.path().join("t.vqtt").exists());
}

// Defect 2: build-tables overwrote an input reached through a folder.
#[test]
fn no_command_writes_over_an_input_however_reached() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("f");
    fs::create_dir(&f).unwrap();
    let x = f.join("x.npy");
    fs::copy(real(1), &x).unwrap();
    fs::copy(real(0), f.join("y.npy")).unwrap();
    let before = fs::read(&x).unwrap();
    // A folder member, named directly, through a symlink, through a hard link.
    let link = dir.path().join("link.vqtt");
    std::os::unix::fs::symlink(&x, &link).unwrap();
    let hard = dir.path().join("hard.vqtt");
    fs::hard_link(&x, &hard).unwrap();
    for out in [&x, &link, &hard] {
        fails(&[os("build-tables"), os("-o"), out.as_os_str(), f.as_os_str()], 1, &["refusing to write", "x.npy"]);
    }
    // encode of a folder whose stream would land on an input (a hard link
    // to it in the output folder).
    let tables = tables_from(0);
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::hard_link(&x, out.join("x.vqt")).unwrap();
    fails(
        &[os("encode"), os("--tables"), tables.as_os_str(), os("-o"), out.as_os_str(), f.as_os_str()],
        1,
        &["refusing to write", "x.vqt"],
    );
    assert_eq!(entries(&out), ["x.vqt"]);
    // decode onto a hard link of its tables.
    let (t, stream) = stream_of(0, dir.path());
    let t_hard = dir.path().join("t-hard.npy");
    fs::hard_link(&t, &t_hard).unwrap();
    let t_before = fs::read(&t).unwrap();
    fails(
        &[os("decode"), os("--tables"), t.as_os_str(), os("-o"), t_hard.as_os_str(), stream.as_os_str()],
        1,
        &["refusing to write"],
    );
    assert!(fs::read(&t).unwrap() == t_before);
    // decode onto the file its standard input comes from.
    let stream_before = fs::read(&stream).unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("host-tools"))
        .args([os("decode"), os("--tables"), t.as_os_str(), os("-o"), stream.as_os_str(), os("-")])
        .stdin(fs::File::open(&stream).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    one_clean_line(&out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to write"));
    assert!(fs::read(&stream).unwrap() == stream_before);
    assert!(fs::read(&x).unwrap() == before, "an input was modified");
    no_temporaries(dir.path());
}

/// A gzip shard `name` holding one tar entry `entry` of type `kind` whose data
/// is `prefix` then `zeros` zero bytes (never held in memory: the zeros are
/// one 1 MiB gzip member written again and again), followed by real segment 0
/// as `good.token.npy` when `then_good`.
fn huge_entry_shard(
    dir: &Path,
    name: &str,
    (entry, kind): (&str, tar::EntryType),
    prefix: &[u8],
    zeros: u64,
    then_good: bool,
) -> PathBuf {
    const BLOCK: u64 = 1 << 20;
    assert!(zeros % BLOCK == 0 && prefix.len() < 512);
    let mut header = tar::Header::new_gnu();
    header.set_path(entry).unwrap();
    header.set_size(prefix.len() as u64 + zeros);
    header.set_mode(0o644);
    header.set_entry_type(kind);
    header.set_cksum();
    let path = dir.join(name);
    let mut file = std::io::BufWriter::new(fs::File::create(&path).unwrap());
    let fast = flate2::Compression::fast();
    file.write_all(&gzip(&[header.as_bytes().as_slice(), prefix].concat(), fast)).unwrap();
    let block = gzip(&vec![0u8; BLOCK as usize], flate2::Compression::best());
    for _ in 0..zeros / BLOCK {
        file.write_all(&block).unwrap();
    }
    // Padding of the entry to 512 bytes, then the rest of the archive.
    let mut tail = vec![0u8; (512 - prefix.len()) % 512];
    if then_good {
        let good = fs::read(real(0)).unwrap();
        tail.extend_from_slice(&tar_of(&[(b"good.token.npy", &good)]));
    } else {
        tail.extend_from_slice(&[0u8; 1024]);
    }
    file.write_all(&gzip(&tail, fast)).unwrap();
    file.flush().unwrap();
    path
}

/// A shard whose member `big.token.npy` announces `frames` int16 frames of
/// zeros; see [`huge_entry_shard`].
fn zero_shard(dir: &Path, name: &str, frames: u64, then_good: bool) -> PathBuf {
    let npy_header = replace_in_header(&first_frames(0, 1)[..HEADER], "(1, 8, 16)", &format!("({frames}, 8, 16)"));
    huge_entry_shard(dir, name, ("big.token.npy", tar::EntryType::Regular), &npy_header, frames * 256, then_good)
}

/// host-tools with its address space limited to `bytes` (so a command that
/// tried to hold a huge member would fail to allocate).
fn limited(bytes: u64) -> assert_cmd::Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("host-tools"));
    // SAFETY: only setrlimit, which is async-signal-safe, runs in the child.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut cmd = assert_cmd::Command::from_std(cmd);
    cmd.timeout(HANG);
    cmd
}

// Defect 3: memory was not bounded by the segment limit.
#[test]
fn memory_is_bounded_by_one_segment_of_at_most_65536_frames() {
    const GIB: u64 = 1 << 30;
    let dir = tempfile::tempdir().unwrap();
    // 4,194,304 frames: 1 GiB of zeros in a shard of about 1 MiB.
    let shard = zero_shard(dir.path(), "zeros.tar.gz", 4 << 20, false);
    assert!(fs::metadata(&shard).unwrap().len() < 4 << 20);
    let tables = tables_from(0);
    let message = "zeros.tar.gz/big.token.npy: 4194304 frames is more than a segment may hold (1..=65536)";
    let (out_dir, out_tables) = (dir.path().join("out"), dir.path().join("t.vqtt"));
    for args in [
        vec![os("encode"), os("--tables"), tables.as_os_str(), os("-o"), out_dir.as_os_str()],
        vec![os("stats"), os("--tables"), tables.as_os_str()],
        vec![os("build-tables"), os("-o"), out_tables.as_os_str()],
    ] {
        let start = Instant::now();
        let out = limited(GIB).args(&args).arg(&shard).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        one_clean_line(&out.stderr);
        assert!(stderr.contains(message), "{stderr}");
        println!("{:?}: refused in {:.2} s", args[0], start.elapsed().as_secs_f64());
    }
    assert_eq!(entries(dir.path()), ["zeros.tar.gz"]);

    // --skip-bad reads past it (1 GiB decompressed, never held) and trains on
    // the good segment after it: the same tables as from that segment alone.
    let shard = zero_shard(dir.path(), "then-good.tar.gz", 4 << 20, true);
    let out = limited(GIB).args(["build-tables", "--skip-bad", "-o"]).arg(&out_tables).arg(&shard).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("4194304 frames"));
    assert!(fs::read(&out_tables).unwrap() == fs::read(tables_from(0)).unwrap());

    // Tar extensions that the tar crate would read whole: a GNU long name and
    // a PAX header of 1 GiB each.
    for (name, entry, what) in [
        ("longname.tar.gz", ("././@LongLink", tar::EntryType::GNULongName), "a GNU long name of 1073741824 bytes"),
        ("pax.tar.gz", ("PaxHeaders/big", tar::EntryType::XHeader), "a PAX header of 1073741824 bytes"),
    ] {
        let shard = huge_entry_shard(dir.path(), name, entry, b"", GIB, true);
        let out = limited(GIB).args(["stats", "--tables"]).arg(&tables).arg(&shard).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        one_clean_line(&out.stderr);
        assert!(stderr.contains(&format!("{name}: damaged shard: {what}")), "{stderr}");
    }

    // build-tables holds the same 1..=65536 limit as encode, for plain files.
    let long = dir.path().join("long.npy");
    let mut npy = replace_in_header(&first_frames(0, 1)[..HEADER], "(1, 8, 16)", "(65537, 8, 16)");
    npy.resize(HEADER + 65_537 * 256, 0);
    fs::write(&long, npy).unwrap();
    fails(
        &[os("build-tables"), os("-o"), out_tables.as_os_str(), long.as_os_str()],
        1,
        &["long.npy: 65537 frames is more than a segment may hold"],
    );
}

/// Real segments 0 and 1 in a shard stored without compression (so a flipped
/// data bit keeps the deflate stream valid and changes one token).
fn stored_shard() -> (Vec<u8>, Vec<u8>) {
    let tar = tar_of(&as_refs(&real_members()));
    (gzip(&tar, flate2::Compression::none()), tar)
}

// Defect 4: the gzip checksum of shards was never checked.
#[test]
fn damaged_gzip_shards_are_refused_like_gzip_t_does() {
    let dir = tempfile::tempdir().unwrap();
    let (good, tar) = stored_shard();
    // Bytes of segment 1's token data, found verbatim in the stored blocks.
    let at_tar = tar.windows(4).position(|w| w == b"k1.t").unwrap() + 512 + HEADER + 2 * 5000;
    let window = &tar[at_tar..at_tar + 32];
    let at = good.windows(32).position(|w| w == window).expect("stored data") + 16;
    let n = good.len();
    let mut variants: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut flip = good.clone();
    flip[at] ^= 0x01; // the low bit of a token: still 0..=1023
    variants.push(("flipped-bit", flip));
    let mut crc = good.clone();
    crc[n - 8] ^= 0x01;
    variants.push(("wrong-crc", crc));
    let mut isize = good.clone();
    isize[n - 3] ^= 0x01;
    variants.push(("wrong-isize", isize));
    variants.push(("cut-trailer", good[..n - 4].to_vec()));
    variants.push(("trailing-garbage", [&good[..], b"garbage\n"].concat()));
    let tables = tables_from(0);
    for (name, bytes) in &variants {
        let shard = dir.path().join(format!("{name}.tar.gz"));
        fs::write(&shard, bytes).unwrap();
        // gzip -t refuses it too (where gzip is installed).
        if let Ok(status) = std::process::Command::new("gzip").arg("-t").arg(&shard).stderr(Stdio::null()).status() {
            assert!(!status.success(), "gzip -t accepts {name}");
        }
        let shard_name = format!("{name}.tar.gz: damaged shard");
        let out_dir = dir.path().join("out");
        let t = dir.path().join("t.vqtt");
        let s = shard.as_os_str();
        fails(&[os("encode"), os("--tables"), tables.as_os_str(), os("-o"), out_dir.as_os_str(), s], 1, &[&shard_name]);
        fails(&[os("stats"), os("--tables"), tables.as_os_str(), s], 1, &[&shard_name]);
        // Also when only the first segment is asked for: the shard is still
        // read to its end.
        fails(&[os("stats"), os("--only"), os("k0"), os("--tables"), tables.as_os_str(), s], 1, &[&shard_name]);
        fails(&[os("build-tables"), os("-o"), t.as_os_str(), s], 1, &[&shard_name]);
        fails(
            &[os("build-tables"), os("--skip-bad"), os("--limit"), os("1"), os("-o"), t.as_os_str(), s],
            1,
            &[&shard_name],
        );
        assert!(!out_dir.exists() && !t.exists(), "{name}: output written");
        let out = host_tools().args(["stats", "--tables"]).arg(&tables).arg(&shard).output().unwrap();
        assert!(out.stdout.is_empty(), "{name}: stats printed figures");
    }
    // The intact shard, and one padded with zeros (which gzip -t accepts).
    for (name, bytes) in [("intact", good.clone()), ("zero-padded", [&good[..], &[0u8; 100]].concat())] {
        let shard = dir.path().join(format!("{name}.tar.gz"));
        fs::write(&shard, bytes).unwrap();
        host_tools().args(["stats", "--tables"]).arg(&tables).arg(&shard).assert().success().stdout(contains("k1"));
    }
    no_temporaries(dir.path());
}

// Defect 5: --threads was neither checked nor capped.
#[test]
fn threads_are_checked_and_capped() {
    let tables = tables_from(0);
    for n in ["0", "257", "1000", "100000", "-1"] {
        host_tools()
            .arg(format!("--threads={n}"))
            .args(["stats", "--tables"])
            .arg(&tables)
            .arg(real(1))
            .timeout(HANG)
            .assert()
            .code(2)
            .stderr(contains("--threads").and(contains("1..=256")));
    }
    // The cap itself works, quickly (only as many workers as segments start).
    host_tools()
        .args(["--threads", "256", "stats", "--tables"])
        .arg(&tables)
        .arg(real(1))
        .timeout(HANG)
        .assert()
        .success();
}

// Defect 6: a failed folder or shard encode left partial output.
#[test]
fn a_failed_folder_or_shard_encode_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    fs::copy(real(0), input.join("a.npy")).unwrap();
    fs::copy(real(1), input.join("b.npy")).unwrap();
    let mut bad = fs::read(real(1)).unwrap();
    bad[HEADER + 2 * 300..HEADER + 2 * 301].copy_from_slice(&1024u16.to_le_bytes());
    fs::write(input.join("c.npy"), &bad).unwrap();
    let mut members = real_members();
    members.push((b"k2.token.npy".to_vec(), bad));
    let shard = dir.path().join("data-0000.tar.gz");
    write_shard(
        &shard,
        &members.iter().map(|(n, d)| (String::from_utf8(n.clone()).unwrap(), d.clone())).collect::<Vec<_>>(),
    );
    let existing = dir.path().join("existing");
    fs::create_dir(&existing).unwrap();
    fs::write(existing.join("keep.txt"), b"k").unwrap();
    for source in [&input, &shard] {
        let new = dir.path().join("new");
        fails(
            &[os("encode"), os("--tables"), tables.as_os_str(), os("-o"), new.as_os_str(), source.as_os_str()],
            1,
            &["1024"],
        );
        assert!(!new.exists(), "a new output folder remains");
        fails(
            &[os("encode"), os("--tables"), tables.as_os_str(), os("-o"), existing.as_os_str(), source.as_os_str()],
            1,
            &["1024"],
        );
        assert_eq!(entries(&existing), ["keep.txt"]);
    }
    assert_eq!(entries(dir.path()), ["data-0000.tar.gz", "existing", "in"]);
    // Without the bad segment, all streams appear at once.
    fs::remove_file(input.join("c.npy")).unwrap();
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &existing, &input]);
    assert_eq!(entries(&existing), ["a.vqt", "b.vqt", "keep.txt"]);
}

// Defect 7: a FIFO given directly as an input hung forever.
#[test]
fn fifo_inputs_are_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    let f = |name: &str| {
        let p = dir.path().join(name);
        mkfifo(&p);
        p
    };
    let (npy, vqt, vqtt, tar) = (f("in.npy"), f("in.vqt"), f("in.vqtt"), f("in.tar.gz"));
    let t = tables.as_os_str();
    let out = dir.path().join("out");
    let o = out.as_os_str();
    let original = real(0).into_os_string();
    let cases: Vec<(Vec<&OsStr>, i32, &str)> = vec![
        (vec![os("encode"), os("--tables"), t, os("-o"), o, npy.as_os_str()], 1, "in.npy: is a FIFO"),
        (vec![os("encode"), os("--tables"), t, os("-o"), o, tar.as_os_str()], 1, "in.tar.gz: is a FIFO"),
        (vec![os("encode"), os("--tables"), vqtt.as_os_str(), os("-o"), o, &original], 1, "in.vqtt: is a FIFO"),
        (vec![os("stats"), os("--tables"), t, npy.as_os_str()], 1, "in.npy: is a FIFO"),
        (vec![os("build-tables"), os("-o"), o, npy.as_os_str()], 1, "in.npy: is a FIFO"),
        (vec![os("decode"), os("--tables"), t, os("-o"), o, vqt.as_os_str()], 1, "in.vqt: is a FIFO"),
        (vec![os("verify"), os("--tables"), t, vqt.as_os_str(), &original], 2, "in.vqt: is a FIFO"),
        (vec![os("verify"), os("--tables"), t, stream.as_os_str(), npy.as_os_str()], 2, "in.npy: is a FIFO"),
    ];
    for (args, code, needle) in cases {
        fails(&args, code, &[needle]);
    }
    assert!(!out.exists());
}

/// Starts `host-tools args` in the background.
fn spawn(args: &[&OsStr]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("host-tools"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` to end (killing it after [`HANG`]).
fn wait(mut child: std::process::Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > HANG {
            child.kill().unwrap();
            panic!("host-tools did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// Defect 8: Ctrl-C and SIGTERM left temporaries; kill -9 leftovers stayed.
#[test]
fn signals_remove_temporaries_and_exit_with_128_plus_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("many");
    fs::create_dir(&input).unwrap();
    // Many segments (hard links cost nothing), so the run lasts a while.
    for i in 0..400 {
        fs::hard_link(real(i % 2), input.join(format!("s{i:03}.npy"))).unwrap();
    }
    let tables = tables_from(0);
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130), (libc::SIGHUP, 129)] {
        let out = dir.path().join("out");
        let child =
            spawn(&[os("encode"), os("--tables"), tables.as_os_str(), os("-o"), out.as_os_str(), input.as_os_str()]);
        // Wait until the run is staging its streams, then signal it.
        let start = Instant::now();
        let staging = loop {
            let found = entries(dir.path()).into_iter().find(|n| n.starts_with(".vqtans-"));
            if let Some(name) = found {
                let path = dir.path().join(name);
                if fs::read_dir(&path).map(|d| d.count() > 0).unwrap_or(false) {
                    break path;
                }
            }
            assert!(start.elapsed() < HANG, "no staging folder appeared");
            std::thread::sleep(Duration::from_millis(2));
        };
        // SAFETY: sending a signal to our own child.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let status = wait(child);
        assert_eq!(status.code(), Some(code), "signal {signal}: {status:?}");
        assert!(!staging.exists(), "signal {signal}: staging folder left");
        no_temporaries(dir.path());
        assert!(!out.exists(), "signal {signal}: output of an interrupted run");
    }
}

#[test]
fn stale_temporaries_of_killed_runs_are_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    // What a run killed with SIGKILL leaves: its pid no longer exists.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let file = dir.path().join(format!(".vqtans-{dead}-AbCdEfGh.tmp"));
    let folder = dir.path().join(format!(".vqtans-{dead}-IjKlMnOp.tmp"));
    fs::write(&file, b"partial").unwrap();
    fs::create_dir(&folder).unwrap();
    fs::write(folder.join("a.vqt"), b"partial").unwrap();
    // Temporaries of a live process (this one) stay.
    let live = dir.path().join(format!(".vqtans-{}-QrStUvWx.tmp", std::process::id()));
    fs::write(&live, b"in use").unwrap();
    run_ok(&[&"decode", &"--tables", &tables, &"-o", &dir.path().join("out.npy"), &stream]);
    assert!(!file.exists() && !folder.exists(), "stale temporaries stay");
    assert!(live.exists());
}

// Defect 9: output names of 244-255 bytes failed.
#[test]
fn output_names_up_to_255_bytes_work() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(1, dir.path());
    for len in [244, 250, 255] {
        let name = format!("{}.npy", "d".repeat(len - 4));
        let out = dir.path().join(&name);
        run_ok(&[&"decode", &"--tables", &tables, &"-o", &out, &stream]);
        assert!(fs::read(&out).unwrap() == fs::read(real(1)).unwrap());
        let t = dir.path().join("t".repeat(len));
        run_ok(&[&"build-tables", &"-o", &t, &real(0)]);
    }
    // A key of 251 bytes gives a stream name of 255 in a folder output.
    let input = dir.path().join("in");
    fs::create_dir(&input).unwrap();
    let key = "k".repeat(251);
    fs::copy(real(0), input.join(format!("{key}.npy"))).unwrap();
    let out = dir.path().join("out");
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &out, &input]);
    assert_eq!(entries(&out), [format!("{key}.vqt")]);
    no_temporaries(dir.path());
}

// Defect 10: verify said 1 where the check could not be made.
#[test]
fn verify_says_2_when_the_check_cannot_be_made() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    let t = tables.as_os_str();
    let original = real(0).into_os_string();
    let missing = dir.path().join("missing.vqt");
    fails(&[os("verify"), os("--tables"), t, missing.as_os_str(), &original], 2, &["missing.vqt", "cannot read"]);
    fails(&[os("verify"), os("--tables"), t, dir.path().as_os_str(), &original], 2, &["is a folder"]);
    let other = tables_from(0);
    fails(
        &[os("verify"), os("--tables"), other.as_os_str(), stream.as_os_str(), &original],
        2,
        &["seg0.vqt", "table set"],
    );
    // A damaged stream is a real failure: 1.
    let mut bytes = fs::read(&stream).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x10;
    let damaged = dir.path().join("damaged.vqt");
    fs::write(&damaged, bytes).unwrap();
    fails(&[os("verify"), os("--tables"), t, damaged.as_os_str(), &original], 1, &["verify FAILED", "damaged.vqt"]);
    run_ok(&[&"verify", &"--tables", &tables, &stream, &real(0)]);
}

// Defect 11: -o naming a folder was silent; -o / wrote into the root.
#[test]
fn a_folder_output_for_one_file_is_said_and_the_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(1);
    host_tools()
        .args(["encode", "--tables"])
        .arg(&tables)
        .arg("-o")
        .arg(dir.path())
        .arg(real(0))
        .assert()
        .success()
        .stderr(contains(format!("writing {}/commaai-commavq_0.vqt", dir.path().display())));
    assert!(dir.path().join("commaai-commavq_0.vqt").is_file());
    // Into the filesystem root: refused, whatever the command. A key of our
    // own, so that a failure of this test can clean up after itself.
    let key = format!("vqtans-root-test-{}", std::process::id());
    let npy = dir.path().join(format!("{key}.npy"));
    fs::copy(real(0), &npy).unwrap();
    let in_root = PathBuf::from(format!("/{key}.vqt"));
    struct Cleanup(PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = fs::remove_file(&self.0);
        }
    }
    let _cleanup = Cleanup(in_root.clone());
    let t = tables.as_os_str();
    fails(&[os("encode"), os("--tables"), t, os("-o"), os("/"), npy.as_os_str()], 1, &["filesystem root"]);
    fails(&[os("encode"), os("--tables"), t, os("-o"), in_root.as_os_str(), npy.as_os_str()], 1, &["filesystem root"]);
    fails(&[os("build-tables"), os("-o"), in_root.as_os_str(), npy.as_os_str()], 1, &["filesystem root"]);
    let folder = dir.path().join("in");
    fs::create_dir(&folder).unwrap();
    fs::copy(&npy, folder.join(format!("{key}.npy"))).unwrap();
    fails(&[os("encode"), os("--tables"), t, os("-o"), os("/"), folder.as_os_str()], 1, &["filesystem root"]);
    let new_in_root = format!("/{key}-folder");
    fails(&[os("encode"), os("--tables"), t, os("-o"), os(&new_in_root), folder.as_os_str()], 1, &["filesystem root"]);
    assert!(!in_root.exists() && !Path::new(&new_in_root).exists());
}

// Defect 12: non-UTF-8 file names were converted lossily into keys.
#[test]
fn non_utf8_file_names_are_refused_not_mangled() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("odd");
    fs::create_dir(&folder).unwrap();
    let ff = folder.join(OsStr::from_bytes(b"\xff.npy"));
    fs::copy(real(0), &ff).unwrap();
    fs::copy(real(1), folder.join(OsStr::from_bytes(b"\xfe.npy"))).unwrap();
    let tables = tables_from(0);
    let t = tables.as_os_str();
    let out = dir.path().join("out");
    let needles = ["\\xFE.npy", "not valid UTF-8"];
    fails(&[os("build-tables"), os("-o"), out.as_os_str(), folder.as_os_str()], 1, &needles);
    fails(&[os("stats"), os("--tables"), t, folder.as_os_str()], 1, &needles);
    fails(&[os("encode"), os("--tables"), t, os("-o"), out.as_os_str(), folder.as_os_str()], 1, &needles);
    fails(
        &[os("encode"), os("--tables"), t, os("-o"), out.as_os_str(), ff.as_os_str()],
        1,
        &["\\xFF.npy", "not valid UTF-8"],
    );
    assert!(!out.exists());
    // A shard member, likewise.
    let npy = fs::read(real(0)).unwrap();
    let shard = dir.path().join("odd.tar");
    fs::write(&shard, tar_of(&[(b"\xff\x1b.token.npy", &npy)])).unwrap();
    fails(
        &[os("stats"), os("--tables"), t, shard.as_os_str()],
        1,
        &["odd.tar/\\xFF\\u{1b}.token.npy", "not valid UTF-8"],
    );
    // Valid UTF-8 with control characters: no key either (it would name a
    // file and be printed).
    fs::write(&shard, tar_of(&[(b"a\x1b[2Jb.token.npy", &npy)])).unwrap();
    fails(
        &[os("stats"), os("--tables"), t, shard.as_os_str()],
        1,
        &["odd.tar/a\\u{1b}[2Jb.token.npy: the file name contains control characters"],
    );
}

// The shard reader handles tar's name extensions itself (with bounds): long
// names and PAX paths still give the right keys.
#[test]
fn shard_members_with_long_or_pax_names_keep_their_keys() {
    let dir = tempfile::tempdir().unwrap();
    let long_key = format!("{}_13", "a".repeat(150));
    let pax_key = "pax-named";
    let mut builder = tar::Builder::new(Vec::new());
    for (key, i, pax) in [(long_key.as_str(), 0, false), (pax_key, 1, true)] {
        let data = fs::read(real(i)).unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        if pax {
            let path = format!("dir/{key}.token.npy");
            builder.append_pax_extensions([("path", path.as_bytes())]).unwrap();
            header.set_path("short-name.bin").unwrap();
            header.set_cksum();
            builder.append(&header, &data[..]).unwrap();
        } else {
            builder.append_data(&mut header, format!("dir/{key}.token.npy"), &data[..]).unwrap();
        }
    }
    let shard = dir.path().join("names.tar");
    fs::write(&shard, builder.into_inner().unwrap()).unwrap();
    let out = run_ok(&[&"stats", &"--tables", &tables_from(0), &shard]);
    assert!(out.contains(&long_key) && out.contains(pax_key), "{out}");
    assert!(out.contains("2 segments encoded, decoded and compared"), "{out}");
}

// Defect 13: misleading messages.
#[test]
fn a_key_both_selected_and_excluded_is_refused() {
    let tables = tables_from(0);
    let k = "mattseabrook-commavq_0";
    let data = data_dir().into_os_string();
    let needles = ["mattseabrook-commavq_0 is both selected (--only) and excluded (--exclude)"];
    // A usage error: status 2 (issue 18, item 11).
    fails(
        &[os("build-tables"), os("--only"), os(k), os("--exclude"), os(k), os("-o"), os("/tmp/never.vqtt"), &data],
        2,
        &needles,
    );
    fails(
        &[os("stats"), os("--only"), os(k), os("--exclude"), os(k), os("--tables"), tables.as_os_str(), &data],
        2,
        &needles,
    );
}

// Issue 18, item 11: usage errors found after parsing exited 1, not 2.
#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let seg = real(0).into_os_string();
    let (t, seg) = (tables.as_os_str(), seg.as_os_str());
    let out = dir.path().join("o.vqtt");
    let o = out.as_os_str();
    // A K the context model does not support: clap's own error, before any input is read.
    for args in [
        vec![os("build-tables"), os("--k"), os("5"), os("-o"), o, seg],
        vec![os("pack"), os("--train"), os("--k"), os("5"), os("-o"), o, seg],
    ] {
        let r = host_tools().args(&args).timeout(HANG).output().unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("invalid value '5' for '--k <K>': the successor list length must be one of 4, 6, 8"),
            "{err}"
        );
    }
    let zip = dir.path().join("s.zip");
    let archive = dir.path().join("a.vqa");
    run_ok(&[&"pack", &"-o", &archive, &"--tables", &tables, &real(0)]);
    for (args, needle) in [
        (vec![os("build-tables"), os("-o"), o, os("-")], "build-tables reads its inputs twice"),
        (
            vec![os("pack"), os("--train"), os("-o"), zip.as_os_str(), os("-")],
            "pack --train reads its inputs three times",
        ),
        (
            vec![
                os("pack"),
                os("--challenge"),
                os("--decoder"),
                os("/bin/sh"),
                os("-o"),
                os("-"),
                os("--tables"),
                t,
                seg,
            ],
            "pack --challenge writes a zip, which needs a file",
        ),
        (
            vec![os("stats"), os("--tables"), t, archive.as_os_str()],
            "an archive holds its own table set; leave out --tables",
        ),
        (vec![os("stats"), seg], "stats needs --tables for segments"),
    ] {
        fails(&args, 2, &[needle]);
    }
    assert_eq!(entries(dir.path()), ["a.vqa"]);
}

// Issue 18, item 11: with a key held twice, --only kept one copy silently
// (it stopped reading at the first); pack refuses it as without --only.
#[test]
fn only_does_not_hide_a_key_held_twice() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let mut members = real_members();
    members.extend(real_members().into_iter().filter(|(name, _)| name.starts_with(b"k0")));
    let shard = dir.path().join("twice.tar");
    fs::write(&shard, tar_of(&as_refs(&members))).unwrap();
    let archive = dir.path().join("p.vqa");
    let (t, s) = (tables.as_os_str(), shard.as_os_str());
    let seg = real(0);
    for only in [&[][..], &[os("--only"), os("k0")]] {
        let mut args = vec![os("pack"), os("--tables"), t, os("-o"), archive.as_os_str()];
        args.extend_from_slice(only);
        args.extend([s, seg.as_os_str()]);
        fails(&args, 1, &["p.vqa: segment k0: the key is used twice"]);
    }
    // Two files with the same key.
    let k = "commaai-commavq_0";
    let copy = dir.path().join("copy");
    fs::create_dir(&copy).unwrap();
    fs::copy(real(0), copy.join(format!("{k}.npy"))).unwrap();
    let (a, b) = (real(0).into_os_string(), copy.join(format!("{k}.npy")).into_os_string());
    fails(
        &[os("pack"), os("--tables"), t, os("--only"), os(k), os("-o"), archive.as_os_str(), &a, &b],
        1,
        &[&format!("p.vqa: segment {k}: the key is used twice")],
    );
    assert_eq!(entries(dir.path()), ["copy", "twice.tar"]);
}

#[test]
fn a_short_tar_member_gives_the_same_clear_message_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let tar = tar_of(&as_refs(&real_members()));
    // Cut inside the data of the second segment's member, and right after its
    // data (inside the padding).
    let second = tar.windows(12).position(|w| w == b"k1.token.npy").unwrap() + 512;
    let (o, t) = (dir.path().join("o"), dir.path().join("t"));
    for (name, cut) in [("mid.tar", second + 1000), ("padding.tar", second + 307_328 + 100)] {
        for (shard, bytes) in [
            (dir.path().join(name), tar[..cut].to_vec()),
            (dir.path().join(format!("{name}.gz")), gzip(&tar[..cut], flate2::Compression::fast())),
        ] {
            fs::write(&shard, bytes).unwrap();
            let s = shard.as_os_str();
            let needle = format!(
                "{}: damaged shard: the archive ends early (the file is truncated) (at member k1.token.npy)",
                shard.display()
            );
            let a =
                fails(&[os("encode"), os("--tables"), tables.as_os_str(), os("-o"), o.as_os_str(), s], 1, &[&needle]);
            let b = fails(&[os("stats"), os("--tables"), tables.as_os_str(), s], 1, &[&needle]);
            let c = fails(&[os("build-tables"), os("-o"), t.as_os_str(), s], 1, &[&needle]);
            assert!(a == b && b == c, "{a}{b}{c}");
        }
    }
}

#[test]
fn impossible_frame_counts_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let npy = replace_in_header(&fs::read(real(0)).unwrap(), "(1200, 8, 16)", "(18446744073709551615, 8, 16)");
    let path = dir.path().join("huge.npy");
    fs::write(&path, npy).unwrap();
    let needle = "huge.npy: 18446744073709551615 frames is more than a segment may hold";
    fails(&[os("stats"), os("--tables"), tables.as_os_str(), path.as_os_str()], 1, &[needle]);
    fails(&[os("encode"), os("--tables"), tables.as_os_str(), os("-o"), os("-"), path.as_os_str()], 1, &[needle]);
}

#[test]
fn garbage_is_escaped_in_messages() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    // A "tar" whose first header is terminal escapes, bells and binary.
    let mut garbage: Vec<u8> = b"\x1b[2J\x07\x1b]0;owned\x07\n\r".to_vec();
    garbage.extend((0..=255u8).cycle().take(2000));
    let shard = dir.path().join("garbage.tar");
    fs::write(&shard, &garbage).unwrap();
    fails(&[os("stats"), os("--tables"), tables.as_os_str(), shard.as_os_str()], 1, &["garbage.tar: damaged shard"]);
    // A .npy header full of control characters.
    let mut npy =
        b"\x93NUMPY\x01\x00\x76\x00{'descr': '\x1b[31m\x07\n', 'fortran_order': False, 'shape': (1, 128), }".to_vec();
    npy.resize(128, b' ');
    npy[127] = b'\n';
    let bad = dir.path().join("escapes.npy");
    fs::write(&bad, &npy).unwrap();
    fails(&[os("stats"), os("--tables"), tables.as_os_str(), bad.as_os_str()], 1, &["escapes.npy"]);
    // A file name with a newline and an escape sequence.
    let odd = dir.path().join("a\nb\x1b[31m.npy");
    fs::write(&odd, b"not a numpy file").unwrap();
    fails(&[os("stats"), os("--tables"), tables.as_os_str(), odd.as_os_str()], 1, &["a\\nb\\u{1b}[31m.npy"]);
}

#[test]
fn npy_headers_with_a_key_twice_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let twice = replace_in_header(
        &fs::read(real(0)).unwrap(),
        "'shape': (1200, 8, 16)",
        "'shape': (1200, 128), 'shape': (1200, 8, 16)",
    );
    let path = dir.path().join("twice.npy");
    fs::write(&path, twice).unwrap();
    let needles = ["twice.npy: not a valid .npy file: the header dictionary has the key 'shape' twice"];
    fails(&[os("stats"), os("--tables"), tables.as_os_str(), path.as_os_str()], 1, &needles);
    let t = dir.path().join("t");
    fails(&[os("build-tables"), os("-o"), t.as_os_str(), path.as_os_str()], 1, &needles);
}

// Defect 14: the table set had no checksum of its own.
#[test]
fn damaged_table_sets_are_refused_on_load_and_old_ones_still_decode() {
    let dir = tempfile::tempdir().unwrap();
    let (tables, stream) = stream_of(0, dir.path());
    let blob = fs::read(&tables).unwrap();
    let original = real(0).into_os_string();
    // One flipped bit in the successor lists (the middle of the file).
    let mut flipped = blob.clone();
    flipped[blob.len() / 2] ^= 0x04;
    let damaged = dir.path().join("damaged.vqtt");
    fs::write(&damaged, flipped).unwrap();
    let out = dir.path().join("out");
    let t = damaged.as_os_str();
    let what = "damaged.vqtt: not a valid vqtans table set: table set is damaged";
    fails(&[os("encode"), os("--tables"), t, os("-o"), out.as_os_str(), &original], 1, &[what]);
    fails(&[os("decode"), os("--tables"), t, os("-o"), out.as_os_str(), stream.as_os_str()], 1, &[what]);
    fails(&[os("stats"), os("--tables"), t, &original], 1, &[what]);
    fails(&[os("verify"), os("--tables"), t, stream.as_os_str(), &original], 2, &[what]);
    assert!(!out.exists());
    // Format 1 (the postcard part alone, format number 1) still loads, with a warning
    // that it has no checksum.
    let mut v1 = blob[..blob.len() - 4].to_vec();
    assert_eq!(v1[0], 2);
    v1[0] = 1;
    let old = dir.path().join("old.vqtt");
    fs::write(&old, v1).unwrap();
    let coded = dir.path().join("old.vqt");
    let run = host_tools()
        .args([os("encode"), os("--tables"), old.as_os_str(), os("-o"), coded.as_os_str(), &original])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("table set format 1 from an earlier vqtans has no checksum"));
    let back = dir.path().join("old.npy");
    host_tools()
        .args([os("decode"), os("--tables"), old.as_os_str(), os("-o"), back.as_os_str(), coded.as_os_str()])
        .assert()
        .success();
    assert_eq!(fs::read(&back).unwrap(), fs::read(real(0)).unwrap());
}
