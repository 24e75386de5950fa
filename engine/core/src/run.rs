//! The one entry point: plan + input URI + output URI in, report out. Reading and parsing
//! run on a producer thread while this thread transforms and writes, so a CSV → Parquet job
//! keeps both cores busy; a bounded channel keeps memory flat.

use std::collections::BTreeSet;
use std::io::{BufWriter, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::Array;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use serde::Serialize;

use crate::codec::{classify_io, decoding, Codec, Encoder};
use crate::error::{Error, Result};
use crate::ops::Op;
use crate::plan::{Kind, Plan, Step};
use crate::read::{self, Batches};
use crate::rejects::Rejects;
use crate::storage::{hex, Location, ObjectReader, ObjectWriter, Options, Written};
use crate::text::{filter_lines, Counts, Frequencies, LineFilter, LineSink, Matcher, WriteLines};
use crate::write::{finish_out, Out, TableSink};

const TICK: Duration = Duration::from_millis(250);
const OUT_BUF: usize = 1 << 20;

/// What the caller sees while a job runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub bytes_in: u64,
    pub input_size: u64,
    pub rows_in: u64,
    pub rows_out: u64,
}

/// What the caller gets back.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub rows_in: u64,
    pub rows_out: u64,
    /// Bytes read from storage (compressed bytes for compressed inputs).
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub input_size: u64,
    pub input_codec: &'static str,
    pub outputs: Vec<Written>,
    pub duration_ms: u64,
    /// Rows set aside by `on_bad_rows` (skipped or quarantined), and where quarantined ones went.
    pub rows_rejected: u64,
    pub rejects: Option<Written>,
    /// The CSV dialect a read settled on (after `auto`).
    pub dialect: Option<crate::csv::Dialect>,
    /// An unpack's manifest, written last: the commit of its set of outputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Written>,
    /// Members an unpack passed over: links (object stores have none), devices, fifos.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// What a run hands back besides its outputs.
#[derive(Default)]
struct Extras {
    rows_rejected: u64,
    rejects: Option<Written>,
    dialect: Option<crate::csv::Dialect>,
    manifest: Option<Written>,
    skipped: Vec<String>,
}

/// Called at most every 250 ms; returning `false` cancels the job.
pub type OnProgress<'a> = &'a mut dyn FnMut(&Progress) -> bool;

struct Monitor<'a> {
    counter: Arc<AtomicU64>,
    progress: Progress,
    last: Instant,
    callback: Option<OnProgress<'a>>,
}

impl Monitor<'_> {
    fn tick(&mut self) -> Result<()> {
        if self.last.elapsed() < TICK {
            return Ok(());
        }
        self.last = Instant::now();
        self.progress.bytes_in = self.counter.load(Ordering::Relaxed);
        match self.callback.as_mut() {
            Some(cb) => {
                if cb(&self.progress) { Ok(()) } else { Err(Error::Cancelled) }
            }
            None => Ok(()),
        }
    }
}

/// Run `plan` (JSON) over the object at `input`, writing to `output`.
/// Never panics: a panic inside the engine comes back as `Error::Internal`.
pub fn run(plan: &str, input: &str, output: &str, options: &Options, on_progress: Option<OnProgress<'_>>) -> Result<Report> {
    match catch_unwind(AssertUnwindSafe(|| run_plan(plan, input, output, options, on_progress))) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Internal(format!("engine panicked: {what}")))
        }
    }
}

fn run_plan(plan: &str, input: &str, output: &str, options: &Options, on_progress: Option<OnProgress<'_>>) -> Result<Report> {
    let started = Instant::now();
    let plan = Plan::from_json(plan)?;
    let src = Location::parse(input, options)?;
    let dst = Location::parse(output, options)?;
    let input_size = src.size()?;
    let mut mon = Monitor {
        counter: Arc::new(AtomicU64::new(0)),
        progress: Progress { input_size, ..Default::default() },
        last: Instant::now() - TICK, // the first tick reports (and may cancel) at once
        callback: on_progress,
    };
    let mut extras = Extras::default();
    let (codec, written) = match plan.steps.first().map(Step::kind) {
        Some(Kind::TableSource) => run_table(&plan, src, dst, options, &mut mon, &mut extras)?,
        Some(Kind::Unpack) => run_unpack(&plan, src, dst, options, &mut mon, &mut extras)?,
        Some(Kind::Image) => run_image(&plan, src, dst, &mut mon)?,
        Some(Kind::Lines | Kind::Summary) => run_text(&plan, src, dst, &mut mon)?,
        _ => run_bytes(&plan, src, dst, &mut mon)?,
    };
    let p = &mon.progress;
    Ok(Report {
        rows_in: p.rows_in,
        rows_out: p.rows_out,
        bytes_in: mon.counter.load(Ordering::Relaxed),
        bytes_out: written.iter().map(|w| w.size).sum(),
        input_size,
        input_codec: match codec {
            Codec::None => "none",
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        },
        outputs: written,
        duration_ms: started.elapsed().as_millis() as u64,
        rows_rejected: extras.rows_rejected,
        rejects: extras.rejects,
        dialect: extras.dialect,
        manifest: extras.manifest,
        skipped: extras.skipped,
    })
}

/// What `pravah inspect` shows: the dialect a CSV read settles on, the schema, the first rows
/// as text and the bad rows among them.
#[derive(Debug, Serialize)]
pub struct Inspection {
    pub dialect: Option<crate::csv::Dialect>,
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Option<String>>>,
    pub rows_rejected: u64,
    pub rejected: Vec<serde_json::Value>,
}

/// Read the first `rows` rows of `input` with one read step (JSON), nothing written.
pub fn inspect(step: &str, input: &str, options: &Options, rows: usize) -> Result<Inspection> {
    let step: Step = serde_json::from_str(step).map_err(|e| Error::plan(0, e.to_string()))?;
    let src = Location::parse(input, options)?;
    let size = src.size()?;
    let mon = Monitor { counter: Arc::new(AtomicU64::new(0)), progress: Progress { input_size: size, ..Default::default() }, last: Instant::now(), callback: None };
    if step.kind() != Kind::TableSource {
        return Err(Error::plan(0, format!("{} is not a read step", step.name())));
    }
    let rejects = Arc::new(Mutex::new(Rejects::counting(&src.uri)));
    let Source { schema, batches, dialect, .. } = open_table(&step, src, &mon, &rejects, None)?;
    let mut out = Vec::new();
    let fmt = arrow::util::display::FormatOptions::default();
    for batch in batches {
        let batch = batch?;
        let cols = batch
            .columns()
            .iter()
            .map(|c| arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &fmt))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        for r in 0..batch.num_rows() {
            if out.len() >= rows {
                break;
            }
            out.push(batch.columns().iter().zip(&cols).map(|(c, f)| c.is_valid(r).then(|| f.value(r).to_string())).collect());
        }
        if out.len() >= rows {
            break;
        }
    }
    let r = rejects.lock().map_err(|_| Error::Internal("rejects lock poisoned".into()))?;
    Ok(Inspection {
        dialect,
        columns: schema.fields().iter().map(|f| (f.name().clone(), crate::types::type_name(f.data_type()))).collect(),
        rows: out,
        rows_rejected: r.rejected,
        rejected: r
            .kept
            .iter()
            .map(|k| serde_json::json!({"line": k.line, "byte_offset": k.offset, "reason": k.reason, "raw": String::from_utf8_lossy(&k.raw)}))
            .collect(),
    })
}

fn open_out(dst: &Location, last: Option<&Step>) -> Result<Out> {
    let (codec, level) = match last {
        Some(Step::Gzip(l)) => (Codec::Gzip, l.level),
        Some(Step::Zstd(l)) => (Codec::Zstd, l.level),
        _ => (Codec::None, None),
    };
    let writer = ObjectWriter::create(dst.clone())?;
    // Parallel gzip keeps every core busy: a hashing thread beside it only slowed it down.
    let writer = if codec == Codec::Gzip { writer.hash_in_place() } else { writer };
    let enc = Encoder::new(writer, codec, level).map_err(|e| Error::storage(&dst.uri, e))?;
    Ok(BufWriter::with_capacity(OUT_BUF, enc))
}

fn open_in(src: Location, mon: &Monitor, decode: bool) -> Result<(Codec, Box<dyn std::io::BufRead + Send>)> {
    let uri = src.uri.clone();
    let raw = ObjectReader::open_at(src, mon.progress.input_size, 0, mon.counter.clone());
    if decode {
        decoding(raw, &uri)
    } else {
        Ok((Codec::None, Box::new(std::io::BufReader::with_capacity(OUT_BUF, raw))))
    }
}

/// Bad rows of `uri` by the read step's policy; quarantined ones go to `<output>.rejects.jsonl`.
fn rejects_for(step: &Step, uri: &str, dst: &Location, options: &Options) -> Result<Arc<Mutex<Rejects>>> {
    let (policy, max) = match step {
        Step::ReadCsv(o) => (o.on_bad_rows, o.max_bad_rows),
        Step::ReadJsonl(o) => (o.on_bad_rows, o.max_bad_rows),
        _ => return Ok(Arc::new(Mutex::new(Rejects::counting(uri)))),
    };
    let out_uri = format!("{}.rejects.jsonl", dst.uri);
    let loc = Location::parse(&out_uri, options)?;
    Ok(Arc::new(Mutex::new(Rejects::new(policy, max, uri, out_uri, Box::new(move || open_out(&loc, None))))))
}

/// A table source opened: its rows to come, and what the read found on the way in.
struct Source {
    codec: Codec,
    schema: SchemaRef,
    batches: Batches,
    dialect: Option<crate::csv::Dialect>,
}

/// Open `src` with a read step (bad rows to `rejects`); shared by runs and `inspect`.
fn open_table(step: &Step, src: Location, mon: &Monitor, rejects: &Arc<Mutex<Rejects>>, used: Option<&BTreeSet<String>>) -> Result<Source> {
    let uri = src.uri.clone();
    Ok(match step {
        Step::ReadParquet {} => {
            let (schema, batches) = read::parquet(src, mon.progress.input_size, mon.counter.clone())?;
            Source { codec: Codec::None, schema, batches, dialect: None }
        }
        Step::ReadCsv(opts) => {
            let (codec, input) = open_in(src, mon, true)?;
            let (schema, batches, dialect) = crate::csv::read(input, opts, &uri, rejects.clone(), used)?;
            Source { codec, schema, batches, dialect: Some(dialect) }
        }
        Step::ReadJsonl(opts) => {
            let (codec, input) = open_in(src, mon, true)?;
            let (schema, batches) = crate::jsonl::read(input, opts, &uri, rejects.clone(), used)?;
            Source { codec, schema, batches, dialect: None }
        }
        other => return Err(Error::Internal(format!("{} is not a table source", other.name()))),
    })
}

fn run_table(plan: &Plan, src: Location, dst: Location, options: &Options, mon: &mut Monitor, extras: &mut Extras) -> Result<(Codec, Vec<Written>)> {
    let uri = src.uri.clone();
    let rejects = rejects_for(&plan.steps[0], &uri, &dst, options)?;
    let Source { codec, mut schema, batches, dialect } = open_table(&plan.steps[0], src, mon, &rejects, plan.columns_used().as_ref())?;
    extras.dialect = dialect;
    let mut ops = Vec::new();
    let mut sink_step = None;
    for (i, step) in plan.steps.iter().enumerate().skip(1) {
        match step.kind() {
            Kind::TableOp => {
                let (op, out) = Op::compile(i, step, schema, &plan.limits)?;
                ops.push(op);
                schema = out;
            }
            Kind::TableSink => sink_step = Some(step),
            _ => {}
        }
    }
    let sink_step = sink_step.ok_or_else(|| Error::plan(plan.steps.len() - 1, "no write step"))?;
    let mut sink = TableSink::new(sink_step, schema, open_out(&dst, plan.steps.last())?)?;

    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = sync_channel::<Result<RecordBatch>>(2);
        scope.spawn(move || {
            for batch in batches {
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    break;
                }
            }
        });
        for batch in rx {
            let batch = batch?;
            mon.progress.rows_in += batch.num_rows() as u64;
            push(&mut ops, batch, &mut sink, &mut mon.progress.rows_out)?;
            mon.tick()?;
        }
        Ok(())
    })?;
    let rejects = Arc::try_unwrap(rejects).map_err(|_| Error::Internal("rejects still shared after the read".into()))?;
    let rejects = rejects.into_inner().map_err(|_| Error::Internal("rejects lock poisoned".into()))?;
    extras.rows_rejected = rejects.rejected;
    // Past max_bad_rows the run fails before its outputs are committed.
    extras.rejects = rejects.finish()?;
    for k in 0..ops.len() {
        for batch in ops[k].finish()? {
            push(&mut ops[k + 1..], batch, &mut sink, &mut mon.progress.rows_out)?;
        }
    }
    Ok((codec, vec![sink.finish(&dst.uri)?]))
}

fn push(ops: &mut [Op], mut batch: RecordBatch, sink: &mut TableSink, rows_out: &mut u64) -> Result<()> {
    for op in ops.iter_mut() {
        match op.apply(batch)? {
            Some(b) => batch = b,
            None => return Ok(()),
        }
    }
    if batch.num_rows() > 0 {
        *rows_out += batch.num_rows() as u64;
        sink.write(&batch)?;
    }
    Ok(())
}

/// An archive out into its members under the output prefix (rows: members seen and written).
fn run_unpack(plan: &Plan, src: Location, dst: Location, options: &Options, mon: &mut Monitor, extras: &mut Extras) -> Result<(Codec, Vec<Written>)> {
    let archive = crate::archive::Archive { src, size: mon.progress.input_size, counter: mon.counter.clone() };
    let mut tick = |seen: u64, written: u64| {
        mon.progress.rows_in = seen;
        mon.progress.rows_out = written;
        mon.tick()
    };
    let done = crate::archive::unpack(&plan.steps[0], archive, &dst, options, plan.limits.max_outputs, &mut tick)?;
    mon.progress.rows_out = done.members.len() as u64;
    mon.progress.rows_in = mon.progress.rows_in.max(mon.progress.rows_out);
    extras.manifest = Some(done.manifest);
    extras.skipped = done.skipped;
    Ok((done.codec, done.members))
}

/// A whole image in, one object out (rows: the one image).
fn run_image(plan: &Plan, src: Location, dst: Location, mon: &mut Monitor) -> Result<(Codec, Vec<Written>)> {
    let uri = src.uri.clone();
    let size = mon.progress.input_size;
    let (_, input) = open_in(src, mon, false)?;
    let bytes = crate::picture::read_all(input, &uri, size)?;
    mon.progress.rows_in = 1;
    mon.tick()?;
    let body = crate::picture::run(&plan.steps[0], &bytes, &uri)?;
    let mut out = ObjectWriter::create(dst.clone())?;
    out.write_all(&body).map_err(|e| Error::storage(&dst.uri, e))?;
    mon.progress.rows_out = 1;
    Ok((Codec::None, vec![out.finish()?]))
}

fn run_text(plan: &Plan, src: Location, dst: Location, mon: &mut Monitor) -> Result<(Codec, Vec<Written>)> {
    let uri = src.uri.clone();
    let mut filters = Vec::new();
    for (i, step) in plan.steps.iter().enumerate() {
        if let Step::Grep(g) = step {
            filters.push(LineFilter { matcher: Matcher::new(i, g)?, invert: g.invert });
        }
    }
    let summary = plan.steps.iter().find(|s| s.kind() == Kind::Summary);
    let (codec, mut input) = open_in(src, mon, true)?;
    let mut out = open_out(&dst, plan.steps.last())?;
    let mut tick = |stats: &crate::text::LineStats| {
        mon.progress.rows_in = stats.lines_in;
        mon.progress.rows_out = stats.lines_out;
        mon.tick()
    };
    match summary {
        Some(Step::Count {}) => {
            let mut counts = Counts { lines: 0, words: 0, bytes: 0 };
            filter_lines(&mut input, &uri, &filters, &mut counts, &mut tick)?;
            let doc = serde_json::json!({"lines": counts.lines, "words": counts.words, "bytes": counts.bytes});
            writeln!(out, "{doc}").map_err(|e| Error::storage(&dst.uri, e))?;
        }
        Some(Step::WordFreq(spec)) => {
            let mut freq = Frequencies::new(spec);
            filter_lines(&mut input, &uri, &filters, &mut freq, &mut tick)?;
            out.write_all(&freq.csv()).map_err(|e| Error::storage(&dst.uri, e))?;
        }
        _ => {
            let mut sink = WriteLines(&mut out, &dst.uri);
            filter_lines(&mut input, &uri, &filters, &mut sink as &mut dyn LineSink, &mut tick)?;
        }
    }
    Ok((codec, vec![finish_out(out, &dst.uri)?]))
}

fn run_bytes(plan: &Plan, src: Location, dst: Location, mon: &mut Monitor) -> Result<(Codec, Vec<Written>)> {
    let uri = src.uri.clone();
    let name = src.path.filename().unwrap_or("input").to_string();
    let (codec, mut input) = open_in(src, mon, plan.decompresses_input())?;
    let mut out = open_out(&dst, plan.steps.last())?;
    if matches!(plan.steps.first(), Some(Step::Sha256 {})) {
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        let mut buf = vec![0u8; OUT_BUF];
        loop {
            let n = input.read(&mut buf).map_err(|e| classify_io(&uri, e))?;
            if n == 0 {
                break;
            }
            sha2::Digest::update(&mut hasher, &buf[..n]);
            mon.tick()?;
        }
        writeln!(out, "{}  {name}", hex(&sha2::Digest::finalize(hasher))).map_err(|e| Error::storage(&dst.uri, e))?;
    } else {
        copy_overlapped(&mut input, &mut out, &uri, &dst.uri, mon)?;
    }
    Ok((codec, vec![finish_out(out, &dst.uri)?]))
}

/// `input` into `out` on two threads: this one reads (and decodes) the next buffer while the
/// other writes the last one out (encodes, stores; the output's sha256 for the report is taken
/// on a third, see `hash_behind`). The output's sha256 and write are about a quarter of a zstd
/// decompression's CPU (perf), which one thread paid on top of decoding. Buffers go back to the
/// reader, so at most three are ever made.
fn copy_overlapped(input: &mut dyn Read, out: &mut Out, src: &str, dst: &str, mon: &mut Monitor) -> Result<()> {
    const BUFFERS: usize = 3;
    let (full, filled) = std::sync::mpsc::channel::<(Vec<u8>, usize)>();
    let (back, empty) = std::sync::mpsc::channel::<Vec<u8>>();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let stop = &stop;
        let writer = std::thread::Builder::new()
            .name("pravah-write".into())
            .spawn_scoped(scope, move || -> std::io::Result<()> {
                for (buf, n) in filled {
                    if stop.load(Ordering::Relaxed) {
                        break; // the reader stopped (a cancel or a limit): its error is the one to tell
                    }
                    out.write_all(&buf[..n])?;
                    let _ = back.send(buf); // the reader may have stopped
                }
                Ok(()) // `back` drops here: the reader's wait below ends
            })
            .map_err(|e| Error::storage(dst, e))?;
        // The reader waits for the writer only in `recv_timeout`, until the monitor's next tick
        // is due, so a cancel or a time limit is seen every TICK while the writer is still busy
        // (a slow encoder's last buffers), not only between reads.
        let mut made = 0;
        let wait = |mon: &mut Monitor| -> Result<Option<Vec<u8>>> {
            loop {
                let due = TICK.saturating_sub(mon.last.elapsed()).max(Duration::from_millis(1));
                match empty.recv_timeout(due) {
                    Ok(buf) => {
                        mon.tick()?; // buffers coming back just under a TICK apart must not starve it
                        return Ok(Some(buf));
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => mon.tick()?,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(None), // the writer ended
                }
            }
        };
        let read = (|| -> Result<()> {
            loop {
                let mut buf = if made < BUFFERS {
                    made += 1;
                    vec![0u8; OUT_BUF]
                } else {
                    match wait(mon)? {
                        Some(buf) => buf,
                        None => return Ok(()), // the writer failed: its error is the one to tell
                    }
                };
                let n = input.read(&mut buf).map_err(|e| classify_io(src, e))?;
                if n == 0 || full.send((buf, n)).is_err() {
                    return Ok(());
                }
                mon.tick()?;
            }
        })();
        let stop_writer = |read: &Result<()>| {
            if read.is_err() {
                stop.store(true, Ordering::Relaxed); // before it takes another queued buffer
            }
        };
        stop_writer(&read);
        drop(full);
        let read = read.and_then(|()| {
            while wait(mon)?.is_some() {} // every buffer back: the writer has written them all
            Ok(())
        });
        stop_writer(&read);
        let wrote = writer.join().unwrap_or_else(|_| Err(std::io::Error::other("the output's writer thread panicked")));
        wrote.map_err(|e| Error::storage(dst, e))?;
        read
    })
}
