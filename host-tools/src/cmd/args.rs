//! Command-line options shared by several subcommands.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::io::http::Fetch;
use crate::io::remote::{parse_shard_range, DEFAULT_RETRIES};
use crate::io::{FetchOptions, Segments, Selection};

/// How remote inputs (`http://`, `https://`, `hf://`) are downloaded
/// (`--cache`, `--retries`, `--http-timeout`, `--http-deadline`).
#[derive(Debug, Clone, clap::Args)]
pub struct RemoteArgs {
    /// Keep each remote input in DIR once it was read completely and passed
    /// every check, with a record of its URL, length, ETag/Last-Modified and
    /// SHA-256 beside it, and read it from there in later runs (created if
    /// needed). A copy that does not match its record, or a symbolic link,
    /// is not used: the input is downloaded again.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Retries of a download that fails (dropped connection, timeout, 5xx)
    /// without getting any further, before giving up; each resumes from the
    /// byte reached.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RETRIES)]
    pub retries: u32,
    /// Seconds to wait for a connection, and for each read from the server,
    /// before retrying.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    pub http_timeout: Duration,
    /// Longest time one download may take, from its first request to its
    /// last byte, retries and waits included; a download still running then
    /// fails (a server sending a byte now and then cannot hold a run).
    #[arg(long, value_name = "SECS", default_value = "3600", value_parser = parse_seconds)]
    pub http_deadline: Duration,
}

impl Default for RemoteArgs {
    /// The command line's defaults: no cache, 5 retries, 30 s, 3600 s.
    fn default() -> RemoteArgs {
        let FetchOptions { http, cache } = FetchOptions::default();
        RemoteArgs { cache, retries: http.retries, http_timeout: http.timeout, http_deadline: http.deadline }
    }
}

impl RemoteArgs {
    /// The options for [`Selection::fetch`].
    pub fn fetch(&self) -> FetchOptions {
        let http = Fetch { retries: self.retries, timeout: self.http_timeout, deadline: self.http_deadline };
        FetchOptions { http, cache: self.cache.clone() }
    }
}

/// A number of seconds, 0.001 to 86400.
pub(crate) fn parse_seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(secs) if (0.001..=86_400.0).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("expected a number of seconds from 0.001 to 86400, not {text:?}")),
    }
}

/// `--shards A..B`.
fn parse_shards(text: &str) -> Result<Range<u32>, String> {
    parse_shard_range(text)
}

/// Which shards and segments of the inputs to use (`--shards`, `--limit`,
/// `--exclude`, `--only`), and how remote inputs are downloaded.
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
    /// Every input is still read, so a key held by two inputs is seen twice
    /// (and refused by pack, which needs unique keys, as without --only).
    #[arg(long, value_name = "KEY")]
    pub only: Vec<String>,
    /// Read the shards data-A.tar.gz to data-(B-1).tar.gz (4 digits) of each
    /// INPUT, which is then a base: a URL or hf:// prefix ending in `/`
    /// (hf://datasets/commaai/commavq/), or a folder. Half-open: 0..2 is
    /// shards 0 and 1.
    #[arg(long, value_name = "A..B", value_parser = parse_shards)]
    pub shards: Option<Range<u32>>,
    #[command(flatten)]
    pub remote: RemoteArgs,
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
            return Err(super::usage(format!(
                "key {} is both selected (--only) and excluded (--exclude); give it to one of them",
                both.join(", ")
            )));
        }
        Ok(Selection {
            limit: self.limit,
            exclude: self.exclude.clone(),
            only: self.only.clone(),
            shards: self.shards.clone(),
            fetch: self.remote.fetch(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        selection: SelectionArgs,
    }

    #[test]
    fn command_line_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.selection.selection().unwrap(), Selection::default());
        assert_eq!(cli.selection.remote.fetch(), RemoteArgs::default().fetch());
    }

    #[test]
    fn shards_and_remote_options_are_parsed() {
        let cli = Cli::try_parse_from([
            "x",
            "--shards",
            "3..5",
            "--retries",
            "0",
            "--http-timeout",
            "0.5",
            "--http-deadline",
            "2",
            "--cache",
            "c",
        ])
        .unwrap();
        let selection = cli.selection.selection().unwrap();
        assert_eq!(selection.shards, Some(3..5));
        let http = Fetch { retries: 0, timeout: Duration::from_millis(500), deadline: Duration::from_secs(2) };
        assert_eq!(selection.fetch.http, http);
        assert_eq!(selection.fetch.cache.as_deref(), Some(std::path::Path::new("c")));
        for bad in
            [&["--shards", "5..3"][..], &["--http-timeout", "0"], &["--http-deadline", "x"], &["--retries", "-1"]]
        {
            assert!(Cli::try_parse_from(["x"].iter().chain(bad)).is_err(), "{bad:?}");
        }
    }
}
