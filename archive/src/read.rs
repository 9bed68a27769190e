//! Reading an archive: open (header, table set, footer, index, all checked), then
//! any stream by its index entry, with positional reads.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use vqtans::container::{tokens_crc, Header as StreamHeader, FRAME_TOKENS, MAX_FRAMES};
use vqtans::model::Model;
use vqtans::segment::SegmentDecoder;
use vqtans::table_set::{OwnedDecodeTables, TableSetRef};
use vqtans::tans::decode_table::DecodeTables;

use crate::error::{escape, ArchiveError, Problem};
use crate::format::{
    check_index_size, decode_index, Entry, Footer, Header, HeaderError, FOOTER_LEN, HEADER_LEN, MAX_INDEX_BYTES,
};
use crate::names::{check_file_name, check_key};

/// A validated table set with its compiled decode tables.
pub struct Tables {
    blob: Vec<u8>,
    decode: OwnedDecodeTables,
}

impl Tables {
    /// Validates `blob` as a table set this build can decode with (checksum,
    /// tables, model) and compiles its decode tables.
    pub fn from_blob(blob: Vec<u8>) -> Result<Tables, vqtans::Error> {
        let set = TableSetRef::from_bytes(&blob)?;
        Model::from_table_set(&set)?;
        let decode = OwnedDecodeTables::new(&set)?;
        Ok(Tables { blob, decode })
    }

    /// The serialised table set.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// The set, borrowed from the blob.
    pub fn set(&self) -> TableSetRef<'_> {
        TableSetRef::from_bytes(&self.blob).expect("validated in from_blob")
    }

    /// The compiled decode tables.
    pub fn decode_tables(&self) -> DecodeTables<'_> {
        self.decode.view()
    }
}

/// An open archive. Every stream read and decode is checked against the index;
/// `&self` methods may be called from several threads at once.
pub struct Archive {
    file: File,
    name: String,
    size: u64,
    tables: Tables,
    entries: Vec<Entry>,
    by_key: HashMap<String, usize>,
}

impl Archive {
    /// Opens the archive at `path`, named `name` in messages. Reads the header,
    /// the table set, the footer and the index (never a stream) and checks them.
    ///
    /// Errors ([`Problem`]): `Io`, `NotAnArchive`, `UnsupportedVersion`,
    /// `HeaderDamaged`, `Truncated`, `Tables`, `TablesMismatch`, `FooterDamaged`,
    /// `IndexDamaged` (CRC, layout, or streams not back to back between the table
    /// set and the index), and for a segment `UnsafeName`, `DuplicateKey`,
    /// `DuplicateName`.
    pub fn open(path: &Path, name: &str) -> Result<Archive, ArchiveError> {
        let file = File::open(path).map_err(|e| ArchiveError::whole(name, Problem::Io(e)))?;
        Archive::from_file(file, name)
    }

    /// [`Archive::open`] on an open file.
    pub fn from_file(file: File, name: &str) -> Result<Archive, ArchiveError> {
        let whole = |p| ArchiveError::whole(name, p);
        let io = |e| ArchiveError::whole(name, Problem::Io(e));
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(whole(Problem::Io(std::io::Error::other("not a regular file"))));
        }
        let size = meta.len();
        let mut head = [0u8; HEADER_LEN];
        let got = read_up_to(&file, &mut head, 0).map_err(io)?;
        if head[..got.min(4)] != crate::format::MAGIC[..got.min(4)] || got == 0 {
            return Err(whole(Problem::NotAnArchive));
        }
        if got < HEADER_LEN {
            return Err(whole(Problem::Truncated));
        }
        let header = Header::parse(&head).map_err(|e| {
            whole(match e {
                HeaderError::Magic => Problem::NotAnArchive,
                HeaderError::Version(v) => Problem::UnsupportedVersion(v),
                HeaderError::Damaged => Problem::HeaderDamaged,
            })
        })?;
        let streams_start = header.streams_start();
        if size < streams_start + FOOTER_LEN as u64 {
            return Err(whole(Problem::Truncated));
        }
        let mut blob = vec![0u8; header.tables_len as usize];
        file.read_exact_at(&mut blob, HEADER_LEN as u64).map_err(io)?;
        let tables = Tables::from_blob(blob).map_err(|e| whole(Problem::Tables(e)))?;
        let blob_id = tables.set().id();
        if blob_id != header.table_set_id {
            return Err(whole(Problem::TablesMismatch { header: header.table_set_id, blob: blob_id }));
        }
        let mut foot = [0u8; FOOTER_LEN];
        file.read_exact_at(&mut foot, size - FOOTER_LEN as u64).map_err(io)?;
        let footer = Footer::parse(&foot).ok_or_else(|| whole(Problem::FooterDamaged))?;
        let index_end = footer.index_offset.checked_add(footer.index_len);
        if footer.index_offset < streams_start
            || footer.index_len > MAX_INDEX_BYTES
            || index_end != Some(size - FOOTER_LEN as u64)
        {
            return Err(whole(Problem::IndexDamaged(format!(
                "the footer places it at bytes {}..{}+{}, which is not between the table set (ending at {}) and \
                 the footer (at {})",
                footer.index_offset,
                footer.index_offset,
                footer.index_len,
                streams_start,
                size - FOOTER_LEN as u64
            ))));
        }
        // Before the index is read or decoded: a count it cannot hold (a crafted
        // footer) must not make the reader allocate for it.
        check_index_size(footer.entries, footer.index_len).map_err(|why| whole(Problem::IndexDamaged(why)))?;
        let mut index = vec![0u8; footer.index_len as usize];
        file.read_exact_at(&mut index, footer.index_offset).map_err(io)?;
        if crate::format::crc32(&index) != footer.index_crc {
            return Err(whole(Problem::IndexDamaged("its CRC-32 does not match".into())));
        }
        let entries = decode_index(&index, footer.entries).map_err(|why| whole(Problem::IndexDamaged(why)))?;
        drop(index);
        let by_key = check_entries(name, &entries, streams_start, footer.index_offset)?;
        Ok(Archive { file, name: name.to_string(), size, tables, entries, by_key })
    }

    /// The archive's name in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The archive's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The embedded table set.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The segments, in archive order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The position of the segment `key`; `KeyNotFound` if there is none.
    pub fn find(&self, key: &str) -> Result<usize, ArchiveError> {
        self.by_key.get(key).copied().ok_or_else(|| ArchiveError::segment(&self.name, key, Problem::KeyNotFound))
    }

    fn fail(&self, i: usize, problem: Problem) -> ArchiveError {
        ArchiveError::segment(&self.name, &self.entries[i].key, problem)
    }

    /// The stream of segment `i` (one positional read of its bytes).
    ///
    /// # Panics
    /// If `i` is not below `entries().len()`.
    pub fn read_stream(&self, i: usize) -> Result<Vec<u8>, ArchiveError> {
        let e = &self.entries[i];
        let mut stream = vec![0u8; e.length as usize];
        self.file.read_exact_at(&mut stream, e.offset).map_err(|err| self.fail(i, Problem::Io(err)))?;
        Ok(stream)
    }

    /// Reads and decodes segment `i` ([`Reader::decode`]) with a reader made for
    /// this one call; for many segments, make one [`Reader`] per thread.
    pub fn decode(&self, i: usize) -> Result<Vec<u16>, ArchiveError> {
        self.reader().decode(i)
    }

    /// [`Reader::decode_frames`] with a reader made for this one call.
    pub fn decode_frames(&self, i: usize, start: u32, end: u32) -> Result<Vec<u16>, ArchiveError> {
        self.reader().decode_frames(i, start, end)
    }

    /// A decoder of this archive's segments. Making one parses the table set
    /// (about a millisecond for a context-model set), so a thread decoding many
    /// segments makes one and keeps it.
    pub fn reader(&self) -> Reader<'_> {
        Reader { archive: self, set: self.tables.set() }
    }
}

/// Decodes the segments of an [`Archive`] (one per thread; see
/// [`Archive::reader`]).
pub struct Reader<'a> {
    archive: &'a Archive,
    set: TableSetRef<'a>,
}

impl Reader<'_> {
    fn fail(&self, i: usize, problem: Problem) -> ArchiveError {
        self.archive.fail(i, problem)
    }

    /// Reads and decodes segment `i`: all its frames, verified by the codec
    /// (every group checksum, the end of the payload) and against the index
    /// (frames, token CRC-32).
    pub fn decode(&self, i: usize) -> Result<Vec<u16>, ArchiveError> {
        let stream = self.archive.read_stream(i)?;
        self.decode_stream(i, &stream)
    }

    /// Decodes `stream`, read for segment `i`, as [`Archive::decode`] does.
    pub fn decode_stream(&self, i: usize, stream: &[u8]) -> Result<Vec<u16>, ArchiveError> {
        self.check_stream_header(i, stream)?;
        let tokens = vqtans::segment::decode_simd(stream, &self.set, self.archive.tables.decode_tables())
            .map_err(|e| self.fail(i, codec_problem(e)))?;
        let decoded = tokens_crc(&tokens);
        let indexed = self.archive.entries[i].tokens_crc;
        if decoded != indexed {
            return Err(self.fail(i, Problem::TokensCrcMismatch { decoded, indexed }));
        }
        Ok(tokens)
    }

    /// Frames `start..end` (half-open) of segment `i`, as `(end - start) * 128`
    /// tokens. Only the stream of that segment is read, and it is decoded only
    /// through the end of the checksum group holding frame `end - 1`; every frame
    /// returned is verified by its group's checksum (and when that group is the
    /// last, by the end-of-stream checks and the index's token CRC-32 too).
    ///
    /// Errors: `BadFrameRange` when `start >= end` or `end > frames`, otherwise
    /// those of [`Archive::decode`].
    pub fn decode_frames(&self, i: usize, start: u32, end: u32) -> Result<Vec<u16>, ArchiveError> {
        let frames = self.archive.entries[i].frames;
        if start >= end {
            return Err(self.fail(
                i,
                Problem::BadFrameRange(format!("frames {start}..{end} is an empty range (A..B needs A < B)")),
            ));
        }
        if end > frames {
            return Err(self.fail(
                i,
                Problem::BadFrameRange(format!(
                    "frames {start}..{end} go past the end: the segment has {frames} frames (0..{frames})"
                )),
            ));
        }
        let stream = self.archive.read_stream(i)?;
        if start == 0 && end == frames {
            return self.decode_stream(i, &stream);
        }
        let header = self.check_stream_header(i, &stream)?;
        let mut decoder = SegmentDecoder::new(&stream, &self.set, self.archive.tables.decode_tables())
            .map_err(|e| self.fail(i, codec_problem(e)))?;
        let g = header.group_frames();
        let through = ((end - 1) / g + 1).saturating_mul(g).min(frames);
        let mut out = Vec::with_capacity((end - start) as usize * FRAME_TOKENS);
        let mut all = (through == frames).then(vqtans::container::TokenChecksum::new);
        let mut frame = [0u16; FRAME_TOKENS];
        for f in 0..through {
            decoder.next_frame(&mut frame).map_err(|e| self.fail(i, codec_problem(e)))?;
            if (start..end).contains(&f) {
                out.extend_from_slice(&frame);
            }
            if let Some(all) = &mut all {
                all.update(&frame);
            }
        }
        if let Some(all) = all {
            decoder.finish().map_err(|e| self.fail(i, codec_problem(e)))?;
            let (decoded, indexed) = (all.finalize(), self.archive.entries[i].tokens_crc);
            if decoded != indexed {
                return Err(self.fail(i, Problem::TokensCrcMismatch { decoded, indexed }));
            }
        }
        Ok(out)
    }

    fn check_stream_header(&self, i: usize, stream: &[u8]) -> Result<StreamHeader, ArchiveError> {
        let (header, _) = StreamHeader::parse(stream).map_err(|e| self.fail(i, Problem::StreamDamaged(e)))?;
        if header.frames != self.archive.entries[i].frames {
            return Err(self.fail(
                i,
                Problem::StreamMismatch(format!(
                    "its header says {} frames, the index {}",
                    header.frames, self.archive.entries[i].frames
                )),
            ));
        }
        Ok(header)
    }
}

/// A codec error of a stream as the problem of its segment.
fn codec_problem(e: vqtans::Error) -> Problem {
    match e {
        vqtans::Error::TableSetMismatch { stream, tables } => Problem::StreamMismatch(format!(
            "it was coded with table set {stream:016x}, the archive holds {tables:016x}"
        )),
        other => Problem::StreamDamaged(other),
    }
}

/// Checks every entry: safe, unique names; streams back to back from
/// `streams_start` to `index_offset`; frames in range. Returns the key map.
fn check_entries(
    name: &str,
    entries: &[Entry],
    streams_start: u64,
    index_offset: u64,
) -> Result<HashMap<String, usize>, ArchiveError> {
    let mut by_key = HashMap::with_capacity(entries.len());
    let mut outputs = std::collections::HashSet::with_capacity(entries.len());
    let mut expected = streams_start;
    for (i, e) in entries.iter().enumerate() {
        let fail = |p| ArchiveError::segment(name, &e.key, p);
        check_key(&e.key).map_err(|why| fail(Problem::UnsafeName(why)))?;
        if let Some(file_name) = &e.file_name {
            check_file_name(file_name).map_err(|why| fail(Problem::UnsafeName(why)))?;
        }
        if by_key.insert(e.key.clone(), i).is_some() {
            return Err(fail(Problem::DuplicateKey));
        }
        let output = e.output_name();
        if !outputs.insert(output.clone()) {
            return Err(fail(Problem::DuplicateName(escape(&output))));
        }
        let damaged = |why: String| fail(Problem::IndexDamaged(format!("entry {i}: {why}")));
        if e.frames == 0 || e.frames > MAX_FRAMES {
            return Err(damaged(format!("{} frames (a segment has 1..={MAX_FRAMES})", e.frames)));
        }
        if e.offset != expected || (e.length as usize) < vqtans::container::HEADER_LEN {
            return Err(damaged(format!(
                "its stream is at {}+{}, but the streams are back to back and it must start at {expected} \
                 and hold at least a stream header",
                e.offset, e.length
            )));
        }
        expected += u64::from(e.length);
        if expected > index_offset {
            return Err(damaged(format!("its stream ends at {expected}, after the index starts ({index_offset})")));
        }
    }
    if expected != index_offset {
        return Err(ArchiveError::whole(
            name,
            Problem::IndexDamaged(format!("the streams end at {expected}, but the index starts at {index_offset}")),
        ));
    }
    Ok(by_key)
}

/// Reads as much of `buf` as the file has from `offset`; returns the bytes read.
fn read_up_to(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
