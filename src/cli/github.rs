//! GitHub Actions output: annotations (`::error file=…,line=…,col=…::`) for `validate` and
//! `render --check` when `GITHUB_ACTIONS=true`, and the Markdown summary `n3x test` appends to
//! `$GITHUB_STEP_SUMMARY`.

use serde_json::Value;

use crate::render::output::Drift;
use crate::scenario::batch::{gh_data, gh_property};
use crate::scenario::result::{TestResult, Verdict};

/// Whether n3x runs in a GitHub Actions job.
pub fn enabled() -> bool {
    std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")
}

/// An `::error` annotation from a problem of `validate --json` ([`crate::cli::json`]).
pub fn problem(p: &Value) -> String {
    let mut props = Vec::new();
    if let Some(file) = p["file"].as_str() {
        props.push(format!("file={}", gh_property(file)));
    }
    for (key, field) in [("line", "line"), ("col", "column")] {
        if let Some(n) = p[field].as_u64() {
            props.push(format!("{key}={n}"));
        }
    }
    if let Some(field) = p["field"].as_str() {
        props.push(format!("title={}", gh_property(field)));
    }
    let mut message = p["message"].as_str().unwrap_or_default().to_string();
    if let Some(fix) = p["fix"].as_str() {
        message.push_str(&format!("\nfix: {fix}"));
    }
    format!("::error {}::{}\n", props.join(","), gh_data(&message))
}

/// An `::error` annotation for a rendered file that differs from the committed one, at the
/// first line that differs.
pub fn drift(d: &Drift, fix: &str) -> String {
    let (line, what) = match d {
        Drift::Changed { diff, .. } => (first_changed_line(diff), "differs from a fresh render"),
        Drift::Missing { .. } => (1, "is rendered but not committed"),
        Drift::Stale { .. } => (1, "is no longer rendered"),
    };
    format!(
        "::error file={},line={line},col=1,title=stale rendered file::{}\n",
        gh_property(d.path()),
        gh_data(&format!("{} {what}\nfix: {fix}", d.path()))
    )
}

/// The old-file line of the first changed line of a unified diff (after the `@@ -L,N +…`
/// header and its context lines), 1 when unknown.
fn first_changed_line(diff: &str) -> usize {
    let mut line: Option<usize> = None;
    for l in diff.lines() {
        if let Some(rest) = l.strip_prefix("@@ -") {
            line = rest.split([',', ' ']).next().and_then(|n| n.parse().ok());
        } else if let Some(n) = line.as_mut() {
            if l.starts_with('-') || l.starts_with('+') {
                return (*n).max(1);
            }
            *n += 1;
        }
    }
    line.unwrap_or(1).max(1)
}

/// The Markdown table `n3x test` appends to `$GITHUB_STEP_SUMMARY`.
pub fn step_summary(results: &[TestResult]) -> String {
    let passed = results
        .iter()
        .filter(|r| r.verdict == Verdict::Passed)
        .count();
    let mut md = format!(
        "### n3x test: {passed} of {} passed\n\n| test | backend | profile | result | time | where it stopped |\n|---|---|---|---|---|---|\n",
        results.len()
    );
    for r in results {
        let stopped = r
            .failure
            .as_ref()
            .map(|f| format!("{} at {}: {}", f.node, f.stage, f.hint))
            .unwrap_or_default()
            .replace('|', "\\|")
            .replace('\n', " ");
        md.push_str(&format!(
            "| {} | {} | {} | {} | {:.0}s | {stopped} |\n",
            r.name,
            r.backend,
            r.profile,
            r.verdict.word(),
            r.duration.as_secs_f64()
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drift_points_at_its_first_changed_line() {
        let d = Drift::Changed {
            path: "kas/x.yml".into(),
            diff: "--- a\n+++ b\n@@ -7,3 +7,3 @@\n-a\n+b\n".into(),
        };
        assert_eq!(
            drift(&d, "n3x render --all"),
            "::error file=kas/x.yml,line=7,col=1,title=stale rendered file::kas/x.yml differs from a fresh render%0Afix: n3x render --all\n"
        );
    }

    #[test]
    fn a_problem_carries_file_line_column_and_field() {
        let p = serde_json::json!({"file": "profiles/a.yaml", "line": 3, "column": 5,
            "field": "networks.x.vlan", "message": "VLAN ID 0", "fix": "use 1-4094"});
        assert_eq!(
            problem(&p),
            "::error file=profiles/a.yaml,line=3,col=5,title=networks.x.vlan::VLAN ID 0%0Afix: use 1-4094\n"
        );
    }
}
