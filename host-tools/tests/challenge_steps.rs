//! The README's commaVQ challenge steps from the two bundled `.npy` segments:
//! `shard` (a shard with `.json` members), `pack --challenge`, then
//! `scripts/challenge-check.py` OK; the rate's breakdown printed by the checker,
//! `ls` and `stats` (the same lines, with numbers recomputed here from the zip
//! and the archive's own header, footer and index); `unpack --shards` giving
//! shards the checker takes; and the checker's one-line errors for `.npy` files,
//! a shard without `.json` members and usage errors.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{decoder, host_tools, real, run_ok};
use vqtans_archive::format::{decode_index, Footer, Header, FOOTER_LEN, HEADER_LEN};

const KEYS: [&str; 2] = ["commaai-commavq_0", "mattseabrook-commavq_0"];

fn checker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/challenge-check.py")
}

fn check(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    std::process::Command::new("python3").arg(checker()).args(args).output().expect("run python3")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The members of a gzip tar shard, in order.
fn shard_members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()));
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (e.path().unwrap().to_string_lossy().into_owned(), data)
        })
        .collect()
}

/// `n` with commas between thousands.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The breakdown lines for the submission `zip`, from its members and from the
/// archive's header, footer and index (not from host-tools' code).
fn expected_breakdown(zip: &Path) -> Vec<String> {
    let zip_bytes = std::fs::metadata(zip).unwrap().len();
    let mut z = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let (decoder, decoder_raw) = {
        let m = z.by_name("vqtans-unpack").unwrap();
        (m.compressed_size(), m.size())
    };
    let script = z.by_name("decompress.py").unwrap().compressed_size();
    let mut archive = Vec::new();
    z.by_name("split.vqa").unwrap().read_to_end(&mut archive).unwrap();
    let header = Header::parse(archive[..HEADER_LEN].try_into().unwrap()).unwrap();
    let footer = Footer::parse(archive[archive.len() - FOOTER_LEN..].try_into().unwrap()).unwrap();
    let start = footer.index_offset as usize;
    let entries = decode_index(&archive[start..start + footer.index_len as usize], footer.entries).unwrap();
    assert_eq!(entries.len(), 2);
    let table_set = u64::from(header.tables_len);
    let streams: u64 = entries.iter().map(|e| u64::from(e.length)).sum();
    let index = footer.index_len;
    let archive_bytes = archive.len() as u64;
    assert_eq!(archive_bytes, 64 + table_set + streams + index, "the archive is these parts");
    let original = 2 * 1200 * 128 * 10 / 8;
    let other = zip_bytes - decoder - table_set - streams;
    let zip_headers = zip_bytes - decoder - script - archive_bytes;
    // zip(5000) = F + 5000 * P, P = (streams + index) / 2, F = zip - streams - index.
    let fixed = zip_bytes - streams - index;
    let projected = (2 * fixed + 5000 * (streams + index)).div_ceil(2);
    let per_segment = match (streams + index) % 2 {
        0 => grouped((streams + index) / 2),
        _ => format!("{}.5", grouped((streams + index) / 2)),
    };
    let rate = |bytes: u64| format!("{:.3}", original as f64 / bytes as f64);
    let (o, zt, s) = (grouped(original), grouped(zip_bytes), grouped(streams));
    vec![
        "challenge submission by part (bytes):".to_string(),
        format!("  zip total    {zt:>12}  rate {o} / {zt} = {}", rate(zip_bytes)),
        format!("  decoder      {:>12}  (vqtans-unpack, {} before deflate)", grouped(decoder), grouped(decoder_raw)),
        format!("  table set    {:>12}", grouped(table_set)),
        format!("  streams      {s:>12}  streams-only rate {o} / {s} = {}", rate(streams)),
        format!(
            "  other        {:>12}  (decompress.py {}, archive index/header/footer {}, zip headers {})",
            grouped(other),
            grouped(script),
            grouped(index + 64),
            grouped(zip_headers)
        ),
        format!(
            "projected to 5,000 segments: zip = F + 5,000 x P = {} + 5,000 x {per_segment} = {}",
            grouped(fixed),
            grouped(projected)
        ),
        format!("  rate = 5,000 x 192,000 / {} = {:.3}", grouped(projected), 5000.0 * 192_000.0 / projected as f64),
        "  (P = (streams + index) / 2 segments, F = zip - streams - index: decoder, table set, the rest)".to_string(),
    ]
}

/// Asserts that `output` holds `lines` one after the other.
fn assert_holds(output: &str, lines: &[String]) {
    let want = lines.join("\n");
    assert!(output.contains(&want), "expected\n{want}\nin\n{output}");
}

#[test]
fn the_readme_challenge_steps_work_from_the_bundled_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The decoder pack --challenge finds beside host-tools (built as test.sh does).
    decoder();
    // 1. $H shard -o data-0000.tar.gz ../shared/data/commavq/*.npy
    let shard = d.join("data-0000.tar.gz");
    let said = run_ok(&[&"shard", &"-o", &shard, &real(0), &real(1)]);
    assert!(
        said.starts_with(&format!(
            "wrote 2 segments (2400 frames) to {}: <key>.json and <key>.token.npy each",
            shard.display()
        )),
        "{said}"
    );
    let members = shard_members(&shard);
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "commaai-commavq_0.json",
            "commaai-commavq_0.token.npy",
            "mattseabrook-commavq_0.json",
            "mattseabrook-commavq_0.token.npy"
        ]
    );
    for (i, key) in KEYS.iter().enumerate() {
        assert_eq!(text(&members[2 * i].1), format!("{{\"file_name\": \"{key}.npy\"}}"));
        assert!(members[2 * i + 1].1 == std::fs::read(real(i)).unwrap(), "{key}.token.npy is the original file");
    }
    // 2. $H pack --challenge -o submission.zip --train data-0000.tar.gz
    let zip = d.join("submission.zip");
    let packed = run_ok(&[&"pack", &"--challenge", &"-o", &zip, &"--train", &shard]);
    assert!(packed.contains("challenge rate = original bytes / zip bytes = 384000 / "), "{packed}");
    // 3. python3 scripts/challenge-check.py submission.zip data-0000.tar.gz
    let out = check(&[&zip, &shard]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("segments checked: 2, mismatches or missing: 0\n"), "{stdout}");
    assert!(stdout.ends_with("challenge-check: OK\n"), "{stdout}");
    let zip_bytes = std::fs::metadata(&zip).unwrap().len();
    let rate = format!("rate = original bytes / zip bytes = 384000 / {zip_bytes} = {:.3}", 384000.0 / zip_bytes as f64);
    assert!(stdout.contains(&rate), "{rate}\n{stdout}");
    // The breakdown: the checker, ls and stats of the zip, and ls of the
    // archive alone (whose zip is projected with the same decoder) agree with
    // the numbers taken from the zip here.
    let breakdown = expected_breakdown(&zip);
    assert_holds(&stdout, &breakdown);
    assert_holds(&run_ok(&[&"ls", &zip]), &breakdown);
    assert_holds(&run_ok(&[&"stats", &zip]), &breakdown);
    let split = d.join("split.vqa");
    let mut archive = Vec::new();
    zip::ZipArchive::new(std::fs::File::open(&zip).unwrap())
        .unwrap()
        .by_name("split.vqa")
        .unwrap()
        .read_to_end(&mut archive)
        .unwrap();
    std::fs::write(&split, &archive).unwrap();
    assert_holds(&run_ok(&[&"ls", &split]), &breakdown);
    // unpack --shards of the archive writes .json members (the file_names the
    // archive keeps), so the checker takes its shards too.
    let again = d.join("again");
    run_ok(&[&"unpack", &split, &"-o", &again, &"--shards"]);
    let unpacked = again.join("data-0000.tar.gz");
    assert_eq!(shard_members(&unpacked), members, "the same members as the shard it was packed from");
    let out = check(&[&zip, &unpacked]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn the_checker_says_in_one_line_what_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let one_line = |out: &Output, code: i32, needle: &str| {
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{err}{}", text(&out.stdout));
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
        assert!(!err.contains("Traceback"), "{err}");
        assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    };
    let zip = d.join("submission.zip");
    std::fs::write(&zip, b"not used").unwrap();
    // .npy files instead of shards.
    let out = check(&[&zip, &real(0), &real(1)]);
    one_line(
        &out,
        2,
        &format!(
            "challenge-check: error: {}: is a .npy file, not a shard (the checker needs each segment's .json \
             file_name beside its tokens); make one with `host-tools shard -o data-0000.tar.gz FILE.npy...`",
            real(0).canonicalize().unwrap().display()
        ),
    );
    // A shard without .json members.
    let bare = d.join("bare.tar.gz");
    common::write_shard(&bare, &[("k_1.token.npy".to_string(), std::fs::read(real(0)).unwrap())]);
    let out = check(&[&zip, &bare]);
    one_line(
        &out,
        2,
        &format!(
            "{}: segment k_1 has no .json member (evaluate.py reads the file_name to check from it)",
            bare.canonicalize().unwrap().display()
        ),
    );
    // A .json without a file_name, and a shard cut short.
    let odd = d.join("odd.tar.gz");
    common::write_shard(
        &odd,
        &[
            ("k_1.json".to_string(), b"{\"name\": 1}".to_vec()),
            ("k_1.token.npy".to_string(), std::fs::read(real(0)).unwrap()),
        ],
    );
    one_line(&check(&[&zip, &odd]), 2, "k_1.json has no \"file_name\" string");
    let cut = d.join("cut.tar.gz");
    std::fs::write(&cut, &std::fs::read(&bare).unwrap()[..500]).unwrap();
    one_line(&check(&[&zip, &cut]), 2, "not a readable webdataset shard (.tar or .tar.gz)");
    // Usage errors: one line; --help prints the real usage.
    one_line(&check(&[]), 2, "challenge-check.py: error: the following arguments are required: SUBMISSION.zip, SHARD");
    let help = check(&[&"--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    assert!(help.starts_with("usage: challenge-check.py [-h] SUBMISSION.zip SHARD [SHARD ...]\n"), "{help}");
    assert!(help.contains("host-tools shard -o data-0000.tar.gz"), "{help}");
    // A submission that is not a zip fails the check (status 1), in one line.
    let shard = d.join("data-0000.tar.gz");
    run_ok(&[&"shard", &"-o", &shard, &real(0)]);
    let out = check(&[&zip, &shard]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        format!(
            "FAIL: {}: not a readable zip file: File is not a zip file\nchallenge-check: FAILED\n",
            zip.canonicalize().unwrap().display()
        )
    );
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn shard_refuses_duplicate_keys_and_writes_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let shard = d.join("s.tar.gz");
    let r = host_tools().args(["shard", "-o"]).arg(&shard).arg(real(0)).arg(real(0)).output().unwrap();
    let err = text(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert_eq!(err, "error: segment commaai-commavq_0: two inputs hold this key; the keys of a shard must be unique\n");
    // Onto its own input: refused, the input unchanged.
    let npy = d.join("a.npy");
    std::fs::copy(real(1), &npy).unwrap();
    let r = host_tools().args(["shard", "-o"]).arg(&npy).arg(&npy).output().unwrap();
    assert_eq!(r.status.code(), Some(1), "{}", text(&r.stderr));
    assert!(std::fs::read(&npy).unwrap() == std::fs::read(real(1)).unwrap());
    let mut left: Vec<String> =
        std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["a.npy"], "nothing else written");
    // A shard re-sharded keeps its .json members; a shard without them gets them.
    let first = d.join("first.tar.gz");
    common::write_shard(
        &first,
        &[
            ("x_1.json".to_string(), b"{\"file_name\": \"custom.npy\", \"extra\": 1}".to_vec()),
            ("x_1.token.npy".to_string(), std::fs::read(real(0)).unwrap()),
            ("y_2.token.npy".to_string(), std::fs::read(real(1)).unwrap()),
        ],
    );
    let second = d.join("second.tar.gz");
    run_ok(&[&"shard", &"-o", &second, &first]);
    let members = shard_members(&second);
    let json: Vec<(&str, String)> =
        members.iter().filter(|(n, _)| n.ends_with(".json")).map(|(n, b)| (n.as_str(), text(b))).collect();
    assert_eq!(
        json,
        [
            ("x_1.json", "{\"file_name\": \"custom.npy\", \"extra\": 1}".to_string()),
            ("y_2.json", "{\"file_name\": \"y_2.npy\"}".to_string())
        ]
    );
}
