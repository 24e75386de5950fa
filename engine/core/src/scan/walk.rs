//! The local walk: a shared stack of directories over a few threads. A thread reads one
//! directory at a time, counts and writes its files as it sees them, keeps one subdirectory
//! to go on with and hands the others to the stack, so memory is the frontier, never the tree.
//! Symlinks below the root are counted and never followed: no cycles, no leaving the root.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use super::{Sink, Stat, Tally};
use crate::error::{Error, Result};

struct Dir {
    path: PathBuf,
    /// Relative to the root, `/`-separated; empty for the root.
    rel: String,
}

struct Queue {
    state: Mutex<State>,
    ready: Condvar,
}

struct State {
    dirs: Vec<Dir>,
    /// Threads holding a directory; the walk is over when none does and the stack is empty.
    busy: usize,
    failed: bool,
}

impl Queue {
    fn take(&self) -> Option<Dir> {
        let mut s = self.state.lock().expect("scan queue");
        loop {
            if s.failed {
                return None;
            }
            if let Some(d) = s.dirs.pop() {
                s.busy += 1;
                return Some(d);
            }
            if s.busy == 0 {
                return None;
            }
            s = self.ready.wait(s).expect("scan queue");
        }
    }

    fn give(&self, found: &mut Vec<Dir>) {
        self.state.lock().expect("scan queue").dirs.append(found);
        self.ready.notify_all();
    }

    fn done(&self, failed: bool) {
        let mut s = self.state.lock().expect("scan queue");
        s.busy -= 1;
        s.failed |= failed;
        if s.busy == 0 || failed {
            self.ready.notify_all();
        }
    }
}

/// Walk `root` (a directory; a symlink given as the root is followed) on `threads` threads.
pub(super) fn walk(root: &Path, sink: &Sink, threads: usize, stat: bool) -> Result<Tally> {
    let shown = root.display().to_string();
    let mut tally = Tally::default();
    match fs::metadata(root) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::NotFound { uri: shown, message: "no such file or directory".into() })
        }
        Err(e) => {
            tally.error(shown, e);
            return Ok(tally);
        }
        Ok(m) if !m.is_dir() => return Err(Error::bad_option("PATH", shown, "is not a directory")),
        Ok(_) => {}
    }
    let queue = Queue {
        state: Mutex::new(State { dirs: vec![Dir { path: root.to_path_buf(), rel: String::new() }], busy: 0, failed: false }),
        ready: Condvar::new(),
    };
    let results: Vec<std::thread::Result<Result<Tally>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| worker(&queue, sink, stat))).collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    for r in results {
        match r {
            Ok(t) => tally.merge(t?),
            Err(_) => return Err(Error::Internal("a scan thread panicked".into())),
        }
    }
    Ok(tally)
}

fn worker(queue: &Queue, sink: &Sink, stat: bool) -> Result<Tally> {
    let mut tally = Tally::default();
    let mut found = Vec::new();
    let mut rel = String::new();
    let mut next = None;
    while let Some(dir) = next.take().or_else(|| queue.take()) {
        if let Err(e) = read(&dir, sink, stat, &mut tally, &mut found, &mut rel) {
            queue.done(true);
            return Err(e);
        }
        next = found.pop();
        if !found.is_empty() {
            queue.give(&mut found);
        }
        if next.is_none() {
            queue.done(false);
        }
    }
    sink.write(&mut tally)?;
    Ok(tally)
}

/// Count one directory's entries; subdirectories go to `found`. Only a failed write to the
/// output (or a cancel) is an error: what cannot be read is counted in the tally.
fn read(dir: &Dir, sink: &Sink, stat: bool, tally: &mut Tally, found: &mut Vec<Dir>, rel: &mut String) -> Result<()> {
    if sink.cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let shown = || format!("{}{}", sink.prefix, dir.rel).trim_end_matches('/').to_string();
    let entries = match fs::read_dir(&dir.path) {
        Ok(entries) => entries,
        Err(e) => {
            tally.error(shown(), e);
            return Ok(());
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                tally.error(shown(), e);
                break;
            }
        };
        let name = entry.file_name();
        rel.clear();
        if !dir.rel.is_empty() {
            rel.push_str(&dir.rel);
            rel.push('/');
        }
        rel.push_str(&name.to_string_lossy());
        let kind = match entry.file_type() {
            Ok(kind) => kind,
            Err(e) => {
                tally.error(format!("{}{rel}", sink.prefix), e);
                continue;
            }
        };
        if kind.is_file() {
            if !stat {
                tally.file(sink, rel, None)?;
                continue;
            }
            // DirEntry::metadata is an lstat relative to the open directory: no path lookup.
            match entry.metadata() {
                Ok(m) => tally.file(sink, rel, Some(Stat { size: m.len(), modified_ms: m.mtime() * 1000 + m.mtime_nsec() / 1_000_000 }))?,
                Err(e) => tally.error(format!("{}{rel}", sink.prefix), e),
            }
            continue;
        }
        tally.entries += 1;
        if kind.is_dir() {
            tally.dirs += 1;
            if sink.filter.may_descend(rel) {
                found.push(Dir { path: entry.path(), rel: rel.clone() });
            }
        } else if kind.is_symlink() {
            tally.symlinks += 1;
        } else {
            tally.others += 1;
        }
    }
    Ok(())
}
