//! Known failure patterns (`signatures.yaml`, compiled in) matched over a node's console lines
//! and its k3s journal.

use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use super::SignatureError;
use super::SignatureHit;

/// The data file.
pub const FILE: &str = include_str!("signatures.yaml");

/// Where a signature's line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The serial console.
    Console,
    /// The journal of the node's k3s unit.
    Journal,
    /// Either.
    Any,
}

impl Source {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Source::Console => "console",
            Source::Journal => "k3s journal",
            Source::Any => "any",
        }
    }

    fn covers(self, seen: Source) -> bool {
        self == Source::Any || self == seen
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: String,
    title: String,
    source: Source,
    regex: Option<String>,
    substring: Option<String>,
    definite: bool,
    explanation: String,
    fix: String,
    example: String,
    near_miss: String,
}

/// One known failure pattern.
#[derive(Debug, Clone)]
pub struct Signature {
    /// Short name (`wrong-token-agent`).
    pub id: String,
    /// One line for a table.
    pub title: String,
    /// Where it appears.
    pub source: Source,
    /// Whether it fails the node's current stage at once.
    pub definite: bool,
    /// What it means.
    pub explanation: String,
    /// What to do.
    pub fix: String,
    /// A line it must match.
    pub example: String,
    /// A line it must not match.
    pub near_miss: String,
    pattern: Pattern,
}

#[derive(Debug, Clone)]
enum Pattern {
    Regex(Regex),
    Substring(String),
}

impl Signature {
    /// Whether `line` shows this failure.
    pub fn matches(&self, line: &str) -> bool {
        match &self.pattern {
            Pattern::Regex(r) => r.is_match(line),
            Pattern::Substring(s) => line.contains(s.as_str()),
        }
    }
}

/// Parses a signature file; errors name the entry and what is wrong with it.
pub fn parse(text: &str) -> Result<Vec<Signature>, SignatureError> {
    let raw: Vec<Raw> = serde_yaml::from_str(text).map_err(SignatureError::Yaml)?;
    let mut out: Vec<Signature> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let at = |problem: String| SignatureError::Entry {
            entry: i + 1,
            id: r.id.clone(),
            problem,
        };
        if out.iter().any(|s| s.id == r.id) {
            return Err(at("the id is used twice".into()));
        }
        let pattern = match (r.regex, r.substring) {
            (Some(re), None) => Pattern::Regex(
                Regex::new(&re).map_err(|e| at(format!("the regex does not compile: {e}")))?,
            ),
            (None, Some(s)) if !s.is_empty() => Pattern::Substring(s),
            _ => return Err(at("give exactly one of `regex` and `substring`".into())),
        };
        for (field, value) in [
            ("title", &r.title),
            ("explanation", &r.explanation),
            ("fix", &r.fix),
        ] {
            if value.trim().is_empty() {
                return Err(at(format!("`{field}` is empty")));
            }
        }
        out.push(Signature {
            id: r.id,
            title: r.title,
            source: r.source,
            definite: r.definite,
            explanation: r.explanation,
            fix: r.fix,
            example: r.example,
            near_miss: r.near_miss,
            pattern,
        });
    }
    Ok(out)
}

/// The compiled-in signatures (validated by the tests, so parsing cannot fail at run time).
pub fn all() -> &'static [Signature] {
    static ALL: OnceLock<Vec<Signature>> = OnceLock::new();
    ALL.get_or_init(|| parse(FILE).unwrap_or_default())
}

/// The signatures a line from `seen` matches.
pub fn scan<'a>(line: &'a str, seen: Source) -> impl Iterator<Item = &'static Signature> + 'a {
    all()
        .iter()
        .filter(move |s| s.source.covers(seen) && s.matches(line))
}

/// A hit of `sig` on `node`.
pub fn hit(sig: &Signature, node: &str, line: &str, seen: Source) -> SignatureHit {
    SignatureHit {
        node: node.to_string(),
        id: sig.id.clone(),
        title: sig.title.clone(),
        explanation: sig.explanation.clone(),
        fix: sig.fix.clone(),
        line: line.trim().to_string(),
        source: seen.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_file_parses_and_has_what_the_task_names() {
        let parsed = parse(FILE).expect("signatures.yaml is valid");
        for id in [
            "stale-bootstrap-token",
            "wrong-token-server",
            "wrong-token-agent",
            "token-ca-hash",
            "server-unreachable",
            "etcd-quorum-lost",
            "first-connection-timeout",
            "device-timeout",
            "missing-k3s-binary",
            "address-never-assigned",
            "flannel-iface-not-found",
            "no-space",
        ] {
            assert!(parsed.iter().any(|s| s.id == id), "no signature {id}");
        }
        assert_eq!(parsed.len(), all().len());
    }

    #[test]
    fn every_signature_matches_its_example_and_not_its_near_miss() {
        for s in all() {
            assert!(
                s.matches(&s.example),
                "{} does not match {:?}",
                s.id,
                s.example
            );
            assert!(
                !s.matches(&s.near_miss),
                "{} matches its near miss {:?}",
                s.id,
                s.near_miss
            );
        }
    }

    #[test]
    fn a_definite_signatures_example_is_not_claimed_by_another_definite_one() {
        for s in all().iter().filter(|s| s.definite) {
            let others: Vec<&str> = all()
                .iter()
                .filter(|o| o.id != s.id && o.definite && o.matches(&s.example))
                .map(|o| o.id.as_str())
                .collect();
            assert!(
                others.is_empty(),
                "{}'s example also matches {others:?}",
                s.id
            );
        }
    }

    #[test]
    fn lines_are_matched_only_from_their_source() {
        let console = "[ TIME ] Timed out waiting for device dev-vdb.device - /dev/vdb.";
        assert_eq!(
            scan(console, Source::Console)
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>(),
            ["device-timeout"]
        );
        assert_eq!(scan(console, Source::Journal).count(), 0);
        let line = "level=fatal msg=\"write /var/lib/rancher/k3s/data: no space left on device\"";
        assert_eq!(scan(line, Source::Console).count(), 1);
        assert_eq!(scan(line, Source::Journal).count(), 1);
    }

    #[test]
    fn bad_entries_are_named() {
        let dup = format!(
            "{FILE}\n{}",
            FILE.lines()
                .skip_while(|l| !l.starts_with("- id:"))
                .take_while(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let e = parse(&dup).unwrap_err().to_string();
        assert!(
            e.contains("stale-bootstrap-token") && e.contains("twice"),
            "{e}"
        );
        let both = "- {id: x, title: t, source: any, regex: a, substring: b, definite: true, explanation: e, fix: f, example: a, near_miss: c}";
        assert!(
            parse(both)
                .unwrap_err()
                .to_string()
                .contains("entry 1 (x): give exactly one")
        );
        let bad = "- {id: y, title: t, source: any, regex: '(', definite: true, explanation: e, fix: f, example: a, near_miss: c}";
        assert!(
            parse(bad)
                .unwrap_err()
                .to_string()
                .contains("(y): the regex does not compile")
        );
        let source = "- {id: z, title: t, source: disk, substring: a, definite: true, explanation: e, fix: f, example: a, near_miss: c}";
        assert!(parse(source).is_err());
    }
}
