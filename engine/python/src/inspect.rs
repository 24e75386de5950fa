//! `inspect`: what a read step makes of a file, before a pipeline is written around it.

use std::collections::BTreeMap;

use pyo3::prelude::*;

use crate::errors::to_py;

/// Read the first `rows` rows of `input` with one read step (a dict); returns a dict with the
/// dialect, the columns and their types, the rows as text and the bad rows seen.
#[pyfunction]
#[pyo3(signature = (step, input, options = None, rows = 10))]
pub fn inspect<'py>(py: Python<'py>, step: &Bound<'py, PyAny>, input: &str, options: Option<BTreeMap<String, String>>, rows: usize) -> PyResult<Bound<'py, PyAny>> {
    let step = crate::values::to_text(step)?;
    let options = options.unwrap_or_default();
    let found = py.detach(|| pravah_core::inspect(&step, input, &options, rows)).map_err(|e| to_py(py, e))?;
    crate::values::to_object(py, &found)
}
