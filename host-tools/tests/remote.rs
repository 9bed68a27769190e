//! Remote inputs (issue 13): shards and `.npy` files read over HTTP from a
//! server started by each test on 127.0.0.1 (`common/http_server.rs`), with
//! faults: connections dropped after K bytes, `Range` ignored, 404, 500 then
//! 200, stalls, a file cut short, a corrupted file, a file that changes, and
//! the hub's `hf://` form with `HF_ENDPOINT` and `HF_TOKEN`, `--shards`,
//! `--cache`. The bar: `build-tables` of a URL gives the table set of the
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
    let replaced =
        HashMap::from([("data-0000.tar.gz".to_string(), Resource { body: other, etag: Some("\"v2\"".to_string()) })]);
    let faults = Faults { drop_after: Some((100_000, 1)), replaced: Some(replaced), ..Faults::default() };
    fails_with(one_shard(), faults, &[], &["changed on the server", "ETag", "at byte 100000"]);

    // The same ETag (or none) but another length.
    let mut other = shard_bytes();
    other.truncate(other.len() - 100);
    for etag in [Some("\"v1\"".to_string()), None] {
        let replaced = HashMap::from([("data-0000.tar.gz".to_string(), Resource { body: other.clone(), etag })]);
        let faults = Faults { drop_after: Some((100_000, 1)), replaced: Some(replaced), ..Faults::default() };
        let len = shard_bytes().len();
        fails_with(one_shard(), faults, &[], &["changed on the server", &format!("{len} bytes, now {}", len - 100)]);
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
    let entries: Vec<PathBuf> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(std::fs::read(&entries[0]).unwrap() == shard_bytes());
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

    // A cached copy damaged since is checked as any shard, and named.
    let mut bytes = shard_bytes();
    bytes[5000] ^= 4;
    std::fs::write(&entries[0], bytes).unwrap();
    let (outcome, _) = build(&out, &["--cache", cache_arg], &[&url]);
    assert!(!outcome.ok);
    let line = error_line(&outcome.stderr);
    assert!(line.contains(entries[0].to_str().unwrap()), "{line}");
    assert_eq!(server.log().len(), 2);

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
