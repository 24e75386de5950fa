//! Chunks of records → Arrow batches. Numbers, dates and instants are parsed straight from
//! the field bytes, text columns gathered into one buffer; a value its type cannot take makes
//! its row bad (the row is taken out of the batch whole, so the good rows around it are
//! exactly what they would be without it).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, NullBufferBuilder, PrimitiveArray, PrimitiveBuilder, StringArray};
use arrow::buffer::OffsetBuffer;
use arrow::compute::kernels::cast_utils::{string_to_datetime, Parser};
use arrow::compute::{cast_with_options, filter, CastOptions};
use arrow::datatypes::*;
use chrono::Utc;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

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
}

impl Shape {
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

/// The batch of `chunk`'s good rows, and its bad ones.
pub fn convert(shape: &Shape, chunk: &Chunk) -> Result<(RecordBatch, Vec<Rejected>)> {
    let width = shape.schema.fields().len();
    let mut rejects = Vec::new();
    let all_utf8 = std::str::from_utf8(&chunk.data).is_ok();
    let mut good: Vec<&Item> = Vec::with_capacity(chunk.items.len());
    for item in &chunk.items {
        if let Some(why) = &item.bad {
            rejects.push(reject(chunk, item, None, why.clone()));
            continue;
        }
        let n = item.fields.len();
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
        if !all_utf8 {
            if let Err(e) = std::str::from_utf8(chunk.record_data(item)) {
                let field = item.fields.clone().position(|f| std::str::from_utf8(chunk.field(f)).is_err()).unwrap_or(0);
                rejects.push(reject(chunk, item, Some(field), format!("field {} is not valid UTF-8 ({e}); set `encoding` if the file is not UTF-8", field + 1)));
                continue;
            }
        }
        good.push(item);
    }
    // Per good row: the first column whose value its type cannot take.
    let mut violation: Vec<Option<(usize, String)>> = vec![None; good.len()];
    let columns = shape
        .schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| column(&Column { shape, chunk, good: &good, c }, f.data_type(), &mut violation))
        .collect::<Result<Vec<ArrayRef>>>()?;
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

/// One column of a chunk's good rows.
struct Column<'a> {
    shape: &'a Shape,
    chunk: &'a Chunk,
    good: &'a [&'a Item],
    c: usize,
}

impl<'a> Column<'a> {
    /// Row `r`'s field, or None when it is null (missing from a short row, or a null value).
    fn field(&self, r: usize) -> Option<&'a [u8]> {
        let item = self.good[r];
        let bytes = (self.c < item.fields.len()).then(|| self.chunk.field(item.fields.start + self.c))?;
        (!self.shape.is_null(bytes)).then_some(bytes)
    }

    /// The fields as text: gathered into one buffer, validated once as a whole.
    fn text(&self) -> Result<StringArray> {
        let mut offsets = Vec::with_capacity(self.good.len() + 1);
        offsets.push(0i32);
        let mut values = Vec::new();
        let mut nulls = NullBufferBuilder::new(self.good.len());
        for r in 0..self.good.len() {
            match self.field(r) {
                Some(bytes) => {
                    values.extend_from_slice(bytes);
                    nulls.append_non_null();
                }
                None => nulls.append_null(),
            }
            offsets.push(i32::try_from(values.len()).map_err(|_| Error::Limit("a CSV chunk holds more than 2 GiB of one column's text".into()))?);
        }
        Ok(StringArray::try_new(OffsetBuffer::new(offsets.into()), values.into(), nulls.finish())?)
    }

    /// The fields parsed straight into `T` by `parse` (a null where it returns None; the
    /// first such column of a row is its violation).
    fn parsed<T: ArrowPrimitiveType>(
        &self,
        t: &DataType,
        parse: impl Fn(&str) -> Option<T::Native>,
        violation: &mut [Option<(usize, String)>],
    ) -> Result<PrimitiveArray<T>> {
        let mut out = PrimitiveBuilder::<T>::with_capacity(self.good.len());
        for (r, v) in violation.iter_mut().enumerate() {
            let Some(bytes) = self.field(r) else {
                out.append_null();
                continue;
            };
            // Valid UTF-8: checked for the whole chunk or this record before.
            let s = std::str::from_utf8(bytes).map_err(|e| Error::Internal(format!("utf-8 checked yet invalid: {e}")))?;
            let s = self.shape.text(s, t);
            match parse(&s) {
                Some(value) => out.append_value(value),
                None => {
                    out.append_null();
                    if v.is_none() {
                        *v = Some((self.c, s.into_owned()));
                    }
                }
            }
        }
        Ok(out.finish())
    }
}

fn timestamp<T: ArrowTimestampType>(s: &str) -> Option<i64> {
    T::from_naive_datetime(string_to_datetime(&Utc, s).ok()?.naive_utc(), None)
}

/// One column of type `t`. Numbers, dates and instants are parsed from the field bytes by the
/// parsers arrow's cast uses (so a value is read exactly as `cast_text` would read it, without
/// a text column in between); other types go through text and a cast.
fn column(col: &Column, t: &DataType, violation: &mut [Option<(usize, String)>]) -> Result<ArrayRef> {
    macro_rules! parsed {
        ($T:ty) => {
            Arc::new(col.parsed::<$T>(t, <$T as Parser>::parse, violation)?) as ArrayRef
        };
    }
    Ok(match t {
        DataType::Utf8 => Arc::new(col.text()?),
        DataType::Int8 => parsed!(Int8Type),
        DataType::Int16 => parsed!(Int16Type),
        DataType::Int32 => parsed!(Int32Type),
        DataType::Int64 => parsed!(Int64Type),
        DataType::UInt8 => parsed!(UInt8Type),
        DataType::UInt16 => parsed!(UInt16Type),
        DataType::UInt32 => parsed!(UInt32Type),
        DataType::UInt64 => parsed!(UInt64Type),
        DataType::Float32 => parsed!(Float32Type),
        DataType::Float64 => parsed!(Float64Type),
        DataType::Date32 => parsed!(Date32Type),
        DataType::Date64 => parsed!(Date64Type),
        DataType::Timestamp(unit, zone) => {
            let a: ArrayRef = match unit {
                TimeUnit::Second => Arc::new(col.parsed::<TimestampSecondType>(t, timestamp::<TimestampSecondType>, violation)?.with_timezone_opt(zone.clone())),
                TimeUnit::Millisecond => Arc::new(col.parsed::<TimestampMillisecondType>(t, timestamp::<TimestampMillisecondType>, violation)?.with_timezone_opt(zone.clone())),
                TimeUnit::Microsecond => Arc::new(col.parsed::<TimestampMicrosecondType>(t, timestamp::<TimestampMicrosecondType>, violation)?.with_timezone_opt(zone.clone())),
                TimeUnit::Nanosecond => Arc::new(col.parsed::<TimestampNanosecondType>(t, timestamp::<TimestampNanosecondType>, violation)?.with_timezone_opt(zone.clone())),
            };
            a
        }
        _ => {
            let text = col.text()?;
            let typed = cast_text(&text, t)?;
            if typed.null_count() != text.null_count() {
                for (r, v) in violation.iter_mut().enumerate() {
                    if v.is_none() && text.is_valid(r) && typed.is_null(r) {
                        *v = Some((col.c, text.value(r).to_string()));
                    }
                }
            }
            typed
        }
    })
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
                let shape = Shape { schema, ragged: Ragged::Error, null_values: vec![vec![]], decimal_comma };
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
}
