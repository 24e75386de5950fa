//! JSON lines with bad lines by policy: a line that is not a JSON object, or whose values do
//! not fit the schema, is a bad row (quarantined by default) and the lines around it are read
//! as if it were not there. Line numbers are physical.

use std::collections::BTreeSet;
use std::io::{BufRead, Cursor, Read};
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::json::reader::Decoder;
use arrow::record_batch::RecordBatch;

use crate::codec::classify_io;
use crate::error::{Error, Result};
use crate::plan::JsonRead;
use crate::read::{apply_overrides, sample, Batches, BATCH_ROWS};
use crate::rejects::{Rejected, Rejects};

mod flat;
mod lines;

use lines::{Gather, Line};

/// Is `text` one JSON object (the cheap check that catches broken lines before arrow)?
fn object(text: &[u8]) -> std::result::Result<(), String> {
    match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        Err(e) => Err(format!("not valid JSON: {e}")),
        Ok(_) if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') => Err("not a JSON object".into()),
        Ok(_) => Ok(()),
    }
}

fn decoder(schema: &SchemaRef, rows: usize) -> std::result::Result<Decoder, ArrowError> {
    arrow::json::ReaderBuilder::new(schema.clone()).with_batch_size(rows.max(1)).build_decoder()
}

/// Decode `lines` into one batch; when that fails, one line at a time so only the lines that
/// do not fit the schema are rejected.
fn decode(schema: &SchemaRef, buf: &[u8], lines: &[&Line], rejects: &mut Vec<Rejected>) -> Result<RecordBatch> {
    let all = || -> Result<Option<RecordBatch>> {
        let mut d = decoder(schema, lines.len())?;
        for l in lines {
            d.decode(&buf[l.text.clone()])?;
        }
        Ok(d.flush()?)
    };
    if let Ok(batch) = all() {
        return Ok(batch.unwrap_or_else(|| RecordBatch::new_empty(schema.clone())));
    }
    let mut batches = Vec::with_capacity(lines.len());
    for l in lines {
        // The arrow error itself is the reason (which field, which value).
        let one = || -> std::result::Result<Option<RecordBatch>, ArrowError> {
            let mut d = decoder(schema, 1)?;
            d.decode(&buf[l.text.clone()])?;
            d.flush()
        };
        match one() {
            Ok(Some(b)) => batches.push(b),
            Ok(None) => {}
            Err(e) => rejects.push(Rejected { line: l.number, offset: l.offset, field: None, raw: buf[l.text.clone()].to_vec(), reason: e.to_string() }),
        }
    }
    Ok(arrow::compute::concat_batches(schema, &batches)?)
}

/// How a chunk's lines become a batch: the columns a step uses are decoded (by the quick way
/// when they are all scalars), the rest come out null.
struct Shape {
    schema: SchemaRef,
    decoded: SchemaRef,
    flat: Option<flat::Flat>,
}

impl Shape {
    fn new(schema: SchemaRef, used: Option<&BTreeSet<String>>) -> Shape {
        let decoded = match used {
            Some(used) => Arc::new(Schema::new(schema.fields().iter().filter(|f| used.contains(f.name())).cloned().collect::<Vec<_>>())),
            None => schema.clone(),
        };
        Shape { flat: flat::Flat::new(&decoded), schema, decoded }
    }

    /// Check and decode a chunk: its batch and its bad lines.
    fn part(&self, buf: &[u8], lines: &[Line]) -> Result<(RecordBatch, Vec<Rejected>)> {
        let quick = self.flat.as_ref().and_then(|f| f.decode(buf, lines));
        let (batch, bad) = match quick {
            Some(batch) => (batch, Vec::new()),
            None => part(&self.decoded, buf, lines)?,
        };
        if self.decoded.fields().len() == self.schema.fields().len() {
            return Ok((batch, bad));
        }
        let rows = batch.num_rows();
        let columns = self.schema.fields().iter().map(|f| match batch.column_by_name(f.name()) {
            Some(c) => c.clone(),
            None => arrow::array::new_null_array(f.data_type(), rows),
        });
        Ok((RecordBatch::try_new(self.schema.clone(), columns.collect())?, bad))
    }
}

/// Check and decode a run of lines the general way: its batch and its bad lines.
fn part(schema: &SchemaRef, buf: &[u8], lines: &[Line]) -> Result<(RecordBatch, Vec<Rejected>)> {
    let mut good = Vec::with_capacity(lines.len());
    let mut bad = Vec::new();
    for l in lines {
        let text = &buf[l.text.clone()];
        match object(text) {
            Ok(()) => good.push(l),
            Err(reason) => bad.push(Rejected { line: l.number, offset: l.offset, field: None, raw: text.to_vec(), reason }),
        }
    }
    let batch = decode(schema, buf, &good, &mut bad)?;
    Ok((batch, bad))
}

/// Read JSON lines; columns not in `used` (when given) are not decoded and come out null.
pub fn read(mut input: Box<dyn BufRead + Send>, opts: &JsonRead, uri: &str, rejects: Arc<Mutex<Rejects>>, used: Option<&BTreeSet<String>>) -> Result<(SchemaRef, Batches)> {
    let (head, _) = sample(&mut input, uri, opts.infer_rows + 1)?;
    // Infer from the lines that are objects: one broken line must not break the schema.
    let objects: Vec<u8> = head
        .split(|&b| b == b'\n')
        .filter(|l| object(l).is_ok())
        .flat_map(|l| l.iter().copied().chain(std::iter::once(b'\n')))
        .collect();
    let (inferred, _) = arrow::json::reader::infer_json_schema(Cursor::new(&objects), Some(opts.infer_rows))
        .map_err(|e| Error::input(uri, e.to_string()))?;
    if inferred.fields().is_empty() {
        return Err(Error::input(uri, "no JSON objects found to infer a schema from"));
    }
    let schema = Arc::new(apply_overrides(inferred, &opts.schema)?);
    let mut gather = Gather::new(Cursor::new(head).chain(input));
    let spares = gather.spares();
    let mut done = false;
    // Lines are gathered in order on a thread of their own; chunks are checked and decoded on
    // every core and come back in order.
    let produce = move || -> Option<std::io::Result<lines::Chunk>> {
        if done {
            return None;
        }
        let next = gather.next_chunk(BATCH_ROWS).transpose();
        done = !matches!(next, Some(Ok(_)));
        next
    };
    let shape = Shape::new(schema.clone(), used);
    let work = move |chunk: std::io::Result<lines::Chunk>| {
        chunk.map(|chunk| {
            let part = shape.part(&chunk.0, &chunk.1);
            spares.give(chunk);
            part
        })
    };
    let mut parts = crate::pool::ordered("pravah-jsonl", crate::pool::threads(), produce, work)
        .map_err(|e| Error::Internal(format!("cannot start the JSON lines reader threads: {e}")))?;
    let uri = uri.to_string();
    let batches = std::iter::from_fn(move || -> Option<Result<RecordBatch>> {
        loop {
            let (batch, mut bad) = match parts.next()? {
                Ok(Ok(Ok(part))) => part,
                Ok(Ok(Err(e))) => return Some(Err(e)),
                Ok(Err(e)) => return Some(Err(classify_io(&uri, e))),
                Err(_) => return Some(Err(Error::Internal("a JSON lines reader thread panicked".into()))),
            };
            bad.sort_by_key(|r| r.offset);
            let taken = rejects.lock().map_err(|_| Error::Internal("rejects lock poisoned".into())).and_then(|mut r| r.take(bad, batch.num_rows() as u64));
            if let Err(e) = taken {
                return Some(Err(e));
            }
            if batch.num_rows() > 0 {
                return Some(Ok(batch));
            }
        }
    });
    Ok((schema, Box::new(batches)))
}
