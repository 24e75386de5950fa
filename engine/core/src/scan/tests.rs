use std::fs;
use std::path::Path;

use super::*;

fn write(root: &Path, rel: &str, size: usize) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, vec![b'x'; size]).unwrap();
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "a.csv", 10);
    write(r, "b.CSV", 20);
    write(r, "x/c.csv", 30);
    write(r, "x/y/z/d.json", 40);
    write(r, "x/y/z/e", 5);
    write(r, "w/.hidden", 1);
    fs::create_dir_all(r.join("empty/inner")).unwrap();
    dir
}

fn scan_local(root: &Path, options: &str, output: Option<&str>) -> Summary {
    scan(root.to_str().unwrap(), options, &Options::new(), output, None).unwrap()
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn nested_tree_is_counted_whole() {
    let dir = tree();
    let s = scan_local(dir.path(), r#"{"threads": 3}"#, None);
    assert_eq!(s.files, 6);
    assert_eq!(s.bytes, 106);
    assert_eq!(s.dirs, 6, "x, x/y, x/y/z, w, empty, empty/inner");
    assert_eq!(s.entries, 12);
    assert_eq!((s.errors, s.skipped), (0, 0));
}

#[test]
fn summary_groups_by_lower_case_extension_biggest_first() {
    let dir = tree();
    let s = scan_local(dir.path(), "{}", None);
    let by: Vec<(&str, u64, u64)> = s.by_extension.iter().map(|e| (e.extension.as_str(), e.files, e.bytes)).collect();
    assert_eq!(by, vec![("csv", 3, 60), ("json", 1, 40), ("(none)", 2, 6)]);
}

#[test]
fn json_lines_carry_path_size_and_time() {
    let dir = tree();
    let out = dir.path().join("..").join(format!("{}.jsonl", dir.path().file_name().unwrap().to_string_lossy()));
    let s = scan_local(dir.path(), r#"{"globs": ["**/*.json"]}"#, Some(out.to_str().unwrap()));
    let got = lines(&out);
    fs::remove_file(&out).unwrap();
    assert_eq!(s.files, 1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["path"], format!("{}/x/y/z/d.json", dir.path().display()));
    assert_eq!(got[0]["size"], 40);
    let modified = got[0]["modified"].as_str().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(modified).unwrap();
    let m = fs::metadata(dir.path().join("x/y/z/d.json")).unwrap().modified().unwrap();
    let want = chrono::DateTime::<chrono::Utc>::from(m);
    assert!((parsed.timestamp_millis() - want.timestamp_millis()).abs() <= 1, "{modified}");
}

#[test]
fn filters_on_glob_size_and_time() {
    let dir = tree();
    let cases = [
        (r#"{"globs": ["*.csv"]}"#, 2),
        (r#"{"globs": ["x/**"]}"#, 3),
        (r#"{"globs": ["*.csv", "*.json"]}"#, 3),
        (r#"{"min_size": 20}"#, 3),
        (r#"{"min_size": 20, "max_size": 30}"#, 2),
        (r#"{"modified_before": 0}"#, 0),
        (r#"{"modified_after": 0}"#, 6),
        (r#"{"globs": ["**/*.csv"], "min_size": 15}"#, 1),
    ];
    for (options, files) in cases {
        let s = scan_local(dir.path(), options, None);
        assert_eq!(s.files, files, "{options}");
        let seen = if options.contains("x/**") { 5 } else { 6 }; // x/** does not enter w/: its file is never seen
        assert_eq!(s.files + s.skipped, seen, "{options}");
    }
}

#[test]
fn names_only_counts_without_sizes() {
    let dir = tree();
    let out = tempfile::NamedTempFile::new().unwrap();
    let s = scan_local(dir.path(), r#"{"names_only": true, "globs": ["*.csv"]}"#, Some(out.path().to_str().unwrap()));
    assert!(!s.sized);
    assert_eq!((s.files, s.bytes, s.skipped), (2, 0, 4), "globs are case-sensitive: b.CSV is not kept");
    assert_eq!(s.by_extension, vec![ExtensionCount { extension: "csv".into(), files: 2, bytes: 0 }]);
    let got = lines(out.path());
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|v| v.as_object().unwrap().len() == 1 && v["path"].as_str().unwrap().ends_with(".csv")));
}

#[test]
fn symlinks_are_counted_not_followed() {
    let dir = tree();
    std::os::unix::fs::symlink(dir.path().join("x"), dir.path().join("loop")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("a.csv"), dir.path().join("alias.csv")).unwrap();
    let s = scan_local(dir.path(), "{}", None);
    assert_eq!(s.symlinks, 2);
    assert_eq!(s.files, 6, "neither the linked file nor the linked tree counts again");
}

#[test]
fn missing_root_is_not_found() {
    let e = scan("/definitely/not/here", "{}", &Options::new(), None, None).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("/definitely/not/here"), "{e}");
}

#[test]
fn file_as_root_is_refused() {
    let dir = tree();
    let e = scan(dir.path().join("a.csv").to_str().unwrap(), "{}", &Options::new(), None, None).unwrap_err();
    assert!(e.to_string().contains("is not a directory"), "{e}");
}

#[test]
fn unknown_option_is_refused() {
    let e = scan("/tmp", r#"{"glob": "*.csv"}"#, &Options::new(), None, None).unwrap_err();
    assert!(matches!(e, Error::BadOption { .. }), "{e}");
}

/// A directory that cannot be opened by its path: deeper than PATH_MAX (this holds for root
/// too, which chmod 000 does not stop). bash, because dash's `cd` fails past PATH_MAX.
fn too_deep(base: &Path) -> std::path::PathBuf {
    let name = "d".repeat(250);
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("cd '{}' && for i in $(seq 18); do mkdir {name} && cd {name} || exit 1; done && echo x > f", base.display()))
        .status()
        .unwrap();
    assert!(status.success());
    let mut p = base.to_path_buf();
    for _ in 0..18 {
        p.push(&name);
    }
    p
}

#[test]
fn unreadable_root_is_a_counted_error() {
    let dir = tempfile::tempdir().unwrap();
    let deep = too_deep(dir.path());
    let s = scan_local(&deep, "{}", None);
    assert_eq!((s.errors, s.files), (1, 0));
    assert_eq!(s.error_samples[0].path, deep.display().to_string());
    assert!(s.error_samples[0].reason.contains("too long"), "{:?}", s.error_samples);
}

#[test]
fn unreadable_directory_inside_is_counted_and_the_rest_walked() {
    let dir = tree();
    too_deep(dir.path());
    let s = scan_local(dir.path(), "{}", None);
    assert_eq!(s.files, 6, "the readable part is all there");
    assert!(s.errors >= 1);
    assert!(s.error_samples.iter().all(|f| f.path.starts_with(&dir.path().display().to_string())));
}

#[test]
fn unreadable_by_permission_when_not_privileged() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tree();
    let locked = dir.path().join("x");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read_dir(&locked).is_ok() {
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        return; // root reads anything; the PATH_MAX tests cover this path
    }
    let s = scan_local(dir.path(), "{}", None);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(s.errors, 1);
    assert_eq!(s.error_samples[0].path, locked.display().to_string());
    assert_eq!(s.files, 3);
}

#[test]
fn wide_tree_on_many_threads_counts_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    for d in 0..40 {
        for f in 0..25 {
            write(dir.path(), &format!("{d}/{}/f{f}.txt", d % 7), 1);
        }
    }
    let out = dir.path().join("../wide.jsonl");
    let s = scan_local(dir.path(), r#"{"threads": 4}"#, Some(out.to_str().unwrap()));
    let got = lines(&out);
    fs::remove_file(&out).unwrap();
    assert_eq!(s.files, 1000);
    let unique: std::collections::HashSet<String> = got.iter().map(|v| v["path"].as_str().unwrap().to_string()).collect();
    assert_eq!(unique.len(), 1000);
}

#[test]
fn extensions_beyond_the_cap_are_pooled() {
    let mut t = Tally::default();
    let sink = Sink { cancel: Default::default(), filter: Filter::new(&ScanOptions::default()).unwrap(), prefix: String::new(), field: "path", out: None, headers: None };
    for i in 0..EXTENSIONS + 5 {
        t.file(&sink, &format!("f.e{i}"), Some(Stat { size: 1, modified_ms: 0 })).unwrap();
    }
    assert_eq!(t.extensions.len(), EXTENSIONS + 1);
    assert_eq!(t.extensions["(other)"], (5, 5));
}

#[test]
fn a_cancelled_scan_stops_with_cancelled() {
    let dir = tree();
    let cancel = Arc::new(Cancel::default());
    cancel.cancel();
    let e = scan(dir.path().to_str().unwrap(), "{}", &Options::new(), None, Some(cancel)).unwrap_err();
    assert!(matches!(e, Error::Cancelled), "{e}");
}

#[test]
fn cancelled_resolves_when_cancel_comes_later() {
    let cancel = Arc::new(Cancel::default());
    let c = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        c.cancel();
    });
    crate::storage::runtime().block_on(cancel.cancelled());
    t.join().unwrap();
    assert!(cancel.is_cancelled());
}

#[test]
fn folders_no_glob_can_reach_are_not_entered() {
    let dir = tree();
    too_deep(dir.path()); // unreadable, but outside x/: never opened
    let s = scan_local(dir.path(), r#"{"globs": ["x/**/*.json", "x/*.csv"]}"#, None);
    assert_eq!((s.files, s.errors), (2, 0));
    let all = scan_local(dir.path(), r#"{"globs": ["x/**/*.json", "*.csv"]}"#, None);
    assert!(all.errors >= 1, "a glob without '/' reaches every folder");
}

fn csv_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("eu/2024")).unwrap();
    fs::write(root.join("eu/2024/a.csv"), "id,name,amount\n1,x,2\n").unwrap();
    fs::write(root.join("eu/b.csv"), "\u{feff}id;\"full name\";city\r\n").unwrap();
    fs::write(root.join("empty.csv"), "").unwrap();
    fs::write(root.join("notes.txt"), "not a csv").unwrap();
    dir
}

#[test]
fn headers_ride_along_in_json_lines_and_in_a_parquet_table() {
    let dir = csv_tree();
    let out = dir.path().join("headers.jsonl");
    let s = scan_local(dir.path(), r#"{"globs":["**/*.csv"],"headers":true}"#, Some(out.to_str().unwrap()));
    assert_eq!((s.files, s.headers, s.header_errors), (3, 2, 1));
    let mut got: Vec<(String, serde_json::Value, serde_json::Value)> = lines(&out)
        .into_iter()
        .map(|l| (l["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string(), l["header"].clone(), l["header_error"].clone()))
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got[0].0, "a.csv");
    assert_eq!(got[0].1, serde_json::json!(["id", "name", "amount"]));
    assert_eq!((got[1].0.as_str(), got[1].1.clone()), ("b.csv", serde_json::json!(["id", "full name", "city"])));
    assert_eq!((got[2].0.as_str(), got[2].2.as_str()), ("empty.csv", Some("empty: no header row")));

    let table = dir.path().join("headers.parquet");
    let s = scan_local(dir.path(), r#"{"globs":["**/*.csv"],"headers":true,"names_only":true}"#, Some(table.to_str().unwrap()));
    assert_eq!(s.headers, 2);
    let file = fs::File::open(&table).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let names: Vec<String> = batches[0].schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!((rows, names), (3, vec!["path", "size", "modified", "header", "delimiter", "header_error"].into_iter().map(String::from).collect()));
    let fmt = arrow::util::display::FormatOptions::default();
    let cell = |col: usize, row: usize| {
        arrow::util::display::ArrayFormatter::try_new(batches[0].column(col).as_ref(), &fmt).unwrap().value(row).to_string()
    };
    let rows: Vec<String> = (0..3).map(|r| format!("{} {} {}", cell(3, r), cell(4, r), cell(5, r))).collect();
    assert!(rows.contains(&"[id, full name, city] ; ".to_string()), "{rows:?}");
    assert!(rows.contains(&"  empty: no header row".to_string()), "{rows:?}");
}

#[test]
fn a_headers_delimiter_must_be_a_sane_one() {
    let dir = csv_tree();
    let e = scan(dir.path().to_str().unwrap(), r#"{"headers":true,"delimiter":"\""}"#, &Options::new(), None, None).unwrap_err();
    assert!(e.to_string().contains("delimiter"), "{e}");
}
