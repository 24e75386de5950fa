//! Replays the committed fuzz corpora (engine/fuzz/corpus/<target>/*) through the same entry
//! points the fuzz targets use: every input must come back as Ok or Err, never a panic.

use std::path::PathBuf;

fn each(target: &str, f: impl Fn(&[u8])) -> usize {
    // The checkout this run is in (cargo sets it when it runs a test), not the one the binary
    // was built in: a shared target directory may hold a binary built from another checkout.
    let root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let dir = root.join("../fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        f(&data);
        n += 1;
    }
    assert!(n > 0, "empty corpus {}", dir.display());
    n
}

#[test]
fn csv_corpus() {
    each("csv", |d| drop(pravah_core::fuzzing::csv(d)));
}

#[test]
fn csv_bad_rows_corpus() {
    // The CSV corpus again, through the bad-row path with every option combination.
    each("csv", |d| {
        for knobs in [0u8, 1, 2, 7, 8, 16, 32, 64, 128, 255] {
            let mut input = vec![knobs];
            input.extend_from_slice(d);
            drop(pravah_core::fuzzing::csv_bad_rows(&input));
        }
    });
    each("csv_bad_rows", |d| drop(pravah_core::fuzzing::csv_bad_rows(d)));
}

#[test]
fn expression_corpus() {
    each("expression", |d| {
        if let Ok(text) = std::str::from_utf8(d) {
            drop(pravah_core::fuzzing::expression(text));
        }
    });
}

#[test]
fn decompress_corpus() {
    each("decompress", |d| drop(pravah_core::fuzzing::decompress(d)));
}
