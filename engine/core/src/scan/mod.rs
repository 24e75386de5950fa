//! Scan: walk a local tree or list an object-store prefix, filter each entry as it is seen,
//! stream the matches as JSON lines and return a summary. Memory holds counters and the
//! frontier of directories (prefixes) still to visit, never the listing.

mod filter;
mod header;
mod list;
mod page;
mod table;
mod walk;

pub use page::{page, Object as ListedObject, Page, MAX_KEYS};

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use filter::Filter;

use crate::error::{Error, Result};
use crate::storage::Options;

/// Error samples kept in the summary; every error is counted.
const ERROR_SAMPLES: usize = 100;
/// Distinct extensions counted by name; the rest go to `(other)`, so a tree of random names
/// cannot grow the summary.
const EXTENSIONS: usize = 1000;
/// JSON lines are written in chunks of about this size, one lock per chunk.
const CHUNK: usize = 256 << 10;

fn default_threads() -> usize {
    2
}

fn default_concurrency() -> usize {
    8
}

/// What to keep and how hard to work. Times are Unix milliseconds; bounds are inclusive
/// for sizes, `modified_before` is exclusive (`--older-than`), `modified_after` inclusive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanOptions {
    /// Globs on the path relative to the root; a file is kept when any matches (none: all).
    #[serde(default)]
    pub globs: Vec<String>,
    #[serde(default)]
    pub min_size: Option<u64>,
    #[serde(default)]
    pub max_size: Option<u64>,
    #[serde(default)]
    pub modified_before: Option<i64>,
    #[serde(default)]
    pub modified_after: Option<i64>,
    /// Threads walking a local tree.
    #[serde(default = "default_threads")]
    pub threads: usize,
    /// Listing requests in flight on an object store.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Local walk without a stat per file: names, counts and extensions only (bytes and times
    /// unknown, size and age filters refused). A stat is a syscall per file; the walk without
    /// it reads a directory in a few. Object listings carry sizes anyway.
    #[serde(default)]
    pub names_only: bool,
    /// Read each kept file's first row as a CSV header (local trees): its fields, delimiter,
    /// or why it could not be read, in each entry.
    #[serde(default)]
    pub headers: bool,
    /// The headers' delimiter; none: sniffed from each header row (`,` `;` tab `|`).
    #[serde(default)]
    pub delimiter: Option<char>,
}

/// What a stat (or a listing) says about one file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stat {
    pub size: u64,
    pub modified_ms: i64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        serde_json::from_str("{}").expect("defaults")
    }
}

/// A directory (prefix) or entry that could not be read, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScanFailure {
    pub path: String,
    pub reason: String,
}

/// Files and bytes kept under one extension (lower case, `(none)` without one).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExtensionCount {
    pub extension: String,
    pub files: u64,
    pub bytes: u64,
}

/// What a scan saw. `entries` counts everything listed (files, directories, symlinks,
/// others); `files`/`bytes` only the files the filters kept. `sized` is false after a
/// names-only walk: bytes are then unknown, not zero.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub root: String,
    pub sized: bool,
    pub entries: u64,
    pub files: u64,
    pub bytes: u64,
    pub skipped: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub others: u64,
    pub errors: u64,
    pub error_samples: Vec<ScanFailure>,
    pub by_extension: Vec<ExtensionCount>,
    /// With `headers`: header rows read, and files whose header could not be (each says why).
    pub headers: u64,
    pub header_errors: u64,
    pub elapsed_ms: u64,
    pub entries_per_s: f64,
}

/// Set from another thread to stop a scan: it then ends with `Error::Cancelled` after the
/// directory at hand (local), or at once (object store: requests in flight are dropped).
#[derive(Default)]
pub struct Cancel {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Cancel {
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Resolves once `cancel` has been called (registered before the flag is read: no lost wake-up).
    pub(crate) async fn cancelled(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if !self.is_cancelled() {
            notified.await;
        }
    }
}

/// Where JSON lines go, shared by every worker; each holds a `Tally` of its own.
pub(crate) struct Sink {
    cancel: Arc<Cancel>,
    filter: Filter,
    /// Prepended to the relative path of each line: the root as given (local) or the prefix (keys).
    prefix: String,
    /// `"path"` for local files, `"key"` for objects.
    field: &'static str,
    out: Option<Output>,
    /// `Some(delimiter)` when each kept file's header is read (`Some(None)`: sniffed).
    headers: Option<Option<u8>>,
}

/// Where kept entries go: JSON lines, or a Parquet table (`.parquet`).
enum Output {
    Lines(Mutex<Box<dyn Write + Send>>),
    Table(Mutex<Option<Box<table::TableOut>>>),
}

impl Sink {
    /// Hand in a worker's pending lines or rows (at a chunk's end, and when it is done).
    fn write(&self, tally: &mut Tally) -> Result<()> {
        match &self.out {
            Some(Output::Lines(out)) if !tally.buf.is_empty() => {
                let mut out = out.lock().expect("scan output");
                out.write_all(&tally.buf).map_err(|e| Error::storage("scan output", e))?;
            }
            Some(Output::Table(out)) if !tally.rows.is_empty() => {
                if let Some(t) = out.lock().expect("scan output").as_mut() {
                    t.write(&mut tally.rows)?;
                }
            }
            _ => {}
        }
        tally.buf.clear();
        tally.rows.clear();
        Ok(())
    }
}

/// One worker's counters and pending output.
#[derive(Default)]
pub(crate) struct Tally {
    entries: u64,
    files: u64,
    bytes: u64,
    skipped: u64,
    dirs: u64,
    symlinks: u64,
    others: u64,
    errors: u64,
    samples: Vec<ScanFailure>,
    extensions: HashMap<String, (u64, u64)>,
    headers: u64,
    header_errors: u64,
    buf: Vec<u8>,
    rows: Vec<table::Row>,
    /// Reused for each header read.
    head: Vec<u8>,
}

impl Tally {
    /// One file (object) seen: filtered, counted, and written when kept. `stat` is None in a
    /// names-only walk.
    fn file(&mut self, sink: &Sink, rel: &str, stat: Option<Stat>) -> Result<()> {
        self.file_read(sink, rel, stat, None)
    }

    /// `file`, with the header already read (an object's, fetched beside the listing); None
    /// reads a local file's header here when the scan asks for headers.
    fn file_read(&mut self, sink: &Sink, rel: &str, stat: Option<Stat>, read: Option<header::HeaderRead>) -> Result<()> {
        self.entries += 1;
        if !sink.filter.keeps(rel, stat) {
            self.skipped += 1;
            return Ok(());
        }
        let size = stat.map_or(0, |s| s.size);
        self.files += 1;
        self.bytes += size;
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let ext = extension(name);
        match self.extensions.get_mut(ext.as_ref()) {
            Some(c) => *c = (c.0 + 1, c.1 + size),
            None => {
                let key = if self.extensions.len() < EXTENSIONS { ext.into_owned() } else { "(other)".to_string() };
                let c = self.extensions.entry(key).or_default();
                *c = (c.0 + 1, c.1 + size);
            }
        }
        if sink.out.is_none() && sink.headers.is_none() {
            return Ok(());
        }
        let mut full = String::with_capacity(sink.prefix.len() + rel.len());
        full.push_str(&sink.prefix);
        full.push_str(rel);
        let header = match (read, sink.headers) {
            (Some(read), _) => Some(read),
            (None, Some(delimiter)) => Some(header::read_file(std::path::Path::new(&full), delimiter, &mut self.head)),
            (None, None) => None,
        };
        match &header {
            Some(Ok(_)) => self.headers += 1,
            Some(Err(_)) => self.header_errors += 1,
            None => {}
        }
        match &sink.out {
            Some(Output::Lines(_)) => {
                self.line(sink, &full, stat, header.as_ref());
                if self.buf.len() >= CHUNK {
                    sink.write(self)?;
                }
            }
            Some(Output::Table(_)) => {
                self.rows.push(table::Row { path: full, stat, header });
                if self.rows.len() >= table::BATCH {
                    sink.write(self)?;
                }
            }
            None => {}
        }
        Ok(())
    }

    fn line(&mut self, sink: &Sink, full: &str, stat: Option<Stat>, header: Option<&std::result::Result<header::Header, String>>) {
        let b = &mut self.buf;
        b.extend_from_slice(b"{\"");
        b.extend_from_slice(sink.field.as_bytes());
        b.extend_from_slice(b"\":");
        serde_json::to_writer(&mut *b, full).expect("a string serialises");
        if let Some(Stat { size, modified_ms }) = stat {
            let modified = chrono::DateTime::from_timestamp_millis(modified_ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default();
            let _ = write!(b, ",\"size\":{size},\"modified\":\"{modified}\"");
        }
        match header {
            Some(Ok(h)) => {
                b.extend_from_slice(b",\"header\":");
                serde_json::to_writer(&mut *b, &h.fields).expect("strings serialise");
                b.extend_from_slice(b",\"delimiter\":");
                serde_json::to_writer(&mut *b, &(h.delimiter as char)).expect("a char serialises");
            }
            Some(Err(why)) => {
                b.extend_from_slice(b",\"header_error\":");
                serde_json::to_writer(&mut *b, why).expect("a string serialises");
            }
            None => {}
        }
        b.extend_from_slice(b"}\n");
    }

    fn error(&mut self, path: impl Into<String>, reason: impl std::fmt::Display) {
        self.errors += 1;
        if self.samples.len() < ERROR_SAMPLES {
            self.samples.push(ScanFailure { path: path.into(), reason: reason.to_string() });
        }
    }

    fn merge(&mut self, other: Tally) {
        self.entries += other.entries;
        self.files += other.files;
        self.bytes += other.bytes;
        self.skipped += other.skipped;
        self.dirs += other.dirs;
        self.symlinks += other.symlinks;
        self.others += other.others;
        self.errors += other.errors;
        self.headers += other.headers;
        self.header_errors += other.header_errors;
        let room = ERROR_SAMPLES.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
        for (ext, (n, b)) in other.extensions {
            let key = if self.extensions.contains_key(&ext) || self.extensions.len() < EXTENSIONS { ext } else { "(other)".into() };
            let c = self.extensions.entry(key).or_default();
            *c = (c.0 + n, c.1 + b);
        }
    }

    fn into_summary(self, root: &str, sized: bool, started: Instant) -> Summary {
        let elapsed = started.elapsed();
        let mut by_extension: Vec<ExtensionCount> = self
            .extensions
            .into_iter()
            .map(|(extension, (files, bytes))| ExtensionCount { extension, files, bytes })
            .collect();
        by_extension.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(b.files.cmp(&a.files)).then(a.extension.cmp(&b.extension)));
        Summary {
            root: root.to_string(),
            sized,
            entries: self.entries,
            files: self.files,
            bytes: self.bytes,
            skipped: self.skipped,
            dirs: self.dirs,
            symlinks: self.symlinks,
            others: self.others,
            errors: self.errors,
            error_samples: self.samples,
            by_extension,
            headers: self.headers,
            header_errors: self.header_errors,
            elapsed_ms: elapsed.as_millis() as u64,
            entries_per_s: self.entries as f64 / elapsed.as_secs_f64().max(1e-9),
        }
    }
}

/// The extension of a file name, lower case; a leading dot (`.bashrc`) is no extension, and
/// neither is a long tail after the last dot (a hash or a version, not a type).
fn extension(name: &str) -> std::borrow::Cow<'_, str> {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 10 => {
            if ext.bytes().any(|b| b.is_ascii_uppercase()) {
                ext.to_ascii_lowercase().into()
            } else {
                ext.into()
            }
        }
        _ => "(none)".into(),
    }
}

fn open_output(output: Option<&str>, field: &str, headers: bool) -> Result<Option<Output>> {
    let out: Box<dyn Write + Send> = match output {
        None => return Ok(None),
        Some(path) if path.ends_with(".parquet") => {
            return Ok(Some(Output::Table(Mutex::new(Some(Box::new(table::TableOut::create(path, field, headers)?))))))
        }
        Some("-") => Box::new(BufWriter::with_capacity(CHUNK, io::stdout())),
        Some(path) => Box::new(BufWriter::with_capacity(CHUNK, File::create(path).map_err(|e| Error::storage(path, e))?)),
    };
    Ok(Some(Output::Lines(Mutex::new(out))))
}

/// Scan `root` — a local path, `file://…` or `s3://bucket/prefix` — with `options` (JSON,
/// see [`ScanOptions`]). Kept entries are written as JSON lines to `output` (a file path, or
/// `-` for stdout) when given, or as a Parquet table to a path ending in `.parquet`. Unreadable directories are counted and sampled in the
/// summary, not fatal; a root that does not exist is `Error::NotFound`. Symlinks are
/// counted, never followed. Blocks the calling thread; `cancel` stops it from another.
pub fn scan(root: &str, options_json: &str, storage: &Options, output: Option<&str>, cancel: Option<Arc<Cancel>>) -> Result<Summary> {
    let cancel = cancel.unwrap_or_default();
    let options: ScanOptions = serde_json::from_str(options_json).map_err(|e| Error::bad_option("options", options_json, e))?;
    let filter = Filter::new(&options)?;
    let started = Instant::now();
    let local = !root.starts_with("s3://");
    let headers = match options.delimiter {
        Some(d) if !d.is_ascii() || d == '"' || d == '\n' || d == '\r' => {
            return Err(Error::bad_option("delimiter", d.to_string(), "one ASCII character other than a quote or a line break"))
        }
        d => options.headers.then_some(d.map(|c| c as u8)),
    };
    let tally = if let Some(rest) = root.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_end_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        let client = crate::storage::s3_client(root, bucket, storage)?;
        let sink = Arc::new(Sink { cancel, filter, prefix: prefix.clone(), field: "key", out: open_output(output, "key", options.headers)?, headers });
        let tally = list::list(root, client, prefix, sink.clone(), options.concurrency.max(1))?;
        flush(&sink)?;
        tally
    } else {
        if root.contains("://") && !root.starts_with("file://") {
            return Err(Error::storage(root, "unsupported scheme (use s3://, file:// or a path)"));
        }
        let path = root.strip_prefix("file://").unwrap_or(root);
        let shown = path.trim_end_matches('/');
        let prefix = if shown.is_empty() { "/".to_string() } else { format!("{shown}/") };
        let sink = Sink { cancel, filter, prefix, field: "path", out: open_output(output, "path", options.headers)?, headers };
        let tally = walk::walk(std::path::Path::new(path), &sink, options.threads.max(1), !options.names_only)?;
        flush(&sink)?;
        tally
    };
    Ok(tally.into_summary(root, !(local && options.names_only), started))
}

/// Flush the shared output once every worker has handed in its last chunk.
fn flush(sink: &Sink) -> Result<()> {
    match &sink.out {
        Some(Output::Lines(out)) => out.lock().expect("scan output").flush().map_err(|e| Error::storage("scan output", e)),
        Some(Output::Table(out)) => out.lock().expect("scan output").take().map_or(Ok(()), |t| t.finish()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
