//! The subcommands, one module each; each has an `Args` (clap) and a `run`.

pub mod args;
pub mod build_tables;
pub mod challenge;
pub mod decode;
pub mod decode_folder;
pub mod encode;
pub mod get;
pub mod groups;
pub mod link;
pub mod ls;
pub mod pack;
pub mod shard;
pub mod stats;
pub mod tables_info;
pub mod unpack;
pub mod verify;

/// A usage error: options or arguments that cannot go together, found after
/// clap parsed them. `host-tools` exits with status 2 for it, as for the
/// usage errors clap reports itself.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A [`UsageError`] saying `why`, as an `anyhow` error.
pub fn usage(why: impl Into<String>) -> anyhow::Error {
    UsageError(why.into()).into()
}

/// Prints a command's summary `text` (complete lines): on stdout, or on stderr
/// when the command's output went to stdout, so it never mixes with the data.
pub fn print_summary(text: &str, output_on_stdout: bool) {
    if output_on_stdout {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}

/// How a summary names `--sections S`: "1 section", or "up to S sections" (a
/// segment of a single checksum group is written as one section whatever S says).
pub fn sections_note(sections: u8) -> String {
    if sections <= 1 {
        "1 section".to_string()
    } else {
        format!("up to {sections} sections")
    }
}
