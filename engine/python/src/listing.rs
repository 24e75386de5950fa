//! `list_page`: one page of an object-store prefix in key order after a cursor (what a
//! backfill commits at a time). The GIL is released while the store answers.

use std::collections::BTreeMap;

use pyo3::prelude::*;

use crate::errors::to_py;

/// Up to `max_keys` (1..=1000) objects of `root` (s3://bucket/prefix, the prefix as given)
/// whose keys sort after `after`: `{"objects": [{key, size, etag, modified_ms}], "more"}`.
#[pyfunction]
#[pyo3(signature = (root, after = None, max_keys = 1000, storage_options = None))]
pub fn list_page<'py>(py: Python<'py>, root: &str, after: Option<&str>, max_keys: usize, storage_options: Option<BTreeMap<String, String>>) -> PyResult<Bound<'py, PyAny>> {
    let storage = storage_options.unwrap_or_default();
    let page = py.detach(|| pravah_core::list_page(root, after, max_keys, &storage)).map_err(|e| to_py(py, e))?;
    crate::values::to_object(py, &page)
}
