//! Object storage for local paths and s3:// alike: a blocking `Read` over ranged GETs with
//! read-ahead, and a blocking `Write` over a multipart upload. Both hold a bounded number of
//! blocks in memory whatever the object size.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

use crate::codec::StorageFailure;
use crate::error::{Error, Result};
use crate::hash_behind::HashBehind;

const BLOCK: u64 = 8 << 20;
const READ_AHEAD: usize = 2;
const PART: usize = 8 << 20;
const UPLOADS_IN_FLIGHT: usize = 2;

/// The one tokio runtime of the process; I/O only, CPU work stays on the calling thread.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pravah-io")
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Storage options as strings, the same keys for every call: `endpoint`, `region`,
/// `access_key_id`, `secret_access_key`, `allow_http`, … (object_store's S3 config keys).
pub type Options = BTreeMap<String, String>;

/// A resolved location: the store that holds it and the path inside that store.
#[derive(Clone)]
pub struct Location {
    pub uri: String,
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    /// The file itself when the store is the local filesystem: reads go straight to it.
    pub local: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.uri)
    }
}

/// One S3 client per (bucket, options), kept for the process: its connection pool then
/// survives from one job to the next (a new client per job cost ~10 ms on loopback).
/// The concrete type, because a scan pages through listings with a delimiter, which
/// `dyn ObjectStore` does not offer.
pub(crate) fn s3_client(uri: &str, bucket: &str, options: &Options) -> Result<Arc<AmazonS3>> {
    type Cache = Mutex<HashMap<(String, Options), Arc<AmazonS3>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (bucket.to_string(), options.clone());
    if let Some(store) = cache.lock().expect("store cache").get(&key) {
        return Ok(store.clone());
    }
    let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
    for (k, v) in options {
        let key = k.parse().map_err(|e| Error::storage(uri, format!("storage option {k:?}: {e}")))?;
        builder = builder.with_config(key, v);
    }
    let store = Arc::new(builder.build().map_err(|e| Error::storage(uri, e))?);
    let mut cache = cache.lock().expect("store cache");
    if cache.len() >= 64 {
        cache.clear(); // rotating credentials make new keys; never grow without bound
    }
    cache.insert(key, store.clone());
    Ok(store)
}

impl Location {
    /// `s3://bucket/key`, `file:///abs/path` or a plain filesystem path.
    pub fn parse(uri: &str, options: &Options) -> Result<Location> {
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, key) = rest
                .split_once('/')
                .ok_or_else(|| Error::storage(uri, "expected s3://bucket/key"))?;
            let store: Arc<dyn ObjectStore> = s3_client(uri, bucket, options)?;
            let path = Path::parse(key).map_err(|e| Error::storage(uri, e))?;
            return Ok(Location { uri: uri.to_string(), store, path, local: None });
        }
        if uri.contains("://") && !uri.starts_with("file://") {
            return Err(Error::storage(uri, "unsupported scheme (use s3://, file:// or a path)"));
        }
        let fs_path = uri.strip_prefix("file://").unwrap_or(uri);
        let abs = std::path::absolute(fs_path).map_err(|e| Error::storage(uri, e))?;
        let path = Path::from_absolute_path(&abs).map_err(|e| Error::storage(uri, e))?;
        Ok(Location { uri: uri.to_string(), store: local_store(), path, local: Some(abs) })
    }

    pub fn size(&self) -> Result<u64> {
        let meta = runtime()
            .block_on(self.store.head(&self.path))
            .map_err(|e| Error::storage(&self.uri, e))?;
        Ok(meta.size)
    }
}

fn local_store() -> Arc<dyn ObjectStore> {
    static LOCAL: OnceLock<Arc<dyn ObjectStore>> = OnceLock::new();
    LOCAL.get_or_init(|| Arc::new(LocalFileSystem::new())).clone()
}

/// Sequential blocking reader of `size` bytes of an object. A local file is read in place
/// (a ranged GET through object_store would allocate, and the kernel zero, a fresh 8 MiB
/// block per read: a third of a grep's time); a remote object by ranged GETs with
/// `READ_AHEAD` blocks fetched ahead, into blocks that go round (`Remote`).
pub struct ObjectReader {
    source: Source,
    counter: Arc<AtomicU64>,
}

enum Source {
    Local { file: io::Result<io::Take<std::fs::File>>, uri: String },
    Remote(Box<Remote>),
}

/// A remote object read by ranged GETs into blocks that go round: a drained block is the buffer
/// of a later GET, so a read of any size touches `READ_AHEAD + 1` blocks of memory. (A GET
/// collected by object_store is a fresh block each time: 8 MiB of new pages for the kernel to
/// fault in and zero, two thirds of an S3 read's page faults.)
struct Remote {
    loc: Location,
    size: u64,
    next_fetch: u64,
    pending: VecDeque<JoinHandle<object_store::Result<Vec<u8>>>>,
    current: Vec<u8>,
    pos: usize,
    spare: Vec<Vec<u8>>,
    /// Blocks allocated so far: at most `READ_AHEAD + 1` whatever the object's size.
    blocks: usize,
}

/// GET `range` of `path` into `block` (emptied first), checking that the whole range came.
async fn fetch(store: Arc<dyn ObjectStore>, path: Path, range: std::ops::Range<u64>, mut block: Vec<u8>) -> object_store::Result<Vec<u8>> {
    use futures::StreamExt;
    block.clear();
    let want = (range.end - range.start) as usize;
    block.reserve_exact(want);
    let opts = object_store::GetOptions { range: Some(range.clone().into()), ..Default::default() };
    let mut body = store.get_opts(&path, opts).await?.into_stream();
    while let Some(piece) = body.next().await {
        block.extend_from_slice(&piece?);
    }
    if block.len() != want {
        let msg = format!("{path}: asked for bytes {}..{}, got {} bytes", range.start, range.end, block.len());
        return Err(object_store::Error::Generic { store: "S3", source: msg.into() });
    }
    Ok(block)
}

impl ObjectReader {
    /// Read `loc` (of known `size`, from one HEAD the caller already made) from `start` on.
    pub fn open_at(loc: Location, size: u64, start: u64, counter: Arc<AtomicU64>) -> ObjectReader {
        let source = match &loc.local {
            Some(path) => {
                let file = std::fs::File::open(path).and_then(|mut f| {
                    io::Seek::seek(&mut f, io::SeekFrom::Start(start))?;
                    Ok(f.take(size.saturating_sub(start)))
                });
                Source::Local { file, uri: loc.uri.clone() }
            }
            None => Source::Remote(Box::new(Remote {
                loc,
                size,
                next_fetch: start.min(size),
                pending: VecDeque::new(),
                current: Vec::new(),
                pos: 0,
                spare: Vec::new(),
                blocks: 0,
            })),
        };
        let mut r = ObjectReader { source, counter };
        r.fill();
        r
    }

    fn fill(&mut self) {
        let Source::Remote(r) = &mut self.source else { return };
        while r.pending.len() < READ_AHEAD && r.next_fetch < r.size {
            let end = (r.next_fetch + BLOCK).min(r.size);
            let (store, path, range) = (r.loc.store.clone(), r.loc.path.clone(), r.next_fetch..end);
            let block = r.spare.pop().unwrap_or_else(|| {
                r.blocks += 1;
                Vec::new()
            });
            r.pending.push_back(runtime().spawn(fetch(store, path, range, block)));
            r.next_fetch = end;
        }
    }
}

fn storage_failure(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(StorageFailure(e.to_string()))
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.source {
            Source::Local { file: Ok(f), uri } => f.read(buf).map_err(|e| storage_failure(format!("{uri}: {e}")))?,
            Source::Local { file: Err(e), uri } => return Err(storage_failure(format!("{uri}: {e}"))),
            Source::Remote(r) => {
                if r.pos == r.current.len() {
                    let Some(handle) = r.pending.pop_front() else { return Ok(0) };
                    let block = runtime().block_on(handle).map_err(storage_failure)?.map_err(storage_failure)?;
                    let drained = std::mem::replace(&mut r.current, block);
                    if drained.capacity() > 0 {
                        r.spare.push(drained); // not the empty one a reader starts with
                    }
                    r.pos = 0;
                    self.counter.fetch_add(r.current.len() as u64, Ordering::Relaxed);
                }
                let n = buf.len().min(r.current.len() - r.pos);
                buf[..n].copy_from_slice(&r.current[r.pos..r.pos + n]);
                r.pos += n;
                self.fill();
                return Ok(n);
            }
        };
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Everything the report says about one written object.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    pub uri: String,
    pub size: u64,
    pub sha256: String,
    /// The Content-Type it was stored with (S3), by its extension; none for a local file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<&'static str>,
}

/// Blocking writer of one object. Remote: bytes fill one part at a time (8 MiB, room made for
/// it at its first write, so it never grows by copying). An output of one part or less is a
/// single PUT on `finish` (one request, where a multipart upload takes three); past that a
/// multipart upload starts and each full part is handed to it as it is, without a copy. Local:
/// bytes go straight to a hidden file beside the target that `finish` renames into place
/// (object_store's local multipart copies every part through its I/O threads; holding the
/// first 8 MiB first cost a growing buffer's copies and page faults, two thirds of a
/// decompression's). The object becomes visible only on `finish`; dropping the writer
/// unfinished aborts the upload, removes the hidden file (or sends nothing), so a failed job
/// leaves no partial output.
pub struct ObjectWriter {
    loc: Location,
    content_type: Option<&'static str>,
    part: Vec<u8>,
    upload: Option<WriteMultipart>,
    spill: Option<Spill>,
    hash: HashBehind,
    size: u64,
}

/// A local output: the hidden file it is written to until `finish`.
struct Spill {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl Spill {
    /// `.NAME.pravah-PID-N` beside `target` (hidden: folder watchers pass dot files over).
    fn create(target: &std::path::Path) -> io::Result<Spill> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = target.parent().ok_or_else(|| io::Error::other("an output file needs a folder"))?;
        std::fs::create_dir_all(dir)?;
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let path = dir.join(format!(".{name}.pravah-{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path)?;
        Ok(Spill { path, file })
    }
}

impl ObjectWriter {
    /// A writer of `loc`, stored with the Content-Type its name implies where the store keeps
    /// one (S3; a local file has none), so a presigned download opens in the right application.
    pub fn create(loc: Location) -> Result<ObjectWriter> {
        let content_type = loc.uri.starts_with("s3://").then(|| content_type(loc.path.as_ref()));
        Ok(ObjectWriter { loc, content_type, part: Vec::new(), upload: None, spill: None, hash: HashBehind::default(), size: 0 })
    }

    /// Take the output's sha256 on the writing thread (see `HashBehind::in_place`).
    pub fn hash_in_place(mut self) -> Self {
        self.hash = HashBehind::in_place();
        self
    }

    fn attributes(&self) -> object_store::Attributes {
        let mut attrs = object_store::Attributes::new();
        if let Some(ct) = self.content_type {
            attrs.insert(object_store::Attribute::ContentType, ct.into());
        }
        attrs
    }

    fn failed(&self, e: impl std::fmt::Display) -> io::Error {
        io::Error::other(format!("{}: {e}", self.loc.uri))
    }

    /// Hand the full part to the multipart upload (started by the first one), once fewer than
    /// `UPLOADS_IN_FLIGHT` parts are still going out.
    fn send_part(&mut self) -> io::Result<()> {
        let rt = runtime();
        if self.upload.is_none() {
            let opts = object_store::PutMultipartOptions { attributes: self.attributes(), ..Default::default() };
            let upload = rt.block_on(self.loc.store.put_multipart_opts(&self.loc.path, opts)).map_err(|e| self.failed(e))?;
            self.upload = Some(WriteMultipart::new_with_chunk_size(upload, PART));
        }
        let upload = self.upload.as_mut().expect("just started");
        if let Err(e) = rt.block_on(upload.wait_for_capacity(UPLOADS_IN_FLIGHT)) {
            return Err(self.failed(e));
        }
        let _ctx = rt.enter();
        upload.put(Bytes::from(std::mem::take(&mut self.part)));
        Ok(())
    }

    pub fn finish(mut self) -> Result<Written> {
        if let Some(target) = &self.loc.local {
            let spill = match self.spill.take() {
                Some(spill) => spill,
                None => Spill::create(target).map_err(|e| Error::storage(&self.loc.uri, e))?, // nothing was written
            };
            drop(spill.file);
            if let Err(e) = std::fs::rename(&spill.path, target) {
                let _ = std::fs::remove_file(&spill.path);
                return Err(Error::storage(&self.loc.uri, e));
            }
        } else if let Some(mut upload) = self.upload.take() {
            let rt = runtime();
            if !self.part.is_empty() {
                let _ctx = rt.enter();
                upload.put(Bytes::from(std::mem::take(&mut self.part)));
            }
            rt.block_on(upload.finish()).map_err(|e| Error::storage(&self.loc.uri, e))?;
        } else {
            let opts = object_store::PutOptions { attributes: self.attributes(), ..Default::default() };
            let part = Bytes::from(std::mem::take(&mut self.part));
            runtime().block_on(self.loc.store.put_opts(&self.loc.path, part.into(), opts)).map_err(|e| Error::storage(&self.loc.uri, e))?;
        }
        Ok(Written {
            uri: self.loc.uri.clone(),
            size: self.size,
            sha256: std::mem::take(&mut self.hash).finish()?,
            content_type: self.content_type,
        })
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hash.update(buf);
        self.size += buf.len() as u64;
        if let Some(target) = &self.loc.local {
            if self.spill.is_none() {
                let spill = Spill::create(target).map_err(|e| io::Error::other(format!("{}: {e}", self.loc.uri)))?;
                self.spill = Some(spill);
            }
            self.spill.as_mut().expect("opened above").file.write_all(buf)?;
            return Ok(buf.len());
        }
        let mut rest = buf;
        while !rest.is_empty() {
            if self.part.len() == PART {
                self.send_part()?; // only once more bytes come: an output of exactly one part is one PUT
            }
            if self.part.capacity() == 0 {
                self.part.reserve_exact(PART);
            }
            let n = rest.len().min(PART - self.part.len());
            self.part.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            let _ = runtime().block_on(upload.abort());
        }
        if let Some(spill) = self.spill.take() {
            let _ = std::fs::remove_file(&spill.path);
        }
    }
}

/// The media type of a name by its extension; unknown ones are plain bytes.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "txt" | "log" => "text/plain",
        "json" => "application/json",
        "jsonl" | "ndjson" => "application/x-ndjson",
        "parquet" => "application/vnd.apache.parquet",
        "xml" => "application/xml",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "gz" => "application/gzip",
        "zst" => "application/zstd",
        "zip" => "application/zip",
        "tar" => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// Delete objects, best effort: a failed run's cleanup, which must not hide the run's own error.
pub fn delete_all(locs: &[Location]) {
    for l in locs {
        let _ = runtime().block_on(l.store.delete(&l.path));
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    #[test]
    fn roundtrip_local_object() {
        let dir = tempfile::tempdir().unwrap();
        let uri = dir.path().join("sub/out.bin").to_string_lossy().to_string();
        let data: Vec<u8> = (0..(3 * BLOCK as usize / 2)).map(|i| (i % 251) as u8).collect();
        let mut w = ObjectWriter::create(Location::parse(&uri, &Options::new()).unwrap()).unwrap();
        w.write_all(&data).unwrap();
        let written = w.finish().unwrap();
        assert_eq!(written.size, data.len() as u64);
        let counter = Arc::new(AtomicU64::new(0));
        let loc = Location::parse(&uri, &Options::new()).unwrap();
        let size = loc.size().unwrap();
        let mut r = ObjectReader::open_at(loc, size, 0, counter.clone());
        let mut back = Vec::new();
        r.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(counter.load(Ordering::Relaxed), data.len() as u64);
    }

    /// A remote object read from any offset comes back whole, through blocks that go round:
    /// however many blocks the object spans, at most `READ_AHEAD + 1` buffers are ever used.
    #[test]
    fn remote_reads_are_whole_and_reuse_their_blocks() {
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let size = 5 * BLOCK as usize + 12_345;
        let data: Vec<u8> = (0..size).map(|i| (i % 239) as u8).collect();
        let path = Path::from("in/big.bin");
        runtime().block_on(store.put(&path, Bytes::from(data.clone()).into())).unwrap();
        let loc = Location { uri: "mem://in/big.bin".into(), store, path, local: None };
        for start in [0, 1, BLOCK - 3, 2 * BLOCK + 5, size as u64 - 1, size as u64] {
            let counter = Arc::new(AtomicU64::new(0));
            let mut r = ObjectReader::open_at(loc.clone(), size as u64, start, counter.clone());
            let mut back = Vec::new();
            r.read_to_end(&mut back).unwrap();
            assert!(back == data[start as usize..], "bytes from {start} differ");
            assert_eq!(counter.load(Ordering::Relaxed), size as u64 - start);
            let Source::Remote(remote) = &r.source else { panic!("an in-memory store is remote") };
            let gets = (size as u64 - start).div_ceil(BLOCK) as usize;
            assert_eq!(remote.blocks, gets.min(READ_AHEAD + 1), "blocks allocated for {gets} GETs from {start}");
        }
    }

    /// A local file that cannot be opened is a storage failure on the first read, never
    /// mistaken for bad input.
    #[test]
    fn unreadable_local_file_is_a_storage_failure() {
        let dir = tempfile::tempdir().unwrap();
        let uri = dir.path().join("gone.csv").to_string_lossy().to_string();
        let mut r = ObjectReader::open_at(Location::parse(&uri, &Options::new()).unwrap(), 10, 0, Arc::new(AtomicU64::new(0)));
        let err = r.read(&mut [0u8; 4]).unwrap_err();
        assert!(matches!(crate::codec::classify_io(&uri, err), Error::Storage { .. }));
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let uri = dir.path().join("never.bin").to_string_lossy().to_string();
        let mut w = ObjectWriter::create(Location::parse(&uri, &Options::new()).unwrap()).unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        assert!(!std::path::Path::new(&uri).exists());
    }

    fn read_back(uri: &str) -> Vec<u8> {
        let loc = Location::parse(uri, &Options::new()).unwrap();
        let size = loc.size().unwrap();
        let mut back = Vec::new();
        ObjectReader::open_at(loc, size, 0, Arc::new(AtomicU64::new(0))).read_to_end(&mut back).unwrap();
        back
    }

    #[test]
    fn local_outputs_of_any_size_go_straight_to_a_hidden_file() {
        let dir = tempfile::tempdir().unwrap();
        for (name, total, chunk) in [("small.bin", 1000usize, 7usize), ("big.bin", PART * 2 + 12_345, 1 << 20), ("edge.bin", PART, 4096)] {
            let uri = dir.path().join(name).to_string_lossy().to_string();
            let data: Vec<u8> = (0..total).map(|i| (i % 241) as u8).collect();
            let mut w = ObjectWriter::create(Location::parse(&uri, &Options::new()).unwrap()).unwrap();
            for piece in data.chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            assert!(w.spill.is_some() && w.part.capacity() == 0, "{name}: a local file goes straight to disk");
            let written = w.finish().unwrap();
            assert_eq!((written.size, written.sha256.clone()), (total as u64, hex(&Sha256::digest(&data))), "{name}");
            assert_eq!(read_back(&uri), data, "{name}");
        }
    }

    /// Remote outputs of every size around the part size come back whole, with their size and
    /// sha256, and the Content-Type their name implies.
    #[test]
    fn remote_outputs_of_any_size_come_back_whole() {
        let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let sizes = [(0usize, 1usize), (1000, 7), (PART, 4096), (PART + 1, 1 << 20), (2 * PART + 12_345, 3 << 20)];
        for (total, chunk) in sizes {
            let path = Path::from(format!("out/{total}.csv"));
            let loc = Location { uri: format!("s3://b/out/{total}.csv"), store: store.clone(), path: path.clone(), local: None };
            let data: Vec<u8> = (0..total).map(|i| (i % 241) as u8).collect();
            let mut w = ObjectWriter::create(loc).unwrap();
            for piece in data.chunks(chunk) {
                w.write_all(piece).unwrap();
            }
            assert_eq!(w.upload.is_some(), total > PART, "{total} bytes: multipart only past one part");
            let written = w.finish().unwrap();
            assert_eq!((written.size, written.sha256.clone()), (total as u64, hex(&Sha256::digest(&data))), "{total}");
            let got = runtime().block_on(async { store.get_opts(&path, Default::default()).await.unwrap() });
            assert_eq!(got.attributes.get(&object_store::Attribute::ContentType).map(|v| v.as_ref()), Some("text/csv"));
            assert!(runtime().block_on(got.bytes()).unwrap() == data, "{total} bytes read back differ");
        }
    }

    #[test]
    fn dropped_writer_past_one_part_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let uri = dir.path().join("big-never.bin").to_string_lossy().to_string();
        let mut w = ObjectWriter::create(Location::parse(&uri, &Options::new()).unwrap()).unwrap();
        w.write_all(&vec![1u8; PART + 1]).unwrap();
        assert!(w.spill.is_some());
        drop(w);
        assert!(!std::path::Path::new(&uri).exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the hidden file is gone too");
    }

    #[test]
    fn missing_object_names_uri() {
        let e = Location::parse("/definitely/not/here.csv", &Options::new()).unwrap().size().unwrap_err();
        assert!(e.to_string().contains("/definitely/not/here.csv"), "{e}");
    }
}
