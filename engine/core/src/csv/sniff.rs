//! `delimiter: auto` / `quote: auto`: parse a sample with every candidate dialect and keep the
//! one most rows agree on — the most records sharing one field count (more than one field),
//! then the wider table, then the candidate listed first.

use super::scan::{Scanner, Syntax};

const DELIMITERS: [u8; 5] = [b',', b';', b'\t', b'|', b':'];
const QUOTES: [u8; 2] = [b'"', b'\''];
/// Records of the sample each candidate is judged on.
const RECORDS: usize = 200;

#[derive(Debug, PartialEq, PartialOrd)]
struct Score {
    agreeing: usize,
    width: usize,
}

/// Field counts of the first `RECORDS` records of `sample` read with `syntax`.
fn widths(sample: &[u8], syntax: Syntax, skip_rows: usize, complete: bool) -> Vec<usize> {
    let mut s = Scanner::new(sample, syntax, skip_rows, 0, 0);
    let Ok(Some(chunk)) = s.next_chunk(RECORDS + 1) else { return Vec::new() };
    let mut items = chunk.items.clone();
    if !complete && items.len() > 1 {
        items.pop(); // the sample may have cut the last record short
    }
    items.iter().filter(|i| i.bad.is_none()).map(|i| chunk.fields(i).len()).collect()
}

fn score(widths: &[usize]) -> Score {
    let mut counts = std::collections::BTreeMap::new();
    for &w in widths {
        *counts.entry(w).or_insert(0usize) += 1;
    }
    let (width, agreeing) = counts.into_iter().filter(|&(w, _)| w > 1).max_by_key(|&(w, n)| (n, w)).unwrap_or((1, 0));
    Score { agreeing, width }
}

/// Fill in what `syntax` leaves to the sniffer (`None` = auto); `complete` says the sample is
/// the whole file.
pub fn sniff(sample: &[u8], delimiter: Option<u8>, quote: Option<Option<u8>>, base: Syntax, skip_rows: usize, complete: bool) -> Syntax {
    let delimiters: Vec<u8> = delimiter.map_or_else(|| DELIMITERS.to_vec(), |d| vec![d]);
    let quotes: Vec<Option<u8>> = quote.map_or_else(|| QUOTES.iter().map(|&q| Some(q)).collect(), |q| vec![q]);
    // A backslash before a quote somewhere: try backslash escaping too.
    let escapes: Vec<Option<u8>> = if base.escape.is_none() && quotes.iter().flatten().any(|&q| sample.windows(2).any(|w| w == [b'\\', q])) {
        vec![None, Some(b'\\')]
    } else {
        vec![base.escape]
    };
    let mut best: Option<(Score, Syntax)> = None;
    for &d in &delimiters {
        for &q in &quotes {
            if q == Some(d) {
                continue;
            }
            for &e in &escapes {
                let syntax = Syntax { delimiter: d, quote: q, escape: e, ..base };
                let s = score(&widths(sample, syntax, skip_rows, complete));
                if best.as_ref().is_none_or(|(b, _)| s > *b) {
                    best = Some((s, syntax));
                }
            }
        }
    }
    best.map(|(_, s)| s).unwrap_or(Syntax { delimiter: delimiters[0], quote: quotes[0], ..base })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Syntax {
        Syntax { delimiter: b',', quote: Some(b'"'), escape: None, comment: None, trim: false }
    }

    #[test]
    fn finds_delimiter_and_quote() {
        let s = sniff(b"a;b;c\n1;2,5;x\n3;4,0;'y;z'\n", None, None, base(), 0, true);
        assert_eq!((s.delimiter, s.quote), (b';', Some(b'\'')));
        let s = sniff(b"a\tb\n1\t2\n", None, None, base(), 0, true);
        assert_eq!(s.delimiter, b'\t');
        let s = sniff(b"a|b|c\n\"x|y\"|2|3\n4|5|6\n", None, None, base(), 0, true);
        assert_eq!((s.delimiter, s.quote), (b'|', Some(b'"')));
        let s = sniff(b"a,b\n\"x \\\" y, z\",2\n3,4\n", None, None, base(), 0, true);
        assert_eq!(s.escape, Some(b'\\'));
    }

    #[test]
    fn keeps_what_is_given() {
        let s = sniff(b"a;b\n1;2\n", Some(b','), None, base(), 0, true);
        assert_eq!(s.delimiter, b',');
    }
}
