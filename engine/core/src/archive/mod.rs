//! `unzip` and `untar`: one archive in, one object per member out under the output prefix,
//! written as a set committed by a manifest (members.rs). Names that would leave the prefix
//! are refused (names.rs); the caps of the step stop zip bombs before and while they expand.

mod members;
mod names;
mod seek;
mod untar;
mod unzip;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::codec::Codec;
use crate::error::Result;
use crate::plan::{Step, Unpack};
use crate::storage::{Location, Options, Written};

#[cfg(test)]
mod tests;

/// What an unpack hands back besides its members: the manifest, and the members it passed
/// over (folders are not objects; links inside the archive are listed, not followed).
pub struct Unpacked {
    pub codec: Codec,
    pub members: Vec<Written>,
    pub manifest: Written,
    pub skipped: Vec<String>,
}

/// Progress of an unpack: members seen, members written; Err cancels.
pub type Tick<'a> = &'a mut dyn FnMut(u64, u64) -> Result<()>;

/// The archive to read: where, how big (one HEAD made already), and the counter of bytes read.
pub struct Archive {
    pub src: Location,
    pub size: u64,
    pub counter: Arc<AtomicU64>,
}

/// Unpack `archive` under the prefix `dst` by `step` (unzip or untar).
pub fn unpack(step: &Step, archive: Archive, dst: &Location, options: &Options, max_outputs: Option<u64>, tick: Tick<'_>) -> Result<Unpacked> {
    let Archive { src, size, counter } = archive;
    let caps: &Unpack = match step {
        Step::Unzip(c) | Step::Untar(c) => c,
        other => return Err(crate::Error::Internal(format!("{} is not an unpack step", other.name()))),
    };
    let mut set = members::MemberSet::new(&src.uri, &dst.uri, options, caps, max_outputs);
    let codec = match step {
        Step::Unzip(_) => {
            unzip::unpack(src, size, counter, &mut set, tick)?;
            Codec::None
        }
        _ => untar::unpack(src, size, counter, &mut set, tick)?,
    };
    let (members, manifest, skipped) = set.commit()?;
    Ok(Unpacked { codec, members, manifest, skipped })
}
