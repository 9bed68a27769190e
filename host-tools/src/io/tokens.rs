//! commaVQ token segments and their `.npy` encoding.
//!
//! A segment is `frames` frames of 8 x 16 tokens, each token in `0..=1023`.
//! [`read_segment`] accepts every reasonable `.npy` layout of such an array
//! and rejects everything else with an [`IoError`] naming the file and the
//! problem; [`write_npy_i16`] produces the canonical int16 layout that the
//! commaVQ dataset uses.

use std::io::{self, Read};
use std::path::Path;

use npyz::{DType, Endianness, NpyHeader, Order, TypeChar};

use super::error::IoError;

/// Token rows per frame.
pub const ROWS: usize = 8;
/// Token columns per frame.
pub const COLS: usize = 16;
/// Tokens per frame (`ROWS * COLS`).
pub const TOKENS_PER_FRAME: usize = ROWS * COLS;
/// Largest valid token value (the VQ codebook has 1024 entries).
pub const MAX_TOKEN: u16 = 1023;

/// One commaVQ segment, validated.
///
/// Invariants (guaranteed by [`read_segment`], expected by
/// [`write_npy_i16`]): `frames >= 1`, `tokens.len() == frames * 128`, and
/// every token is `<= 1023`. `tokens` is row-major: index
/// `(frame * 8 + row) * 16 + col`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Segment name: the file stem, or the webdataset key (e.g.
    /// `3b41c0fa8959aea6c118e5714f412a2e_13`).
    pub key: String,
    /// Number of frames (first axis of the array).
    pub frames: usize,
    /// `frames * 128` tokens, frame-major then row-major.
    pub tokens: Vec<u16>,
    /// The bytes of the segment's `<key>.json` member, for a segment read from a
    /// shard that has one next to its `<key>.token.npy` (at most
    /// [`super::shard::MAX_JSON_BYTES`]); `None` otherwise.
    pub json: Option<Vec<u8>>,
}

impl Segment {
    /// The 128 tokens of frame `f`, row-major.
    ///
    /// # Panics
    /// If `f >= self.frames`.
    pub fn frame(&self, f: usize) -> &[u16] {
        &self.tokens[f * TOKENS_PER_FRAME..(f + 1) * TOKENS_PER_FRAME]
    }

    /// The `file_name` of the segment's `.json` (what the commaVQ challenge
    /// names its output files by): `Ok(None)` without a `.json` or without that
    /// field; `Err` (saying why) for a `.json` that is not a JSON object or whose
    /// `file_name` is not a string.
    pub fn file_name(&self) -> Result<Option<String>, String> {
        let Some(json) = &self.json else { return Ok(None) };
        let value: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| format!("its .json member is not valid JSON ({e})"))?;
        let object = value.as_object().ok_or("its .json member is not a JSON object")?;
        match object.get("file_name") {
            None => Ok(None),
            Some(serde_json::Value::String(name)) => Ok(Some(name.clone())),
            Some(_) => Err("the file_name of its .json member is not a string".into()),
        }
    }

    /// The segment as int16 `(frames, 8, 16)` `.npy` bytes; see
    /// [`write_npy_i16`].
    pub fn to_npy(&self) -> Vec<u8> {
        write_npy_i16(&self.tokens, self.frames)
    }
}

/// Most frames a segment may have: what one stream can hold
/// ([`vqtans::container::MAX_FRAMES`], 65,536). The reader refuses more from
/// the header alone, so no segment larger than this is ever held in memory.
pub const MAX_FRAMES: usize = vqtans::container::MAX_FRAMES as usize;

/// Largest `.npy` header accepted. numpy writes 128 bytes for a segment and
/// itself refuses headers above 10,000 bytes unless told otherwise.
pub const MAX_HEADER_BYTES: usize = 65_536;

/// Deepest bracket nesting accepted in the header dictionary: a plain dtype
/// needs 2 (the dictionary and the shape tuple). Bounds the parser's recursion.
const MAX_HEADER_NESTING: usize = 4;

/// Bytes of array data decoded at a time (a multiple of every item size).
const CHUNK_BYTES: usize = 1 << 16;

/// Parses one `.npy` array from `reader` into a validated [`Segment`] named
/// `key`; `file` is only used to name the source in errors.
///
/// Accepted: shape `(N, 8, 16)` or `(N, 128)` with `1 <= N <= 65536`
/// ([`MAX_FRAMES`]); dtype any integer of 1, 2, 4 or 8 bytes, signed or
/// unsigned, little or big endian; C order or Fortran order (Fortran data is
/// transposed to the logical row-major order); every value in `0..=1023`; a
/// header dictionary of at most [`MAX_HEADER_BYTES`] with each key once. The
/// reader must end right after the array data.
///
/// Errors: [`IoError::TruncatedHeader`], [`IoError::BadHeader`] (also for a
/// key given twice, e.g. two `shape`s), [`IoError::UnsupportedDtype`],
/// [`IoError::WrongShape`], [`IoError::TooManyFrames`], [`IoError::Empty`],
/// [`IoError::TruncatedData`], [`IoError::TrailingData`],
/// [`IoError::TokenOutOfRange`] (with the logical frame/row/col), or
/// [`IoError::Read`] for an I/O failure.
///
/// Memory: the header and shape are checked before any data is read; the data
/// is then read and decoded in chunks of 64 KiB into the token array (at most
/// `65536 * 128` tokens, 16 MiB; twice that for Fortran order while it is
/// transposed).
pub fn read_segment<R: Read>(mut reader: R, key: impl Into<String>, file: &Path) -> Result<Segment, IoError> {
    let header = read_header(&mut reader, file)?;
    let layout = Layout::from_header(&header, file)?;
    let stored = read_values(&mut reader, &layout, file)?;
    let mut probe = [0u8; 1];
    loop {
        match reader.read(&mut probe) {
            Ok(0) => break,
            Ok(_) => return Err(IoError::TrailingData { file: file.to_path_buf() }),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(IoError::Read { file: file.to_path_buf(), source: e }),
        }
    }
    let tokens = match header.order() {
        Order::C => stored,
        Order::Fortran => layout.to_c_order(&stored),
    };
    Ok(Segment { key: key.into(), frames: layout.frames, tokens, json: None })
}

/// Reads into `buf` until it is full or the reader ends; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8], file: &Path) -> Result<usize, IoError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(IoError::Read { file: file.to_path_buf(), source: e }),
        }
    }
    Ok(filled)
}

/// Reads and checks the header: magic, version, a bounded length, a dictionary
/// that is not nested deeper than [`MAX_HEADER_NESTING`] and has no key twice;
/// then lets npyz interpret it.
fn read_header<R: Read>(reader: &mut R, file: &Path) -> Result<NpyHeader, IoError> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    let bad = |reason: String| IoError::BadHeader { file: file.to_path_buf(), reason };
    let truncated = || IoError::TruncatedHeader { file: file.to_path_buf() };
    let mut bytes = vec![0u8; MAGIC.len() + 2];
    let got = read_full(reader, &mut bytes, file)?;
    let magic_len = got.min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(bad("the file does not start with the .npy magic bytes".into()));
    }
    if got < bytes.len() {
        return Err(truncated());
    }
    let length_bytes = match (bytes[6], bytes[7]) {
        (1, 0) => 2,
        (2 | 3, 0) => 4,
        (major, minor) => return Err(bad(format!("unsupported .npy format version {major}.{minor}"))),
    };
    bytes.resize(bytes.len() + length_bytes, 0);
    if read_full(reader, &mut bytes[MAGIC.len() + 2..], file)? < length_bytes {
        return Err(truncated());
    }
    let length = bytes[MAGIC.len() + 2..].iter().rev().fold(0usize, |n, &b| n << 8 | usize::from(b));
    if length > MAX_HEADER_BYTES {
        return Err(bad(format!("a header of {length} bytes is too large (at most {MAX_HEADER_BYTES})")));
    }
    let text_start = bytes.len();
    bytes.resize(text_start + length, 0);
    if read_full(reader, &mut bytes[text_start..], file)? < length {
        return Err(truncated());
    }
    let shape = check_dictionary(&bytes[text_start..]).map_err(bad)?;
    if let Some(shape) = shape {
        check_shape_size(&shape, file)?;
    }
    NpyHeader::from_reader(&bytes[..]).map_err(|e| bad(e.to_string()))
}

/// Refuses a shape whose element count (or a partial product of its sizes:
/// the strides npyz derives from it) does not fit in a `u64`, before npyz
/// multiplies it: such a shape is never a segment, and npyz would overflow on
/// it. Errors: [`IoError::TooManyFrames`] for `(N, 8, 16)` or `(N, 128)`,
/// [`IoError::WrongShape`] otherwise.
fn check_shape_size(shape: &[u64], file: &Path) -> Result<(), IoError> {
    // The product of the non-zero sizes bounds every partial product.
    let fits = shape.iter().filter(|&&d| d != 0).try_fold(1u64, |n, &d| n.checked_mul(d)).is_some();
    if fits {
        return Ok(());
    }
    match *shape {
        [n, r, c] if r == ROWS as u64 && c == COLS as u64 => {
            Err(IoError::TooManyFrames { file: file.to_path_buf(), frames: n })
        }
        [n, k] if k == TOKENS_PER_FRAME as u64 => Err(IoError::TooManyFrames { file: file.to_path_buf(), frames: n }),
        _ => Err(IoError::WrongShape { file: file.to_path_buf(), shape: shape.to_vec() }),
    }
}

/// Checks the header text: nesting at most [`MAX_HEADER_NESTING`] deep, a
/// Python dictionary literal, no key twice. Returns the `shape` when it is a
/// tuple or list of integers that each fit in a `u64` (npyz refuses others).
fn check_dictionary(text: &[u8]) -> Result<Option<Vec<u64>>, String> {
    let mut depth = 0usize;
    let mut quote = None;
    for &b in text {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'(' | b'[' | b'{') => {
                depth += 1;
                if depth > MAX_HEADER_NESTING {
                    return Err("the header dictionary is nested too deeply".into());
                }
            }
            (None, b')' | b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let text = std::str::from_utf8(text).map_err(|_| "the header is not text".to_string())?;
    let value: py_literal::Value =
        text.trim_end().parse().map_err(|_| "the header is not a Python dictionary literal".to_string())?;
    let Some(entries) = value.as_dict() else {
        return Err("the header is not a Python dictionary".into());
    };
    for (i, (key, _)) in entries.iter().enumerate() {
        if entries[..i].iter().any(|(earlier, _)| earlier == key) {
            return Err(format!("the header dictionary has the key {key} twice"));
        }
    }
    let shape = entries.iter().find(|(key, _)| key.as_string().map(String::as_str) == Some("shape"));
    let sizes = match shape {
        Some((_, py_literal::Value::Tuple(sizes) | py_literal::Value::List(sizes))) => sizes,
        _ => return Ok(None),
    };
    Ok(sizes
        .iter()
        .map(|size| match size {
            py_literal::Value::Integer(n) => u64::try_from(n).ok(),
            _ => None,
        })
        .collect())
}

/// Reads the array data announced by `layout` in chunks, decoding and
/// range-checking each, into the values in storage order.
fn read_values<R: Read>(reader: &mut R, layout: &Layout, file: &Path) -> Result<Vec<u16>, IoError> {
    let total = layout.data_bytes;
    let mut values = Vec::with_capacity(layout.frames * TOKENS_PER_FRAME);
    let mut chunk = vec![0u8; CHUNK_BYTES.min(total)];
    let mut done = 0;
    while done < total {
        let want = chunk.len().min(total - done);
        let got = read_full(reader, &mut chunk[..want], file)?;
        let whole = got - got % layout.item_size;
        decode_values(&chunk[..whole], layout, &mut values).map_err(|(k, value)| {
            let logical = layout.logical_of_storage(k);
            IoError::TokenOutOfRange {
                file: file.to_path_buf(),
                frame: logical / TOKENS_PER_FRAME,
                row: logical % TOKENS_PER_FRAME / COLS,
                col: logical % COLS,
                value,
            }
        })?;
        done += got;
        if got < want {
            return Err(IoError::TruncatedData {
                file: file.to_path_buf(),
                expected_bytes: total as u64,
                actual_bytes: done as u64,
            });
        }
    }
    Ok(values)
}

/// Encodes `frames * 128` tokens as a `.npy` file: dtype `<i2`, shape
/// `(frames, 8, 16)`, C order, format version 1.0.
///
/// The header is exactly what numpy (>= 1.24, including 2.x) writes with
/// `np.save`: the same dictionary text, the same growth-axis padding and
/// 64-byte alignment. So for a file that numpy saved from an int16
/// `(frames, 8, 16)` C-order array, the output is byte-identical to the
/// whole file, header included.
///
/// # Panics
/// If `tokens.len() != frames * 128` or a token is above 1023 (neither can
/// happen for a [`Segment`] produced by [`read_segment`]).
pub fn write_npy_i16(tokens: &[u16], frames: usize) -> Vec<u8> {
    vqtans_archive::npy::write_i16(tokens, frames)
}

/// Validated geometry and dtype of an array, derived from its header.
struct Layout {
    frames: usize,
    /// Shape as stored: `[N, 8, 16]` or `[N, 128]`.
    shape: Vec<usize>,
    /// Element strides per axis (npyz's, for the file's order).
    strides: Vec<usize>,
    item_size: usize,
    signed: bool,
    big_endian: bool,
    /// Bytes of array data (at most `MAX_FRAMES * 128 * 8`, 64 MiB).
    data_bytes: usize,
}

impl Layout {
    fn from_header(header: &NpyHeader, file: &Path) -> Result<Layout, IoError> {
        let dtype = header.dtype();
        let bad_dtype = || IoError::UnsupportedDtype { file: file.to_path_buf(), descr: dtype.descr() };
        let DType::Plain(ts) = &dtype else {
            return Err(bad_dtype());
        };
        let signed = match ts.type_char() {
            TypeChar::Int => true,
            TypeChar::Uint => false,
            _ => return Err(bad_dtype()),
        };
        let item_size = match ts.size_field() {
            s @ (1 | 2 | 4 | 8) => s as usize,
            _ => return Err(bad_dtype()),
        };
        let big_endian = match ts.endianness() {
            Endianness::Little => false,
            Endianness::Big => true,
            Endianness::Irrelevant if item_size == 1 => false,
            Endianness::Irrelevant => return Err(bad_dtype()),
        };

        let shape_u64 = header.shape();
        let wrong_shape = || IoError::WrongShape { file: file.to_path_buf(), shape: shape_u64.to_vec() };
        let n = match *shape_u64 {
            [n, r, c] if r == ROWS as u64 && c == COLS as u64 => n,
            [n, k] if k == TOKENS_PER_FRAME as u64 => n,
            _ => return Err(wrong_shape()),
        };
        if n == 0 {
            return Err(IoError::Empty { file: file.to_path_buf() });
        }
        if n > MAX_FRAMES as u64 {
            return Err(IoError::TooManyFrames { file: file.to_path_buf(), frames: n });
        }
        // n <= 65536: nothing below can overflow.
        let frames = n as usize;
        let data_bytes = frames * TOKENS_PER_FRAME * item_size;
        let shape = shape_u64.iter().map(|&d| d as usize).collect();
        let strides = header.strides().iter().map(|&s| s as usize).collect();
        Ok(Layout { frames, shape, strides, item_size, signed, big_endian, data_bytes })
    }

    /// Storage index of the element at logical (row-major) index `l`.
    fn storage_of_logical(&self, l: usize) -> usize {
        let mut rem = l;
        let mut k = 0;
        for axis in (0..self.shape.len()).rev() {
            k += rem % self.shape[axis] * self.strides[axis];
            rem /= self.shape[axis];
        }
        k
    }

    /// Logical (row-major) index of the element at storage index `k`.
    fn logical_of_storage(&self, k: usize) -> usize {
        let mut axes: Vec<usize> = (0..self.shape.len()).collect();
        axes.sort_by_key(|&a| std::cmp::Reverse(self.strides[a]));
        let mut idx = vec![0; self.shape.len()];
        let mut rem = k;
        for a in axes {
            idx[a] = rem / self.strides[a];
            rem %= self.strides[a];
        }
        idx.iter().zip(&self.shape).fold(0, |l, (&i, &d)| l * d + i)
    }

    /// Reorders values from storage order to logical row-major order.
    fn to_c_order(&self, stored: &[u16]) -> Vec<u16> {
        (0..stored.len()).map(|l| stored[self.storage_of_logical(l)]).collect()
    }
}

/// Decodes and range-checks the elements in `buf` (whole elements in storage
/// order) and appends them to `out`. On failure returns the storage index (in
/// the whole array) and value of the first bad element.
fn decode_values(buf: &[u8], layout: &Layout, out: &mut Vec<u16>) -> Result<(), (usize, i128)> {
    macro_rules! decode {
        ($t:ty) => {{
            let from = if layout.big_endian { <$t>::from_be_bytes } else { <$t>::from_le_bytes };
            for chunk in buf.chunks_exact(std::mem::size_of::<$t>()) {
                let v = i128::from(from(chunk.try_into().expect("chunk size")));
                if !(0..=i128::from(MAX_TOKEN)).contains(&v) {
                    return Err((out.len(), v));
                }
                out.push(v as u16);
            }
            Ok(())
        }};
    }
    match (layout.item_size, layout.signed) {
        (1, true) => decode!(i8),
        (1, false) => decode!(u8),
        (2, true) => decode!(i16),
        (2, false) => decode!(u16),
        (4, true) => decode!(i32),
        (4, false) => decode!(u32),
        (8, true) => decode!(i64),
        (8, false) => decode!(u64),
        _ => unreachable!("item size checked in Layout::from_header"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::test_support::{npy_bytes, real_file, REAL_FILES};

    fn parse(bytes: &[u8]) -> Result<Segment, IoError> {
        read_segment(bytes, "k", Path::new("t.npy"))
    }

    fn sample_tokens(frames: usize) -> Vec<u16> {
        (0..frames * TOKENS_PER_FRAME).map(|i| ((i * 7919) % 1024) as u16).collect()
    }

    #[test]
    fn real_files_round_trip_byte_identical() {
        for name in REAL_FILES {
            let original = std::fs::read(real_file(name)).unwrap();
            let seg = read_segment(&original[..], "k", &real_file(name)).unwrap();
            assert_eq!(seg.frames, 1200);
            assert_eq!(seg.tokens.len(), 1200 * 128);
            assert!(seg.tokens.iter().all(|&t| t <= MAX_TOKEN));
            let written = seg.to_npy();
            // The array bytes, and in fact the whole file including the header.
            assert_eq!(written[128..], original[128..], "{name}: array bytes");
            assert_eq!(written, original, "{name}: whole file");
        }
    }

    #[test]
    fn header_matches_numpy_layout() {
        for frames in [1usize, 10, 1200, 99_999, 123_456_789_012] {
            let h = vqtans_archive::npy::header_i16(frames);
            assert_eq!(h.len() % 64, 0);
            assert_eq!(h.len(), 128, "numpy uses 128 bytes for these");
            assert_eq!(*h.last().unwrap(), b'\n');
            // What numpy 2.4 `np.save` writes: magic, v1.0, length 118, the
            // dictionary, spaces, newline.
            assert_eq!(h[..10], *b"\x93NUMPY\x01\x00\x76\x00");
            let dict = format!("{{'descr': '<i2', 'fortran_order': False, 'shape': ({frames}, 8, 16), }}");
            assert_eq!(&h[10..10 + dict.len()], dict.as_bytes());
            assert!(h[10 + dict.len()..127].iter().all(|&b| b == b' '));
        }
    }

    #[test]
    fn writer_output_parses_back() {
        for frames in [1, 10] {
            let t = sample_tokens(frames);
            let seg = parse(&write_npy_i16(&t, frames)).unwrap();
            assert_eq!((seg.frames, seg.tokens), (frames, t));
        }
    }

    #[test]
    fn truncated_segment_of_first_ten_frames() {
        let original = std::fs::read(real_file(REAL_FILES[0])).unwrap();
        let full = parse(&original).unwrap();
        let ten = write_npy_i16(&full.tokens[..10 * 128], 10);
        let seg = parse(&ten).unwrap();
        assert_eq!(seg.frames, 10);
        assert_eq!(seg.tokens, full.tokens[..10 * 128]);
        assert_eq!(seg.frame(9), full.frame(9));
    }

    #[test]
    fn every_integer_dtype_and_endianness() {
        let t = sample_tokens(3);
        let vals: Vec<i128> = t.iter().map(|&v| i128::from(v)).collect();
        let shape = [3u64, 8, 16];
        for descr in ["<i2", ">i2", "<u2", ">u2", "<i4", ">i4", "<u4", ">u4", "<i8", ">i8", "<u8", ">u8"] {
            let seg = parse(&npy_bytes(descr, false, &shape, &vals)).unwrap();
            assert_eq!(seg.tokens, t, "{descr}");
        }
        // One-byte dtypes hold only 0..=127 / 0..=255.
        let small: Vec<i128> = vals.iter().map(|v| v % 128).collect();
        let small_t: Vec<u16> = small.iter().map(|&v| v as u16).collect();
        for descr in ["|i1", "|u1", "<i1", "<u1"] {
            let seg = parse(&npy_bytes(descr, false, &shape, &small)).unwrap();
            assert_eq!(seg.tokens, small_t, "{descr}");
        }
    }

    #[test]
    fn flat_shape_n_by_128() {
        let t = sample_tokens(4);
        let vals: Vec<i128> = t.iter().map(|&v| i128::from(v)).collect();
        let seg = parse(&npy_bytes("<i8", false, &[4, 128], &vals)).unwrap();
        assert_eq!((seg.frames, seg.tokens), (4, t));
    }

    /// Fortran-order storage of logical array `t` with shape `shape`.
    fn fortran_values(t: &[u16], shape: &[usize]) -> Vec<i128> {
        let total: usize = shape.iter().product();
        let mut out = vec![0; total];
        for (l, &v) in t.iter().enumerate() {
            // C multi-index of l, then Fortran flat index.
            let mut rem = l;
            let mut idx = vec![0; shape.len()];
            for a in (0..shape.len()).rev() {
                idx[a] = rem % shape[a];
                rem /= shape[a];
            }
            let k = (0..shape.len()).rev().fold(0, |k, a| k * shape[a] + idx[a]);
            out[k] = i128::from(v);
        }
        out
    }

    #[test]
    fn fortran_order_is_transposed() {
        let t = sample_tokens(3);
        let seg = parse(&npy_bytes("<i2", true, &[3, 8, 16], &fortran_values(&t, &[3, 8, 16]))).unwrap();
        assert_eq!(seg.tokens, t);
        let seg = parse(&npy_bytes("<u4", true, &[3, 128], &fortran_values(&t, &[3, 128]))).unwrap();
        assert_eq!(seg.tokens, t);
    }

    #[test]
    fn fortran_order_error_reports_logical_position() {
        let mut vals = fortran_values(&sample_tokens(3), &[3, 8, 16]);
        // Fortran storage index of frame 2, row 5, col 11 in a (3, 8, 16) array.
        vals[2 + 3 * (5 + 8 * 11)] = 4000;
        match parse(&npy_bytes("<i2", true, &[3, 8, 16], &vals)) {
            Err(IoError::TokenOutOfRange { frame: 2, row: 5, col: 11, value: 4000, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn value_1024_is_rejected_with_position() {
        let mut vals: Vec<i128> = sample_tokens(3).iter().map(|&v| i128::from(v)).collect();
        vals[(8 + 2) * 16 + 3] = 1024; // frame 1, row 2, col 3
        match parse(&npy_bytes("<i2", false, &[3, 8, 16], &vals)) {
            Err(e @ IoError::TokenOutOfRange { frame: 1, row: 2, col: 3, value: 1024, .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("t.npy") && msg.contains("frame 1 row 2 col 3"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn negative_value_is_rejected() {
        let mut vals: Vec<i128> = sample_tokens(2).iter().map(|&v| i128::from(v)).collect();
        vals[200] = -1; // frame 1, token 72: row 4, col 8
        match parse(&npy_bytes("<i2", false, &[2, 128], &vals)) {
            Err(IoError::TokenOutOfRange { frame: 1, row: 4, col: 8, value: -1, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn huge_unsigned_value_is_reported_exactly() {
        let mut vals: Vec<i128> = vec![0; 128];
        vals[0] = i128::from(u64::MAX);
        match parse(&npy_bytes("<u8", false, &[1, 128], &vals)) {
            Err(IoError::TokenOutOfRange { value, .. }) => assert_eq!(value, i128::from(u64::MAX)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn float_and_bool_dtypes_are_rejected() {
        for descr in ["<f4", "<f8", "|b1"] {
            let bytes = npy_bytes(descr, false, &[1, 8, 16], &[0; 128]);
            match parse(&bytes) {
                Err(IoError::UnsupportedDtype { descr: d, .. }) => {
                    assert!(d.contains(&descr[1..]), "{d}")
                }
                other => panic!("{descr}: {other:?}"),
            }
        }
    }

    #[test]
    fn wrong_shapes_are_rejected() {
        for shape in [vec![1200u64], vec![10, 8, 8], vec![10, 16, 8], vec![10, 127], vec![2, 10, 8, 16], vec![]] {
            let n: u64 = shape.iter().product();
            let bytes = npy_bytes("<i2", false, &shape, &vec![0; n as usize]);
            match parse(&bytes) {
                Err(IoError::WrongShape { shape: s, .. }) => assert_eq!(s, shape),
                other => panic!("{shape:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn shapes_whose_size_overflows_are_wrong_shapes() {
        // Element counts (or strides, with a zero size) beyond u64: refused from
        // the header, in either order, with no arithmetic overflow on the way.
        let big = 1u64 << 40;
        for shape in [vec![big, big, 2], vec![0, big, big], vec![big, 0, big], vec![u64::MAX, 2, 3]] {
            for fortran in [false, true] {
                match parse(&npy_bytes("<i2", fortran, &shape, &[])) {
                    Err(IoError::WrongShape { shape: s, .. }) => assert_eq!(s, shape),
                    other => panic!("{shape:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn zero_frames_is_empty() {
        for shape in [[0u64, 8, 16].as_slice(), &[0, 128]] {
            match parse(&npy_bytes("<i2", false, shape, &[])) {
                Err(IoError::Empty { .. }) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn truncated_data_is_rejected() {
        let full = write_npy_i16(&sample_tokens(2), 2);
        match parse(&full[..full.len() - 1]) {
            Err(IoError::TruncatedData { expected_bytes: 512, actual_bytes: 511, .. }) => {}
            other => panic!("{other:?}"),
        }
        match parse(&full[..128]) {
            Err(IoError::TruncatedData { expected_bytes: 512, actual_bytes: 0, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn more_frames_than_a_segment_holds_is_refused_from_the_header() {
        // ~25.6 TB announced, and 2^64 - 1 frames (whose byte count overflows):
        // too many frames, said before any data is read.
        for n in [99_999_999_999u64, u64::MAX, MAX_FRAMES as u64 + 1] {
            for shape in [[n, 128].as_slice(), &[n, 8, 16]] {
                let bytes = npy_bytes("<u8", false, shape, &[0; 128]);
                match parse(&bytes) {
                    Err(e @ IoError::TooManyFrames { frames, .. }) => {
                        assert_eq!(frames, n);
                        assert!(e.to_string().contains(&format!("t.npy: {n} frames is more than")), "{e}");
                    }
                    other => panic!("{n}: {other:?}"),
                }
            }
        }
        // The largest segment announced on a short file: truncated, not read further.
        let bytes = npy_bytes("<i2", false, &[MAX_FRAMES as u64, 128], &[0; 128]);
        match parse(&bytes) {
            Err(IoError::TruncatedData { actual_bytes: 256, expected_bytes, .. }) => {
                assert_eq!(expected_bytes, MAX_FRAMES as u64 * 256)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicated_and_odd_header_keys_are_refused() {
        let good = write_npy_i16(&sample_tokens(1), 1);
        let text = std::str::from_utf8(&good[10..128]).unwrap().to_string();
        let twice = text.replacen("'shape': (1, 8, 16), ", "'shape': (1, 8, 16), 'shape': (1, 128),", 1);
        for (dict, what) in [
            (twice, "the key 'shape' twice"),
            (text.replacen("'descr'", "'fortran_order'", 1), "the key 'fortran_order' twice"),
            (format!("{}{}", "(".repeat(60), ")".repeat(60)), "nested too deeply"),
            ("[1, 2, 3]".to_string(), "not a Python dictionary"),
        ] {
            let mut bytes = good[..8].to_vec();
            let mut dict = format!("{:<w$}", dict.trim_end(), w = 117);
            dict.push('\n');
            bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
            bytes.extend_from_slice(dict.as_bytes());
            bytes.extend_from_slice(&good[128..]);
            match parse(&bytes) {
                Err(e @ IoError::BadHeader { .. }) => assert!(e.to_string().contains(what), "{what}: {e}"),
                other => panic!("{what}: {other:?}"),
            }
        }
        // A header length beyond the limit (format 2.0, 4-byte length): refused
        // before anything is allocated for it.
        let mut huge = b"\x93NUMPY\x02\x00".to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        match parse(&huge) {
            Err(e @ IoError::BadHeader { .. }) => assert!(e.to_string().contains("too large"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_header_is_rejected() {
        let full = write_npy_i16(&sample_tokens(1), 1);
        for cut in [0, 3, 8, 9, 50, 127] {
            match parse(&full[..cut]) {
                Err(IoError::TruncatedHeader { .. }) => {}
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut full = write_npy_i16(&sample_tokens(1), 1);
        full.push(0);
        assert!(matches!(parse(&full), Err(IoError::TrailingData { .. })));
    }

    #[test]
    fn garbage_is_bad_header() {
        let bad = b"PK\x03\x04 this is not a numpy file at all, but it is long enough".to_vec();
        assert!(matches!(parse(&bad), Err(IoError::BadHeader { .. })));
        let mut bad = write_npy_i16(&sample_tokens(1), 1);
        bad[12] = b'!'; // break the dictionary text
        assert!(matches!(parse(&bad), Err(IoError::BadHeader { .. })));
    }

    #[test]
    #[should_panic(expected = "not 2 frames")]
    fn writer_checks_length() {
        write_npy_i16(&[0; 128], 2);
    }
}
