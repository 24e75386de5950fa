//! `thumbnail`: decode (JPEG, PNG, WebP — sniffed from the bytes), turn upright by the EXIF
//! orientation, shrink to fit within `size`×`size` keeping the aspect ratio (never enlarged;
//! Lanczos3 through fast_image_resize), encode as asked.

use std::io::Cursor;

use fast_image_resize::{ResizeOptions, Resizer};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::{Error, Result};
use crate::plan::{ImageFormatOut, Thumbnail};

fn bad(uri: &str, e: impl std::fmt::Display) -> Error {
    Error::input(uri, format!("not an image Pravah can read (JPEG, PNG, WebP): {e}"))
}

/// The size that fits within `max`×`max` keeping the aspect ratio; never larger than `w`×`h`.
pub fn fit(w: u32, h: u32, max: u32) -> (u32, u32) {
    if w <= max && h <= max {
        return (w, h);
    }
    let scale = max as f64 / w.max(h) as f64;
    (((w as f64 * scale).round() as u32).max(1), ((h as f64 * scale).round() as u32).max(1))
}

pub fn thumbnail(t: &Thumbnail, bytes: &[u8], uri: &str) -> Result<Vec<u8>> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| bad(uri, e))?;
    let format = reader.format().ok_or_else(|| bad(uri, "the format is not recognised"))?;
    let mut decoder = reader.into_decoder().map_err(|e| bad(uri, e))?;
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > t.max_pixels {
        return Err(Error::Limit(format!("{uri}: {w}×{h} pixels is more than max_pixels ({})", t.max_pixels)));
    }
    let orientation = decoder.orientation().map_err(|e| bad(uri, e))?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| bad(uri, e))?;
    img.apply_orientation(orientation);
    let img = match img {
        // 16-bit and float images are brought to 8 bits: every output format here takes those.
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLumaA8(_) | DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };
    let (nw, nh) = fit(img.width(), img.height(), t.size);
    let small = if (nw, nh) == (img.width(), img.height()) {
        img
    } else {
        let mut dst = DynamicImage::new(nw, nh, img.color());
        Resizer::new().resize(&img, &mut dst, &ResizeOptions::new()).map_err(|e| Error::Internal(format!("resize: {e}")))?;
        dst
    };
    let out_format = match t.format {
        ImageFormatOut::Same => match format {
            ImageFormat::Png => ImageFormatOut::Png,
            ImageFormat::WebP => ImageFormatOut::Webp,
            _ => ImageFormatOut::Jpeg,
        },
        f => f,
    };
    let mut out = Vec::new();
    let written = match out_format {
        ImageFormatOut::Png => small.write_with_encoder(PngEncoder::new(&mut out)),
        ImageFormatOut::Webp => small.write_with_encoder(WebPEncoder::new_lossless(&mut out)),
        _ => {
            let flat = if small.color().has_alpha() { DynamicImage::ImageRgb8(small.to_rgb8()) } else { small };
            flat.write_with_encoder(JpegEncoder::new_with_quality(&mut out, t.quality))
        }
    };
    written.map_err(|e| Error::Internal(format!("encoding the thumbnail: {e}")))?;
    Ok(out)
}
