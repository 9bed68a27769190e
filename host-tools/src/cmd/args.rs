//! Command-line options shared by several subcommands.

use anyhow::{bail, Result};

use crate::io::{Segments, Selection};

/// Which segments of the inputs to use (`--limit`, `--exclude`, `--only`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SelectionArgs {
    /// Use at most N segments (counting bad ones), in input order.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Leave out the segment with this key (file stem without `.token.npy`
    /// / `.npy`, or webdataset key); repeatable.
    #[arg(long, value_name = "KEY")]
    pub exclude: Vec<String>,
    /// Use only the segments with these keys; repeatable. A key that no
    /// input holds is an error, and so is a key also given to --exclude.
    #[arg(long, value_name = "KEY")]
    pub only: Vec<String>,
}

impl SelectionArgs {
    /// The selection for [`Segments::open`].
    ///
    /// Errors: a key both selected (`--only`) and excluded (`--exclude`).
    pub fn selection(&self) -> Result<Selection> {
        let mut both: Vec<&str> = self.only.iter().filter(|k| self.exclude.contains(k)).map(String::as_str).collect();
        both.sort_unstable();
        both.dedup();
        if !both.is_empty() {
            bail!("key {} is both selected (--only) and excluded (--exclude); give it to one of them", both.join(", "));
        }
        Ok(Selection { limit: self.limit, exclude: self.exclude.clone(), only: self.only.clone() })
    }
    /// After a complete pass over `segments`: fails if some `--only` key
    /// was found in no input (most likely a typing error). Not checked
    /// with `--limit`, which may legitimately stop before those keys.
    pub fn check_only_matched(&self, segments: &Segments) -> Result<()> {
        let missing = segments.unmatched_only();
        if self.limit.is_none() && !missing.is_empty() {
            bail!("--only: no input holds a segment with key {}", missing.join(", "));
        }
        Ok(())
    }
}
