//! The `vqtans.Tables` class: a validated table set, ready to encode and
//! decode with.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use host_tools::io::{read_capped, InputSet, Output};
use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use vqtans::model::Model;
use vqtans::segment::{EncodeOptions, Encoder};
use vqtans::table_set::{OwnedDecodeTables, TableSetRef, TABLE_SET_FORMAT_1};

use crate::errors;

/// Largest table-set file `Tables.load` reads (as `host-tools`: the largest
/// context-model set, K = 768, is about 1.6 MB).
const MAX_TABLES_BYTES: u64 = 64 << 20;

/// What is derived from the blob and borrows it: the parsed set and an
/// encoder with the default options.
struct Ready<'a> {
    set: TableSetRef<'a>,
    encoder: Encoder<'a>,
}

self_cell::self_cell!(
    /// A table-set blob with the parsed set and encoder that borrow it.
    struct Prepared {
        owner: Vec<u8>,
        #[not_covariant]
        dependent: Ready,
    }
);

/// A vqtans table set (the file `host-tools build-tables` writes), validated
/// once when it is made: its checksum, every table, the model section and the
/// compiled decode tables. Immutable, so one object can be shared by any
/// number of threads encoding and decoding at the same time. Pickles as its
/// bytes.
///
/// Make one with `Tables.load(path)`, `Tables.from_bytes(data)` or
/// `vqtans.build_tables(...)`.
#[pyclass(module = "vqtans", name = "Tables", frozen)]
pub struct Tables {
    prepared: Prepared,
    decode: OwnedDecodeTables,
    id: u64,
    model: String,
}

impl Tables {
    /// Validates `blob` as a table set (see the class documentation). A set
    /// of format 1 (earlier builds, no checksum) is accepted with a
    /// `UserWarning`, so that its streams keep decoding.
    ///
    /// Errors: `DecodeError` with the codec's kind (`TableSetDamaged`,
    /// `TableSetFormat`, `UnknownModel`, ...).
    pub fn from_blob(py: Python<'_>, blob: Vec<u8>) -> PyResult<Tables> {
        let prepared = Prepared::try_new(blob, |blob| -> Result<Ready<'_>, vqtans::Error> {
            let set = TableSetRef::from_bytes(blob)?;
            let encoder = Encoder::new(&set)?;
            Ok(Ready { set, encoder })
        })
        .map_err(|e| errors::decode_error("not a usable vqtans table set", e))?;
        let (id, format, model, decode) = prepared
            .with_dependent(|_, ready| {
                let model = match Model::from_table_set(&ready.set) {
                    Ok(Model::Order0(_)) => "order-0 model".to_string(),
                    Ok(Model::Context(m)) => format!("context model, K = {}", m.k()),
                    Err(e) => return Err(e),
                };
                Ok((ready.set.id(), ready.set.format(), model, OwnedDecodeTables::new(&ready.set)?))
            })
            .map_err(|e| errors::decode_error("not a usable vqtans table set", e))?;
        if format == TABLE_SET_FORMAT_1 {
            let message = CString::new(
                "table set format 1 from an earlier vqtans has no checksum, so damage to it cannot be detected; \
                 rebuild the tables with build_tables (streams coded with it still decode)",
            )
            .expect("no NUL in the message");
            PyErr::warn(py, &py.get_type::<PyUserWarning>(), &message, 1)?;
        }
        Ok(Tables { prepared, decode, id, model })
    }

    /// Runs `f` with the parsed set, the default encoder and the decode
    /// tables.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&TableSetRef<'_>, &Encoder<'_>, vqtans::tans::decode_table::DecodeTables<'_>) -> R,
    ) -> R {
        self.prepared.with_dependent(|_, ready| f(&ready.set, &ready.encoder, self.decode.view()))
    }

    /// An encoder writing streams with `options` (the cached one for the
    /// default options).
    pub fn encode_with(&self, options: EncodeOptions, tokens: &[u16]) -> Result<Vec<u8>, vqtans::Error> {
        self.with(|set, encoder, _| {
            if options == encoder.options() {
                encoder.encode(tokens)
            } else {
                Encoder::with_options(set, options)?.encode(tokens)
            }
        })
    }

    fn blob(&self) -> &[u8] {
        self.prepared.borrow_owner()
    }
}

/// `path`, except that `-` (which `host_tools` reads as standard input or
/// writes as standard output) is the file named `-` in the current folder.
pub fn literal_path(path: PathBuf) -> PathBuf {
    if host_tools::io::is_dash(&path) {
        Path::new(".").join(path)
    } else {
        path
    }
}

#[pymethods]
impl Tables {
    /// Reads and validates the table set in the file at `path` (at most
    /// 64 MiB).
    ///
    /// Errors: `FileNotFoundError`/`OSError` when the file cannot be read,
    /// `DecodeError` (with `kind`) when it is not a usable table set.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Tables> {
        let path = literal_path(path);
        let blob = read_capped(&path, MAX_TABLES_BYTES, "table-set file").map_err(|e| errors::io_error(&e))?;
        Tables::from_blob(py, blob).map_err(|e| {
            let message = format!("{}: {}", host_tools::io::show(&path), e.value(py));
            match e.value(py).getattr("kind").and_then(|k| k.extract::<String>()) {
                Ok(kind) => errors::DecodeError::new_err((message, kind)),
                Err(_) => e,
            }
        })
    }

    /// Validates `data` (any bytes-like object) as a table set.
    ///
    /// Errors: `TypeError` when `data` is not bytes-like, `DecodeError`
    /// (with `kind`) when it is not a usable table set.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Tables> {
        let blob = crate::coding::read_bytes(data, "data")?.into_owned();
        Tables::from_blob(py, blob)
    }

    /// Writes the table set to `path` atomically: to a temporary file in the
    /// same folder, synced, then renamed over `path`, so readers see the old
    /// file or the complete new one, and a failed call leaves nothing behind.
    /// A symlink at `path` is followed and its target replaced.
    ///
    /// Errors: `OSError` (or a subclass) when it cannot be written; `path`
    /// is then unchanged.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let path = literal_path(path);
        let none = InputSet::new();
        py.detach(|| Output::plan(&path, &none).and_then(|out| out.write(self.blob(), &none)))
            .map_err(|e| errors::io_error(&e))
    }

    /// The table set as bytes: exactly what `save` writes and
    /// `host-tools build-tables` would write.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.blob())
    }

    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        self.to_bytes(py)
    }

    /// The table-set id: CRC-64/XZ of the bytes, as 16 lowercase hex digits,
    /// as `host-tools` prints it. Every stream records the id of its tables.
    #[getter]
    fn id(&self) -> String {
        format!("{:016x}", self.id)
    }

    /// The model the tables are for, e.g. `"context model, K = 192"`.
    #[getter]
    fn model(&self) -> String {
        self.model.clone()
    }

    /// Bytes a device stores to decode with this set: the table set plus its
    /// compiled decode image (what `host-tools tables-info` prints and
    /// `build_tables(max_bytes=...)` keeps within its budget).
    #[getter]
    fn device_footprint(&self) -> usize {
        self.prepared.with_dependent(|_, ready| ready.set.device_footprint())
    }

    /// Size of the table set in bytes.
    fn __len__(&self) -> usize {
        self.blob().len()
    }

    fn __repr__(&self) -> String {
        format!("<vqtans.Tables id={:016x} ({}, {} bytes)>", self.id, self.model, self.blob().len())
    }

    /// Two table sets are equal when their bytes are.
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Tables>().is_ok_and(|o| o.get().blob() == self.blob())
    }

    fn __hash__(&self) -> u64 {
        self.id
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let from_bytes = py.get_type::<Tables>().getattr("from_bytes")?;
        let args = PyTuple::new(py, [PyBytes::new(py, slf.get().blob())])?;
        PyTuple::new(py, [from_bytes.into_any(), args.into_any()])
    }
}
