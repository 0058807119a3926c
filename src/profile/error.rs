//! Errors about profiles, written for the person who has to fix the file.

use std::fmt;
use std::path::{Path, PathBuf};

use super::locate::{FieldPath, locate};

/// One thing wrong with a profile: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as the user named it (relative to where `n3x` was started when possible).
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// The field path, for rules about values (`networks.cluster.vlan`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// What would be right.
    pub fix: String,
}

impl Problem {
    /// A problem about the value at `path` in `file`, located in `text` when possible.
    pub fn at_field(
        file: &Path,
        text: Option<&str>,
        path: &FieldPath,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        let position = text.and_then(|t| locate(t, path));
        let field = (!path.0.is_empty()).then(|| path.to_string());
        Problem {
            file: file.to_path_buf(),
            position,
            field,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}\n  fix: {}", self.message, self.fix)
    }
}

/// Why profiles could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No `profiles/` directory with a `cluster.yaml` could be found.
    #[error(
        "no profiles found: {searched} has no cluster.yaml\n  fix: run n3x inside the n3x repository, or pass --profiles DIR (or set N3X_PROFILES)"
    )]
    NotFound {
        /// Where they were looked for.
        searched: String,
    },
    /// One or more problems in the files; all of them are listed.
    #[error("{}", list(.0))]
    Invalid(Vec<Problem>),
}

/// Problems one after the other, each after the first starting with `error: ` (the command line
/// prefixes the first line with it, so every problem gets one).
pub fn join(problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push_str("\nerror: ");
        }
        out.push_str(&p.to_string());
    }
    out
}

fn list(problems: &[Problem]) -> String {
    let mut out = join(problems);
    let n = problems.len();
    out.push_str(&format!(
        "\n{n} problem{} found; nothing was written.",
        if n == 1 { "" } else { "s" }
    ));
    out
}
