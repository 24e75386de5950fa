//! `scan`: walk a local tree or list an object-store prefix. The GIL is released for the
//! whole scan; entries go to `output` from Rust, only the summary crosses back.

use std::collections::BTreeMap;

use pyo3::prelude::*;

use crate::errors::to_py;

/// Scan `root` (a path, file:// or s3://bucket/prefix) with `options` (JSON: globs, min_size,
/// max_size, modified_before, modified_after in Unix ms, threads, concurrency). Kept entries
/// are written as JSON lines to `output` (a path, or "-" for stdout) when given; returns the
/// summary as JSON.
#[pyfunction]
#[pyo3(signature = (root, options, output = None, storage_options = None))]
pub fn scan(py: Python<'_>, root: &str, options: &str, output: Option<&str>, storage_options: Option<BTreeMap<String, String>>) -> PyResult<String> {
    let storage = storage_options.unwrap_or_default();
    let summary = py.detach(|| pravah_core::scan(root, options, &storage, output)).map_err(|e| to_py(py, e))?;
    Ok(serde_json::to_string(&summary).expect("summary serialises"))
}
