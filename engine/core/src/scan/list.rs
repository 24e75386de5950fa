//! The object-store listing: one page at a time, never the whole listing in memory. The top
//! of the prefix is listed with a `/` delimiter to find sub-prefixes — a level deeper while
//! there are fewer than `concurrency` of them — then each sub-prefix is listed flat, up to
//! `concurrency` listings in flight on the process's runtime. A prefix without sub-prefixes is
//! thus one listing. A sub-prefix that fails is counted as an error; the root failing is fatal.

use std::sync::Arc;

use futures::StreamExt;
use object_store::aws::AmazonS3;
use object_store::list::{PaginatedListOptions, PaginatedListStore};

use super::{header, Sink, Stat, Tally};
use crate::error::{Error, Result};
use crate::storage::runtime;

/// Delimiter levels explored to find enough sub-prefixes to list in parallel.
const MAX_DEPTH: usize = 3;
const PAGE: usize = 1000;
/// Header reads in flight per listing (with `headers`): each is one small ranged GET.
const HEADER_READS: usize = 16;

/// What one prefix gave: its tally, the sub-prefixes found (delimiter listings only), and
/// the error of its first page when that failed (nothing was listed then).
struct Listed {
    tally: Tally,
    prefixes: Vec<String>,
    failed: Option<object_store::Error>,
}

/// List everything under `prefix` (empty, or ending with `/`) of the bucket `client` holds.
pub(super) fn list(root: &str, client: Arc<AmazonS3>, prefix: String, sink: Arc<Sink>, concurrency: usize) -> Result<Tally> {
    let cancel = sink.cancel.clone();
    let work = async move {
        let mut total = Tally::default();
        let mut frontier = vec![prefix];
        let mut depth = 0;
        while frontier.len() < concurrency && depth < MAX_DEPTH {
            let mut next = Vec::new();
            for listed in in_parallel(&client, &sink, frontier, true, concurrency).await? {
                if let Some(e) = listed.failed {
                    if depth == 0 {
                        return Err(fatal(root, e));
                    }
                }
                next.extend(listed.prefixes);
                total.merge(listed.tally);
            }
            if next.is_empty() {
                return Ok(total);
            }
            frontier = next;
            depth += 1;
        }
        for listed in in_parallel(&client, &sink, frontier, false, concurrency).await? {
            if let Some(e) = listed.failed {
                if depth == 0 {
                    return Err(fatal(root, e)); // --concurrency 1: the root is listed flat at once
                }
            }
            total.merge(listed.tally);
        }
        Ok(total)
    };
    runtime().block_on(async move {
        tokio::select! {
            done = work => done,
            _ = cancel.cancelled() => Err(Error::Cancelled),
        }
    })
}

/// The root's listing failed. object_store reports a missing bucket on a list as a generic
/// 404, so S3's own error code is what tells it apart.
pub(super) fn fatal(root: &str, e: object_store::Error) -> Error {
    let missing = matches!(e, object_store::Error::NotFound { .. }) || e.to_string().contains("<Code>NoSuchBucket</Code>");
    if missing {
        Error::NotFound { uri: root.to_string(), message: "no such bucket".into() }
    } else {
        Error::storage(root, e)
    }
}

/// List `prefixes` as spawned tasks, at most `concurrency` at a time.
async fn in_parallel(client: &Arc<AmazonS3>, sink: &Arc<Sink>, prefixes: Vec<String>, delimiter: bool, concurrency: usize) -> Result<Vec<Listed>> {
    let tasks = futures::stream::iter(prefixes)
        .map(|p| runtime().spawn(list_prefix(client.clone(), p, delimiter, sink.clone())))
        .buffer_unordered(concurrency);
    let mut all = Vec::new();
    futures::pin_mut!(tasks);
    while let Some(joined) = tasks.next().await {
        all.push(joined.map_err(|e| Error::Internal(format!("a listing task failed: {e}")))??);
    }
    Ok(all)
}

/// Page through one prefix; with `delimiter`, only its own level (sub-prefixes returned).
async fn list_prefix(client: Arc<AmazonS3>, prefix: String, delimiter: bool, sink: Arc<Sink>) -> Result<Listed> {
    let mut listed = Listed { tally: Tally::default(), prefixes: Vec::new(), failed: None };
    let mut token = None;
    let mut first = true;
    loop {
        if sink.cancel.is_cancelled() {
            return Err(Error::Cancelled); // a task already spawned stops at its next page
        }
        let opts = PaginatedListOptions {
            delimiter: delimiter.then_some("/".into()),
            page_token: token.take(),
            max_keys: Some(PAGE),
            ..Default::default()
        };
        let page = match client.list_paginated((!prefix.is_empty()).then_some(prefix.as_str()), opts).await {
            Ok(page) => page,
            Err(e) => {
                listed.tally.error(prefix.clone(), &e);
                if first {
                    listed.failed = Some(e);
                }
                break;
            }
        };
        first = false;
        for p in page.result.common_prefixes {
            listed.tally.entries += 1;
            listed.tally.dirs += 1;
            let p = p.as_ref();
            if sink.filter.may_descend(p.strip_prefix(sink.prefix.as_str()).unwrap_or(p)) {
                listed.prefixes.push(format!("{p}/"));
            }
        }
        let Some(delimiter) = sink.headers else {
            for o in page.result.objects {
                let key = o.location.as_ref();
                let rel = key.strip_prefix(sink.prefix.as_str()).unwrap_or(key);
                listed.tally.file(&sink, rel, Some(Stat { size: o.size, modified_ms: o.last_modified.timestamp_millis() }))?;
            }
            match page.page_token {
                Some(t) => token = Some(t),
                None => break,
            }
            continue;
        };
        // With headers: the page's kept objects' first blocks, HEADER_READS at a time, in order.
        let items: Vec<(String, Stat, Option<object_store::path::Path>)> = page
            .result
            .objects
            .into_iter()
            .map(|o| {
                let key = o.location.as_ref();
                let rel = key.strip_prefix(sink.prefix.as_str()).unwrap_or(key).to_string();
                let stat = Stat { size: o.size, modified_ms: o.last_modified.timestamp_millis() };
                let keep = sink.filter.keeps(&rel, Some(stat));
                (rel, stat, keep.then_some(o.location))
            })
            .collect();
        let reads: Vec<_> = futures::stream::iter(items.into_iter().map(|(rel, stat, path)| {
            let client = client.clone();
            async move {
                let read = match path {
                    Some(path) => Some(header::read_object(client.as_ref(), &path, stat.size, delimiter).await),
                    None => None,
                };
                (rel, stat, read)
            }
        }))
        .buffered(HEADER_READS)
        .collect()
        .await;
        for (rel, stat, read) in reads {
            listed.tally.file_read(&sink, &rel, Some(stat), read)?;
        }
        match page.page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    sink.write(&mut listed.tally)?;
    Ok(listed)
}
