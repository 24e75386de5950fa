//! Image steps, each standing alone: `thumbnail` (fit within N×N, EXIF orientation applied,
//! JPEG/PNG/WebP out) and `exif` (camera, lens, time, GPS as one JSON line). An image is
//! decoded whole, so the input is read into memory up to `MAX_INPUT` and the decoded size is
//! capped by the step's `max_pixels` before any pixel is decoded.

mod metadata;
mod thumbnail;

use std::io::Read;

use crate::error::{Error, Result};
use crate::plan::Step;

pub use thumbnail::thumbnail;

/// Largest image file read (a 100-megapixel JPEG is ~40 MB).
const MAX_INPUT: u64 = 512 << 20;

/// The whole input, refused past `MAX_INPUT`.
pub fn read_all(mut input: impl Read, uri: &str, size: u64) -> Result<Vec<u8>> {
    if size > MAX_INPUT {
        return Err(Error::Limit(format!("{uri}: {size} bytes is more than an image step reads ({MAX_INPUT})")));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    input.read_to_end(&mut bytes).map_err(|e| crate::codec::classify_io(uri, e))?;
    Ok(bytes)
}

/// What the image step writes for `bytes` (the whole input): the output's bytes and the name
/// its format goes by.
pub fn run(step: &Step, bytes: &[u8], uri: &str) -> Result<Vec<u8>> {
    match step {
        Step::Thumbnail(t) => thumbnail(t, bytes, uri),
        Step::Exif {} => metadata::exif(bytes, uri),
        other => Err(Error::Internal(format!("{} is not an image step", other.name()))),
    }
}

#[cfg(test)]
mod tests;
