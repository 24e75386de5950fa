//! The quick way through JSON lines whose columns are all scalars (integers, floats, text,
//! booleans, nulls): one pass over each line checks it as strictly as serde does and appends
//! its values straight to column buffers — no tape, no second check.
//!
//! It takes only what it is sure of. A chunk with anything else — a line that is not one JSON
//! object, a nested value where a column wants a scalar, a value arrow would coerce (a number
//! in quotes, a float for an integer column), a key written twice, an escaped key, a `\u`
//! surrogate, text that is not UTF-8 — is declined whole (`None`) and goes the general way,
//! which finds and explains its bad lines. So a chunk taken here is a chunk the general way
//! decodes to the same batch (held by the test below against arrow's decoder).

use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, NullArray, StringArray};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::Line;

/// Nested values deeper than this (in keys no column reads) are declined.
const DEPTH: usize = 64;

enum Values {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text { offsets: Vec<i32>, bytes: Vec<u8> },
    Bool(Vec<bool>),
    Null,
}

struct Column {
    name: Vec<u8>,
    /// The name's first 8 bytes as a number: most keys are told apart without a call to memcmp.
    head: u64,
    nullable: bool,
    values: Values,
    valid: Vec<bool>,
    nulls: usize,
    /// The row (counted from 1) that last set this column: a key seen twice in a row is declined.
    set_in: usize,
}

impl Column {
    fn null(&mut self) -> Option<()> {
        if !self.nullable {
            return None;
        }
        match &mut self.values {
            Values::Int(v) => v.push(0),
            Values::Float(v) => v.push(0.0),
            Values::Text { offsets, bytes } => offsets.push(i32::try_from(bytes.len()).ok()?),
            Values::Bool(v) => v.push(false),
            Values::Null => {}
        }
        self.valid.push(false);
        self.nulls += 1;
        Some(())
    }

    fn array(self, rows: usize) -> Option<ArrayRef> {
        let nulls = (self.nulls > 0).then(|| NullBuffer::from(self.valid));
        Some(match self.values {
            Values::Int(v) => Arc::new(Int64Array::new(ScalarBuffer::from(v), nulls)),
            Values::Float(v) => Arc::new(Float64Array::new(ScalarBuffer::from(v), nulls)),
            Values::Text { offsets, bytes } => {
                Arc::new(StringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(offsets)), Buffer::from_vec(bytes), nulls).ok()?)
            }
            Values::Bool(v) => Arc::new(BooleanArray::new(v.into(), nulls)),
            Values::Null => Arc::new(NullArray::new(rows)),
        })
    }
}

/// The decoder for one schema; `None` from [`Flat::new`] when a column is not a plain scalar.
pub(super) struct Flat {
    schema: SchemaRef,
}

impl Flat {
    pub(super) fn new(schema: &SchemaRef) -> Option<Flat> {
        let plain = schema.fields().iter().all(|f| matches!(f.data_type(), DataType::Int64 | DataType::Float64 | DataType::Utf8 | DataType::Boolean | DataType::Null));
        plain.then(|| Flat { schema: schema.clone() })
    }

    fn columns(&self, rows: usize, text_bytes: usize) -> Vec<Column> {
        let text = self.schema.fields().iter().filter(|f| *f.data_type() == DataType::Utf8).count().max(1);
        let columns = self.schema.fields().iter().map(|f| {
            let values = match f.data_type() {
                DataType::Int64 => Values::Int(Vec::with_capacity(rows)),
                DataType::Float64 => Values::Float(Vec::with_capacity(rows)),
                DataType::Utf8 => {
                    let mut offsets = Vec::with_capacity(rows + 1);
                    offsets.push(0);
                    Values::Text { offsets, bytes: Vec::with_capacity(text_bytes / text) }
                }
                DataType::Boolean => Values::Bool(Vec::with_capacity(rows)),
                _ => Values::Null,
            };
            Column { name: f.name().as_bytes().to_vec(), head: head(f.name().as_bytes()), nullable: f.is_nullable(), values, valid: Vec::with_capacity(rows), nulls: 0, set_in: 0 }
        });
        columns.collect()
    }

    /// The batch of `lines` (all of them), or `None` when any line is not one this decoder takes.
    pub(super) fn decode(&self, buf: &[u8], lines: &[Line]) -> Option<RecordBatch> {
        let mut columns = self.columns(lines.len(), buf.len());
        let mut guess = 0;
        for (row, line) in lines.iter().enumerate() {
            let mut p = Parser { s: &buf[line.text.clone()], i: 0 };
            p.object(&mut columns, row + 1, &mut guess)?;
            for c in columns.iter_mut().filter(|c| c.set_in != row + 1) {
                c.null()?;
            }
        }
        let arrays = columns.into_iter().map(|c| c.array(lines.len())).collect::<Option<Vec<_>>>()?;
        RecordBatch::try_new(self.schema.clone(), arrays).ok()
    }
}

/// Bytes that end a run of plain string content: a quote, a backslash, a control character.
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.s.get(self.i)?;
        self.i += 1;
        Some(b)
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        // The first byte was read by the caller.
        let rest = &word[1..];
        (self.s.get(self.i..self.i + rest.len())? == rest).then(|| self.i += rest.len())
    }

    /// One line: a single object, nothing after it but whitespace.
    fn object(&mut self, columns: &mut [Column], row: usize, guess: &mut usize) -> Option<()> {
        self.ws();
        self.expect(b'{')?;
        self.items(b'}', |p| {
            p.expect(b'"')?;
            let key = p.plain_key()?;
            p.colon()?;
            match find(columns, key, guess) {
                Some(c) => {
                    let column = &mut columns[c];
                    if column.set_in == row {
                        return None;
                    }
                    column.set_in = row;
                    p.value_into(column)
                }
                None => {
                    std::str::from_utf8(key).ok()?;
                    p.skip(0)
                }
            }
        })?;
        self.ws();
        (self.i == self.s.len()).then_some(())
    }

    /// The items of an array or object up to `close` (the opening bracket already read), each
    /// read by `item`, separated by commas, whitespace allowed around them.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.ws();
        if self.s.get(self.i) == Some(&close) {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            self.ws();
            match self.next()? {
                b',' => self.ws(),
                b if b == close => return Some(()),
                _ => return None,
            }
        }
    }

    /// The colon after a key, whitespace allowed around it.
    fn colon(&mut self) -> Option<()> {
        self.ws();
        self.expect(b':')?;
        self.ws();
        Some(())
    }

    /// A key with no escapes (the opening quote already read).
    fn plain_key(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        while !STOP[*self.s.get(self.i)? as usize] {
            self.i += 1;
        }
        let key: &'a [u8] = &self.s[start..self.i];
        self.expect(b'"')?;
        Some(key)
    }

    fn value_into(&mut self, column: &mut Column) -> Option<()> {
        match (self.next()?, &mut column.values) {
            (b'n', _) => return self.literal(b"null").and_then(|()| column.null()),
            (b't', Values::Bool(v)) => self.literal(b"true").map(|()| v.push(true))?,
            (b'f', Values::Bool(v)) => self.literal(b"false").map(|()| v.push(false))?,
            (b'"', Values::Text { offsets, bytes }) => {
                self.string(Some(bytes))?;
                offsets.push(i32::try_from(bytes.len()).ok()?);
            }
            (b @ (b'-' | b'0'..=b'9'), Values::Int(v)) => {
                let (text, whole) = self.number(b)?;
                v.push(whole.then(|| int(text)).flatten()?);
            }
            (b @ (b'-' | b'0'..=b'9'), Values::Float(v)) => {
                let (text, _) = self.number(b)?;
                let x: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
                v.push(x.is_finite().then_some(x)?);
            }
            _ => return None,
        }
        column.valid.push(true);
        Some(())
    }

    /// A string's content (the opening quote already read), unescaped into `out` when given.
    fn string(&mut self, mut out: Option<&mut Vec<u8>>) -> Option<()> {
        loop {
            let start = self.i;
            while !STOP[*self.s.get(self.i)? as usize] {
                self.i += 1;
            }
            match out.as_deref_mut() {
                Some(out) => out.extend_from_slice(&self.s[start..self.i]),
                // Text kept is checked by StringArray; text passed over is checked here.
                None => drop(std::str::from_utf8(&self.s[start..self.i]).ok()?),
            }
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => {
                    let c = match self.next()? {
                        b @ (b'"' | b'\\' | b'/') => b as char,
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            let code = u32::from_str_radix(hex, 16).ok().filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))?;
                            self.i += 4;
                            char::from_u32(code)? // a surrogate is not a char: declined
                        }
                        _ => return None,
                    };
                    if let Some(out) = out.as_deref_mut() {
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                }
                _ => return None, // a control character
            }
        }
    }

    /// A number by JSON's grammar (its first byte already read): its text and whether it is
    /// written as a whole number (no fraction, no exponent).
    fn number(&mut self, first: u8) -> Option<(&'a [u8], bool)> {
        let start = self.i - 1;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i > from
        };
        let lead = if first == b'-' { self.next()? } else { first };
        match lead {
            b'0' => {}
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        let mut whole = true;
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            whole = false;
            digits(self).then_some(())?;
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            whole = false;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            digits(self).then_some(())?;
        }
        Some((&self.s[start..self.i], whole))
    }

    /// Check and pass over any value (its first byte not yet read).
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth > DEPTH {
            return None;
        }
        match self.next()? {
            b'"' => self.string(None),
            b @ (b'-' | b'0'..=b'9') => self.number(b).map(|_| ()),
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'[' => self.items(b']', |p| p.skip(depth + 1)),
            b'{' => self.items(b'}', |p| {
                p.expect(b'"')?;
                p.string(None)?;
                p.colon()?;
                p.skip(depth + 1)
            }),
            _ => None,
        }
    }
}

/// The column named `key`: the one after the last match first (keys usually come in the same
/// order on every line), then all of them.
fn find(columns: &[Column], key: &[u8], guess: &mut usize) -> Option<usize> {
    let h = head(key);
    let same = |c: &Column| c.head == h && c.name.len() == key.len() && c.name.iter().zip(key).skip(8).all(|(a, b)| a == b);
    let at = if columns.get(*guess).is_some_and(same) { *guess } else { columns.iter().position(same)? };
    *guess = at + 1;
    Some(at)
}

fn head(name: &[u8]) -> u64 {
    name.iter().take(8).enumerate().fold(0, |h, (i, &b)| h | u64::from(b) << (8 * i))
}

/// A whole number in i64, or `None` (out of range: declined, arrow would go through f64).
fn int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text),
    };
    let mut n: i64 = 0;
    for &d in digits {
        let d = i64::from(d - b'0');
        n = n.checked_mul(10)?;
        n = if negative { n.checked_sub(d)? } else { n.checked_add(d)? };
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};

    fn lines(text: &str) -> Vec<Line> {
        let mut at = 0;
        text.split('\n')
            .enumerate()
            .map(|(n, l)| {
                let line = Line { number: n as u64 + 1, offset: at as u64, text: at..at + l.len() };
                at += l.len() + 1;
                line
            })
            .collect()
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("n", DataType::Null, true),
        ]))
    }

    /// Arrow's own decoder on the same lines: the general way's answer for good lines.
    fn arrow(schema: &SchemaRef, text: &str) -> Option<RecordBatch> {
        let mut d = arrow::json::ReaderBuilder::new(schema.clone()).with_batch_size(1 << 20).build_decoder().ok()?;
        for l in text.split('\n') {
            serde_json::from_str::<serde::de::IgnoredAny>(l).ok()?;
            d.decode(l.as_bytes()).ok()?;
        }
        d.flush().ok()?
    }

    use crate::draw::Draw;

    fn line(r: &mut Draw) -> String {
        // (key, values arrow and serde both take, values declined here or refused there)
        let values: &[(&str, &[&str], &[&str])] = &[
            ("i", &["0", "-0", "17", "-42", "9223372036854775807", "-9223372036854775808", "null"], &["9223372036854775808", "1.0", "1e3", "01", "-", "\"5\"", "true"]),
            ("f", &["0", "1.5", "-2.25e-3", "1E5", "3", "0.1", "-0.0", "null"], &["1e400", ".5", "1.", "1e", "\"2.5\"", "[1]"]),
            ("s", &["\"\"", "\"plain\"", "\"é ü\"", "\"a\\\"b\"", "\"tab\\tnl\\n\\/\"", "\"\\u00e9\\u0041\"", "null"], &["\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\x\"", "\"ctl\u{1}\"", "5", "{}"]),
            ("b", &["true", "false", "null"], &["tru", "1", "\"true\""]),
            ("n", &["null"], &["nul", "0"]),
            ("extra", &["1", "\"x\"", "[1, {\"a\": [true, null]}]", "{\"k\": \"v\"}", "[]", "null"], &["[1,,2]", "{\"a\" 1}", "[", "nan"]),
        ];
        if r.below(40) == 0 {
            return r.pick(&["[]", "1", "", "{", "{}{}", "{} x", "{\"i\": 1,}", " {\"i\" : 1 } ", "{\"i\":1,\"i\":2}", "{\"a\\u0062\": 1}"]).to_string();
        }
        let mut parts = Vec::new();
        for (key, good, bad) in values {
            if r.below(4) > 0 {
                let v = if r.below(12) == 0 { r.pick(bad) } else { r.pick(good) };
                parts.push(format!("\"{key}\"{}{v}", r.pick(&[":", ": ", " :\t"])));
            }
        }
        if r.below(5) == 0 {
            parts.reverse();
        }
        format!("{{{}}}", parts.join(r.pick(&[",", ", ", " ,\t"])))
    }

    #[test]
    fn a_chunk_taken_decodes_as_arrow_does_and_anything_unsure_is_declined() {
        let schema = schema();
        let flat = Flat::new(&schema).expect("all scalar");
        let mut r = Draw(0x9E3779B97F4A7C15);
        let (mut taken, mut declined) = (0, 0);
        for _ in 0..4000 {
            let text: Vec<String> = (0..1 + r.below(4)).map(|_| line(&mut r)).collect();
            let text = text.join("\n");
            let ours = flat.decode(text.as_bytes(), &lines(&text));
            match (ours, arrow(&schema, &text)) {
                (Some(ours), Some(theirs)) => {
                    assert_eq!(ours, theirs, "{text}");
                    taken += 1;
                }
                (Some(ours), None) => panic!("taken here, refused by serde or arrow: {text}\n{ours:?}"),
                (None, _) => declined += 1,
            }
        }
        // Both ways are exercised.
        assert!(taken > 1000 && declined > 1000, "taken {taken}, declined {declined}");
    }

    #[test]
    fn text_that_is_not_utf8_is_declined_wherever_it_is() {
        let flat = Flat::new(&schema()).unwrap();
        for bad in [&b"{\"s\": \"a\xff\"}"[..], b"{\"x\": \"\xc3\"}", b"{\"\xe9\": 1}", b"{\"x\": [\"\xff\"]}", b"{\"i\": 1\xff}"] {
            let line = Line { number: 1, offset: 0, text: 0..bad.len() };
            assert!(flat.decode(bad, &[line]).is_none(), "{}", String::from_utf8_lossy(bad));
        }
        let good = "{\"s\": \"\u{e9}\", \"x\": \"\u{fc}\"}".as_bytes();
        assert!(flat.decode(good, &[Line { number: 1, offset: 0, text: 0..good.len() }]).is_some());
    }

    #[test]
    fn a_nested_column_is_not_for_this_decoder() {
        let nested = Arc::new(Schema::new(vec![Field::new("l", DataType::List(Arc::new(Field::new("item", DataType::Int64, true))), true)]));
        assert!(Flat::new(&nested).is_none());
    }

    #[test]
    fn values_come_out_as_written() {
        let schema = schema();
        let text = "{\"i\": -7, \"f\": 2.5e1, \"s\": \"a\\\"\\u00e9\", \"b\": false, \"n\": null, \"x\": [1, {\"y\": null}]}\n{\"s\": null}";
        let batch = Flat::new(&schema).unwrap().decode(text.as_bytes(), &lines(text)).unwrap();
        let col = |i: usize| batch.column(i).clone();
        assert_eq!(col(0).as_any().downcast_ref::<Int64Array>().unwrap(), &Int64Array::from(vec![Some(-7), None]));
        assert_eq!(col(1).as_any().downcast_ref::<Float64Array>().unwrap(), &Float64Array::from(vec![Some(25.0), None]));
        assert_eq!(col(2).as_any().downcast_ref::<StringArray>().unwrap(), &StringArray::from(vec![Some("a\"é"), None]));
        assert_eq!(col(3).as_any().downcast_ref::<BooleanArray>().unwrap(), &BooleanArray::from(vec![Some(false), None]));
        assert_eq!(batch.num_rows(), 2);
    }
}
