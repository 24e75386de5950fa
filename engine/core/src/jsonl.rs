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

/// One line of a chunk: where it is in the file and its bytes in the chunk's buffer.
struct Line {
    number: u64,
    offset: u64,
    text: std::ops::Range<usize>,
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

/// Check and decode a run of lines: its batch and its bad lines.
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

/// A chunk's lines checked and decoded in two halves side by side (the one decoding thread
/// was the bound: it took 2.5× the Parquet encode's time); its batches in order.
fn chunk(schema: &SchemaRef, buf: &[u8], lines: &[Line]) -> Result<(Vec<RecordBatch>, Vec<Rejected>)> {
    if lines.len() < 2048 {
        let (batch, bad) = part(schema, buf, lines)?;
        return Ok((vec![batch], bad));
    }
    let (first, second) = lines.split_at(lines.len() / 2);
    let (a, b) = std::thread::scope(|s| {
        let later = s.spawn(|| part(schema, buf, second));
        let now = part(schema, buf, first);
        (now, later.join().map_err(|_| Error::Internal("a JSON decoding thread panicked".into())))
    });
    let ((a, mut bad), (b, bad_b)) = (a?, b??);
    bad.extend(bad_b);
    Ok((vec![a, b], bad))
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
    let mut ready = std::collections::VecDeque::new();
    let batches = std::iter::from_fn(move || -> Option<Result<RecordBatch>> {
        loop {
            if let Some(b) = ready.pop_front() {
                return Some(Ok(b));
            }
            let mut buf = Vec::with_capacity(CHUNK_BYTES + (64 << 10));
            let mut lines = Vec::new();
            let mut eof = false;
            while lines.len() < BATCH_ROWS && buf.len() < CHUNK_BYTES {
                let start = buf.len();
                match body.read_until(b'\n', &mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        number += 1;
                        let at = offset;
                        offset += n as u64;
                        let mut end = buf.len();
                        while end > start && matches!(buf[end - 1], b'\n' | b'\r') {
                            end -= 1;
                        }
                        if buf[start..end].iter().all(u8::is_ascii_whitespace) {
                            buf.truncate(start);
                            continue;
                        }
                        lines.push(Line { number, offset: at, text: start..end });
                    }
                    Err(e) => return Some(Err(classify_io(&uri, e))),
                }
            }
            if lines.is_empty() && eof {
                return None;
            }
            let result = chunk(&out, &buf, &lines).and_then(|(batches, mut bad)| {
                bad.sort_by_key(|r| r.offset);
                let rows = batches.iter().map(RecordBatch::num_rows).sum::<usize>() as u64;
                rejects.lock().map_err(|_| Error::Internal("rejects lock poisoned".into()))?.take(bad, rows)?;
                Ok(batches)
            });
            match result {
                Ok(batches) => ready.extend(batches.into_iter().filter(|b| b.num_rows() > 0)),
                Err(e) => return Some(Err(e)),
            }
            if ready.is_empty() && eof {
                return None;
            }
        }
    });
    Ok((schema, Box::new(batches)))
}
