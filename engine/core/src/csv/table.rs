//! Chunks of records → Arrow batches. Every field is read as text, then each typed column is
//! cast as a whole; a value the cast cannot take makes its row bad (the row is taken out of
//! the batch whole, so the good rows around it are exactly what they would be without it).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray, StringBuilder};
use arrow::compute::{cast_with_options, filter, CastOptions};
use arrow::datatypes::{DataType, SchemaRef};
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
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(width);
    // Per good row: the first column whose value its type cannot take.
    let mut violation: Vec<Option<(usize, String)>> = vec![None; good.len()];
    for (c, field) in shape.schema.fields().iter().enumerate() {
        let t = field.data_type();
        let mut text = StringBuilder::with_capacity(good.len(), 16 * good.len());
        for item in &good {
            if c >= item.fields.len() {
                text.append_null();
                continue;
            }
            let bytes = chunk.field(item.fields.start + c);
            if shape.is_null(bytes) {
                text.append_null();
            } else {
                // Checked above: the whole chunk, or this record.
                let s = std::str::from_utf8(bytes).map_err(|e| Error::Internal(format!("utf-8 checked yet invalid: {e}")))?;
                text.append_value(shape.text(s, t));
            }
        }
        let text = text.finish();
        if t == &DataType::Utf8 {
            columns.push(Arc::new(text));
            continue;
        }
        let typed = cast_text(&text, t)?;
        if typed.null_count() != text.null_count() {
            for (r, v) in violation.iter_mut().enumerate() {
                if v.is_none() && text.is_valid(r) && typed.is_null(r) {
                    *v = Some((c, text.value(r).to_string()));
                }
            }
        }
        columns.push(typed);
    }
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
