//! The Boot-to-Ready timeline: every node's stages as a swim-lane, and each stage compared
//! with the previous run of the same test on the same backend, kept in
//! `<state>/tests/<name>/history.json`, so a regression shows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ScenarioError;
use super::result::{NodeTimeline, TestResult, secs};

/// How many runs of a test the history keeps.
pub const KEPT_RUNS: usize = 20;

/// The stage letters of the text swim-lane, by stage label.
pub const LETTERS: [(&str, char); 8] = [
    ("qemu", 'q'),
    ("kernel", 'k'),
    ("userspace", 'u'),
    ("network", 'n'),
    ("k3s-service", 's'),
    ("api", 'a'),
    ("registered", 'r'),
    ("ready", 'R'),
];

/// A stage that got slower than this (and by more than [`SLOWER_SHARE`]) is flagged.
pub const SLOWER_BY: Duration = Duration::from_secs(5);
/// … and by more than this share of its last time.
pub const SLOWER_SHARE: f64 = 0.25;

/// The history file of a test.
pub fn file(state: &Path, test: &str) -> PathBuf {
    state.join("tests").join(test).join("history.json")
}

/// Earlier runs of a test, oldest first (none when there is no history or it is unreadable:
/// a damaged history only loses the comparison).
pub fn load(state: &Path, test: &str) -> Vec<TestResult> {
    std::fs::read_to_string(file(state, test))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The last run of `test` on `backend` before this one.
pub fn previous(history: &[TestResult], backend: &str) -> Option<TestResult> {
    history.iter().rev().find(|r| r.backend == backend).cloned()
}

/// Appends a run to the history (keeping the last [`KEPT_RUNS`]), written atomically.
pub fn append(state: &Path, result: &TestResult) -> Result<(), ScenarioError> {
    let mut runs = load(state, &result.name);
    runs.push(result.clone());
    let skip = runs.len().saturating_sub(KEPT_RUNS);
    let path = file(state, &result.name);
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScenarioError::History { path, source }
    };
    let json = serde_json::to_string_pretty(&runs[skip..])
        .map_err(std::io::Error::other)
        .map_err(failed(&path))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed(dir))?;
    }
    crate::render::output::write_file_atomic(&path, json + "\n").map_err(failed(&path))
}

/// One stage compared with the last run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The node.
    pub node: String,
    /// The stage label.
    pub stage: String,
    /// When it ended this time, since the cluster started (`None`: it did not end).
    pub this: Option<Duration>,
    /// When it ended last time.
    pub last: Option<Duration>,
    /// Whether it got markedly slower ([`SLOWER_BY`] and [`SLOWER_SHARE`]).
    pub slower: bool,
}

impl Comparison {
    /// This run minus the last one, as `+1.2s` / `-0.4s`, or `-` when either is missing.
    pub fn delta(&self) -> String {
        match (self.this, self.last) {
            (Some(a), Some(b)) if a >= b => format!("+{}", secs(a - b)),
            (Some(a), Some(b)) => format!("-{}", secs(b - a)),
            _ => "-".into(),
        }
    }
}

fn ended(n: &NodeTimeline, stage: &str) -> Option<Duration> {
    n.stages
        .iter()
        .find(|s| s.stage == stage && s.outcome == "passed")
        .map(|s| s.end())
}

/// Every passed or failed stage of this run beside the same stage of the last run.
pub fn compare(this: &TestResult, last: Option<&TestResult>) -> Vec<Comparison> {
    let mut out = Vec::new();
    for n in &this.timeline {
        let before = last.and_then(|l| l.timeline.iter().find(|m| m.node == n.node));
        for s in &n.stages {
            if !matches!(s.outcome.as_str(), "passed" | "failed") {
                continue;
            }
            let now = ended(n, &s.stage);
            let then = before.and_then(|b| ended(b, &s.stage));
            let slower = match (now, then) {
                (Some(a), Some(b)) => {
                    a > b + SLOWER_BY && (a - b).as_secs_f64() > b.as_secs_f64() * SLOWER_SHARE
                }
                // It passed last time and not now.
                (None, Some(_)) => true,
                _ => false,
            };
            out.push(Comparison {
                node: n.node.clone(),
                stage: s.stage.clone(),
                this: now,
                last: then,
                slower,
            });
        }
    }
    out
}

/// A stage's span on a lane of `width` columns: first column, last column (inclusive), label.
pub type Span = (usize, usize, String);

/// Each node's stages as column spans of a lane `width` columns wide for the time from the
/// cluster's start to the last stage's end. A stage gets at least one column.
pub fn lanes(timeline: &[NodeTimeline], width: usize) -> (Duration, Vec<(String, Vec<Span>)>) {
    let end = timeline
        .iter()
        .flat_map(|n| n.stages.iter())
        .filter(|s| !matches!(s.outcome.as_str(), "waiting" | "skipped"))
        .map(|s| s.end())
        .max()
        .unwrap_or_default();
    let width = width.max(1);
    let col = |d: Duration| -> usize {
        if end.is_zero() {
            0
        } else {
            ((d.as_secs_f64() / end.as_secs_f64()) * (width - 1) as f64).round() as usize
        }
    };
    let lanes = timeline
        .iter()
        .map(|n| {
            let spans = n
                .stages
                .iter()
                .filter(|s| !matches!(s.outcome.as_str(), "waiting" | "skipped"))
                .map(|s| {
                    let a = col(s.at).min(width - 1);
                    (a, col(s.end()).clamp(a, width - 1), s.stage.clone())
                })
                .collect();
            (n.node.clone(), spans)
        })
        .collect();
    (end, lanes)
}

/// The letter of a stage in the text swim-lane.
pub fn letter(stage: &str) -> char {
    LETTERS
        .iter()
        .find(|(l, _)| *l == stage)
        .map(|(_, c)| *c)
        .unwrap_or('?')
}

/// The batch summary of one run: the swim-lane in letters, a legend, and the comparison with
/// the last run.
pub fn summary(this: &TestResult, last: Option<&TestResult>, width: usize) -> String {
    let mut out = String::new();
    let name_w = this
        .timeline
        .iter()
        .map(|n| n.node.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let (end, lanes) = lanes(&this.timeline, width);
    out.push_str(&format!(
        "timeline of {} ({}, 0 … {}):\n",
        this.name,
        this.backend,
        secs(end)
    ));
    for (node, spans) in &lanes {
        let mut row = vec![' '; width.max(1)];
        for (a, b, stage) in spans {
            for c in &mut row[*a..=*b] {
                *c = letter(stage);
            }
        }
        let failed = this
            .timeline
            .iter()
            .find(|n| &n.node == node)
            .and_then(|n| n.stages.iter().find(|s| s.outcome == "failed"));
        out.push_str(&format!(
            "  {node:<name_w$} |{}|{}\n",
            row.into_iter().collect::<String>(),
            failed
                .map(|s| format!(" stopped at {}", s.stage))
                .unwrap_or_default()
        ));
    }
    out.push_str(&format!(
        "  {:<name_w$}  {}\n",
        "",
        LETTERS
            .iter()
            .map(|(l, c)| format!("{c}={l}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let rows = compare(this, last);
    match last {
        None => out.push_str("  no earlier run of this test on this backend to compare with\n"),
        Some(l) => {
            out.push_str(&format!(
                "  compared with the run of {} ({}):\n  {:<name_w$}  {:<12} {:>8} {:>8} {:>8}\n",
                l.started,
                l.verdict.word(),
                "NODE",
                "STAGE",
                "THIS",
                "LAST",
                "DELTA"
            ));
            let show = |d: Option<Duration>| d.map(secs).unwrap_or_else(|| "-".into());
            for c in rows {
                out.push_str(&format!(
                    "  {:<name_w$}  {:<12} {:>8} {:>8} {:>8}{}\n",
                    c.node,
                    c.stage,
                    show(c.this),
                    show(c.last),
                    c.delta(),
                    if c.slower { "  SLOWER" } else { "" }
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::result::{StageTime, Verdict};

    fn stage(stage: &str, outcome: &str, at: u64, took: u64) -> StageTime {
        StageTime {
            stage: stage.into(),
            outcome: outcome.into(),
            at: Duration::from_secs(at),
            elapsed: Duration::from_secs(took),
            detail: String::new(),
        }
    }

    fn run(network_took: u64, k3s: &str) -> TestResult {
        TestResult {
            name: "cluster-vlans".into(),
            backend: "quick".into(),
            profile: "vlans".into(),
            verdict: Verdict::Passed,
            failure: None,
            duration: Duration::from_secs(60),
            setup: Duration::ZERO,
            timeline: vec![NodeTimeline {
                node: "server-2".into(),
                stages: vec![
                    stage("qemu", "passed", 0, 1),
                    stage("network", "passed", 1, network_took),
                    stage("k3s-service", k3s, 1 + network_took, 10),
                ],
                standin: true,
            }],
            checks: vec![],
            started: "2026-12-01T19:00:00Z".into(),
        }
    }

    #[test]
    fn a_slower_stage_and_a_stage_that_no_longer_passes_are_flagged() {
        let last = run(10, "passed");
        let same = compare(&run(11, "passed"), Some(&last));
        assert!(same.iter().all(|c| !c.slower), "{same:?}");
        assert_eq!(same[1].delta(), "+1.0s");
        let slow = compare(&run(30, "passed"), Some(&last));
        assert!(slow[1].slower && slow[2].slower, "{slow:?}");
        let broken = compare(&run(10, "failed"), Some(&last));
        assert_eq!((broken[2].this, broken[2].slower), (None, true));
        let text = summary(&run(30, "passed"), Some(&last), 40);
        assert!(
            text.contains("network") && text.contains("SLOWER"),
            "{text}"
        );
        assert!(text.contains("|qnnnnn"), "{text}");
    }

    #[test]
    fn the_history_keeps_the_last_runs_and_finds_the_same_backend() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..(KEPT_RUNS + 3) {
            let mut r = run(10, "passed");
            r.started = format!("run {i}");
            r.backend = if i == 0 {
                "isar".into()
            } else {
                "quick".into()
            };
            append(dir.path(), &r).unwrap();
        }
        let h = load(dir.path(), "cluster-vlans");
        assert_eq!(h.len(), KEPT_RUNS);
        assert_eq!(previous(&h, "quick").unwrap().started, "run 22");
        assert!(previous(&h, "isar").is_none(), "the isar run was dropped");
        assert!(load(dir.path(), "nothing").is_empty());
    }
}
