//! Checksum groups on the command line: `encode --group-frames`, `groups`,
//! `decode --salvage` (the verified groups before the damage, byte-exact), and
//! streams of container format 1 from earlier builds.

mod common;

use std::path::Path;

use common::*;
use predicates::prelude::*;
use predicates::str::contains;

/// `(group, first byte, end byte)` of every group, from `host-tools groups`.
fn group_bytes(tables: &Path, stream: &Path) -> Vec<(u32, usize, usize)> {
    let out = run_ok(&[&"groups", &"--tables", &tables, &stream]);
    out.lines()
        .filter(|l| l.starts_with("group "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let (a, b) = w[7].split_once("..").unwrap();
            (w[1].parse().unwrap(), a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

#[test]
fn salvage_returns_every_frame_before_damage_in_the_last_second() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(1);
    let stream = dir.path().join("seg0.vqt");
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &stream, &real(0)]);
    let groups = group_bytes(&tables, &stream);
    assert_eq!(groups.len(), 60, "1200 frames in groups of 20");
    // One byte in the middle of the last group (the last second of video).
    let (last, start, end) = groups[59];
    let mut bytes = std::fs::read(&stream).unwrap();
    bytes[(start + end) / 2] ^= 0x08;
    let damaged = dir.path().join("damaged.vqt");
    std::fs::write(&damaged, &bytes).unwrap();
    let out = dir.path().join("out.npy");

    // Without --salvage: an error, nothing written.
    host_tools()
        .args(["decode", "--tables"])
        .arg(&tables)
        .arg("-o")
        .arg(&out)
        .arg(&damaged)
        .assert()
        .code(1)
        .stderr(contains("damaged.vqt").and(contains("panicked").not()));
    assert!(!out.exists());

    // With --salvage: the 1180 frames before group 59, byte-exact, and still a failure
    // naming the group.
    host_tools()
        .args(["decode", "--salvage", "--tables"])
        .arg(&tables)
        .arg("-o")
        .arg(&out)
        .arg(&damaged)
        .assert()
        .code(1)
        .stderr(contains(format!("first bad group {last} (frames 1180..1200)")).and(contains("1180 verified frames")));
    assert!(std::fs::read(&out).unwrap() == first_frames(0, 1180), "salvaged frames differ from the original's");

    // Damage in group 0: nothing verified, nothing written.
    let mut bytes = std::fs::read(&stream).unwrap();
    bytes[(groups[0].1 + groups[0].2) / 2] ^= 0x01;
    std::fs::write(&damaged, &bytes).unwrap();
    let none = dir.path().join("none.npy");
    host_tools()
        .args(["decode", "--salvage", "--tables"])
        .arg(&tables)
        .arg("-o")
        .arg(&none)
        .arg(&damaged)
        .assert()
        .code(1)
        .stderr(contains("first bad group 0 (frames 0..20)").and(contains("no frame before it")));
    assert!(!none.exists());

    // An intact stream decodes the same with or without --salvage.
    run_ok(&[&"decode", &"--salvage", &"--tables", &tables, &"-o", &out, &stream]);
    assert!(std::fs::read(&out).unwrap() == std::fs::read(real(0)).unwrap());
}

#[test]
fn group_frames_sets_the_group_size() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(0);
    let npy = dir.path().join("fifty.npy");
    std::fs::write(&npy, first_frames(1, 50)).unwrap();
    let mut sizes = Vec::new();
    for g in ["1", "7", "20", "65535"] {
        let stream = dir.path().join(format!("g{g}.vqt"));
        // One section (container format 2): only the groups change the size.
        run_ok(&[&"encode", &"--group-frames", &g, &"--sections", &"1", &"--tables", &tables, &"-o", &stream, &npy]);
        let groups = group_bytes(&tables, &stream);
        assert_eq!(groups.len(), 50usize.div_ceil(g.parse::<usize>().unwrap().min(50)), "G {g}");
        let out = dir.path().join(format!("g{g}.npy"));
        run_ok(&[&"decode", &"--tables", &tables, &"-o", &out, &stream]);
        assert!(std::fs::read(&out).unwrap() == std::fs::read(&npy).unwrap(), "G {g}");
        run_ok(&[&"verify", &"--tables", &tables, &stream, &npy]);
        sizes.push(std::fs::metadata(&stream).unwrap().len());
    }
    // 4 bytes per group (give or take the last byte's padding).
    assert!((sizes[0] as i64 - sizes[3] as i64 - 4 * 49).abs() <= 1, "{sizes:?}");
    for (option, bad) in [("--group-frames", ["0", "65536", "x"]), ("--sections", ["0", "5", "x"])] {
        for value in bad {
            host_tools()
                .args(["encode", option, value, "--tables"])
                .arg(&tables)
                .arg("-o")
                .arg(dir.path().join("bad.vqt"))
                .arg(&npy)
                .assert()
                .code(2)
                .stderr(contains(option));
        }
    }
    // Two sections (the default): container format 3; `groups` names them.
    let stream = dir.path().join("two.vqt");
    let said = run_ok(&[&"encode", &"--tables", &tables, &"-o", &stream, &npy]);
    assert!(said.contains("groups of 20 frames, up to 2 sections)"), "{said}");
    let listing = run_ok(&[&"groups", &"--tables", &tables, &stream]);
    assert!(listing.contains("container format 3, 50 frames in 3 group(s) of 20 frames, 2 sections"), "{listing}");
}

#[test]
fn format_1_streams_of_earlier_builds_decode() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../codec/tests/data");
    let (tables, stream) = (data.join("v1-k4.vqtt"), data.join("v1-commaai-50.vqt"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.npy");
    run_ok(&[&"decode", &"--tables", &tables, &"-o", &out, &stream]);
    assert!(std::fs::read(&out).unwrap() == first_frames(0, 50));
    let npy = dir.path().join("fifty.npy");
    std::fs::write(&npy, first_frames(0, 50)).unwrap();
    run_ok(&[&"verify", &"--tables", &tables, &stream, &npy]);
    let groups = run_ok(&[&"groups", &"--tables", &tables, &stream]);
    assert!(groups.contains("container format 1, 50 frames in 1 group(s) of 50 frames"), "{groups}");
}

#[test]
fn salvage_of_a_stream_cut_short_gives_every_group_that_arrived_whole() {
    let dir = tempfile::tempdir().unwrap();
    let tables = tables_from(1);
    let stream = dir.path().join("seg0.vqt");
    run_ok(&[&"encode", &"--tables", &tables, &"-o", &stream, &real(0)]);
    let groups = group_bytes(&tables, &stream);
    let bytes = std::fs::read(&stream).unwrap();
    // A cut anywhere, and right at the end of a group and one byte before it.
    let mut cuts = vec![31, 32, 40, 1000, 50_000, bytes.len() - 1];
    for g in [0, 1, 31, 32, 58] {
        cuts.extend([groups[g].2, groups[g].2 - 1]);
    }
    for cut in cuts {
        let whole = groups.iter().filter(|&&(_, _, end)| end <= cut).count();
        let cut_file = dir.path().join(format!("cut-{cut}.vqt"));
        std::fs::write(&cut_file, &bytes[..cut]).unwrap();
        let out = dir.path().join(format!("cut-{cut}.npy"));
        let r = host_tools()
            .args(["decode", "--salvage", "--tables"])
            .arg(&tables)
            .arg("-o")
            .arg(&out)
            .arg(&cut_file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "cut at {cut}: {stderr}");
        assert!(!stderr.contains("panicked"), "cut at {cut}: {stderr}");
        if whole == 0 {
            assert!(!out.exists(), "cut at {cut}: {stderr}");
            continue;
        }
        let frames = whole * 20;
        assert!(
            stderr.contains(&format!("first bad group {whole} (frames {frames}..{}): ", frames + 20))
                && stderr.contains("truncated")
                && stderr.contains(&format!("wrote the {frames} verified frames")),
            "cut at {cut}: {stderr}"
        );
        assert!(std::fs::read(&out).unwrap() == first_frames(0, frames), "cut at {cut}: frames differ");
    }
    // The first 50,000 bytes hold 29 whole groups with these tables (580 frames
    // recovered above).
    assert_eq!(groups.iter().filter(|&&(_, _, end)| end <= 50_000).count(), 29);
    // Bytes after the payload: every group verified, all frames written, and
    // still a failure.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"xyz");
    let longer_file = dir.path().join("longer.vqt");
    std::fs::write(&longer_file, &longer).unwrap();
    let out = dir.path().join("longer.npy");
    host_tools()
        .args(["decode", "--salvage", "--tables"])
        .arg(&tables)
        .arg("-o")
        .arg(&out)
        .arg(&longer_file)
        .assert()
        .code(1)
        .stderr(contains(
            "longer.vqt: 3 bytes after the end of the payload; every group verified: wrote all 1200 frames",
        ));
    assert!(std::fs::read(&out).unwrap() == std::fs::read(real(0)).unwrap());
}
