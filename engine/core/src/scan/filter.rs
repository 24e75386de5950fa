//! Which files a scan keeps: globs on the path relative to the root, size bounds and
//! modification-time bounds. Globs become one `RegexSet` (the regex crate is already here,
//! so no glob crate): `*` and `?` stay inside one path segment, `**` crosses them, `**/`
//! also matches no directory at all, `[a-z]`/`[!a-z]` are classes, `{csv,tsv}` alternatives,
//! `\` escapes. A glob without `/` matches the file name at any depth.

use regex::RegexSet;

use super::{ScanOptions, Stat};
use crate::error::{Error, Result};

pub(crate) struct Filter {
    globs: Option<RegexSet>,
    /// The literal leading folders of each glob (`data/2026` of `data/2026/**/*.csv`); None
    /// when some glob can match anywhere, and then every directory is entered.
    roots: Option<Vec<String>>,
    min_size: u64,
    max_size: u64,
    before: i64,
    after: i64,
}

impl Filter {
    pub fn new(o: &ScanOptions) -> Result<Filter> {
        let mut patterns = Vec::with_capacity(o.globs.len());
        for g in &o.globs {
            patterns.push(glob_regex(g).map_err(|m| Error::bad_option("--glob", g.as_str(), m))?);
        }
        let globs = if patterns.is_empty() {
            None
        } else {
            Some(RegexSet::new(&patterns).map_err(|e| Error::bad_option("--glob", o.globs.join(" "), e))?)
        };
        if o.names_only {
            let given = [("--min-size", o.min_size.is_some()), ("--max-size", o.max_size.is_some()),
                         ("--older-than", o.modified_before.is_some()), ("--newer-than", o.modified_after.is_some())];
            if let Some((flag, _)) = given.iter().find(|(_, set)| *set) {
                return Err(Error::bad_option("--names-only", "true", format!("cannot go with {flag}: a names-only walk reads no sizes or times")));
            }
        }
        let (min_size, max_size) = (o.min_size.unwrap_or(0), o.max_size.unwrap_or(u64::MAX));
        if min_size > max_size {
            return Err(Error::bad_option("--max-size", max_size.to_string(), format!("is below --min-size {min_size}")));
        }
        let roots = o.globs.iter().map(|g| literal_folders(g)).collect::<Option<Vec<_>>>().filter(|r| !r.is_empty());
        Ok(Filter { globs, roots, min_size, max_size, before: o.modified_before.unwrap_or(i64::MAX), after: o.modified_after.unwrap_or(i64::MIN) })
    }

    /// Whether a directory (relative to the root) can hold a file some glob keeps: folders
    /// beside every glob's literal folders are not entered (nor listed, on an object store).
    pub fn may_descend(&self, rel_dir: &str) -> bool {
        let Some(roots) = &self.roots else { return true };
        roots.iter().any(|r| {
            let inside = |outer: &str, inner: &str| inner.len() > outer.len() && inner.starts_with(outer) && inner.as_bytes()[outer.len()] == b'/';
            r == rel_dir || inside(rel_dir, r) || inside(r, rel_dir)
        })
    }

    /// Size and time first: they cost a comparison, the globs a regex run. Without a stat
    /// (names only) there are no size or time bounds to check.
    pub fn keeps(&self, rel: &str, stat: Option<Stat>) -> bool {
        stat.is_none_or(|s| s.size >= self.min_size && s.size <= self.max_size && s.modified_ms < self.before && s.modified_ms >= self.after)
            && self.globs.as_ref().is_none_or(|g| g.is_match(rel))
    }
}

/// The folders a glob names literally before its first wildcard, or None when it can match at
/// any depth (no `/`, or a wildcard in its first folder).
fn literal_folders(glob: &str) -> Option<String> {
    let (folders, _file) = glob.rsplit_once('/')?;
    let literal: Vec<&str> = folders.split('/').take_while(|seg| !seg.is_empty() && !seg.contains(['*', '?', '[', '{', '\\'])).collect();
    (!literal.is_empty()).then(|| literal.join("/"))
}

/// The anchored regex of one glob, or why it is malformed.
fn glob_regex(glob: &str) -> std::result::Result<String, String> {
    if glob.is_empty() {
        return Err("an empty glob matches nothing".into());
    }
    let mut re = String::from("^");
    if !glob.contains('/') {
        re.push_str("(?:.*/)?");
    }
    let chars: Vec<char> = glob.chars().collect();
    let mut braces = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    re.push_str("(?:.*/)?");
                    i += 1;
                } else {
                    re.push_str(".*");
                }
                i += 1;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                let (class, next) = class(&chars, i)?;
                re.push_str(&class);
                i = next;
                continue;
            }
            '{' => {
                braces += 1;
                re.push_str("(?:");
            }
            ',' if braces > 0 => re.push('|'),
            '}' if braces > 0 => {
                braces -= 1;
                re.push(')');
            }
            '}' => return Err("a '}' without its '{'".into()),
            '\\' => {
                let escaped = chars.get(i + 1).ok_or("ends with a lone '\\'")?;
                re.push_str(&regex::escape(&escaped.to_string()));
                i += 1;
            }
            _ => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if braces > 0 {
        return Err("a '{' is never closed".into());
    }
    re.push('$');
    Ok(re)
}

/// The regex class of the glob class opening at `chars[start]`, and the index after it.
fn class(chars: &[char], start: usize) -> std::result::Result<(String, usize), String> {
    let mut i = start + 1;
    let mut out = String::from("[");
    if matches!(chars.get(i), Some('!') | Some('^')) {
        out.push('^');
        i += 1;
    }
    let first = i;
    loop {
        let c = *chars.get(i).ok_or("a '[' is never closed")?;
        if c == ']' && i > first {
            break;
        }
        // Escaping every ASCII punctuation is always valid in a regex class; `-` keeps ranges.
        if c != '-' && c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
        i += 1;
    }
    out.push(']');
    Ok((out, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(glob: &str, path: &str) -> bool {
        regex::Regex::new(&glob_regex(glob).unwrap()).unwrap().is_match(path)
    }

    #[test]
    fn globs_match_like_a_shell_with_double_star() {
        let cases = [
            ("**/*.csv", "a.csv", true),
            ("**/*.csv", "x/y/a.csv", true),
            ("**/*.csv", "x/y/a.csv.gz", false),
            ("*.csv", "deep/down/a.csv", true),
            ("*.csv", "a.tsv", false),
            ("x/*.csv", "x/a.csv", true),
            ("x/*.csv", "x/y/a.csv", false),
            ("x/**", "x/y/z", true),
            ("x/**", "y/x/z", false),
            ("data/**/part-?.parquet", "data/2026/11/part-3.parquet", true),
            ("data/**/part-?.parquet", "data/part-3.parquet", true),
            ("data/**/part-?.parquet", "data/part-13.parquet", false),
            ("*.{csv,tsv}", "a/b.tsv", true),
            ("*.{csv,tsv}", "a/b.json", false),
            ("log[0-9].txt", "log7.txt", true),
            ("log[!0-9].txt", "log7.txt", false),
            ("log[!0-9].txt", "logx.txt", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("a.b", "axb", false),
            ("(x)+.txt", "(x)+.txt", true),
            ("[]]", "]", true),
        ];
        for (glob, path, want) in cases {
            assert_eq!(matches(glob, path), want, "{glob} on {path}");
        }
    }

    #[test]
    fn malformed_globs_say_why() {
        for (glob, why) in [("a[bc", "never closed"), ("{a,b", "never closed"), ("a}", "without"), ("x\\", "lone"), ("", "empty")] {
            let e = glob_regex(glob).unwrap_err();
            assert!(e.contains(why), "{glob}: {e}");
        }
    }

    #[test]
    fn bad_glob_error_names_flag_and_value() {
        let o = ScanOptions { globs: vec!["*.{csv".into()], ..Default::default() };
        let e = Filter::new(&o).err().unwrap().to_string();
        assert!(e.starts_with("--glob \"*.{csv\""), "{e}");
    }

    #[test]
    fn only_folders_a_glob_can_reach_are_entered() {
        let f = Filter::new(&ScanOptions { globs: vec!["data/2026/**/*.csv".into(), "logs/*.log".into()], ..Default::default() }).unwrap();
        let cases = [("data", true), ("data/2026", true), ("data/2026/11/30", true), ("data/2025", false), ("data/20261", false),
                     ("logs", true), ("logs/old", true), ("other", false), ("dat", false)];
        for (dir, want) in cases {
            assert_eq!(f.may_descend(dir), want, "{dir}");
        }
        for anywhere in ["*.csv", "**/x/*.csv", "d*/x.csv", "{a,b}/x.csv"] {
            let f = Filter::new(&ScanOptions { globs: vec!["data/**".into(), anywhere.into()], ..Default::default() }).unwrap();
            assert!(f.may_descend("other/deep"), "{anywhere}");
        }
    }

    #[test]
    fn names_only_refuses_size_and_age_filters() {
        let o = ScanOptions { names_only: true, modified_after: Some(0), ..Default::default() };
        let e = Filter::new(&o).err().unwrap().to_string();
        assert!(e.contains("--newer-than"), "{e}");
        assert!(Filter::new(&ScanOptions { names_only: true, globs: vec!["*.csv".into()], ..Default::default() }).is_ok());
    }

    #[test]
    fn bounds_are_inclusive_for_size_and_exclusive_before() {
        let o = ScanOptions { min_size: Some(10), max_size: Some(20), modified_before: Some(1000), modified_after: Some(500), ..Default::default() };
        let f = Filter::new(&o).unwrap();
        let keeps = |size, modified_ms| f.keeps("a", Some(Stat { size, modified_ms }));
        assert!(keeps(10, 500));
        assert!(keeps(20, 999));
        assert!(!keeps(9, 600));
        assert!(!keeps(21, 600));
        assert!(!keeps(15, 1000));
        assert!(!keeps(15, 499));
    }
}
