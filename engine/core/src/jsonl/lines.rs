//! JSON lines gathered into chunks: the input is read straight into a chunk's buffer and cut at
//! its newlines (memchr), not copied out line by line; the part of a line a chunk's last read
//! cut off starts the next chunk. Buffers come back (`spares`) once their chunk is decoded.

use std::io::{self, Read};
use std::ops::Range;

use memchr::memchr;

use crate::pool::{Buffers, Spares};

/// Bytes of lines gathered into one chunk at most (a longer line is a chunk of its own).
const CHUNK_BYTES: usize = 2 << 20;
/// Bytes asked of the input per read.
const READ: usize = 1 << 20;

/// One line of a chunk: where it is in the file and its bytes in the chunk's buffer, without its
/// line terminator.
pub struct Line {
    pub number: u64,
    pub offset: u64,
    pub text: Range<usize>,
}

pub type Chunk = Buffers<Line>;

pub struct Gather<R> {
    input: R,
    /// Bytes read past the last line of the last chunk: the next chunk starts with them.
    carry: Vec<u8>,
    /// Lines seen so far, and the input offset of `carry[0]`.
    number: u64,
    offset: u64,
    eof: bool,
    spares: Spares<Line>,
}

impl<R: Read> Gather<R> {
    pub fn new(input: R) -> Self {
        Gather { input, carry: Vec::new(), number: 0, offset: 0, eof: false, spares: Spares::new(4 * (CHUNK_BYTES + READ)) }
    }

    /// Where decoded chunks go back, emptied, to be filled again.
    pub fn spares(&self) -> Spares<Line> {
        self.spares.clone()
    }

    /// The next chunk of up to `max_lines` lines, or None at the end. Blank lines are counted
    /// (line numbers are physical) but not kept.
    pub fn next_chunk(&mut self, max_lines: usize) -> io::Result<Option<Chunk>> {
        let (mut buf, mut lines) = self.spares.take().unwrap_or_else(|| (Vec::with_capacity(CHUNK_BYTES + READ), Vec::new()));
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        let mut base = self.offset;
        // `start`: where the line being gathered starts; `scanned`: how far newlines were sought.
        let (mut start, mut scanned) = (0, 0);
        'gather: loop {
            while let Some(at) = memchr(b'\n', &buf[scanned..]) {
                let end = scanned + at;
                self.line(&buf, start..end, base, &mut lines);
                start = end + 1;
                scanned = start;
                if lines.len() >= max_lines.max(1) || (start >= CHUNK_BYTES && !lines.is_empty()) {
                    break 'gather;
                }
            }
            scanned = buf.len();
            if self.eof {
                if start < buf.len() {
                    self.line(&buf, start..buf.len(), base, &mut lines);
                    start = buf.len();
                }
                break;
            }
            if lines.is_empty() && start > 0 {
                // Only blank lines so far: they need not be kept.
                buf.drain(..start);
                base += start as u64;
                scanned -= start;
                start = 0;
            }
            let len = buf.len();
            buf.resize(len + READ, 0);
            let read = loop {
                match self.input.read(&mut buf[len..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            let n = read?;
            buf.truncate(len + n);
            self.eof = n == 0;
        }
        self.carry.extend_from_slice(&buf[start..]);
        buf.truncate(start);
        self.offset = base + start as u64;
        Ok((!lines.is_empty()).then_some((buf, lines)))
    }

    fn line(&mut self, buf: &[u8], text: Range<usize>, base: u64, lines: &mut Vec<Line>) {
        self.number += 1;
        let mut end = text.end;
        while end > text.start && buf[end - 1] == b'\r' {
            end -= 1;
        }
        if !buf[text.start..end].iter().all(u8::is_ascii_whitespace) {
            lines.push(Line { number: self.number, offset: base + text.start as u64, text: text.start..end });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::{Draw, Trickle};

    /// (number, offset, text) of every kept line, the slow way: split at each newline.
    fn by_hand(text: &[u8]) -> Vec<(u64, u64, Vec<u8>)> {
        let mut out = Vec::new();
        let (mut offset, mut number) = (0u64, 0u64);
        let mut rest = text;
        while !rest.is_empty() {
            let cut = rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| i + 1);
            let mut line = &rest[..cut];
            number += 1;
            while let [head @ .., b'\n' | b'\r'] = line {
                line = head;
            }
            if !line.iter().all(u8::is_ascii_whitespace) {
                out.push((number, offset, line.to_vec()));
            }
            offset += cut as u64;
            rest = &rest[cut..];
        }
        out
    }

    /// Lines cut anywhere by the reads, blank runs, `\r\n`, a last line without a newline and
    /// chunks that end on the line limit: the same lines, numbers and offsets as splitting by
    /// hand, whatever the read size, with the buffers going round.
    #[test]
    fn lines_cut_anywhere_by_the_reads_come_out_whole() {
        let mut r = Draw(0x9e37_79b9_7f4a_7c15);
        for case in 0..200 {
            let mut text = Vec::new();
            for _ in 0..r.below(60) {
                match r.below(6) {
                    0 => text.extend_from_slice(b"\n"),
                    1 => text.extend_from_slice(b"  \t\r\n"),
                    2 => text.extend_from_slice(b"{\"a\":1}\r\n"),
                    _ => {
                        let n = r.below(40);
                        text.extend((0..n).map(|i| b'a' + (i % 26) as u8));
                        text.push(b'\n');
                    }
                }
            }
            if r.below(2) == 0 {
                text.extend_from_slice(b"{\"last\":true}");
            }
            let want = by_hand(&text);
            let step = 1 + r.below(50);
            let max = 1 + r.below(7);
            let mut g = Gather::new(Trickle(&text, step));
            let spares = g.spares();
            let mut got = Vec::new();
            while let Some((buf, lines)) = g.next_chunk(max).unwrap() {
                assert!(spares.take().is_none(), "case {case}: the chunk given back before this one was not taken");
                assert!(lines.len() <= max, "case {case}: {} lines in a chunk of at most {max}", lines.len());
                got.extend(lines.iter().map(|l| (l.number, l.offset, buf[l.text.clone()].to_vec())));
                spares.give((buf, lines));
            }
            assert_eq!(got, want, "case {case}, reads of {step}, {max} lines a chunk");
        }
    }

    #[test]
    fn a_read_error_comes_through() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let e = Gather::new(Broken).next_chunk(10).err().expect("an error");
        assert_eq!(e.to_string(), "disk on fire");
    }
}
