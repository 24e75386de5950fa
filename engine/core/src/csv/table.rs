//! Chunks of records → Arrow batches. Numbers, dates and instants are parsed straight from
//! the field bytes, text columns gathered into one buffer; a value its type cannot take makes
//! its row bad (the row is taken out of the batch whole, so the good rows around it are
//! exactly what they would be without it).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, NullBufferBuilder, PrimitiveBuilder, StringArray};
use arrow::buffer::OffsetBuffer;
use arrow::compute::kernels::cast_utils::{string_to_datetime, Parser};
use arrow::compute::{cast_with_options, filter, CastOptions};
use arrow::datatypes::*;
use chrono::Utc;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::fields::Fields;
use super::scan::{Chunk, Item};
use crate::error::{Error, Result};
use crate::plan::Ragged;
use crate::rejects::Rejected;
use crate::types::{is_float, type_name};

/// How text fields become the table's columns.
pub struct Shape {
    pub schema: SchemaRef,
    pub ragged: Ragged,
    pub null_values: Vec<Vec<u8>>,
    pub decimal_comma: bool,
    /// Columns to convert (empty: all); the others come out null, their values unread.
    pub keep: Vec<bool>,
}

impl Shape {
    fn keeps(&self, column: usize) -> bool {
        self.keep.get(column).copied().unwrap_or(true)
    }

    pub fn is_null(&self, field: &[u8]) -> bool {
        // The default list is just "": a length test, not a comparison per field.
        match self.null_values.as_slice() {
            [only] if only.is_empty() => field.is_empty(),
            all => all.iter().any(|n| n.as_slice() == field),
        }
    }

    /// A field as the cast to `t` wants it (a decimal comma becomes a point for floats).
    pub fn text<'a>(&self, field: &'a str, t: &DataType) -> std::borrow::Cow<'a, str> {
        if self.decimal_comma && is_float(t) && field.contains(',') {
            field.replace(',', ".").into()
        } else {
            field.into()
        }
    }
}

fn reject(chunk: &Chunk, item: &Item, field: Option<usize>, reason: String) -> Rejected {
    Rejected { line: item.line, offset: item.offset, field: field.map(|f| f as u64 + 1), raw: chunk.raw[item.raw.clone()].to_vec(), reason }
}

/// The batch of `chunk`'s good rows, and its bad ones. Each record's fields are cut here,
/// then pushed into the column builders in order (a row's fields are adjacent).
pub fn convert(shape: &Shape, chunk: &Chunk) -> Result<(RecordBatch, Vec<Rejected>)> {
    let width = shape.schema.fields().len();
    let mut rejects = Vec::new();
    // The chunk checked as UTF-8 once when it is all UTF-8; otherwise each record's fields are
    // checked on their own. Either way the builders then take fields as bytes.
    let utf8 = std::str::from_utf8(&chunk.raw).is_ok();
    let mut good: Vec<&Item> = Vec::with_capacity(chunk.items.len());
    // Per good row: the first column whose value its type cannot take. Empty while no row has
    // one (the usual case: no memory per row for it).
    let mut violation: Vec<Option<(usize, String)>> = Vec::new();
    // A builder per column some step uses; the others are not read at all (null columns).
    let mut builders: Vec<(usize, Box<dyn Builder>)> = shape
        .schema
        .fields()
        .iter()
        .enumerate()
        .filter(|&(c, _)| shape.keeps(c))
        .map(|(c, f)| (c, builder(f.data_type(), chunk.items.len(), shape)))
        .collect();
    let mut fields = Fields::default();
    let raw = &chunk.raw[..];
    for item in &chunk.items {
        if let Some(why) = &item.bad {
            rejects.push(reject(chunk, item, None, why.clone()));
            continue;
        }
        fields.cut(raw, item, chunk.syntax);
        let n = fields.len();
        let fits = match shape.ragged {
            _ if n == width => true,
            Ragged::Error => false,
            Ragged::Pad => n < width,
            Ragged::Truncate => true,
        };
        if !fits {
            rejects.push(reject(chunk, item, None, format!("expected {width} fields, found {n}")));
            continue;
        }
        if !utf8 {
            if let Some((f, e)) = (0..n).find_map(|f| std::str::from_utf8(fields.bytes(raw, f)).err().map(|e| (f, e))) {
                rejects.push(reject(chunk, item, Some(f), format!("field {} is not valid UTF-8 ({e}); set `encoding` if the file is not UTF-8", f + 1)));
                continue;
            }
        }
        let present = n.min(width);
        let mut first_bad = None;
        for (c, b) in builders.iter_mut() {
            let field = (*c < present).then(|| fields.bytes(raw, *c)).filter(|f| !shape.is_null(f));
            if let Err(value) = b.push(field) {
                first_bad.get_or_insert((*c, value));
            }
        }
        if first_bad.is_some() {
            violation.resize(good.len(), None);
            violation.push(first_bad);
        }
        good.push(item);
    }
    if !violation.is_empty() {
        violation.resize(good.len(), None);
    }
    let mut columns: Vec<Option<ArrayRef>> = vec![None; width];
    for (c, b) in builders {
        let (column, refused) = b.finish()?;
        if !refused.is_empty() && violation.is_empty() {
            violation.resize(good.len(), None);
        }
        for (r, value) in refused {
            match &violation[r] {
                Some((first, _)) if *first < c => {}
                _ => violation[r] = Some((c, value)),
            }
        }
        columns[c] = Some(column);
    }
    let columns: Vec<ArrayRef> = columns
        .into_iter()
        .zip(shape.schema.fields())
        .map(|(column, f)| column.unwrap_or_else(|| arrow::array::new_null_array(f.data_type(), good.len())))
        .collect();
    let mut batch = if width == 0 {
        RecordBatch::try_new_with_options(shape.schema.clone(), columns, &RecordBatchOptions::new().with_row_count(Some(good.len())))?
    } else {
        RecordBatch::try_new(shape.schema.clone(), columns)?
    };
    if violation.iter().any(Option::is_some) {
        for (item, v) in good.iter().zip(&violation) {
            if let Some((c, value)) = v {
                let f = &shape.schema.fields()[*c];
                rejects.push(reject(
                    chunk,
                    item,
                    Some(*c),
                    format!("value {value:?} is not a valid {} in column {:?} (field {})", type_name(f.data_type()), f.name(), c + 1),
                ));
            }
        }
        rejects.sort_by_key(|r| r.offset);
        let keep: BooleanArray = violation.iter().map(|v| Some(v.is_none())).collect();
        let cols = batch.columns().iter().map(|a| filter(a, &keep)).collect::<Result<Vec<_>, _>>()?;
        batch = RecordBatch::try_new_with_options(
            shape.schema.clone(),
            cols,
            &RecordBatchOptions::new().with_row_count(Some(keep.true_count())),
        )?;
    }
    Ok((batch, rejects))
}

/// Builds one column, a field at a time (rows in order).
trait Builder {
    /// Row `r`'s field, UTF-8 already checked (None: null). Err: the text its type could not take.
    fn push(&mut self, field: Option<&[u8]>) -> std::result::Result<(), String>;
    /// The column, and for a column cast as a whole, the rows (and texts) the cast refused.
    fn finish(self: Box<Self>) -> Result<(ArrayRef, Vec<(usize, String)>)>;
}

struct Text {
    offsets: Vec<i32>,
    values: Vec<u8>,
    nulls: NullBufferBuilder,
}

impl Text {
    fn new(rows: usize) -> Text {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Text { offsets, values: Vec::with_capacity(rows * 8), nulls: NullBufferBuilder::new(rows) }
    }

    fn array(mut self) -> Result<StringArray> {
        // Offsets only grow: when the total fits in an i32, none of them wrapped.
        i32::try_from(self.values.len()).map_err(|_| Error::Limit("a CSV chunk holds more than 2 GiB of one column's text".into()))?;
        Ok(StringArray::try_new(OffsetBuffer::new(self.offsets.into()), self.values.into(), self.nulls.finish())?)
    }
}

impl Builder for Text {
    fn push(&mut self, field: Option<&[u8]>) -> std::result::Result<(), String> {
        match field {
            Some(s) => {
                self.values.extend_from_slice(s);
                self.nulls.append_non_null();
            }
            None => self.nulls.append_null(),
        }
        self.offsets.push(self.values.len() as i32);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(ArrayRef, Vec<(usize, String)>)> {
        Ok((Arc::new(self.array()?), Vec::new()))
    }
}

/// A column of a type arrow's cast knows but no parser below does: text, cast at the end.
struct Cast {
    text: Text,
    to: DataType,
}

impl Builder for Cast {
    fn push(&mut self, field: Option<&[u8]>) -> std::result::Result<(), String> {
        self.text.push(field)
    }

    fn finish(self: Box<Self>) -> Result<(ArrayRef, Vec<(usize, String)>)> {
        let Cast { text, to } = *self;
        let text = text.array()?;
        let typed = cast_text(&text, &to)?;
        let mut refused = Vec::new();
        if typed.null_count() != text.null_count() {
            refused = (0..text.len()).filter(|&r| text.is_valid(r) && typed.is_null(r)).map(|r| (r, text.value(r).to_string())).collect();
        }
        Ok((typed, refused))
    }
}

/// A column parsed field by field into `T` (a decimal comma made a point first for floats).
struct Parsed<T: ArrowPrimitiveType, F: Fn(&[u8]) -> Option<T::Native>> {
    out: PrimitiveBuilder<T>,
    parse: F,
    decimal_comma: bool,
    /// The column's type: `T`'s, with the zone of an instant.
    data_type: DataType,
}

impl<T: ArrowPrimitiveType, F: Fn(&[u8]) -> Option<T::Native>> Builder for Parsed<T, F> {
    fn push(&mut self, field: Option<&[u8]>) -> std::result::Result<(), String> {
        let Some(s) = field else {
            self.out.append_null();
            return Ok(());
        };
        let s: std::borrow::Cow<[u8]> = if self.decimal_comma && s.contains(&b',') {
            s.iter().map(|&b| if b == b',' { b'.' } else { b }).collect::<Vec<u8>>().into()
        } else {
            s.into()
        };
        match (self.parse)(&s) {
            Some(v) => {
                self.out.append_value(v);
                Ok(())
            }
            None => {
                self.out.append_null();
                Err(String::from_utf8_lossy(&s).into_owned())
            }
        }
    }

    fn finish(mut self: Box<Self>) -> Result<(ArrayRef, Vec<(usize, String)>)> {
        Ok((Arc::new(self.out.finish().with_data_type(self.data_type.clone())), Vec::new()))
    }
}

fn parsed<T: ArrowPrimitiveType + 'static>(rows: usize, parse: impl Fn(&[u8]) -> Option<T::Native> + 'static, decimal_comma: bool) -> Box<dyn Builder> {
    Box::new(Parsed { out: PrimitiveBuilder::<T>::with_capacity(rows), parse, decimal_comma, data_type: T::DATA_TYPE })
}

/// A field by arrow's parser for `T` (fields reach the builders as checked UTF-8).
fn by_arrow<T: Parser>(b: &[u8]) -> Option<T::Native> {
    std::str::from_utf8(b).ok().and_then(T::parse)
}

/// An integer column's field: `[-]digits` (at most 18, no sign for unsigned types) read
/// directly, anything else by arrow's parser. Arrow reads such text as that whole number, or
/// not at all when the type cannot hold it, and so does this.
fn integer<T: Parser>(b: &[u8]) -> Option<T::Native>
where
    T::Native: TryFrom<i64>,
{
    let signed = T::Native::try_from(-1).is_ok();
    match plain_integer(b) {
        Some(v) if signed || b[0] != b'-' => T::Native::try_from(v).ok(),
        _ => by_arrow::<T>(b),
    }
}

/// `[-]digits`, 1 to 18 of them (so the value fits an i64 without a check per digit).
fn plain_integer(b: &[u8]) -> Option<i64> {
    let (negative, digits) = match b.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v = 0i64;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + i64::from(d);
    }
    Some(if negative { -v } else { v })
}

fn timestamp<T: ArrowTimestampType>(b: &[u8]) -> Option<i64> {
    if let Some(v) = plain_instant(b, T::UNIT) {
        return v;
    }
    T::from_naive_datetime(string_to_datetime(&Utc, std::str::from_utf8(b).ok()?).ok()?.naive_utc(), None)
}

/// The common shape `YYYY-MM-DD[T ]HH:MM:SS[.fraction]` (no zone) read directly, as arrow's
/// parser reads it (`Some(None)`: out of range for the unit). `None`: another shape, or one
/// this does not judge (a second of 60, more than nine fraction digits) — arrow's parser decides.
fn plain_instant(b: &[u8], unit: TimeUnit) -> Option<Option<i64>> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |at: usize, n: usize| -> Option<i64> {
        b[at..at + n].iter().try_fold(0i64, |v, &d| d.is_ascii_digit().then(|| v * 10 + i64::from(d - b'0')))
    };
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[m as usize - 1] || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => num(20, digits.len())? * 10i64.pow(9 - digits.len() as u32),
        _ => return None,
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (years counted from March).
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    Some(match unit {
        TimeUnit::Second => Some(secs),
        TimeUnit::Millisecond => Some(secs * 1000 + nanos / 1_000_000),
        TimeUnit::Microsecond => Some(secs * 1_000_000 + nanos / 1000),
        TimeUnit::Nanosecond => i64::try_from(i128::from(secs) * 1_000_000_000 + i128::from(nanos)).ok(),
    })
}

/// Powers of ten a double holds exactly.
const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/// The common shape `[-]digits.digits` (or just digits), 15 digits at most, read directly: the
/// digits as a whole number and the power of ten are both exact doubles, and IEEE division rounds
/// their quotient correctly, so this is the one value any correct parser gives (arrow's included).
/// `None`: another shape, which arrow's parser decides.
fn plain_decimal(b: &[u8]) -> Option<f64> {
    let (negative, digits) = match b.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, b),
    };
    let (mut whole, mut count, mut point) = (0u64, 0usize, None);
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                whole = whole * 10 + u64::from(c - b'0');
                count += 1;
                if count > 15 {
                    return None;
                }
            }
            b'.' if point.is_none() && i > 0 && i + 1 < digits.len() => point = Some(i),
            _ => return None,
        }
    }
    if count == 0 {
        return None;
    }
    let scale = point.map_or(0, |i| digits.len() - i - 1);
    let v = whole as f64 / POW10[scale];
    Some(if negative { -v } else { v })
}

fn instants<T: ArrowTimestampType>(rows: usize, zone: &Option<Arc<str>>) -> Box<dyn Builder> {
    let data_type = DataType::Timestamp(T::UNIT, zone.clone());
    Box::new(Parsed { out: PrimitiveBuilder::<T>::with_capacity(rows), parse: timestamp::<T>, decimal_comma: false, data_type })
}

/// The builder of a column of type `t`. Numbers, dates and instants are parsed from the
/// fields by the parsers arrow's cast uses (so a value is read exactly as `cast_text` would
/// read it, without a text column in between); other types go through text and a cast.
fn builder(t: &DataType, rows: usize, shape: &Shape) -> Box<dyn Builder> {
    let dc = shape.decimal_comma;
    match t {
        DataType::Utf8 => Box::new(Text::new(rows)),
        DataType::Int8 => parsed::<Int8Type>(rows, integer::<Int8Type>, false),
        DataType::Int16 => parsed::<Int16Type>(rows, integer::<Int16Type>, false),
        DataType::Int32 => parsed::<Int32Type>(rows, integer::<Int32Type>, false),
        DataType::Int64 => parsed::<Int64Type>(rows, integer::<Int64Type>, false),
        DataType::UInt8 => parsed::<UInt8Type>(rows, integer::<UInt8Type>, false),
        DataType::UInt16 => parsed::<UInt16Type>(rows, integer::<UInt16Type>, false),
        DataType::UInt32 => parsed::<UInt32Type>(rows, integer::<UInt32Type>, false),
        DataType::UInt64 => parsed::<UInt64Type>(rows, integer::<UInt64Type>, false),
        DataType::Float32 => parsed::<Float32Type>(rows, by_arrow::<Float32Type>, dc),
        DataType::Float64 => parsed::<Float64Type>(rows, |b| plain_decimal(b).or_else(|| by_arrow::<Float64Type>(b)), dc),
        DataType::Date32 => parsed::<Date32Type>(rows, by_arrow::<Date32Type>, false),
        DataType::Date64 => parsed::<Date64Type>(rows, by_arrow::<Date64Type>, false),
        DataType::Timestamp(TimeUnit::Second, zone) => instants::<TimestampSecondType>(rows, zone),
        DataType::Timestamp(TimeUnit::Millisecond, zone) => instants::<TimestampMillisecondType>(rows, zone),
        DataType::Timestamp(TimeUnit::Microsecond, zone) => instants::<TimestampMicrosecondType>(rows, zone),
        DataType::Timestamp(TimeUnit::Nanosecond, zone) => instants::<TimestampNanosecondType>(rows, zone),
        other => Box::new(Cast { text: Text::new(rows), to: other.clone() }),
    }
}

/// Text → `t`, a value that does not parse becoming null. Instants with a zone are parsed as
/// UTC (an offset in the text is applied) and then labelled with the zone: arrow's cast
/// itself only knows zones written as offsets.
pub fn cast_text(text: &StringArray, t: &DataType) -> Result<ArrayRef> {
    let options = CastOptions { safe: true, ..Default::default() };
    if let DataType::Timestamp(unit, Some(_)) = t {
        let utc = cast_with_options(text, &DataType::Timestamp(*unit, None), &options)?;
        let relabelled = utc.to_data().into_builder().data_type(t.clone()).build()?;
        return Ok(arrow::array::make_array(relabelled));
    }
    Ok(cast_with_options(text, t, &options)?)
}

#[cfg(test)]
mod tests {
    use super::super::scan::{Scanner, Syntax};
    use super::*;

    const VALUES: &[&str] = &[
        "0", "-1", "+7", "007", " 5", "5 ", "1e3", "1.5", "-0.0", "1,5", "NaN", "nan", "inf", "-inf", "1_000", "0x1F",
        "9223372036854775807", "9223372036854775808", "-129", "255", "256", "65536", "2024-02-29", "2023-02-29", "2024-6-5",
        "20240605", "2024-06-05T12:41:03", "2024-06-05 12:41:03.123456789", "2024-06-05T12:41:03Z", "2024-06-05T12:41:03+05:30",
        "2024-06-05T12:41:03-0800", "1677-09-21T00:12:43", "2262-04-12T00:00:00", "1969-12-31T23:59:59.5", "true", "", "abc", "１２",
        "2024-02-30T00:00:00", "2023-02-29 00:00:00", "1900-02-29T00:00:00", "2000-02-29T00:00:00", "2024-06-05T24:00:00",
        "2024-06-05T12:60:00", "2024-06-05T12:41:60", "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999999", "2024-06-05T12:41:03.",
        "2024-06-05T12:41:03.1234567891", "1677-09-21T00:12:44.000000001", "1677-09-21T00:12:43.145224191", "1677-09-21T00:12:43.145224192",
        "2262-04-11T23:47:16.854775807", "2262-04-11T23:47:16.854775808", "0000-03-01T00:00:00", "2024-00-10T00:00:00",
        "2024-13-10T00:00:00", "2024-06-00 00:00:00", "2024-06-05t12:41:03", "2024-06-05T12:41:03.5Z", "2024-06-05T1:41:03",
        "1970-01-01T00:00:00.000000001", "1969-12-31 23:59:59.999", "2024-06-05T12:41:03.0120", "-024-06-05T12:41:03",
        "315.68", "0.2", "-12.50", "00.5", "5.", ".5", "-.5", "-5.", "-", ".", "-0", "1.2.3", "--1", "123456789012345",
        "1234567890123456", "0.000000000000001", "99999999999999.9", "9007199254740993", "0.1", "0.30000000000000004",
    ];

    fn types() -> Vec<DataType> {
        let mut t = vec![
            DataType::Int8, DataType::Int16, DataType::Int32, DataType::Int64, DataType::UInt8, DataType::UInt16, DataType::UInt32,
            DataType::UInt64, DataType::Float32, DataType::Float64, DataType::Date32, DataType::Date64, DataType::Boolean, DataType::Utf8,
        ];
        for unit in [TimeUnit::Second, TimeUnit::Millisecond, TimeUnit::Microsecond, TimeUnit::Nanosecond] {
            t.push(DataType::Timestamp(unit, None));
            t.push(DataType::Timestamp(unit, Some("+02:00".into())));
        }
        t
    }

    /// Every value read straight from the field bytes is what `cast_text` makes of its text,
    /// and a value the cast refuses makes its row bad (with the value in the reason).
    #[test]
    fn parses_as_the_cast_does() {
        let csv: String = VALUES.iter().map(|v| format!("\"{v}\"\n")).collect();
        let syntax = Syntax { delimiter: b';', quote: Some(b'"'), escape: None, comment: None, trim: false };
        let chunk = Scanner::new(csv.as_bytes(), syntax, 0, 0, 0).next_chunk(1000).unwrap().unwrap();
        assert_eq!(chunk.items.len(), VALUES.len());
        for decimal_comma in [false, true] {
            for t in types() {
                let schema = Arc::new(Schema::new(vec![Field::new("v", t.clone(), true)]));
                let shape = Shape { schema, ragged: Ragged::Error, null_values: vec![vec![]], decimal_comma, keep: Vec::new() };
                let (batch, bad) = convert(&shape, &chunk).unwrap();
                let text: StringArray = VALUES.iter().map(|v| (!v.is_empty()).then(|| shape.text(v, &t).into_owned())).collect();
                let cast = cast_text(&text, &t).unwrap();
                let keep: BooleanArray = (0..VALUES.len()).map(|r| Some(cast.is_valid(r) || text.is_null(r))).collect();
                let want = filter(&cast, &keep).unwrap();
                assert_eq!(batch.column(0).as_ref(), want.as_ref(), "{t} decimal_comma={decimal_comma}");
                let refused: Vec<usize> = (0..VALUES.len()).filter(|&r| !keep.value(r)).collect();
                assert_eq!(bad.len(), refused.len(), "{t}");
                for (b, r) in bad.iter().zip(refused) {
                    assert_eq!(b.line, r as u64 + 1);
                    assert!(b.reason.contains(&format!("{:?}", text.value(r))), "{t}: {}", b.reason);
                }
            }
        }
    }

    /// A column no step uses is not read: a value its type cannot take there makes no row bad,
    /// and the column comes out null; read, the same value makes its row bad.
    #[test]
    fn columns_not_kept_are_not_read() {
        let csv = "1,x,2.5\n2,3,oops\n";
        let syntax = Syntax { delimiter: b',', quote: Some(b'"'), escape: None, comment: None, trim: false };
        let chunk = Scanner::new(csv.as_bytes(), syntax, 0, 0, 0).next_chunk(10).unwrap().unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Int64, true),
            Field::new("c", DataType::Float64, true),
        ]));
        let shape = |keep: Vec<bool>| Shape { schema: schema.clone(), ragged: Ragged::Error, null_values: vec![vec![]], decimal_comma: false, keep };
        let (batch, bad) = convert(&shape(vec![true, false, false]), &chunk).unwrap();
        assert!(bad.is_empty());
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(0).as_ref(), &arrow::array::Int64Array::from(vec![1, 2]) as &dyn Array);
        assert!(batch.column(1).is_null(0) && batch.column(1).is_null(1) && batch.column(2).null_count() == 2);
        let (batch, bad) = convert(&shape(Vec::new()), &chunk).unwrap();
        assert_eq!(batch.num_rows(), 0);
        assert_eq!(bad.iter().map(|b| (b.line, b.field)).collect::<Vec<_>>(), vec![(1, Some(2)), (2, Some(3))]);
    }

    /// Integers are read as arrow's parser reads them for every integer type, over random texts
    /// around the 18-digit limit: signs, leading zeros, values past each type's range, stray bytes.
    #[test]
    fn integers_are_read_as_arrow_reads_them() {
        fn same<T: Parser>(s: &str) -> bool
        where
            T::Native: TryFrom<i64>,
        {
            integer::<T>(s.as_bytes()) == T::parse(s)
        }
        let mut r = crate::draw::Draw(0x0ddb_a115_ca75_0001);
        let mut taken = 0;
        for _ in 0..200_000 {
            let mut s = String::new();
            match r.below(8) {
                0 | 1 => s.push('-'),
                2 => s.push('+'),
                _ => {}
            }
            for _ in 0..r.below(21) {
                s.push((b'0' + r.below(10) as u8) as char);
                if r.below(400) == 0 {
                    s.push(['x', ' ', '.', '-', 'e'][r.below(5)]);
                }
            }
            taken += usize::from(plain_integer(s.as_bytes()).is_some());
            assert!(same::<Int8Type>(&s) && same::<Int16Type>(&s) && same::<Int32Type>(&s) && same::<Int64Type>(&s), "{s:?}");
            assert!(same::<UInt8Type>(&s) && same::<UInt16Type>(&s) && same::<UInt32Type>(&s) && same::<UInt64Type>(&s), "{s:?}");
        }
        assert!(taken > 100_000, "the fast path took only {taken}");
    }

    /// Decimals read by the fast path are bit for bit what arrow's parser reads, over random
    /// digit strings of every length around the 15-digit limit, with and without a point or sign.
    #[test]
    fn plain_decimals_are_read_as_arrow_reads_them() {
        let mut r = crate::draw::Draw(0x0123_4567_89ab_cdef);
        let mut taken = 0;
        for _ in 0..200_000 {
            let mut s = String::new();
            if r.below(3) == 0 {
                s.push('-');
            }
            let digits = r.below(18);
            let point = r.below(digits + 2);
            for i in 0..digits {
                if i == point && r.below(4) != 0 {
                    s.push('.');
                }
                s.push((b'0' + r.below(10) as u8) as char);
            }
            let fast = plain_decimal(s.as_bytes());
            let arrow = Float64Type::parse(&s);
            if let Some(v) = fast {
                taken += 1;
                assert_eq!(Some(v.to_bits()), arrow.map(f64::to_bits), "{s:?}");
            }
        }
        assert!(taken > 100_000, "the fast path took only {taken}");
    }
}
