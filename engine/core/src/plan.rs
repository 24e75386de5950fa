//! The plan: what Python hands the engine, as JSON. Steps run in order; `check` enforces
//! the order rules so a bad plan fails before any byte is read.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub steps: Vec<Step>,
    #[serde(default)]
    pub limits: Limits,
}

/// Limits the engine enforces for one run (the pipeline's `limits`); a limit passed is a
/// `LimitError`, never an out-of-memory kill.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Budget for what grows with the data: aggregate's groups (the streaming steps are
    /// bounded by design). None = only `max_groups` applies.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// Most objects one run may write (the pipeline's `limits.max_outputs`); an unpack past it
    /// fails before the member over the line is written. None = unbounded.
    #[serde(default)]
    pub max_outputs: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    ReadCsv(CsvRead),
    ReadJsonl(JsonRead),
    ReadParquet {},
    Filter { r#where: String },
    Select { columns: Vec<String> },
    Rename { columns: BTreeMap<String, String> },
    Cast { columns: BTreeMap<String, String> },
    Derive { column: String, expr: String },
    Aggregate(Aggregate),
    WriteParquet(ParquetWrite),
    WriteCsv(CsvWrite),
    WriteJsonl(JsonWrite),
    Grep(Grep),
    Count {},
    WordFreq(WordFreq),
    Decompress {},
    Gzip(Level),
    Zstd(Level),
    Sha256 {},
    Unzip(Unpack),
    Untar(Unpack),
    Thumbnail(Thumbnail),
    Exif {},
}

fn yes() -> bool {
    true
}
fn comma() -> Auto {
    Auto::Char(b',')
}
fn dquote() -> Auto {
    Auto::Char(b'"')
}
fn auto() -> String {
    "auto".into()
}
fn dot() -> char {
    '.'
}
fn empty_is_null() -> Vec<String> {
    vec![String::new()]
}
fn infer_rows() -> usize {
    1000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvRead {
    #[serde(default)]
    pub header: Header,
    #[serde(default = "comma")]
    pub delimiter: Auto,
    #[serde(default = "dquote")]
    pub quote: Auto,
    #[serde(default)]
    pub escape: Option<char>,
    /// `auto` (BOM, else UTF-8 unless the sample has no valid UTF-8 at all: windows-1252) or a label.
    #[serde(default = "auto")]
    pub encoding: String,
    /// Physical lines skipped before the header (a preamble).
    #[serde(default)]
    pub skip_rows: usize,
    /// Last non-blank lines dropped (footnotes).
    #[serde(default)]
    pub skip_footer: usize,
    #[serde(default)]
    pub comment: Option<char>,
    #[serde(default = "empty_is_null")]
    pub null_values: Vec<String>,
    #[serde(default)]
    pub trim: bool,
    #[serde(default = "dot")]
    pub decimal: char,
    #[serde(default)]
    pub on_bad_rows: OnBadRows,
    #[serde(default)]
    pub max_bad_rows: MaxBadRows,
    #[serde(default)]
    pub ragged: Ragged,
    /// Column name → type name; overrides what inference guessed for those columns.
    #[serde(default)]
    pub schema: BTreeMap<String, String>,
    #[serde(default = "infer_rows")]
    pub infer_rows: usize,
}

/// `header: true | false | auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    #[default]
    Yes,
    No,
    Auto,
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(true) => Ok(Header::Yes),
            serde_json::Value::Bool(false) => Ok(Header::No),
            serde_json::Value::String(s) if s == "auto" => Ok(Header::Auto),
            other => Err(serde::de::Error::custom(format!("header must be true, false or \"auto\", got {other}"))),
        }
    }
}

/// One ASCII character, or `auto` (sniffed from a sample).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auto {
    Char(u8),
    Sniff,
}

impl<'de> Deserialize<'de> for Auto {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "auto" {
            return Ok(Auto::Sniff);
        }
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii() && c != '\n' && c != '\r' => Ok(Auto::Char(c as u8)),
            _ => Err(serde::de::Error::custom(format!("expected one ASCII character (not a line break) or \"auto\", got {s:?}"))),
        }
    }
}

/// What a bad row does: fails the job, is dropped and counted, or goes to the rejects output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnBadRows {
    Fail,
    Skip,
    #[default]
    Quarantine,
}

/// How many bad rows a run tolerates before it fails: a count, or a share of the rows read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxBadRows {
    Count(u64),
    Fraction(f64),
}

impl Default for MaxBadRows {
    fn default() -> Self {
        MaxBadRows::Fraction(0.5)
    }
}

impl<'de> Deserialize<'de> for MaxBadRows {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let bad = |v: &dyn std::fmt::Display| {
            serde::de::Error::custom(format!("max_bad_rows must be a count (0, 1, …), a fraction below 1 (0.05) or a percentage (\"5%\"), got {v}"))
        };
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => match (n.as_u64(), n.as_f64()) {
                (Some(c), _) => Ok(MaxBadRows::Count(c)),
                (None, Some(f)) if f > 0.0 && f < 1.0 => Ok(MaxBadRows::Fraction(f)),
                _ => Err(bad(&n)),
            },
            serde_json::Value::String(s) => match s.trim().strip_suffix('%').and_then(|p| p.trim().parse::<f64>().ok()) {
                Some(p) if (0.0..=100.0).contains(&p) => Ok(MaxBadRows::Fraction(p / 100.0)),
                _ => Err(bad(&format!("{s:?}"))),
            },
            other => Err(bad(&other)),
        }
    }
}


/// Rows with too few or too many fields: bad rows, or padded with nulls / cut to the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ragged {
    #[default]
    Error,
    Pad,
    Truncate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRead {
    #[serde(default)]
    pub schema: BTreeMap<String, String>,
    #[serde(default = "infer_rows")]
    pub infer_rows: usize,
    #[serde(default)]
    pub on_bad_rows: OnBadRows,
    #[serde(default)]
    pub max_bad_rows: MaxBadRows,
}

fn max_groups() -> usize {
    5_000_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    #[serde(default)]
    pub by: Vec<String>,
    pub aggs: Vec<AggSpec>,
    /// Past this many distinct keys the step fails with a limit error instead of growing.
    #[serde(default = "max_groups")]
    pub max_groups: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFn {
    Count,
    Sum,
    Min,
    Max,
    Mean,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggSpec {
    #[serde(rename = "fn")]
    pub func: AggFn,
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default, rename = "as")]
    pub alias: Option<String>,
}

/// Level 1, as Arrow C++ (pyarrow) writes by default: on the sales CSV → Parquet run it costs
/// about 5 % in size against level 3 and saves 10–15 % of the time (`level: 3` or more when the
/// bytes matter more than the seconds).
fn zstd_level() -> i32 {
    1
}
fn row_group_rows() -> usize {
    1 << 20
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParquetCompression {
    Zstd,
    Snappy,
    None,
}

fn default_compression() -> ParquetCompression {
    ParquetCompression::Zstd
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParquetWrite {
    #[serde(default = "default_compression")]
    pub compression: ParquetCompression,
    #[serde(default = "zstd_level")]
    pub level: i32,
    #[serde(default = "row_group_rows")]
    pub row_group_rows: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvWrite {
    #[serde(default = "yes")]
    pub header: bool,
    #[serde(default = "comma_char")]
    pub delimiter: char,
}

fn comma_char() -> char {
    ','
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonWrite {
    /// Write `"a":null` for null fields (readers then see every column on every line).
    #[serde(default = "yes")]
    pub explicit_nulls: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grep {
    pub pattern: String,
    #[serde(default)]
    pub regex: bool,
    #[serde(default)]
    pub ignore_case: bool,
    /// Keep the lines that do NOT match.
    #[serde(default)]
    pub invert: bool,
}

fn max_words() -> usize {
    10_000_000
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordFreq {
    #[serde(default)]
    pub top: Option<usize>,
    #[serde(default = "yes")]
    pub lowercase: bool,
    #[serde(default = "max_words")]
    pub max_words: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    #[serde(default)]
    pub level: Option<i32>,
}

fn max_members() -> u64 {
    100_000
}
fn max_total_bytes() -> Bytes {
    Bytes(10 << 30)
}
fn max_ratio() -> f64 {
    1000.0
}

/// An archive opened into one object per member under the output prefix. The caps stop zip
/// bombs and runaway archives: each is checked against what the archive declares before a
/// byte is written, and again against what decompression actually yields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unpack {
    /// Most members (files) one archive may hold.
    #[serde(default = "max_members")]
    pub max_members: u64,
    /// Most bytes all members may add up to, uncompressed: a count or "10GiB", "500MB".
    #[serde(default = "max_total_bytes")]
    pub max_total_bytes: Bytes,
    /// Largest uncompressed ÷ compressed size of a member (zip) or the stream (tar.gz, tar.zst).
    #[serde(default = "max_ratio")]
    pub max_ratio: f64,
}

fn thumb_size() -> u32 {
    1024
}
fn quality() -> u8 {
    85
}
fn max_pixels() -> u64 {
    100_000_000
}

/// A smaller copy of an image: fit within `size`×`size`, aspect ratio kept, never enlarged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thumbnail {
    #[serde(default = "thumb_size")]
    pub size: u32,
    #[serde(default)]
    pub format: ImageFormatOut,
    /// JPEG quality, 1–100 (WebP is written lossless, PNG is lossless).
    #[serde(default = "quality")]
    pub quality: u8,
    /// Largest image decoded (width × height), checked from its header before any pixel is.
    #[serde(default = "max_pixels")]
    pub max_pixels: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormatOut {
    /// PNG stays PNG, WebP stays WebP, everything else becomes JPEG.
    #[default]
    Same,
    Jpeg,
    Png,
    Webp,
}

/// A byte count written as a number or with a unit ("100MB", "1.5GiB"), as the pipeline's limits are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) if n.as_u64().is_some() => Ok(Bytes(n.as_u64().unwrap_or_default())),
            serde_json::Value::String(s) => parse_bytes(&s).map(Bytes).ok_or_else(|| {
                serde::de::Error::custom(format!("expected a byte count such as 1048576, \"500MB\" or \"1.5GiB\", got {s:?}"))
            }),
            other => Err(serde::de::Error::custom(format!("expected a byte count such as 1048576 or \"500MB\", got {other}"))),
        }
    }
}

fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1_000,
        "mb" | "m" => 1_000_000,
        "gb" | "g" => 1_000_000_000,
        "tb" | "t" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    let v = num * mult as f64;
    (v.is_finite() && v >= 0.0 && v < u64::MAX as f64).then_some(v as u64)
}

/// What a step consumes and produces; the order rules are written in these terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TableSource,
    TableOp,
    TableSink,
    Lines,
    Summary,
    Compress,
    Bytes,
    /// An archive in, one output per member out: the step stands alone.
    Unpack,
    /// A whole image in, one object out (thumbnail, exif): the step stands alone.
    Image,
}

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Step::ReadCsv(_) => "read_csv",
            Step::ReadJsonl(_) => "read_jsonl",
            Step::ReadParquet {} => "read_parquet",
            Step::Filter { .. } => "filter",
            Step::Select { .. } => "select",
            Step::Rename { .. } => "rename",
            Step::Cast { .. } => "cast",
            Step::Derive { .. } => "derive",
            Step::Aggregate(_) => "aggregate",
            Step::WriteParquet(_) => "write_parquet",
            Step::WriteCsv(_) => "write_csv",
            Step::WriteJsonl(_) => "write_jsonl",
            Step::Grep(_) => "grep",
            Step::Count {} => "count",
            Step::WordFreq(_) => "word_freq",
            Step::Decompress {} => "decompress",
            Step::Gzip(_) => "gzip",
            Step::Zstd(_) => "zstd",
            Step::Sha256 {} => "sha256",
            Step::Unzip(_) => "unzip",
            Step::Untar(_) => "untar",
            Step::Thumbnail(_) => "thumbnail",
            Step::Exif {} => "exif",
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Step::ReadCsv(_) | Step::ReadJsonl(_) | Step::ReadParquet {} => Kind::TableSource,
            Step::Filter { .. }
            | Step::Select { .. }
            | Step::Rename { .. }
            | Step::Cast { .. }
            | Step::Derive { .. }
            | Step::Aggregate(_) => Kind::TableOp,
            Step::WriteParquet(_) | Step::WriteCsv(_) | Step::WriteJsonl(_) => Kind::TableSink,
            Step::Grep(_) => Kind::Lines,
            Step::Count {} | Step::WordFreq(_) => Kind::Summary,
            Step::Gzip(_) | Step::Zstd(_) => Kind::Compress,
            Step::Decompress {} | Step::Sha256 {} => Kind::Bytes,
            Step::Unzip(_) | Step::Untar(_) => Kind::Unpack,
            Step::Thumbnail(_) | Step::Exif {} => Kind::Image,
        }
    }
}

impl Plan {
    /// The columns of the table the first step reads that a later step uses (None: all of
    /// them), walked back from the write: a write uses every column it gets, a select or an
    /// aggregate only the ones it names, a filter, cast or derive adds the ones it reads. A
    /// value in a column no step uses is neither converted nor checked.
    pub fn columns_used(&self) -> Option<std::collections::BTreeSet<String>> {
        let mut used: Option<std::collections::BTreeSet<String>> = None;
        for step in self.steps.iter().skip(1).rev() {
            used = match step {
                Step::Select { columns } => Some(columns.iter().cloned().collect()),
                Step::Aggregate(a) => Some(a.by.iter().chain(a.aggs.iter().filter_map(|g| g.column.as_ref())).cloned().collect()),
                Step::Filter { r#where } => used.zip(crate::expr::columns(r#where).ok()).map(|(mut u, read)| {
                    u.extend(read);
                    u
                }),
                Step::Rename { columns } => used.map(|u| {
                    u.into_iter().map(|name| columns.iter().find(|(_, new)| **new == name).map_or(name, |(old, _)| old.clone())).collect()
                }),
                Step::Cast { columns } => used.map(|mut u| {
                    u.extend(columns.keys().cloned());
                    u
                }),
                Step::Derive { column, expr } => used.zip(crate::expr::columns(expr).ok()).map(|(mut u, read)| {
                    u.remove(column);
                    u.extend(read);
                    u
                }),
                // A write uses all it gets; a step not listed here is taken to use everything.
                _ => None,
            };
        }
        used
    }

    pub fn from_json(text: &str) -> Result<Plan> {
        let plan: Plan = serde_json::from_str(text).map_err(|e| Error::plan(0, e.to_string()))?;
        plan.check()?;
        Ok(plan)
    }

    /// Enforce the step order: a table plan is read → ops → write (→ compress for text
    /// formats); a line plan is grep… → summary? → compress?; byte steps stand alone.
    pub fn check(&self) -> Result<()> {
        let steps = &self.steps;
        let Some(first) = steps.first() else { return Ok(()) };
        let mut prev: Option<&Step> = None;
        for (i, step) in steps.iter().enumerate() {
            let kind = step.kind();
            let bad = |why: &str| Err(Error::plan(i, format!("{} {why}", step.name())));
            match kind {
                Kind::TableSource if i != 0 => return bad("must be the first step"),
                Kind::TableOp | Kind::TableSink if first.kind() != Kind::TableSource => {
                    return bad("needs a table: start the pipeline with read_csv, read_jsonl or read_parquet")
                }
                Kind::TableOp | Kind::TableSink
                    if prev.is_some_and(|p| p.kind() == Kind::TableSink) =>
                {
                    return bad("cannot follow a write step: the table has already been written")
                }
                Kind::Lines | Kind::Summary if first.kind() == Kind::TableSource => {
                    return bad("works on lines of text, not on a table")
                }
                Kind::Lines if prev.is_some_and(|p| p.kind() != Kind::Lines) => {
                    return bad("must come before count, word_freq and compression steps")
                }
                Kind::Summary if prev.is_some_and(|p| !matches!(p.kind(), Kind::Lines)) => {
                    return bad("can only follow grep steps")
                }
                Kind::Compress if i + 1 != steps.len() => return bad("must be the last step"),
                Kind::Compress if matches!(prev, Some(Step::WriteParquet(_))) => {
                    return bad("cannot compress Parquet: it is compressed inside (set compression on write_parquet)")
                }
                Kind::Unpack if steps.len() > 1 => {
                    return bad("stands alone: it writes one object per member (run other steps in a pipeline bound to the output prefix)")
                }
                Kind::Unpack => {
                    if let Step::Unzip(u) | Step::Untar(u) = step {
                        if u.max_ratio.is_nan() || u.max_ratio < 1.0 {
                            return bad(&format!("max_ratio must be at least 1, got {}", u.max_ratio));
                        }
                    }
                }
                Kind::Image if steps.len() > 1 => return bad("stands alone: it reads a whole image and writes one object"),
                Kind::Image => {
                    if let Step::Thumbnail(t) = step {
                        if t.size == 0 || !(1..=100).contains(&t.quality) {
                            return bad(&format!("size must be at least 1 and quality 1–100, got size {} and quality {}", t.size, t.quality));
                        }
                    }
                }
                Kind::Bytes if steps.len() > 2 || (i == 1 && !matches!(step, Step::Decompress {})) => {
                    return bad("stands alone (only gzip or zstd may follow decompress)")
                }
                Kind::Bytes if i == 0 && steps.len() == 2 && !matches!(steps[1].kind(), Kind::Compress) => {
                    return bad("stands alone (only gzip or zstd may follow decompress)")
                }
                _ => {}
            }
            prev = Some(step);
        }
        if first.kind() == Kind::TableSource && !steps.iter().any(|s| s.kind() == Kind::TableSink) {
            return Err(Error::plan(
                steps.len() - 1,
                "a pipeline that reads a table must write it: end with write_parquet, write_csv or write_jsonl",
            ));
        }
        Ok(())
    }

    /// Byte plans (compress, sha256) see the stored bytes; everything else sees them decompressed.
    pub fn decompresses_input(&self) -> bool {
        !matches!(
            self.steps.first(),
            None | Some(Step::Gzip(_))
                | Some(Step::Zstd(_))
                | Some(Step::Sha256 {})
                | Some(Step::Unzip(_))
                | Some(Step::Thumbnail(_))
                | Some(Step::Exif {})
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str) -> Result<()> {
        Plan::from_json(json).map(|_| ())
    }

    fn used(steps: &str) -> Option<Vec<String>> {
        Plan::from_json(&format!(r#"{{"steps":{steps}}}"#)).unwrap().columns_used().map(|u| u.into_iter().collect())
    }

    #[test]
    fn columns_used_walk_back_from_the_write() {
        let names = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(used(r#"[{"op":"read_csv"},{"op":"filter","where":"qty > 1"},{"op":"write_parquet"}]"#), None);
        assert_eq!(
            used(
                r#"[{"op":"read_csv"},{"op":"filter","where":"status = 'shipped' and qty >= 5"},
                    {"op":"rename","columns":{"customer_id":"customer"}},{"op":"cast","columns":{"qty":"int32"}},
                    {"op":"select","columns":["order_id","customer","qty"]},{"op":"write_parquet"}]"#
            ),
            names(&["customer_id", "order_id", "qty", "status"])
        );
        assert_eq!(
            used(r#"[{"op":"read_csv"},{"op":"aggregate","by":["region"],"aggs":[{"fn":"count"},{"fn":"sum","column":"qty"}]},{"op":"write_csv"}]"#),
            names(&["qty", "region"])
        );
        // A derived column comes from what its expression reads, not from the input.
        assert_eq!(
            used(r#"[{"op":"read_csv"},{"op":"derive","column":"total","expr":"qty * price"},{"op":"select","columns":["id","total"]},{"op":"write_parquet"}]"#),
            names(&["id", "price", "qty"])
        );
        // Swapped names are followed back.
        assert_eq!(
            used(r#"[{"op":"read_csv"},{"op":"rename","columns":{"a":"b","b":"a"}},{"op":"select","columns":["a"]},{"op":"write_parquet"}]"#),
            names(&["b"])
        );
    }

    #[test]
    fn accepts_table_plan() {
        check(r#"{"steps":[{"op":"read_csv"},{"op":"filter","where":"a > 1"},{"op":"write_parquet"}]}"#).unwrap();
    }

    #[test]
    fn accepts_text_plan() {
        check(r#"{"steps":[{"op":"grep","pattern":"ERROR"},{"op":"gzip"}]}"#).unwrap();
    }

    #[test]
    fn rejects_unknown_option() {
        let e = check(r#"{"steps":[{"op":"read_csv","delimeter":";"}]}"#).unwrap_err();
        assert!(e.to_string().contains("delimeter"), "{e}");
    }

    #[test]
    fn rejects_unknown_step() {
        let e = check(r#"{"steps":[{"op":"frobnicate"}]}"#).unwrap_err();
        assert!(e.to_string().contains("frobnicate"), "{e}");
    }

    #[test]
    fn rejects_filter_without_reader() {
        let e = check(r#"{"steps":[{"op":"filter","where":"a"},{"op":"write_csv"}]}"#).unwrap_err();
        assert!(e.to_string().contains("needs a table"), "{e}");
    }

    #[test]
    fn rejects_step_after_write() {
        let e = check(r#"{"steps":[{"op":"read_csv"},{"op":"write_csv"},{"op":"select","columns":["a"]}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("step 2"), "{e}");
    }

    #[test]
    fn rejects_table_without_write() {
        let e = check(r#"{"steps":[{"op":"read_csv"}]}"#).unwrap_err();
        assert!(e.to_string().contains("must write it"), "{e}");
    }

    #[test]
    fn rejects_compressed_parquet() {
        let e = check(r#"{"steps":[{"op":"read_csv"},{"op":"write_parquet"},{"op":"gzip"}]}"#).unwrap_err();
        assert!(e.to_string().contains("cannot compress Parquet"), "{e}");
    }

    #[test]
    fn rejects_grep_on_table() {
        let e = check(r#"{"steps":[{"op":"read_csv"},{"op":"grep","pattern":"x"},{"op":"write_csv"}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("not on a table"), "{e}");
    }

    #[test]
    fn unpack_stands_alone_and_reads_sizes_with_units() {
        let plan = Plan::from_json(r#"{"steps":[{"op":"untar","max_total_bytes":"1.5GiB"}]}"#).unwrap();
        match &plan.steps[0] {
            Step::Untar(u) => assert_eq!((u.max_total_bytes, u.max_members), (Bytes(3 << 29), 100_000)),
            other => panic!("{other:?}"),
        }
        let e = check(r#"{"steps":[{"op":"unzip"},{"op":"gzip"}]}"#).unwrap_err();
        assert!(e.to_string().contains("unzip stands alone"), "{e}");
        let e = check(r#"{"steps":[{"op":"unzip","max_total_bytes":"lots"}]}"#).unwrap_err();
        assert!(e.to_string().contains("\"lots\""), "{e}");
        let e = check(r#"{"steps":[{"op":"unzip","max_ratio":0.5}]}"#).unwrap_err();
        assert!(e.to_string().contains("max_ratio must be at least 1"), "{e}");
        assert!(plan.decompresses_input(), "a tar may come gzip- or zstd-compressed");
        assert!(!Plan::from_json(r#"{"steps":[{"op":"unzip"}]}"#).unwrap().decompresses_input(), "a zip is read as it is stored");
        assert!(!Plan::from_json(r#"{"steps":[{"op":"thumbnail"}]}"#).unwrap().decompresses_input());
    }

    #[test]
    fn byte_plans_see_raw_bytes() {
        assert!(!Plan::from_json(r#"{"steps":[{"op":"sha256"}]}"#).unwrap().decompresses_input());
        assert!(Plan::from_json(r#"{"steps":[{"op":"decompress"}]}"#).unwrap().decompresses_input());
    }
}
