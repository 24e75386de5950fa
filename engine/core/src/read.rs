//! Table sources: CSV and JSON lines over any byte stream (schema inferred from a sample,
//! overridable), Parquet over ranged object reads.

use std::io::{BufRead, Cursor, Read};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use object_store::ObjectStoreExt;
use parquet::file::reader::{ChunkReader, Length};

use crate::codec::classify_io;
use crate::error::{Error, Result};
use crate::plan::{CsvRead, JsonRead};
use crate::storage::{runtime, Location, ObjectReader};
use crate::types::{parse_type, TYPE_NAMES};

pub const BATCH_ROWS: usize = 64 * 1024;
const SAMPLE_BYTES: usize = 4 << 20;

pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// Read up to `SAMPLE_BYTES` (whole lines only when possible) for inference.
fn sample(input: &mut dyn BufRead, uri: &str, rows: usize) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut lines = 0;
    while buf.len() < SAMPLE_BYTES && lines <= rows {
        let n = input.read_until(b'\n', &mut buf).map_err(|e| classify_io(uri, e))?;
        if n == 0 {
            break;
        }
        lines += 1;
    }
    Ok(buf)
}

fn strip_bom(buf: &mut Vec<u8>) {
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        buf.drain(..3);
    }
}

fn ascii(step_field: &str, c: char) -> Result<u8> {
    u8::try_from(c).ok().filter(u8::is_ascii).ok_or_else(|| Error::plan(0, format!("{step_field} must be one ASCII character, got {c:?}")))
}

fn apply_overrides(schema: Schema, overrides: &std::collections::BTreeMap<String, String>) -> Result<Schema> {
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for (name, type_name) in overrides {
        let t = parse_type(type_name)
            .ok_or_else(|| Error::plan(0, format!("schema.{name}: unknown type {type_name:?}; use one of {TYPE_NAMES}")))?;
        let field = fields.iter_mut().find(|f| f.name() == name).ok_or_else(|| {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            Error::plan(0, format!("schema.{name}: no such column; columns are: {}", names.join(", ")))
        })?;
        *field = Field::new(name, t, true);
    }
    Ok(Schema::new(fields))
}

pub fn csv(mut input: Box<dyn BufRead + Send>, opts: &CsvRead, uri: &str) -> Result<(SchemaRef, Batches)> {
    let mut head = sample(&mut input, uri, opts.infer_rows)?;
    strip_bom(&mut head);
    if head.is_empty() {
        return Err(Error::input(uri, "empty input: expected a CSV header row"));
    }
    let mut format = arrow::csv::reader::Format::default()
        .with_header(opts.header)
        .with_delimiter(ascii("delimiter", opts.delimiter)?)
        .with_quote(ascii("quote", opts.quote)?)
        .with_truncated_rows(true);
    if let Some(e) = opts.escape {
        format = format.with_escape(ascii("escape", e)?);
    }
    let (inferred, _) = format
        .infer_schema(Cursor::new(&head), Some(opts.infer_rows))
        .map_err(|e| Error::input(uri, e.to_string()))?;
    let schema = Arc::new(apply_overrides(inferred, &opts.schema)?);
    // Inference tolerated short rows; the real read reports them with their line.
    let format = format.with_truncated_rows(false);
    let body = Cursor::new(head).chain(input);
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_format(format)
        .with_batch_size(BATCH_ROWS)
        .build_buffered(std::io::BufReader::with_capacity(1 << 20, body))
        .map_err(|e| Error::input(uri, e.to_string()))?;
    let uri = uri.to_string();
    let names = schema.clone();
    Ok((schema, Box::new(reader.map(move |r| r.map_err(|e| csv_error(&uri, &names, e))))))
}

/// Arrow's "Error while parsing value 'x' as type 'T' for column 0 at line 3" counts columns
/// and lines from 0 (while its other CSV errors count lines from 1): restate it with the
/// column's name and 1-based numbers, as every other error here.
fn csv_error(uri: &str, schema: &Schema, e: arrow::error::ArrowError) -> Error {
    if let arrow::error::ArrowError::ParseError(msg) = &e {
        let field = |key: &str, end: &str| -> Option<String> {
            let start = msg.find(key)? + key.len();
            Some(msg[start..].split(end).next()?.to_string())
        };
        if let (Some(value), Some(ty), Some(col), Some(line)) = (
            field("parsing value '", "' as type"),
            field("as type '", "'"),
            field("for column ", " ").and_then(|c| c.parse::<usize>().ok()),
            field("at line ", ".").and_then(|l| l.parse::<u64>().ok()),
        ) {
            let name = schema.fields().get(col).map(|f| f.name().as_str()).unwrap_or("?");
            return Error::input(
                uri,
                format!("value {value:?} is not a valid {ty} in column {name:?} (field {}) at line {}", col + 1, line + 1),
            );
        }
    }
    arrow_input_error(uri, e)
}

/// Arrow reports I/O failures (storage, truncated gzip) inside its own error; unwrap them.
fn arrow_input_error(uri: &str, e: arrow::error::ArrowError) -> Error {
    match e {
        arrow::error::ArrowError::IoError(_, io) => classify_io(uri, io),
        arrow::error::ArrowError::ExternalError(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => classify_io(uri, *io),
            Err(other) => Error::input(uri, other.to_string()),
        },
        other => Error::input(uri, other.to_string()),
    }
}

pub fn jsonl(mut input: Box<dyn BufRead + Send>, opts: &JsonRead, uri: &str) -> Result<(SchemaRef, Batches)> {
    let head = sample(&mut input, uri, opts.infer_rows)?;
    let (inferred, _) = arrow::json::reader::infer_json_schema(Cursor::new(&head), Some(opts.infer_rows))
        .map_err(|e| Error::input(uri, e.to_string()))?;
    if inferred.fields().is_empty() {
        return Err(Error::input(uri, "no JSON objects found to infer a schema from"));
    }
    let schema = Arc::new(apply_overrides(inferred, &opts.schema)?);
    let body = std::io::BufReader::with_capacity(1 << 20, Cursor::new(head).chain(input));
    let reader = arrow::json::ReaderBuilder::new(schema.clone())
        .with_batch_size(BATCH_ROWS)
        .build(body)
        .map_err(|e| Error::input(uri, e.to_string()))?;
    let uri = uri.to_string();
    Ok((schema, Box::new(reader.map(move |r| r.map_err(|e| arrow_input_error(&uri, e))))))
}

/// Parquet needs random access (the footer first): ranged reads on the same store.
struct ObjectChunks {
    loc: Location,
    size: u64,
    counter: Arc<AtomicU64>,
}

impl Length for ObjectChunks {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for ObjectChunks {
    type T = std::io::Take<ObjectReader>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let r = ObjectReader::open_at(self.loc.clone(), self.size, start, self.counter.clone());
        Ok(r.take(self.size.saturating_sub(start)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let bytes = runtime()
            .block_on(self.loc.store.get_range(&self.loc.path, start..start + length as u64))
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        self.counter.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(bytes)
    }
}

pub fn parquet(loc: Location, size: u64, counter: Arc<AtomicU64>) -> Result<(SchemaRef, Batches)> {
    let uri = loc.uri.clone();
    let chunks = ObjectChunks { loc, size, counter };
    let builder = ParquetRecordBatchReaderBuilder::try_new(chunks)
        .map_err(|e| Error::input(&uri, format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    let reader = builder.with_batch_size(BATCH_ROWS).build().map_err(|e| Error::input(&uri, e.to_string()))?;
    Ok((schema, Box::new(reader.map(move |r| r.map_err(|e| arrow_input_error(&uri, e))))))
}

/// Fields for error messages, e.g. "a, b, c".
pub fn column_names(schema: &Schema) -> String {
    schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
}
