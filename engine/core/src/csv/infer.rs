//! Column types from a sample of text values. A type is chosen only when every sampled value
//! casts to it (with the same cast the read uses, so inference and reading never disagree);
//! a column with no values at all is text, never Arrow's null type (readers reject it).

use arrow::array::{Array, StringArray};
use arrow::datatypes::{DataType, TimeUnit};

use crate::types::is_float;

fn casts(values: &[&str], t: &DataType) -> bool {
    let text = StringArray::from(values.to_vec());
    super::table::cast_text(&text, t).is_ok_and(|a| a.null_count() == 0)
}

fn all(values: &[&str], test: impl Fn(&[u8]) -> bool) -> bool {
    values.iter().all(|v| test(v.as_bytes()))
}

fn is_date(v: &[u8]) -> bool {
    v.len() == 10 && v[4] == b'-' && v[7] == b'-' && v.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit())
}

/// `YYYY-MM-DD[T ]HH:MM…`
fn is_timestamp(v: &[u8]) -> bool {
    v.len() >= 16 && is_date(&v[..10]) && matches!(v[10], b'T' | b' ') && v[11..13].iter().all(u8::is_ascii_digit) && v[13] == b':'
}

/// Ends in `Z` or a `±HH[:MM]` offset after the time.
fn has_offset(v: &[u8]) -> bool {
    if v.last() == Some(&b'Z') || v.last() == Some(&b'z') {
        return true;
    }
    let time = &v[11..];
    match time.iter().rposition(|&b| b == b'+' || b == b'-') {
        Some(p) => time[p + 1..].iter().all(|b| b.is_ascii_digit() || *b == b':') && time.len() - p >= 3,
        None => false,
    }
}

/// The type of one column from its non-null sampled values (decimal commas already points).
pub fn column_type(values: &[&str]) -> DataType {
    if values.is_empty() {
        return DataType::Utf8;
    }
    let numeric = |v: &[u8]| v.iter().any(u8::is_ascii_digit) && v.iter().all(|b| b.is_ascii_digit() || b"+-.eE".contains(b));
    if all(values, |v| numeric(v) && !v.contains(&b'.') && !v.contains(&b'e') && !v.contains(&b'E')) && casts(values, &DataType::Int64) {
        return DataType::Int64;
    }
    if all(values, numeric) && casts(values, &DataType::Float64) {
        return DataType::Float64;
    }
    if all(values, |v| v.eq_ignore_ascii_case(b"true") || v.eq_ignore_ascii_case(b"false")) {
        return DataType::Boolean;
    }
    if all(values, is_date) && casts(values, &DataType::Date32) {
        return DataType::Date32;
    }
    if all(values, is_timestamp) {
        let zone = if all(values, has_offset) {
            Some("+00:00".into())
        } else if values.iter().any(|v| has_offset(v.as_bytes())) {
            return DataType::Utf8; // some with an offset, some without: no one instant type fits
        } else {
            None
        };
        let t = DataType::Timestamp(TimeUnit::Microsecond, zone);
        if casts(values, &t) {
            return t;
        }
    }
    DataType::Utf8
}

/// Does `value` read as type `t` (for telling a header row from data)?
pub fn fits(value: &str, t: &DataType) -> bool {
    let own = column_type(&[value]);
    t == &DataType::Utf8 || own == *t || (is_float(t) && own == DataType::Int64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(column_type(&["1", "-2", "+3"]), DataType::Int64);
        assert_eq!(column_type(&["1", "2.5", "1e3"]), DataType::Float64);
        assert_eq!(column_type(&["TRUE", "false"]), DataType::Boolean);
        assert_eq!(column_type(&["yes", "no"]), DataType::Utf8);
        assert_eq!(column_type(&["2024-01-05", "2023-12-31"]), DataType::Date32);
        assert_eq!(column_type(&["2024-01-05T10:00:00", "2024-01-05 11:30:00.250"]), DataType::Timestamp(TimeUnit::Microsecond, None));
        assert_eq!(
            column_type(&["2024-01-05T10:00:00Z", "2024-01-05T10:00:00+02:00"]),
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
        );
        assert_eq!(column_type(&["2024-01-05T10:00:00Z", "2024-01-05T10:00:00"]), DataType::Utf8);
        assert_eq!(column_type(&[]), DataType::Utf8);
        assert_eq!(column_type(&["1", "x"]), DataType::Utf8);
        assert_eq!(column_type(&["99999999999999999999"]), DataType::Float64);
        assert_eq!(column_type(&["2024-13-45"]), DataType::Utf8);
    }
}
