//! Python values ↔ the engine's JSON, converted here so that importing `pravah.engine` needs no
//! `json` module (with what it pulls in, ~15 ms of every command's start). Keys keep their
//! order both ways; a value JSON cannot hold (NaN, a set, an integer past 64 bits) is a
//! TypeError or ValueError naming it, as `json.dumps` would raise.

use std::fmt;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

/// `obj` (dicts, lists, tuples, strings, numbers, booleans, None) as JSON text.
pub fn to_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    serde_json::to_string(&Json(obj)).map_err(|e| {
        let message = e.to_string();
        if message.starts_with("out of range") || message.starts_with("not finite") {
            PyValueError::new_err(message)
        } else {
            PyTypeError::new_err(message)
        }
    })
}

/// `value` (anything serde can write) as Python objects.
pub fn to_object<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let mut reader = serde_json::Deserializer::from_str(&text);
    Objects(py).deserialize(&mut reader).map_err(|e| PyValueError::new_err(e.to_string()))
}

struct Json<'a, 'py>(&'a Bound<'py, PyAny>);

impl Serialize for Json<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let obj = self.0;
        let type_name = || obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        if obj.is_none() {
            s.serialize_unit()
        } else if let Ok(b) = obj.cast::<PyBool>() {
            s.serialize_bool(b.is_true())
        } else if obj.is_instance_of::<PyInt>() {
            match (obj.extract::<i64>(), obj.extract::<u64>()) {
                (Ok(i), _) => s.serialize_i64(i),
                (_, Ok(u)) => s.serialize_u64(u),
                _ => Err(S::Error::custom(format!("out of range: the integer {obj} does not fit 64 bits"))),
            }
        } else if let Ok(f) = obj.cast::<PyFloat>() {
            let x = f.value();
            if x.is_finite() {
                s.serialize_f64(x)
            } else {
                Err(S::Error::custom(format!("not finite: {x} has no JSON form")))
            }
        } else if let Ok(text) = obj.cast::<PyString>() {
            s.serialize_str(&text.to_cow().map_err(|e| S::Error::custom(e.to_string()))?)
        } else if let Ok(d) = obj.cast::<PyDict>() {
            let mut map = s.serialize_map(Some(d.len()))?;
            for (k, v) in d.iter() {
                map.serialize_entry(&key(&k).map_err(S::Error::custom)?, &Json(&v))?;
            }
            map.end()
        } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            let items: Vec<Bound<'_, PyAny>> = obj.try_iter().and_then(|i| i.collect()).map_err(|e| S::Error::custom(e.to_string()))?;
            let mut seq = s.serialize_seq(Some(items.len()))?;
            for item in &items {
                seq.serialize_element(&Json(item))?;
            }
            seq.end()
        } else {
            Err(S::Error::custom(format!("Object of type {} is not JSON serializable", type_name())))
        }
    }
}

/// A dict key as `json.dumps` writes it: strings as they are, numbers, booleans and None as text.
fn key(k: &Bound<'_, PyAny>) -> Result<String, String> {
    if let Ok(text) = k.cast::<PyString>() {
        return text.to_cow().map(|c| c.into_owned()).map_err(|e| e.to_string());
    }
    if k.is_none() {
        return Ok("null".into());
    }
    if let Ok(b) = k.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.into());
    }
    if k.is_instance_of::<PyInt>() || k.is_instance_of::<PyFloat>() {
        return k.repr().map(|r| r.to_string()).map_err(|e| e.to_string());
    }
    Err(format!("keys must be str, int, float, bool or None, not {}", k.get_type().name().map(|n| n.to_string()).unwrap_or_default()))
}

/// Builds Python objects straight from JSON text, dict keys in their order.
#[derive(Clone, Copy)]
struct Objects<'py>(Python<'py>);

impl<'de, 'py> DeserializeSeed<'de> for Objects<'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn fail<E: serde::de::Error>(e: PyErr) -> E {
    E::custom(e.to_string())
}

impl<'de, 'py> Visitor<'de> for Objects<'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.0.None().into_bound(self.0))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.0, v).to_owned().into_any())
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.0, v).into_any())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.0, v).into_any())
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(PyFloat::new(self.0, v).into_any())
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.0, v).into_any())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.0);
        while let Some(item) = seq.next_element_seed(self)? {
            list.append(item).map_err(fail)?;
        }
        Ok(list.into_any())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.0);
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(self)?;
            dict.set_item(k, v).map_err(fail)?;
        }
        Ok(dict.into_any())
    }
}
