//! A small YAML writer for the workflow files: lines at an indentation, scalars quoted only
//! where YAML would read them as something else, and shell scripts as literal blocks. The
//! output is exactly what was written, in order: deterministic bytes, readable diffs.

/// A YAML document being written.
#[derive(Debug, Default)]
pub struct Doc {
    out: String,
}

impl Doc {
    /// Starts a document with `# ` comment lines.
    pub fn new(header: &[&str]) -> Self {
        let mut d = Doc::default();
        for line in header {
            d.out
                .push_str(&format!("# {line}\n").replace("# \n", "#\n"));
        }
        d
    }

    /// `text` as one line at `level` (two spaces each).
    pub fn line(&mut self, level: usize, text: &str) -> &mut Self {
        for _ in 0..level {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
        self
    }

    /// `key: value` with the value quoted when needed.
    pub fn kv(&mut self, level: usize, key: &str, value: &str) -> &mut Self {
        self.line(level, &format!("{key}: {}", scalar(value)))
    }

    /// `key: |` and `lines` as a literal block one level deeper (a shell script).
    pub fn block(&mut self, level: usize, key: &str, lines: &[String]) -> &mut Self {
        if let [one] = lines
            && plain(one, false)
        {
            return self.line(level, &format!("{key}: {one}"));
        }
        self.line(level, &format!("{key}: |"));
        for l in lines {
            self.line(level + 1, l);
        }
        self
    }

    /// An empty line between sections.
    pub fn blank(&mut self) -> &mut Self {
        self.out.push('\n');
        self
    }

    /// The text written.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Whether `s` reads back as the same string when written plain in block context: it
/// starts with no indicator, has no `: ` or ` #`, no line break, no edge space, and is no
/// boolean, null or number. `flow` also keeps out `,[]{}` (inside `[…]`).
fn plain(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ];
    let numeric = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | '_' | 'e' | 'E'));
    !"-?:,[]{}#&*!|>'\"%@` \t".contains(first)
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.ends_with(' ')
        && !s.contains(['\n', '\t', '\r'])
        && !(flow && s.contains([',', '[', ']', '{', '}']))
        && !reserved.contains(&s.to_ascii_lowercase().as_str())
        && !numeric
}

/// `s` as a YAML scalar: plain when that reads back the same, else single-quoted.
pub fn scalar(s: &str) -> String {
    quoted(s, false)
}

fn quoted(s: &str, flow: bool) -> String {
    if plain(s, flow) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// A flow sequence of scalars: `[a, 'b c']`.
pub fn list(items: &[impl AsRef<str>]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|i| quoted(i.as_ref(), true))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_exactly_when_yaml_would_misread_them() {
        for s in [
            "ubuntu-24.04",
            "./n3x",
            "v*-x",
            "isar-qemuamd64-base",
            "$CI_COMMIT_TAG",
        ] {
            assert_eq!(scalar(s), s);
        }
        for (s, q) in [
            ("1", "'1'"),
            ("0.0.2", "'0.0.2'"),
            ("on", "'on'"),
            ("a: b", "'a: b'"),
            ("x # y", "'x # y'"),
            ("it's", "it's"),
            ("'a", "'''a'"),
            ("v*", "v*"),
            ("*x", "'*x'"),
            ("${{ matrix.shard }}", "${{ matrix.shard }}"),
            ("{a}", "'{a}'"),
            ("\"$X\" y", "'\"$X\" y'"),
            ("", "''"),
        ] {
            assert_eq!(scalar(s), q, "{s}");
        }
        assert_eq!(list(&["a", "1", "x,y"]), "[a, '1', 'x,y']");
    }
}
