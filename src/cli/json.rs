//! The `--json` documents of `validate`, `build --list`, `test --list` and `cluster status`.
//!
//! Field names are part of n3x's interface (README, "JSON for scripts"): fields may be added,
//! none is renamed or removed. Paths are strings, absent values `null`.

use std::path::Path;

use serde_json::{Value, json};

use crate::build::plan::Backend;
use crate::build::state::BuildRecord;
use crate::profile::{Problem, Profiles, display_path};
use crate::scenario::catalog::{self, Availability, TestDef};

/// One problem of `validate --json`: file, line, column, field, message, fix.
pub fn problem(p: &Problem) -> Value {
    json!({
        "file": display_path(&p.file).display().to_string(),
        "line": p.position.map(|(l, _)| l),
        "column": p.position.map(|(_, c)| c),
        "field": p.field,
        "message": p.message,
        "fix": p.fix,
    })
}

/// A problem reported as text (`file:line: message\n  fix: …`), for checks outside the
/// profile parser (the k3s pins of the backends).
pub fn problem_text(text: &str) -> Value {
    let (head, fix) = match text.split_once("\n  fix: ") {
        Some((head, fix)) => (head, Some(fix.trim())),
        None => (text, None),
    };
    let mut parts = head.splitn(3, ':');
    let (file, line, message) = match (parts.next(), parts.next(), parts.next()) {
        (Some(file), Some(line), Some(message)) if line.trim().parse::<usize>().is_ok() => (
            Some(file),
            line.trim().parse::<usize>().ok(),
            message.trim(),
        ),
        _ => (None, None, head),
    };
    json!({
        "file": file,
        "line": line,
        "column": null,
        "field": null,
        "message": message,
        "fix": fix,
    })
}

/// `validate --json`: `ok`, the profiles directory, counts, and every problem.
pub fn validation(root: &Path, p: Option<&Profiles>, problems: Vec<Value>) -> Value {
    json!({
        "ok": problems.is_empty(),
        "profiles": display_path(root).display().to_string(),
        "machines": p.map(|p| p.machines.len()),
        "networks": p.map(|p| p.networks.len()),
        "nodes": p.map(|p| p.cluster.nodes.len()),
        "variants": p.map(|p| crate::matrix::variants(p).len()),
        "problems": problems,
    })
}

/// `test --list --json`: one entry per test and backend.
pub fn test_catalog(p: &Profiles, tests: &[TestDef]) -> Value {
    let mut out = Vec::new();
    for backend in [Backend::Quick, Backend::Isar, Backend::Nixos] {
        for t in tests {
            let (available, why, command) = match catalog::availability(p, t, backend) {
                Availability::Available => (true, None, None),
                Availability::Unavailable { why, command } => (false, Some(why), Some(command)),
            };
            out.push(json!({
                "test": t.name,
                "backend": backend.name(),
                "profile": t.profile,
                "nodes": t.nodes,
                "summary": t.summary,
                "available": available,
                "why_not": why,
                "images_command": command,
            }));
        }
    }
    Value::Array(out)
}

/// `build --list --json`: every past build, oldest first.
pub fn build_history(records: &[BuildRecord]) -> Value {
    Value::Array(
        records
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "variant": r.variant,
                    "backend": r.backend.name(),
                    "started": r.started,
                    "duration_ms": r.duration_ms,
                    "outcome": r.outcome.word(),
                    "error": r.error,
                    "artifacts": r.artifacts.iter().map(|a| serde_json::to_value(a).unwrap_or(Value::Null)).collect::<Vec<_>>(),
                    "sstate_hit_ratio": r.sstate.and_then(|s| s.hit_ratio()),
                })
            })
            .collect(),
    )
}

/// Pretty JSON with a final newline.
pub fn text(doc: &Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s
}
