//! `scan`: walk a local tree or list an object-store prefix. The GIL is released for the
//! whole scan; entries go to `output` from Rust, only the summary crosses back. The scan runs
//! on a thread of its own so that the calling thread can notice Ctrl-C and cancel it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use pravah_core::{Error, ScanCancel};
use pyo3::prelude::*;

use crate::errors::to_py;

/// Scan `root` (a path, file:// or s3://bucket/prefix) with `options` (a dict: globs, min_size,
/// max_size, modified_before, modified_after in Unix ms, threads, concurrency, names_only).
/// Kept entries are written as JSON lines to `output` (a path, or "-" for stdout) when given;
/// returns the summary as a dict. A signal (KeyboardInterrupt) cancels the scan and is raised.
#[pyfunction]
#[pyo3(signature = (root, options, output = None, storage_options = None))]
pub fn scan<'py>(py: Python<'py>, root: &str, options: &Bound<'py, PyAny>, output: Option<&str>, storage_options: Option<BTreeMap<String, String>>) -> PyResult<Bound<'py, PyAny>> {
    let options = crate::values::to_text(options)?;
    let options = options.as_str();
    let storage = storage_options.unwrap_or_default();
    let cancel = Arc::new(ScanCancel::default());
    let mut interrupted: Option<PyErr> = None;
    let result = py.detach(|| {
        std::thread::scope(|s| {
            let caller = std::thread::current();
            let (storage, cancel_for_scan) = (&storage, cancel.clone());
            let scanning = s.spawn(move || {
                let done = pravah_core::scan(root, options, storage, output, Some(cancel_for_scan));
                caller.unpark();
                done
            });
            while !scanning.is_finished() {
                std::thread::park_timeout(Duration::from_millis(100));
                if interrupted.is_none() {
                    if let Err(e) = Python::attach(|py| py.check_signals()) {
                        interrupted = Some(e);
                        cancel.cancel();
                    }
                }
            }
            scanning.join().unwrap_or_else(|_| Err(Error::Internal("the scan panicked".into())))
        })
    });
    if let Some(e) = interrupted {
        return Err(e);
    }
    let summary = result.map_err(|e| to_py(py, e))?;
    crate::values::to_object(py, &summary)
}
