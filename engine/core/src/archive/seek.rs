//! A zip is read from its end (the central directory) and then member by member: `Seekable`
//! gives that `Read + Seek` over ranged GETs. A seek to where the reader already is, or a
//! little ahead (the next member's header after this one's data), reads on; a seek elsewhere
//! starts a new ranged read, so members stored in order stream through once.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::storage::{Location, ObjectReader};

/// A forward gap read through rather than re-requested.
const SKIP: u64 = 256 << 10;

pub struct Seekable {
    loc: Location,
    size: u64,
    pos: u64,
    reader: Option<ObjectReader>,
    counter: Arc<AtomicU64>,
}

impl Seekable {
    pub fn new(loc: Location, size: u64, counter: Arc<AtomicU64>) -> Seekable {
        Seekable { loc, size, pos: 0, reader: None, counter }
    }
}

impl Read for Seekable {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.size {
            return Ok(0);
        }
        let (loc, size, pos, counter) = (&self.loc, self.size, self.pos, &self.counter);
        let reader = self.reader.get_or_insert_with(|| ObjectReader::open_at(loc.clone(), size, pos, counter.clone()));
        let n = reader.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Seekable {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.size.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start of the archive"))?;
        if target > self.pos && target - self.pos <= SKIP && self.reader.is_some() {
            let gap = target - self.pos;
            let copied = io::copy(&mut self.by_ref().take(gap), &mut io::sink())?;
            if copied == gap {
                return Ok(self.pos);
            }
        }
        if target != self.pos {
            self.reader = None;
            self.pos = target;
        }
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Options;

    #[test]
    fn seeks_anywhere_and_reads_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let loc = Location::parse(path.to_str().unwrap(), &Options::new()).unwrap();
        let mut s = Seekable::new(loc, data.len() as u64, Arc::new(AtomicU64::new(0)));
        let mut buf = [0u8; 10];
        for (from, at) in [(SeekFrom::End(-10), 999_990), (SeekFrom::Start(5), 5), (SeekFrom::Current(1000), 1015), (SeekFrom::Current(-15), 1010), (SeekFrom::Start(700_000), 700_000)] {
            assert_eq!(s.seek(from).unwrap(), at);
            s.read_exact(&mut buf).unwrap();
            assert_eq!(&buf[..], &data[at as usize..at as usize + 10], "at {at}");
        }
        assert!(s.seek(SeekFrom::Current(-1_000_000)).is_err());
        s.seek(SeekFrom::End(0)).unwrap();
        assert_eq!(s.read(&mut buf).unwrap(), 0);
    }
}
