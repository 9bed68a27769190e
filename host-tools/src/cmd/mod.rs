//! The subcommands, one module each; each has an `Args` (clap) and a `run`.

pub mod args;
pub mod build_tables;
pub mod challenge;
pub mod decode;
pub mod encode;
pub mod get;
pub mod groups;
pub mod ls;
pub mod pack;
pub mod stats;
pub mod tables_info;
pub mod unpack;
pub mod verify;

/// Prints a command's summary `text` (complete lines): on stdout, or on stderr
/// when the command's output went to stdout, so it never mixes with the data.
pub fn print_summary(text: &str, output_on_stdout: bool) {
    if output_on_stdout {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
}
