//! Text encodings: whatever the file is in, the scanner sees UTF-8. UTF-8 passes through
//! untouched (so undecodable bytes stay visible and make bad rows); anything else is
//! transcoded by encoding_rs, and byte offsets are then offsets in the decoded text.

use std::io::{self, BufRead, Read};

use encoding_rs::{Decoder, Encoding, UTF_16LE, UTF_8, WINDOWS_1252};

const OUT: usize = 1 << 20;

/// The encoding a read settled on, and how many BOM bytes open the file.
#[derive(Debug, Clone, Copy)]
pub struct Chosen {
    pub encoding: &'static Encoding,
    pub bom: usize,
}

impl Chosen {
    /// The name reported back (`utf-8`, `utf-16le`, `windows-1252`, …).
    pub fn name(&self) -> String {
        self.encoding.name().to_ascii_lowercase()
    }
}

/// Settle `label` against the first bytes of the file. `auto`: a BOM decides; else UTF-8 when
/// the sample is valid UTF-8 or holds at least one valid multi-byte sequence (a few broken
/// bytes in a UTF-8 file are bad rows, not a reason to garble every accent); else
/// windows-1252 (a superset of latin-1 for printable text).
pub fn choose(label: &str, head: &[u8]) -> Result<Chosen, String> {
    let bom = Encoding::for_bom(head);
    let wanted = label.trim().to_ascii_lowercase();
    let encoding = match wanted.as_str() {
        "auto" => match bom {
            Some((e, n)) => return Ok(Chosen { encoding: e, bom: n }),
            None if looks_utf8(head) => UTF_8,
            None => WINDOWS_1252,
        },
        "utf-8-sig" | "utf8-sig" => UTF_8,
        "utf-16" => match bom {
            Some((e, n)) if e != UTF_8 => return Ok(Chosen { encoding: e, bom: n }),
            _ => UTF_16LE,
        },
        "latin-1" | "latin1" => WINDOWS_1252,
        other => Encoding::for_label(other.as_bytes()).ok_or_else(|| {
            format!("encoding {label:?} is not known; use auto, utf-8, utf-8-sig, utf-16le, utf-16be, latin-1, windows-1252 or another WHATWG label")
        })?,
    };
    // A BOM that matches the chosen encoding is not text.
    let bom = match bom {
        Some((e, n)) if e == encoding => n,
        _ => 0,
    };
    Ok(Chosen { encoding, bom })
}

fn looks_utf8(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) if e.error_len().is_none() => true, // the sample cut a character in two
        Err(_) => head.utf8_chunks().any(|c| c.valid().bytes().any(|b| b >= 0x80)),
    }
}

/// `input` (positioned after the BOM) as UTF-8 bytes.
pub fn decoded(input: Box<dyn BufRead + Send>, chosen: Chosen) -> Box<dyn BufRead + Send> {
    if chosen.encoding == UTF_8 {
        return input;
    }
    Box::new(Transcode { inner: input, decoder: chosen.encoding.new_decoder_without_bom_handling(), out: vec![0; OUT], pos: 0, len: 0, done: false })
}

struct Transcode {
    inner: Box<dyn BufRead + Send>,
    decoder: Decoder,
    out: Vec<u8>,
    pos: usize,
    len: usize,
    done: bool,
}

impl BufRead for Transcode {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos == self.len && !self.done {
            let src = self.inner.fill_buf()?;
            let last = src.is_empty();
            let (result, read, written, _) = self.decoder.decode_to_utf8(src, &mut self.out, last);
            self.inner.consume(read);
            self.pos = 0;
            self.len = written;
            if last && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
        }
        Ok(&self.out[self.pos..self.len])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.len);
    }
}

impl Read for Transcode {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], label: &str) -> (String, String) {
        let chosen = choose(label, bytes).unwrap();
        let mut input: Box<dyn BufRead + Send> = Box::new(io::Cursor::new(bytes[chosen.bom..].to_vec()));
        let mut out = Vec::new();
        input = decoded(input, chosen);
        input.read_to_end(&mut out).unwrap();
        (chosen.name(), String::from_utf8(out).unwrap())
    }

    #[test]
    fn auto_detects() {
        assert_eq!(decode_all(b"\xEF\xBB\xBFa,b\n", "auto"), ("utf-8".into(), "a,b\n".into()));
        assert_eq!(decode_all(b"\xFF\xFEa\0,\0\xE9\0\n\0", "auto"), ("utf-16le".into(), "a,é\n".into()));
        assert_eq!(decode_all(b"\xFE\xFF\0a\0,\0\xE9\0\n", "auto"), ("utf-16be".into(), "a,é\n".into()));
        assert_eq!(decode_all(b"caf\xE9,\x80\n", "auto"), ("windows-1252".into(), "café,€\n".into()));
        // Valid multi-byte UTF-8 next to a broken byte: still UTF-8 (the broken row is bad).
        assert_eq!(choose("auto", b"caf\xC3\xA9,\xFF").unwrap().name(), "utf-8");
    }

    #[test]
    fn labels() {
        assert_eq!(decode_all(b"caf\xE9\n", "latin-1").1, "café\n");
        assert_eq!(decode_all(b"\xEF\xBB\xBFx\n", "utf-8-sig").1, "x\n");
        let e = choose("klingon", b"").unwrap_err();
        assert!(e.contains("klingon"), "{e}");
    }
}
