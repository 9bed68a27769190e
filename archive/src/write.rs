//! Writing an archive front to back.

use std::collections::HashSet;
use std::io::Write;

use vqtans::container::Header as StreamHeader;
use vqtans::table_set::TableSetRef;

use crate::error::{ArchiveError, Problem};
use crate::format::{crc32, Entry, Footer, Header, MAX_ENTRIES, MAX_INDEX_BYTES, MAX_JSON_BYTES, MAX_TABLES_BYTES};
use crate::names::{check_file_name, check_key};

/// What the writer is told about a segment besides its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewEntry {
    /// The segment's key.
    pub key: String,
    /// The `file_name` of its `.json`, where there is one.
    pub file_name: Option<String>,
    /// The `.json` bytes to keep (at most 64 KiB), if any.
    pub json: Option<Vec<u8>>,
}

/// Writes an archive to `W` sequentially (no seeks): header and table set on
/// [`ArchiveWriter::new`], each stream on [`ArchiveWriter::add`], index and footer
/// on [`ArchiveWriter::finish`]. Whatever it refuses (an unsafe or duplicate name,
/// a stream of other tables) is refused before anything of that segment is
/// written. Memory: the index entries only.
pub struct ArchiveWriter<W: Write> {
    out: W,
    name: String,
    pos: u64,
    table_set_id: u64,
    entries: Vec<Entry>,
    keys: HashSet<String>,
    names: HashSet<String>,
}

impl<W: Write> ArchiveWriter<W> {
    /// Starts an archive named `archive` (for messages) on `out`, embedding the
    /// table set `tables` (checked: a valid set whose streams will follow).
    pub fn new(mut out: W, archive: &str, tables: &[u8]) -> Result<Self, ArchiveError> {
        let whole = |p| ArchiveError::whole(archive, p);
        let set = TableSetRef::from_bytes(tables).map_err(|e| whole(Problem::Tables(e)))?;
        let tables_len = u32::try_from(tables.len())
            .ok()
            .filter(|&n| n <= MAX_TABLES_BYTES)
            .ok_or_else(|| whole(Problem::TooLarge("the table set is larger than 64 MiB".into())))?;
        let header = Header { table_set_id: set.id(), tables_len };
        out.write_all(&header.to_bytes()).and_then(|()| out.write_all(tables)).map_err(|e| whole(Problem::Io(e)))?;
        Ok(ArchiveWriter {
            out,
            name: archive.to_string(),
            pos: header.streams_start(),
            table_set_id: set.id(),
            entries: Vec::new(),
            keys: HashSet::new(),
            names: HashSet::new(),
        })
    }

    /// Checks that `entry` could be added (safe and unused key and file name, a
    /// `.json` of at most 64 KiB), without adding it.
    pub fn check(&self, entry: &NewEntry) -> Result<(), ArchiveError> {
        let fail = |p| ArchiveError::segment(&self.name, &entry.key, p);
        check_key(&entry.key).map_err(|why| fail(Problem::UnsafeName(why)))?;
        if let Some(name) = &entry.file_name {
            check_file_name(name).map_err(|why| fail(Problem::UnsafeName(why)))?;
        }
        if self.keys.contains(&entry.key) {
            return Err(fail(Problem::DuplicateKey));
        }
        let output = output_name(entry);
        if self.names.contains(&output) {
            return Err(fail(Problem::DuplicateName(crate::error::escape(&output))));
        }
        if entry.json.as_ref().is_some_and(|j| j.len() > MAX_JSON_BYTES) {
            return Err(fail(Problem::TooLarge("its .json is larger than 64 KiB".into())));
        }
        if self.entries.len() >= MAX_ENTRIES as usize {
            return Err(fail(Problem::TooLarge(format!("an archive holds at most {MAX_ENTRIES} segments"))));
        }
        Ok(())
    }

    /// Appends the segment `entry` coded as `stream` (a complete stream of this
    /// archive's table set), whose tokens have CRC-32 `tokens_crc`.
    pub fn add(&mut self, entry: NewEntry, tokens_crc: u32, stream: &[u8]) -> Result<(), ArchiveError> {
        self.check(&entry)?;
        let fail = |p| ArchiveError::segment(&self.name, &entry.key, p);
        let (header, _) = StreamHeader::parse(stream)
            .map_err(|e| fail(Problem::StreamMismatch(format!("not a valid stream: {e}"))))?;
        if header.table_set_id != self.table_set_id {
            return Err(fail(Problem::StreamMismatch(format!(
                "it was coded with table set {:016x}, the archive holds {:016x}",
                header.table_set_id, self.table_set_id
            ))));
        }
        let length =
            u32::try_from(stream.len()).map_err(|_| fail(Problem::TooLarge("a stream of 4 GiB or more".into())))?;
        self.out.write_all(stream).map_err(|e| ArchiveError::whole(&self.name, Problem::Io(e)))?;
        self.keys.insert(entry.key.clone());
        self.names.insert(output_name(&entry));
        self.entries.push(Entry {
            key: entry.key,
            file_name: entry.file_name,
            json: entry.json,
            frames: header.frames,
            offset: self.pos,
            length,
            tokens_crc,
        });
        self.pos += u64::from(length);
        Ok(())
    }

    /// The entries added so far.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Writes the index and the footer and returns the sink (not flushed beyond
    /// what `write_all` did: the caller syncs it) and the archive's size.
    pub fn finish(mut self) -> Result<(W, u64), ArchiveError> {
        let mut index = Vec::new();
        for entry in &self.entries {
            entry.encode_into(&mut index);
        }
        if index.len() as u64 > MAX_INDEX_BYTES {
            return Err(ArchiveError::whole(
                &self.name,
                Problem::TooLarge(format!("the index would be {} bytes, more than 256 MiB", index.len())),
            ));
        }
        let footer = Footer {
            index_offset: self.pos,
            index_len: index.len() as u64,
            entries: self.entries.len() as u32,
            index_crc: crc32(&index),
        };
        self.out
            .write_all(&index)
            .and_then(|()| self.out.write_all(&footer.to_bytes()))
            .and_then(|()| self.out.flush())
            .map_err(|e| ArchiveError::whole(&self.name, Problem::Io(e)))?;
        let size = self.pos + index.len() as u64 + crate::format::FOOTER_LEN as u64;
        Ok((self.out, size))
    }
}

fn output_name(entry: &NewEntry) -> String {
    match &entry.file_name {
        Some(name) => name.clone(),
        None => format!("{}.npy", entry.key),
    }
}
