//! Parquet written a column chunk per core: each batch's columns are encoded (dictionary,
//! statistics, zstd) side by side, and at a row group's end the columns are closed side by side
//! and appended in order. The file is what arrow's `ArrowWriter` writes (it sets up the file,
//! with the Arrow schema in the footer; only the encoding is spread), and memory is what it
//! holds too: the encoded pages of one row group.

use std::io::Write;
use std::sync::Mutex;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnWriter, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use crate::error::{Error, Result};

/// Rows below which a batch (or a row group) is encoded on this thread alone: starting threads
/// would cost more than they save.
const SMALL: usize = 8192;

pub struct ParquetSink<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The row group being written, and its rows so far.
    columns: Option<Vec<ArrowColumnWriter>>,
    rows: usize,
    max_rows: usize,
    threads: usize,
}

impl<W: Write + Send> ParquetSink<W> {
    pub fn new(out: W, schema: SchemaRef, props: WriterProperties, threads: usize) -> Result<Self> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let (file, factory) = ArrowWriter::try_new(out, schema.clone(), Some(props))?.into_serialized_writer()?;
        Ok(ParquetSink { file, factory, schema, columns: None, rows: 0, max_rows, threads: threads.max(1) })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            let take = (self.max_rows - self.rows).min(rest.num_rows());
            let part = rest.slice(0, take);
            rest = rest.slice(take, rest.num_rows() - take);
            self.encode(&part)?;
            self.rows += take;
            if self.rows >= self.max_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn encode(&mut self, batch: &RecordBatch) -> Result<()> {
        let writers = match &mut self.columns {
            Some(w) => w,
            none => none.insert(self.factory.create_column_writers(self.file.flushed_row_groups().len())?),
        };
        // One leaf per Parquet column (a nested field has several), in the writers' order.
        let mut leaves = Vec::with_capacity(writers.len());
        for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, column)?);
        }
        let threads = if batch.num_rows() < SMALL { 1 } else { self.threads };
        side_by_side(writers.iter_mut().zip(leaves).collect(), threads, |(w, leaf)| Ok(w.write(&leaf)?))?;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let Some(writers) = self.columns.take() else { return Ok(()) };
        let threads = if self.rows < SMALL { 1 } else { self.threads };
        let chunks = side_by_side(writers, threads, |w| Ok(w.close()?))?;
        let mut group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        self.rows = 0;
        Ok(())
    }

    /// The last row group and the footer.
    pub fn finish(mut self) -> Result<W> {
        self.flush()?;
        Ok(self.file.into_inner()?)
    }
}

/// `f` over `tasks` on up to `threads` threads (this one among them); results in task order.
fn side_by_side<T: Send, R: Send>(tasks: Vec<T>, threads: usize, f: impl Fn(T) -> Result<R> + Sync) -> Result<Vec<R>> {
    let n = tasks.len();
    if threads <= 1 || n <= 1 {
        return tasks.into_iter().map(f).collect();
    }
    let queue = Mutex::new(tasks.into_iter().enumerate());
    let results: Mutex<Vec<Option<Result<R>>>> = Mutex::new((0..n).map(|_| None).collect());
    let work = || loop {
        let Some((i, task)) = queue.lock().unwrap_or_else(|e| e.into_inner()).next() else { return };
        let r = f(task);
        let failed = r.is_err();
        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
        if failed {
            return;
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads.min(n) {
            s.spawn(work);
        }
        work();
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(Some(Err(_))) = results.iter().find(|r| matches!(r, Some(Err(_)))) {
        return Err(results.into_iter().find_map(|r| r.and_then(Result::err)).expect("found above"));
    }
    // Every task ran when none failed (the threads drain the queue).
    results.into_iter().map(|r| r.unwrap_or_else(|| Err(Error::Internal("a Parquet column was not encoded".into())))).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use parquet::basic::{Compression, ZstdLevel};

    use super::*;

    fn batch(schema: &SchemaRef, from: i64, rows: i64) -> RecordBatch {
        let ids: Int64Array = (from..from + rows).map(Some).collect();
        let text: StringArray = (from..from + rows).map(|i| (i % 5 != 0).then(|| format!("r{}", i % 37))).collect();
        let price: Float64Array = (from..from + rows).map(|i| (i % 3 != 0).then_some(i as f64 / 7.0)).collect();
        let at = TimestampMicrosecondArray::from((from..from + rows).map(|i| i * 1_000_003).collect::<Vec<_>>()).with_timezone("+02:00");
        let columns: Vec<ArrayRef> = vec![Arc::new(ids), Arc::new(text), Arc::new(price), Arc::new(at)];
        RecordBatch::try_new(schema.clone(), columns).unwrap()
    }

    /// Byte for byte the file arrow's own writer makes, whatever the thread count, across
    /// row groups that end inside a batch.
    #[test]
    fn same_file_as_arrow_writer() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("text", DataType::Utf8, true),
            Field::new("price", DataType::Float64, true),
            Field::new("at", DataType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into())), true),
        ]));
        let props = || {
            WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
                .set_max_row_group_row_count(Some(25_000))
                .build()
        };
        let batches: Vec<RecordBatch> = [(0, 10_000), (10_000, 30_000), (40_000, 1), (40_001, 0), (40_001, 9_999)]
            .iter()
            .map(|&(from, rows)| batch(&schema, from, rows))
            .collect();
        let mut arrow = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props())).unwrap();
        for b in &batches {
            arrow.write(b).unwrap();
        }
        let want = arrow.into_inner().unwrap();
        for threads in [1, 2, 3, 8] {
            let mut sink = ParquetSink::new(Vec::new(), schema.clone(), props(), threads).unwrap();
            for b in &batches {
                sink.write(b).unwrap();
            }
            let got = sink.finish().unwrap();
            assert!(got == want, "{threads} threads: {} bytes, arrow's writer {}", got.len(), want.len());
        }
        // And an empty table is a file with no row groups, as arrow's.
        let empty = ParquetSink::new(Vec::new(), schema.clone(), props(), 2).unwrap().finish().unwrap();
        assert_eq!(empty, ArrowWriter::try_new(Vec::new(), schema, Some(props())).unwrap().into_inner().unwrap());
    }
}
