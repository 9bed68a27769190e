//! `build-tables --max-bytes N` through the `host-tools` binary on the real
//! segments, leave-one-out: the chosen set fits the budget, codes the other
//! segment within the README's targets of the default set's rate, and is the
//! same whatever the input order and thread count; and the footprint that
//! `tables-info` and `stats` report.

mod common;

use std::path::Path;

use common::*;

/// `stats --json` of `tables` on `npy`: (rate, footprint bytes).
fn rate_and_footprint(tables: &Path, npy: &Path) -> (f64, u64) {
    let json = run_ok(&[&"stats", &"--json", &"--tables", &tables, &npy]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["lossless_verified"], true);
    (doc["total"]["rate"].as_f64().unwrap(), doc["tables"]["footprint"]["bytes"].as_u64().unwrap())
}

/// The budgets of the targets: at most this much worse than the default
/// set's leave-one-out rate (README, "Table budgets").
const TARGETS: [(u64, f64); 2] = [(131_072, 0.04), (524_288, 0.01)];

#[test]
fn budgets_fit_and_keep_the_rate_leave_one_out() {
    let dir = tempfile::tempdir().unwrap();
    for (train, test) in [(1, 0), (0, 1)] {
        let (default_rate, default_footprint) = rate_and_footprint(&tables_from(train), &real(test));
        assert_eq!(default_footprint, 397_534 + 409_600);
        for (budget, worst) in TARGETS {
            let tables = dir.path().join(format!("{budget}-from-{train}.vqtt"));
            let out = run_ok(&[&"build-tables", &"--max-bytes", &budget.to_string(), &"-o", &tables, &real(train)]);
            assert!(out.contains("chosen") && out.contains("held-out rate"), "{out}");
            let (rate, footprint) = rate_and_footprint(&tables, &real(test));
            let change = rate / default_rate - 1.0;
            println!(
                "--max-bytes {budget}, tables from {train}: footprint {footprint} B, rate {rate:.4} ({:+.2}%)",
                100.0 * change
            );
            assert!(footprint <= budget, "footprint {footprint} over the budget {budget}");
            assert!(out.contains(&format!("footprint     {footprint} bytes")), "{out}");
            assert!(
                change >= -worst,
                "rate {rate:.4} is {:.2}% below the default's {default_rate:.4}",
                -100.0 * change
            );
        }
    }
}

#[test]
fn budget_choice_is_deterministic_and_input_order_free() {
    let dir = tempfile::tempdir().unwrap();
    let ab = dir.path().join("ab.vqtt");
    let ba = dir.path().join("ba.vqtt");
    run_ok(&[&"--threads", &"2", &"build-tables", &"--max-bytes", &"200000", &"-o", &ab, &real(0), &real(1)]);
    run_ok(&[&"--threads", &"1", &"build-tables", &"--max-bytes", &"200000", &"-o", &ba, &real(1), &real(0)]);
    assert!(std::fs::read(&ab).unwrap() == std::fs::read(&ba).unwrap(), "tables differ by input order or threads");
}

#[test]
fn a_budget_nothing_fits_fails_before_reading_any_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.vqtt");
    let missing = dir.path().join("no-such-segment.npy");
    let result =
        host_tools().args(["build-tables", "--max-bytes", "5000", "-o"]).arg(&out).arg(&missing).output().unwrap();
    assert_eq!(result.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&result.stderr);
    // The smallest candidate: K = 8, state log 5, one table (10-bit lists).
    assert!(stderr.contains("no configuration fits 5000 bytes; the smallest takes "), "{stderr}");
    assert!(!stderr.contains("no-such-segment"), "the inputs were opened: {stderr}");
    assert!(!out.exists());
    // --max-bytes chooses K and the model: not with --k or --order0 (usage errors).
    for other in [&["--k", "64"][..], &["--order0"][..]] {
        let result = host_tools()
            .args(["build-tables", "--max-bytes", "131072", "-o"])
            .arg(&out)
            .args(other)
            .arg(real(0))
            .output()
            .unwrap();
        assert_eq!(result.status.code(), Some(2), "{other:?}");
    }
}

#[test]
fn tables_info_prints_parameters_and_footprint() {
    let out = run_ok(&[&"tables-info", &tables_from(0)]);
    for line in [
        "model         context model, K = 192",
        "section       context model version 2",
        "class tables  100 of 20 symbols (one per context)",
        "state log     10",
        "entries       32-bit entries",
        "blob          397534 bytes",
        "image         409600 bytes (100 tables x 2^10 x 4 bytes)",
        "footprint     807134 bytes (blob + image)",
    ] {
        assert!(out.lines().any(|l| l == line), "no line {line:?} in\n{out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.vqtt");
    run_ok(&[&"build-tables", &"--max-bytes", &"65536", &"-o", &small, &first_frames_file(dir.path())]);
    let json = run_ok(&[&"tables-info", &"--json", &small]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let footprint = &doc["footprint"];
    let bytes = footprint["bytes"].as_u64().unwrap();
    assert!(bytes <= 65_536, "{json}");
    assert_eq!(bytes, footprint["table_set_bytes"].as_u64().unwrap() + footprint["image_bytes"].as_u64().unwrap());
    assert_eq!(footprint["table_set_bytes"].as_u64().unwrap(), std::fs::metadata(&small).unwrap().len());
    assert_eq!(doc["model"]["version"], 3);
    assert_eq!(doc["model"]["list_coding"], "10-bit");
    let stats = run_ok(&[&"stats", &"--tables", &small, &real(1)]);
    assert!(stats.lines().any(|l| l.starts_with(&format!("footprint {bytes} bytes (table set "))), "{stats}");
}

/// The first 300 frames of real segment 0, as a file in `dir`.
fn first_frames_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("first300.npy");
    std::fs::write(&path, first_frames(0, 300)).unwrap();
    path
}
