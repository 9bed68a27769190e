//! `vqtans.encode` and `vqtans.decode`.

use std::borrow::Cow;
use std::num::NonZeroU16;
use std::ops::Range;

use numpy::{PyArray3, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PySlice};
use vqtans::container::{Header, FRAME_TOKENS};
use vqtans::segment::{EncodeOptions, SegmentDecoder};
use vqtans::table_set::TableSetRef;
use vqtans::tans::decode_table::DecodeTables;

use crate::errors;
use crate::tables::Tables;
use crate::tokens::read_tokens;

/// The bytes of a bytes-like object: borrowed from an immutable `bytes`
/// object, copied from anything else that has the buffer protocol with
/// 1-byte items (bytearray, memoryview, mmap, a numpy uint8 array, ...),
/// since those could change while the GIL is released.
///
/// Errors: `TypeError` naming `what` for an object without the buffer
/// protocol (e.g. `str`) or with items of another size.
pub fn read_bytes<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(bytes.as_bytes()));
    }
    let type_name = || obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "an object".into());
    let Ok(buffer) = PyUntypedBuffer::get(obj) else {
        return Err(PyTypeError::new_err(format!(
            "{what}: expected a bytes-like object (bytes, bytearray, memoryview, mmap, numpy uint8 array), got {}",
            type_name()
        )));
    };
    let Ok(bytes) = buffer.as_typed::<u8>() else {
        return Err(PyTypeError::new_err(format!(
            "{what}: expected a bytes-like object with 1-byte items, got {} with items of format {:?}",
            type_name(),
            buffer.format().to_string_lossy()
        )));
    };
    Ok(Cow::Owned(bytes.to_vec(obj.py())?))
}

const _: () = assert!(vqtans::container::DEFAULT_GROUP_FRAMES == 20, "update encode's default");

/// Encodes one segment of tokens to a vqtans stream.
///
/// `tokens`: a numpy array of any integer dtype, shape `(N, 8, 16)` or
/// `(N, 128)` with `1 <= N <= 65536`, any memory order, every value in
/// `0..=1023`. `tables`: the `Tables` to code with. `group_frames`: frames
/// per checksum group (1..=65535, default 20): a decoder verifies the stream
/// group by group, 4 bytes per group.
///
/// Returns the stream: the same bytes `host-tools encode` writes for the same
/// tokens, tables and group size. The tokens are checked and read once, in
/// logical order, into the codec's frames; then the GIL is released while
/// encoding (other threads may use `tokens` meanwhile without affecting the
/// stream).
///
/// Errors: `TypeError` when `tokens` is not a numpy array or its dtype is not
/// an integer; `ValueError` for a wrong shape, no frames or too many, or a
/// value outside `0..=1023` (naming the first such value and its frame, row
/// and column); `ValueError` when the tables cannot code these tokens.
#[pyfunction]
// A literal default, so that `help(vqtans.encode)` shows it (an expression
// shows as `...`); it is the codec's default, checked here at compile time.
#[pyo3(signature = (tokens, tables, *, group_frames = 20))]
pub fn encode<'py>(
    py: Python<'py>,
    tokens: &Bound<'py, PyAny>,
    tables: &Bound<'py, Tables>,
    group_frames: i64,
) -> PyResult<Bound<'py, PyBytes>> {
    let group_frames = u16::try_from(group_frames)
        .ok()
        .and_then(NonZeroU16::new)
        .ok_or_else(|| PyValueError::new_err(format!("group_frames={group_frames}: must be in 1..=65535")))?;
    let options = EncodeOptions { group_frames, ..EncodeOptions::default() };
    let tokens = read_tokens(tokens, "tokens").map_err(|e| e.into_py("tokens"))?;
    let tables = tables.get();
    let stream = py
        .detach(|| tables.encode_with(options, &tokens.values))
        .map_err(|e| PyValueError::new_err(format!("tokens: cannot encode with these tables: {e}")))?;
    Ok(PyBytes::new(py, &stream))
}

/// The number of frames a stream holds, from its header: the header's own
/// checksum and its payload length against the stream's length are checked,
/// the payload is not decoded (use it to size `decode`'s `out`).
///
/// Errors: `TypeError` when `stream` is not bytes-like, `DecodeError` when
/// its header is damaged or missing.
#[pyfunction]
pub fn stream_frames(stream: &Bound<'_, PyAny>) -> PyResult<u32> {
    let bytes = read_bytes(stream, "stream")?;
    let (header, _) = Header::parse(&bytes).map_err(|e| errors::decode_error("stream", e))?;
    Ok(header.frames)
}

/// Decodes a vqtans stream to its tokens, verified: every checksum group and
/// the end of the stream are checked, so the array returned is exactly the
/// one encoded, or an exception is raised and nothing is returned.
///
/// `stream`: any bytes-like object (bytes, bytearray, memoryview, mmap, a
/// numpy uint8 array). `tables`: the `Tables` the stream was encoded with.
/// `frames`: optionally, a `slice(a, b)` of the stream's N frames (step 1;
/// `None` ends mean 0 and N, negative ends count from N, as in numpy) to
/// return only frames `a..b` (half-open: `slice(600, 660)` is 60 frames): the
/// stream is then decoded only through the end of the checksum group holding
/// frame `b - 1`, and every frame returned is verified by its group's checksum
/// (and, when that group is the last, by the end-of-stream checks too).
/// `out`: optionally, a writable, C-contiguous numpy int16 array of shape
/// `(M, 8, 16)`, M the frames returned (N, or `b - a`; see `stream_frames`),
/// to decode into; it is returned. On an error the contents of `out` are
/// unspecified.
///
/// Returns a new (or the given) int16 array of shape `(M, 8, 16)`. A whole
/// stream uses the AVX2 decoder where the CPU has it (bit-identical to the
/// portable one, errors included); the GIL is released while decoding, so
/// threads decode in parallel.
///
/// Errors: `TypeError` when `stream` is not bytes-like, `frames` is not a
/// slice or `out` is not an int16 numpy array; `ValueError` when `frames` is
/// empty, reversed, has a step other than 1 or reaches past the stream's
/// frames, or `out` has the wrong shape or is not writable and C-contiguous;
/// `DecodeError` (a `ValueError`) when the stream is damaged, truncated, or
/// was encoded with other tables, its `kind` the codec's error
/// (`"Truncated"`, `"TableSetMismatch"`, `"GroupChecksum"`, ...).
#[pyfunction]
#[pyo3(signature = (stream, tables, *, frames = None, out = None))]
pub fn decode<'py>(
    py: Python<'py>,
    stream: &Bound<'py, PyAny>,
    tables: &Bound<'py, Tables>,
    frames: Option<&Bound<'py, PyAny>>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let bytes = read_bytes(stream, "stream")?;
    let (header, _) = Header::parse(&bytes).map_err(|e| errors::decode_error("stream", e))?;
    let range = match frames {
        Some(frames) => Some(frame_range(frames, header.frames)?),
        None => None,
    };
    let count = range.as_ref().map_or(header.frames, |r| r.end - r.start) as usize;
    let array = match out {
        Some(out) => checked_out(out, count)?,
        None => PyArray3::<i16>::zeros(py, [count, 8, 16], false).into_any().cast_into::<PyArrayDyn<i16>>()?,
    };
    let mut writable = array.try_readwrite().map_err(|e| PyValueError::new_err(format!("out: {e}")))?;
    let slice = writable.as_slice_mut().map_err(|e| PyValueError::new_err(format!("out: {e}")))?;
    let target: &mut [u16] = bytemuck::cast_slice_mut(slice);
    let tables = tables.get();
    let bytes: &[u8] = &bytes;
    py.detach(|| {
        tables.with(|set, _, decode| match range {
            Some(range) if range.len() as u32 != header.frames => decode_frames(bytes, set, decode, range, target),
            _ => vqtans::simd::decode_into_simd(bytes, set, decode, target).map(|_| ()),
        })
    })
    .map_err(|e| errors::decode_error("stream", e))?;
    drop(writable);
    Ok(array.into_any())
}

/// Frames `range` of `stream` into `out` (`range.len() * 128` tokens),
/// decoding only through the end of the checksum group holding the range's
/// last frame; that group's checksum (and for the stream's last group the
/// end-of-stream checks) verify every frame written.
pub fn decode_frames(
    stream: &[u8],
    set: &TableSetRef<'_>,
    tables: DecodeTables<'_>,
    range: Range<u32>,
    out: &mut [u16],
) -> Result<(), vqtans::Error> {
    let mut decoder = SegmentDecoder::new(stream, set, tables)?;
    let frames = decoder.header().frames;
    let g = decoder.header().group_frames();
    let through = ((range.end - 1) / g + 1).saturating_mul(g).min(frames);
    let mut targets = out.chunks_exact_mut(FRAME_TOKENS);
    let mut scratch = [0u16; FRAME_TOKENS];
    for f in 0..through {
        let frame: &mut [u16; FRAME_TOKENS] = match range.contains(&f).then(|| targets.next()).flatten() {
            Some(target) => target.try_into().expect("chunks of FRAME_TOKENS"),
            None => &mut scratch,
        };
        decoder.next_frame(frame)?;
    }
    if through == frames {
        decoder.finish()?;
    }
    Ok(())
}

/// `frames` (a Python `slice`) as a frame range `a..b` of a stream of
/// `total` frames: `None` ends are 0 and `total`, negative ends count from
/// `total`; the range must be non-empty, in order, of step 1 and within
/// `0..total` (a range reaching past the end is an error, not clipped).
pub fn frame_range(frames: &Bound<'_, PyAny>, total: u32) -> PyResult<Range<u32>> {
    let Ok(slice) = frames.cast::<PySlice>() else {
        let type_name = frames.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "an object".into());
        return Err(PyTypeError::new_err(format!("frames: expected a slice, e.g. slice(600, 660), got {type_name}")));
    };
    let end_of = |name: &str, default: i64| -> PyResult<i64> {
        let value = slice.getattr(name)?;
        if value.is_none() {
            return Ok(default);
        }
        let v: i64 = value
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("frames: slice {name} must be an int or None, got {value}")))?;
        Ok(if v < 0 { v + i64::from(total) } else { v })
    };
    let step = slice.getattr("step")?;
    if !step.is_none() && step.extract::<i64>().ok() != Some(1) {
        return Err(PyValueError::new_err(format!("frames: slice step must be 1 (or None), got {step}")));
    }
    let (start, stop) = (end_of("start", 0)?, end_of("stop", i64::from(total))?);
    let shown = slice.repr().map(|r| r.to_string()).unwrap_or_default();
    if start < 0 || stop > i64::from(total) {
        return Err(PyValueError::new_err(format!(
            "frames: {shown} reaches outside the {total} frames (0..{total}) of the stream"
        )));
    }
    if start >= stop {
        return Err(PyValueError::new_err(format!(
            "frames: {shown} is empty or reversed (frames a..b, half-open, needs a < b)"
        )));
    }
    Ok(start as u32..stop as u32)
}

/// `out` checked to be a writable, C-contiguous int16 array of shape
/// `(frames, 8, 16)`.
fn checked_out<'py>(out: &Bound<'py, PyAny>, frames: usize) -> PyResult<Bound<'py, PyArrayDyn<i16>>> {
    let type_name = || out.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "an object".into());
    let Ok(array) = out.cast::<PyUntypedArray>() else {
        return Err(PyTypeError::new_err(format!("out: expected a numpy int16 array, got {}", type_name())));
    };
    let dtype = array.dtype();
    if !dtype.is_equiv_to(&numpy::dtype::<i16>(out.py())) {
        return Err(PyTypeError::new_err(format!("out: expected a numpy int16 array, got dtype {dtype}")));
    }
    if array.shape() != [frames, 8, 16] {
        return Err(PyValueError::new_err(format!(
            "out: shape {:?} does not fit the stream: expected ({frames}, 8, 16)",
            array.shape()
        )));
    }
    if !array.is_c_contiguous() {
        return Err(PyValueError::new_err("out: must be C-contiguous"));
    }
    Ok(array.cast::<PyArrayDyn<i16>>()?.clone())
}
