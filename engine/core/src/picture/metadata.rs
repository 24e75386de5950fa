//! `exif`: the camera, lens, times, orientation and GPS position of a photo as one JSON line
//! (kamadak-exif reads JPEG, TIFF, HEIF, PNG and WebP containers), every other tag as text
//! under `tags`. A photo without EXIF is a line of nulls, not an error.

use std::io::Cursor;

use exif::{In, Reader, Tag, Value};
use serde_json::{json, Map, Value as Json};

use crate::error::{Error, Result};

fn text(e: &exif::Exif, tag: Tag) -> Json {
    e.get_field(tag, In::PRIMARY)
        .map(|f| match &f.value {
            Value::Ascii(parts) => Json::String(parts.iter().map(|p| String::from_utf8_lossy(p).trim().to_string()).collect::<Vec<_>>().join(" ")),
            _ => Json::String(f.display_value().to_string()),
        })
        .unwrap_or(Json::Null)
}

/// Degrees from EXIF's degrees/minutes/seconds and its N/S (E/W) reference.
fn degrees(e: &exif::Exif, tag: Tag, reference: Tag, negative: &[u8]) -> Option<f64> {
    let Value::Rational(dms) = &e.get_field(tag, In::PRIMARY)?.value else { return None };
    let v = dms.iter().zip([1.0, 60.0, 3600.0]).map(|(r, div)| r.to_f64() / div).sum::<f64>();
    let sign = match e.get_field(reference, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(r)) if r.first().and_then(|s| s.first()).is_some_and(|c| negative.contains(c)) => -1.0,
        _ => 1.0,
    };
    v.is_finite().then_some(sign * v)
}

pub fn exif(bytes: &[u8], uri: &str) -> Result<Vec<u8>> {
    let read = Reader::new().read_from_container(&mut Cursor::new(bytes));
    let e = match read {
        Ok(e) => e,
        Err(exif::Error::NotFound(_)) => return line(Json::Null, Map::new()),
        Err(exif::Error::InvalidFormat(why)) if why.contains("Unknown image format") => {
            return Err(Error::input(uri, format!("not a photo Pravah can read EXIF from: {why}")))
        }
        Err(other) => return Err(Error::input(uri, format!("EXIF: {other}"))),
    };
    let gps = match (degrees(&e, Tag::GPSLatitude, Tag::GPSLatitudeRef, b"Ss"), degrees(&e, Tag::GPSLongitude, Tag::GPSLongitudeRef, b"Ww")) {
        (Some(lat), Some(lon)) => {
            let alt = match e.get_field(Tag::GPSAltitude, In::PRIMARY).map(|f| &f.value) {
                Some(Value::Rational(r)) if !r.is_empty() => Json::from(r[0].to_f64()),
                _ => Json::Null,
            };
            json!({"lat": lat, "lon": lon, "alt": alt})
        }
        _ => Json::Null,
    };
    let orientation = e.get_field(Tag::Orientation, In::PRIMARY).and_then(|f| f.value.get_uint(0)).map_or(Json::Null, Json::from);
    let summary = json!({
        "make": text(&e, Tag::Make),
        "model": text(&e, Tag::Model),
        "lens": text(&e, Tag::LensModel),
        "taken": text(&e, Tag::DateTimeOriginal),
        "offset": text(&e, Tag::OffsetTimeOriginal),
        "orientation": orientation,
        "gps": gps,
    });
    let mut tags = Map::new();
    for f in e.fields().filter(|f| f.ifd_num == In::PRIMARY) {
        tags.insert(f.tag.to_string(), Json::String(f.display_value().with_unit(&e).to_string()));
    }
    line(summary, tags)
}

fn line(summary: Json, tags: Map<String, Json>) -> Result<Vec<u8>> {
    let mut doc = match summary {
        Json::Object(m) => m,
        _ => ["make", "model", "lens", "taken", "offset", "orientation", "gps"].iter().map(|k| (k.to_string(), Json::Null)).collect(),
    };
    doc.insert("tags".into(), Json::Object(tags));
    let mut out = serde_json::to_vec(&doc).map_err(|e| Error::Internal(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}
