//! What an edit to a profile file does: its problems, and the rendered files it changes.
//!
//! [`check`] loads the profiles with the edited text in place of the file on disk, validates
//! them, and compares everything `n3x render --all` would write with the same for the saved
//! profiles. Nothing is written.

use std::collections::BTreeMap;
use std::path::Path;

use crate::profile::{Problem, ProfileError, Profiles, display_path};
use crate::render::{self, RenderedFile};
use crate::tui::views::matrix::diff::{DiffLine, unified};

/// How a rendered file changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The edit adds the file.
    Added,
    /// The edit removes the file.
    Removed,
    /// The file's contents change.
    Modified,
}

/// One rendered file an edit changes, with its unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The path `n3x render --all` writes (below the repository root).
    pub path: String,
    /// How it changes.
    pub kind: ChangeKind,
    /// The unified diff (3 lines of context), headers included.
    pub diff: Vec<DiffLine>,
}

impl FileChange {
    /// The diff as text, a line each.
    pub fn diff_text(&self) -> String {
        self.diff
            .iter()
            .map(DiffLine::text)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The verdict on an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The profiles are valid with the edit; these rendered files change (sorted by path).
    Valid(Vec<FileChange>),
    /// The edit breaks the profiles. `here` are the problems in the edited file (with a line
    /// when known); `elsewhere` are problems other files now have because of it.
    Invalid {
        /// Problems in the edited file.
        here: Vec<Problem>,
        /// Problems in other files.
        elsewhere: Vec<Problem>,
    },
}

impl Check {
    /// The problems of the edit, this file's first.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        let (here, elsewhere): (&[Problem], &[Problem]) = match self {
            Check::Valid(_) => (&[], &[]),
            Check::Invalid { here, elsewhere } => (here, elsewhere),
        };
        here.iter().chain(elsewhere)
    }

    /// The 1-based lines of the edited file that have a problem, sorted, without repeats.
    pub fn problem_lines(&self) -> Vec<usize> {
        let mut lines: Vec<usize> = match self {
            Check::Valid(_) => Vec::new(),
            Check::Invalid { here, .. } => here
                .iter()
                .filter_map(|p| p.position.map(|(line, _)| line))
                .collect(),
        };
        lines.sort_unstable();
        lines.dedup();
        lines
    }
}

/// The rendered files of `profiles`, by path.
pub fn rendered(profiles: &Profiles) -> BTreeMap<String, String> {
    render::render_all(profiles)
        .into_iter()
        .map(|RenderedFile { path, contents, .. }| (path, contents))
        .collect()
}

/// Checks `text` as the new contents of `file` (a file under `root`), against `baseline`:
/// the rendered files of the profiles as saved.
pub fn check(root: &Path, file: &Path, text: &str, baseline: &BTreeMap<String, String>) -> Check {
    match Profiles::load_edited(root, Some((file, text))) {
        Ok(profiles) => Check::Valid(changes(baseline, &rendered(&profiles))),
        Err(ProfileError::Invalid(problems)) => {
            let shown = display_path(file);
            let (here, elsewhere) = problems.into_iter().partition(|p| p.file == shown);
            Check::Invalid { here, elsewhere }
        }
        Err(other @ ProfileError::NotFound { .. }) => Check::Invalid {
            here: Vec::new(),
            elsewhere: vec![Problem {
                file: display_path(root),
                position: None,
                field: None,
                message: other.to_string(),
                fix: "restore the profiles directory".into(),
            }],
        },
    }
}

/// Every file that differs between `old` and `new`, sorted by path.
pub fn changes(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> Vec<FileChange> {
    let mut out = Vec::new();
    for (path, before) in old {
        match new.get(path) {
            Some(after) if after == before => {}
            Some(after) => out.push(change(path, ChangeKind::Modified, before, after)),
            None => out.push(change(path, ChangeKind::Removed, before, "")),
        }
    }
    for (path, after) in new {
        if !old.contains_key(path) {
            out.push(change(path, ChangeKind::Added, "", after));
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn change(path: &str, kind: ChangeKind, before: &str, after: &str) -> FileChange {
    let (a, b) = match kind {
        ChangeKind::Added => ("/dev/null".to_string(), format!("b/{path}")),
        ChangeKind::Removed => (format!("a/{path}"), "/dev/null".to_string()),
        ChangeKind::Modified => (format!("a/{path}"), format!("b/{path}")),
    };
    let diff = unified(before, after, &a, &b);
    FileChange {
        path: path.to_string(),
        kind,
        diff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")
    }

    #[test]
    fn an_unchanged_file_changes_nothing() {
        let file = root().join("network/vlans.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        let baseline = rendered(&Profiles::load(&root()).unwrap());
        assert_eq!(
            check(&root(), &file, &text, &baseline),
            Check::Valid(vec![])
        );
    }

    #[test]
    fn a_changed_address_shows_in_the_rendered_files_of_both_backends() {
        let file = root().join("network/simple.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        let edited = text.replacen("cluster: 192.168.1.1 }", "cluster: 192.168.1.9 }", 1);
        assert_ne!(
            edited, text,
            "the shipped simple profile gives server-1 192.168.1.1"
        );
        let baseline = rendered(&Profiles::load(&root()).unwrap());
        let Check::Valid(changes) = check(&root(), &file, &edited, &baseline) else {
            panic!("the edit keeps the profiles valid");
        };
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert!(
            paths
                .iter()
                .any(|p| p.starts_with("kas/") && p.contains("simple/server-1")),
            "{paths:?}"
        );
        assert!(
            paths.contains(&"nixos/rendered/simple/server-1.json"),
            "{paths:?}"
        );
        let networkd = changes
            .iter()
            .find(|c| c.path.starts_with("kas/") && c.path.ends_with(".network"))
            .expect("a networkd unit changes");
        assert_eq!(networkd.kind, ChangeKind::Modified);
        assert!(
            networkd.diff_text().contains("-Address=192.168.1.1/24"),
            "{}",
            networkd.diff_text()
        );
        assert!(
            networkd.diff_text().contains("+Address=192.168.1.9/24"),
            "{}",
            networkd.diff_text()
        );
    }

    #[test]
    fn a_broken_edit_names_its_line_and_the_files_it_breaks_elsewhere() {
        let file = root().join("cluster.yaml");
        let text = std::fs::read_to_string(&file).unwrap();
        let baseline = rendered(&Profiles::load(&root()).unwrap());
        // Renaming a node breaks the network profiles that give it addresses.
        let edited = text.replacen("name: agent-2", "name: agent-9", 1);
        assert_ne!(edited, text);
        let check = check(&root(), &file, &edited, &baseline);
        let Check::Invalid { elsewhere, .. } = &check else {
            panic!("renaming a node leaves profiles naming the old one: {check:?}");
        };
        assert!(
            elsewhere
                .iter()
                .any(|p| p.file.to_string_lossy().contains("network/")),
            "{elsewhere:?}"
        );

        let syntax = text.replacen("nodes:", "nodes: [", 1);
        let check = super::check(&root(), &file, &syntax, &baseline);
        assert!(!check.problem_lines().is_empty(), "{check:?}");
    }

    #[test]
    fn added_and_removed_files_are_listed_with_dev_null_headers() {
        let old = BTreeMap::from([("a".to_string(), "x\n".to_string())]);
        let new = BTreeMap::from([("b".to_string(), "y\n".to_string())]);
        let c = changes(&old, &new);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].kind, ChangeKind::Removed);
        assert!(
            c[0].diff_text().contains("+++ /dev/null"),
            "{}",
            c[0].diff_text()
        );
        assert_eq!(c[1].kind, ChangeKind::Added);
        assert!(
            c[1].diff_text().contains("--- /dev/null"),
            "{}",
            c[1].diff_text()
        );
    }
}
