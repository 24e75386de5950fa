//! unzip: the central directory first, so the member count and the declared sizes are judged
//! before a byte is written; then the members in archive order, which for a zip written in one
//! pass is one forward read of the object.

use std::io::Read;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use zip::result::ZipError;
use zip::{HasZipMetadata, ZipArchive};

use super::members::{Consumed, MemberSet};
use super::names::{link_stays_inside, member_key, Name};
use super::seek::Seekable;
use super::Tick;
use crate::codec::classify_io;
use crate::error::{Error, Result};
use crate::storage::Location;

/// The longest symbolic link target read from a member.
const LINK_MAX: u64 = 4096;

fn zip_err(uri: &str, e: ZipError) -> Error {
    match e {
        ZipError::Io(io) => classify_io(uri, io),
        other => Error::input(uri, format!("not a zip archive Pravah can read: {other}")),
    }
}

pub fn unpack(src: Location, size: u64, counter: Arc<AtomicU64>, set: &mut MemberSet<'_>, tick: Tick<'_>) -> Result<()> {
    let uri = src.uri.clone();
    let mut zip = ZipArchive::new(Seekable::new(src, size, counter)).map_err(|e| zip_err(&uri, e))?;
    let n = zip.len();
    let mut declared = 0u64;
    for i in 0..n {
        let entry = zip.by_index_data(i).map_err(|e| zip_err(&uri, e))?;
        declared = declared.saturating_add(entry.get_metadata().uncompressed_size);
    }
    set.check_declared(n as u64, declared)?;
    for i in 0..n {
        let mut f = zip.by_index(i).map_err(|e| zip_err(&uri, e))?;
        let offset = f.header_start();
        let raw = f.name().map_err(|e| zip_err(&uri, e))?.into_owned();
        let key = match member_key(&raw) {
            Ok(Name::Key(k)) => k,
            Ok(Name::Root) => continue,
            Err(why) => return Err(Error::input_at_offset(&uri, offset, format!("member {raw:?} {why}: refused"))),
        };
        if f.is_dir() {
            continue;
        }
        if f.is_symlink() {
            let mut target = String::new();
            (&mut f).take(LINK_MAX).read_to_string(&mut target).map_err(|e| classify_io(&uri, e))?;
            if !link_stays_inside(&key, &target, false) {
                return Err(Error::input_at_offset(&uri, offset, format!("member {raw:?} is a link to {target:?}, outside the archive: refused")));
            }
            set.skipped.push(format!("{key} (a link to {target})"));
            continue;
        }
        let (size, compressed, files) = (f.size(), f.compressed_size(), set.files());
        set.add(&key, offset, size, &mut f, Consumed::Member(compressed), &mut || tick(i as u64 + 1, files))?;
    }
    Ok(())
}
