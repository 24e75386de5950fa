//! Thumbnails and EXIF on images made here: a JPEG carrying an EXIF block (orientation 6,
//! camera, time, a southern GPS position), a PNG with alpha, a tiny image, a pixel bomb.

use std::io::Cursor;

use image::{DynamicImage, GenericImageView, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

use super::{run, thumbnail};
use crate::plan::Step;
use crate::Error;

type Entry = (u16, u16, u32, Vec<u8>);

fn ascii(s: &str) -> (u16, u32, Vec<u8>) {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    (2, b.len() as u32, b)
}

fn rationals(vals: &[(u32, u32)]) -> Vec<u8> {
    vals.iter().flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes())).collect()
}

/// One little-endian TIFF IFD at `base`, its long values right after it.
fn ifd(base: u32, entries: &[Entry]) -> Vec<u8> {
    let data_start = base + 2 + 12 * entries.len() as u32 + 4;
    let (mut head, mut data) = ((entries.len() as u16).to_le_bytes().to_vec(), Vec::new());
    for (tag, typ, count, bytes) in entries {
        head.extend(tag.to_le_bytes());
        head.extend(typ.to_le_bytes());
        head.extend(count.to_le_bytes());
        if bytes.len() <= 4 {
            let mut v = bytes.clone();
            v.resize(4, 0);
            head.extend(v);
        } else {
            head.extend((data_start + data.len() as u32).to_le_bytes());
            data.extend(bytes);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    head.extend(0u32.to_le_bytes());
    head.extend(data);
    head
}

/// A TIFF block: IFD0 (make, model, orientation, pointers), the Exif IFD (time), the GPS IFD.
fn exif_block(orientation: u16) -> Vec<u8> {
    let e = |tag: u16, (typ, count, bytes): (u16, u32, Vec<u8>)| (tag, typ, count, bytes);
    let exif_ifd = vec![e(0x9003, ascii("2024:05:01 12:34:56"))];
    let gps_ifd = vec![
        e(0x0001, ascii("S")),
        (0x0002, 5, 3, rationals(&[(33, 1), (51, 1), (3540, 100)])),
        e(0x0003, ascii("E")),
        (0x0004, 5, 3, rationals(&[(151, 1), (12, 1), (3600, 100)])),
    ];
    let ifd0 = |exif_at: u32, gps_at: u32| {
        vec![
            e(0x010F, ascii("Pravah Optics")),
            e(0x0110, ascii("PV-1")),
            (0x0112, 3, 1, orientation.to_le_bytes().to_vec()),
            (0x8769, 4, 1, exif_at.to_le_bytes().to_vec()),
            (0x8825, 4, 1, gps_at.to_le_bytes().to_vec()),
        ]
    };
    let len0 = ifd(8, &ifd0(0, 0)).len() as u32;
    let exif_at = 8 + len0;
    let exif_bytes = ifd(exif_at, &exif_ifd);
    let gps_at = exif_at + exif_bytes.len() as u32;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(ifd(8, &ifd0(exif_at, gps_at)));
    tiff.extend(exif_bytes);
    tiff.extend(ifd(gps_at, &gps_ifd));
    tiff
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A 400×200 JPEG, left half red, right half blue, with an EXIF block right after SOI.
fn photo(orientation: u16) -> Vec<u8> {
    let img = RgbImage::from_fn(400, 200, |x, _| if x < 200 { Rgb([220, 20, 20]) } else { Rgb([20, 20, 220]) });
    let jpeg = encode(&DynamicImage::ImageRgb8(img), ImageFormat::Jpeg);
    let tiff = exif_block(orientation);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    [&jpeg[..2], &app1[..], &jpeg[2..]].concat()
}

fn step(json: &str) -> Step {
    serde_json::from_str(json).unwrap()
}

fn decoded(bytes: &[u8]) -> (DynamicImage, ImageFormat) {
    let format = image::guess_format(bytes).unwrap();
    (image::load_from_memory(bytes).unwrap(), format)
}

#[test]
fn a_photo_is_turned_upright_then_shrunk_to_fit() {
    let out = run(&step(r#"{"op":"thumbnail","size":100}"#), &photo(6), "p.jpg").unwrap();
    let (img, format) = decoded(&out);
    assert_eq!((img.dimensions(), format), ((50, 100), ImageFormat::Jpeg), "rotated 90° clockwise: 200×400, then within 100×100");
    // Rotated clockwise, the red left half is on top.
    let (top, bottom) = (img.get_pixel(25, 10), img.get_pixel(25, 90));
    assert!(top[0] > 150 && top[2] < 100 && bottom[2] > 150 && bottom[0] < 100, "{top:?} {bottom:?}");
    let upright = decoded(&run(&step(r#"{"op":"thumbnail","size":100}"#), &photo(1), "p.jpg").unwrap()).0;
    assert_eq!(upright.dimensions(), (100, 50));
}

#[test]
fn formats_alpha_and_small_images() {
    let png = encode(&DynamicImage::ImageRgba8(RgbaImage::from_fn(300, 300, |x, _| Rgba([0, 200, 0, if x < 150 { 0 } else { 255 }]))), ImageFormat::Png);
    let (img, format) = decoded(&run(&step(r#"{"op":"thumbnail","size":64}"#), &png, "a.png").unwrap());
    assert_eq!((img.dimensions(), format), ((64, 64), ImageFormat::Png));
    assert!(img.color().has_alpha() && img.get_pixel(5, 5)[3] == 0 && img.get_pixel(60, 5)[3] == 255);
    let (webp, format) = decoded(&run(&step(r#"{"op":"thumbnail","size":64,"format":"webp"}"#), &photo(1), "p.jpg").unwrap());
    assert_eq!((webp.dimensions(), format), ((64, 32), ImageFormat::WebP));
    let (jpeg, format) = decoded(&run(&step(r#"{"op":"thumbnail","size":64,"format":"jpeg"}"#), &png, "a.png").unwrap());
    assert_eq!((jpeg.dimensions(), format, jpeg.color().has_alpha()), ((64, 64), ImageFormat::Jpeg, false));
    let tiny = encode(&DynamicImage::ImageRgb8(RgbImage::new(50, 30)), ImageFormat::Png);
    assert_eq!(decoded(&run(&step(r#"{"op":"thumbnail","size":1024}"#), &tiny, "t.png").unwrap()).0.dimensions(), (50, 30), "never enlarged");
    assert_eq!(super::thumbnail::fit(4000, 3000, 1024), (1024, 768));
    assert_eq!(super::thumbnail::fit(1, 5000, 100), (1, 100));
}

#[test]
fn bombs_and_non_images_are_refused() {
    let Step::Thumbnail(t) = step(r#"{"op":"thumbnail","max_pixels":10000}"#) else { unreachable!() };
    let e = thumbnail(&t, &photo(1), "big.jpg").unwrap_err();
    assert!(matches!(e, Error::Limit(_)) && e.to_string().contains("400×200 pixels is more than max_pixels (10000)"), "{e}");
    let e = run(&step(r#"{"op":"thumbnail"}"#), b"hello, not a picture", "x.jpg").unwrap_err();
    assert!(matches!(e, Error::InputFormat { .. }) && e.to_string().contains("x.jpg: not an image"), "{e}");
    // A PNG cut short fails (a JPEG cut short decodes grey at the bottom, as browsers show it).
    let mut cut = encode(&DynamicImage::ImageRgb8(RgbImage::from_fn(300, 300, |x, y| Rgb([x as u8, y as u8, 7]))), ImageFormat::Png);
    cut.truncate(cut.len() / 3);
    let r = run(&step(r#"{"op":"thumbnail"}"#), &cut, "cut.png");
    assert!(matches!(r, Err(Error::InputFormat { .. })), "{:?}", r.map(|b| b.len()));
}

#[test]
fn exif_gives_camera_time_orientation_and_position() {
    let line = run(&step(r#"{"op":"exif"}"#), &photo(6), "p.jpg").unwrap();
    assert_eq!(line.last(), Some(&b'\n'));
    let doc: serde_json::Value = serde_json::from_slice(&line).unwrap();
    assert_eq!((doc["make"].as_str(), doc["model"].as_str(), doc["taken"].as_str()), (Some("Pravah Optics"), Some("PV-1"), Some("2024:05:01 12:34:56")));
    assert_eq!(doc["orientation"], 6);
    let (lat, lon) = (doc["gps"]["lat"].as_f64().unwrap(), doc["gps"]["lon"].as_f64().unwrap());
    assert!((lat + 33.8598).abs() < 1e-3 && (lon - 151.21).abs() < 1e-3, "{lat} {lon}");
    assert_eq!(doc["tags"]["Make"], "\"Pravah Optics\"");
    let plain = encode(&DynamicImage::ImageRgb8(RgbImage::new(8, 8)), ImageFormat::Png);
    let none: serde_json::Value = serde_json::from_slice(&run(&step(r#"{"op":"exif"}"#), &plain, "plain.png").unwrap()).unwrap();
    assert!(none["make"].is_null() && none["gps"].is_null() && none["tags"].as_object().unwrap().is_empty(), "{none}");
    assert!(matches!(run(&step(r#"{"op":"exif"}"#), b"plain text", "t.txt").unwrap_err(), Error::InputFormat { .. }));
}
