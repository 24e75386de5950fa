//! One page of an object-store prefix in key order, after a cursor: what a backfill lists and
//! commits a page at a time, so that a resumed backfill starts after the last key it kept.
//! (The scan lists in parallel by sub-prefix and has no order; a backfill needs one.)

use object_store::list::{PaginatedListOptions, PaginatedListStore};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::storage::{runtime, s3_client, Options};

/// At most this many keys per page (S3's own maximum per listing call).
pub const MAX_KEYS: usize = 1000;

#[derive(Debug, Serialize)]
pub struct Object {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
    /// Last modified, Unix milliseconds.
    pub modified_ms: i64,
}

#[derive(Debug, Serialize)]
pub struct Page {
    pub objects: Vec<Object>,
    /// The store said there is more after the last key.
    pub more: bool,
}

/// The objects of `s3://bucket/prefix` (the prefix as given: `data` also lists `data2/…`)
/// whose keys sort after `after`, at most `max_keys` (1..=1000). A missing bucket is
/// `Error::NotFound`.
pub fn page(root: &str, after: Option<&str>, max_keys: usize, storage: &Options) -> Result<Page> {
    let rest = root.strip_prefix("s3://").ok_or_else(|| Error::storage(root, "a page of keys needs an s3:// prefix"))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let client = s3_client(root, bucket, storage)?;
    let opts = PaginatedListOptions {
        offset: after.filter(|a| !a.is_empty()).map(str::to_string),
        max_keys: Some(max_keys.clamp(1, MAX_KEYS)),
        ..Default::default()
    };
    let listed = runtime()
        .block_on(client.list_paginated((!prefix.is_empty()).then_some(prefix), opts))
        .map_err(|e| super::list::fatal(root, e))?;
    let objects = listed
        .result
        .objects
        .into_iter()
        .map(|o| Object {
            key: o.location.as_ref().to_string(),
            size: o.size,
            etag: o.e_tag.map(|t| t.trim_matches('"').to_string()),
            modified_ms: o.last_modified.timestamp_millis(),
        })
        .collect();
    Ok(Page { objects, more: listed.page_token.is_some() })
}
