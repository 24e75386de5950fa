//! gzip on every core, as pigz does it: the input is cut into blocks deflated side by side,
//! each primed with the 32 KiB before it and ended by a sync flush, and their streams are
//! written in order as the one deflate stream of one gzip member (the CRC combined from the
//! blocks'). Any gunzip reads it; it is within a few bytes per block of a one-thread gzip.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress, Status};

const BLOCK: usize = 1 << 20;
const WINDOW: usize = 32 << 10;

type Deflated = io::Result<(Vec<u8>, crc32fast::Hasher)>;

pub struct ParallelGzip<W: Write> {
    inner: W,
    level: u32,
    threads: usize,
    block: Vec<u8>,
    /// The last `WINDOW` bytes before `block`: the dictionary its deflate starts with.
    window: Vec<u8>,
    pending: VecDeque<JoinHandle<Deflated>>,
    crc: crc32fast::Hasher,
    size: u64,
}

impl<W: Write> ParallelGzip<W> {
    pub fn new(mut inner: W, level: u32, threads: usize) -> io::Result<Self> {
        let level = level.min(9);
        let xfl = match level {
            9 => 2,
            0 | 1 => 4,
            _ => 0,
        };
        // Magic, deflate, no flags, no time stamp, extra flags, OS unknown.
        inner.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 0xff])?;
        let block = Vec::with_capacity(BLOCK);
        Ok(ParallelGzip { inner, level, threads: threads.max(1), block, window: Vec::new(), pending: VecDeque::new(), crc: Default::default(), size: 0 })
    }

    /// Hand the full block to a thread (waiting for the oldest one when all are busy).
    fn dispatch(&mut self) -> io::Result<()> {
        while self.pending.len() >= self.threads {
            self.write_oldest()?;
        }
        let data = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
        let window = std::mem::replace(&mut self.window, data[data.len().saturating_sub(WINDOW)..].to_vec());
        let level = self.level;
        self.pending.push_back(std::thread::spawn(move || deflate(&data, &window, level, false)));
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        let Some(handle) = self.pending.pop_front() else { return Ok(()) };
        let (out, crc) = handle.join().map_err(|_| io::Error::other("a gzip thread panicked"))??;
        self.crc.combine(&crc);
        self.inner.write_all(&out)
    }

    /// The last block (deflated here, ending the stream), the trailer; `inner` back.
    pub fn finish(mut self) -> io::Result<W> {
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        let (out, crc) = deflate(&self.block, &self.window, self.level, true)?;
        self.crc.combine(&crc);
        self.inner.write_all(&out)?;
        self.inner.write_all(&self.crc.clone().finalize().to_le_bytes())?;
        self.inner.write_all(&(self.size as u32).to_le_bytes())?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.block.len() == BLOCK {
            self.dispatch()?; // more follows, so this block is not the last
        }
        let n = buf.len().min(BLOCK - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Raw deflate of `data` primed with `window`: ended by a sync flush (byte-aligned, more
/// blocks may follow) or, for the last, by the final block.
fn deflate(data: &[u8], window: &[u8], level: u32, last: bool) -> Deflated {
    let mut c = Compress::new(Compression::new(level), false);
    if !window.is_empty() {
        c.set_dictionary(window).map_err(io::Error::other)?;
    }
    let flush = if last { FlushCompress::Finish } else { FlushCompress::Sync };
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(64 << 10));
        }
        let status = c.compress_vec(&data[c.total_in() as usize..], &mut out, flush).map_err(io::Error::other)?;
        let consumed = c.total_in() as usize == data.len();
        // Done: the final block written, or (sync) all input in and room left over.
        if status == Status::StreamEnd || (!last && consumed && out.len() < out.capacity()) {
            break;
        }
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(data);
    Ok((out, crc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(packed: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(packed).read_to_end(&mut out).unwrap();
        out
    }

    fn gzip(data: &[u8], level: u32, threads: usize, piece: usize) -> Vec<u8> {
        let mut z = ParallelGzip::new(Vec::new(), level, threads).unwrap();
        for part in data.chunks(piece.max(1)) {
            z.write_all(part).unwrap();
        }
        z.finish().unwrap()
    }

    /// Text that compresses like a log (repeats within and across blocks), and bytes that do not.
    fn data(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut v = Vec::with_capacity(len);
        while v.len() < len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(3) {
                v.extend_from_slice(format!("2024-05-01 INFO svc-{} request {} took {} ms\n", x % 9, x % 100_000, x % 1000).as_bytes());
            } else {
                v.extend_from_slice(&x.to_le_bytes());
            }
        }
        v.truncate(len);
        v
    }

    /// One member that a plain GzDecoder (which stops after the first member) reads whole, at
    /// sizes around the block edges, every level, any thread count and any write size.
    #[test]
    fn one_member_any_gunzip_reads() {
        for len in [0, 1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12_345] {
            let d = data(len);
            for (level, threads, piece) in [(6, 2, 1 << 16), (1, 3, 7_777), (9, 1, BLOCK), (0, 2, 1 << 20)] {
                let packed = gzip(&d, level, threads, piece);
                assert_eq!(gunzip(&packed), d, "len {len} level {level} threads {threads}");
                let trailer = &packed[packed.len() - 4..];
                assert_eq!(u32::from_le_bytes(trailer.try_into().unwrap()), len as u32);
            }
        }
    }

    /// Priming each block with the previous 32 KiB keeps the size near a one-thread gzip.
    #[test]
    fn size_near_one_thread() {
        let d = data(6 * BLOCK);
        let mut one = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        one.write_all(&d).unwrap();
        let one = one.finish().unwrap().len();
        let many = gzip(&d, 6, 2, 1 << 16).len();
        assert!(many <= one + one / 100, "parallel {many} bytes, one thread {one}");
    }
}
