//! numpy arrays of tokens, validated exactly like `.npy` inputs of
//! `host-tools` (see `host_tools::io::tokens::read_segment`).
//!
//! Accepted: any integer dtype (signed or unsigned, 1 to 8 bytes, either byte
//! order), shape `(N, 8, 16)` or `(N, 128)` with `1 <= N <= 65536`, any
//! memory layout (C order, Fortran order, strided views), every value in
//! `0..=1023`. The tokens are read once, in logical (row-major) order, into
//! the `u16` frames the codec takes; no other copy is made, except that numpy
//! first converts a byte-swapped or unaligned array to a native one.
//!
//! Errors are the `.npy` reader's ([`IoError`]), naming the array (e.g.
//! `tokens` or `segments[2]`) where the reader names the file, and giving a
//! bad value's logical position (frame, row, column) whatever the shape and
//! layout.

use std::path::PathBuf;

use host_tools::io::tokens::{COLS, MAX_FRAMES, MAX_TOKEN, ROWS, TOKENS_PER_FRAME};
use host_tools::io::IoError;
use numpy::{Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors;

/// Validated tokens: `frames * 128` values, each `0..=1023`, row-major.
pub struct Tokens {
    /// Number of frames, `1..=65536`.
    pub frames: usize,
    /// The tokens, index `(frame * 8 + row) * 16 + col`.
    pub values: Vec<u16>,
}

/// Why an object is not a token array.
pub enum TokenError {
    /// Not a numpy array at all (the type's name).
    NotAnArray(String),
    /// An array, refused as the `.npy` reader refuses a file.
    Invalid(IoError),
    /// numpy failed (e.g. the array is being written through another borrow).
    Python(PyErr),
}

impl TokenError {
    /// The error as a Python exception: `TypeError` for a non-array or a
    /// non-integer dtype, `ValueError` for the rest of the `.npy` checks.
    pub fn into_py(self, what: &str) -> PyErr {
        match self {
            TokenError::NotAnArray(type_name) => PyTypeError::new_err(format!(
                "{what}: expected a numpy array of integer tokens shaped (N, 8, 16) or (N, 128), got {type_name}"
            )),
            TokenError::Invalid(e) => errors::io_error(&e),
            TokenError::Python(e) => e,
        }
    }

    /// The error as an I/O-layer error naming `what` (for a stream of
    /// segments, whose items are `Result<Segment, IoError>`).
    pub fn into_io(self, what: &str) -> IoError {
        match self {
            TokenError::Invalid(e) => e,
            other => IoError::Read {
                file: PathBuf::from(what),
                source: std::io::Error::other(Python::attach(|py| other.into_py(what).value(py).to_string())),
            },
        }
    }
}

impl From<PyErr> for TokenError {
    fn from(e: PyErr) -> TokenError {
        TokenError::Python(e)
    }
}

/// Reads `obj` as one segment of tokens; `what` names it in errors.
pub fn read_tokens(obj: &Bound<'_, PyAny>, what: &str) -> Result<Tokens, TokenError> {
    let file = || PathBuf::from(what);
    let Ok(array) = obj.cast::<PyUntypedArray>() else {
        let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "an object".into());
        return Err(TokenError::NotAnArray(type_name));
    };
    let dtype = array.dtype();
    if !matches!(dtype.kind(), b'i' | b'u') || !matches!(dtype.itemsize(), 1 | 2 | 4 | 8) {
        let descr = dtype.getattr("str").and_then(|s| s.extract::<String>()).unwrap_or_else(|_| "?".into());
        return Err(TokenError::Invalid(IoError::UnsupportedDtype { file: file(), descr }));
    }
    let frames = match array.shape() {
        &[n, ROWS, COLS] | &[n, TOKENS_PER_FRAME] => n,
        other => {
            let shape = other.iter().map(|&d| d as u64).collect();
            return Err(TokenError::Invalid(IoError::WrongShape { file: file(), shape }));
        }
    };
    if frames == 0 {
        return Err(TokenError::Invalid(IoError::Empty { file: file() }));
    }
    if frames > MAX_FRAMES {
        return Err(TokenError::Invalid(IoError::TooManyFrames { file: file(), frames: frames as u64 }));
    }
    // Byte-swapped or unaligned data: let numpy make a native, aligned copy.
    let native;
    let array = if dtype.is_native_byteorder() == Some(false) || !array.is_aligned() {
        let native_dtype = dtype.call_method1("newbyteorder", ("=",))?;
        native = array.call_method1("astype", (native_dtype,))?.cast_into::<PyUntypedArray>().map_err(PyErr::from)?;
        &native
    } else {
        array
    };
    let values = match (dtype.kind(), dtype.itemsize()) {
        (b'i', 1) => values_of::<i8>(array, frames, what)?,
        (b'i', 2) => values_of::<i16>(array, frames, what)?,
        (b'i', 4) => values_of::<i32>(array, frames, what)?,
        (b'i', 8) => values_of::<i64>(array, frames, what)?,
        (b'u', 1) => values_of::<u8>(array, frames, what)?,
        (b'u', 2) => values_of::<u16>(array, frames, what)?,
        (b'u', 4) => values_of::<u32>(array, frames, what)?,
        _ => values_of::<u64>(array, frames, what)?,
    };
    Ok(Tokens { frames, values })
}

/// The tokens of `array` (dtype `T`, checked shape) in logical order, each
/// checked to be `0..=1023`.
fn values_of<T>(array: &Bound<'_, PyUntypedArray>, frames: usize, what: &str) -> Result<Vec<u16>, TokenError>
where
    T: Element + Copy + Into<i128>,
{
    let typed = array.cast::<PyArrayDyn<T>>().map_err(PyErr::from)?;
    let readonly = typed.try_readonly().map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
    let view = readonly.as_array();
    let mut values = Vec::with_capacity(frames * TOKENS_PER_FRAME);
    let mut push = |index: usize, v: T| -> Result<(), TokenError> {
        let value: i128 = v.into();
        if !(0..=i128::from(MAX_TOKEN)).contains(&value) {
            return Err(TokenError::Invalid(IoError::TokenOutOfRange {
                file: PathBuf::from(what),
                frame: index / TOKENS_PER_FRAME,
                row: index % TOKENS_PER_FRAME / COLS,
                col: index % COLS,
                value,
            }));
        }
        values.push(value as u16);
        Ok(())
    };
    match view.as_slice() {
        Some(slice) => slice.iter().enumerate().try_for_each(|(i, &v)| push(i, v))?,
        None => view.iter().enumerate().try_for_each(|(i, &v)| push(i, v))?,
    }
    Ok(values)
}
