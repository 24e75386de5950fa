//! CSV as it comes: any encoding, a sniffed or declared dialect, preambles, footers and
//! comments, and bad rows that go to a policy (fail, skip, quarantine) instead of failing the
//! file. Streaming: chunks of whole records, each converted to one batch.

mod encoding;
mod fields;
mod infer;
mod scan;
mod sniff;
mod table;

use std::io::{BufRead, Cursor, Read};
use std::sync::{Arc, Mutex};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use crate::codec::classify_io;
use crate::error::{Error, Result};
use crate::plan::{Auto, CsvRead, Header, Ragged};
use crate::read::{apply_overrides, sample, Batches, BATCH_ROWS};
use crate::rejects::Rejects;
use scan::{Chunk, Item, Scanner, Syntax};
use table::Shape;

/// What the read settled on; reported back so `auto` is never a mystery.
#[derive(Debug, Clone, Serialize)]
pub struct Dialect {
    pub delimiter: String,
    pub quote: Option<String>,
    pub escape: Option<String>,
    pub header: bool,
    pub encoding: String,
    pub columns: usize,
}

fn ascii(field: &str, c: char) -> Result<u8> {
    u8::try_from(c).ok().filter(u8::is_ascii).ok_or_else(|| Error::plan(0, format!("read_csv.{field} must be one ASCII character, got {c:?}")))
}

/// A sampled record's fields.
type Row = Vec<Vec<u8>>;

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// Column names from a header row: empty ones become `column_N`, repeated ones get `_2`, `_3`.
fn names(header: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    header
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let base = if name.trim().is_empty() { format!("column_{}", i + 1) } else { name };
            let mut name = base.clone();
            let mut k = 2;
            while !seen.insert(name.clone()) {
                name = format!("{base}_{k}");
                k += 1;
            }
            name
        })
        .collect()
}

/// The most common field count (the wider one on a tie).
fn modal_width(rows: &[&Row]) -> usize {
    let mut counts = std::collections::BTreeMap::new();
    for r in rows {
        *counts.entry(r.len()).or_insert(0usize) += 1;
    }
    counts.into_iter().max_by_key(|&(w, n)| (n, w)).map_or(0, |(w, _)| w)
}

/// Types of `width` columns from sampled rows.
fn infer_types(rows: &[&Row], width: usize, shape: &Shape) -> Vec<DataType> {
    (0..width)
        .map(|c| {
            let values: Vec<String> = rows
                .iter()
                .filter_map(|r| r.get(c))
                .filter(|f| !shape.is_null(f))
                .filter_map(|f| std::str::from_utf8(f).ok())
                .map(|s| if shape.decimal_comma { s.replace(',', ".") } else { s.to_string() })
                .collect();
            infer::column_type(&values.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .collect()
}

/// `header: auto`: a first row is a header when its cells are present and distinct and it
/// does not fit the types the rows below it share (with no typed column: a header).
fn looks_like_header(first: &Row, types: &[DataType], shape: &Shape) -> bool {
    let cells: Vec<String> = first.iter().map(|f| text(f)).collect();
    let distinct = cells.iter().collect::<std::collections::HashSet<_>>().len() == cells.len();
    if !distinct || cells.iter().any(|c| shape.is_null(c.as_bytes())) {
        return false;
    }
    let typed: Vec<(usize, &DataType)> = types.iter().enumerate().filter(|(_, t)| **t != DataType::Utf8).collect();
    typed.is_empty() || typed.iter().any(|&(c, t)| cells.get(c).is_none_or(|v| !infer::fits(&shape.text(v, t), t)))
}

/// Bytes `text` (UTF-8) takes in the file's encoding, where that is a count: UTF-16 and the
/// single-byte encodings. Other multi-byte encodings (Shift_JIS, GBK…) report offsets in
/// the decoded text.
fn encoded_len(text: &[u8], encoding: &'static encoding_rs::Encoding) -> Option<u64> {
    let chars = || text.iter().filter(|&&b| (b as i8) >= -0x40).count() as u64;
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        Some(2 * (chars() + text.iter().filter(|&&b| b >= 0xF0).count() as u64))
    } else if encoding.is_single_byte() {
        Some(chars())
    } else {
        None
    }
}

/// Rewrite `chunk`'s item offsets (decoded text) as offsets in the file; `file_pos` is the
/// file offset of the chunk's first byte and moves past it.
fn to_file_offsets(chunk: &mut Chunk, encoding: &'static encoding_rs::Encoding, file_pos: &mut u64) {
    if encoded_len(b"", encoding).is_none() {
        return;
    }
    let mut prev = 0;
    for item in &mut chunk.items {
        let at = (item.offset - chunk.start) as usize;
        *file_pos += encoded_len(&chunk.raw[prev..at], encoding).unwrap_or(0);
        item.offset = *file_pos;
        prev = at;
    }
    *file_pos += encoded_len(&chunk.raw[prev..], encoding).unwrap_or(0);
}

/// What can be said of the options before any byte is read (`pravah validate`): a known
/// encoding, ASCII escape and comment characters, a quote that is not the delimiter, a decimal
/// separator that is `.` or `,` (and not the delimiter).
pub fn check(opts: &CsvRead) -> Result<()> {
    encoding::choose(&opts.encoding, b"").map_err(|e| Error::plan(0, format!("read_csv.{e}")))?;
    opts.escape.map(|c| ascii("escape", c)).transpose()?;
    opts.comment.map(|c| ascii("comment", c)).transpose()?;
    if let (Auto::Char(d), Auto::Char(q)) = (opts.delimiter, opts.quote) {
        if d == q {
            return Err(Error::plan(0, "read_csv: quote and delimiter must differ"));
        }
    }
    match (opts.decimal, opts.delimiter) {
        ('.', _) => Ok(()),
        (',', Auto::Char(b',')) => Err(Error::plan(0, "read_csv.decimal \",\" needs another delimiter (\";\" is usual)")),
        (',', _) => Ok(()),
        (other, _) => Err(Error::plan(0, format!("read_csv.decimal must be \".\" or \",\", got {other:?}"))),
    }
}

/// `used`: the columns later steps use (None: all); the others are not converted.
pub fn read(
    mut input: Box<dyn BufRead + Send>,
    opts: &CsvRead,
    uri: &str,
    rejects: Arc<Mutex<Rejects>>,
    used: Option<&std::collections::BTreeSet<String>>,
) -> Result<(SchemaRef, Batches, Dialect)> {
    check(opts)?;
    let head = input.fill_buf().map_err(|e| classify_io(uri, e))?;
    let chosen = encoding::choose(&opts.encoding, head).map_err(|e| Error::plan(0, format!("read_csv.{e}")))?;
    input.consume(chosen.bom);
    let utf8 = chosen.encoding == encoding_rs::UTF_8;
    let base = if utf8 { chosen.bom as u64 } else { 0 };
    let mut input = encoding::decoded(input, chosen);
    let (head, complete) = sample(&mut input, uri, opts.skip_rows + opts.infer_rows + opts.skip_footer + 2)?;

    let given = Syntax {
        delimiter: match opts.delimiter {
            Auto::Char(c) => c,
            Auto::Sniff => b',',
        },
        quote: match opts.quote {
            Auto::Char(c) => Some(c),
            Auto::Sniff => Some(b'"'),
        },
        escape: opts.escape.map(|c| ascii("escape", c)).transpose()?,
        comment: opts.comment.map(|c| ascii("comment", c)).transpose()?,
        trim: opts.trim,
    };
    let syntax = if opts.delimiter == Auto::Sniff || opts.quote == Auto::Sniff {
        sniff::sniff(
            &head,
            (opts.delimiter != Auto::Sniff).then_some(given.delimiter),
            (opts.quote != Auto::Sniff).then_some(given.quote),
            given,
            opts.skip_rows,
            complete,
        )
    } else {
        given
    };
    if syntax.quote == Some(syntax.delimiter) {
        return Err(Error::plan(0, "read_csv: quote and delimiter must differ"));
    }
    let decimal_comma = match opts.decimal {
        '.' => false,
        ',' if syntax.delimiter != b',' => true,
        ',' => return Err(Error::plan(0, "read_csv.decimal \",\" needs another delimiter (\";\" is usual)")),
        other => return Err(Error::plan(0, format!("read_csv.decimal must be \".\" or \",\", got {other:?}"))),
    };
    let mut shape = Shape {
        schema: Arc::new(Schema::empty()),
        ragged: opts.ragged,
        null_values: opts.null_values.iter().map(|s| s.as_bytes().to_vec()).collect(),
        decimal_comma,
        keep: Vec::new(),
    };

    // The sample's records: the header candidate and the rows inference looks at.
    let mut scanner = Scanner::new(&head[..], syntax, opts.skip_rows, if complete { opts.skip_footer } else { 0 }, base);
    let sampled = scanner.next_chunk(opts.infer_rows + 1).map_err(|e| classify_io(uri, e))?.unwrap_or(Chunk { start: 0, syntax, raw: Vec::new(), items: Vec::new() });
    let mut items: Vec<&Item> = sampled.items.iter().collect();
    if !complete && items.len() > opts.infer_rows {
        items.pop(); // may be cut short by the sample's end
    }
    let Some(first) = items.first().copied() else {
        return Err(Error::input(uri, "empty input: no rows (after skip_rows, comments and blank lines)"));
    };
    if let Some(why) = &first.bad {
        return Err(Error::input(uri, format!("the first row (line {}) cannot be read: {why}", first.line)));
    }
    let split: Vec<Row> = items.iter().filter(|i| i.bad.is_none()).map(|i| sampled.fields(i)).collect();
    let good: Vec<&Row> = split.iter().collect();
    let header = match opts.header {
        Header::Yes => true,
        Header::No => false,
        Header::Auto => {
            let rows = &good[1..];
            let width = if rows.is_empty() { good[0].len() } else { modal_width(rows) };
            let types = infer_types(rows, width, &shape);
            rows.is_empty() || looks_like_header(good[0], &types, &shape)
        }
    };
    let (names, rows) = if header {
        (names(good[0].iter().map(|f| text(f)).collect()), &good[1..])
    } else {
        let width = modal_width(&good);
        ((1..=width).map(|i| format!("column_{i}")).collect(), &good[..])
    };
    let width = names.len();
    let shaped: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| r.len() == width || (r.len() < width && opts.ragged != Ragged::Error) || opts.ragged == Ragged::Truncate)
        .collect();
    let types = infer_types(&shaped, width, &shape);
    let inferred = Schema::new(names.iter().zip(types).map(|(n, t)| Field::new(n, t, true)).collect::<Vec<_>>());
    shape.schema = Arc::new(apply_overrides(inferred, &opts.schema)?);
    let schema = shape.schema.clone();
    if let Some(used) = used {
        shape.keep = schema.fields().iter().map(|f| used.contains(f.name())).collect();
    }

    let dialect = Dialect {
        delimiter: (syntax.delimiter as char).to_string(),
        quote: syntax.quote.map(|q| (q as char).to_string()),
        escape: syntax.escape.map(|e| (e as char).to_string()),
        header,
        encoding: if chosen.bom > 0 && utf8 { "utf-8-sig".into() } else { chosen.name() },
        columns: width,
    };

    let body: Box<dyn Read + Send> = Box::new(Cursor::new(head).chain(input));
    let mut scanner = Scanner::new(body, syntax, opts.skip_rows, opts.skip_footer, base);
    let spares = scanner.spares();
    // The scan finds records in order on a thread of its own; the chunks are cut into fields
    // and converted on every core, and come back in order.
    let mut skip_header = header;
    let mut file_pos = chosen.bom as u64;
    let mut failed = false;
    let produce = move || -> Option<std::io::Result<Chunk>> {
        if failed {
            return None;
        }
        let mut chunk = match scanner.next_chunk(BATCH_ROWS).transpose()? {
            Ok(c) => c,
            Err(e) => {
                failed = true;
                return Some(Err(e));
            }
        };
        if !utf8 {
            to_file_offsets(&mut chunk, chosen.encoding, &mut file_pos);
        }
        if std::mem::take(&mut skip_header) {
            chunk.items.remove(0);
        }
        Some(Ok(chunk))
    };
    let shape = Arc::new(shape);
    let convert = move |chunk: std::io::Result<Chunk>| {
        chunk.map(|c| {
            let converted = table::convert(&shape, &c);
            spares.give((c.raw, c.items));
            converted
        })
    };
    let mut converted = crate::pool::ordered("pravah-csv", crate::pool::threads(), produce, convert)
        .map_err(|e| Error::Internal(format!("cannot start the CSV reader threads: {e}")))?;
    let uri = uri.to_string();
    let batches = std::iter::from_fn(move || -> Option<Result<arrow::record_batch::RecordBatch>> {
        loop {
            let result = match converted.next()? {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return Some(Err(classify_io(&uri, e))),
                Err(_) => return Some(Err(Error::Internal("a CSV reader thread panicked".into()))),
            };
            let result = result.and_then(|(batch, bad)| {
                rejects.lock().map_err(|_| Error::Internal("rejects lock poisoned".into()))?.take(bad, batch.num_rows() as u64)?;
                Ok(batch)
            });
            match result {
                Ok(b) if b.num_rows() == 0 => continue,
                other => return Some(other),
            }
        }
    });
    Ok((schema, Box::new(batches), dialect))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    /// Chunks are cut and converted side by side but come back in order: 200 k rows over
    /// four chunks, with quoted line breaks and stray quotes throughout, read back row for row,
    /// and the bad rows counted with their lines.
    #[test]
    fn chunks_converted_side_by_side_come_back_in_order() {
        let mut text = String::from("id,note\n");
        let mut line = 2u64;
        let (mut ids, mut notes, mut bad) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..200_000i64 {
            if i % 9_973 == 5 {
                text.push_str(&format!("{i},\"oops\n"));
                bad.push(line);
                line += 1;
            } else if i % 7 == 0 {
                text.push_str(&format!("{i},\"x\r\n{i}\"\n"));
                ids.push(i);
                notes.push(format!("x\r\n{i}"));
                line += 2;
            } else {
                text.push_str(&format!("{i},n{i}\n"));
                ids.push(i);
                notes.push(format!("n{i}"));
                line += 1;
            }
        }
        let opts: CsvRead = serde_json::from_value(serde_json::json!({"on_bad_rows": "skip"})).unwrap();
        let rejects = Arc::new(Mutex::new(Rejects::counting("t.csv")));
        let (_, batches, _) = read(Box::new(Cursor::new(text.into_bytes())), &opts, "t.csv", rejects.clone(), None).unwrap();
        let (mut got_ids, mut got_notes) = (Vec::new(), Vec::new());
        for b in batches {
            let b = b.unwrap();
            got_ids.extend(b.column(0).as_primitive::<Int64Type>().values().iter().copied());
            got_notes.extend(b.column(1).as_string::<i32>().iter().map(|s| s.unwrap().to_string()));
        }
        assert_eq!(got_ids, ids);
        assert_eq!(got_notes, notes);
        let rejects = rejects.lock().unwrap();
        assert_eq!(rejects.rejected as usize, bad.len());
        assert_eq!(rejects.kept.iter().map(|r| r.line).collect::<Vec<_>>(), bad[..rejects.kept.len()]);
    }
}
