//! CSV as it comes: any encoding, a sniffed or declared dialect, preambles, footers and
//! comments, and bad rows that go to a policy (fail, skip, quarantine) instead of failing the
//! file. Streaming: chunks of whole records, each converted to one batch.

mod encoding;
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

fn text(chunk: &Chunk, field: usize) -> String {
    String::from_utf8_lossy(chunk.field(field)).into_owned()
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
fn modal_width(items: &[&Item]) -> usize {
    let mut counts = std::collections::BTreeMap::new();
    for it in items {
        *counts.entry(it.fields.len()).or_insert(0usize) += 1;
    }
    counts.into_iter().max_by_key(|&(w, n)| (n, w)).map_or(0, |(w, _)| w)
}

/// Types of `width` columns from sampled rows.
fn infer_types(chunk: &Chunk, rows: &[&Item], width: usize, shape: &Shape) -> Vec<DataType> {
    (0..width)
        .map(|c| {
            let values: Vec<String> = rows
                .iter()
                .filter(|it| c < it.fields.len())
                .map(|it| chunk.field(it.fields.start + c))
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
fn looks_like_header(chunk: &Chunk, first: &Item, types: &[DataType], shape: &Shape) -> bool {
    let cells: Vec<String> = first.fields.clone().map(|f| text(chunk, f)).collect();
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

pub fn read(mut input: Box<dyn BufRead + Send>, opts: &CsvRead, uri: &str, rejects: Arc<Mutex<Rejects>>) -> Result<(SchemaRef, Batches, Dialect)> {
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
    };

    // The sample's records: the header candidate and the rows inference looks at.
    let mut scanner = Scanner::new(&head[..], syntax, opts.skip_rows, if complete { opts.skip_footer } else { 0 }, base);
    let sampled = scanner.next_chunk(opts.infer_rows + 1).map_err(|e| classify_io(uri, e))?.unwrap_or_default();
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
    let good: Vec<&Item> = items.iter().copied().filter(|i| i.bad.is_none()).collect();
    let header = match opts.header {
        Header::Yes => true,
        Header::No => false,
        Header::Auto => {
            let rows = &good[1..];
            let width = if rows.is_empty() { first.fields.len() } else { modal_width(rows) };
            let types = infer_types(&sampled, rows, width, &shape);
            rows.is_empty() || looks_like_header(&sampled, first, &types, &shape)
        }
    };
    let (names, rows) = if header {
        (names(first.fields.clone().map(|f| text(&sampled, f)).collect()), &good[1..])
    } else {
        let width = modal_width(&good);
        ((1..=width).map(|i| format!("column_{i}")).collect(), &good[..])
    };
    let width = names.len();
    let shaped: Vec<&Item> = rows
        .iter()
        .copied()
        .filter(|it| it.fields.len() == width || (it.fields.len() < width && opts.ragged != Ragged::Error) || opts.ragged == Ragged::Truncate)
        .collect();
    let types = infer_types(&sampled, &shaped, width, &shape);
    let inferred = Schema::new(names.iter().zip(types).map(|(n, t)| Field::new(n, t, true)).collect::<Vec<_>>());
    shape.schema = Arc::new(apply_overrides(inferred, &opts.schema)?);
    let schema = shape.schema.clone();

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
    // Scanning runs on a thread of its own, one chunk ahead of the conversion (the
    // caller's thread): the read then uses a core and a half instead of one. Dropping the
    // batches stops it at its next send.
    let (tx, chunks) = std::sync::mpsc::sync_channel::<std::io::Result<Chunk>>(0);
    let scanning = std::thread::Builder::new()
        .name("pravah-csv-scan".into())
        .spawn(move || loop {
            match scanner.next_chunk(BATCH_ROWS).transpose() {
                Some(chunk) => {
                    let failed = chunk.is_err();
                    if tx.send(chunk).is_err() || failed {
                        return;
                    }
                }
                None => return,
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the CSV scanner thread: {e}")))?;
    let mut scanning = Some(scanning);
    let mut skip_header = header;
    let uri = uri.to_string();
    let mut file_pos = chosen.bom as u64;
    let batches = std::iter::from_fn(move || -> Option<Result<arrow::record_batch::RecordBatch>> {
        loop {
            let mut chunk = match chunks.recv() {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return Some(Err(classify_io(&uri, e))),
                // The scanner is done: at the end of the input, or it panicked (never a silent cut).
                Err(_) => {
                    let panicked = scanning.take().is_some_and(|h| h.join().is_err());
                    return panicked.then(|| Err(Error::Internal("the CSV scanner thread panicked".into())));
                }
            };
            if !utf8 {
                to_file_offsets(&mut chunk, chosen.encoding, &mut file_pos);
            }
            if std::mem::take(&mut skip_header) {
                chunk.items.remove(0);
            }
            let result = table::convert(&shape, &chunk).and_then(|(batch, bad)| {
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
