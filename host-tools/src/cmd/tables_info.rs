//! `host-tools tables-info`: a table set's model parameters and device footprint.
//!
//! Prints one `label value` line each: the file, the table-set id and format,
//! the model (kind, model-section version, list length and coding, number of
//! class tables and whether a context map chooses them), the state log, the
//! range of table logs, the fewest slots a symbol has, the entry width of the
//! compiled image, and the
//! footprint: blob bytes, image bytes (`T x 2^M x entry bytes`) and their sum,
//! what a device stores to decode with the set. With `--json`, the same as one
//! JSON object. The set is validated as for every other command.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;
use vqtans::model::context::ListCoding;
use vqtans::model::Model;

use crate::io::show;
use crate::tables::{entry_width_name, TableFile};

/// Options of `tables-info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The table-set file.
    #[arg(value_name = "TABLES")]
    pub tables: PathBuf,
}

/// Runs `tables-info`.
pub fn run(args: &Args) -> Result<()> {
    let tables = TableFile::load(&args.tables)?;
    let set = tables.set();
    let logs = set.tables().map(|t| t.log);
    let (log_min, log_max) = logs.fold((u8::MAX, 0), |(lo, hi), l| (lo.min(l), hi.max(l)));
    // The fewest slots any symbol of any table has (symbols without a slot aside).
    let least_slots =
        set.tables().flat_map(|t| (0..t.alphabet()).map(move |s| t.count(s))).filter(|&c| c > 0).min().unwrap_or(0);
    let model = Model::from_table_set(&set)?;
    let mut lines: Vec<(&str, String)> = vec![
        ("tables", show(tables.path())),
        ("table-set id", tables.id_hex()),
        ("format", set.format().to_string()),
        ("model", tables.model_name()),
    ];
    let mut model_json = json!({ "name": tables.model_name() });
    if let Model::Context(m) = model {
        let coding = match m.list_coding() {
            ListCoding::U16 => "u16",
            ListCoding::Packed10 => "10-bit",
        };
        let map = if m.is_identity_map() { "one per context" } else { "context map" };
        lines.push(("section", format!("context model version {}", set.model()[1])));
        lines.push(("K", format!("{} ({coding} lists)", m.k())));
        lines.push(("class tables", format!("{} of {} symbols ({map})", m.n_tables(), m.classes().alphabet())));
        model_json = json!({
            "name": tables.model_name(),
            "kind": "context",
            "version": set.model()[1],
            "k": m.k(),
            "list_coding": coding,
            "tables": m.n_tables(),
            "alphabet": m.classes().alphabet(),
            "context_map": m.context_map().to_vec(),
        });
    } else {
        lines.push(("class tables", set.len().to_string()));
    }
    lines.extend([
        ("state log", set.state_log().to_string()),
        ("table logs", if log_min == log_max { log_min.to_string() } else { format!("{log_min}..{log_max}") }),
        ("least slots", least_slots.to_string()),
        ("entries", entry_width_name(set.entry_width()).to_string()),
        ("blob", format!("{} bytes", set.blob_len())),
        (
            "image",
            format!(
                "{} bytes ({} tables x 2^{} x {} bytes)",
                set.compiled_bytes(),
                set.len(),
                set.state_log(),
                set.entry_width().bytes()
            ),
        ),
        ("footprint", format!("{} bytes (blob + image)", set.device_footprint())),
    ]);
    if args.json {
        let doc = json!({
            "path": show(tables.path()),
            "id": tables.id_hex(),
            "format": set.format(),
            "model": model_json,
            "state_log": set.state_log(),
            "table_logs": [log_min, log_max],
            "least_slots": least_slots,
            "footprint": super::stats::footprint_json(&set),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for (label, value) in lines {
            println!("{label:<13} {value}");
        }
    }
    Ok(())
}
