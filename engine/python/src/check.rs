//! Validation without data: used by `pravah validate` before anything runs.

use pyo3::prelude::*;

use crate::errors::to_py;

/// Check a plan (a dict with steps): step names, options, order and expression syntax.
#[pyfunction]
pub fn check_plan(py: Python<'_>, plan: &Bound<'_, PyAny>) -> PyResult<()> {
    pravah_core::check_plan(&crate::values::to_text(plan)?).map_err(|e| to_py(py, e))
}

/// Check one expression's syntax, functions and literals.
#[pyfunction]
pub fn check_expr(py: Python<'_>, expr: &str) -> PyResult<()> {
    pravah_core::expr::check(expr).map_err(|e| to_py(py, e))
}

/// Check one step (a dict with "op") alone: name, options and expressions.
#[pyfunction]
pub fn check_step(py: Python<'_>, step: &Bound<'_, PyAny>) -> PyResult<()> {
    pravah_core::check_step(&crate::values::to_text(step)?).map_err(|e| to_py(py, e))
}
