//! Remote inputs (issue 13): shards and `.npy` files read over HTTP from a
//! server started by each test on 127.0.0.1 (`common/http_server.rs`), with
//! faults: connections dropped after K bytes, `Range` ignored, 404, 500 then
//! 200, stalls, a file cut short, a corrupted file, a file that changes, and
//! the hub's `hf://` form with `HF_ENDPOINT` and `HF_TOKEN`, `--shards`,
//! `--cache`; and (issue 18) resumes that must never splice two versions of
//! a file, the token kept to the hub's origin, zeros without end, a server
//! trickling bytes (`--http-deadline`), and cached copies tied to their
//! record. The bar: `build-tables` of a URL gives the table set of the
//! same shard read from disk whenever the download can succeed, and fails
//! with a message naming the URL (and the byte or member) leaving no output
//! when it cannot.
//!
//! No test reaches any address but 127.0.0.1: every command runs with the
//! proxy variables removed and `HF_ENDPOINT` pointing at the loopback.

mod common;
#[path = "common/http_server.rs"]
mod http_server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use http_server::{Faults, Resource, Server};

/// Keys of the real segments in the test shards.
const KEYS: [&str; 2] = ["seg_a", "seg_b"];

/// A generous bound that only a hang reaches.
const HANG: Duration = Duration::from_secs(120);

/// The members of a webdataset shard holding real segments `segs`.
fn members(segs: &[usize]) -> Vec<(String, Vec<u8>)> {
    let mut m = Vec::new();
    for &i in segs {
        m.push((format!("{}.json", KEYS[i]), format!("{{\"segment\": {i}}}").into_bytes()));
        m.push((format!("{}.token.npy", KEYS[i]), std::fs::read(real(i)).unwrap()));
    }
    m
}

/// Fixture shards on disk, made once per test binary: `data-0000.tar.gz`
/// (both segments), and in `split/` the shards `data-0000.tar.gz` (segment
/// a) and `data-0001.tar.gz` (segment b).
struct Shards {
    dir: tempfile::TempDir,
}

impl Shards {
    fn get() -> &'static Shards {
        static SHARDS: OnceLock<Shards> = OnceLock::new();
        SHARDS.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            write_shard(&dir.path().join("data-0000.tar.gz"), &members(&[0, 1]));
            std::fs::create_dir(dir.path().join("split")).unwrap();
            write_shard(&dir.path().join("split/data-0000.tar.gz"), &members(&[0]));
            write_shard(&dir.path().join("split/data-0001.tar.gz"), &members(&[1]));
            Shards { dir }
        })
    }
    fn both(&self) -> PathBuf {
        self.dir.path().join("data-0000.tar.gz")
    }
    fn split(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("split/data-{i:04}.tar.gz"))
    }
    fn split_dir(&self) -> PathBuf {
        self.dir.path().join("split")
    }
}

/// The shard with both segments, as bytes.
fn shard_bytes() -> Vec<u8> {
    std::fs::read(Shards::get().both()).unwrap()
}

/// The server's files: `data-0000.tar.gz` holding both segments.
fn one_shard() -> HashMap<String, Resource> {
    HashMap::from([("data-0000.tar.gz".to_string(), Resource::new(shard_bytes()))])
}

/// host-tools with no proxy and the hub pointed at the loopback (a closed
/// port unless a test says otherwise).
fn cmd() -> assert_cmd::Command {
    let mut c = host_tools();
    for var in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "HF_TOKEN"] {
        c.env_remove(var);
    }
    c.env("HF_ENDPOINT", "http://127.0.0.1:1").env("NO_PROXY", "*").timeout(HANG);
    c
}

/// What a run printed and how it ended.
struct Outcome {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(c: &mut assert_cmd::Command) -> Outcome {
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{stderr}");
    Outcome { ok: out.status.success(), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr }
}

/// The table-set id in a build-tables summary.
fn id_in(summary: &str) -> String {
    summary.lines().find_map(|l| l.strip_prefix("table-set id")).expect("an id line").trim().to_string()
}

/// `build-tables -o OUT extra... inputs...`; returns the outcome and the id
/// of the tables written (checked against the summary), if any.
fn build(out: &Path, extra: &[&str], inputs: &[&str]) -> (Outcome, Option<String>) {
    let outcome = run(cmd().arg("build-tables").arg("-o").arg(out).args(extra).args(inputs));
    let id = outcome.ok.then(|| {
        let id = table_id(out);
        assert_eq!(id_in(&outcome.stdout), id);
        id
    });
    (outcome, id)
}

/// The table-set id built from the local shard with both segments.
fn local_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("local.vqtt");
        let (outcome, id) = build(&out, &[], &[Shards::get().both().to_str().unwrap()]);
        assert!(outcome.ok, "{}", outcome.stderr);
        id.unwrap()
    })
}

/// Builds tables from `data-0000.tar.gz` on a server with `faults` and
/// checks they are those of the local shard; returns the server's log.
fn same_tables_despite(faults: Faults, extra: &[&str]) -> (Vec<http_server::Logged>, String) {
    let server = Server::start(one_shard(), faults);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    let (outcome, id) = build(&out, extra, &[&server.url("data-0000.tar.gz")]);
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(id.as_deref(), Some(local_id()), "{}", outcome.stderr);
    (server.log(), outcome.stderr)
}

/// The last line of `stderr`, which must be the error.
fn error_line(stderr: &str) -> &str {
    let line = stderr.lines().last().unwrap_or("");
    assert!(line.starts_with("error: "), "{stderr}");
    line
}

/// Builds tables from `data-0000.tar.gz` on a server with `faults`,
/// expects failure with an error line holding every one of `needles`, and
/// no output (nor temporary) left; returns the error line and the log.
fn fails_with(
    files: HashMap<String, Resource>,
    faults: Faults,
    extra: &[&str],
    needles: &[&str],
) -> (String, Vec<http_server::Logged>) {
    let server = Server::start(files, faults);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    let url = server.url("data-0000.tar.gz");
    let (outcome, _) = build(&out, extra, &[&url]);
    assert!(!outcome.ok, "{}", outcome.stdout);
    let line = error_line(&outcome.stderr).to_string();
    assert!(line.contains(&url), "the error does not name the URL: {line}");
    for n in needles {
        assert!(line.contains(n), "{n:?} not in {line}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "output or temporary left behind");
    (line, server.log())
}

#[test]
fn plain_download_gives_the_tables_and_streams_of_the_file_on_disk() {
    let (log, _) = same_tables_despite(Faults::default(), &[]);
    // Two passes, two whole downloads, no Range.
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|r| r.range.is_none() && r.status == 200 && r.authorization.is_none()));

    // encode: the same stream bytes as from the file on disk.
    let server = Server::start(one_shard(), Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let (local, remote) = (dir.path().join("local"), dir.path().join("remote"));
    let encode = |out: &Path, input: &str| {
        let outcome = run(cmd().arg("encode").arg("--tables").arg(&tables).arg("-o").arg(out).arg(input));
        assert!(outcome.ok, "{}", outcome.stderr);
    };
    encode(&local, Shards::get().both().to_str().unwrap());
    encode(&remote, &server.url("data-0000.tar.gz"));
    for key in KEYS {
        let name = format!("{key}.vqt");
        let (a, b) = (std::fs::read(local.join(&name)).unwrap(), std::fs::read(remote.join(&name)).unwrap());
        assert!(a == b, "{name} differs");
    }

    // stats: the same figures.
    let stats = |input: &str| {
        let outcome = run(cmd().arg("stats").arg("--tables").arg(&tables).arg("--json").arg(input));
        assert!(outcome.ok, "{}", outcome.stderr);
        let doc: serde_json::Value = serde_json::from_str(&outcome.stdout).unwrap();
        doc["total"].clone()
    };
    assert_eq!(stats(Shards::get().both().to_str().unwrap()), stats(&server.url("data-0000.tar.gz")));

    // pack: the same archive bytes as from the file on disk.
    let pack = |out: &Path, input: &str| {
        let outcome = run(cmd().arg("pack").arg("--tables").arg(&tables).arg("-o").arg(out).arg(input));
        assert!(outcome.ok, "{}", outcome.stderr);
        std::fs::read(out).unwrap()
    };
    let local_archive = pack(&dir.path().join("local.vqa"), Shards::get().both().to_str().unwrap());
    assert!(local_archive == pack(&dir.path().join("remote.vqa"), &server.url("data-0000.tar.gz")), "archives differ");
}

#[test]
fn dropped_connections_resume_from_the_byte_reached() {
    let k = 100_000;
    let (log, stderr) = same_tables_despite(Faults { drop_after: Some((k, 3)), ..Faults::default() }, &[]);
    // Pass 1: dropped at k, 2k, 3k, then the rest; pass 2: whole.
    let ranges: Vec<Option<u64>> = log.iter().map(|r| r.range).collect();
    let k = k as u64;
    assert_eq!(ranges, [None, Some(k), Some(2 * k), Some(3 * k), None], "{log:?}");
    assert!(log[1..4].iter().all(|r| r.status == 206));
    assert!(stderr.contains("retrying"), "{stderr}");
}

#[test]
fn a_server_ignoring_range_is_read_from_the_byte_reached() {
    let faults = Faults { drop_after: Some((150_000, 2)), ignore_range: true, ..Faults::default() };
    let (log, _) = same_tables_despite(faults, &[]);
    // The resumed requests asked for a range and got the whole file (200),
    // twice cut at 150,000 bytes: the second resume starts from the same byte.
    assert_eq!(log[1].range, Some(150_000), "{log:?}");
    assert!(log.iter().all(|r| r.status == 200), "{log:?}");
    assert_eq!(log.len(), 4, "{log:?}");
}

#[test]
fn not_found_is_an_error_at_once_naming_the_url_and_the_byte() {
    let (line, log) = fails_with(HashMap::new(), Faults::default(), &[], &["404 Not Found", "at byte 0"]);
    assert_eq!(log.len(), 1, "a 404 must not be retried: {log:?}\n{line}");
}

#[test]
fn server_errors_are_retried() {
    let (log, stderr) = same_tables_despite(Faults { status: Some((500, 2)), ..Faults::default() }, &[]);
    assert_eq!(log.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 500, 200, 200]);
    assert!(stderr.contains("500 Internal Server Error"), "{stderr}");
    // The waits double from 0.25 s.
    assert!(stderr.contains("retrying in 0.25 s (1/5)") && stderr.contains("retrying in 0.50 s (2/5)"), "{stderr}");
    // 429 Too Many Requests is retried too.
    let (log, _) = same_tables_despite(Faults { status: Some((429, 1)), ..Faults::default() }, &[]);
    assert_eq!(log.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200, 200]);
    // More failures in a row than --retries allows: an error naming the status.
    let (_, log) = fails_with(
        one_shard(),
        Faults { status: Some((503, 10)), ..Faults::default() },
        &["--retries", "1"],
        &["503 Service Unavailable", "at byte 0", "after 1 retry"],
    );
    assert_eq!(log.len(), 2, "{log:?}");
}

#[test]
fn a_stalled_server_times_out_and_is_retried_then_fails_in_bounded_time() {
    // Stalls once after 50,000 bytes: the read times out, the download resumes.
    let faults = Faults { stall: Some((Some(50_000), 1)), ..Faults::default() };
    let (log, stderr) = same_tables_despite(faults, &["--http-timeout", "1"]);
    assert_eq!(log[1].range, Some(50_000), "{log:?}");
    assert!(stderr.contains("retrying"), "{stderr}");

    // Never answers: 1 + 2 retries of 1 s each plus the waits, then an error.
    let start = Instant::now();
    let (line, log) = fails_with(
        one_shard(),
        Faults { stall: Some((None, usize::MAX)), ..Faults::default() },
        &["--http-timeout", "1", "--retries", "2"],
        &["at byte 0", "after 2 retries"],
    );
    let took = start.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}: {line}");
    assert_eq!(log.len(), 3, "{log:?}");
}

#[test]
fn a_truncated_body_is_an_error_naming_the_url_and_the_member() {
    // The server has a cut file (its length says so): a damaged shard.
    let bytes = shard_bytes();
    let cut = HashMap::from([("data-0000.tar.gz".to_string(), Resource::new(bytes[..bytes.len() / 2].to_vec()))]);
    fails_with(cut, Faults::default(), &[], &["damaged shard", "truncated", "member seg_"]);

    // The connection always ends at the same byte before the announced end:
    // resumed without getting further, then given up, naming that byte.
    let at = bytes.len() / 3;
    let (line, _) = fails_with(
        one_shard(),
        Faults { cut_at: Some(at), ..Faults::default() },
        &["--retries", "2"],
        &[&format!("at byte {at}"), "after 2 retries", "member seg_"],
    );
    assert!(line.contains("before the end of the file"), "{line}");
}

#[test]
fn a_corrupted_body_is_an_error_naming_the_url_and_the_member() {
    let mut bytes = shard_bytes();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    let bad = HashMap::from([("data-0000.tar.gz".to_string(), Resource::new(bytes))]);
    fails_with(bad, Faults::default(), &[], &["damaged shard", "member seg_"]);

    // A wrong gzip CRC-32 at the very end: found also when --limit 1 needs
    // only the first segment, since the shard is downloaded to its end.
    let mut bytes = shard_bytes();
    let crc = bytes.len() - 8;
    bytes[crc] ^= 1;
    let bad = HashMap::from([("data-0000.tar.gz".to_string(), Resource::new(bytes))]);
    fails_with(bad, Faults::default(), &["--limit", "1"], &["damaged shard", "checksum"]);
}

#[test]
fn a_file_that_changes_while_read_is_an_error() {
    let mut other = shard_bytes();
    other.extend_from_slice(&[0; 512]);
    let replaced = HashMap::from([(
        "data-0000.tar.gz".to_string(),
        Resource { body: other, etag: Some("\"v2\"".to_string()), last_modified: None },
    )]);
    let faults = Faults { drop_after: Some((100_000, 1)), replaced: Some(replaced), ..Faults::default() };
    fails_with(one_shard(), faults, &[], &["changed on the server", "ETag", "at byte 100000"]);

    // The same ETag but another length; no ETag any more; no ETag ever and
    // another length (read again from byte 0).
    let mut other = shard_bytes();
    other.truncate(other.len() - 100);
    let len = shard_bytes().len();
    let shorter = format!("{len} bytes, now {}", len - 100);
    for (first, etag, needle) in [
        (Resource::new(shard_bytes()), Some("\"v1\"".to_string()), shorter.as_str()),
        (Resource::new(shard_bytes()), None, "(ETag \"v1\", now none)"),
        (Resource::bare(shard_bytes()), None, shorter.as_str()),
    ] {
        let replaced = HashMap::from([(
            "data-0000.tar.gz".to_string(),
            Resource { body: other.clone(), etag, last_modified: None },
        )]);
        let faults = Faults { drop_after: Some((100_000, 1)), replaced: Some(replaced), ..Faults::default() };
        let files = HashMap::from([("data-0000.tar.gz".to_string(), first)]);
        fails_with(files, faults, &[], &["changed on the server", needle]);
    }

    // A resumed answer that does not start at the byte asked for.
    let faults = Faults { drop_after: Some((100_000, 1)), misplaced_range: true, ..Faults::default() };
    fails_with(one_shard(), faults, &[], &["asked for the bytes from 100000, the server sent them from 99999"]);
}

#[test]
fn hub_paths_resolve_against_hf_endpoint_and_send_hf_token() {
    let path = "datasets/commaai/commavq/resolve/main/data-0000.tar.gz";
    let files = HashMap::from([(path.to_string(), Resource::new(shard_bytes()))]);
    let secret = "hf_test_secret_7f3a";
    let server = Server::start(files, Faults { token: Some(secret.to_string()), ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    let hub = |token: Option<&str>, args: &[&str]| {
        let mut c = cmd();
        c.env("HF_ENDPOINT", server.endpoint()).arg("build-tables").arg("-o").arg(&out).args(args);
        if let Some(token) = token {
            c.env("HF_TOKEN", token);
        }
        run(&mut c)
    };

    let outcome = hub(Some(secret), &["hf://datasets/commaai/commavq/data-0000.tar.gz"]);
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(table_id(&out), local_id());
    let log = server.log();
    assert!(log.iter().all(|r| r.path == path && r.authorization.as_deref() == Some(&format!("Bearer {secret}"))));

    // The base form with --shards.
    std::fs::remove_file(&out).unwrap();
    let outcome = hub(Some(secret), &["--shards", "0..1", "hf://datasets/commaai/commavq/"]);
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(table_id(&out), local_id());

    // No token, or a wrong one: 401 at once, named, the token never shown.
    std::fs::remove_file(&out).unwrap();
    for token in [None, Some("hf_wrong_token_91c2")] {
        let outcome = hub(token, &["hf://datasets/commaai/commavq/data-0000.tar.gz"]);
        assert!(!outcome.ok);
        let line = error_line(&outcome.stderr);
        assert!(line.contains("hf://datasets/commaai/commavq/data-0000.tar.gz"), "{line}");
        assert!(line.contains(&server.url(path)), "{line}");
        assert!(line.contains("401") && line.contains("HF_TOKEN"), "{line}");
        assert!(!outcome.stderr.contains("hf_wrong_token_91c2") && !outcome.stderr.contains(secret));
        assert!(!out.exists());
    }
}

#[test]
fn redirects_are_followed_and_resumed_through() {
    // As the hub does: the file's URL redirects to its storage, which drops
    // the connection; every resume goes through the redirect again.
    let faults = Faults {
        redirect: Some(("data-0000.tar.gz".into(), "storage/abc".into())),
        drop_after: Some((90_000, 4)),
        ..Faults::default()
    };
    let files = HashMap::from([("storage/abc".to_string(), Resource::new(shard_bytes()))]);
    let server = Server::start(files, faults);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    let (outcome, id) = build(&out, &[], &[&server.url("data-0000.tar.gz")]);
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(id.as_deref(), Some(local_id()));
    let log = server.log();
    let hops: Vec<(&str, Option<u64>, u16)> = log.iter().map(|r| (r.path.as_str(), r.range, r.status)).collect();
    assert_eq!(
        hops[..4],
        [
            ("data-0000.tar.gz", None, 302),
            ("storage/abc", None, 200),
            ("data-0000.tar.gz", Some(90_000), 302),
            ("storage/abc", Some(90_000), 206),
        ],
        "{log:?}"
    );
    // Requests 0, 2 (drops at 90,000 and 180,000) and 4 (the rest) of pass 1, then pass 2.
    assert_eq!(log.len(), 8, "{log:?}");
    assert_eq!(log[5].range, Some(180_000), "{log:?}");
}

#[test]
fn the_hub_token_goes_to_the_hub_only() {
    // The hub redirects to its storage under another host name (`127.1` is
    // 127.0.0.1 spelled otherwise), which drops the connection twice: the
    // token goes with every request to the hub, never to the storage.
    let path = "datasets/commaai/commavq/resolve/main/data-0000.tar.gz";
    let files = HashMap::from([("storage/abc".to_string(), Resource::new(shard_bytes()))]);
    let faults = Faults {
        token: Some("hf_tok_55".into()),
        redirect: Some((path.into(), "http://127.1:{port}/storage/abc".into())),
        drop_after: Some((100_000, 4)),
        ..Faults::default()
    };
    let server = Server::start(files, faults);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    let outcome = run(cmd()
        .env("HF_ENDPOINT", server.endpoint())
        .env("HF_TOKEN", "hf_tok_55")
        .args(["build-tables", "--cache"])
        .arg(dir.path().join("cache"))
        .arg("-o")
        .arg(&out)
        .arg("hf://datasets/commaai/commavq/data-0000.tar.gz"));
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(table_id(&out), local_id());
    let log = server.log();
    assert_eq!(log.len(), 6, "{log:?}");
    for r in &log {
        let sent = r.authorization.as_deref() == Some("Bearer hf_tok_55");
        assert_eq!(sent, r.path == path, "{log:?}");
    }

    // A plain URL never gets the token.
    let server = Server::start(one_shard(), Faults::default());
    let outcome = run(cmd()
        .env("HF_TOKEN", "hf_tok_55")
        .args(["stats", "--tables"])
        .arg(tables_from(0))
        .arg(server.url("data-0000.tar.gz")));
    assert!(outcome.ok, "{}", outcome.stderr);
    assert!(server.log().iter().all(|r| r.authorization.is_none()));
}

#[test]
fn shards_of_a_base_url_or_folder_are_read_in_order() {
    let split = Shards::get();
    let files = HashMap::from([
        ("data-0000.tar.gz".to_string(), Resource::new(std::fs::read(split.split(0)).unwrap())),
        ("data-0001.tar.gz".to_string(), Resource::new(std::fs::read(split.split(1)).unwrap())),
    ]);
    let server = Server::start(files, Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    let base = server.url("");
    let (outcome, id) = build(&out, &["--shards", "0..2"], &[&base]);
    assert!(outcome.ok, "{}", outcome.stderr);
    // The same table set as the same segments from disk, in one shard or two.
    assert_eq!(id.as_deref(), Some(local_id()));
    let folder = split.split_dir();
    let (outcome, local) = build(&dir.path().join("l.vqtt"), &["--shards", "0..2"], &[folder.to_str().unwrap()]);
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(local, id);
    let paths: Vec<String> = server.log().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["data-0000.tar.gz", "data-0001.tar.gz", "data-0000.tar.gz", "data-0001.tar.gz"]);

    // --limit 1: the first shard is read to its end (and checked), the second
    // is never requested.
    let before = server.log().len();
    let outcome = run(cmd()
        .args(["stats", "--json", "--limit", "1", "--shards", "0..2", "--tables"])
        .arg(tables_from(1))
        .arg(&base));
    assert!(outcome.ok, "{}", outcome.stderr);
    let log = server.log();
    assert_eq!(log.len(), before + 1, "{log:?}");
    assert_eq!(log[before].path, "data-0000.tar.gz");

    // A base without the trailing `/`, or a URL without --shards.
    for (args, needle) in [
        (vec!["--shards", "0..2", base.trim_end_matches('/')], "must be a base"),
        (vec![base.as_str()], "give --shards"),
        (vec!["--shards", "2..1", base.as_str()], "A..B"),
    ] {
        let outcome = run(cmd().arg("build-tables").arg("-o").arg(&out).args(&args));
        assert!(!outcome.ok);
        assert!(outcome.stderr.contains(needle), "{args:?}: {}", outcome.stderr);
    }
}

#[test]
fn the_cache_keeps_verified_downloads_only_and_is_read_next_time() {
    let server = Server::start(one_shard(), Faults { drop_after: Some((120_000, 1)), ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache_arg = cache.to_str().unwrap();
    let url = server.url("data-0000.tar.gz");
    let out = dir.path().join("t.vqtt");

    // First run: downloaded once (resumed once), kept; pass 2 reads the copy.
    let (outcome, id) = build(&out, &["--cache", cache_arg], &[&url]);
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(id.as_deref(), Some(local_id()));
    assert_eq!(server.log().len(), 2, "{:?}", server.log());
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    assert_eq!(entries.len(), 2, "the copy and its record: {entries:?}");
    assert!(std::fs::read(&entries[0]).unwrap() == shard_bytes());
    assert!(entries[1].to_str().unwrap().ends_with(".meta.json"), "{entries:?}");
    assert!(outcome.stderr.contains("kept in the cache") && outcome.stderr.contains("reading the cached copy"));

    // Second run: no request at all.
    std::fs::remove_file(&out).unwrap();
    let (outcome, id) = build(&out, &["--cache", cache_arg], &[&url]);
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(id.as_deref(), Some(local_id()));
    assert_eq!(server.log().len(), 2);

    // The cached copy is an input: never an output.
    let outcome = run(cmd().arg("build-tables").arg("-o").arg(&entries[0]).args(["--cache", cache_arg, &url]));
    assert!(!outcome.ok && outcome.stderr.contains("it is the input file"), "{}", outcome.stderr);
    assert!(std::fs::read(&entries[0]).unwrap() == shard_bytes());

    // A cached copy damaged since no longer matches its record: downloaded
    // again (pass 1) and replaced, then read (pass 2).
    let mut bytes = shard_bytes();
    bytes[5000] ^= 4;
    std::fs::write(&entries[0], bytes).unwrap();
    std::fs::remove_file(&out).unwrap();
    let (outcome, id) = build(&out, &["--cache", cache_arg], &[&url]);
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(id.as_deref(), Some(local_id()));
    assert!(outcome.stderr.contains("its SHA-256 is not the one in its record"), "{}", outcome.stderr);
    assert_eq!(server.log().len(), 3);
    assert!(std::fs::read(&entries[0]).unwrap() == shard_bytes());

    // A corrupted or cut download is never kept, and leaves no temporary.
    let mut bytes = shard_bytes();
    bytes[1000] ^= 1;
    let bad = HashMap::from([("data-0000.tar.gz".to_string(), Resource::new(bytes))]);
    let fresh = dir.path().join("fresh");
    fails_with(bad, Faults::default(), &["--cache", fresh.to_str().unwrap()], &["damaged shard"]);
    fails_with(
        one_shard(),
        Faults { cut_at: Some(200_000), ..Faults::default() },
        &["--cache", fresh.to_str().unwrap(), "--retries", "0"],
        &["at byte 200000"],
    );
    let left: Vec<_> =
        std::fs::read_dir(&fresh).map(|d| d.map(|e| e.unwrap().file_name()).collect()).unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn remote_npy_files_are_segments_like_local_ones() {
    let files = HashMap::from([
        (format!("{}.token.npy", KEYS[0]), Resource::new(std::fs::read(real(0)).unwrap())),
        ("x/seg%20b.npy".to_string(), Resource::new(std::fs::read(real(1)).unwrap())),
    ]);
    let server = Server::start(files, Faults { drop_after: Some((40_000, 1)), ..Faults::default() });
    let tables = tables_from(1);
    let (a, b) = (server.url(&format!("{}.token.npy", KEYS[0])), server.url("x/seg%20b.npy"));
    let outcome = run(cmd().arg("stats").arg("--tables").arg(&tables).arg(&a).arg(&b));
    assert!(outcome.ok, "{}", outcome.stderr);
    assert!(outcome.stdout.contains(KEYS[0]) && outcome.stdout.contains("seg b"), "{}", outcome.stdout);

    // encode of a URL to a folder names the stream by key; verify reads a URL.
    let dir = tempfile::tempdir().unwrap();
    let outcome = run(cmd().arg("encode").arg("--tables").arg(&tables).arg("-o").arg(dir.path()).arg(&a));
    assert!(outcome.ok, "{}", outcome.stderr);
    let stream = dir.path().join(format!("{}.vqt", KEYS[0]));
    let local = dir.path().join("local.vqt");
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &local, &real(0)]);
    assert!(std::fs::read(&stream).unwrap() == std::fs::read(&local).unwrap());
    let outcome = run(cmd().arg("verify").arg("--tables").arg(&tables).arg(&stream).arg(&a));
    assert!(outcome.ok, "{}", outcome.stderr);

    // A URL naming neither a .npy file nor a shard is refused before any request.
    let before = server.log().len();
    let outcome = run(cmd().arg("stats").arg("--tables").arg(&tables).arg(server.url("notes.txt")));
    assert!(!outcome.ok && error_line(&outcome.stderr).contains("notes.txt"));
    assert_eq!(server.log().len(), before);
}

/// Real segment 0 and 1 as served: two versions of one `.npy` file, the same
/// length and header.
fn two_versions() -> (Vec<u8>, Vec<u8>) {
    let (a, b) = (std::fs::read(real(0)).unwrap(), std::fs::read(real(1)).unwrap());
    assert_eq!(a.len(), b.len());
    assert_eq!(a[..HEADER], b[..HEADER]);
    (a, b)
}

/// Where a test server drops the first connection: after 600 frames.
const HALF: usize = HEADER + 600 * 256;

/// What `encode --cache CACHE -o OUT URL` of the file `seg.token.npy` did,
/// with the server's files `first` and, from the second request on, `then`.
struct Encoded {
    code: Option<i32>,
    stderr: String,
    url: String,
    out: PathBuf,
    cache: PathBuf,
    log: Vec<http_server::Logged>,
    _dir: tempfile::TempDir,
}

fn encode_npy(first: Resource, then: Resource, faults: Faults) -> Encoded {
    let name = "seg.token.npy".to_string();
    let replaced = HashMap::from([(name.clone(), then)]);
    let server = Server::start(HashMap::from([(name.clone(), first)]), Faults { replaced: Some(replaced), ..faults });
    let dir = tempfile::tempdir().unwrap();
    let (out, cache) = (dir.path().join("out.vqt"), dir.path().join("cache"));
    let url = server.url(&name);
    let output = cmd()
        .arg("encode")
        .arg("--tables")
        .arg(tables_from(0))
        .arg("--cache")
        .arg(&cache)
        .arg("-o")
        .arg(&out)
        .arg(&url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    Encoded { code: output.status.code(), stderr, url, out, cache, log: server.log(), _dir: dir }
}

impl Encoded {
    /// The run failed with exit code 1 and this last line, leaving no output
    /// and nothing in the cache.
    fn failed_with(&self, line: &str) {
        assert_eq!(self.code, Some(1), "{}", self.stderr);
        assert_eq!(error_line(&self.stderr), line);
        assert!(!self.out.exists(), "output written");
        let kept = std::fs::read_dir(&self.cache).map(|d| d.count()).unwrap_or(0);
        assert_eq!(kept, 0, "something was kept in the cache");
    }

    /// The files in the cache (the copy and its record), sorted.
    fn cached(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.cache).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }
}

/// The stream `encode` makes of the `.npy` bytes `npy`, from a local file.
fn local_stream(npy: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("seg.token.npy"), dir.path().join("local.vqt"));
    std::fs::write(&input, npy).unwrap();
    run_ok(&[&"encode", &"--tables", &tables_from(0), &"-o", &out, &input]);
    std::fs::read(out).unwrap()
}

#[test]
fn a_resumed_download_without_validator_never_splices_two_versions() {
    // Issue 18, defect 1: a server without ETag (nor Last-Modified) drops the
    // connection after 600 frames, then has another file of the same length.
    let (a, b) = two_versions();
    let changed = |line_url: &str| {
        format!(
            "error: {line_url}: cannot download (at byte {HALF}): the file changed on the server while it was read: \
             read again from its start, its first {HALF} bytes differ from those read before"
        )
    };
    // The server honours Range (it would answer 206), or ignores it (200).
    for ignore_range in [false, true] {
        let faults = Faults { drop_after: Some((HALF, 1)), ignore_range, ..Faults::default() };
        let run = encode_npy(Resource::bare(a.clone()), Resource::bare(b.clone()), faults);
        run.failed_with(&changed(&run.url));
        // Read again from byte 0: nothing tells the versions apart.
        let ranges: Vec<Option<u64>> = run.log.iter().map(|r| r.range).collect();
        assert_eq!(ranges, [None, None], "{:?}", run.log);
    }

    // A new version whose first 900 frames are those of the old one: the
    // result is the new version whole, and so is the copy kept.
    let mut new = a.clone();
    let from = HEADER + 900 * 256;
    new[from..].copy_from_slice(&b[from..]);
    let faults = Faults { drop_after: Some((HALF, 1)), ..Faults::default() };
    let run = encode_npy(Resource::bare(a.clone()), Resource::bare(new.clone()), faults);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(std::fs::read(&run.out).unwrap() == local_stream(&new), "the stream is not that of the new version");
    let cached = run.cached();
    assert_eq!(cached.len(), 2, "{cached:?}");
    assert!(std::fs::read(&cached[0]).unwrap() == new);
}

#[test]
fn a_resumed_download_sends_its_validator_as_if_range() {
    let (a, b) = two_versions();
    // A strong ETag: the resume asks for the rest if it is still "v1"; the
    // server has "v2" now and answers with the whole new file: an error.
    let faults = Faults { drop_after: Some((HALF, 1)), ..Faults::default() };
    let v2 = Resource { etag: Some("\"v2\"".into()), ..Resource::new(b.clone()) };
    let run = encode_npy(Resource::new(a.clone()), v2, faults.clone());
    run.failed_with(&format!(
        "error: {}: cannot download (at byte {HALF}): the file changed on the server while it was read \
         (ETag \"v1\", now \"v2\")",
        run.url
    ));
    assert_eq!(run.log[1].range, Some(HALF as u64), "{:?}", run.log);
    assert_eq!(run.log[1].if_range.as_deref(), Some("\"v1\""), "{:?}", run.log);
    assert_eq!(run.log[1].status, 200, "{:?}", run.log);

    // Only a Last-Modified (a day before the server's Date): the same.
    let (old, new) = ("Sat, 05 Dec 2026 10:00:00 GMT", "Sat, 05 Dec 2026 11:00:00 GMT");
    let run = encode_npy(Resource::modified(a.clone(), old), Resource::modified(b.clone(), new), faults.clone());
    run.failed_with(&format!(
        "error: {}: cannot download (at byte {HALF}): the file changed on the server while it was read \
         (Last-Modified {old}, now {new})",
        run.url
    ));
    assert_eq!(run.log[1].if_range.as_deref(), Some(old), "{:?}", run.log);

    // The same file: resumed with a 206 from the byte reached.
    let run = encode_npy(Resource::modified(a.clone(), old), Resource::modified(a.clone(), old), faults);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let resumed = &run.log[1];
    assert_eq!((resumed.range, resumed.if_range.as_deref(), resumed.status), (Some(HALF as u64), Some(old), 206));
    assert!(std::fs::read(&run.out).unwrap() == local_stream(&a));
}

#[test]
fn the_hub_token_never_goes_to_another_port() {
    // Issue 18, defect 2: the hub (127.0.0.1:A) redirects to storage on
    // 127.0.0.1:B, the same host: B must not see the token.
    let storage =
        Server::start(HashMap::from([("storage/abc".to_string(), Resource::new(shard_bytes()))]), Faults::default());
    let path = "datasets/commaai/commavq/resolve/main/data-0000.tar.gz";
    let faults = Faults {
        token: Some("hf_tok_77".into()),
        redirect: Some((path.into(), storage.url("storage/abc"))),
        ..Faults::default()
    };
    let hub = Server::start(HashMap::new(), faults);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    let outcome = run(cmd()
        .env("HF_ENDPOINT", hub.endpoint())
        .env("HF_TOKEN", "hf_tok_77")
        .arg("build-tables")
        .arg("-o")
        .arg(&out)
        .arg("hf://datasets/commaai/commavq/data-0000.tar.gz"));
    assert!(outcome.ok, "{}", outcome.stderr);
    assert_eq!(table_id(&out), local_id());
    assert_eq!(hub.log().len(), 2);
    assert!(hub.log().iter().all(|r| r.authorization.as_deref() == Some("Bearer hf_tok_77")), "{:?}", hub.log());
    assert_eq!(storage.log().len(), 2);
    assert!(
        storage.log().iter().all(|r| r.authorization.is_none()),
        "the token went to another port: {:?}",
        storage.log()
    );

    // A redirect within the hub's own origin keeps it.
    let path_b = "datasets/commaai/commavq/resolve/main/data-0001.tar.gz";
    let files = HashMap::from([("moved/data-0001.tar.gz".to_string(), Resource::new(shard_bytes()))]);
    let faults = Faults { redirect: Some((path_b.into(), "moved/data-0001.tar.gz".into())), ..Faults::default() };
    let hub = Server::start(files, faults);
    let outcome = run(cmd()
        .env("HF_ENDPOINT", hub.endpoint())
        .env("HF_TOKEN", "hf_tok_77")
        .args(["stats", "--tables"])
        .arg(tables_from(0))
        .arg("hf://datasets/commaai/commavq/data-0001.tar.gz"));
    assert!(outcome.ok, "{}", outcome.stderr);
    assert!(hub.log().iter().all(|r| r.authorization.as_deref() == Some("Bearer hf_tok_77")), "{:?}", hub.log());
}

/// The tar inside the test shard (what a `.tar` URL serves).
fn plain_tar() -> Vec<u8> {
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&shard_bytes()[..]), &mut tar).unwrap();
    tar
}

#[test]
fn zeros_without_end_after_a_shard_are_refused_at_once() {
    // Issue 18, defect 4: after the shard, a server sends zeros (1 GiB here,
    // as good as without end), with no length announced.
    let gib = 1 << 30;
    // The gzip layer's problem names the member last read, as others do.
    let cases = [
        ("data-0000.tar.gz", shard_bytes(), "gzip stream", " (at member seg_b.token.npy)"),
        ("data-0000.tar", plain_tar(), "tar archive", ""),
    ];
    for (name, bytes, after, place) in cases {
        let faults = Faults { endless_zeros: Some(gib), ..Faults::default() };
        let server = Server::start(HashMap::from([(name.to_string(), Resource::new(bytes))]), faults);
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("t.vqtt");
        let url = server.url(name);
        let output = cmd().arg("build-tables").arg("-o").arg(&out).arg(&url).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(
            error_line(&stderr),
            format!(
                "error: {url}: damaged shard: more than 10240 zero bytes follow the end of the {after} (at most one tar \
                 record of padding is accepted){place}"
            )
        );
        assert!(!out.exists());
        // Stopped reading long before the end: what was sent is at most the
        // socket buffers' worth.
        let sent = server.zeros_sent();
        assert!(sent < 64 << 20, "{sent} zero bytes were read");
    }

    // Zeros beyond the length the answer announced are never read.
    let faults = Faults { endless_zeros: Some(gib), zeros_announced: true, ..Faults::default() };
    let (_, _) = same_tables_despite(faults, &[]);
}

#[test]
fn a_server_trickling_bytes_fails_at_the_deadline() {
    // Issue 18, defect 5: one byte every 0.3 s never trips the read timeout;
    // the download's deadline ends it.
    let faults = Faults { trickle: Some(Duration::from_millis(300)), ..Faults::default() };
    let start = Instant::now();
    let (line, _) = fails_with(
        one_shard(),
        faults,
        &["--http-deadline", "2"],
        &["the download did not end within its deadline of 2 s (--http-deadline); "],
    );
    assert!(start.elapsed() < HANG, "{line}");

    // A server sending one byte per connection: every retry gets a byte
    // further (so it never runs out of retries); the deadline ends it too.
    let faults = Faults { drop_after: Some((1, usize::MAX)), ..Faults::default() };
    fails_with(one_shard(), faults, &["--http-deadline", "2"], &["did not end within its deadline of 2 s"]);

    // --help says so.
    let help = run(cmd().args(["build-tables", "--help"]));
    assert!(
        help.stdout.contains("--http-deadline <SECS>") && help.stdout.contains("[default: 3600]"),
        "{}",
        help.stdout
    );
}

#[test]
fn a_cached_copy_is_used_only_if_it_matches_its_record() {
    // Issue 18, defect 7.
    let server = Server::start(one_shard(), Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let url = server.url("data-0000.tar.gz");
    let out = dir.path().join("t.vqtt");
    let build_cached = || {
        let _ = std::fs::remove_file(&out);
        let (outcome, id) = build(&out, &["--cache", cache.to_str().unwrap()], &[&url]);
        assert!(outcome.ok, "{}", outcome.stderr);
        assert_eq!(id.as_deref(), Some(local_id()), "{}", outcome.stderr);
        outcome.stderr
    };
    build_cached();
    assert_eq!(server.log().len(), 1);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let [entry, record] = &files[..] else { panic!("{files:?}") };
    assert_eq!(record, &PathBuf::from(format!("{}.meta.json", entry.display())));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
    assert_eq!(doc["url"], url.as_str());
    assert_eq!(doc["length"], shard_bytes().len() as u64);
    assert_eq!(doc["etag"], "\"v1\"");
    assert_eq!(doc["sha256"].as_str().map(str::len), Some(64));
    let good_record = std::fs::read(record).unwrap();
    let requests = || server.log().len();

    // Each case: the copy is not used (said why), downloaded again once
    // (pass 1), kept again as a regular file with its record, read (pass 2).
    let expect_refetch = |why: &str, before: usize| {
        let stderr = build_cached();
        assert!(stderr.contains(&format!("is not used ({why}")), "{why}: {stderr}");
        assert_eq!(requests(), before + 1, "{why}");
        assert!(std::fs::symlink_metadata(entry).unwrap().file_type().is_file());
        assert!(std::fs::symlink_metadata(record).unwrap().file_type().is_file());
        assert!(std::fs::read(entry).unwrap() == shard_bytes());
        assert!(std::fs::read(record).unwrap() == good_record);
    };

    // Another valid shard placed under the cache name.
    std::fs::copy(Shards::get().split(0), entry).unwrap();
    let other = std::fs::metadata(entry).unwrap().len();
    expect_refetch(&format!("it has {other} bytes, its record {}", shard_bytes().len()), requests());

    // A symbolic link to a file holding the very bytes recorded: never
    // followed, replaced; the file it pointed to is left as it was.
    let elsewhere = dir.path().join("elsewhere.tar.gz");
    std::fs::write(&elsewhere, shard_bytes()).unwrap();
    std::fs::remove_file(entry).unwrap();
    std::os::unix::fs::symlink(&elsewhere, entry).unwrap();
    expect_refetch("it is a symbolic link", requests());
    assert!(std::fs::read(&elsewhere).unwrap() == shard_bytes());
    assert!(std::fs::symlink_metadata(&elsewhere).unwrap().file_type().is_file());

    // The record a symbolic link, or missing.
    let copy = dir.path().join("record-copy");
    std::fs::write(&copy, &good_record).unwrap();
    std::fs::remove_file(record).unwrap();
    std::os::unix::fs::symlink(&copy, record).unwrap();
    expect_refetch("its record", requests());
    std::fs::remove_file(record).unwrap();
    expect_refetch(&format!("its record {} is missing", record.display()), requests());

    // And with both as recorded: no request at all.
    let before = requests();
    let stderr = build_cached();
    assert!(stderr.contains("reading the cached copy"), "{stderr}");
    assert_eq!(requests(), before);
}
