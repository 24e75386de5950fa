//! Line steps: keep or drop lines matching a literal (memchr's SIMD search over whole
//! blocks, never line by line) or a regex, then optionally summarise what was kept.

use std::collections::HashMap;
use std::io::{Read, Write};

use memchr::memmem;
use regex::bytes::{Regex, RegexBuilder};

use crate::codec::classify_io;
use crate::error::{Error, Result};
use crate::plan::{Grep, WordFreq};

const BLOCK: usize = 1 << 20;
const MAX_LINE: usize = 256 << 20;

pub enum Matcher {
    Literal(Box<memmem::Finder<'static>>),
    Regex(Regex),
}

impl Matcher {
    pub fn new(step: usize, g: &Grep) -> Result<Matcher> {
        if g.pattern.is_empty() {
            return Err(Error::plan(step, "grep: pattern is empty"));
        }
        if !g.regex && !g.ignore_case {
            return Ok(Matcher::Literal(Box::new(memmem::Finder::new(g.pattern.as_bytes()).into_owned())));
        }
        let pattern = if g.regex { g.pattern.clone() } else { regex::escape(&g.pattern) };
        RegexBuilder::new(&pattern)
            .case_insensitive(g.ignore_case)
            .multi_line(true)
            .build()
            .map(Matcher::Regex)
            .map_err(|e| Error::plan(step, format!("grep: bad regex {:?}: {e}", g.pattern)))
    }

    /// Start of the first match at or after `from`.
    fn find(&self, hay: &[u8], from: usize) -> Option<usize> {
        match self {
            Matcher::Literal(f) => f.find(&hay[from..]).map(|i| from + i),
            Matcher::Regex(r) => r.find_at(hay, from).map(|m| m.start()),
        }
    }

    fn is_match(&self, line: &[u8]) -> bool {
        match self {
            Matcher::Literal(f) => f.find(line).is_some(),
            Matcher::Regex(r) => r.is_match(line),
        }
    }
}

pub struct LineFilter {
    pub matcher: Matcher,
    pub invert: bool,
}

/// Where kept lines go: the output bytes, or a summary computed over them.
pub trait LineSink {
    fn lines(&mut self, data: &[u8]) -> Result<()>;
}

pub struct Counts {
    pub lines: u64,
    pub words: u64,
    pub bytes: u64,
}

impl LineSink for Counts {
    fn lines(&mut self, data: &[u8]) -> Result<()> {
        self.lines += count_lines(data);
        self.bytes += data.len() as u64;
        self.words += data.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()).count() as u64;
        Ok(())
    }
}

pub struct Frequencies {
    counts: HashMap<Vec<u8>, u64>,
    spec: WordFreq,
}

impl Frequencies {
    pub fn new(spec: &WordFreq) -> Self {
        Frequencies { counts: HashMap::new(), spec: spec.clone() }
    }

    /// `word,count` rows, most frequent first (ties alphabetical), at most `top`.
    pub fn csv(self) -> Vec<u8> {
        let mut rows: Vec<(Vec<u8>, u64)> = self.counts.into_iter().collect();
        rows.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows.truncate(self.spec.top.unwrap_or(usize::MAX));
        let mut out = b"word,count\n".to_vec();
        for (w, n) in rows {
            out.extend_from_slice(String::from_utf8_lossy(&w).as_bytes());
            out.extend_from_slice(format!(",{n}\n").as_bytes());
        }
        out
    }
}

impl LineSink for Frequencies {
    fn lines(&mut self, data: &[u8]) -> Result<()> {
        // A word is a run of letters, digits, apostrophes or non-ASCII bytes (UTF-8 letters).
        for word in data.split(|b| !(b.is_ascii_alphanumeric() || *b == b'\'' || *b >= 0x80)) {
            if word.is_empty() {
                continue;
            }
            let key = if self.spec.lowercase { word.to_ascii_lowercase() } else { word.to_vec() };
            if let Some(n) = self.counts.get_mut(&key) {
                *n += 1;
            } else {
                if self.counts.len() >= self.spec.max_words {
                    return Err(Error::Limit(format!(
                        "word_freq: more than {} distinct words (max_words)",
                        self.spec.max_words
                    )));
                }
                self.counts.insert(key, 1);
            }
        }
        Ok(())
    }
}

pub struct WriteLines<'a, W: Write>(pub &'a mut W, pub &'a str);

impl<W: Write> LineSink for WriteLines<'_, W> {
    fn lines(&mut self, data: &[u8]) -> Result<()> {
        self.0.write_all(data).map_err(|e| Error::storage(self.1, e))
    }
}

pub fn count_lines(data: &[u8]) -> u64 {
    bytecount::count(data, b'\n') as u64
}

#[derive(Default, Debug)]
pub struct LineStats {
    pub lines_in: u64,
    pub lines_out: u64,
}

/// Stream `input` block by block, hand every kept line (with its newline) to `sink`.
/// `tick` runs once per block so the caller can report progress and cancel.
///
/// A `pravah-read` thread reads (and decodes) the next blocks while this one searches: reading
/// is the larger half of a grep (the kernel's copy out of the page cache was 60 % of B7's
/// samples), so the two overlap. A line cut by a block's end is carried to the next one.
pub fn filter_lines(
    input: &mut (dyn Read + Send),
    uri: &str,
    filters: &[LineFilter],
    sink: &mut dyn LineSink,
    tick: &mut dyn FnMut(&LineStats) -> Result<()>,
) -> Result<LineStats> {
    const BUFFERS: usize = 3;
    let (full, filled) = std::sync::mpsc::sync_channel::<Result<(Vec<u8>, usize)>>(BUFFERS);
    let (back, empty) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("pravah-read".into())
            .spawn_scoped(scope, move || {
                for made in 0.. {
                    let mut buf = if made < BUFFERS {
                        vec![0u8; BLOCK]
                    } else {
                        match empty.recv() {
                            Ok(buf) => buf,
                            Err(_) => return, // the searcher stopped
                        }
                    };
                    let read = input.read(&mut buf).map_err(|e| classify_io(uri, e));
                    let end = !matches!(read, Ok(n) if n > 0);
                    if full.send(read.map(|n| (buf, n))).is_err() || end {
                        return;
                    }
                }
            })
            .map_err(|e| Error::Internal(format!("could not start the reader thread: {e}")))?;
        let mut stats = LineStats::default();
        let mut carry: Vec<u8> = Vec::new(); // the start of a line the last block cut
        for read in filled {
            let (buf, n) = read?;
            let data = &buf[..n];
            if n == 0 {
                break;
            }
            stats.lines_in += count_lines(data);
            let mut from = 0;
            if !carry.is_empty() {
                match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        carry.extend_from_slice(&data[..=i]);
                        stats.lines_out += filter_block(&carry, filters, sink)?;
                        carry.clear();
                        from = i + 1;
                    }
                    None => {
                        carry.extend_from_slice(data); // the line goes on past this block too
                        from = n;
                    }
                }
            }
            let to = memchr::memrchr(b'\n', &data[from..]).map_or(from, |i| from + i + 1);
            stats.lines_out += filter_block(&data[from..to], filters, sink)?;
            carry.extend_from_slice(&data[to..]);
            if carry.len() > MAX_LINE {
                return Err(Error::input(uri, format!("a line is longer than {} MiB", MAX_LINE >> 20)));
            }
            let _ = back.send(buf); // the reader may have ended
            tick(&stats)?;
        }
        if !carry.is_empty() {
            stats.lines_in += 1; // the last line, with no newline
            stats.lines_out += filter_block(&carry, filters, sink)?;
            tick(&stats)?;
        }
        Ok(stats)
    })
}

/// Filter one block of whole lines; returns how many lines were kept.
fn filter_block(block: &[u8], filters: &[LineFilter], sink: &mut dyn LineSink) -> Result<u64> {
    let Some((first, rest)) = filters.split_first() else {
        sink.lines(block)?;
        return Ok(count_lines(block) + u64::from(!block.is_empty() && !block.ends_with(b"\n")));
    };
    let line_end = |from: usize| memchr::memchr(b'\n', &block[from..]).map(|i| from + i + 1).unwrap_or(block.len());
    let mut kept = 0u64;
    let mut emit = |line: &[u8], sink: &mut dyn LineSink| -> Result<()> {
        if rest.iter().all(|f| f.matcher.is_match(line) != f.invert) {
            kept += 1;
            sink.lines(line)?;
        }
        Ok(())
    };
    let mut pos = 0;
    while pos < block.len() {
        let Some(hit) = first.matcher.find(block, pos) else {
            if first.invert {
                let mut s = pos;
                while s < block.len() {
                    let e = line_end(s);
                    emit(&block[s..e], sink)?;
                    s = e;
                }
            }
            break;
        };
        let start = memchr::memrchr(b'\n', &block[pos..hit]).map(|i| pos + i + 1).unwrap_or(pos);
        let end = line_end(hit);
        if first.invert {
            let mut s = pos;
            while s < start {
                let e = line_end(s);
                emit(&block[s..e], sink)?;
                s = e;
            }
        } else {
            emit(&block[start..end], sink)?;
        }
        pos = end;
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grep(data: &str, pattern: &str, regex: bool, ignore_case: bool, invert: bool) -> (String, LineStats) {
        let g = Grep { pattern: pattern.into(), regex, ignore_case, invert };
        let filters = vec![LineFilter { matcher: Matcher::new(0, &g).unwrap(), invert }];
        let mut out = Vec::new();
        let stats = filter_lines(&mut data.as_bytes(), "mem", &filters, &mut WriteLines(&mut out, "mem"), &mut |_| Ok(())).unwrap();
        (String::from_utf8(out).unwrap(), stats)
    }

    #[test]
    fn keeps_matching_lines() {
        let data = "ok 1\nERROR a\nok 2\nERROR b\nlast ERROR";
        let cases = [
            ("ERROR", false, false, false, "ERROR a\nERROR b\nlast ERROR", 3),
            ("error", false, true, false, "ERROR a\nERROR b\nlast ERROR", 3),
            ("^ERROR", true, false, false, "ERROR a\nERROR b\n", 2),
            ("ERROR", false, false, true, "ok 1\nok 2\n", 2),
            ("nomatch", false, false, false, "", 0),
        ];
        for (p, re, ci, inv, want, kept) in cases {
            let (got, stats) = grep(data, p, re, ci, inv);
            assert_eq!(got, want, "{p} re={re} ci={ci} inv={inv}");
            assert_eq!(stats.lines_out, kept);
            assert_eq!(stats.lines_in, 5);
        }
    }

    #[test]
    fn matches_across_block_boundaries() {
        let line = "x".repeat(1000) + "\n";
        let mut data = String::new();
        for i in 0..20_000 {
            data.push_str(if i % 97 == 0 { "ERROR here\n" } else { &line });
        }
        let (got, stats) = grep(&data, "ERROR", false, false, false);
        assert_eq!(stats.lines_out, (0..20_000).filter(|i| i % 97 == 0).count() as u64);
        assert_eq!(got.lines().count() as u64, stats.lines_out);
    }

    #[test]
    fn lines_cut_anywhere_by_the_reads_are_filtered_whole() {
        // Reads end mid-line, on a newline, and inside lines longer than a read; the result
        // must be that of filtering each line on its own.
        let mut draw = crate::draw::Draw(0x2545_F491_4F6C_DD1D);
        for round in 0..200 {
            let mut data = Vec::new();
            for _ in 0..draw.below(30) {
                let words = ["ERROR", "ok", "err", "x", "", "ERRO", "RROR"];
                for _ in 0..draw.below(12) {
                    data.extend_from_slice(draw.pick(&words).as_bytes());
                }
                data.push(b'\n');
            }
            if round % 2 == 1 {
                data.extend_from_slice(b"tail ERROR"); // a last line with no newline
            }
            for invert in [false, true] {
                let g = Grep { pattern: "ERROR".into(), regex: false, ignore_case: false, invert };
                let filters = vec![LineFilter { matcher: Matcher::new(0, &g).unwrap(), invert }];
                let mut out = Vec::new();
                let mut input = crate::draw::Trickle(&data, 1 + (round as usize * 7) % 40);
                let stats = filter_lines(&mut input, "mem", &filters, &mut WriteLines(&mut out, "mem"), &mut |_| Ok(())).unwrap();
                let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
                let want: Vec<u8> = lines.iter().filter(|l| memmem::find(l, b"ERROR").is_some() != invert).flat_map(|l| l.iter().copied()).collect();
                assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(&want), "round {round} invert {invert}");
                assert_eq!(stats.lines_in, lines.len() as u64, "round {round}");
                assert_eq!(stats.lines_out, lines.iter().filter(|l| memmem::find(l, b"ERROR").is_some() != invert).count() as u64);
            }
        }
    }

    #[test]
    fn a_read_error_and_a_stop_end_the_filter() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk gone"))
            }
        }
        let filters = Vec::new();
        let mut out = Vec::new();
        let err = filter_lines(&mut Broken, "file:///a.log", &filters, &mut WriteLines(&mut out, "mem"), &mut |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("disk gone"), "{err}");
        // A stop asked by the caller (a cancel) ends it at once, the endless reader too.
        let mut endless = std::io::repeat(b'a').take(u64::MAX);
        let err = filter_lines(&mut endless, "mem", &filters, &mut WriteLines(&mut out, "mem"), &mut |_| Err(Error::Cancelled)).unwrap_err();
        assert!(matches!(err, Error::Cancelled));
    }

    #[test]
    fn word_frequencies() {
        let spec = WordFreq { top: Some(2), lowercase: true, max_words: 100 };
        let mut f = Frequencies::new(&spec);
        f.lines(b"The cat, the hat.\nthe end\n").unwrap();
        assert_eq!(String::from_utf8(f.csv()).unwrap(), "word,count\nthe,3\ncat,1\n");
    }

    #[test]
    fn word_limit() {
        let spec = WordFreq { top: None, lowercase: true, max_words: 2 };
        let mut f = Frequencies::new(&spec);
        assert!(matches!(f.lines(b"a b c"), Err(Error::Limit(_))));
    }
}
