//! Entry points for the fuzz targets (`engine/fuzz`) and for replaying their corpora in
//! `cargo test` (tests/fuzz_corpus.rs): bytes in, `Ok`/`Err` out, never a panic, never an
//! unbounded allocation.

use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::codec::decoding;
use crate::error::Result;
use crate::expr::Expr;
use crate::plan::CsvRead;
use crate::rejects::Rejects;

/// Decompressed output is capped here: a decompression bomb is read this far, no further.
const MAX_INFLATE: u64 = 64 << 20;

/// Read `data` as CSV with default options (inference, header) to the end; returns the rows.
pub fn csv(data: &[u8]) -> Result<usize> {
    let opts: CsvRead = serde_json::from_str("{}").expect("defaults");
    let rejects = Arc::new(Mutex::new(Rejects::counting("fuzz.csv")));
    let (_, batches, _) = crate::csv::read(Box::new(Cursor::new(data.to_vec())), &opts, "fuzz.csv", rejects, None)?;
    let mut rows = 0;
    for b in batches {
        rows += b?.num_rows();
    }
    Ok(rows)
}

/// Read `data` as CSV through the bad-row path: the first byte picks the options (sniffed
/// dialect, escape, trim, comment, ragged), the rest is the file. Checks that every item
/// starts on its own physical line: good rows plus bad rows never exceed the line count.
pub fn csv_bad_rows(data: &[u8]) -> Result<usize> {
    let Some((&knobs, body)) = data.split_first() else { return Ok(0) };
    let ragged = ["error", "pad", "truncate"][(knobs as usize >> 5) % 3];
    let opts = serde_json::json!({
        "delimiter": if knobs & 1 == 1 { "auto" } else { "," },
        "quote": if knobs & 2 == 2 { "auto" } else { "\"" },
        "escape": if knobs & 4 == 4 { Some("\\") } else { None },
        "trim": knobs & 8 == 8,
        "comment": if knobs & 16 == 16 { Some("#") } else { None },
        "ragged": ragged,
        "header": if knobs & 128 == 128 { serde_json::json!("auto") } else { serde_json::json!(true) },
        "on_bad_rows": "skip",
    });
    let opts: CsvRead = serde_json::from_value(opts).expect("valid options");
    let rejects = Arc::new(Mutex::new(Rejects::counting("fuzz.csv")));
    let (_, batches, _) = crate::csv::read(Box::new(Cursor::new(body.to_vec())), &opts, "fuzz.csv", rejects.clone(), None)?;
    let mut rows = 0;
    for b in batches {
        rows += b?.num_rows();
    }
    let rejected = rejects.lock().expect("rejects").rejected as usize;
    let lines = body.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1;
    assert!(rows + rejected <= lines, "{rows} rows + {rejected} rejected from {lines} lines");
    Ok(rows)
}

/// Parse `text` as an expression, compile it against a fixed schema and evaluate it.
pub fn expression(text: &str) -> Result<usize> {
    crate::expr::check(text)?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("qty", DataType::Int64, true),
        Field::new("price", DataType::Float64, true),
        Field::new("region", DataType::Utf8, true),
    ]));
    let expr = Expr::compile(text, &schema)?;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![Some(1), None, Some(-7), Some(i64::MAX)])),
        Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None, Some(-0.0)])),
        Arc::new(StringArray::from(vec![Some("EU"), Some(""), None, Some("ünï")])),
    ];
    let batch = RecordBatch::try_new(schema, cols)?;
    Ok(expr.evaluate(&batch)?.len())
}

/// Sniff and decompress `data` (gzip, zstd or plain), reading at most `MAX_INFLATE` bytes.
pub fn decompress(data: &[u8]) -> Result<u64> {
    let (_, reader) = decoding(Cursor::new(data.to_vec()), "fuzz.bin")?;
    let mut sink = std::io::sink();
    std::io::copy(&mut reader.take(MAX_INFLATE), &mut sink).map_err(|e| crate::codec::classify_io("fuzz.bin", e))
}
