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

/// No transparent huge pages for this process. With the kernel's THP "always", each first touch
/// of fresh memory zeroes a whole 2 MiB page, and a job's chunks are fresh memory again and again:
/// CSV → Parquet of 69 MB spent 0.38–0.68 s in the kernel zeroing pages, 0.14–0.25 s without
/// (wall 0.67–1.02 → 0.51–0.71 s, bench/one.py b1 after another tool's run). It is a
/// per-process switch (the service's Python heap gains nothing from huge pages either).
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_THP_DISABLE) takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    no_huge_pages();
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
