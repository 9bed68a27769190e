//! Build script: takes the board from its cargo feature, writes its
//! `memory.x`, embeds the segments the firmware decodes, refuses what does
//! not fit the board's flash and decides whether the table sets are copied to
//! RAM at boot.
//!
//! Board (`src/boards/spec.rs`): one feature per board (`mps2-an386`, the
//! default, `microbit-v1`, `nrf52840-dk`, `nucleo-f446re`); the default
//! yields to any other board feature, two other board features are an error.
//! Sets `cfg(board = "...")` and the board's core, `cfg(armv7em)` or
//! `cfg(armv6m)`. The target triple is never used to pick the board: a
//! triple other than the board's sets `cfg(target_mismatch)`, which stops
//! the compile with a `compile_error!` (`src/boards/mod.rs`).
//!
//! Environment (paths relative to this package, or absolute):
//! - `VQTANS_FW_TABLES`: table-set blob(s), `host-tools build-tables` output
//!   (postcard, loaded on the device with `TableSetRef::from_bytes`);
//! - `VQTANS_FW_STREAM`: encoded segment(s), `host-tools encode` output (`.vqt`).
//!
//! Both are lists separated by `:` (like `PATH`) and pair up by position:
//! stream `i` is decoded with tables `i`. Each segment is named after its
//! stream's file stem. Without them (both unset or empty) the firmware has no
//! segment and sends `data/placeholder.bin` instead (the UART smoke test).
//!
//! - `VQTANS_FW_LINK_TABLES`: table sets only (same list syntax), for the
//!   streaming mode: the firmware then receives streams over its UART and
//!   picks the table set by each stream's table-set id (`src/link.rs`).
//!   Excludes `VQTANS_FW_STREAM`.
//!
//! For every table set this script also compiles the decode tables with the
//! host build of the codec (`OwnedDecodeTables::new(&set)?.image_le_bytes()`)
//! and writes them as little-endian `u32` words; the firmware checks that
//! image against the table set at boot (`TableSetRef::verify_compiled`). The
//! stream is embedded as is: the build does not check it (a damaged stream is
//! a test case; the device reports it).
//!
//! Flash budget: everything the device stores for decoding (each table set,
//! its compiled image, and any stream in flash) must fit the board's flash
//! minus its code reserve (`Board::flash_budget`); otherwise the build fails
//! with a message naming the sizes.
//!
//! RAM: if the table sets and their images fit the board's
//! `tables_ram_budget`, the firmware copies them to RAM at boot (as a real
//! device would, so no decode read goes to flash); `TABLES_RAM_BYTES` in the
//! generated `placement.rs` is then the RAM they take, else 0 (they stay in
//! flash).
//!
//! Output in `$OUT_DIR`: `memory.x`, `segments.rs`, `link_tables.rs` and
//! `placement.rs` (included by `src/segments.rs`), and the blobs they
//! `include_bytes!`.

use std::{
    env,
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use vqtans::table_set::{OwnedDecodeTables, TableSetRef};

#[path = "src/boards/spec.rs"]
#[allow(dead_code)] // the firmware reads the rest
mod boards;

use boards::Board;

/// The board chosen by the cargo features (see the module docs).
fn chosen_board() -> &'static Board {
    let on: Vec<&'static Board> = boards::ALL
        .into_iter()
        .filter(|b| env::var_os(format!("CARGO_FEATURE_{}", b.name.to_uppercase().replace('-', "_"))).is_some())
        .collect();
    let explicit: Vec<&'static Board> = on.iter().copied().filter(|b| b.name != boards::MPS2_AN386.name).collect();
    let names = || boards::ALL.iter().map(|b| b.name).collect::<Vec<_>>().join(", ");
    match (explicit.as_slice(), on.is_empty()) {
        ([board], _) => board,
        ([], false) => &boards::MPS2_AN386,
        ([], true) => fail(&format!("no board feature: build with exactly one of {}", names())),
        (many, _) => fail(&format!(
            "more than one board feature: {}; build with exactly one of {}",
            many.iter().map(|b| b.name).collect::<Vec<_>>().join(", "),
            names()
        )),
    }
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let target = env::var("TARGET").expect("TARGET is set by cargo");
    let board = chosen_board();
    println!("cargo:rustc-cfg=board=\"{}\"", board.name);
    println!("cargo:rustc-cfg={}", if board.target.starts_with("thumbv6m") { "armv6m" } else { "armv7em" });
    if target != board.target {
        println!(
            "cargo:warning=board {} needs --target {}, not {target} (see src/boards/spec.rs)",
            board.name, board.target
        );
        println!("cargo:rustc-cfg=target_mismatch");
    }

    write(&out.join("memory.x"), memory_x(board).as_bytes());
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=src/boards/spec.rs");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=data/placeholder.bin");
    println!("cargo:rerun-if-env-changed=VQTANS_FW_TABLES");
    println!("cargo:rerun-if-env-changed=VQTANS_FW_STREAM");
    println!("cargo:rerun-if-env-changed=VQTANS_FW_LINK_TABLES");

    let tables = path_list(&manifest, "VQTANS_FW_TABLES");
    let streams = path_list(&manifest, "VQTANS_FW_STREAM");
    if tables.len() != streams.len() {
        fail(&format!(
            "VQTANS_FW_TABLES names {} file(s) but VQTANS_FW_STREAM names {}; they pair up by position",
            tables.len(),
            streams.len()
        ));
    }
    let link_tables = path_list(&manifest, "VQTANS_FW_LINK_TABLES");
    if !link_tables.is_empty() && !streams.is_empty() {
        fail(
            "VQTANS_FW_LINK_TABLES (streams over the UART) and VQTANS_FW_STREAM (streams in flash) exclude each other",
        );
    }

    let mut footprint = Footprint::default();

    let mut link_src = String::from("// Generated by build.rs; see src/segments.rs.\n&[\n");
    for (i, tables_path) in link_tables.iter().enumerate() {
        let compiled = compile(tables_path);
        let name = stem(tables_path, &format!("tables{i}"));
        let tables_out = out.join(format!("link{i}.vqtt"));
        let image_out = out.join(format!("link{i}.image"));
        write(&tables_out, &compiled.blob);
        write(&image_out, &compiled.image);
        println!(
            "cargo:warning=link table set {i} '{name}': {} B (id {:016x}), compiled image {} B",
            compiled.blob.len(),
            compiled.id,
            compiled.image.len()
        );
        footprint.add_tables(&name, &compiled);
        writeln!(
            link_src,
            "    TableBlob {{ name: {name:?}, tables: include_bytes!({t:?}), image: &Aligned(*include_bytes!({m:?})).0 }},",
            t = tables_out.display().to_string(),
            m = image_out.display().to_string(),
        )
        .expect("write to String");
    }
    link_src.push_str("]\n");
    write(&out.join("link_tables.rs"), link_src.as_bytes());

    let mut src = String::from("// Generated by build.rs; see src/segments.rs.\n&[\n");
    for (i, (tables_path, stream_path)) in tables.iter().zip(&streams).enumerate() {
        let compiled = compile(tables_path);
        let stream = read(stream_path);
        let name = stem(stream_path, &format!("segment{i}"));

        let tables_out = out.join(format!("seg{i}.vqtt"));
        let image_out = out.join(format!("seg{i}.image"));
        let stream_out = out.join(format!("seg{i}.vqt"));
        write(&tables_out, &compiled.blob);
        write(&image_out, &compiled.image);
        write(&stream_out, &stream);
        println!(
            "cargo:warning=segment {i} '{name}': tables {} B (id {:016x}), compiled image {} B, stream {} B",
            compiled.blob.len(),
            compiled.id,
            compiled.image.len(),
            stream.len()
        );
        footprint.add_tables(&name, &compiled);
        footprint.add_stream(&name, stream.len());
        writeln!(
            src,
            "    Segment {{ name: {name:?}, tables: include_bytes!({t:?}), \
             image: &Aligned(*include_bytes!({m:?})).0, stream: include_bytes!({s:?}) }},",
            t = tables_out.display().to_string(),
            m = image_out.display().to_string(),
            s = stream_out.display().to_string(),
        )
        .expect("write to String");
    }
    src.push_str("]\n");
    write(&out.join("segments.rs"), src.as_bytes());

    footprint.check(board);
    let ram = footprint.ram_bytes(board);
    if footprint.tables > 0 {
        println!(
            "cargo:warning={}: table sets and images {} B{}, flash budget {} B: ok; tables {}",
            board.name,
            footprint.tables,
            if footprint.streams > 0 { format!(" + streams {} B", footprint.streams) } else { String::new() },
            board.flash_budget(),
            if ram > 0 {
                format!("copied to RAM at boot ({ram} B of the {} B budget)", board.tables_ram_budget)
            } else {
                format!("stay in flash (RAM budget for tables {} B)", board.tables_ram_budget)
            }
        );
    }
    write(
        &out.join("placement.rs"),
        format!(
            "// Generated by build.rs; see src/segments.rs.\n\
             /// RAM the table sets and their images take when copied at boot (each\n\
             /// rounded up to whole words); 0 if they stay in flash.\n\
             pub const TABLES_RAM_BYTES: usize = {ram};\n"
        )
        .as_bytes(),
    );
}

/// What the device stores for decoding, by part.
#[derive(Default)]
struct Footprint {
    /// Bytes of table sets and compiled images.
    tables: usize,
    /// The same, each part rounded up to whole words (as copied to RAM).
    tables_words: usize,
    /// Bytes of streams in flash.
    streams: usize,
    /// One line per part, for the error message.
    parts: Vec<String>,
}

impl Footprint {
    fn add_tables(&mut self, name: &str, compiled: &Compiled) {
        let (blob, image) = (compiled.blob.len(), compiled.image.len());
        self.tables += blob + image;
        self.tables_words += blob.next_multiple_of(4) + image.next_multiple_of(4);
        self.parts.push(format!("table set '{name}' {blob} B + its compiled image {image} B"));
    }

    fn add_stream(&mut self, name: &str, len: usize) {
        self.streams += len;
        self.parts.push(format!("stream '{name}' {len} B"));
    }

    /// Fails the build if everything does not fit the board's flash budget.
    fn check(&self, board: &Board) {
        let total = self.tables + self.streams;
        if total > board.flash_budget() {
            fail(&format!(
                "too large for the {} board's flash: the device would store {total} B ({}), over the flash budget of \
                 {} B ({} B flash - {} B reserved for code); build a smaller table set for this board",
                board.name,
                self.parts.join(", "),
                board.flash_budget(),
                board.flash_bytes,
                board.code_reserve
            ));
        }
    }

    /// RAM the table sets take if they are copied there at boot: all of them
    /// if they fit the board's budget, else none (0).
    fn ram_bytes(&self, board: &Board) -> usize {
        if self.tables_words <= board.tables_ram_budget {
            self.tables_words
        } else {
            0
        }
    }
}

/// The linker's memory map of `board`.
fn memory_x(board: &Board) -> String {
    format!(
        "/* Generated by build.rs from src/boards/spec.rs: {name}. */\n\
         MEMORY\n{{\n  FLASH : ORIGIN = {fo:#010x}, LENGTH = {flash}\n  RAM   : ORIGIN = {ro:#010x}, LENGTH = {ram}\n}}\n",
        name = board.name,
        fo = board.flash_origin,
        flash = board.flash_bytes,
        ro = board.ram_origin,
        ram = board.ram_bytes
    )
}

/// A table set with its compiled decode tables.
struct Compiled {
    blob: Vec<u8>,
    id: u64,
    /// Little-endian `u32` words.
    image: Vec<u8>,
}

/// Reads the table set at `path` and compiles its decode tables.
fn compile(path: &Path) -> Compiled {
    let blob = read(path);
    let (id, image) = {
        let set = TableSetRef::from_bytes(&blob)
            .unwrap_or_else(|e| fail(&format!("{}: not a valid table set: {e}", path.display())));
        let compiled = OwnedDecodeTables::new(&set)
            .unwrap_or_else(|e| fail(&format!("{}: compiling decode tables: {e}", path.display())));
        (set.id(), compiled.image_le_bytes())
    };
    Compiled { blob, id, image }
}

/// The file stem of `path`, or `fallback`.
fn stem(path: &Path, fallback: &str) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| fallback.to_string())
}

/// The files named by environment variable `var` (a `:`-separated list),
/// resolved against `base`. Unset or empty means none.
fn path_list(base: &Path, var: &str) -> Vec<PathBuf> {
    let value = env::var_os(var).unwrap_or_default();
    if value.is_empty() {
        return Vec::new();
    }
    env::split_paths(&value)
        .map(|p| {
            let p = base.join(p);
            println!("cargo:rerun-if-changed={}", p.display());
            p
        })
        .collect()
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| fail(&format!("read {}: {e}", path.display())))
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap_or_else(|e| fail(&format!("write {}: {e}", path.display())));
}

/// Fails the build with `msg` (cargo shows it with the script's output).
fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}
