//! A record's fields, cut from its bytes once the scan has found where the record ends. A
//! field is a span of the chunk's own bytes whenever it can be (no copy): unquoted, or quoted
//! with nothing to unescape. Only a field with a doubled quote, an escape or text after its
//! closing quote is rebuilt, in a buffer of its own. Quotes open a field only at its start
//! (past blanks when trimming); a quote elsewhere is text.

use std::ops::Range;

use memchr::memchr2;

use super::scan::{Item, Syntax};

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    /// In `Fields::own` (unescaped) rather than in the chunk's bytes.
    own: bool,
}

/// The fields of one record at a time (the buffers are reused from record to record).
#[derive(Debug, Default)]
pub struct Fields {
    spans: Vec<Span>,
    own: Vec<u8>,
}

fn blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

impl Fields {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Cut `item`'s fields out of `raw` (the chunk's bytes).
    pub fn cut(&mut self, raw: &[u8], item: &Item, s: Syntax) {
        self.spans.clear();
        self.own.clear();
        // With trimming, a blank delimiter is skipped like any blank at a field's start.
        if item.plain && !(s.trim && blank(s.delimiter)) {
            self.cut_plain(raw, item.raw.clone(), s);
        } else {
            self.cut_quoted(raw, item.raw.clone(), s);
        }
    }

    /// Field `i`'s bytes.
    pub fn bytes<'a>(&'a self, raw: &'a [u8], i: usize) -> &'a [u8] {
        let sp = self.spans[i];
        if sp.own {
            &self.own[sp.start..sp.end]
        } else {
            &raw[sp.start..sp.end]
        }
    }

    fn push(&mut self, start: usize, end: usize, trim: bool, raw: &[u8]) {
        let (mut start, mut end) = (start, end.max(start));
        if trim {
            while start < end && blank(raw[start]) {
                start += 1;
            }
            while end > start && blank(raw[end - 1]) {
                end -= 1;
            }
        }
        self.spans.push(Span { start, end, own: false });
    }

    /// A record without quotes or escapes: fields end at delimiters, found eight bytes at a
    /// time (records are short, so one search call per field would cost more than the search).
    fn cut_plain(&mut self, raw: &[u8], record: Range<usize>, s: Syntax) {
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        let every = u64::from_ne_bytes([s.delimiter; 8]);
        let mut at = record.start;
        let mut i = record.start;
        while i + 8 <= record.end {
            let word = u64::from_le_bytes(raw[i..i + 8].try_into().expect("eight bytes"));
            let x = word ^ every;
            // The high bit of each byte of x that is zero, exactly (no carry crosses a byte).
            let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
            while hits != 0 {
                let d = i + (hits.trailing_zeros() / 8) as usize;
                self.push(at, d, s.trim, raw);
                at = d + 1;
                hits &= hits - 1;
            }
            i += 8;
        }
        for d in i..record.end {
            if raw[d] == s.delimiter {
                self.push(at, d, s.trim, raw);
                at = d + 1;
            }
        }
        self.push(at, record.end, s.trim, raw);
    }

    fn cut_quoted(&mut self, raw: &[u8], record: Range<usize>, s: Syntax) {
        let end = record.end;
        let escape_inside = s.escape_inside();
        let mut i = record.start;
        'fields: loop {
            if s.trim {
                while i < end && blank(raw[i]) {
                    i += 1;
                }
            }
            let mut f = Field { seg: i, own: None, quoted_end: None };
            if let Some(q) = s.quote.filter(|&q| i < end && raw[i] == q) {
                f.seg = i + 1;
                i += 1;
                loop {
                    let Some(at) = find(&raw[i..end], q, escape_inside).map(|at| i + at) else {
                        i = end; // unclosed (the scan made such a record bad): the rest is the field
                        break;
                    };
                    if raw[at] != q {
                        i = f.escaped(raw, &mut self.own, at, end);
                    } else if s.escape.is_none_or(|e| e == q) && at + 1 < end && raw[at + 1] == q {
                        f.spill(raw, &mut self.own, at + 1); // the doubled quote stands for one
                        f.seg = at + 2;
                        i = at + 2;
                    } else {
                        // The closing quote: the field ends here unless text follows it.
                        let stop = find(&raw[at + 1..end], s.delimiter, s.escape).map(|x| at + 1 + x);
                        let to = stop.unwrap_or(end);
                        let delimited = stop.is_none_or(|x| raw[x] == s.delimiter);
                        if delimited && (to == at + 1 || (s.trim && raw[at + 1..to].iter().all(|&b| blank(b)))) {
                            f.finish(raw, &mut self.own, at, false, &mut self.spans);
                            match stop {
                                None => return,
                                Some(_) => {
                                    i = to + 1;
                                    continue 'fields;
                                }
                            }
                        }
                        f.spill(raw, &mut self.own, at);
                        f.quoted_end = Some(self.own.len());
                        f.seg = at + 1;
                        i = at + 1;
                        break;
                    }
                }
            }
            // Unquoted text, up to the delimiter or the record's end.
            loop {
                match find(&raw[i..end], s.delimiter, s.escape).map(|x| i + x) {
                    Some(at) if raw[at] != s.delimiter => i = f.escaped(raw, &mut self.own, at, end),
                    Some(at) => {
                        f.finish(raw, &mut self.own, at, s.trim, &mut self.spans);
                        i = at + 1;
                        continue 'fields;
                    }
                    None => {
                        f.finish(raw, &mut self.own, end, s.trim, &mut self.spans);
                        return;
                    }
                }
            }
        }
    }
}

/// The field being cut: `raw[seg..]` not yet placed; once anything had to be unescaped, the
/// field lives in the own buffer from `own` on.
struct Field {
    seg: usize,
    own: Option<usize>,
    /// Where a closing quote's content ended in the own buffer (trimming stops there).
    quoted_end: Option<usize>,
}

impl Field {
    fn spill(&mut self, raw: &[u8], own: &mut Vec<u8>, upto: usize) {
        self.own.get_or_insert(own.len());
        own.extend_from_slice(&raw[self.seg..upto.max(self.seg)]);
    }

    /// The field ends at `end` (a delimiter or the record's end), trailing blanks trimmed.
    fn finish(&mut self, raw: &[u8], own: &mut Vec<u8>, end: usize, trim: bool, spans: &mut Vec<Span>) {
        match self.own {
            None => {
                let mut e = end.max(self.seg);
                if trim {
                    while e > self.seg && blank(raw[e - 1]) {
                        e -= 1;
                    }
                }
                spans.push(Span { start: self.seg, end: e, own: false });
            }
            Some(o) => {
                own.extend_from_slice(&raw[self.seg..end.max(self.seg)]);
                if trim {
                    let keep = self.quoted_end.unwrap_or(o);
                    while own.len() > keep && own.last().is_some_and(|&b| blank(b)) {
                        own.pop();
                    }
                }
                spans.push(Span { start: o, end: own.len(), own: true });
            }
        }
    }

    /// An escape at `at`: the byte after it is taken as it is. Returns where to go on.
    fn escaped(&mut self, raw: &[u8], own: &mut Vec<u8>, at: usize, end: usize) -> usize {
        self.spill(raw, own, at);
        own.extend_from_slice(&raw[(at + 1).min(end)..(at + 2).min(end)]);
        self.seg = (at + 2).min(end);
        self.seg
    }
}

/// The first `a` or `b` (when given) in `hay`.
fn find(hay: &[u8], a: u8, b: Option<u8>) -> Option<usize> {
    match b {
        None => memchr::memchr(a, hay),
        Some(b) => memchr2(a, b, hay),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records without quotes are cut at every delimiter wherever it falls against the
    /// eight-byte words (first, last, adjacent, in the tail), trimmed or not, as a plain split.
    #[test]
    fn plain_records_cut_as_a_split_does() {
        let mut draw = crate::draw::Draw(0x9E37_79B9_7F4A_7C15);
        let mut next = |n: usize| draw.below(n);
        let alphabet = b"ab;, \t:-\x80\xff;";
        for case in 0..5000 {
            let lead = next(9);
            let len = next(40);
            let raw: Vec<u8> = (0..lead + len + next(9)).map(|_| alphabet[next(alphabet.len())]).collect();
            let record = lead..lead + len;
            // (A blank delimiter with trimming is cut as a quoted record is: not this path.)
            for (delimiter, trim) in [(b';', false), (b';', true), (b',', false), (b'\t', false)] {
                let s = Syntax { delimiter, quote: None, escape: None, comment: None, trim };
                let item = Item { line: 1, offset: 0, raw: record.clone(), plain: true, bad: None };
                let mut f = Fields::default();
                f.cut(&raw, &item, s);
                let got: Vec<&[u8]> = (0..f.len()).map(|i| f.bytes(&raw, i)).collect();
                let want: Vec<&[u8]> =
                    raw[record.clone()].split(|&b| b == delimiter).map(|x| if trim { trim_blanks(x) } else { x }).collect();
                assert_eq!(got, want, "case {case}: {:?} delimiter {delimiter} trim {trim}", &raw[record.clone()]);
            }
        }
    }

    fn trim_blanks(mut x: &[u8]) -> &[u8] {
        while let [b, rest @ ..] = x {
            if !blank(*b) {
                break;
            }
            x = rest;
        }
        while let [rest @ .., b] = x {
            if !blank(*b) {
                break;
            }
            x = rest;
        }
        x
    }
}
