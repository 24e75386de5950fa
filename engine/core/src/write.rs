//! Table sinks. Parquet is written zstd-compressed with large row groups and statistics:
//! arrow-rs writes uncompressed files unless told otherwise.

use std::io::BufWriter;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::codec::Encoder;
use crate::error::{Error, Result};
use crate::parquet_out::ParquetSink;
use crate::plan::{ParquetCompression, Step};
use crate::storage::{ObjectWriter, Written};

/// The byte sink every output goes through: buffered, optionally compressed, multipart-uploaded.
pub type Out = BufWriter<Encoder<ObjectWriter>>;

pub fn finish_out(out: Out, uri: &str) -> Result<Written> {
    let enc = out.into_inner().map_err(|e| Error::storage(uri, e.error()))?;
    enc.finish().map_err(|e| Error::storage(uri, e))?.finish()
}

pub enum TableSink {
    Parquet(ParquetSink<Out>),
    /// The schema, to write the header of a table with no rows.
    Csv(Box<arrow::csv::Writer<Out>>, Option<SchemaRef>),
    Jsonl(arrow::json::LineDelimitedWriter<Out>),
}

impl TableSink {
    pub fn new(step: &Step, schema: SchemaRef, out: Out) -> Result<TableSink> {
        Ok(match step {
            Step::WriteParquet(p) => {
                let compression = match p.compression {
                    ParquetCompression::Zstd => Compression::ZSTD(
                        ZstdLevel::try_new(p.level).map_err(|e| Error::plan(0, format!("write_parquet.level: {e}")))?,
                    ),
                    ParquetCompression::Snappy => Compression::SNAPPY,
                    ParquetCompression::None => Compression::UNCOMPRESSED,
                };
                let props = WriterProperties::builder()
                    .set_compression(compression)
                    .set_max_row_group_row_count(Some(p.row_group_rows.max(1)))
                    .set_statistics_enabled(EnabledStatistics::Page)
                    .build();
                TableSink::Parquet(ParquetSink::new(out, schema, props, crate::pool::threads())?)
            }
            Step::WriteCsv(c) => {
                let delimiter = u8::try_from(c.delimiter)
                    .map_err(|_| Error::plan(0, format!("write_csv.delimiter must be ASCII, got {:?}", c.delimiter)))?;
                TableSink::Csv(Box::new(arrow::csv::WriterBuilder::new().with_header(c.header).with_delimiter(delimiter).build(out)), Some(schema))
            }
            Step::WriteJsonl(j) => TableSink::Jsonl(
                arrow::json::WriterBuilder::new().with_explicit_nulls(j.explicit_nulls).build::<_, arrow::json::writer::LineDelimited>(out),
            ),
            other => return Err(Error::Internal(format!("{} is not a table sink", other.name()))),
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            TableSink::Parquet(w) => w.write(batch)?,
            TableSink::Csv(w, pending) => {
                pending.take();
                w.write(batch)?
            }
            TableSink::Jsonl(w) => w.write(batch)?,
        }
        Ok(())
    }

    pub fn finish(self, uri: &str) -> Result<Written> {
        let out = match self {
            TableSink::Parquet(w) => w.finish()?,
            TableSink::Csv(mut w, pending) => {
                if let Some(schema) = pending {
                    w.write(&RecordBatch::new_empty(schema))?; // the header alone
                }
                w.into_inner()
            }
            TableSink::Jsonl(mut w) => {
                w.finish()?;
                w.into_inner()
            }
        };
        finish_out(out, uri)
    }
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Error::Internal(format!("parquet: {e}"))
    }
}
