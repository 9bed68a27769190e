//! End-to-end round trips through the `host-tools` binary on the real
//! segments: build tables, encode, decode, byte-compare, verify, stats.

mod common;

use std::path::Path;

use common::*;

/// Encodes `npy` with `tables`, decodes it, checks the decoded `.npy` is
/// byte-identical to `npy` and that `verify` accepts the stream.
fn round_trip(tables: &Path, npy: &Path, dir: &Path) {
    let stream = dir.join("s.vqt");
    let decoded = dir.join("decoded.npy");
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &stream, &npy]);
    run_ok(&[&"decode", &"--tables", &tables, &"-o", &decoded, &stream]);
    assert!(
        std::fs::read(&decoded).unwrap() == std::fs::read(npy).unwrap(),
        "decoded {} differs from {}",
        decoded.display(),
        npy.display()
    );
    let out = run_ok(&[&"verify", &"--tables", &tables, &stream, &npy]);
    assert!(out.starts_with("OK:"), "{out}");
}

#[test]
fn leave_one_out_both_ways() {
    for (train, test) in [(0, 1), (1, 0)] {
        let dir = tempfile::tempdir().unwrap();
        round_trip(&tables_from(train), &real(test), dir.path());
    }
}

#[test]
fn truncated_segment_of_ten_frames_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let ten = dir.path().join("ten.npy");
    std::fs::write(&ten, first_frames(1, 10)).unwrap();
    round_trip(&tables_from(0), &ten, dir.path());
    // A single frame too (frame 0 only: raw tokens, no context).
    let one = dir.path().join("one.npy");
    std::fs::write(&one, first_frames(0, 1)).unwrap();
    round_trip(&tables_from(1), &one, dir.path());
}

#[test]
fn order0_tables_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    round_trip(&order0_tables(), &real(0), dir.path());
}

#[test]
fn build_tables_is_deterministic_and_input_order_free() {
    let dir = tempfile::tempdir().unwrap();
    let ab = dir.path().join("ab.vqtt");
    let ba = dir.path().join("ba.vqtt");
    let folder = dir.path().join("folder.vqtt");
    let out = run_ok(&[&"build-tables", &"-o", &ab, &real(0), &real(1)]);
    assert!(out.contains("segments      2"), "{out}");
    assert!(out.contains(&format!("table-set id  {}", table_id(&ab))), "{out}");
    run_ok(&[&"build-tables", &"--threads", &"1", &"-o", &ba, &real(1), &real(0)]);
    // The folder holds the two segments (near_duplicates/ is a subfolder: not read).
    run_ok(&[&"build-tables", &"-o", &folder, &data_dir()]);
    let blob = std::fs::read(&ab).unwrap();
    assert_eq!(blob, std::fs::read(&ba).unwrap());
    assert_eq!(blob, std::fs::read(&folder).unwrap());
    // --exclude / --only select the same set as the single file.
    let only = dir.path().join("only.vqtt");
    run_ok(&[&"build-tables", &"-o", &only, &"--exclude", &"mattseabrook-commavq_0", &data_dir()]);
    assert_eq!(std::fs::read(&only).unwrap(), std::fs::read(tables_from(0)).unwrap());
    run_ok(&[&"build-tables", &"-o", &only, &"--only", &"mattseabrook-commavq_0", &data_dir()]);
    assert_eq!(std::fs::read(&only).unwrap(), std::fs::read(tables_from(1)).unwrap());
}

#[test]
fn shard_encodes_to_a_folder_of_streams() {
    let dir = tempfile::tempdir().unwrap();
    let shard = dir.path().join("data-0000.tar.gz");
    let keys = ["3b41c0fa8959aea6c118e5714f412a2e_13", "aaaa0000_7"];
    let mut members = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        members.push((format!("{key}.json"), br#"{"fps": 20}"#.to_vec()));
        members.push((format!("{key}.token.npy"), std::fs::read(real(i)).unwrap()));
    }
    members.push(("README.txt".to_string(), b"an extra member".to_vec()));
    write_shard(&shard, &members);

    let tables = tables_from(0);
    let out = dir.path().join("streams");
    let summary = run_ok(&[&"encode", &"--tables", &tables, &"-o", &out, &shard]);
    assert!(summary.contains("encoded 2 segments"), "{summary}");
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, keys.map(|k| format!("{k}.vqt")));
    for (i, key) in keys.iter().enumerate() {
        let stream = out.join(format!("{key}.vqt"));
        run_ok(&[&"verify", &"--tables", &tables, &stream, &real(i)]);
    }

    // stats reads the shard too, with the same selection options.
    let stats = run_ok(&[&"stats", &"--tables", &tables, &"--only", &keys[1], &shard]);
    assert!(stats.contains(keys[1]) && !stats.contains(keys[0]), "{stats}");
}

#[test]
fn folder_encodes_to_a_folder_of_streams() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    std::fs::copy(real(0), input.join("a.token.npy")).unwrap();
    std::fs::copy(real(1), input.join("b.npy")).unwrap();
    std::fs::write(input.join("notes.txt"), "not a segment").unwrap();
    let tables = tables_from(1);
    let out = dir.path().join("out");
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &out, &input]);
    run_ok(&[&"verify", &"--tables", &tables, &out.join("a.vqt"), &real(0)]);
    run_ok(&[&"verify", &"--tables", &tables, &out.join("b.vqt"), &real(1)]);
    // Encoding a single file into an existing folder names it by key.
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &dir.path(), &input.join("b.npy")]);
    assert!(dir.path().join("b.vqt").is_file());
}

#[test]
fn stats_reports_rates_and_parts() {
    let tables = tables_from(0);
    let out = run_ok(&[&"stats", &"--tables", &tables, &real(1)]);
    assert!(out.contains("mattseabrook-commavq_0"), "{out}");
    assert!(out.contains("all lossless"), "{out}");
    let wide = run_ok(&[&"stats", &"--wide", &"--tables", &tables, &real(1)]);
    assert!(wide.contains("class:successor") && wide.contains("overhead"), "{wide}");
    assert!(wide.contains("all lossless"), "{wide}");

    let json = run_ok(&[&"stats", &"--json", &"--tables", &tables, &real(0), &real(1)]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["tables"]["id"], table_id(&tables));
    assert_eq!(doc["lossless_verified"], true);
    let segments = doc["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 2);
    assert_eq!(segments[1]["key"], "mattseabrook-commavq_0");
    let total = &doc["total"];
    assert_eq!(total["tokens"], 2 * 1200 * 128);
    let bytes = total["bytes"].as_u64().unwrap();
    let rate = total["rate"].as_f64().unwrap();
    assert!((rate - (2.0 * 1200.0 * 128.0 * 10.0) / (bytes as f64 * 8.0)).abs() < 1e-9);
    // The parts add up to the whole stream.
    let part_bits: u64 = total["parts"].as_object().unwrap().values().map(|p| p["bits"].as_u64().unwrap()).sum();
    assert_eq!(part_bits, bytes * 8);
    // Each stream is what `encode` writes: the sizes match.
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("s.vqt");
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &stream, &real(1)]);
    assert_eq!(segments[1]["bytes"].as_u64().unwrap(), std::fs::metadata(&stream).unwrap().len());
    // A context model beats 10 bits per token by far on unseen data.
    assert!(segments[1]["rate"].as_f64().unwrap() > 1.5, "{json}");
}

/// The header line and the row of `key` in a `stats` text report, split
/// into words.
fn stats_row<'a>(out: &'a str, key: &str) -> (Vec<&'a str>, Vec<&'a str>) {
    let header = out.lines().find(|l| l.starts_with("key ")).expect("header line");
    let row = out.lines().find(|l| l.starts_with(key)).expect("row of the key");
    (header.split_whitespace().collect(), row.split_whitespace().collect())
}

#[test]
fn stats_fits_100_columns_and_wide_shows_every_part() {
    // A short path, so the `tables PATH` line is not what is measured.
    let dir = tempfile::tempdir().unwrap();
    let tables = dir.path().join("t.vqtt");
    std::fs::copy(tables_from(0), &tables).unwrap();
    let json = run_ok(&[&"stats", &"--json", &"--tables", &tables, &real(1)]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let seg = &doc["segments"][0];
    let parts = seg["parts"].as_object().unwrap();
    let tokens = seg["tokens"].as_u64().unwrap() as f64;
    let bits = |names: &[&str]| names.iter().map(|n| parts[*n]["bits"].as_u64().unwrap()).sum::<u64>() as f64 / tokens;
    let key = "mattseabrook-commavq_0";

    let out = run_ok(&[&"stats", &"--tables", &tables, &real(1)]);
    for line in out.lines() {
        assert!(line.chars().count() <= 100, "{} columns: {line}", line.chars().count());
    }
    let (header, row) = stats_row(&out, key);
    assert_eq!(header, ["key", "frames", "bytes", "rate", "bits/tok", "class", "offset", "escaped", "other"]);
    let grouped = [
        bits(&["class:copy", "class:own", "class:successor", "class:escape"]),
        bits(&["successor-offset"]),
        bits(&["escape-token"]),
        bits(&["first-frame", "group-check", "overhead"]),
    ];
    let expected: Vec<String> = [
        key.to_string(),
        seg["frames"].to_string(),
        seg["bytes"].to_string(),
        format!("{:.3}", seg["rate"].as_f64().unwrap()),
        format!("{:.4}", seg["bits_per_token"].as_f64().unwrap()),
    ]
    .into_iter()
    .chain(grouped.iter().map(|b| format!("{b:.4}")))
    .collect();
    assert_eq!(row, expected, "{out}");

    // --wide: the tokens and every part of the JSON report in a column.
    let wide = run_ok(&[&"stats", &"--wide", &"--tables", &tables, &real(1)]);
    let (header, row) = stats_row(&wide, key);
    assert_eq!(header[..6], ["key", "frames", "tokens", "bytes", "rate", "bits/tok"], "{wide}");
    assert_eq!(header.last(), Some(&"overhead"), "{wide}");
    let mut shown: Vec<&str> = header[6..].to_vec();
    shown.sort_unstable();
    assert_eq!(shown, parts.keys().map(String::as_str).collect::<Vec<_>>(), "every part: {wide}");
    assert_eq!(row[2], seg["tokens"].to_string());
    for (name, value) in header.iter().zip(&row).skip(6) {
        assert_eq!(*value, format!("{:.4}", bits(&[name])), "{name}: {wide}");
    }
}
