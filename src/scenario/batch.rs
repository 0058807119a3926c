//! `n3x test` without a screen: every update as a timestamped line (test, node, stage), a
//! timeline per test compared with its last run, a closing table; GitHub Actions log groups
//! and error annotations when `GITHUB_ACTIONS` is set; colour only on a terminal without
//! `NO_COLOR`.

use std::io::Write;
use std::time::SystemTime;

use super::TestUpdate;
use super::result::{TestResult, Verdict, secs};
use crate::cluster::engine::{ClusterUpdate, NodeState};
use crate::readiness::ReadinessUpdate;
use crate::session::SessionUpdate;

/// How the lines are written.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// ANSI colours on the verdicts.
    pub colour: bool,
    /// GitHub Actions workflow commands (`::group::`, `::error …::`).
    pub github: bool,
    /// Where the network profiles live, as the annotations name them (`profiles/network`).
    pub network_dir: String,
    /// Width of the timeline's swim-lane.
    pub lane_width: usize,
}

impl Style {
    /// The style for this process: colour when standard output is a terminal and `NO_COLOR`
    /// is unset or empty; GitHub commands when `GITHUB_ACTIONS` is `true`.
    pub fn from_env(stdout_is_terminal: bool, network_dir: String) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: stdout_is_terminal && !no_color,
            github: std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true"),
            network_dir,
            lane_width: 60,
        }
    }

    fn verdict(&self, v: Verdict) -> String {
        let word = v.word().to_uppercase();
        if !self.colour {
            return word;
        }
        match v {
            Verdict::Passed => format!("\x1b[32m{word}\x1b[0m"),
            Verdict::Failed | Verdict::Error => format!("\x1b[1;31m{word}\x1b[0m"),
        }
    }
}

/// The printer: its style and the earlier runs it compares with.
#[derive(Debug, Default)]
pub struct Batch {
    /// The style of the lines.
    pub style: Style,
    /// Earlier runs to compare with, by test name (the caller loads them before the run).
    pub previous: std::collections::BTreeMap<String, TestResult>,
}

fn clock() -> String {
    crate::build::state::utc(SystemTime::now())[11..19].to_string()
}

/// GitHub's escaping of a workflow command's message.
pub fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a workflow command's property value.
pub fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

impl Batch {
    /// A printer with `style`.
    pub fn new(style: Style) -> Batch {
        Batch {
            style,
            ..Batch::default()
        }
    }

    fn line(out: &mut impl Write, test: &str, text: &str) {
        let stamp = clock();
        for l in text.lines() {
            let _ = writeln!(out, "{stamp} [{test}] {l}");
        }
    }

    /// Writes what a CI log should show about `update`.
    pub fn update(&mut self, update: TestUpdate, out: &mut impl Write) {
        match update {
            TestUpdate::Started {
                test,
                backend,
                profile,
                nodes,
            } => {
                if self.style.github {
                    let _ = writeln!(out, "::group::{test} ({backend}, {profile})");
                }
                Self::line(
                    out,
                    &test,
                    &format!(
                        "starting on {backend}: profile {profile}, nodes {}",
                        nodes.join(", ")
                    ),
                );
            }
            TestUpdate::Session { test, update } => match update {
                SessionUpdate::Cluster(ClusterUpdate::Note(text)) => {
                    Self::line(out, &test, &format!("n3x: {text}"))
                }
                SessionUpdate::Cluster(ClusterUpdate::Console { node, child }) => Self::line(
                    out,
                    &test,
                    &format!("[{node}] QEMU started (pid {})", child.pid()),
                ),
                SessionUpdate::Cluster(ClusterUpdate::State {
                    node,
                    state: NodeState::Failed(why),
                }) => Self::line(out, &test, &format!("[{node}] QEMU failed: {why}")),
                SessionUpdate::Readiness(ReadinessUpdate::Stage(event)) => {
                    Self::line(out, &test, &event.line())
                }
                SessionUpdate::Readiness(ReadinessUpdate::Signature(hit)) => {
                    Self::line(out, &test, &hit.lines())
                }
                SessionUpdate::Cluster(_)
                | SessionUpdate::Report(_)
                | SessionUpdate::Started(_)
                | SessionUpdate::Stopping
                | SessionUpdate::Stopped => {}
            },
            TestUpdate::Check { test, check } => Self::line(
                out,
                &test,
                &format!(
                    "check {}: {} — {}",
                    check.name,
                    if check.passed { "passed" } else { "FAILED" },
                    check.detail
                ),
            ),
            TestUpdate::Finished(result) => self.finished(*result, out),
            TestUpdate::Kept {
                test,
                profile,
                nodes,
            } => Self::line(
                out,
                &test,
                &format!(
                    "the VMs of {test} keep running for inspection ({}):\n  \
                     n3x console --profile {profile} NODE   (Ctrl-] leaves)\n  \
                     n3x exec --profile {profile} NODE -- CMD\n  \
                     n3x cluster down --profile {profile}   (or Ctrl-C here) stops them",
                    nodes.join(", ")
                ),
            ),
        }
    }

    fn finished(&self, r: TestResult, out: &mut impl Write) {
        let summary =
            super::history::summary(&r, self.previous.get(&r.name), self.style.lane_width);
        Self::line(out, &r.name, &summary);
        if self.style.github {
            let _ = writeln!(out, "::endgroup::");
        }
        let mut text = format!("{} in {}", self.style.verdict(r.verdict), secs(r.duration));
        if let Some(f) = &r.failure {
            text.push_str(&format!(
                ": {} stopped at {}\n  hint: {}",
                f.node, f.stage, f.hint
            ));
            for s in &f.signatures {
                text.push_str(&format!(
                    "\n  signature {}: {} — fix: {}",
                    s.id, s.title, s.fix
                ));
            }
            if let Some((log, line)) = &f.console_log {
                text.push_str(&format!("\n  console: {log} (line {line})"));
            }
        }
        Self::line(out, &r.name, &text);
        if self.style.github
            && let Some(f) = &r.failure
        {
            let mut message = format!("{} stopped at {}: {}", f.node, f.stage, f.hint);
            if !f.console_tail.is_empty() {
                message.push_str("\nconsole tail:\n");
                message.push_str(&f.console_tail.join("\n"));
            }
            let _ = writeln!(
                out,
                "::error file={},title={}::{}",
                gh_property(&format!("{}/{}.yaml", self.style.network_dir, r.profile)),
                gh_property(&format!(
                    "{} ({}): {} at {}",
                    r.name, r.backend, f.node, f.stage
                )),
                gh_data(&message)
            );
        }
    }
}

/// The closing table: every test, its verdict, time and where it stopped, and the counts.
pub fn summary(results: &[TestResult]) -> String {
    let width = results
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:<width$}  {:<7}  {:<7}  {:>8}  WHERE\n",
        "TEST", "BACKEND", "RESULT", "TIME"
    );
    for r in results {
        let place = r
            .failure
            .as_ref()
            .map(|f| format!("{} at {}: {}", f.node, f.stage, f.hint))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<width$}  {:<7}  {:<7}  {:>8}  {}\n",
            r.name,
            r.backend,
            r.verdict.word(),
            secs(r.duration),
            place.lines().next().unwrap_or_default()
        ));
    }
    let count = |v| results.iter().filter(|r| r.verdict == v).count();
    out.push_str(&format!(
        "tests: {} passed, {} failed, {} could not run\n",
        count(Verdict::Passed),
        count(Verdict::Failed),
        count(Verdict::Error)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_commands_escape_what_would_end_them() {
        assert_eq!(gh_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(gh_property("a: b, c"), "a%3A b%2C c");
    }
}
