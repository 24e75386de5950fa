//! unzip / untar through `run`, on local files: the set lands whole with its manifest, or not
//! at all; names and links that leave the prefix and bombs are refused naming what and where.

use std::io::Write;
use std::path::{Path, PathBuf};

use ::zip::write::SimpleFileOptions;
use ::zip::{CompressionMethod, ZipWriter};

use crate::storage::Options;
use crate::{run, Error, Report};

fn zip_of(path: &Path, members: &[(&str, &[u8])]) {
    let mut z = ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).compression_level(Some(9));
    for (name, data) in members {
        if name.ends_with('/') {
            z.add_directory(*name, opts).unwrap();
        } else {
            z.start_file(*name, opts).unwrap();
            z.write_all(data).unwrap();
        }
    }
    z.finish().unwrap();
}

/// A tar (gzip-compressed when `gz`) with names written raw, so bad ones can be made too.
/// A member whose data starts with "->" is a symbolic link to the rest.
fn tar_of(path: &Path, gz: bool, members: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).unwrap();
    let out: Box<dyn Write> = if gz { Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::best())) } else { Box::new(file) };
    let mut b = ::tar::Builder::new(out);
    for (name, data) in members {
        let mut h = ::tar::Header::new_gnu();
        let raw = &mut h.as_gnu_mut().unwrap().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_mode(0o644);
        if name.ends_with('/') && !name.starts_with("old-style") {
            h.set_entry_type(::tar::EntryType::Directory); // an old-style one is a regular entry named so
        }
        if let Some(target) = data.strip_prefix(b"->") {
            h.set_entry_type(::tar::EntryType::Symlink);
            h.set_size(0);
            h.as_gnu_mut().unwrap().linkname[..target.len()].copy_from_slice(target);
            h.set_cksum();
            b.append(&h, &[][..]).unwrap();
        } else {
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
    }
    b.into_inner().unwrap().flush().unwrap();
}

fn unpack(op: &str, extra: &str, input: &Path, out: &Path) -> crate::Result<Report> {
    let plan = format!(r#"{{"steps":[{{"op":"{op}"{extra}}}],"limits":{{"max_outputs":1000}}}}"#);
    run(&plan, input.to_str().unwrap(), &format!("{}/", out.to_str().unwrap()), &Options::new(), None)
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            if e.path().is_dir() {
                walk(root, &e.path(), found);
            } else {
                found.push(e.path().strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    walk(dir, dir, &mut found);
    found.sort();
    found
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir_all(&input).unwrap();
    (dir, input, out)
}

#[test]
fn unzip_writes_every_member_then_the_manifest() {
    let (_d, input, out) = setup();
    let zip = input.join("photos.zip");
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let big: Vec<u8> = (0..3_000_000).map(|_| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; (x >> 32) as u8 }).collect();
    zip_of(&zip, &[("a/", b""), ("a/one.jpg", b"\xff\xd8one"), ("a/b/two.csv", b"x,y\n1,2\n"), ("big.bin", &big), ("empty.txt", b"")]);
    let r = unpack("unzip", "", &zip, &out).unwrap();
    assert_eq!(files_under(&out), [".pravah-manifest.json", "a/b/two.csv", "a/one.jpg", "big.bin", "empty.txt"]);
    assert_eq!(std::fs::read(out.join("big.bin")).unwrap(), big);
    assert_eq!(r.outputs.len(), 4);
    assert_eq!((r.rows_out, r.input_codec), (4, "none"));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join(".pravah-manifest.json")).unwrap()).unwrap();
    let keys: Vec<&str> = manifest["outputs"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a/one.jpg", "a/b/two.csv", "big.bin", "empty.txt"]);
    assert_eq!(manifest["bytes"], 3_000_000 + 5 + 8);
    assert_eq!(r.manifest.unwrap().uri, format!("{}/.pravah-manifest.json", out.to_str().unwrap()));
    assert!(r.outputs.iter().all(|w| w.uri.starts_with(out.to_str().unwrap())));
}

#[test]
fn untar_reads_plain_gzip_and_lists_links_it_passes_over() {
    let (_d, input, out) = setup();
    for (name, gz) in [("logs.tar", false), ("logs.tar.gz", true)] {
        let tar = input.join(name);
        tar_of(&tar, gz, &[("logs/", b""), ("old-style-dir/", b""), ("logs/a.log", b"line 1\n"), ("logs/latest", b"->a.log"), ("./logs/b.log", b"line 2\n")]);
        let dst = out.join(name);
        let r = unpack("untar", "", &tar, &dst).unwrap();
        assert_eq!(files_under(&dst), [".pravah-manifest.json", "logs/a.log", "logs/b.log"], "{name}");
        assert_eq!(r.skipped, ["logs/latest (a link to a.log)"], "{name}");
        assert_eq!(r.input_codec, if gz { "gzip" } else { "none" });
        assert_eq!(std::fs::read(dst.join("logs/b.log")).unwrap(), b"line 2\n");
    }
}

fn refused(result: crate::Result<Report>, out: &Path, needles: &[&str]) {
    let e = result.expect_err("should be refused");
    let text = e.to_string();
    for n in needles {
        assert!(text.contains(n), "{n:?} not in {text}");
    }
    assert_eq!(files_under(out), Vec::<String>::new(), "a refused archive leaves nothing behind ({text})");
}

#[test]
fn names_that_leave_the_prefix_are_refused_and_nothing_stays() {
    let (_d, input, out) = setup();
    let zip = input.join("slip.zip");
    zip_of(&zip, &[("fine.txt", b"ok"), ("../../evil.sh", b"rm -rf /")]);
    refused(unpack("unzip", "", &zip, &out), &out, &["\"../../evil.sh\"", "climbs out", "byte offset"]);
    for (name, bad) in [("abs.tar", "/etc/cron.d/x"), ("dots.tar", "a/../../x"), ("win.tar", "..\\..\\x")] {
        let tar = input.join(name);
        tar_of(&tar, false, &[("good.txt", b"ok"), (bad, b"evil")]);
        let e = unpack("untar", "", &tar, &out).unwrap_err();
        assert!(matches!(e, Error::InputFormat { .. }) && e.to_string().contains("refused"), "{name}: {e}");
        assert!(e.to_string().contains("byte offset 1024"), "{name}: the second header sits after the first member's block: {e}");
        assert_eq!(files_under(&out), Vec::<String>::new(), "{name}");
    }
    let tar = input.join("link.tar");
    tar_of(&tar, false, &[("a/ok.txt", b"ok"), ("a/passwd", b"->../../etc/passwd")]);
    refused(unpack("untar", "", &tar, &out), &out, &["link to \"../../etc/passwd\"", "outside the archive"]);
}

#[test]
fn bombs_and_oversized_archives_fail_with_a_limit_naming_the_cap() {
    let (_d, input, out) = setup();
    let bomb = input.join("bomb.zip");
    zip_of(&bomb, &[("zeros.bin", &vec![0u8; 20 << 20])]);
    let e = unpack("unzip", "", &bomb, &out).unwrap_err();
    assert!(matches!(e, Error::Limit(_)) && e.to_string().contains("max_ratio (1000)"), "{e}");
    assert_eq!(files_under(&out), Vec::<String>::new());
    // The same stream as tar.gz: judged against the compressed bytes consumed.
    let tgz = input.join("bomb.tar.gz");
    tar_of(&tgz, true, &[("zeros.bin", &vec![0u8; 20 << 20])]);
    refused(unpack("untar", "", &tgz, &out), &out, &["max_ratio"]);
    // A generous ratio lets it through; then the total cap stops it, from the declared sizes.
    refused(unpack("unzip", r#","max_ratio":100000,"max_total_bytes":"10MiB""#, &bomb, &out), &out, &["max_total_bytes (10485760)", "20971520 bytes"]);
    refused(unpack("untar", r#","max_ratio":100000,"max_total_bytes":"10MiB""#, &tgz, &out), &out, &["max_total_bytes (10485760)"]);
    let many = input.join("many.tar");
    let names: Vec<String> = (0..5).map(|i| format!("f{i}.txt")).collect();
    tar_of(&many, false, &names.iter().map(|n| (n.as_str(), &b"x"[..])).collect::<Vec<_>>());
    refused(unpack("untar", r#","max_members":3"#, &many, &out), &out, &["max_members (3)"]);
    let plan = r#"{"steps":[{"op":"untar"}],"limits":{"max_outputs":2}}"#;
    let e = run(plan, many.to_str().unwrap(), out.to_str().unwrap(), &Options::new(), None).unwrap_err();
    assert!(e.to_string().contains("limits.max_outputs (2)"), "{e}");
    assert_eq!(files_under(&out), Vec::<String>::new());
}

#[test]
fn damaged_and_ambiguous_archives_say_what_is_wrong() {
    let (_d, input, out) = setup();
    let not_zip = input.join("fake.zip");
    std::fs::write(&not_zip, b"this is not a zip at all").unwrap();
    refused(unpack("unzip", "", &not_zip, &out), &out, &["fake.zip", "not a zip archive"]);
    let twice = input.join("twice.tar");
    tar_of(&twice, false, &[("same.txt", b"one"), ("same.txt", b"two")]);
    refused(unpack("untar", "", &twice, &out), &out, &["\"same.txt\"", "appears twice"]);
    let manifest = input.join("manifest.tar");
    tar_of(&manifest, false, &[(".pravah-manifest.json", b"{}")]);
    refused(unpack("untar", "", &manifest, &out), &out, &["the manifest"]);
    // A zip cut short: its central directory is gone.
    let zip = input.join("cut.zip");
    zip_of(&zip, &[("a.txt", &vec![b'a'; 100_000])]);
    let bytes = std::fs::read(&zip).unwrap();
    std::fs::write(&zip, &bytes[..bytes.len() / 2]).unwrap();
    refused(unpack("unzip", "", &zip, &out), &out, &["cut.zip"]);
}
