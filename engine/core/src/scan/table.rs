//! `scan -o entries.parquet`: the kept entries as one Parquet table instead of JSON lines —
//! path (or key), size, modified, and with `headers` each CSV's header row as a list, its
//! delimiter, or why it could not be read. Workers hand in rows in batches; one writer holds
//! a row group's worth at most.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{ArrayRef, ListBuilder, StringBuilder, TimestampMillisecondArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::header::Header;
use super::Stat;
use crate::error::{Error, Result};

/// Rows a worker holds before it hands them to the writer.
pub const BATCH: usize = 8192;

pub struct Row {
    pub path: String,
    pub stat: Option<Stat>,
    pub header: Option<Result<Header, String>>,
}

pub struct TableOut {
    path: String,
    schema: SchemaRef,
    headers: bool,
    writer: ArrowWriter<File>,
}

impl TableOut {
    pub fn create(path: &str, field: &str, headers: bool) -> Result<TableOut> {
        let mut fields = vec![
            Field::new(field, DataType::Utf8, false),
            Field::new("size", DataType::UInt64, true),
            Field::new("modified", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
        ];
        if headers {
            fields.push(Field::new("header", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true));
            fields.push(Field::new("delimiter", DataType::Utf8, true));
            fields.push(Field::new("header_error", DataType::Utf8, true));
        }
        let schema = Arc::new(Schema::new(fields));
        let file = File::create(path).map_err(|e| Error::storage(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(|e| Error::Internal(e.to_string()))?))
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        Ok(TableOut { path: path.to_string(), schema, headers, writer })
    }

    pub fn write(&mut self, rows: &mut Vec<Row>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut paths = StringBuilder::new();
        for r in rows.iter() {
            paths.append_value(&r.path);
        }
        let sizes: UInt64Array = rows.iter().map(|r| r.stat.map(|s| s.size)).collect();
        let modified = TimestampMillisecondArray::from(rows.iter().map(|r| r.stat.map(|s| s.modified_ms)).collect::<Vec<_>>()).with_timezone("UTC");
        let mut columns: Vec<ArrayRef> = vec![Arc::new(paths.finish()), Arc::new(sizes), Arc::new(modified)];
        if self.headers {
            let (mut header, mut delim, mut error) = (ListBuilder::new(StringBuilder::new()), StringBuilder::new(), StringBuilder::new());
            for r in rows.iter() {
                match &r.header {
                    Some(Ok(h)) => {
                        for f in &h.fields {
                            header.values().append_value(f);
                        }
                        header.append(true);
                        delim.append_value((h.delimiter as char).to_string());
                        error.append_null();
                    }
                    Some(Err(why)) => {
                        header.append(false);
                        delim.append_null();
                        error.append_value(why);
                    }
                    None => {
                        header.append(false);
                        delim.append_null();
                        error.append_null();
                    }
                }
            }
            columns.push(Arc::new(header.finish()));
            columns.push(Arc::new(delim.finish()));
            columns.push(Arc::new(error.finish()));
        }
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        self.writer.write(&batch)?;
        rows.clear();
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        let path = self.path.clone();
        self.writer.close().map(|_| ()).map_err(|e| Error::storage(&path, e))
    }
}
