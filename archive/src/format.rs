//! The archive layout (see `codec/FORMAT.md`, "Archive"): a 32-byte header, the
//! table set, the streams back to back, the index, a 32-byte footer. All integers
//! little-endian; every part has a CRC-32 (ISO-HDLC, as zlib).

/// First bytes of an archive.
pub const MAGIC: [u8; 4] = *b"VQAR";
/// Last bytes of the footer but its CRC.
pub const FOOTER_MAGIC: [u8; 4] = *b"VQAX";
/// The archive format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Bytes of the header.
pub const HEADER_LEN: usize = 32;
/// Bytes of the footer.
pub const FOOTER_LEN: usize = 32;
/// Largest embedded table set (the largest context-model set is about 1.6 MB).
pub const MAX_TABLES_BYTES: u32 = 64 << 20;
/// Largest index accepted (room for [`MAX_ENTRIES`] segments with `.json`s of
/// about 200 bytes).
pub const MAX_INDEX_BYTES: u64 = 256 << 20;
/// Most segments an archive may hold (1,048,576: ten times the commaVQ
/// dataset). Readers refuse a footer that claims more before reading the
/// index, so what a reader holds for the index is bounded by this count and by
/// the index bytes actually present, whatever a damaged or crafted footer says.
pub const MAX_ENTRIES: u32 = 1 << 20;
/// Largest `.json` kept for a segment.
pub const MAX_JSON_BYTES: usize = 64 << 10;
/// Fewest bytes an index entry takes (flags, a one-byte key, the numbers).
pub const MIN_ENTRY_BYTES: u64 = 1 + 2 + 1 + 4 + 8 + 4 + 4;

/// Flag: the entry has a `file_name`.
const HAS_FILE_NAME: u8 = 1;
/// Flag: the entry has the original `.json` bytes.
const HAS_JSON: u8 = 2;

/// CRC-32 (ISO-HDLC) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The header: what the archive is, and its table set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Table-set id (CRC-64/XZ of the embedded blob).
    pub table_set_id: u64,
    /// Bytes of the embedded table set, right after the header.
    pub tables_len: u32,
}

/// Why a header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Not `VQAR`.
    Magic,
    /// Another format version.
    Version(u8),
    /// CRC or reserved bytes wrong, or a table-set length out of range.
    Damaged,
}

impl Header {
    /// The 32 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4] = VERSION;
        b[8..16].copy_from_slice(&self.table_set_id.to_le_bytes());
        b[16..20].copy_from_slice(&self.tables_len.to_le_bytes());
        let crc = crc32(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses and checks the header bytes.
    pub fn parse(b: &[u8; HEADER_LEN]) -> Result<Header, HeaderError> {
        if b[0..4] != MAGIC {
            return Err(HeaderError::Magic);
        }
        if b[4] != VERSION {
            return Err(HeaderError::Version(b[4]));
        }
        if u32_at(b, 28) != crc32(&b[..28]) || b[5..8] != [0; 3] || b[20..28] != [0; 8] {
            return Err(HeaderError::Damaged);
        }
        let tables_len = u32_at(b, 16);
        if tables_len == 0 || tables_len > MAX_TABLES_BYTES {
            return Err(HeaderError::Damaged);
        }
        Ok(Header { table_set_id: u64_at(b, 8), tables_len })
    }

    /// Offset of the first stream.
    pub fn streams_start(&self) -> u64 {
        HEADER_LEN as u64 + u64::from(self.tables_len)
    }
}

/// The footer: where the index is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Offset of the index.
    pub index_offset: u64,
    /// Bytes of the index.
    pub index_len: u64,
    /// Segments in the index.
    pub entries: u32,
    /// CRC-32 of the index bytes.
    pub index_crc: u32,
}

impl Footer {
    /// The 32 footer bytes.
    pub fn to_bytes(&self) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        b[0..8].copy_from_slice(&self.index_offset.to_le_bytes());
        b[8..16].copy_from_slice(&self.index_len.to_le_bytes());
        b[16..20].copy_from_slice(&self.entries.to_le_bytes());
        b[20..24].copy_from_slice(&self.index_crc.to_le_bytes());
        b[24..28].copy_from_slice(&FOOTER_MAGIC);
        let crc = crc32(&b[..28]);
        b[28..32].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses the footer bytes; `None` if its magic or CRC does not match.
    pub fn parse(b: &[u8; FOOTER_LEN]) -> Option<Footer> {
        if b[24..28] != FOOTER_MAGIC || u32_at(b, 28) != crc32(&b[..28]) {
            return None;
        }
        Some(Footer {
            index_offset: u64_at(b, 0),
            index_len: u64_at(b, 8),
            entries: u32_at(b, 16),
            index_crc: u32_at(b, 20),
        })
    }
}

/// One segment of the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The segment's key (webdataset key or file stem).
    pub key: String,
    /// The `file_name` of its `.json`, where there was one.
    pub file_name: Option<String>,
    /// The original `.json` member bytes, where kept.
    pub json: Option<Vec<u8>>,
    /// Frames of the segment.
    pub frames: u32,
    /// Offset of its stream in the archive.
    pub offset: u64,
    /// Bytes of its stream.
    pub length: u32,
    /// CRC-32 of its tokens (each as `u16` LE), as the stream's last group check.
    pub tokens_crc: u32,
}

impl Entry {
    /// The file the segment is unpacked to: its `file_name`, else `<key>.npy`.
    pub fn output_name(&self) -> String {
        match &self.file_name {
            Some(name) => name.clone(),
            None => format!("{}.npy", self.key),
        }
    }

    /// Appends the entry's index bytes to `out`.
    ///
    /// # Panics
    /// If the key or file name is longer than 65,535 bytes or the `.json` than
    /// [`MAX_JSON_BYTES`] (the writer checks both before).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let flags =
            if self.file_name.is_some() { HAS_FILE_NAME } else { 0 } | if self.json.is_some() { HAS_JSON } else { 0 };
        out.push(flags);
        put_str16(out, &self.key);
        if let Some(name) = &self.file_name {
            put_str16(out, name);
        }
        if let Some(json) = &self.json {
            assert!(json.len() <= MAX_JSON_BYTES, "json checked by the writer");
            out.extend_from_slice(&(json.len() as u32).to_le_bytes());
            out.extend_from_slice(json);
        }
        out.extend_from_slice(&self.frames.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.length.to_le_bytes());
        out.extend_from_slice(&self.tokens_crc.to_le_bytes());
    }
}

fn put_str16(out: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).expect("names checked by the writer");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Checks that an index of `index_len` bytes can hold `count` entries: at most
/// [`MAX_ENTRIES`], each taking at least [`MIN_ENTRY_BYTES`]. Readers check this
/// from the footer before reading the index, so a footer claiming millions of
/// entries never makes them allocate for those. Errors say what is wrong, for
/// [`crate::Problem::IndexDamaged`].
pub fn check_index_size(count: u32, index_len: u64) -> Result<(), String> {
    if count > MAX_ENTRIES {
        return Err(format!("it claims {count} entries, more than the {MAX_ENTRIES} an archive may hold"));
    }
    if u64::from(count) * MIN_ENTRY_BYTES > index_len {
        return Err(format!("{count} entries cannot fit in {index_len} bytes"));
    }
    Ok(())
}

/// Decodes `count` entries from `index` (whose CRC was checked). Errors say
/// what is wrong, for [`crate::Problem::IndexDamaged`]. Only the layout is
/// checked here ([`check_index_size`] first); names and offsets are checked by
/// the reader. Memory is bounded by `index.len()` and [`MAX_ENTRIES`], never by
/// `count` alone.
pub fn decode_index(index: &[u8], count: u32) -> Result<Vec<Entry>, String> {
    check_index_size(count, index.len() as u64)?;
    let mut r = Reader { bytes: index, pos: 0 };
    let mut entries = Vec::with_capacity(count as usize);
    for i in 0..count {
        let bad = |what: &str| format!("entry {i}: {what}");
        let flags = r.u8().ok_or_else(|| bad("ends early"))?;
        if flags & !(HAS_FILE_NAME | HAS_JSON) != 0 {
            return Err(bad("unknown flags"));
        }
        let key = r.str16().ok_or_else(|| bad("its key ends early or is not UTF-8"))?;
        let file_name = if flags & HAS_FILE_NAME != 0 {
            Some(r.str16().ok_or_else(|| bad("its file name ends early or is not UTF-8"))?)
        } else {
            None
        };
        let json = if flags & HAS_JSON != 0 {
            let len = r.u32().ok_or_else(|| bad("ends early"))? as usize;
            if len > MAX_JSON_BYTES {
                return Err(bad("its .json is larger than 64 KiB"));
            }
            Some(r.take(len).ok_or_else(|| bad("its .json ends early"))?.to_vec())
        } else {
            None
        };
        let frames = r.u32().ok_or_else(|| bad("ends early"))?;
        let offset = r.u64().ok_or_else(|| bad("ends early"))?;
        let length = r.u32().ok_or_else(|| bad("ends early"))?;
        let tokens_crc = r.u32().ok_or_else(|| bad("ends early"))?;
        entries.push(Entry { key, file_name, json, frames, offset, length, tokens_crc });
    }
    if r.pos != index.len() {
        return Err(format!("{} bytes follow the last entry", index.len() - r.pos));
    }
    Ok(entries)
}

/// Reads little-endian values from a byte slice, `None` past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn str16(&mut self) -> Option<String> {
        let len = self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))?;
        let bytes = self.take(usize::from(len))?;
        String::from_utf8(bytes.to_vec()).ok()
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_footer_and_entries_round_trip() {
        let h = Header { table_set_id: 0x0123_4567_89ab_cdef, tables_len: 397_534 };
        assert_eq!(Header::parse(&h.to_bytes()), Ok(h));
        let mut b = h.to_bytes();
        b[9] ^= 1;
        assert_eq!(Header::parse(&b), Err(HeaderError::Damaged));
        let f = Footer { index_offset: 1 << 33, index_len: 77, entries: 3, index_crc: 9 };
        assert_eq!(Footer::parse(&f.to_bytes()), Some(f));
        let mut b = f.to_bytes();
        b[0] ^= 1;
        assert_eq!(Footer::parse(&b), None);
        let entries = vec![
            Entry { key: "a".into(), file_name: None, json: None, frames: 1, offset: 32, length: 40, tokens_crc: 1 },
            Entry {
                key: "b_13".into(),
                file_name: Some("b_13.npy".into()),
                json: Some(br#"{"file_name": "b_13.npy"}"#.to_vec()),
                frames: 1200,
                offset: 72,
                length: 100_000,
                tokens_crc: 0xdead_beef,
            },
        ];
        let mut index = Vec::new();
        entries.iter().for_each(|e| e.encode_into(&mut index));
        assert_eq!(decode_index(&index, 2).unwrap(), entries);
        assert!(decode_index(&index, 3).is_err());
        assert!(decode_index(&index[..index.len() - 1], 2).is_err());
        assert!(decode_index(&index, 1).is_err(), "bytes after the last entry");
    }

    #[test]
    fn index_counts_are_bounded_before_anything_is_decoded() {
        assert_eq!(check_index_size(MAX_ENTRIES, u64::from(MAX_ENTRIES) * MIN_ENTRY_BYTES), Ok(()));
        assert_eq!(
            check_index_size(MAX_ENTRIES + 1, MAX_INDEX_BYTES),
            Err("it claims 1048577 entries, more than the 1048576 an archive may hold".to_string())
        );
        assert!(check_index_size(u32::MAX, MAX_INDEX_BYTES).unwrap_err().contains("4294967295 entries"));
        assert_eq!(check_index_size(3, 71), Err("3 entries cannot fit in 71 bytes".to_string()));
        assert!(decode_index(&[0u8; 23 * 4], MAX_ENTRIES + 1).is_err());
    }
}
