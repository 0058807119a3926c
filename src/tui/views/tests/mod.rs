//! The Tests view: the catalog, the last result of each test (from its history), the running
//! test's stages as they arrive, and its checks (this file); what its keys do ([`actions`]),
//! its drawing ([`draw`]), its keys ([`keys`]).

pub mod actions;
pub mod draw;
pub mod keys;

use std::path::Path;
use std::time::Duration;

use crate::cluster::engine::ClusterUpdate;
use crate::profile::Profiles;
use crate::readiness::CLUSTER;
use crate::readiness::ReadinessUpdate;
use crate::scenario::TestUpdate;
use crate::scenario::catalog::{self, TestDef};
use crate::scenario::history;
use crate::scenario::result::{Check, NodeTimeline, StageTime, TestResult};
use crate::scenario::runner::{outcome_word, stage_start};
use crate::session::SessionUpdate;

/// One test as the view shows it.
#[derive(Debug, Clone)]
pub struct TestRow {
    /// The catalog entry.
    pub def: TestDef,
    /// The run under way: every node's stages so far, and its checks.
    pub live: Option<Live>,
    /// The last finished run (this session's, or the history's).
    pub last: Option<TestResult>,
    /// The run before the last one, to compare with.
    pub before: Option<TestResult>,
}

/// A run under way.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// Every node's stages so far, in the order they first appeared.
    pub timeline: Vec<NodeTimeline>,
    /// Checks made so far.
    pub checks: Vec<Check>,
    /// The last note (image, switches …).
    pub note: String,
}

impl Live {
    fn stage(&mut self, node: &str, stage: StageTime) {
        let lane = match self.timeline.iter().position(|n| n.node == node) {
            Some(i) => &mut self.timeline[i],
            None => {
                self.timeline.push(NodeTimeline {
                    node: node.to_string(),
                    stages: Vec::new(),
                    standin: false,
                });
                self.timeline.last_mut().expect("just pushed")
            }
        };
        match lane.stages.iter_mut().find(|s| s.stage == stage.stage) {
            Some(s) => *s = stage,
            None => lane.stages.push(stage),
        }
        // The cluster lane last.
        self.timeline.sort_by_key(|n| n.node == CLUSTER);
    }
}

/// The Tests view's state.
#[derive(Debug, Clone, Default)]
pub struct TestsState {
    /// Every test of the catalog, in catalog order.
    pub rows: Vec<TestRow>,
    /// The selected row.
    pub selected: usize,
    /// The test that runs now.
    pub running: Option<String>,
}

impl TestsState {
    /// The catalog of `p`, no run known.
    pub fn from_catalog(p: &Profiles) -> TestsState {
        TestsState::new(p, None)
    }

    /// The catalog of `p`, each test with its last two runs from the history under `state`.
    pub fn new(p: &Profiles, state: Option<&Path>) -> TestsState {
        let rows = catalog::catalog(p)
            .into_iter()
            .map(|def| {
                let mut runs = state
                    .map(|s| history::load(s, &def.name))
                    .unwrap_or_default();
                let last = runs.pop();
                let before = last
                    .as_ref()
                    .and_then(|l| history::previous(&runs, &l.backend));
                TestRow {
                    def,
                    live: None,
                    last,
                    before,
                }
            })
            .collect();
        TestsState {
            rows,
            selected: 0,
            running: None,
        }
    }

    /// The selected test.
    pub fn selected(&self) -> Option<&TestRow> {
        self.rows.get(self.selected)
    }

    /// Moves the selection.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    fn row(&mut self, test: &str) -> Option<&mut TestRow> {
        self.rows.iter_mut().find(|r| r.def.name == test)
    }

    /// Applies a test runner's update; says whether the view changed.
    pub fn on_update(&mut self, update: &TestUpdate) -> bool {
        match update {
            TestUpdate::Started { test, .. } => {
                self.running = Some(test.clone());
                if let Some(r) = self.row(test) {
                    r.live = Some(Live::default());
                }
                true
            }
            TestUpdate::Session { test, update } => {
                let Some(live) = self.row(test).and_then(|r| r.live.as_mut()) else {
                    return false;
                };
                match update {
                    SessionUpdate::Readiness(ReadinessUpdate::Stage(e)) => {
                        let detail = match &e.outcome {
                            crate::readiness::Outcome::Failed { hint } => hint.clone(),
                            _ => e.detail.clone(),
                        };
                        live.stage(
                            &e.node,
                            StageTime {
                                stage: e.stage.label().into(),
                                outcome: outcome_word(&e.outcome).into(),
                                at: stage_start(e),
                                elapsed: e.elapsed,
                                detail,
                            },
                        );
                        true
                    }
                    SessionUpdate::Cluster(ClusterUpdate::Note(text)) => {
                        live.note = text.clone();
                        true
                    }
                    _ => false,
                }
            }
            TestUpdate::Check { test, check } => {
                if let Some(live) = self.row(test).and_then(|r| r.live.as_mut()) {
                    live.checks.push(check.clone());
                }
                true
            }
            TestUpdate::Finished(result) => {
                if self.running.as_deref() == Some(result.name.as_str()) {
                    self.running = None;
                }
                if let Some(r) = self.row(&result.name) {
                    r.live = None;
                    r.before = r.last.take().filter(|l| l.backend == result.backend);
                    r.last = Some((**result).clone());
                }
                true
            }
            TestUpdate::Kept { .. } => true,
        }
    }

    /// The timeline to draw for a row: the live one while it runs, else the last run's.
    pub fn timeline(row: &TestRow) -> &[NodeTimeline] {
        match (&row.live, &row.last) {
            (Some(l), _) => &l.timeline,
            (None, Some(r)) => &r.timeline,
            (None, None) => &[],
        }
    }
}

/// How many console lines a node printed after its failure: the rows to scroll its console
/// back by, from the line recorded at the failure and the log's length now.
pub fn lines_since(log: &Path, failure_line: usize) -> usize {
    let now = std::fs::read(log)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0);
    now.saturating_sub(failure_line)
}

/// `12.3s`, or `-`.
pub fn maybe_secs(d: Option<Duration>) -> String {
    d.map(crate::scenario::result::secs)
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::readiness::{Outcome, Stage, StageEvent};

    fn shipped() -> Profiles {
        Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap()
    }

    #[test]
    fn stages_arrive_live_and_the_finished_run_becomes_the_last_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = TestsState::new(&shipped(), Some(dir.path()));
        assert!(s.rows.iter().all(|r| r.last.is_none()));
        let test = "cluster-vlans".to_string();
        s.on_update(&TestUpdate::Started {
            test: test.clone(),
            backend: "quick".into(),
            profile: "vlans".into(),
            nodes: vec!["server-1".into()],
        });
        assert_eq!(s.running.as_deref(), Some("cluster-vlans"));
        let event = |stage, outcome| TestUpdate::Session {
            test: test.clone(),
            update: SessionUpdate::Readiness(ReadinessUpdate::Stage(StageEvent {
                node: "server-1".into(),
                stage,
                outcome,
                at: Duration::from_secs(1),
                elapsed: Duration::from_secs(2),
                detail: String::new(),
            })),
        };
        s.on_update(&event(Stage::Network, Outcome::Running));
        s.on_update(&event(Stage::Network, Outcome::Passed));
        s.on_update(&event(
            Stage::K3sService,
            Outcome::Failed {
                hint: "k3s-server.service failed".into(),
            },
        ));
        let row = s.rows.iter().find(|r| r.def.name == test).unwrap();
        let lane = &TestsState::timeline(row)[0];
        assert_eq!(lane.stages.len(), 2, "one entry per stage");
        assert_eq!(lane.stages[0].outcome, "passed");
        assert_eq!(lane.stages[1].detail, "k3s-server.service failed");
    }
}
