//! The `.npy` bytes of an int16 `(frames, 8, 16)` C-order array, exactly as numpy
//! (>= 1.24, including 2.x) writes them with `np.save`: format 1.0, the same header
//! dictionary text, room for the first axis to grow to 21 digits, padding to a
//! multiple of 64 bytes. The commaVQ token files are such arrays, so a segment
//! written with [`write_i16`] is byte-identical to the original file.

/// Token rows per frame.
const ROWS: usize = 8;
/// Token columns per frame.
const COLS: usize = 16;

/// numpy's header for an int16 `(frames, 8, 16)` C-order array.
pub fn header_i16(frames: usize) -> Vec<u8> {
    const MAGIC_LEN: usize = 8; // "\x93NUMPY" + major + minor
    const ARRAY_ALIGN: usize = 64;
    const GROWTH_AXIS_MAX_DIGITS: usize = 21;
    let first = frames.to_string();
    let mut dict = format!("{{'descr': '<i2', 'fortran_order': False, 'shape': ({first}, {ROWS}, {COLS}), }}");
    // numpy leaves room for the growing axis (axis 0 in C order) to reach 21
    // digits, so that the header can be rewritten in place.
    dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(first.len())));
    let hlen = dict.len() + 1; // + '\n'
    let padlen = ARRAY_ALIGN - (MAGIC_LEN + 2 + hlen) % ARRAY_ALIGN;
    let header_len = u16::try_from(hlen + padlen).expect("a v1.0 header of this dictionary fits in u16");
    let mut out = Vec::with_capacity(MAGIC_LEN + 2 + hlen + padlen);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padlen, b' ');
    out.push(b'\n');
    out
}

/// The `.npy` file of `frames * 128` tokens (each `0..=1023`, so its int16 bytes
/// are its u16 bytes).
///
/// # Panics
/// If `tokens.len() != frames * 128` or a token is above 1023.
pub fn write_i16(tokens: &[u16], frames: usize) -> Vec<u8> {
    assert_eq!(
        Some(tokens.len()),
        frames.checked_mul(ROWS * COLS),
        "npy::write_i16: {} tokens is not {frames} frames of {}",
        tokens.len(),
        ROWS * COLS
    );
    let mut out = header_i16(frames);
    out.reserve(tokens.len() * 2);
    for &t in tokens {
        assert!(t <= 1023, "npy::write_i16: token {t} is above 1023");
        out.extend_from_slice(&t.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_numpys() {
        // What numpy 1.26 and 2.x write for np.zeros((1200, 8, 16), np.int16).
        let h = header_i16(1200);
        assert_eq!(h.len(), 128);
        assert_eq!(&h[..10], b"\x93NUMPY\x01\x00\x76\x00");
        assert!(h[10..].starts_with(b"{'descr': '<i2', 'fortran_order': False, 'shape': (1200, 8, 16), }"));
        assert_eq!(h[127], b'\n');
        assert_eq!(header_i16(1).len() % 64, 0);
    }
}
