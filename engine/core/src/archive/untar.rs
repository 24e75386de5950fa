//! untar (tar, tar.gz, tar.zst: the compression is sniffed): one forward read, members as they
//! come, so the caps are checked as the stream goes: the count at each header, the sizes at
//! each header and again on the bytes, the ratio against the compressed bytes consumed.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::members::{Consumed, MemberSet};
use super::names::{link_stays_inside, member_key, Name};
use super::Tick;
use crate::codec::{classify_io, decoding, Codec};
use crate::error::{Error, Result};
use crate::storage::{Location, ObjectReader};

pub fn unpack(src: Location, size: u64, counter: Arc<AtomicU64>, set: &mut MemberSet<'_>, tick: Tick<'_>) -> Result<Codec> {
    let uri = src.uri.clone();
    let (codec, input) = decoding(ObjectReader::open_at(src, size, 0, counter.clone()), &uri)?;
    let mut archive = tar::Archive::new(input);
    let bad = |e: std::io::Error| match classify_io(&uri, e) {
        Error::InputFormat { message, .. } => Error::input(&uri, format!("not a tar archive Pravah can read: {message}")),
        other => other,
    };
    let mut seen = 0u64;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        seen += 1;
        set.count(seen)?;
        let offset = entry.raw_header_position();
        let raw = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| Error::input_at_offset(&uri, offset, "a member's name is not UTF-8: refused"))?;
        let key = match member_key(&raw) {
            Ok(Name::Key(k)) => k,
            Ok(Name::Root) => continue,
            Err(why) => return Err(Error::input_at_offset(&uri, offset, format!("member {raw:?} {why}: refused"))),
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() || raw.ends_with('/') {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry.link_name_bytes().map(|t| String::from_utf8_lossy(&t).into_owned()).unwrap_or_default();
            if !link_stays_inside(&key, &target, kind.is_hard_link()) {
                return Err(Error::input_at_offset(&uri, offset, format!("member {raw:?} is a link to {target:?}, outside the archive: refused")));
            }
            set.skipped.push(format!("{key} (a link to {target})"));
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous()) {
            set.skipped.push(format!("{key} (not a regular file: {kind:?})"));
            continue;
        }
        let (declared, files) = (entry.size(), set.files());
        set.add(&key, offset, declared, &mut entry, Consumed::Stream(&counter), &mut || tick(seen, files))?;
    }
    Ok(codec)
}
