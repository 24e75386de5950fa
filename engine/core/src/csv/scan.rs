//! Records out of CSV text, with where each one starts: the physical line (every `\n`, `\r\n`
//! or lone `\r` counts, inside quotes too) and the byte offset. A quoted field that runs onto
//! other lines and then never closes properly (no closing quote, or one followed by text, or
//! more than `MAX_QUOTED` bytes) was opened by a stray quote: it costs only the line it opened
//! on, which becomes a bad item, and the scan restarts on the next line — one stray quote never
//! swallows the rows after it.

use std::io::{self, Read};
use std::ops::Range;

use memchr::{memchr2, memchr3};

/// A quoted field may span lines, but not more than this: past it, the quote is taken as stray.
pub const MAX_QUOTED: usize = 16 << 20;
/// Bytes read per fill; a chunk holds the whole records found in them.
const FILL: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    pub delimiter: u8,
    pub quote: Option<u8>,
    /// None: a doubled quote stands for one quote inside quotes.
    pub escape: Option<u8>,
    pub comment: Option<u8>,
    pub trim: bool,
}

/// One record, or one line that could not be a record (`bad` says why).
#[derive(Debug, Clone)]
pub struct Item {
    pub line: u64,
    pub offset: u64,
    /// The record's bytes in `Chunk::raw`, without its line terminator.
    pub raw: Range<usize>,
    /// Its fields, as indexes into `Chunk::ends`.
    pub fields: Range<usize>,
    pub bad: Option<String>,
}

/// Whole records of one stretch of input: raw bytes, unescaped field bytes and their ends.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Offset of `raw[0]` in the input.
    pub start: u64,
    pub raw: Vec<u8>,
    pub data: Vec<u8>,
    pub ends: Vec<usize>,
    pub items: Vec<Item>,
}

impl Chunk {
    pub fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// The unescaped bytes of all of `item`'s fields, back to back.
    pub fn record_data(&self, item: &Item) -> &[u8] {
        if item.fields.is_empty() {
            return &[];
        }
        let start = if item.fields.start == 0 { 0 } else { self.ends[item.fields.start - 1] };
        &self.data[start..self.ends[item.fields.end - 1]]
    }
}

enum Parsed {
    /// An item (or a skipped blank/comment line when `item` is false) ended; go on at `next`.
    Next { next: usize, lines: u64, item: bool },
    NeedMore,
    End,
}

pub struct Scanner<R> {
    input: R,
    buf: Vec<u8>,
    /// Offset of `buf[0]` in the input, and its physical line.
    base: u64,
    line: u64,
    eof: bool,
    syntax: Syntax,
    skip_lines: usize,
    footer: usize,
}

impl<R: Read> Scanner<R> {
    /// `base` is the offset of the first byte `input` yields (after a BOM).
    pub fn new(input: R, syntax: Syntax, skip_lines: usize, footer: usize, base: u64) -> Self {
        Scanner { input, buf: Vec::new(), base, line: 1, eof: false, syntax, skip_lines, footer }
    }

    fn fill(&mut self, want: usize) -> io::Result<()> {
        while !self.eof && self.buf.len() < want {
            let len = self.buf.len();
            let grow = (want - len).max(64 << 10);
            self.buf.resize(len + grow, 0);
            let n = loop {
                match self.input.read(&mut self.buf[len..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            match n {
                Ok(n) => {
                    self.buf.truncate(len + n);
                    self.eof = n == 0;
                }
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The next chunk of at most `max_items` items; `None` at the end of the input.
    pub fn next_chunk(&mut self, max_items: usize) -> io::Result<Option<Chunk>> {
        let max_items = max_items.max(self.footer + 1);
        let mut want = FILL;
        loop {
            self.fill(want)?;
            let mut chunk = Chunk::default();
            let mut pos = 0;
            let mut line = self.line;
            let mut skip = self.skip_lines;
            while skip > 0 {
                match line_end(&self.buf[pos..], self.eof) {
                    Some((_, next)) => {
                        pos += next;
                        line += 1;
                        skip -= 1;
                    }
                    None if self.eof => {
                        pos = self.buf.len();
                        skip = 0;
                    }
                    None => break,
                }
            }
            // (start, line) of every item, to hold the last `footer` ones back.
            let mut starts: Vec<(usize, u64)> = Vec::new();
            while skip == 0 && chunk.items.len() < max_items {
                match self.parse(pos, line, &mut chunk) {
                    Parsed::Next { next, lines, item } => {
                        if item {
                            starts.push((pos, line));
                        }
                        pos = next;
                        line += lines;
                    }
                    Parsed::NeedMore | Parsed::End => break,
                }
            }
            let at_end = self.eof && pos == self.buf.len();
            if self.footer > 0 {
                let keep = chunk.items.len().saturating_sub(self.footer);
                if at_end {
                    chunk.items.truncate(keep); // the footer itself
                } else if keep == 0 {
                    want = want.max(self.buf.len()) * 2; // too few items to tell the footer yet
                    continue;
                } else if keep < chunk.items.len() {
                    // Held back: parsed again with what follows them.
                    (pos, line) = starts[keep];
                    chunk.ends.truncate(chunk.items[keep].fields.start);
                    chunk.data.truncate(chunk.ends.last().copied().unwrap_or(0));
                    chunk.items.truncate(keep);
                }
            }
            if pos == 0 && !self.eof {
                want = want.max(self.buf.len()) * 2; // one record longer than the buffer
                continue;
            }
            let rest = self.buf.split_off(pos);
            chunk.raw = std::mem::replace(&mut self.buf, rest);
            for item in &mut chunk.items {
                item.offset += self.base;
            }
            chunk.start = self.base;
            self.base += pos as u64;
            self.line = line;
            self.skip_lines = skip;
            if !chunk.items.is_empty() {
                return Ok(Some(chunk));
            }
            if self.eof && self.buf.is_empty() {
                return Ok(None);
            }
        }
    }

    /// Parse one record (or skip one blank/comment line) starting at `start`.
    fn parse(&self, start: usize, line: u64, chunk: &mut Chunk) -> Parsed {
        let buf = &self.buf[..];
        let n = buf.len();
        let eof = self.eof;
        let Some(&first) = buf.get(start) else { return if eof { Parsed::End } else { Parsed::NeedMore } };
        if first == b'\n' || first == b'\r' || Some(first) == self.syntax.comment {
            return match line_end(&buf[start..], eof) {
                Some((_, next)) => Parsed::Next { next: start + next, lines: 1, item: false },
                None if eof => Parsed::Next { next: n, lines: 0, item: false },
                None => Parsed::NeedMore,
            };
        }
        let s = self.syntax;
        let data0 = chunk.data.len();
        let ends0 = chunk.ends.len();
        let rollback = |chunk: &mut Chunk| {
            chunk.data.truncate(data0);
            chunk.ends.truncate(ends0);
        };
        let mut i = start;
        let mut in_quotes = false;
        let mut field_start = data0;
        let mut at_field_start = true;
        // Where the data of the current field's closing quote ended (trim stops there).
        let mut quoted_end: Option<usize> = None;
        let mut breaks = 0u64;
        // End of the record's first physical line and the start of the next one.
        let mut first_line: Option<(usize, usize)> = None;
        let end_field = |chunk: &mut Chunk, field_start: usize, quoted_end: Option<usize>| {
            if s.trim {
                let keep_to = quoted_end.unwrap_or(field_start);
                while chunk.data.len() > keep_to && matches!(chunk.data.last(), Some(b' ' | b'\t')) {
                    chunk.data.pop();
                }
            }
            chunk.ends.push(chunk.data.len());
        };
        let record_end: usize;
        let next: usize;
        loop {
            if i >= n {
                if !eof {
                    rollback(chunk);
                    return Parsed::NeedMore;
                }
                if in_quotes {
                    rollback(chunk);
                    return self.stray_quote(start, line, first_line, n, chunk);
                }
                end_field(chunk, field_start, quoted_end);
                record_end = n;
                next = n;
                break;
            }
            if in_quotes {
                if !eof && i - start > MAX_QUOTED && first_line.is_some() {
                    rollback(chunk);
                    return self.stray_quote(start, line, first_line, n, chunk);
                }
                let q = s.quote.expect("in quotes only with a quote character");
                let Some(at) = copy_until(buf, i, q, s.escape.filter(|&e| e != q), &mut chunk.data) else {
                    i = n;
                    continue;
                };
                i = at;
                let b = buf[i];
                if b == b'\n' || b == b'\r' {
                    let Some((_, len)) = line_end(&buf[i..], eof) else {
                        rollback(chunk);
                        return Parsed::NeedMore;
                    };
                    first_line.get_or_insert((i, i + len));
                    chunk.data.extend_from_slice(&buf[i..i + len]);
                    breaks += 1;
                    i += len;
                } else if b == q {
                    if i + 1 >= n && !eof {
                        rollback(chunk);
                        return Parsed::NeedMore;
                    }
                    let after = buf.get(i + 1).copied();
                    if s.escape.is_none_or(|e| e == q) && after == Some(q) {
                        chunk.data.push(q);
                        i += 2;
                    } else if breaks > 0 && after.is_some_and(|a| !closes(a, s)) {
                        // `"` then text, lines after the field opened: that opening quote was stray.
                        rollback(chunk);
                        return self.stray_quote(start, line, first_line, n, chunk);
                    } else {
                        in_quotes = false;
                        quoted_end = Some(chunk.data.len());
                        i += 1;
                    }
                } else {
                    let Some(next) = escaped(buf, i, eof, &mut chunk.data) else {
                        rollback(chunk);
                        return Parsed::NeedMore;
                    };
                    i = next;
                }
                continue;
            }
            if at_field_start {
                if s.trim {
                    while i < n && matches!(buf[i], b' ' | b'\t') {
                        i += 1;
                    }
                    if i >= n {
                        continue;
                    }
                }
                at_field_start = false;
                if Some(buf[i]) == s.quote {
                    in_quotes = true;
                    i += 1;
                    continue;
                }
            }
            let Some(at) = copy_until(buf, i, s.delimiter, s.escape, &mut chunk.data) else {
                i = n;
                continue;
            };
            i = at;
            let b = buf[i];
            if b == s.delimiter {
                end_field(chunk, field_start, quoted_end);
                i += 1;
                field_start = chunk.data.len();
                quoted_end = None;
                at_field_start = true;
            } else if b == b'\n' || b == b'\r' {
                let Some((_, len)) = line_end(&buf[i..], eof) else {
                    rollback(chunk);
                    return Parsed::NeedMore;
                };
                end_field(chunk, field_start, quoted_end);
                record_end = i;
                next = i + len;
                break;
            } else {
                let Some(next) = escaped(buf, i, eof, &mut chunk.data) else {
                    rollback(chunk);
                    return Parsed::NeedMore;
                };
                i = next;
            }
        }
        chunk.items.push(Item { line, offset: start as u64, raw: start..record_end, fields: ends0..chunk.ends.len(), bad: None });
        Parsed::Next { next, lines: breaks + u64::from(next > record_end), item: true }
    }

    fn stray_quote(&self, start: usize, line: u64, first_line: Option<(usize, usize)>, n: usize, chunk: &mut Chunk) -> Parsed {
        let (end, next) = first_line.unwrap_or((n, n));
        let ends = chunk.ends.len();
        chunk.items.push(Item {
            line,
            offset: start as u64,
            raw: start..end,
            fields: ends..ends,
            bad: Some("unbalanced quote: a quoted field opened on this line does not close on it, and reading on gives a row of the wrong shape".into()),
        });
        Parsed::Next { next, lines: u64::from(next > end), item: true }
    }
}

/// The escape character at `i`: the byte after it is taken literally; returns where to go on,
/// or None when that byte has not been read yet.
fn escaped(buf: &[u8], i: usize, eof: bool, data: &mut Vec<u8>) -> Option<usize> {
    if i + 1 >= buf.len() && !eof {
        return None;
    }
    if let Some(&lit) = buf.get(i + 1) {
        data.push(lit);
    }
    Some(i + 2)
}

/// Can a closing quote be followed by `b`?
fn closes(b: u8, s: Syntax) -> bool {
    b == s.delimiter || b == b'\n' || b == b'\r' || (s.trim && (b == b' ' || b == b'\t'))
}

/// Copy `buf[i..]` into `data` up to the first `stop`, `escape` or line break, and return that
/// byte's position; None when the buffer ends first (everything copied). Most fields are
/// short: the first `QUICK` bytes are looked at one by one (a SIMD search costs more to set up
/// than a short field takes to walk), the rest by memchr.
fn copy_until(buf: &[u8], i: usize, stop: u8, escape: Option<u8>, data: &mut Vec<u8>) -> Option<usize> {
    const QUICK: usize = 24;
    let hay = &buf[i..];
    let esc = escape.unwrap_or(b'\n');
    let near = hay.len().min(QUICK);
    let hit = match hay[..near].iter().position(|&b| b == stop || b == b'\n' || b == b'\r' || b == esc) {
        Some(at) => Some(at),
        None => match escape {
            None => memchr3(stop, b'\n', b'\r', &hay[near..]),
            Some(e) => find4(&hay[near..], stop, e),
        }
        .map(|at| near + at),
    };
    let end = hit.map_or(buf.len(), |off| i + off);
    data.extend_from_slice(&buf[i..end]);
    hit.map(|_| end)
}

/// Position of the first of `a`, `b`, `\n`, `\r` in `hay`.
fn find4(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let x = memchr2(a, b, hay);
    let y = memchr2(b'\n', b'\r', &hay[..x.unwrap_or(hay.len())]);
    y.or(x)
}

/// Where the line starting `hay` ends: (length without the terminator, length with it).
/// None when more input is needed to know (no terminator yet, or a `\r` at the very end).
pub fn line_end(hay: &[u8], eof: bool) -> Option<(usize, usize)> {
    let i = memchr2(b'\n', b'\r', hay)?;
    if hay[i] == b'\n' {
        return Some((i, i + 1));
    }
    match hay.get(i + 1) {
        Some(b'\n') => Some((i, i + 2)),
        Some(_) => Some((i, i + 1)),
        None if eof => Some((i, i + 1)),
        None => None,
    }
}

/// Count physical lines in `text` (a `\r\n` is one break).
#[cfg(test)]
pub fn count_breaks(text: &[u8]) -> u64 {
    let mut n = 0;
    let mut i = 0;
    while let Some(off) = memchr2(b'\n', b'\r', &text[i..]) {
        let at = i + off;
        n += 1;
        i = at + if text[at] == b'\r' && text.get(at + 1) == Some(&b'\n') { 2 } else { 1 };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax() -> Syntax {
        Syntax { delimiter: b',', quote: Some(b'"'), escape: None, comment: None, trim: false }
    }

    /// (line, raw, fields or the bad reason) of every item, read in chunks of `max` items.
    fn scan(text: &[u8], syntax: Syntax, max: usize) -> Vec<(u64, String, Result<Vec<String>, String>)> {
        let mut s = Scanner::new(text, syntax, 0, 0, 0);
        let mut out = Vec::new();
        while let Some(c) = s.next_chunk(max).unwrap() {
            for it in &c.items {
                let raw = String::from_utf8_lossy(&c.raw[it.raw.clone()]).into_owned();
                let fields = match &it.bad {
                    Some(why) => Err(why.clone()),
                    None => Ok(it.fields.clone().map(|f| String::from_utf8_lossy(c.field(f)).into_owned()).collect()),
                };
                out.push((it.line, raw, fields));
            }
        }
        out
    }

    fn ok(v: &[&str]) -> Result<Vec<String>, String> {
        Ok(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn physical_lines_after_quoted_newlines() {
        let text = b"a,b\n\"x\ny\",1\r\n\r\nz,2\rw,\"3\"\"\"\n";
        let items = scan(text, syntax(), 100);
        assert_eq!(items[0], (1, "a,b".into(), ok(&["a", "b"])));
        assert_eq!(items[1], (2, "\"x\ny\",1".into(), ok(&["x\ny", "1"])));
        assert_eq!(items[2], (5, "z,2".into(), ok(&["z", "2"])));
        assert_eq!(items[3], (6, "w,\"3\"\"\"".into(), ok(&["w", "3\""])));
        assert_eq!(items.len(), 4);
    }

    #[test]
    fn stray_quote_costs_one_line() {
        let text = b"a,b\n1,\"oops\n2,x\n3,\"y\"\n";
        let items = scan(text, syntax(), 100);
        assert_eq!(items[1].0, 2);
        assert_eq!(items[1].1, "1,\"oops");
        assert!(items[1].2.is_err());
        assert_eq!(items[2], (3, "2,x".into(), ok(&["2", "x"])));
        assert_eq!(items[3], (4, "3,\"y\"".into(), ok(&["3", "y"])));
        // Unclosed at the end of the file.
        let items = scan(b"a,b\n1,\"oops", syntax(), 100);
        assert!(items[1].2.is_err(), "{items:?}");
    }

    #[test]
    fn same_items_whatever_the_chunking() {
        let mut text = Vec::new();
        for i in 0..5000 {
            match i % 7 {
                0 => text.extend_from_slice(format!("\"q{i}\nline\",{i}\n").as_bytes()),
                3 => text.extend_from_slice(format!("{i},\"bad\n").as_bytes()),
                5 => text.extend_from_slice(b"\r\n"),
                _ => text.extend_from_slice(format!("{i},v{i}\r\n").as_bytes()),
            }
        }
        let whole = scan(&text, syntax(), usize::MAX);
        for max in [1, 7, 1000] {
            assert_eq!(scan(&text, syntax(), max), whole, "max {max}");
        }
        // Lines are physical: the last item's line = breaks before it + 1.
        let (line, raw, _) = whole.last().unwrap();
        let at = text.len() - raw.len() - 2;
        assert_eq!(*line, count_breaks(&text[..at]) + 1);
    }

    #[test]
    fn escape_comment_trim_and_footer() {
        let syn = Syntax { escape: Some(b'\\'), comment: Some(b'#'), trim: true, ..syntax() };
        let text = b"# note\n a , \"b \\\" c\" \n x\\,y ,2\nfoot\n";
        let mut s = Scanner::new(&text[..], syn, 0, 1, 0);
        let c = s.next_chunk(100).unwrap().unwrap();
        let rows: Vec<Vec<String>> =
            c.items.iter().map(|it| it.fields.clone().map(|f| String::from_utf8_lossy(c.field(f)).into_owned()).collect()).collect();
        assert_eq!(rows, vec![vec!["a".to_string(), "b \" c".into()], vec!["x,y".into(), "2".into()]]);
        assert_eq!(c.items[0].line, 2);
    }

    #[test]
    fn skip_rows_and_offsets() {
        let text = b"title\n\nx,y\n1,2\n";
        let mut s = Scanner::new(&text[..], syntax(), 2, 0, 3);
        let c = s.next_chunk(100).unwrap().unwrap();
        assert_eq!(c.items[0].line, 3);
        assert_eq!(c.items[0].offset, 3 + 7);
        assert_eq!(c.items[1].offset, 3 + 11);
    }
}
