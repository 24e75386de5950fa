//! The header row of a CSV, read cheaply for `scan --headers`: the first block of the file up
//! to the end of its first record (a quoted field may hold line breaks), a BOM stripped, UTF-16
//! and non-UTF-8 text decoded, the delimiter sniffed from that line unless given.

use std::fs::File;
use std::io::Read;

use object_store::ObjectStoreExt;
use std::path::Path;

/// The first read; most headers end well inside it.
const FIRST: usize = 16 << 10;
/// A header row longer than this is not a header.
const MAX: usize = 1 << 20;
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// A header read, or why it could not be.
pub type HeaderRead = Result<Header, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub fields: Vec<String>,
    pub delimiter: u8,
}

/// The header of the file at `path`; `buf` is reused from one file to the next.
pub fn read_file(path: &Path, delimiter: Option<u8>, buf: &mut Vec<u8>) -> Result<Header, String> {
    let mut f = File::open(path).map_err(|e| e.to_string())?;
    buf.clear();
    let mut want = FIRST;
    loop {
        let start = buf.len();
        buf.resize(want, 0);
        let mut filled = start;
        while filled < want {
            match f.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let eof = filled < want;
        buf.truncate(filled);
        if eof || record_end(buf).is_some() {
            return parse(buf, delimiter);
        }
        if want >= MAX {
            return Err(format!("no end of the first row in its first {MAX} bytes"));
        }
        want *= 4;
    }
}

/// The header of an object: its first block by a ranged GET, more (up to `MAX`) only when the
/// first record runs on past it.
pub async fn read_object(store: &dyn object_store::ObjectStore, path: &object_store::path::Path, size: u64, delimiter: Option<u8>) -> HeaderRead {
    if size == 0 {
        return parse(b"", delimiter);
    }
    let mut want = FIRST as u64;
    loop {
        let end = want.min(size);
        let head = store.get_range(path, 0..end).await.map_err(|e| e.to_string())?;
        if end == size || record_end(&head).is_some() {
            return parse(&head, delimiter);
        }
        if want >= MAX as u64 {
            return Err(format!("no end of the first row in its first {MAX} bytes"));
        }
        want *= 4;
    }
}

/// Where the first record ends (outside double quotes), if it does in `text`.
fn record_end(text: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// The header in `head` (the start of a file: the whole first record or all there is).
pub fn parse(head: &[u8], delimiter: Option<u8>) -> Result<Header, String> {
    let text = decode(head);
    let line = match record_end(text.as_bytes()) {
        Some(end) => &text[..end],
        None => &text[..],
    };
    if line.trim().is_empty() {
        return Err("empty: no header row".into());
    }
    let delimiter = delimiter.unwrap_or_else(|| sniff(line.as_bytes()));
    Ok(Header { fields: split(line, delimiter as char), delimiter })
}

/// Text of the head: BOMs decide UTF-8/UTF-16; otherwise UTF-8, or windows-1252 when it is not.
fn decode(head: &[u8]) -> std::borrow::Cow<'_, str> {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(head) {
        return enc.decode_without_bom_handling(&head[bom..]).0;
    }
    match std::str::from_utf8(head) {
        Ok(s) => s.into(),
        // A multi-byte character cut at the end of the block is still UTF-8.
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&head[..e.valid_up_to()]),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(head).0,
    }
}

/// The candidate seen most often outside quotes; a comma when none is (one column).
fn sniff(line: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            if let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                counts[i] += 1;
            }
        }
    }
    let best = (0..DELIMITERS.len()).max_by_key(|&i| (counts[i], usize::MAX - i)).unwrap_or(0);
    if counts[best] == 0 { b',' } else { DELIMITERS[best] }
}

/// Fields of one record: double quotes group, `""` inside them is a quote, spaces kept.
fn split(line: &str, delimiter: char) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == delimiter && !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(head: &[u8]) -> (Vec<String>, char) {
        let h = parse(head, None).unwrap();
        (h.fields, h.delimiter as char)
    }

    #[test]
    fn headers_in_the_dialects_people_write() {
        assert_eq!(fields(b"id,name,amount\n1,a,2\n"), (vec!["id".into(), "name".into(), "amount".into()], ','));
        assert_eq!(fields(b"id;name;\"a;b\"\r\n1;x;y"), (vec!["id".into(), "name".into(), "a;b".into()], ';'));
        assert_eq!(fields(b"a\tb\tc"), (vec!["a".into(), "b".into(), "c".into()], '\t'));
        assert_eq!(fields(b"\xef\xbb\xbfid,\"say \"\"hi\"\"\"\n"), (vec!["id".into(), "say \"hi\"".into()], ','));
        assert_eq!(fields(b"\"multi\nline\",b\n1,2"), (vec!["multi\nline".into(), "b".into()], ','));
        assert_eq!(fields(b"only"), (vec!["only".into()], ','));
        assert_eq!(fields(b"caf\xe9,na\xefve\n"), (vec!["café".into(), "naïve".into()], ','));
        let utf16: Vec<u8> = [0xff, 0xfe].into_iter().chain("x,y\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(fields(&utf16), (vec!["x".into(), "y".into()], ','));
        assert_eq!(parse(b"a|b,c", Some(b'|')).unwrap().fields, vec!["a", "b,c"]);
        assert!(parse(b"\n\n", None).unwrap_err().contains("empty"));
    }

    #[test]
    fn long_headers_are_read_on_and_endless_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wide: Vec<String> = (0..5000).map(|i| format!("column_{i}")).collect();
        let path = dir.path().join("wide.csv");
        std::fs::write(&path, format!("{}\n1,2\n", wide.join(","))).unwrap();
        let mut buf = Vec::new();
        assert_eq!(read_file(&path, None, &mut buf).unwrap().fields, wide);
        let path = dir.path().join("endless.csv");
        std::fs::write(&path, vec![b'x'; MAX + 10]).unwrap();
        assert!(read_file(&path, None, &mut buf).unwrap_err().contains("no end of the first row"));
    }
}
