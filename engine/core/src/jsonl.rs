//! JSON lines with bad lines by policy: a line that is not a JSON object, or whose values do
//! not fit the schema, is a bad row (quarantined by default) and the lines around it are read
//! as if it were not there. Line numbers are physical.

use std::io::{BufRead, Cursor, Read};
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::json::reader::Decoder;
use arrow::record_batch::RecordBatch;

use crate::codec::classify_io;
use crate::error::{Error, Result};
use crate::plan::JsonRead;
use crate::read::{apply_overrides, sample, Batches, BATCH_ROWS};
use crate::rejects::{Rejected, Rejects};

/// Bytes of lines gathered into one batch at most.
const CHUNK_BYTES: usize = 4 << 20;

struct Line {
    number: u64,
    offset: u64,
    text: Vec<u8>,
}

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
fn decode(schema: &SchemaRef, lines: &[Line], rejects: &mut Vec<Rejected>) -> Result<RecordBatch> {
    let all = || -> Result<Option<RecordBatch>> {
        let mut d = decoder(schema, lines.len())?;
        for l in lines {
            d.decode(&l.text)?;
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
            d.decode(&l.text)?;
            d.flush()
        };
        match one() {
            Ok(Some(b)) => batches.push(b),
            Ok(None) => {}
            Err(e) => rejects.push(Rejected { line: l.number, offset: l.offset, field: None, raw: l.text.clone(), reason: e.to_string() }),
        }
    }
    Ok(arrow::compute::concat_batches(schema, &batches)?)
}

pub fn read(mut input: Box<dyn BufRead + Send>, opts: &JsonRead, uri: &str, rejects: Arc<Mutex<Rejects>>) -> Result<(SchemaRef, Batches)> {
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
    let mut body = std::io::BufReader::with_capacity(1 << 20, Cursor::new(head).chain(input));
    let (mut number, mut offset) = (0u64, 0u64);
    let uri = uri.to_string();
    let out = schema.clone();
    let batches = std::iter::from_fn(move || -> Option<Result<RecordBatch>> {
        loop {
            let mut lines = Vec::new();
            let mut bad = Vec::new();
            let mut bytes = 0;
            let mut eof = false;
            while lines.len() < BATCH_ROWS && bytes < CHUNK_BYTES {
                let mut text = Vec::new();
                match body.read_until(b'\n', &mut text) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        number += 1;
                        let at = offset;
                        offset += n as u64;
                        while matches!(text.last(), Some(b'\n' | b'\r')) {
                            text.pop();
                        }
                        if text.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        bytes += text.len();
                        match object(&text) {
                            Ok(()) => lines.push(Line { number, offset: at, text }),
                            Err(reason) => bad.push(Rejected { line: number, offset: at, field: None, raw: text, reason }),
                        }
                    }
                    Err(e) => return Some(Err(classify_io(&uri, e))),
                }
            }
            if lines.is_empty() && bad.is_empty() && eof {
                return None;
            }
            let result = decode(&out, &lines, &mut bad).and_then(|batch| {
                bad.sort_by_key(|r| r.offset);
                rejects.lock().map_err(|_| Error::Internal("rejects lock poisoned".into()))?.take(bad, batch.num_rows() as u64)?;
                Ok(batch)
            });
            match result {
                Ok(b) if b.num_rows() == 0 && !eof => continue,
                Ok(b) if b.num_rows() == 0 => return None,
                other => return Some(other),
            }
        }
    });
    Ok((schema, Box::new(batches)))
}
