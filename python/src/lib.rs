//! `vqtans._native`: the Python extension module behind the `vqtans` package.
//!
//! Everything here is glue: the codec (`vqtans`) encodes and decodes, and
//! `host_tools` reads inputs, trains tables and writes files, exactly as for
//! the `host-tools` command line, so the same inputs give the same bytes.
//!
//! * [`tables`]: the `Tables` class (load, validate, save a table set);
//! * [`coding`]: `encode` and `decode`;
//! * [`archive`]: the `Archive` class (reading `.vqa` archives);
//! * [`training`]: the function `build_tables`;
//! * [`tokens`]: numpy arrays of tokens, validated like `.npy` inputs;
//! * [`errors`]: codec and I/O errors as Python exceptions.

use pyo3::prelude::*;

mod archive;
mod coding;
mod errors;
mod tables;
mod tokens;
mod training;

/// The module `vqtans._native` (the `vqtans` package re-exports it).
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_GROUP_FRAMES", vqtans::container::DEFAULT_GROUP_FRAMES)?;
    m.add("MAX_FRAMES", vqtans::container::MAX_FRAMES)?;
    m.add_class::<tables::Tables>()?;
    m.add_class::<archive::Archive>()?;
    m.add_function(wrap_pyfunction!(coding::encode, m)?)?;
    m.add_function(wrap_pyfunction!(coding::decode, m)?)?;
    m.add_function(wrap_pyfunction!(coding::stream_frames, m)?)?;
    m.add_function(wrap_pyfunction!(training::build_tables, m)?)?;
    Ok(())
}
