//! One error type for the whole core; the bindings map each variant to a Python exception once.

use std::fmt;

/// Where in an input a format error happened, as precisely as the reader knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub byte_offset: Option<u64>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(c) = self.column {
            parts.push(format!("column {c}"));
        }
        if let Some(b) = self.byte_offset {
            parts.push(format!("byte offset {b}"));
        }
        write!(f, "{}", parts.join(", "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The plan itself is wrong: unknown step, bad option, impossible order.
    #[error("plan: step {step}: {message}")]
    Plan { step: usize, message: String },

    /// An expression did not parse or does not fit the data it is applied to.
    #[error("expression {expr:?} at line {line}, column {column}: {message}")]
    Expression { expr: String, line: u64, column: u64, message: String },

    /// The input is not what the plan says it is (malformed CSV, invalid UTF-8, truncated gzip…).
    #[error("{uri}: {message}{}", fmt_loc(.location))]
    InputFormat { uri: String, location: Location, message: String },

    /// Reading or writing object storage failed.
    #[error("storage: {uri}: {message}")]
    Storage { uri: String, message: String },

    /// What a scan was pointed at does not exist: a path, or a bucket.
    #[error("not found: {uri}: {message}")]
    NotFound { uri: String, message: String },

    /// An option of a call is malformed: a glob that does not parse, a size range upside down.
    #[error("{option} {value:?}: {message}")]
    BadOption { option: String, value: String, message: String },

    /// A configured bound (group count, distinct words, …) was exceeded.
    #[error("limit: {0}")]
    Limit(String),

    /// The caller asked to stop.
    #[error("cancelled")]
    Cancelled,

    /// A bug: a panic or an unexpected internal state. Never the user's input.
    #[error("internal: {0}")]
    Internal(String),
}

fn fmt_loc(loc: &Location) -> String {
    let s = loc.to_string();
    if s.is_empty() { s } else { format!(" ({s})") }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn plan(step: usize, message: impl Into<String>) -> Self {
        Error::Plan { step, message: message.into() }
    }

    /// The object writer names its output in its own io errors (they can surface through an
    /// encoder or the Parquet writer, which know no URI); said once here, not twice.
    pub fn storage(uri: &str, err: impl fmt::Display) -> Self {
        let message = err.to_string();
        let message = message.strip_prefix(uri).and_then(|m| m.strip_prefix(": ")).map_or(message.clone(), str::to_string);
        Error::Storage { uri: uri.to_string(), message }
    }

    pub fn bad_option(option: &str, value: impl Into<String>, message: impl fmt::Display) -> Self {
        Error::BadOption { option: option.to_string(), value: value.into(), message: message.to_string() }
    }

    /// An input error whose location is parsed out of an arrow/parquet message when present.
    pub fn input(uri: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let location = Location {
            line: number_after(&message, "line "),
            column: number_after(&message, "column ").or_else(|| number_after(&message, "field ")),
            byte_offset: number_after(&message, "byte offset "),
        };
        Error::InputFormat { uri: uri.to_string(), location, message }
    }

    pub fn input_at_offset(uri: &str, offset: u64, message: impl Into<String>) -> Self {
        Error::InputFormat {
            uri: uri.to_string(),
            location: Location { byte_offset: Some(offset), ..Default::default() },
            message: message.into(),
        }
    }
}

fn number_after(text: &str, marker: &str) -> Option<u64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_error_names_its_uri_once() {
        let uri = "s3://out/a.parquet";
        let said = Error::storage(uri, format!("{uri}: disk full")).to_string();
        assert_eq!(said, "storage: s3://out/a.parquet: disk full");
        let other = Error::storage(uri, "s3://out/b.parquet: gone").to_string(); // another object's name stays
        assert_eq!(other, "storage: s3://out/a.parquet: s3://out/b.parquet: gone");
    }

    #[test]
    fn input_error_extracts_line_and_field() {
        let e = Error::input("s3://b/k.csv", "Encountered invalid UTF-8 data for line 7 and field 3");
        match e {
            Error::InputFormat { location, .. } => {
                assert_eq!(location.line, Some(7));
                assert_eq!(location.column, Some(3));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn input_error_without_location_has_none() {
        let e = Error::input("f.csv", "bad things");
        assert_eq!(e.to_string(), "f.csv: bad things");
    }
}
