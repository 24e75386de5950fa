//! The one place a core error becomes a Python exception.

use pravah_core::Error;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(_engine, EngineError, PyException, "Base class of every engine error.");
create_exception!(_engine, PlanError, EngineError, "The plan is invalid; `.step` is the step index.");
create_exception!(_engine, ExpressionError, EngineError, "An expression is invalid; `.line` and `.column` locate it.");
create_exception!(_engine, InputFormatError, EngineError, "The input is malformed; `.line`, `.column`, `.byte_offset` locate it.");
create_exception!(_engine, StorageError, EngineError, "Reading or writing object storage failed; `.uri` names the object.");
create_exception!(_engine, NotFoundError, StorageError, "What a scan was pointed at does not exist (a path, a bucket); `.uri` names it.");
create_exception!(_engine, OptionError, EngineError, "A malformed option; `.option` names it and `.value` is what was given.");
create_exception!(_engine, LimitError, EngineError, "A configured bound was exceeded.");
create_exception!(_engine, CancelledError, EngineError, "The job was cancelled by its progress callback.");
create_exception!(_engine, InternalError, EngineError, "An engine bug (a panic, or an unexpected state).");

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("EngineError", py.get_type::<EngineError>())?;
    m.add("PlanError", py.get_type::<PlanError>())?;
    m.add("ExpressionError", py.get_type::<ExpressionError>())?;
    m.add("InputFormatError", py.get_type::<InputFormatError>())?;
    m.add("StorageError", py.get_type::<StorageError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("OptionError", py.get_type::<OptionError>())?;
    m.add("LimitError", py.get_type::<LimitError>())?;
    m.add("CancelledError", py.get_type::<CancelledError>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    Ok(())
}

fn with_attrs(py: Python<'_>, err: PyErr, attrs: &[(&str, Option<Py<PyAny>>)]) -> PyErr {
    let value = err.value(py);
    for (name, v) in attrs {
        let _ = value.setattr(*name, v.as_ref().map(|v| v.clone_ref(py)));
    }
    err
}

pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let msg = e.to_string();
    let int = |v: Option<u64>| v.map(|v| v.into_pyobject(py).expect("int").into_any().unbind());
    let text = |s: &str| Some(s.into_pyobject(py).expect("str").into_any().unbind());
    match e {
        Error::Plan { step, .. } => with_attrs(py, PlanError::new_err(msg), &[("step", int(Some(step as u64)))]),
        Error::Expression { expr, line, column, .. } => with_attrs(
            py,
            ExpressionError::new_err(msg),
            &[("expr", text(&expr)), ("line", int(Some(line))), ("column", int(Some(column)))],
        ),
        Error::InputFormat { uri, location, .. } => with_attrs(
            py,
            InputFormatError::new_err(msg),
            &[
                ("uri", text(&uri)),
                ("line", int(location.line)),
                ("column", int(location.column)),
                ("byte_offset", int(location.byte_offset)),
            ],
        ),
        Error::Storage { uri, .. } => with_attrs(py, StorageError::new_err(msg), &[("uri", text(&uri))]),
        Error::NotFound { uri, .. } => with_attrs(py, NotFoundError::new_err(msg), &[("uri", text(&uri))]),
        Error::BadOption { option, value, .. } => {
            with_attrs(py, OptionError::new_err(msg), &[("option", text(&option)), ("value", text(&value))])
        }
        Error::Limit(_) => LimitError::new_err(msg),
        Error::Cancelled => CancelledError::new_err(msg),
        Error::Internal(_) => InternalError::new_err(msg),
    }
}
