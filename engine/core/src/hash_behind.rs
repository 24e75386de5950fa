//! The SHA-256 of an output, computed beside the writing rather than in front of it. A Parquet
//! file's bytes reach its writer at the end of a row group, all at once, on one thread; hashing
//! them there was a third of that last single-threaded stretch (perf, B1). Past `INLINE` bytes
//! the bytes are copied into blocks that a helper thread hashes while the writer goes on; a
//! small output is hashed in place (no thread for it), and so is one whose writer asked for that
//! (`in_place`). The blocks go round, so memory is `BLOCKS` blocks whatever the output size.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Bytes hashed in place before the helper thread starts.
const INLINE: usize = 1 << 20;
const BLOCK: usize = 1 << 20;
const BLOCKS: usize = 4;

pub struct HashBehind {
    /// Hashing in place (small so far), or handed to the helper.
    inline: Option<Sha256>,
    hashed_inline: usize,
    /// A helper was asked for (once: if no thread could be had, hashing stays in place).
    asked: bool,
    staged: Vec<u8>,
    helper: Option<Helper>,
}

struct Helper {
    full: SyncSender<Vec<u8>>,
    empty: Receiver<Vec<u8>>,
    made: usize,
    done: JoinHandle<Option<Sha256>>,
}

impl Default for HashBehind {
    fn default() -> Self {
        HashBehind { inline: Some(Sha256::new()), hashed_inline: 0, asked: false, staged: Vec::new(), helper: None }
    }
}

impl HashBehind {
    /// A hash that stays on the writing thread whatever the size: for an output whose bytes
    /// come from a compressor already busy on every core, where a third busy thread cost more
    /// than it saved (gzip -1: 0.148 → 0.171 s in process).
    pub fn in_place() -> Self {
        HashBehind { asked: true, ..Self::default() }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        if !self.asked && self.hashed_inline + bytes.len() > INLINE {
            self.start_helper();
        }
        if let Some(h) = self.inline.as_mut() {
            h.update(bytes);
            self.hashed_inline += bytes.len();
            return;
        }
        while !bytes.is_empty() {
            let n = (BLOCK - self.staged.len()).min(bytes.len());
            self.staged.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.staged.len() == BLOCK {
                self.hand_over();
            }
        }
    }

    /// The hex digest of everything given.
    pub fn finish(mut self) -> Result<String> {
        if let Some(h) = self.inline.take() {
            return Ok(crate::storage::hex(&h.finalize()));
        }
        if !self.staged.is_empty() {
            self.hand_over();
        }
        let helper = self.helper.take().expect("a helper once past inline");
        drop(helper.full); // its loop ends with the last block
        let hasher = helper.done.join().ok().flatten().ok_or_else(|| Error::Internal("the output's hashing thread failed".into()))?;
        Ok(crate::storage::hex(&hasher.finalize()))
    }

    /// The helper takes over the hash; if no thread can be had, hashing stays in place.
    fn start_helper(&mut self) {
        self.asked = true;
        let (seed, seeded) = sync_channel::<Sha256>(1);
        let (full, blocks) = sync_channel::<Vec<u8>>(BLOCKS);
        let (back, empty) = sync_channel::<Vec<u8>>(BLOCKS);
        let spawned = std::thread::Builder::new().name("pravah-hash".into()).spawn(move || {
            let mut hasher = seeded.recv().ok()?;
            for mut block in blocks {
                hasher.update(&block);
                block.clear();
                let _ = back.try_send(block); // the writer may have gone
            }
            Some(hasher)
        });
        if let Ok(done) = spawned {
            let _ = seed.send(self.inline.take().expect("started once"));
            self.staged = Vec::with_capacity(BLOCK);
            self.helper = Some(Helper { full, empty, made: 1, done });
        }
    }

    /// The staged block to the helper, and an empty one (made, or given back) to stage into.
    fn hand_over(&mut self) {
        let helper = self.helper.as_mut().expect("a helper once past inline");
        let next = match helper.empty.try_recv() {
            Ok(block) => block,
            Err(_) if helper.made < BLOCKS => {
                helper.made += 1;
                Vec::with_capacity(BLOCK)
            }
            Err(_) => helper.empty.recv().unwrap_or_else(|_| Vec::with_capacity(BLOCK)),
        };
        let block = std::mem::replace(&mut self.staged, next);
        // The helper only stops when `full` is dropped; a send fails only if it panicked,
        // which `finish` reports.
        let _ = helper.full.send(block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the sizes of the pieces, in place or on the helper, the digest is the one of
    /// the whole.
    #[test]
    fn digest_is_of_the_whole_whatever_the_pieces() {
        let data: Vec<u8> = (0..(INLINE + 5 * BLOCK + 12_345)).map(|i| (i * 31 % 251) as u8).collect();
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 3 * BLOCK, data.len()] {
            let want = crate::storage::hex(&Sha256::digest(&data[..len]));
            for piece in [1 << 20, 7_777, 3 << 20, 100] {
                let mut h = HashBehind::default();
                for part in data[..len].chunks(piece) {
                    h.update(part);
                }
                assert_eq!(h.finish().unwrap(), want, "{len} bytes in pieces of {piece}");
                let mut h = HashBehind::in_place();
                for part in data[..len].chunks(piece) {
                    h.update(part);
                }
                assert!(h.helper.is_none(), "in place: no helper");
                assert_eq!(h.finish().unwrap(), want, "in place, {len} bytes in pieces of {piece}");
            }
        }
    }
}
