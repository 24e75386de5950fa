//! The members of one archive, written as a set: each under the output prefix as it comes,
//! then a manifest naming them all, written last. The manifest is the commit: a reader that
//! waits for it sees the whole set or nothing, and a run that fails or is cancelled before it
//! deletes every member it wrote.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::codec::classify_io;
use crate::error::{Error, Result};
use crate::plan::Unpack;
use crate::storage::{delete_all, Location, ObjectWriter, Options, Written};

/// The manifest's name under the prefix; no member may take it.
pub const MANIFEST: &str = ".pravah-manifest.json";
/// Below this many bytes out a ratio is not judged: a small file of zeros compresses 1000:1.
const RATIO_FLOOR: u64 = 1 << 20;
const CHUNK: usize = 1 << 20;

/// Where the ratio of a member is measured against: its own compressed size (zip), or the
/// compressed bytes the whole stream has consumed so far (tar.gz, tar.zst).
pub enum Consumed<'a> {
    Member(u64),
    Stream(&'a AtomicU64),
}

pub struct MemberSet<'a> {
    archive: String,
    prefix: String,
    options: &'a Options,
    caps: Unpack,
    max_outputs: Option<u64>,
    keys: HashSet<String>,
    written: Vec<(String, Written)>,
    locations: Vec<Location>,
    total: u64,
    pub skipped: Vec<String>,
    committed: bool,
}

#[derive(Serialize)]
struct Manifest<'a> {
    archive: &'a str,
    members: usize,
    bytes: u64,
    skipped: &'a [String],
    outputs: Vec<ManifestEntry<'a>>,
}

#[derive(Serialize)]
struct ManifestEntry<'a> {
    key: &'a str,
    size: u64,
    sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'static str>,
}

impl<'a> MemberSet<'a> {
    pub fn new(archive: &str, output: &str, options: &'a Options, caps: &Unpack, max_outputs: Option<u64>) -> MemberSet<'a> {
        MemberSet {
            archive: archive.to_string(),
            prefix: output.trim_end_matches('/').to_string(),
            options,
            caps: caps.clone(),
            max_outputs,
            keys: HashSet::new(),
            written: Vec::new(),
            locations: Vec::new(),
            total: 0,
            skipped: Vec::new(),
            committed: false,
        }
    }

    fn limit(&self, what: String) -> Error {
        Error::Limit(format!("{}: {what}", self.archive))
    }

    /// Checks on what the archive declares, before anything is written.
    pub fn check_declared(&self, members: u64, bytes: u64) -> Result<()> {
        if members > self.caps.max_members {
            return Err(self.limit(format!("the archive holds {members} members, over max_members ({})", self.caps.max_members)));
        }
        if bytes > self.caps.max_total_bytes.0 {
            return Err(self.limit(format!(
                "its members add up to {bytes} bytes uncompressed, over max_total_bytes ({})",
                self.caps.max_total_bytes.0
            )));
        }
        Ok(())
    }

    /// Count one more member seen (files, folders and links alike) against max_members.
    pub fn count(&self, seen: u64) -> Result<()> {
        if seen > self.caps.max_members {
            return Err(self.limit(format!("the archive holds more than max_members ({}) members", self.caps.max_members)));
        }
        Ok(())
    }

    pub fn files(&self) -> u64 {
        self.written.len() as u64
    }

    /// Write member `key` (already checked safe) from `data`; `declared` is the size its
    /// header gives and `offset` where its header sits, both for the errors.
    pub fn add(&mut self, key: &str, offset: u64, declared: u64, data: &mut dyn Read, consumed: Consumed<'_>, tick: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let input_err = |msg: String| Error::input_at_offset(&self.archive, offset, format!("member {key:?}: {msg}"));
        if key == MANIFEST {
            return Err(input_err(format!("{MANIFEST} is the name Pravah gives the manifest of the set")));
        }
        if !self.keys.insert(key.to_string()) {
            return Err(input_err("appears twice in the archive: which one to keep is not clear".into()));
        }
        if let Some(max) = self.max_outputs {
            if self.files() + 1 > max {
                return Err(Error::Limit(format!("{}: more than limits.max_outputs ({max}) members to write", self.archive)));
            }
        }
        if self.total + declared > self.caps.max_total_bytes.0 {
            return Err(self.limit(format!("the members add up to more than max_total_bytes ({})", self.caps.max_total_bytes.0)));
        }
        let uri = format!("{}/{key}", self.prefix);
        let loc = Location::parse(&uri, self.options)?;
        let mut out = ObjectWriter::create(loc.clone())?;
        let mut buf = vec![0u8; CHUNK];
        let mut size = 0u64;
        loop {
            let n = data.read(&mut buf).map_err(|e| match classify_io(&self.archive, e) {
                Error::InputFormat { .. } => input_err("cannot be decompressed (a damaged archive?)".into()),
                other => other,
            })?;
            if n == 0 {
                break;
            }
            size += n as u64;
            self.total += n as u64;
            if size > declared {
                return Err(input_err(format!("yields more than the {declared} bytes its header declares")));
            }
            if self.total > self.caps.max_total_bytes.0 {
                return Err(self.limit(format!("the members add up to more than max_total_bytes ({})", self.caps.max_total_bytes.0)));
            }
            let (produced, base) = match &consumed {
                Consumed::Member(c) => (size, *c),
                Consumed::Stream(c) => (self.total, c.load(Ordering::Relaxed)),
            };
            if produced > RATIO_FLOOR && produced as f64 > self.caps.max_ratio * base.max(1) as f64 {
                return Err(self.limit(format!(
                    "member {key:?} expands {produced} bytes out of {base}, over max_ratio ({}): a zip bomb?",
                    self.caps.max_ratio
                )));
            }
            out.write_all(&buf[..n]).map_err(|e| Error::storage(&uri, e))?;
            tick()?;
        }
        if size != declared {
            return Err(input_err(format!("yields {size} bytes where its header declares {declared}")));
        }
        self.locations.push(loc);
        let written = out.finish()?;
        self.written.push((key.to_string(), written));
        Ok(())
    }

    /// Write the manifest (the commit) and hand back the members, the manifest and what was skipped.
    pub fn commit(mut self) -> Result<(Vec<Written>, Written, Vec<String>)> {
        let doc = Manifest {
            archive: &self.archive,
            members: self.written.len(),
            bytes: self.total,
            skipped: &self.skipped,
            outputs: self
                .written
                .iter()
                .map(|(key, w)| ManifestEntry { key, size: w.size, sha256: &w.sha256, content_type: w.content_type })
                .collect(),
        };
        let body = serde_json::to_vec_pretty(&doc).map_err(|e| Error::Internal(e.to_string()))?;
        let uri = format!("{}/{MANIFEST}", self.prefix);
        let mut out = ObjectWriter::create(Location::parse(&uri, self.options)?)?;
        out.write_all(&body).map_err(|e| Error::storage(&uri, e))?;
        let manifest = out.finish()?;
        self.committed = true;
        let members = std::mem::take(&mut self.written).into_iter().map(|(_, w)| w).collect();
        Ok((members, manifest, std::mem::take(&mut self.skipped)))
    }
}

impl Drop for MemberSet<'_> {
    /// Not committed: the members already written go again, so a failed run leaves no half set.
    fn drop(&mut self) {
        if !self.committed && !self.locations.is_empty() {
            delete_all(&self.locations);
        }
    }
}
