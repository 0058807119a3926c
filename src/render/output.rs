//! Writing a rendered set to disk, or comparing it with what is there.
//!
//! Writes are all-or-nothing: every changed file is first written to a temporary file beside
//! its target; only when all of them are written are they renamed into place. Files in the
//! owned directories that the set no longer contains are removed afterwards.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use similar::TextDiff;

use super::RenderedFile;

/// How a file on disk differs from the rendered set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The file exists with other contents; `diff` is a unified diff (disk → rendered).
    Changed {
        /// The file.
        path: String,
        /// What would change.
        diff: String,
    },
    /// The rendered file does not exist on disk.
    Missing {
        /// The file.
        path: String,
    },
    /// A file in an owned directory that is no longer rendered.
    Stale {
        /// The file.
        path: String,
    },
}

impl Drift {
    /// The file the drift is about.
    pub fn path(&self) -> &str {
        match self {
            Drift::Changed { path, .. } | Drift::Missing { path } | Drift::Stale { path } => path,
        }
    }
}

/// What `--check` prints for `drift`: each diff, missing or stale file, then how many
/// `what` files are out of date and that `fix` (a command) regenerates them.
pub fn drift_report(drift: &[Drift], what: &str, fix: &str) -> String {
    let mut text = String::new();
    for d in drift {
        match d {
            Drift::Changed { diff, .. } => text.push_str(diff),
            Drift::Missing { path } => text.push_str(&format!("missing: {path}\n")),
            Drift::Stale { path } => {
                text.push_str(&format!("stale (no longer rendered): {path}\n"))
            }
        }
    }
    text.push_str(&format!(
        "{} {what} file{} out of date\n  fix: run `{fix}` and commit the result\n",
        drift.len(),
        if drift.len() == 1 { " is" } else { "s are" }
    ));
    text
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// The files written.
    pub written: Vec<String>,
    /// How many files were already current.
    pub unchanged: usize,
    /// The stale files removed.
    pub removed: Vec<String>,
}

/// Files under `owned` directories of `root`, relative to `root`, sorted.
fn existing_files(root: &Path, owned: &[&str]) -> io::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for dir in owned {
        let mut stack = vec![root.join(dir)];
        while let Some(d) = stack.pop() {
            let entries = match fs::read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(root) {
                    out.insert(rel.to_string_lossy().into_owned());
                }
            }
        }
    }
    Ok(out)
}

/// Compares the rendered set with the files under `root`.
pub fn compare(root: &Path, files: &[RenderedFile], owned: &[&str]) -> io::Result<Vec<Drift>> {
    let mut drift = Vec::new();
    let rendered: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for f in files {
        match fs::read_to_string(root.join(&f.path)) {
            Ok(old) if old == f.contents => {}
            Ok(old) => drift.push(Drift::Changed {
                path: f.path.clone(),
                diff: TextDiff::from_lines(&old, &f.contents)
                    .unified_diff()
                    .context_radius(2)
                    .header(&format!("a/{}", f.path), &format!("b/{}", f.path))
                    .to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => drift.push(Drift::Missing {
                path: f.path.clone(),
            }),
            Err(e) => return Err(e),
        }
    }
    for path in existing_files(root, owned)? {
        if !rendered.contains(path.as_str()) {
            drift.push(Drift::Stale { path });
        }
    }
    Ok(drift)
}

fn temp_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.n3x-tmp"))
}

/// Replaces `target` with `contents` atomically: a temporary file in the same directory is
/// written, synced and renamed over it, keeping the old file's permissions. A crash leaves
/// either the old or the new file, never half of one.
pub fn write_file_atomic(target: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let tmp = temp_path(target);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        io::Write::write_all(&mut file, contents.as_ref())?;
        file.sync_all()?;
        if let Ok(meta) = fs::metadata(target) {
            fs::set_permissions(&tmp, meta.permissions())?;
        }
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes the rendered set under `root` atomically, then removes stale files of `owned` dirs.
pub fn write(root: &Path, files: &[RenderedFile], owned: &[&str]) -> io::Result<WriteSummary> {
    let mut summary = WriteSummary::default();
    let mut staged: Vec<(PathBuf, PathBuf, String)> = Vec::new();
    let stage =
        |f: &RenderedFile, staged: &mut Vec<(PathBuf, PathBuf, String)>| -> io::Result<()> {
            let target = root.join(&f.path);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            let tmp = temp_path(&target);
            staged.push((tmp.clone(), target, f.path.clone()));
            fs::write(&tmp, &f.contents)?;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(f.mode))?;
            Ok(())
        };
    for f in files {
        let target = root.join(&f.path);
        let unchanged = fs::read_to_string(&target).is_ok_and(|old| old == f.contents)
            && fs::metadata(&target).is_ok_and(|m| m.permissions().mode() & 0o777 == f.mode);
        if unchanged {
            summary.unchanged += 1;
            continue;
        }
        if let Err(e) = stage(f, &mut staged) {
            for (tmp, _, _) in &staged {
                let _ = fs::remove_file(tmp);
            }
            return Err(io::Error::new(
                e.kind(),
                format!("cannot write {}: {e} (nothing was changed)", f.path),
            ));
        }
    }
    for (tmp, target, rel) in staged {
        fs::rename(&tmp, &target)?;
        summary.written.push(rel);
    }
    let rendered: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for path in existing_files(root, owned)? {
        if !rendered.contains(path.as_str()) {
            fs::remove_file(root.join(&path))?;
            remove_empty_parents(root, &root.join(&path), owned);
            summary.removed.push(path);
        }
    }
    Ok(summary)
}

fn remove_empty_parents(root: &Path, file: &Path, owned: &[&str]) {
    let stops: Vec<PathBuf> = owned.iter().map(|d| root.join(d)).collect();
    let mut dir = file.parent();
    while let Some(d) = dir {
        if stops.iter().any(|s| s == d) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}
