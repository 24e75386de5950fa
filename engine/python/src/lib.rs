//! `pravah._engine`: module wiring only. One file per exposed concept.

use pyo3::prelude::*;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod check;
mod errors;
mod inspect;
mod listing;
mod run;
mod scan;
mod values;

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(check::check_plan, m)?)?;
    m.add_function(wrap_pyfunction!(check::check_expr, m)?)?;
    m.add_function(wrap_pyfunction!(check::check_step, m)?)?;
    m.add_function(wrap_pyfunction!(inspect::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(scan::scan, m)?)?;
    m.add_function(wrap_pyfunction!(listing::list_page, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
