//! `run`: the one heavy call. The GIL is released for the whole job; the progress callback
//! re-acquires it at most every 250 ms.

use std::collections::BTreeMap;

use pravah_core::Progress;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::to_py;

/// Run `plan` (a dict: steps, limits) over `input`, writing `output`; returns the report as a dict.
/// `progress(dict)` may return False to cancel; an exception raised by it cancels and is re-raised.
#[pyfunction]
#[pyo3(signature = (plan, input, output, options = None, progress = None))]
pub fn run<'py>(
    py: Python<'py>,
    plan: &Bound<'py, PyAny>,
    input: &str,
    output: &str,
    options: Option<BTreeMap<String, String>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let plan = crate::values::to_text(plan)?;
    let options = options.unwrap_or_default();
    let mut callback_error: Option<PyErr> = None;
    let result = py.detach(|| {
        let mut on_progress = |p: &Progress| -> bool {
            let Some(cb) = progress.as_ref() else { return true };
            Python::attach(|py| {
                let call = || -> PyResult<bool> {
                    let d = PyDict::new(py);
                    d.set_item("bytes_in", p.bytes_in)?;
                    d.set_item("input_size", p.input_size)?;
                    d.set_item("rows_in", p.rows_in)?;
                    d.set_item("rows_out", p.rows_out)?;
                    let answer = cb.call1(py, (d,))?;
                    let answer = answer.bind(py);
                    Ok(answer.is_none() || answer.is_truthy()?)
                };
                match call() {
                    Ok(go_on) => go_on,
                    Err(e) => {
                        callback_error = Some(e);
                        false
                    }
                }
            })
        };
        pravah_core::run(&plan, input, output, &options, Some(&mut on_progress))
    });
    if let Some(e) = callback_error {
        return Err(e);
    }
    let report = result.map_err(|e| to_py(py, e))?;
    crate::values::to_object(py, &report)
}
