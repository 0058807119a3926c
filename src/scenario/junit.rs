//! JUnit XML of a test run, in the shape of the widely used Ant/Jenkins `junit-10.xsd`: one
//! `testsuite` per backend, one `testcase` per test; a failure carries the node and stage it
//! stopped at, the hint, the matched failure signatures and the node's console tail.

use std::fmt::Write;
use std::time::Duration;

use super::result::{TestResult, Verdict};

/// The JUnit document of `results`; `hostname` and `timestamp` (UTC, `2026-12-01T19:05:00`)
/// go into each suite.
pub fn document(results: &[TestResult], hostname: &str, timestamp: &str) -> String {
    document_with(results, None, hostname, timestamp, &[])
}

/// [`document`] with `properties` (name, value) in each suite, e.g. a shard's plan; with no
/// results there is still one (empty) suite for `backend` to carry them.
pub fn document_with(
    results: &[TestResult],
    backend: Option<&str>,
    hostname: &str,
    timestamp: &str,
    properties: &[(String, String)],
) -> String {
    let mut backends: Vec<&str> = results.iter().map(|r| r.backend.as_str()).collect();
    backends.dedup();
    if backends.is_empty() {
        backends.extend(backend);
    }
    let count = |rs: &[&TestResult], v: Verdict| rs.iter().filter(|r| r.verdict == v).count();
    let all: Vec<&TestResult> = results.iter().collect();
    let total = results
        .iter()
        .map(|r| r.duration)
        .sum::<Duration>()
        .as_secs_f64();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"n3x test\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{total:.3}\">",
        results.len(),
        count(&all, Verdict::Failed),
        count(&all, Verdict::Error)
    );
    for backend in backends {
        let rs: Vec<&TestResult> = results.iter().filter(|r| r.backend == backend).collect();
        let time = rs
            .iter()
            .map(|r| r.duration)
            .sum::<Duration>()
            .as_secs_f64();
        let _ = writeln!(
            out,
            "  <testsuite name=\"n3x.{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{time:.3}\" timestamp=\"{}\" hostname=\"{}\">",
            attr(backend),
            rs.len(),
            count(&rs, Verdict::Failed),
            count(&rs, Verdict::Error),
            attr(timestamp),
            attr(hostname)
        );
        if !properties.is_empty() {
            out.push_str("    <properties>\n");
            for (name, value) in properties {
                let _ = writeln!(
                    out,
                    "      <property name=\"{}\" value=\"{}\"/>",
                    attr(name),
                    attr(value)
                );
            }
            out.push_str("    </properties>\n");
        }
        for r in rs {
            testcase(&mut out, r);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, r: &TestResult) {
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"n3x.{}.{}\" time=\"{:.3}\">",
        attr(&r.name),
        attr(&r.backend),
        attr(&r.profile),
        r.duration.as_secs_f64()
    );
    if let Some(f) = &r.failure {
        let tag = if r.verdict == Verdict::Error {
            "error"
        } else {
            "failure"
        };
        let mut body = format!("node: {}\nstage: {}\nhint: {}\n", f.node, f.stage, f.hint);
        for s in &f.signatures {
            let _ = write!(
                body,
                "signature: {} ({}) — {}\n  fix: {}\n  matched in the {}: {}\n",
                s.title, s.id, s.explanation, s.fix, s.source, s.line
            );
        }
        if let Some((log, line)) = &f.console_log {
            let _ = writeln!(body, "console log: {log} (line {line})");
        }
        if !f.console_tail.is_empty() {
            let _ = writeln!(body, "console tail of {}:", f.node);
            for l in &f.console_tail {
                let _ = writeln!(body, "  {l}");
            }
        }
        let _ = writeln!(
            out,
            "      <{tag} type=\"{}\" message=\"{}\">{}</{tag}>",
            attr(&f.stage),
            attr(&format!("{} stopped at {}: {}", f.node, f.stage, f.hint)),
            text(&body)
        );
    }
    let mut log = String::new();
    for n in &r.timeline {
        for s in &n.stages {
            let _ = writeln!(
                log,
                "{:<12} {:<12} {:<10} at {:>7.1}s took {:>6.1}s {}",
                n.node,
                s.stage,
                s.outcome,
                s.at.as_secs_f64(),
                s.elapsed.as_secs_f64(),
                s.detail
            );
        }
    }
    for c in &r.checks {
        let _ = writeln!(
            log,
            "check {}: {} — {}",
            c.name,
            if c.passed { "passed" } else { "FAILED" },
            c.detail
        );
    }
    if !log.is_empty() {
        let _ = writeln!(out, "      <system-out>{}</system-out>", text(&log));
    }
    out.push_str("    </testcase>\n");
}

/// Characters XML 1.0 cannot carry at all (most control characters) become U+FFFD.
fn clean(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().map(|c| match c {
        '\t' | '\n' | '\r' => c,
        c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
        c => c,
    })
}

/// Escaped for an attribute value in double quotes (newlines kept as character references).
fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped for element text.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_control_characters_are_escaped() {
        assert_eq!(attr("a<b>&\"c\"\n"), "a&lt;b&gt;&amp;&quot;c&quot;&#10;");
        assert_eq!(
            text("x\u{1b}[0m <ok> & 'q'"),
            "x\u{FFFD}[0m &lt;ok&gt; &amp; 'q'"
        );
    }
}
