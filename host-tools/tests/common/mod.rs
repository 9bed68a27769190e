//! Helpers shared by the integration tests: the real data files, `.npy`
//! fixtures derived from them, a shard builder, and table sets built once per
//! test binary.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;

/// The unit tests' helpers (data locations, shard writer), shared.
#[path = "../../src/io/test_support.rs"]
mod test_support;

/// The folder holding the real segments (`$VQTANS_DATA_DIR`, by default
/// `shared/data/commavq` beside the checkout). `near_duplicates/` is not used.
pub fn data_dir() -> PathBuf {
    test_support::data_dir()
}

/// Path of real segment `i` (0 or 1).
pub fn real(i: usize) -> PathBuf {
    test_support::real_file(test_support::REAL_FILES[i])
}

/// The `host-tools` binary.
pub fn host_tools() -> Command {
    Command::cargo_bin("host-tools").expect("host-tools binary")
}

/// Runs `host-tools args...`, asserts success and returns stdout.
pub fn run_ok(args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let out = host_tools().args(args).output().expect("run host-tools");
    assert!(
        out.status.success(),
        "host-tools {:?} failed: {}",
        args.iter().map(|a| a.as_ref().to_owned()).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A directory for the fixtures shared by the tests of this process, under
/// the target directory; leftovers of earlier runs are removed.
fn fixture_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("host-tools-fixtures");
        let _ = std::fs::create_dir_all(&root);
        if let Ok(entries) = std::fs::read_dir(&root) {
            for entry in entries.flatten() {
                let pid = entry.file_name().to_string_lossy().parse::<u32>().ok();
                // A pid no longer running (Linux) left this directory behind.
                if pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists()) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let dir = root.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).expect("fixture dir");
        dir
    })
}

/// Builds tables `name` from `inputs` once per process and returns the path.
fn tables(cell: &'static OnceLock<PathBuf>, name: &str, extra: &[&str], inputs: &[PathBuf]) -> PathBuf {
    cell.get_or_init(|| {
        let out = fixture_dir().join(name);
        let mut cmd = host_tools();
        cmd.arg("build-tables").arg("-o").arg(&out).args(extra).args(inputs);
        cmd.assert().success();
        out
    })
    .clone()
}

/// Context-model tables trained on real segment `i` only.
pub fn tables_from(i: usize) -> PathBuf {
    static CELLS: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    tables(&CELLS[i], &format!("from-{i}.vqtt"), &[], &[real(i)])
}

/// Order-0 tables trained on both real segments.
pub fn order0_tables() -> PathBuf {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    tables(&CELL, "order0.vqtt", &["--order0"], &[real(0), real(1)])
}

/// The table-set id of `tables` as 16 hex digits.
pub fn table_id(tables: &Path) -> String {
    let blob = std::fs::read(tables).unwrap();
    format!("{:016x}", vqtans::table_set::table_set_id(&blob))
}

/// The header of a numpy-saved int16 `(1200, 8, 16)` file is 128 bytes; the
/// data follows.
pub const HEADER: usize = 128;

/// Real segment `i` rewritten as numpy would save it with `frames` frames:
/// the original header with the first axis changed (padded to the same
/// length) and the first `frames` frames of data.
pub fn first_frames(i: usize, frames: usize) -> Vec<u8> {
    let original = std::fs::read(real(i)).unwrap();
    let mut bytes = replace_in_header(&original, "(1200, 8, 16)", &format!("({frames}, 8, 16)"));
    bytes.truncate(HEADER + frames * 128 * 2);
    bytes
}

/// `npy` with `from` replaced by `to` in its header dictionary, with the
/// space padding adjusted so the header keeps its length.
pub fn replace_in_header(npy: &[u8], from: &str, to: &str) -> Vec<u8> {
    let header = std::str::from_utf8(&npy[10..HEADER]).unwrap();
    assert!(header.contains(from), "{header}");
    let dict = header.trim_end().replacen(from, to, 1);
    let mut new = format!("{dict:<w$}", w = HEADER - 10 - 1);
    new.push('\n');
    assert_eq!(new.len(), HEADER - 10, "header too long");
    let mut out = npy[..10].to_vec();
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&npy[HEADER..]);
    out
}

/// Writes a gzip-compressed webdataset shard with the given members.
pub fn write_shard(path: &Path, members: &[(String, Vec<u8>)]) {
    test_support::write_shard(path, members, true);
}

/// The static decoder `pack --challenge` ships, built (once per test run, a
/// no-op when it is up to date) as `scripts/test.sh` builds it, so that a plain
/// `cargo test` has it too; the test fails naming the command if that fails.
pub fn decoder() -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let args = ["build", "--locked", "--profile", "challenge", "--target", "x86_64-unknown-linux-musl"];
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = std::process::Command::new(&cargo)
            .args(args)
            .args(["-p", "vqtans-unpack"])
            .current_dir(&root)
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
        let path = target.join("x86_64-unknown-linux-musl/challenge/vqtans-unpack");
        if !out.status.success() || !path.is_file() {
            return Err(format!(
                "`cargo {} -p vqtans-unpack` failed (the target x86_64-unknown-linux-musl comes with \
                 scripts/setup.sh): {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(path)
    });
    built.clone().unwrap_or_else(|why| panic!("{why}"))
}

/// Runs host-tools with `args` and returns its output, whatever its status.
pub fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    host_tools().args(args).output().expect("run host-tools")
}

/// The standard error of `out`, as text.
pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that `out` failed with exit status `code` and a message on stderr
/// containing every one of `needles`.
pub fn assert_fails(out: &std::process::Output, code: i32, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "status; stderr: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in: {err}");
    }
}

/// Names in `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}
