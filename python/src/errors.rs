//! Errors as Python exceptions.
//!
//! * A codec error ([`vqtans::Error`]) is a `vqtans.DecodeError` (a
//!   `ValueError`) whose `kind` is the error variant's name, e.g.
//!   `"Truncated"` or `"GroupChecksum"` ([`kind_name`]).
//! * An I/O-layer error ([`IoError`]) keeps its message (which names the
//!   file or array and the problem) and gets the Python type a Python user
//!   expects ([`io_error`]): `TypeError` for a dtype that is not an integer,
//!   `FileNotFoundError`/`PermissionError`/`OSError` for the file system,
//!   `ValueError` for bad content.

use host_tools::io::IoError;
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyIsADirectoryError, PyKeyboardInterrupt, PyOSError, PyPermissionError,
    PyTypeError, PyValueError,
};
use pyo3::prelude::*;

pyo3::import_exception!(vqtans._errors, DecodeError);

/// The name of `err`'s variant, e.g. `GroupChecksum` for
/// `Error::GroupChecksum { group: 3 }`: the start of its `Debug` text, which
/// `derive(Debug)` makes the variant name for every variant, present and
/// future (the Python tests check a range of them).
pub fn kind_name(err: &vqtans::Error) -> String {
    let debug = format!("{err:?}");
    debug.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or_default().to_string()
}

/// `vqtans.DecodeError(f"{what}: {err}", kind=kind_name(err))`.
pub fn decode_error(what: &str, err: vqtans::Error) -> PyErr {
    DecodeError::new_err((format!("{what}: {err}"), kind_name(&err)))
}

/// An I/O-layer error as the matching Python exception, with its message.
pub fn io_error(err: &IoError) -> PyErr {
    io_error_with_message(err, err.to_string())
}

/// [`io_error`] with another message (e.g. with context around it).
pub fn io_error_with_message(err: &IoError, message: String) -> PyErr {
    match err {
        IoError::UnsupportedDtype { .. } => PyTypeError::new_err(message),
        IoError::Read { source, .. } | IoError::Write { source, .. } => match source.kind() {
            std::io::ErrorKind::Interrupted => PyKeyboardInterrupt::new_err(message),
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
            std::io::ErrorKind::AlreadyExists => PyFileExistsError::new_err(message),
            std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(message),
            _ => PyOSError::new_err(message),
        },
        IoError::OutputRefused { .. } | IoError::WouldOverwriteInput { .. } => PyOSError::new_err(message),
        // A remote input that could not be downloaded (refused, unreachable,
        // changed on the server): an OSError, as urllib's errors are.
        IoError::Download(_) => PyOSError::new_err(message),
        IoError::BadHeader { .. }
        | IoError::TruncatedHeader { .. }
        | IoError::TruncatedData { .. }
        | IoError::TrailingData { .. }
        | IoError::WrongShape { .. }
        | IoError::TooManyFrames { .. }
        | IoError::Empty { .. }
        | IoError::TokenOutOfRange { .. }
        | IoError::Shard { .. }
        | IoError::NotAFile { .. }
        | IoError::UnusableName { .. }
        | IoError::DuplicateKey { .. }
        | IoError::JsonTooLarge { .. }
        | IoError::BadUrl { .. }
        | IoError::NotABase { .. }
        | IoError::UnsupportedInput { .. } => PyValueError::new_err(message),
    }
}

/// An error of the training or another `host_tools` step: the I/O error in
/// its chain decides the Python type ([`io_error`]), else `ValueError`; the
/// message is the whole chain on one line, as the command line prints it.
pub fn anyhow_error(err: &anyhow::Error) -> PyErr {
    let message = host_tools::message::describe(err);
    match err.chain().find_map(|cause| cause.downcast_ref::<IoError>()) {
        Some(io) => io_error_with_message(io, message),
        None => PyValueError::new_err(message),
    }
}
