//! A source mirror for builds without internet access (`n3x build --source-mirror DIR`, or
//! `N3X_SOURCE_MIRROR`): one directory that holds
//!
//! - a copy of each kas repository with a URL, found by the repository's name: `isar.git/` or
//!   `isar/` (a git clone) or `isar*.bundle` (a git bundle). kas clones it instead of the URL
//!   (`KAS_PREMIRRORS`);
//! - source files BitBake would download, by their download name (e.g.
//!   `k3s-1.35.0+k3s1-amd64`): BitBake looks there before the network (`PREMIRRORS`, set up
//!   in kas/base.yml from `N3X_SOURCE_MIRROR`).

use std::path::{Path, PathBuf};

/// The ISAR repository as kas/base.yml names it.
pub const ISAR_URL: &str = "https://github.com/ilbers/isar.git";

/// A source mirror directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceMirror {
    /// The directory.
    pub dir: PathBuf,
    /// Its copy of ISAR, when it has one.
    pub isar: Option<PathBuf>,
}

impl SourceMirror {
    /// Looks into `dir`. `Err` when it is not a directory.
    pub fn open(dir: &Path) -> Result<SourceMirror, String> {
        if !dir.is_dir() {
            return Err(format!(
                "the source mirror {} is not a directory\n  fix: give a directory holding isar.git or isar*.bundle and the source files (--source-mirror DIR or N3X_SOURCE_MIRROR)",
                dir.display()
            ));
        }
        Ok(SourceMirror {
            dir: dir.to_path_buf(),
            isar: repo_copy(dir, "isar"),
        })
    }

    /// `KAS_PREMIRRORS`: one `regex replacement` line per repository copy.
    pub fn kas_premirrors(&self) -> Option<String> {
        self.isar
            .as_ref()
            .map(|copy| format!("{} {}", regex_escape(ISAR_URL), copy.display()))
    }

    /// Whether the mirror holds a source file of this download name.
    pub fn has_file(&self, name: &str) -> bool {
        self.dir.join(name).is_file()
    }
}

/// A copy of the repository `name` in `dir`: `name.git/`, `name/` with a `.git`, or the first
/// `name*.bundle` in name order.
fn repo_copy(dir: &Path, name: &str) -> Option<PathBuf> {
    let bare = dir.join(format!("{name}.git"));
    if bare.is_dir() {
        return Some(bare);
    }
    let clone = dir.join(name);
    if clone.join(".git").exists() {
        return Some(clone);
    }
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(name) && n.ends_with(".bundle"))
        })
        .collect();
    bundles.sort();
    bundles.into_iter().next()
}

/// `s` with the characters a Python regular expression treats specially escaped.
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if ".^$*+?{}[]\\|()".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_or_a_clone_of_isar_is_handed_to_kas() {
        let dir = tempfile::tempdir().unwrap();
        let m = SourceMirror::open(dir.path()).unwrap();
        assert_eq!(m.isar, None);
        assert_eq!(m.kas_premirrors(), None);
        std::fs::write(dir.path().join("isar-b90b722f.bundle"), "").unwrap();
        std::fs::write(dir.path().join("k3s-1.35.0+k3s1-amd64"), "").unwrap();
        let m = SourceMirror::open(dir.path()).unwrap();
        assert_eq!(
            m.kas_premirrors().unwrap(),
            format!(
                "https://github\\.com/ilbers/isar\\.git {}/isar-b90b722f.bundle",
                dir.path().display()
            )
        );
        assert!(m.has_file("k3s-1.35.0+k3s1-amd64"));
        assert!(!m.has_file("k3s-1.35.0+k3s1-arm64"));
        std::fs::create_dir(dir.path().join("isar.git")).unwrap();
        let m = SourceMirror::open(dir.path()).unwrap();
        assert_eq!(m.isar, Some(dir.path().join("isar.git")), "a clone first");
    }

    #[test]
    fn a_mirror_that_is_not_a_directory_is_refused_with_the_fix() {
        let e = SourceMirror::open(Path::new("/no/such/mirror")).unwrap_err();
        assert!(e.contains("/no/such/mirror is not a directory"), "{e}");
        assert!(
            e.contains("--source-mirror DIR or N3X_SOURCE_MIRROR"),
            "{e}"
        );
    }
}
