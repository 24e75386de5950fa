//! Member names made safe to use as keys under the output prefix: a name that would leave the
//! prefix (`..`, an absolute path, a drive letter) is refused, never rewritten.

/// What a member's name comes to under the output prefix.
#[derive(Debug, PartialEq, Eq)]
pub enum Name {
    /// The relative key, `/`-separated, with no empty, `.` or `..` parts.
    Key(String),
    /// Nothing is left (`./`, `/`): the archive's root folder.
    Root,
}

/// The key a member named `raw` is written at, or why it may not be. Backslashes count as
/// separators (archives made on Windows use them), so `..\..\x` is caught as well.
pub fn member_key(raw: &str) -> Result<Name, String> {
    let name = raw.replace('\\', "/");
    if name.starts_with('/') {
        return Err("is an absolute path".into());
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("starts with a drive letter".into());
    }
    if name.chars().any(|c| c == '\0' || c.is_control()) {
        return Err("has a control character in it".into());
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("climbs out of the output prefix with ..".into()),
            p => parts.push(p),
        }
    }
    Ok(if parts.is_empty() { Name::Root } else { Name::Key(parts.join("/")) })
}

/// Whether a link at `key` pointing at `target` stays inside the archive. A symbolic link's
/// target is relative to the link's folder; a hard link's (`hard`) to the archive's root.
pub fn link_stays_inside(key: &str, target: &str, hard: bool) -> bool {
    let target = target.replace('\\', "/");
    if target.starts_with('/') || (target.len() >= 2 && target.as_bytes()[1] == b':') {
        return false;
    }
    let mut depth: Vec<&str> = if hard { Vec::new() } else { key.split('/').collect() };
    if !hard {
        depth.pop(); // the link's own name
    }
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            p => depth.push(p),
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_are_kept_and_tidied() {
        assert_eq!(member_key("a/b/c.jpg"), Ok(Name::Key("a/b/c.jpg".into())));
        assert_eq!(member_key("./a//b/./c.jpg"), Ok(Name::Key("a/b/c.jpg".into())));
        assert_eq!(member_key("dir\\file.txt"), Ok(Name::Key("dir/file.txt".into())));
        assert_eq!(member_key("नमस्ते/фото.png"), Ok(Name::Key("नमस्ते/фото.png".into())));
        assert_eq!(member_key("./"), Ok(Name::Root));
        assert_eq!(member_key("a..b/..c"), Ok(Name::Key("a..b/..c".into())));
    }

    #[test]
    fn names_that_leave_the_prefix_are_refused() {
        for bad in ["../evil", "a/../../evil", "/etc/passwd", "..\\..\\windows\\x", "C:/x", "c:\\x", "a/..", "x\0y", "a/\n"] {
            assert!(member_key(bad).is_err(), "{bad:?} accepted");
        }
        // `a/../b` stays inside in a shell, but no honest archive names a member so: refused too.
        assert!(member_key("a/../b").is_err());
    }

    #[test]
    fn links_are_judged_from_where_they_sit() {
        assert!(link_stays_inside("a/b/link", "../c", false));
        assert!(link_stays_inside("a/link", "./x/y", false));
        assert!(!link_stays_inside("a/link", "../../etc/passwd", false));
        assert!(!link_stays_inside("link", "/etc/passwd", false));
        assert!(link_stays_inside("a/b/link", "a/c", true));
        assert!(!link_stays_inside("a/b/link", "../a", true));
    }
}
