//! `vqtans.build_tables`: the training of `host-tools build-tables`
//! (`host_tools::train`) over numpy arrays and paths.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use host_tools::io::{IoError, Segment, Segments, Selection};
use host_tools::train::{self, ModelKind, TrainOptions, TrainingInputs};
use host_tools::workers::{Workers, MAX_THREADS};
use numpy::PyUntypedArray;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors;
use crate::tables::{literal_path, Tables};
use crate::tokens::read_tokens;

/// How often a running training checks for Ctrl-C (`KeyboardInterrupt`).
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// One item of `segments`.
enum Item {
    /// A numpy array (checked when a pass reads it).
    Array(Arc<Py<PyAny>>),
    /// A `.npy` file, a folder of them, or a webdataset shard.
    Path(PathBuf),
}

/// Learns a table set from segments, with the training of
/// `host-tools build-tables`: the same segments give a byte-identical table
/// set, whatever the number of threads.
///
/// `segments`: an iterable (a list, a generator, ...) of numpy arrays and/or
/// paths (`str` or `os.PathLike`): `.npy` files, folders of `.npy` files,
/// webdataset shards (`.tar`, `.tar.gz`, `.tgz`), and `http://`, `https://`
/// or `hf://` URLs of shards or `.npy` files (downloaded as they are read,
/// resumed after a dropped connection, as `host-tools` does). It is read into a list
/// once; the training then reads every segment twice (two passes), so the
/// arrays must not change meanwhile. Arrays are validated like `.npy` files:
/// any integer dtype, shape `(N, 8, 16)` or `(N, 128)`, 1..=65536 frames,
/// values `0..=1023`. `k`: the successor list length of the context model
/// (default 192; one of 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256,
/// 384, 512, 768). `max_bytes`: instead of `k`, choose the model's size
/// parameters (list length, state log, number of class tables; 10-bit lists)
/// that code held-out training data best within a device footprint (table set
/// plus compiled decode image, `Tables.device_footprint`) of at most
/// `max_bytes`, as `host-tools build-tables --max-bytes` does (the same bytes).
/// `threads`: worker threads (1..=256; default one per CPU).
///
/// The GIL is released while training (arrays are read with it held, one at
/// a time); Ctrl-C stops the training with `KeyboardInterrupt`.
///
/// Errors (the first bad segment in input order stops the training): a
/// segment that is neither an array nor a path, or an array of a non-integer
/// dtype: `TypeError` naming its position, e.g. `segments[2]`; a bad array
/// (shape, value): `ValueError` naming its position and, for a value, the
/// value and its frame, row and column; a path that does not exist:
/// `FileNotFoundError`; a URL that cannot be downloaded: `OSError` naming it
/// and the byte reached; a bad file or damaged shard: `ValueError` naming it;
/// no segment at all: `ValueError`.
#[pyfunction]
#[pyo3(signature = (segments, *, k = None, threads = None, max_bytes = None))]
pub fn build_tables(
    py: Python<'_>,
    segments: &Bound<'_, PyAny>,
    k: Option<i64>,
    threads: Option<i64>,
    max_bytes: Option<i64>,
) -> PyResult<Tables> {
    let model = match (k, max_bytes) {
        (Some(_), Some(_)) => return Err(PyValueError::new_err("give k or max_bytes, not both")),
        (None, None) => ModelKind::Context { k: train::default_k() },
        (Some(given), None) => {
            let k = usize::try_from(given).unwrap_or(0); // negative: as invalid as 0
            train::check_k(k).map_err(|e| PyValueError::new_err(format!("k={given}: {e}")))?;
            ModelKind::Context { k }
        }
        (None, Some(given)) => {
            let max_bytes = usize::try_from(given).unwrap_or(0);
            // Before any input is read: a budget nothing fits is an error at once.
            host_tools::budget::fitting_candidates(max_bytes)
                .map_err(|e| PyValueError::new_err(format!("max_bytes={given}: {e:#}")))?;
            ModelKind::Budget { max_bytes }
        }
    };
    let workers = match threads {
        None => Workers::new(None),
        Some(n) => Workers::new(Some(
            u16::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_THREADS).contains(n))
                .ok_or_else(|| PyValueError::new_err(format!("threads={n}: must be in 1..={MAX_THREADS}")))?,
        )),
    };
    let inputs = PyInputs { items: Arc::new(items_of(segments)?), cancel: Arc::new(AtomicBool::new(false)) };
    let options = TrainOptions { model, skip_bad: false, progress: false };

    let (trained, interrupt) = py.detach(|| {
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::scope(|scope| {
            let inputs = &inputs;
            let (options, workers) = (&options, &workers);
            scope.spawn(move || {
                // The receiver waits until it gets this result.
                let _ = done_tx.send(train::train(inputs, options, workers));
            });
            let mut interrupt = None;
            loop {
                match done_rx.recv_timeout(SIGNAL_POLL) {
                    Ok(result) => return (result, interrupt),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return (Err(anyhow::anyhow!("the training thread ended without a result")), interrupt)
                    }
                }
                if interrupt.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        interrupt = Some(e);
                        inputs.cancel.store(true, Ordering::Relaxed);
                    }
                }
            }
        })
    });
    if let Some(e) = interrupt {
        return Err(e);
    }
    let trained = trained.map_err(|e| errors::anyhow_error(&e))?;
    let blob = trained.set.to_bytes().map_err(|e| errors::decode_error("cannot serialise the table set", e))?;
    Tables::from_blob(py, blob)
}

/// The items of `segments`, classified; refuses a single array or path in
/// place of an iterable of them.
fn items_of(segments: &Bound<'_, PyAny>) -> PyResult<Vec<Item>> {
    let py = segments.py();
    let os_pathlike = py.import("os")?.getattr("PathLike")?;
    if segments.is_instance_of::<PyString>()
        || segments.is_instance_of::<PyBytes>()
        || segments.is_instance(&os_pathlike)?
        || segments.cast::<PyUntypedArray>().is_ok()
    {
        return Err(PyTypeError::new_err(
            "segments: expected an iterable of numpy arrays and/or paths; wrap a single array or path in a list",
        ));
    }
    let iter = segments.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "segments: expected an iterable of numpy arrays and/or paths, got {}",
            type_name(segments)
        ))
    })?;
    let mut items = Vec::new();
    for (i, item) in iter.enumerate() {
        let item = item?;
        if item.cast::<PyUntypedArray>().is_ok() {
            items.push(Item::Array(Arc::new(item.unbind())));
        } else if item.is_instance_of::<PyString>() || item.is_instance(&os_pathlike)? {
            let path: PathBuf = item.extract().map_err(|e: PyErr| {
                PyTypeError::new_err(format!("segments[{i}]: not usable as a path: {}", e.value(py)))
            })?;
            items.push(Item::Path(literal_path(path)));
        } else {
            return Err(PyTypeError::new_err(format!(
                "segments[{i}]: expected a numpy array or a path (str or os.PathLike), got {}",
                type_name(&item)
            )));
        }
    }
    Ok(items)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "an object".into())
}

/// `segments`, read once per pass.
struct PyInputs {
    items: Arc<Vec<Item>>,
    /// Set on Ctrl-C: the passes stop at their next segment.
    cancel: Arc<AtomicBool>,
}

/// A pass's worth of one item.
enum Part {
    /// The array `segments[index]`, read when its turn comes.
    Array(usize, Arc<Py<PyAny>>),
    /// The segments of a path, opened (classified, folders listed) when the
    /// pass was.
    Paths(Segments),
}

/// One pass over the items, in order.
struct PyPass {
    parts: VecDeque<Part>,
    cancel: Arc<AtomicBool>,
    len_hint: Option<usize>,
}

impl TrainingInputs for PyInputs {
    type Pass = PyPass;

    fn open(&self) -> anyhow::Result<PyPass> {
        let mut parts = VecDeque::new();
        let mut len_hint = Some(0usize);
        for (index, item) in self.items.iter().enumerate() {
            let (part, len) = match item {
                Item::Array(array) => (Part::Array(index, Arc::clone(array)), Some(1)),
                Item::Path(path) => {
                    let segments = Segments::open(std::slice::from_ref(path), &Selection::default())?;
                    let len = segments.len_hint();
                    (Part::Paths(segments), len)
                }
            };
            len_hint = len_hint.zip(len).map(|(a, b)| a + b);
            parts.push_back(part);
        }
        Ok(PyPass { parts, cancel: Arc::clone(&self.cancel), len_hint })
    }

    fn len_hint(pass: &PyPass) -> Option<usize> {
        pass.len_hint
    }
}

impl Iterator for PyPass {
    type Item = Result<Segment, IoError>;

    fn next(&mut self) -> Option<Result<Segment, IoError>> {
        if self.cancel.load(Ordering::Relaxed) {
            self.parts.clear();
            let source = std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted");
            return Some(Err(IoError::Read { file: PathBuf::from("segments"), source }));
        }
        loop {
            match self.parts.front_mut()? {
                Part::Array(..) => {
                    let Some(Part::Array(index, array)) = self.parts.pop_front() else { return None };
                    let what = format!("segments[{index}]");
                    let tokens = Python::attach(|py| read_tokens(array.bind(py), &what));
                    return Some(match tokens {
                        Ok(t) => Ok(Segment { key: what, frames: t.frames, tokens: t.values, json: None }),
                        Err(e) => Err(e.into_io(&what)),
                    });
                }
                Part::Paths(segments) => match segments.next() {
                    Some(item) => return Some(item),
                    None => {
                        self.parts.pop_front();
                    }
                },
            }
        }
    }
}
