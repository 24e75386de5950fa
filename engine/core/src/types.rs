//! Type names as pipelines write them (`int64`, `string`, `timestamp`…) and SQL spellings.

use arrow::datatypes::{DataType, TimeUnit};

/// Parse a user-facing type name; `None` when unknown, so the caller can name the field.
pub fn parse_type(name: &str) -> Option<DataType> {
    let n = name.trim().to_ascii_lowercase();
    Some(match n.as_str() {
        "bool" | "boolean" => DataType::Boolean,
        "int8" | "tinyint" => DataType::Int8,
        "int16" | "smallint" => DataType::Int16,
        "int32" | "int" | "integer" => DataType::Int32,
        "int64" | "bigint" | "long" => DataType::Int64,
        "uint8" => DataType::UInt8,
        "uint16" => DataType::UInt16,
        "uint32" => DataType::UInt32,
        "uint64" => DataType::UInt64,
        "float32" | "float" | "real" => DataType::Float32,
        "float64" | "double" | "double precision" => DataType::Float64,
        "string" | "str" | "utf8" | "text" | "varchar" => DataType::Utf8,
        "date" | "date32" => DataType::Date32,
        "timestamp" | "datetime" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "timestamptz" => DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        _ => return None,
    })
}

/// The names `parse_type` accepts, for error messages.
pub const TYPE_NAMES: &str =
    "bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, string, date, timestamp, timestamptz";

/// The user-facing name of a type, as pipelines write it.
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Boolean => "bool".into(),
        DataType::Utf8 => "string".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(_, None) => "timestamp".into(),
        DataType::Timestamp(_, Some(_)) => "timestamptz".into(),
        other => other.to_string().to_ascii_lowercase(),
    }
}

pub fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

pub fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(..) | DataType::Decimal256(..))
}

pub fn is_string(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (name, want) in [
            ("int64", DataType::Int64),
            ("BIGINT", DataType::Int64),
            ("string", DataType::Utf8),
            ("double", DataType::Float64),
            ("date", DataType::Date32),
        ] {
            assert_eq!(parse_type(name), Some(want), "{name}");
        }
        assert_eq!(parse_type("complex"), None);
    }
}
