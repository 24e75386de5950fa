//! Bad rows, by policy: fail the run, drop and count them, or quarantine them raw to a JSON
//! lines output next to the main one (opened only when the first one arrives). Past
//! `max_bad_rows` the run fails: a file that is mostly bad is more likely read wrong
//! (delimiter, encoding) than dirty.

use std::io::Write;

use serde::Serialize;

use crate::error::{Error, Location, Result};
use crate::plan::{MaxBadRows, OnBadRows};
use crate::storage::{hex, Written};
use crate::write::{finish_out, Out};

/// A row that did not make it into the table, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub offset: u64,
    /// 1-based field, when one field is to blame.
    pub field: Option<u64>,
    pub raw: Vec<u8>,
    pub reason: String,
}

/// Fractions are enforced along the way only once this many rows were read (early rows are
/// too few to judge a file by), and always at the end.
const FRACTION_AFTER: u64 = 10_000;

pub type Opener = Box<dyn FnOnce() -> Result<Out> + Send>;

pub struct Rejects {
    policy: OnBadRows,
    max: MaxBadRows,
    input: String,
    pub rejected: u64,
    good: u64,
    first: Option<String>,
    open: Option<Opener>,
    out_uri: String,
    out: Option<Out>,
    /// The first few that were not quarantined, kept in memory (previews show them).
    pub kept: Vec<Rejected>,
}

/// Bad rows a preview keeps to show.
const KEEP: usize = 5;

#[derive(Serialize)]
struct Line<'a> {
    line: u64,
    byte_offset: u64,
    raw: std::borrow::Cow<'a, str>,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_hex: Option<String>,
}

impl Rejects {
    /// `open` creates the rejects output (`out_uri`) when the first quarantined row arrives.
    pub fn new(policy: OnBadRows, max: MaxBadRows, input: &str, out_uri: String, open: Opener) -> Self {
        Rejects { policy, max, input: input.into(), rejected: 0, good: 0, first: None, open: Some(open), out_uri, out: None, kept: Vec::new() }
    }

    /// Count and drop every bad row, with no limit, keeping the first few (previews, fuzzing).
    pub fn counting(input: &str) -> Self {
        Rejects {
            policy: OnBadRows::Skip,
            max: MaxBadRows::Fraction(1.0),
            input: input.into(),
            rejected: 0,
            good: 0,
            first: None,
            open: None,
            out_uri: String::new(),
            out: None,
            kept: Vec::new(),
        }
    }

    /// Take one batch's bad rows and the number of good ones that came with them.
    pub fn take(&mut self, rows: Vec<Rejected>, good: u64) -> Result<()> {
        self.good += good;
        for r in rows {
            if self.policy == OnBadRows::Fail {
                return Err(Error::InputFormat {
                    uri: self.input.clone(),
                    location: Location { line: Some(r.line), column: r.field, byte_offset: Some(r.offset) },
                    message: format!("bad row at line {}: {} (on_bad_rows: fail)", r.line, r.reason),
                });
            }
            self.rejected += 1;
            self.first.get_or_insert_with(|| format!("line {}: {}", r.line, r.reason));
            if self.policy == OnBadRows::Quarantine {
                self.write(&r)?;
            } else if self.kept.len() < KEEP {
                self.kept.push(r);
            }
            if let MaxBadRows::Count(max) = self.max {
                if self.rejected > max {
                    return Err(self.over());
                }
            }
        }
        if self.good + self.rejected >= FRACTION_AFTER {
            self.check_fraction()?;
        }
        Ok(())
    }

    fn check_fraction(&self) -> Result<()> {
        match self.max {
            MaxBadRows::Fraction(f) if self.rejected as f64 > f * (self.good + self.rejected) as f64 => Err(self.over()),
            _ => Ok(()),
        }
    }

    fn over(&self) -> Error {
        let total = self.good + self.rejected;
        let limit = match self.max {
            MaxBadRows::Count(c) => format!("{c}"),
            MaxBadRows::Fraction(f) => format!("{}%", f * 100.0),
        };
        Error::Limit(format!(
            "{}: {} bad rows of {} read ({:.1}%), over max_bad_rows {limit}; first: {}. Check the read options (for CSV: delimiter, quote, encoding) or raise max_bad_rows",
            self.input,
            self.rejected,
            total,
            100.0 * self.rejected as f64 / total.max(1) as f64,
            self.first.as_deref().unwrap_or("-"),
        ))
    }

    fn write(&mut self, r: &Rejected) -> Result<()> {
        if self.out.is_none() {
            let open = self.open.take().ok_or_else(|| Error::Internal("rejects output opened twice".into()))?;
            self.out = Some(open()?);
        }
        let uri = &self.out_uri;
        let out = self.out.as_mut().expect("opened above");
        let text = std::str::from_utf8(&r.raw);
        let line = Line {
            line: r.line,
            byte_offset: r.offset,
            raw: text.map(Into::into).unwrap_or_else(|_| String::from_utf8_lossy(&r.raw)),
            reason: &r.reason,
            raw_hex: text.is_err().then(|| hex(&r.raw)),
        };
        serde_json::to_writer(&mut *out, &line).map_err(|e| Error::storage(uri, e))?;
        out.write_all(b"\n").map_err(|e| Error::storage(uri, e))
    }

    /// Enforce a fraction limit over the whole input and close the output, if any.
    pub fn finish(self) -> Result<Option<Written>> {
        self.check_fraction()?;
        match self.out {
            Some(out) => Ok(Some(finish_out(out, &self.out_uri)?)),
            None => Ok(None),
        }
    }
}
