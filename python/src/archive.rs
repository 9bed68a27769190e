//! The `vqtans.Archive` class: a vqtans archive (`.vqa`) read from Python,
//! with the `vqtans-archive` crate that `host-tools get` uses.

use std::path::PathBuf;

use numpy::{PyArray3, PyArrayMethods};
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyKeyError, PyKeyboardInterrupt, PyOSError, PyPermissionError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyList, PyTuple};
use vqtans::container::FRAME_TOKENS;
use vqtans_archive::read::Reader;
use vqtans_archive::{ArchiveError, Problem};

use crate::coding::frame_range;
use crate::errors;
use crate::tables::{literal_path, Tables};

/// `get` decodes a slice ending after frame `N / WHOLE_FROM` of a segment of
/// N frames as the whole segment, with the AVX2 decoder, and slices it: the
/// portable frame loop, the only one that can stop after a group, costs about
/// 4 times as much per frame (`python/bench_clips.py`: random 20-frame clips,
/// decoded through half a segment on average, came at half the rate of
/// whole-segment AVX2 decodes).
const WHOLE_FROM: u32 = 4;

self_cell::self_cell!(
    /// An open archive with the reader (parsed table set) that borrows it.
    struct Opened {
        owner: vqtans_archive::Archive,
        #[not_covariant]
        dependent: Reader,
    }
);

/// A vqtans archive (`.vqa`, written by `host-tools pack`): many segments'
/// streams, the table set they were coded with and an index, in one file.
///
/// `Archive(path)` opens it and checks its header, table set, footer and
/// index (each has a CRC-32); the index (about 100 bytes a segment) is the
/// only thing kept in memory. Each read then reads one segment's stream with
/// one positional read and decodes it verified (its checksum groups, and
/// against the index's frame count and token CRC-32).
///
/// Safe to share between threads (reads are positional and the GIL is
/// released while decoding, so threads decode in parallel), usable in a
/// forked process (positional reads do not share a file offset) and
/// picklable: it pickles as its absolute path and reopens the file, e.g. in
/// a spawned DataLoader worker.
///
/// A mapping from keys to segments: `len(a)`, `a.keys()`, `key in a`,
/// `iter(a)` (keys, in archive order), `a[key]` (the whole segment).
///
/// Errors of the constructor: `FileNotFoundError`/`OSError` when the file
/// cannot be read; `DecodeError` whose `kind` names the problem
/// (`"NotAnArchive"`, `"Truncated"`, `"HeaderDamaged"`, `"FooterDamaged"`,
/// `"IndexDamaged"`, `"Tables"`, ...).
#[pyclass(module = "vqtans", name = "Archive", frozen)]
pub struct Archive {
    path: PathBuf,
    opened: Opened,
    tables: Py<Tables>,
}

impl Archive {
    /// The position of `key`, or `KeyError` naming it.
    fn position(&self, key: &str) -> PyResult<usize> {
        self.opened.borrow_owner().find(key).map_err(|e| archive_error(&e))
    }

    fn archive(&self) -> &vqtans_archive::Archive {
        self.opened.borrow_owner()
    }
}

#[pymethods]
impl Archive {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Archive> {
        let path = literal_path(path);
        let path = std::path::absolute(&path).map_err(|e| PyOSError::new_err(format!("{}: {e}", path.display())))?;
        let name = host_tools::io::show(&path);
        let archive = py.detach(|| vqtans_archive::Archive::open(&path, &name)).map_err(|e| archive_error(&e))?;
        let tables = Tables::from_blob(py, archive.tables().blob().to_vec())?;
        let opened = Opened::new(archive, |archive| archive.reader());
        Ok(Archive { path, opened, tables: Py::new(py, tables)? })
    }

    /// The archive's absolute path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The table set embedded in the archive, which its streams were coded
    /// with.
    #[getter]
    fn tables(&self, py: Python<'_>) -> Py<Tables> {
        self.tables.clone_ref(py)
    }

    /// The segments' keys, in archive order.
    fn keys(&self) -> Vec<String> {
        self.archive().entries().iter().map(|e| e.key.clone()).collect()
    }

    /// The number of frames of segment `key` (from the index; nothing is
    /// decoded). Errors: `KeyError`.
    fn frames(&self, key: &str) -> PyResult<u32> {
        Ok(self.archive().entries()[self.position(key)?].frames)
    }

    /// The file segment `key` unpacks to: its `.json` `file_name` when it was
    /// packed from a shard with one, else `<key>.npy`. Errors: `KeyError`.
    fn file_name(&self, key: &str) -> PyResult<String> {
        Ok(self.archive().entries()[self.position(key)?].output_name())
    }

    /// Segment `key`, or only its frames `frames` (a `slice(a, b)` as for
    /// `vqtans.decode`: step 1, `None` ends are 0 and N, negative ends count
    /// from N, within the segment's N frames), as a new int16 array
    /// `(M, 8, 16)`. Only that segment's stream is read and every frame
    /// returned is verified. For a slice ending in the segment's first
    /// quarter (or on a CPU without AVX2) the stream is decoded only through
    /// the checksum group holding frame `b - 1`, with the portable frame
    /// loop; otherwise the AVX2 decoder decodes the whole segment, which is
    /// then faster (see `WHOLE_FROM`).
    ///
    /// Errors: `KeyError` for an unknown key; `TypeError`/`ValueError` for a
    /// bad slice (as `vqtans.decode`); `DecodeError` for a damaged stream,
    /// its `kind` the codec's error (e.g. `"GroupChecksum"`) or the
    /// archive's (`"TokensCrcMismatch"`, `"StreamMismatch"`);
    /// `OSError` when the file cannot be read.
    #[pyo3(signature = (key, *, frames = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        frames: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyArray3<i16>>> {
        let i = self.position(key)?;
        let total = self.archive().entries()[i].frames;
        let range = match frames {
            Some(frames) => frame_range(frames, total)?,
            None => 0..total,
        };
        let whole = range == (0..total) || (vqtans::simd::avx2_available() && range.end > total / WHOLE_FROM);
        let tokens = py
            .detach(|| {
                self.opened.with_dependent(|_, reader| {
                    if whole {
                        reader.decode(i)
                    } else {
                        reader.decode_frames(i, range.start, range.end)
                    }
                })
            })
            .map_err(|e| archive_error(&e))?;
        let tokens = if whole {
            &tokens[range.start as usize * FRAME_TOKENS..range.end as usize * FRAME_TOKENS]
        } else {
            &tokens[..]
        };
        let array = PyArray3::<i16>::zeros(py, [(range.end - range.start) as usize, 8, 16], false);
        {
            let mut writable = array.readwrite();
            let slice = writable.as_slice_mut().expect("a new array is contiguous");
            slice.copy_from_slice(bytemuck::cast_slice(tokens));
        }
        Ok(array)
    }

    /// `archive[key]`: the whole segment, as `get(key)`.
    fn __getitem__<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyArray3<i16>>> {
        self.get(py, key, None)
    }

    /// The number of segments.
    fn __len__(&self) -> usize {
        self.archive().entries().len()
    }

    fn __contains__(&self, key: &Bound<'_, PyAny>) -> bool {
        key.extract::<&str>().is_ok_and(|k| self.archive().find(k).is_ok())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        PyList::new(py, self.keys())?.into_any().try_iter()
    }

    fn __repr__(&self) -> String {
        format!(
            "<vqtans.Archive {:?} ({} segments, table set {:016x})>",
            self.path,
            self.archive().entries().len(),
            self.archive().tables().set().id()
        )
    }

    /// Pickles as `Archive(path)`: unpickling reopens (and rechecks) the file.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
        let py = slf.py();
        let args = PyTuple::new(py, [slf.get().path.clone()])?;
        PyTuple::new(py, [py.get_type::<Archive>().into_any(), args.into_any()])
    }
}

/// An archive error as a Python exception with its one-line message: the
/// file system's as `OSError` (or the subclass for its kind), an unknown key
/// as `KeyError`, a bad frame range as `ValueError`, everything else as
/// `DecodeError` whose `kind` is the codec's error for a damaged stream or
/// table set, else the archive problem's name (e.g. `"IndexDamaged"`).
pub fn archive_error(err: &ArchiveError) -> PyErr {
    let message = err.to_string();
    match &err.problem {
        Problem::Io(e) => match e.kind() {
            std::io::ErrorKind::Interrupted => PyKeyboardInterrupt::new_err(message),
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
            std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(message),
            _ => PyOSError::new_err(message),
        },
        Problem::KeyNotFound => PyKeyError::new_err(message),
        Problem::BadFrameRange(_) => PyValueError::new_err(message),
        Problem::StreamDamaged(e) | Problem::Tables(e) => errors::DecodeError::new_err((message, errors::kind_name(e))),
        other => {
            let debug = format!("{other:?}");
            let kind = debug.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default().to_string();
            errors::DecodeError::new_err((message, kind))
        }
    }
}
