//! Compression at the edges: inputs are decompressed transparently (magic bytes decide, the
//! extension is only a hint), outputs compressed when the plan ends in gzip or zstd.

use std::io::{self, BufRead, BufReader, Read, Write};

use crate::compress::ParallelGzip;
use crate::pool::threads;
use crate::error::{Error, Result};

const BUF: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip,
    Zstd,
}

impl Codec {
    pub fn sniff(head: &[u8]) -> Codec {
        match head {
            [0x1f, 0x8b, ..] => Codec::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Codec::Zstd,
            _ => Codec::None,
        }
    }
}

/// A storage failure travelling inside an `io::Error`, so it is not mistaken for bad input.
#[derive(Debug)]
pub struct StorageFailure(pub String);

impl std::fmt::Display for StorageFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for StorageFailure {}

/// Turn an I/O error met while reading `uri` into storage or input-format error.
pub fn classify_io(uri: &str, err: io::Error) -> Error {
    if let Some(s) = err.get_ref().and_then(|e| e.downcast_ref::<StorageFailure>()) {
        return Error::storage(uri, s);
    }
    Error::input(uri, format!("cannot decode input: {err}"))
}

/// Wrap `raw` so the caller sees decompressed bytes when the input is gzip or zstd.
pub fn decoding<R: Read + Send + 'static>(raw: R, uri: &str) -> Result<(Codec, Box<dyn BufRead + Send>)> {
    let mut buffered = BufReader::with_capacity(BUF, raw);
    let head = buffered.fill_buf().map_err(|e| classify_io(uri, e))?;
    let codec = Codec::sniff(head);
    let reader: Box<dyn BufRead + Send> = match codec {
        Codec::None => Box::new(buffered),
        Codec::Gzip => Box::new(BufReader::with_capacity(BUF, flate2::bufread::MultiGzDecoder::new(buffered))),
        Codec::Zstd => {
            let dec = zstd::stream::read::Decoder::with_buffer(buffered).map_err(|e| classify_io(uri, e))?;
            Box::new(BufReader::with_capacity(BUF, dec))
        }
    };
    Ok((codec, reader))
}

/// A sink that compresses into `inner` on every core the process may use; `finish` flushes
/// the trailer and hands `inner` back.
pub enum Encoder<W: Write> {
    Plain(W),
    Gzip(ParallelGzip<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    pub fn new(inner: W, codec: Codec, level: Option<i32>) -> io::Result<Self> {
        Ok(match codec {
            Codec::None => Encoder::Plain(inner),
            Codec::Gzip => Encoder::Gzip(ParallelGzip::new(inner, level.unwrap_or(6).clamp(0, 9) as u32, threads())?),
            Codec::Zstd => {
                let level = level.unwrap_or(3);
                let mut enc = zstd::stream::write::Encoder::new(inner, level)?;
                let workers = threads();
                // libzstd's workers take jobs of four windows: up to 32 MiB at the high levels,
                // compressed at a few MB/s during `finish`, where a run cannot be cancelled or
                // timed out. Below level 10 a job is at most 16 MiB at 100+ MB/s.
                if workers > 1 && level < 10 {
                    enc.multithread(workers as u32)?; // one frame, as `zstd -T` writes
                }
                Encoder::Zstd(enc)
            }
        })
    }

    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(e) => e.write(buf),
            Encoder::Zstd(e) => e.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.write_all(buf),
            Encoder::Gzip(e) => e.write_all(buf),
            Encoder::Zstd(e) => e.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(e) => e.flush(),
            Encoder::Zstd(e) => e.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(codec: Codec) {
        let data = b"a,b\n1,2\n".repeat(10_000);
        let mut enc = Encoder::new(Vec::new(), codec, None).unwrap();
        enc.write_all(&data).unwrap();
        let packed = enc.finish().unwrap();
        assert_eq!(Codec::sniff(&packed), codec);
        let (seen, mut r) = decoding(std::io::Cursor::new(packed), "mem").unwrap();
        assert_eq!(seen, codec);
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn gzip_roundtrip() {
        roundtrip(Codec::Gzip)
    }

    #[test]
    fn zstd_roundtrip() {
        roundtrip(Codec::Zstd)
    }

    #[test]
    fn plain_passes_through() {
        roundtrip(Codec::None)
    }

    #[test]
    fn truncated_gzip_is_an_input_error() {
        let mut enc = Encoder::new(Vec::new(), Codec::Gzip, None).unwrap();
        enc.write_all(&b"hello world\n".repeat(1000)).unwrap();
        let mut packed = enc.finish().unwrap();
        packed.truncate(packed.len() / 2);
        let (_, mut r) = decoding(std::io::Cursor::new(packed), "x.gz").unwrap();
        let err = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(matches!(classify_io("x.gz", err), Error::InputFormat { .. }));
    }
}
