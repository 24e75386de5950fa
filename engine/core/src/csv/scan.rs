//! Where CSV records start and end, and which lines could not be records: the physical line
//! (every `\n`, `\r\n` or lone `\r` counts, inside quotes too) and the byte offset of each. A
//! quoted field that runs onto other lines and then never closes properly (no closing quote,
//! or one followed by text, or more than `MAX_QUOTED` bytes) was opened by a stray quote: it
//! costs only the line it opened on, which becomes a bad item, and the scan restarts on the
//! next line — one stray quote never swallows the rows after it.
//!
//! The scan looks only at quotes, escapes and line breaks (one memchr per record when a record
//! has none); delimiters matter only to tell whether a quote opens a field, which is read back
//! from the bytes before it. The fields themselves are cut later (`fields.rs`), by whichever
//! thread converts the chunk, so the one pass that must run in order stays light.

use std::io::{self, Read};
use std::ops::Range;

use memchr::{memchr2, memchr3};

use crate::pool::Spares;

/// A quoted field may span lines, but not more than this: past it, the quote is taken as stray.
pub const MAX_QUOTED: usize = 16 << 20;
/// Bytes read per fill; a chunk holds the whole records found in them.
const FILL: usize = 2 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    pub delimiter: u8,
    pub quote: Option<u8>,
    /// None: a doubled quote stands for one quote inside quotes.
    pub escape: Option<u8>,
    pub comment: Option<u8>,
    pub trim: bool,
}

impl Syntax {
    /// The escape character where it acts outside quotes: a delimiter or a line break wins over it.
    fn escape_outside(&self) -> Option<u8> {
        self.escape.filter(|&e| e != self.delimiter && e != b'\n' && e != b'\r')
    }

    /// The escape character where it acts inside quotes: the quote itself means doubling.
    pub fn escape_inside(&self) -> Option<u8> {
        self.escape.filter(|&e| Some(e) != self.quote && e != b'\n' && e != b'\r')
    }
}

/// One record, or one line that could not be a record (`bad` says why).
#[derive(Debug, Clone)]
pub struct Item {
    pub line: u64,
    pub offset: u64,
    /// The record's bytes in `Chunk::raw`, without its line terminator.
    pub raw: Range<usize>,
    /// No quote or escape character anywhere in it: its fields are cut at delimiters alone.
    pub plain: bool,
    pub bad: Option<String>,
}

/// Whole records of one stretch of input.
#[derive(Debug)]
pub struct Chunk {
    /// Offset of `raw[0]` in the input.
    pub start: u64,
    pub syntax: Syntax,
    pub raw: Vec<u8>,
    pub items: Vec<Item>,
}

impl Chunk {
    /// The unescaped bytes of each of `item`'s fields.
    pub fn fields(&self, item: &Item) -> Vec<Vec<u8>> {
        let mut cut = super::fields::Fields::default();
        cut.cut(&self.raw, item, self.syntax);
        (0..cut.len()).map(|i| cut.bytes(&self.raw, i).to_vec()).collect()
    }
}

enum Parsed {
    /// An item (or a skipped blank/comment line when `item` is false) ended; go on at `next`.
    Next { next: usize, lines: u64, item: bool },
    NeedMore,
    End,
}

/// The first of up to four bytes (`\n` and `\r` always among them).
#[derive(Clone, Copy)]
struct Stops {
    a: Option<u8>,
    b: Option<u8>,
}

impl Stops {
    fn new(a: Option<u8>, b: Option<u8>) -> Stops {
        let b = b.filter(|&b| Some(b) != a);
        match (a, b) {
            (None, b) => Stops { a: b, b: None },
            ab => Stops { a: ab.0, b: ab.1 },
        }
    }

    fn find(&self, hay: &[u8]) -> Option<usize> {
        match (self.a, self.b) {
            (None, _) => memchr2(b'\n', b'\r', hay),
            (Some(a), None) => memchr3(a, b'\n', b'\r', hay),
            (Some(a), Some(b)) => {
                let x = memchr2(a, b, hay);
                memchr2(b'\n', b'\r', &hay[..x.unwrap_or(hay.len())]).or(x)
            }
        }
    }
}

pub struct Scanner<R> {
    input: R,
    buf: Vec<u8>,
    spares: Spares<Item>,
    /// Items in the last chunk: room made for as many in the next.
    last_items: usize,
    /// Offset of `buf[0]` in the input, and its physical line.
    base: u64,
    line: u64,
    eof: bool,
    syntax: Syntax,
    skip_lines: usize,
    footer: usize,
    outside: Stops,
    inside: Stops,
    /// Bytes read before looking for records (more when one record is longer).
    fill_size: usize,
}

impl<R: Read> Scanner<R> {
    /// `base` is the offset of the first byte `input` yields (after a BOM).
    pub fn new(input: R, syntax: Syntax, skip_lines: usize, footer: usize, base: u64) -> Self {
        let outside = Stops::new(syntax.quote, syntax.escape_outside());
        let inside = Stops::new(syntax.quote, syntax.escape_inside());
        Scanner {
            input,
            buf: Vec::new(),
            spares: Spares::new(4 * FILL),
            last_items: 0,
            base,
            line: 1,
            eof: false,
            syntax,
            skip_lines,
            footer,
            outside,
            inside,
            fill_size: FILL,
        }
    }

    /// Where converted chunks' `(raw, items)` go back for this scanner to reuse: their memory is
    /// then not faulted in again.
    pub fn spares(&self) -> Spares<Item> {
        self.spares.clone()
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
        let mut want = self.fill_size;
        // A spare's bytes, taken with its items, until the buffer is cut.
        let mut spare_bytes = None;
        loop {
            self.fill(want)?;
            let mut items = match self.spares.take() {
                Some((bytes, items)) => {
                    spare_bytes.get_or_insert(bytes);
                    items
                }
                None => Vec::with_capacity(self.last_items.min(max_items)),
            };
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
            while skip == 0 && items.len() < max_items {
                match self.parse(pos, line, &mut items) {
                    Parsed::Next { next, lines, item } => {
                        if item && self.footer > 0 {
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
                let keep = items.len().saturating_sub(self.footer);
                if at_end {
                    items.truncate(keep); // the footer itself
                } else if keep == 0 {
                    want = want.max(self.buf.len()) * 2; // too few items to tell the footer yet
                    continue;
                } else if keep < items.len() {
                    // Held back: parsed again with what follows them.
                    (pos, line) = starts[keep];
                    items.truncate(keep);
                }
            }
            if pos == 0 && !self.eof {
                want = want.max(self.buf.len()) * 2; // one record longer than the buffer
                continue;
            }
            let mut rest = spare_bytes.take().unwrap_or_else(|| Vec::with_capacity(self.fill_size.max(self.buf.len() - pos)));
            rest.extend_from_slice(&self.buf[pos..]);
            let mut raw = std::mem::replace(&mut self.buf, rest);
            raw.truncate(pos);
            self.last_items = items.len();
            for item in &mut items {
                item.offset += self.base;
            }
            let chunk = Chunk { start: self.base, syntax: self.syntax, raw, items };
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

    /// Find the end of one record (or skip one blank/comment line) starting at `start`.
    fn parse(&self, start: usize, line: u64, items: &mut Vec<Item>) -> Parsed {
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
        let escape_outside = s.escape_outside();
        let mut i = start;
        let mut in_quotes = false;
        let mut plain = true;
        // The last byte an escape made literal (outside quotes): never a delimiter or a blank.
        let mut literal = usize::MAX;
        let mut breaks = 0u64;
        // End of the record's first physical line and the start of the next one.
        let mut first_line: Option<(usize, usize)> = None;
        let record_end: usize;
        let next: usize;
        loop {
            if i >= n {
                if !eof {
                    return Parsed::NeedMore;
                }
                if in_quotes {
                    return stray_quote(start, line, first_line, n, items);
                }
                record_end = n;
                next = n;
                break;
            }
            if in_quotes {
                if !eof && i - start > MAX_QUOTED && first_line.is_some() {
                    return stray_quote(start, line, first_line, n, items);
                }
                let Some(at) = self.inside.find(&buf[i..]).map(|at| i + at) else {
                    i = n;
                    continue;
                };
                let b = buf[at];
                if b == b'\n' || b == b'\r' {
                    let Some((_, len)) = line_end(&buf[at..], eof) else { return Parsed::NeedMore };
                    first_line.get_or_insert((at, at + len));
                    breaks += 1;
                    i = at + len;
                } else if Some(b) == s.quote {
                    if at + 1 >= n && !eof {
                        return Parsed::NeedMore;
                    }
                    let after = buf.get(at + 1).copied();
                    if s.escape.is_none_or(|e| Some(e) == s.quote) && after == Some(b) {
                        i = at + 2;
                    } else if breaks > 0 && after.is_some_and(|a| !closes(a, s)) {
                        // `"` then text, lines after the field opened: that opening quote was stray.
                        return stray_quote(start, line, first_line, n, items);
                    } else {
                        in_quotes = false;
                        i = at + 1;
                    }
                } else {
                    if at + 1 >= n && !eof {
                        return Parsed::NeedMore;
                    }
                    i = at + 2;
                }
                continue;
            }
            let Some(at) = self.outside.find(&buf[i..]).map(|at| i + at) else {
                i = n;
                continue;
            };
            let b = buf[at];
            if b == b'\n' || b == b'\r' {
                let Some((_, len)) = line_end(&buf[at..], eof) else { return Parsed::NeedMore };
                record_end = at;
                next = at + len;
                break;
            }
            plain = false;
            if Some(b) == s.quote && opens(buf, start, at, s, literal) {
                in_quotes = true;
                i = at + 1;
            } else if Some(b) == escape_outside {
                if at + 1 >= n && !eof {
                    return Parsed::NeedMore;
                }
                literal = at + 1;
                i = at + 2;
            } else {
                i = at + 1; // a quote inside an unquoted field is text
            }
        }
        items.push(Item { line, offset: start as u64, raw: start..record_end, plain, bad: None });
        Parsed::Next { next, lines: breaks + u64::from(next > record_end), item: true }
    }
}

fn stray_quote(start: usize, line: u64, first_line: Option<(usize, usize)>, n: usize, items: &mut Vec<Item>) -> Parsed {
    let (end, next) = first_line.unwrap_or((n, n));
    items.push(Item {
        line,
        offset: start as u64,
        raw: start..end,
        plain: false,
        bad: Some("unbalanced quote: a quoted field opened on this line does not close on it, and reading on gives a row of the wrong shape".into()),
    });
    Parsed::Next { next, lines: u64::from(next > end), item: true }
}

/// Does the quote at `at` (outside quotes, in the record starting at `start`) open a field?
/// It does where a field starts: at the record's start or after a delimiter, past blanks when
/// `trim` skips them. `literal` is the last byte an escape made literal, which is neither.
fn opens(buf: &[u8], start: usize, at: usize, s: Syntax, literal: usize) -> bool {
    let mut j = at;
    loop {
        if j == start {
            return true;
        }
        let b = buf[j - 1];
        if j - 1 == literal {
            return false;
        }
        if b == s.delimiter {
            return true;
        }
        if !(s.trim && (b == b' ' || b == b'\t')) {
            return false;
        }
        j -= 1;
    }
}

/// Can a closing quote be followed by `b`?
fn closes(b: u8, s: Syntax) -> bool {
    b == s.delimiter || b == b'\n' || b == b'\r' || (s.trim && (b == b' ' || b == b'\t'))
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
                    None => Ok(c.fields(it).iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()),
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

    /// Quote-aware chunking, whatever the read size and the chunk size: a quoted field with
    /// line breaks (`\n`, `\r\n`, `\r`), delimiters and doubled quotes in it is never split.
    /// Every record comes back whole, with its fields, its physical line and its offset.
    #[test]
    fn chunks_never_split_a_quoted_field() {
        let mut draw = crate::draw::Draw(0x2545_F491_4F6C_DD1D);
        let mut next = |n: usize| draw.below(n);
        let pieces = ["a", "b,c", "\n", "\r\n", "\r", "\"", "é", " ", "1", ","];
        let breaks = ["\n", "\r\n", "\r"];
        for case in 0..400 {
            let rows: Vec<Vec<String>> = (0..1 + next(30))
                .map(|_| (0..1 + next(4)).map(|_| (0..next(6)).map(|_| pieces[next(pieces.len())]).collect()).collect())
                .collect();
            let mut text = String::new();
            let mut want = Vec::new();
            for row in &rows {
                let offset = text.len() as u64;
                let cells: Vec<String> = row
                    .iter()
                    .map(|f| {
                        let needs = f.is_empty() && row.len() == 1 || f.contains(['"', ',', '\n', '\r']);
                        if needs || next(3) == 0 { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() }
                    })
                    .collect();
                text.push_str(&cells.join(","));
                want.push((count_breaks(&text.as_bytes()[..offset as usize]) + 1, offset, Ok(row.clone())));
                text.push_str(breaks[next(3)]);
            }
            for (fill, step, max) in [(FILL, usize::MAX, 1000), (1, 1, 1), (5, 3, 2), (64, 7, 1000), (16, 16, 3)] {
                let mut s = Scanner::new(crate::draw::Trickle(text.as_bytes(), step), syntax(), 0, 0, 0);
                s.fill_size = fill;
                let mut got = Vec::new();
                while let Some(c) = s.next_chunk(max).unwrap() {
                    for it in &c.items {
                        let fields = c.fields(it).iter().map(|f| String::from_utf8(f.clone()).unwrap()).collect();
                        got.push((it.line, it.offset, it.bad.clone().map_or(Ok(fields), Err)));
                    }
                }
                assert_eq!(got, want, "case {case}, fill {fill}, read {step}, chunk {max}: {text:?}");
            }
        }
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
            c.items.iter().map(|it| c.fields(it).iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()).collect();
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

    /// A chunk given back is taken for the next one, and what it held never leaks into it:
    /// records, lines and offsets are the same as a scan that kept every chunk.
    #[test]
    fn chunks_given_back_are_reused_whole() {
        let text: String = (0..5_000).map(|i| if i % 7 == 0 { format!("{i},\"a\nb\"\n") } else { format!("{i},x{i}\n") }).collect();
        let kept = scan(text.as_bytes(), syntax(), 300);
        let mut s = Scanner::new(crate::draw::Trickle(text.as_bytes(), 997), syntax(), 0, 0, 0);
        let spares = s.spares();
        let (mut got, mut buffers, mut reused) = (Vec::new(), Vec::new(), 0);
        while let Some(c) = s.next_chunk(300).unwrap() {
            assert!(spares.take().is_none(), "the chunk given back before this one was not taken");
            reused += usize::from(buffers.contains(&c.raw.as_ptr()));
            buffers.push(c.raw.as_ptr());
            for it in &c.items {
                let raw = String::from_utf8_lossy(&c.raw[it.raw.clone()]).into_owned();
                let fields = c.fields(it).iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                got.push((it.line, raw, Ok(fields)));
            }
            spares.give((c.raw, c.items));
        }
        assert_eq!(got, kept);
        assert!(reused * 2 > buffers.len(), "{reused} of {} chunks in a reused buffer", buffers.len());
    }
}
