//! Table sinks. Parquet is written zstd-compressed with large row groups and statistics:
//! arrow-rs writes uncompressed files unless told otherwise. Its columns are dictionary-encoded
//! except those whose first batch is mostly distinct values (ids, instants), where a dictionary
//! costs time and makes the file larger.

use std::collections::HashSet;
use std::io::BufWriter;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

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
    /// Until the first batch tells which columns are worth a dictionary.
    ParquetFirst(Option<(Out, SchemaRef, WriterPropertiesBuilder)>),
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
                    .set_statistics_enabled(EnabledStatistics::Page);
                TableSink::ParquetFirst(Some((out, schema, props)))
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
        if let TableSink::ParquetFirst(first) = self {
            *self = TableSink::Parquet(parquet_sink(first.take(), Some(batch))?);
        }
        match self {
            TableSink::ParquetFirst(_) => unreachable!("replaced above"),
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
            TableSink::ParquetFirst(first) => parquet_sink(first, None)?.finish()?, // no rows
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

/// The Parquet writer, with a dictionary for each column unless `first` (the first batch) shows
/// the column is mostly distinct values.
fn parquet_sink(pending: Option<(Out, SchemaRef, WriterPropertiesBuilder)>, first: Option<&RecordBatch>) -> Result<ParquetSink<Out>> {
    let (out, schema, mut props) = pending.ok_or_else(|| Error::Internal("the Parquet sink was opened twice".into()))?;
    for (field, column) in first.map(|b| schema.fields().iter().zip(b.columns())).into_iter().flatten() {
        if mostly_distinct(column.as_ref()) {
            props = props.set_column_dictionary_enabled(ColumnPath::new(vec![field.name().clone()]), false);
        }
    }
    ParquetSink::new(out, schema, props.build(), crate::pool::threads())
}

/// Values below which a batch says too little to judge a column.
const JUDGE_FROM: usize = 4096;

/// More than three quarters of `column`'s values are distinct, among at least `JUDGE_FROM`
/// (fixed-width and string columns; others are not judged). Such a column's dictionary would
/// hold nearly every value and then overflow its page and fall back to plain anyway.
fn mostly_distinct(column: &dyn Array) -> bool {
    let values = column.len() - column.null_count();
    if values < JUDGE_FROM {
        return false;
    }
    let data = column.to_data();
    let rows = (0..column.len()).filter(|&r| column.is_valid(r));
    let all: Box<dyn Iterator<Item = &[u8]>> = match column.data_type() {
        DataType::Utf8 => Box::new(rows.map(|r| column.as_string::<i32>().value(r).as_bytes())),
        DataType::LargeUtf8 => Box::new(rows.map(|r| column.as_string::<i64>().value(r).as_bytes())),
        t if t.is_primitive() => {
            let width = t.primitive_width().unwrap_or(0);
            let bytes = &data.buffers()[0].as_slice()[data.offset() * width..];
            Box::new(rows.map(move |r| &bytes[r * width..(r + 1) * width]))
        }
        _ => return false,
    };
    let enough = values * 3 / 4 + 1;
    let mut seen: HashSet<&[u8], ahash::RandomState> = HashSet::with_capacity_and_hasher(enough, Default::default());
    for (taken, value) in all.enumerate() {
        seen.insert(value);
        // A column of few values is known long before its end: the rest could not make it.
        if seen.len() + (values - taken - 1) < enough {
            return false;
        }
    }
    seen.len() >= enough
}

impl From<parquet::errors::ParquetError> for Error {
    fn from(e: parquet::errors::ParquetError) -> Self {
        Error::Internal(format!("parquet: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int32Array, StringArray, TimestampMicrosecondArray};

    use super::*;

    #[test]
    fn a_column_is_mostly_distinct_past_three_quarters_of_enough_values() {
        let n = 8192;
        let ints = |f: &dyn Fn(i32) -> Option<i32>| -> ArrayRef { Arc::new((0..n).map(f).collect::<Int32Array>()) };
        assert!(mostly_distinct(ints(&|i| Some(i)).as_ref())); // an id
        assert!(mostly_distinct(ints(&|i| Some(if i < 6145 { i } else { 0 })).as_ref())); // 6,145 of 8,192: past
        assert!(!mostly_distinct(ints(&|i| Some(if i < 6144 { i } else { 0 })).as_ref())); // three quarters exactly
        assert!(!mostly_distinct(ints(&|i| Some(i % 20)).as_ref())); // a quantity
        // Nulls are not values: 4,095 distinct values among nulls are too few to judge.
        assert!(!mostly_distinct(ints(&|i| (i % 2 == 0 && i < 8190).then_some(i)).as_ref()));
        assert!(!mostly_distinct(ints(&|i| Some(i)).slice(0, 4095).as_ref()));
        // A slice is read from its own offset: the halves of [0, 1, …, 4095, 0, 0, …] and of
        // [0, 0, …, 4096, 4097, …].
        assert!(!mostly_distinct(ints(&|i| Some(if i < 4096 { i } else { 0 })).slice(4096, 4096).as_ref()));
        assert!(mostly_distinct(ints(&|i| Some(if i < 4096 { 0 } else { i })).slice(4096, 4096).as_ref()));
        let prices: ArrayRef = Arc::new((0..n).map(|i| Some(f64::from(i % 5000) / 100.0)).collect::<Float64Array>());
        assert!(!mostly_distinct(prices.as_ref())); // 61 %: a dictionary still pays
        let at: ArrayRef = Arc::new(TimestampMicrosecondArray::from((0..n).map(|i| i64::from(i) * 1_000_000).collect::<Vec<_>>()));
        assert!(mostly_distinct(at.as_ref()));
        let text = |f: &dyn Fn(i32) -> String| -> ArrayRef { Arc::new((0..n).map(|i| Some(f(i))).collect::<StringArray>()) };
        assert!(mostly_distinct(text(&|i| format!("order-{i}")).as_ref()));
        assert!(!mostly_distinct(text(&|i| ["EU", "US", "APAC"][(i % 3) as usize].to_string()).as_ref()));
        let flags: ArrayRef = Arc::new((0..n).map(|i| Some(i % 2 == 0)).collect::<arrow::array::BooleanArray>());
        assert!(!mostly_distinct(flags.as_ref())); // not judged
    }
}
