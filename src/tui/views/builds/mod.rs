//! The Builds view: every build of the session with its state, step, progress and the recent
//! lines of its output; the selection, follow mode and the search in the log (this file); what
//! its keys do ([`actions`]), its drawing ([`draw`]), its keys ([`keys`]).

pub mod actions;
pub mod draw;
pub mod keys;

pub use actions::{BACKENDS, default_backend};

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::build::engine::{BuildNo, BuildUpdate};
use crate::build::plan::Backend;
use crate::build::state::{ArtifactRecord, BuildRecord, Outcome};
use crate::supervise::Child;
use crate::tui::log_pane::{LogView, NO_LINES};

/// Lines of output each build keeps for the log view and the search (the log files keep all).
pub const KEPT_LINES: usize = 5000;

/// Where a build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a free slot.
    Queued,
    /// Running.
    Running,
    /// Ended.
    Done(Outcome),
}

impl Phase {
    /// One word for the table.
    pub fn word(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Running => "running",
            Phase::Done(o) => o.word(),
        }
    }
}

/// One build as the view knows it.
#[derive(Debug, Clone)]
pub struct Build {
    /// Its number in this session.
    pub no: BuildNo,
    /// The variant's key.
    pub variant: String,
    /// The backend.
    pub backend: Backend,
    /// Every step, as `--dry-run` prints it.
    pub steps: Vec<String>,
    /// The last successful duration of the same variant and backend.
    pub estimate: Option<Duration>,
    /// Where it is.
    pub phase: Phase,
    /// When it started running.
    pub started: Option<Instant>,
    /// How long it ran, once it ended.
    pub duration: Option<Duration>,
    /// The step running now: index, count, description.
    pub step: Option<(usize, usize, String)>,
    /// The program of the running step (its screen is the live pane).
    pub child: Option<Child>,
    /// The build tool's progress: its line and how much is done.
    pub progress: Option<(String, Option<f64>)>,
    /// The most recent lines of output.
    pub lines: VecDeque<String>,
    /// Lines that never reached the view (the log files have them).
    pub dropped: u64,
    /// The build's directory (record and step logs).
    pub dir: Option<PathBuf>,
    /// Why it failed.
    pub error: Option<String>,
    /// What it produced.
    pub artifacts: Vec<ArtifactRecord>,
    /// A build of an earlier session, read from its record.
    pub past: bool,
}

impl Build {
    /// How long it has run (or ran).
    pub fn elapsed(&self) -> Option<Duration> {
        self.duration.or_else(|| self.started.map(|t| t.elapsed()))
    }

    /// Done, from 0 to 1: the tool's own progress, else the share of steps done, else the
    /// share of the estimate used (at most 99 %).
    pub fn fraction(&self) -> Option<f64> {
        match self.phase {
            Phase::Done(Outcome::Succeeded) => return Some(1.0),
            // Where it stopped: the share of its steps that were done.
            Phase::Done(_) => {
                return self
                    .step
                    .as_ref()
                    .map(|(i, n, _)| *i as f64 / (*n).max(1) as f64);
            }
            Phase::Queued | Phase::Running => {}
        }
        if let Some((_, Some(f))) = &self.progress {
            return Some(*f);
        }
        match (self.elapsed(), self.estimate) {
            (Some(e), Some(est)) if !est.is_zero() => {
                Some((e.as_secs_f64() / est.as_secs_f64()).min(0.99))
            }
            _ => self
                .step
                .as_ref()
                .map(|(i, n, _)| *i as f64 / (*n).max(1) as f64),
        }
    }

    /// The newest log file: the running step's, else the last one in the build's directory.
    pub fn log_file(&self) -> Option<PathBuf> {
        if let Some(child) = &self.child {
            return Some(child.log_path().to_path_buf());
        }
        let dir = self.dir.as_ref()?;
        let mut logs: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        logs.sort();
        // A build whose steps ran no program (a cached quick base) has only its record.
        logs.pop()
            .or_else(|| Some(dir.join("record.json")).filter(|r| r.is_file()))
    }
}

/// The Builds view's state.
#[derive(Debug, Clone, Default)]
pub struct BuildsState {
    /// Every build, oldest first.
    pub builds: Vec<Build>,
    /// The selected build's index.
    pub selected: usize,
    /// The log pane: following or paused, and its search.
    pub log: LogView,
}

impl BuildsState {
    /// The builds of earlier sessions, from their records (numbered 0: the engine does not
    /// know them), oldest first, the last `limit` of them.
    pub fn with_history(records: &[BuildRecord], state: &std::path::Path, limit: usize) -> Self {
        let builds: Vec<Build> = records
            .iter()
            .skip(records.len().saturating_sub(limit))
            .map(|r| Build {
                no: 0,
                variant: r.variant.clone(),
                backend: r.backend,
                steps: r.steps.iter().map(|s| s.description.clone()).collect(),
                estimate: None,
                phase: Phase::Done(r.outcome),
                started: None,
                duration: r.duration_ms.map(Duration::from_millis),
                step: None,
                child: None,
                // An ISAR build's sstate hit ratio, from its record.
                progress: r.sstate.map(|s| (s.describe(), None)),
                lines: VecDeque::from([format!(
                    "n3x: built {} (UTC); o opens its last log, R builds it again",
                    r.started
                )]),
                dropped: 0,
                dir: Some(state.join("builds").join(&r.id)),
                error: r.error.clone(),
                artifacts: r.artifacts.clone(),
                past: true,
            })
            .collect();
        BuildsState {
            selected: builds.len().saturating_sub(1),
            builds,
            ..BuildsState::default()
        }
    }

    /// Applies what the build engine says of build `no`; the variant whose BUILD column in
    /// the Matrix view changes with it, and to what.
    pub fn on_update(
        &mut self,
        no: BuildNo,
        update: BuildUpdate,
    ) -> Option<(String, &'static str)> {
        if let BuildUpdate::Queued {
            variant,
            backend,
            steps,
            estimate,
        } = update
        {
            self.builds.push(Build {
                no,
                variant: variant.clone(),
                backend,
                steps,
                estimate,
                phase: Phase::Queued,
                started: None,
                duration: None,
                step: None,
                child: None,
                progress: None,
                lines: VecDeque::new(),
                dropped: 0,
                dir: None,
                error: None,
                artifacts: Vec::new(),
                past: false,
            });
            // A new build is what the user wants to see.
            self.selected = self.builds.len() - 1;
            self.log.to_end();
            return Some((variant, "queued"));
        }
        let build = self.builds.iter_mut().find(|b| b.no == no && !b.past)?;
        match update {
            BuildUpdate::Queued { .. } => {}
            BuildUpdate::Started { dir } => {
                build.phase = Phase::Running;
                build.started = Some(Instant::now());
                build.dir = Some(dir);
                return Some((build.variant.clone(), "running"));
            }
            BuildUpdate::Step {
                index,
                total,
                description,
                child,
            } => {
                push_line(build, format!("==> [{}/{total}] {description}", index + 1));
                build.step = Some((index, total, description));
                build.child = child;
            }
            BuildUpdate::Line(line) => push_line(build, line),
            BuildUpdate::Dropped(n) => build.dropped += n,
            BuildUpdate::Progress { line, fraction } => build.progress = Some((line, fraction)),
            BuildUpdate::Finished {
                outcome,
                duration,
                error,
                artifacts,
            } => {
                build.phase = Phase::Done(outcome);
                build.duration = Some(duration);
                if let Some(e) = &error {
                    push_line(build, format!("n3x: {}: {e}", outcome.word()));
                }
                build.error = error;
                build.artifacts = artifacts;
                // The pane shows the log from now on; the program's screen stays reachable
                // through its log file.
                build.child = None;
                return Some((build.variant.clone(), outcome.word()));
            }
        }
        None
    }

    /// The selected build.
    pub fn selected(&self) -> Option<&Build> {
        self.builds.get(self.selected)
    }

    /// How many builds are queued or running.
    pub fn active(&self) -> usize {
        self.builds
            .iter()
            .filter(|b| matches!(b.phase, Phase::Queued | Phase::Running))
            .count()
    }

    /// Moves the selection.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.builds.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.log.to_end();
    }

    /// The log pane and the selected build's lines.
    pub fn log_and_lines(&mut self) -> (&mut LogView, &VecDeque<String>) {
        let lines = self
            .builds
            .get(self.selected)
            .map_or(&NO_LINES, |b| &b.lines);
        (&mut self.log, lines)
    }
}

fn push_line(build: &mut Build, line: String) {
    if build.lines.len() == KEPT_LINES {
        build.lines.pop_front();
    }
    build.lines.push_back(line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn queued(state: &mut BuildsState, no: BuildNo) {
        state.on_update(
            no,
            BuildUpdate::Queued {
                variant: format!("v{no}@qemuamd64"),
                backend: Backend::Quick,
                steps: vec!["a".into(), "b".into()],
                estimate: None,
            },
        );
    }

    #[test]
    fn updates_move_a_build_from_queued_to_done() {
        let mut s = BuildsState::default();
        queued(&mut s, 1);
        assert_eq!(s.active(), 1);
        s.on_update(
            1,
            BuildUpdate::Started {
                dir: "/tmp/b".into(),
            },
        );
        assert_eq!(s.builds[0].phase, Phase::Running);
        s.on_update(
            1,
            BuildUpdate::Step {
                index: 1,
                total: 2,
                description: "run b".into(),
                child: None,
            },
        );
        assert_eq!(s.builds[0].fraction(), Some(0.5));
        s.on_update(
            1,
            BuildUpdate::Finished {
                outcome: Outcome::Failed,
                duration: Duration::from_secs(3),
                error: Some("b exited with code 2".into()),
                artifacts: vec![],
            },
        );
        assert_eq!(s.active(), 0);
        assert_eq!(s.builds[0].phase.word(), "failed");
        assert!(
            s.builds[0]
                .lines
                .back()
                .unwrap()
                .contains("exited with code 2")
        );
    }

    #[test]
    fn the_log_keeps_a_bounded_number_of_lines() {
        let mut s = BuildsState::default();
        queued(&mut s, 1);
        for i in 0..KEPT_LINES + 10 {
            s.on_update(1, BuildUpdate::Line(format!("line {i}")));
        }
        assert_eq!(s.builds[0].lines.len(), KEPT_LINES);
        assert_eq!(s.builds[0].lines.front().unwrap(), "line 10");
    }

    #[test]
    fn past_builds_come_from_their_records_and_never_take_engine_updates() {
        let record = BuildRecord {
            id: "20260101T000000Z-base_qemuamd64-quick".into(),
            variant: "base@qemuamd64".into(),
            backend: Backend::Quick,
            started: "2026-01-01T00:00:00Z".into(),
            duration_ms: Some(61_000),
            outcome: Outcome::Succeeded,
            error: None,
            steps: vec![],
            artifacts: vec![],
            sstate: None,
        };
        let mut s = BuildsState::with_history(&[record.clone(), record], Path::new("/s"), 1);
        assert_eq!(s.builds.len(), 1, "only the last `limit` records");
        let past = &s.builds[0];
        assert!(past.past);
        assert_eq!(past.elapsed(), Some(Duration::from_secs(61)));
        assert_eq!(
            past.dir.as_deref(),
            Some(Path::new("/s/builds/20260101T000000Z-base_qemuamd64-quick"))
        );
        // Session build numbers start at 1; a past build (0) is never updated by mistake.
        s.on_update(0, BuildUpdate::Line("stray".into()));
        assert_eq!(s.builds[0].lines.len(), 1);
    }
}
