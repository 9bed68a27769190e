//! Writing webdataset shards like the hub's (`data-NNNN.tar.gz`): per segment a
//! `<key>.json` member then a `<key>.token.npy` member, regular files of mode
//! 0644 and time 0, gzip-compressed. Used by `unpack --shards` and `shard`.
//!
//! Every segment gets a `.json` member: its original bytes when they are
//! known, else [`json_for`] its output file name. So the checker of the
//! challenge (`scripts/challenge-check.py`, which reads `file_name` from each
//! `.json` as the challenge's evaluate.py does) can always use the shard.

use std::io::Write;

use flate2::write::GzEncoder;

/// A shard being written to `W` (a file).
pub struct ShardWriter<W: Write> {
    builder: tar::Builder<GzEncoder<W>>,
}

impl<W: Write> ShardWriter<W> {
    /// Starts a shard on `out` (gzip at `level`).
    pub fn new(out: W, level: flate2::Compression) -> ShardWriter<W> {
        ShardWriter { builder: tar::Builder::new(GzEncoder::new(out, level)) }
    }

    /// Appends segment `key`: `<key>.json` (`json`, or [`json_for`]`(file_name)`
    /// when `None`) and `<key>.token.npy` (`npy`).
    pub fn add(&mut self, key: &str, json: Option<&[u8]>, file_name: &str, npy: &[u8]) -> std::io::Result<()> {
        let made;
        let json = match json {
            Some(json) => json,
            None => {
                made = json_for(file_name);
                &made
            }
        };
        self.append(&format!("{key}.json"), json)?;
        self.append(&format!("{key}.token.npy"), npy)
    }

    /// Appends a regular member `name` holding `data` (mode 0644, time 0).
    fn append(&mut self, name: &str, data: &[u8]) -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        self.builder.append_data(&mut header, name, data)
    }

    /// Ends the tar archive and the gzip stream; returns the output.
    pub fn finish(self) -> std::io::Result<W> {
        self.builder.into_inner()?.finish()
    }
}

/// The `.json` member of a segment whose output file is `file_name`:
/// `{"file_name": "<file_name>"}` (JSON-escaped), as the hub's members give it.
pub fn json_for(file_name: &str) -> Vec<u8> {
    let quoted = serde_json::Value::String(file_name.to_string()).to_string();
    format!("{{\"file_name\": {quoted}}}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_the_file_escaped() {
        assert_eq!(json_for("abc_13.npy"), br#"{"file_name": "abc_13.npy"}"#);
        assert_eq!(json_for("a\"b.npy"), br#"{"file_name": "a\"b.npy"}"#);
    }

    #[test]
    fn members_are_json_then_tokens() {
        let mut shard = ShardWriter::new(Vec::new(), flate2::Compression::fast());
        shard.add("k_1", None, "k_1.npy", b"NPY").unwrap();
        shard.add("k_2", Some(b"{}"), "x.npy", b"NPY2").unwrap();
        let bytes = shard.finish().unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let members: Vec<(String, Vec<u8>)> = tar
            .entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).unwrap();
                (e.path().unwrap().to_string_lossy().into_owned(), data)
            })
            .collect();
        let expected: Vec<(String, Vec<u8>)> = vec![
            ("k_1.json".into(), br#"{"file_name": "k_1.npy"}"#.to_vec()),
            ("k_1.token.npy".into(), b"NPY".to_vec()),
            ("k_2.json".into(), b"{}".to_vec()),
            ("k_2.token.npy".into(), b"NPY2".to_vec()),
        ];
        assert_eq!(members, expected);
    }
}
