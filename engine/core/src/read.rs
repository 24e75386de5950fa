//! Table sources shared parts, and Parquet over ranged object reads. CSV (`crate::csv`) and
//! JSON lines (`crate::jsonl`) have their own modules.

use std::io::{BufRead, Read};
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
use crate::storage::{runtime, Location, ObjectReader};
use crate::types::{parse_type, TYPE_NAMES};

pub const BATCH_ROWS: usize = 32 * 1024;
const SAMPLE_BYTES: usize = 4 << 20;

pub type Batches = Box<dyn Iterator<Item = Result<RecordBatch>> + Send>;

/// The start of the input for inference: whole lines, up to `lines` of them or `SAMPLE_BYTES`,
/// and whether that is all of it.
pub(crate) fn sample(input: &mut dyn BufRead, uri: &str, lines: usize) -> Result<(Vec<u8>, bool)> {
    let mut buf = Vec::new();
    let mut n = 0;
    while buf.len() < SAMPLE_BYTES && n < lines {
        if input.read_until(b'\n', &mut buf).map_err(|e| classify_io(uri, e))? == 0 {
            return Ok((buf, true));
        }
        n += 1;
    }
    let done = input.fill_buf().map_err(|e| classify_io(uri, e))?.is_empty();
    Ok((buf, done))
}

pub(crate) fn apply_overrides(schema: Schema, overrides: &std::collections::BTreeMap<String, String>) -> Result<Schema> {
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

/// Arrow reports I/O failures (storage, truncated gzip) inside its own error; unwrap them.
pub(crate) fn arrow_input_error(uri: &str, e: arrow::error::ArrowError) -> Error {
    match e {
        arrow::error::ArrowError::IoError(_, io) => classify_io(uri, io),
        arrow::error::ArrowError::ExternalError(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => classify_io(uri, *io),
            Err(other) => Error::input(uri, other.to_string()),
        },
        other => Error::input(uri, other.to_string()),
    }
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
