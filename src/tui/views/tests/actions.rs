//! What the Tests view's keys do, and how a test run's updates reach the Tests and Cluster
//! views (a test's cluster shows in the Cluster view while no other cluster runs there).

use crate::cluster::engine::ClusterUpdate;
use crate::scenario::TestUpdate;
use crate::session::SessionUpdate;
use crate::tui::app::{App, Message, Request, Update, View};
use crate::tui::keymap::Action;
use crate::tui::views::cluster::Phase;
use crate::tui::views::tests::lines_since;

impl App {
    fn tests_says(&mut self, text: impl Into<String>, error: bool) -> Update {
        self.message = Some(Message {
            text: text.into(),
            error,
        });
        Update::REDRAW
    }

    pub(crate) fn tests_action(&mut self, action: Action) -> Update {
        match action {
            Action::Up => {
                self.tests.move_by(-1);
                Update::REDRAW
            }
            Action::Down => {
                self.tests.move_by(1);
                Update::REDRAW
            }
            Action::RunTest => {
                if let Some(running) = &self.tests.running {
                    let text = format!("{running} runs; one test at a time");
                    return self.tests_says(text, true);
                }
                if !self.tests.owns_cluster
                    && matches!(self.cluster.phase, Phase::Starting | Phase::Running)
                {
                    return self.tests_says(
                        "a cluster runs in the Cluster view; D there tears it down first",
                        true,
                    );
                }
                let Some(row) = self.tests.selected() else {
                    return Update::NOTHING;
                };
                let def = row.def.clone();
                self.message = Some(Message {
                    text: format!(
                        "{} starts: its nodes show in the Cluster view (3)",
                        def.name
                    ),
                    error: false,
                });
                Update {
                    redraw: true,
                    request: Some(Request::Test(def)),
                }
            }
            Action::ConsoleAtFailure => self.console_at_failure(),
            _ => Update::NOTHING,
        }
    }

    /// Shows the failed node's console in the Cluster view, scrolled back to the line where
    /// the test stopped; says where the log is when the console is gone.
    fn console_at_failure(&mut self) -> Update {
        let Some(row) = self.tests.selected() else {
            return Update::NOTHING;
        };
        let Some(failure) = row.last.as_ref().and_then(|l| l.failure.clone()) else {
            return self.tests_says("the last run of this test did not fail", false);
        };
        let Some((log, line)) = failure.console_log.clone() else {
            let text = format!(
                "{} stopped at {} without a console ({})",
                failure.node, failure.stage, failure.hint
            );
            return self.tests_says(text, true);
        };
        let found = self
            .cluster
            .nodes
            .iter()
            .position(|n| n.name == failure.node && n.console.is_some());
        match found {
            Some(i) if self.tests.owns_cluster => {
                // The console pane pauses on its kept lines, the failure's line at the bottom.
                let kept = self.cluster.nodes[i].lines.len();
                let back = lines_since(std::path::Path::new(&log), line).min(kept);
                self.cluster.log.paused = true;
                self.cluster.log.scroll = back;
                self.cluster.selected = i;
                self.cluster.show_topology = false;
                self.view = View::Cluster;
                self.tests_says(
                    format!(
                        "{}'s console {back} lines back: where it stopped at {}",
                        failure.node, failure.stage
                    ),
                    false,
                )
            }
            _ => self.tests_says(
                format!(
                    "{}'s console is no longer on screen; its log: {log} (line {line})",
                    failure.node
                ),
                false,
            ),
        }
    }

    pub(crate) fn test_update(&mut self, update: TestUpdate) -> Update {
        let visible = match &update {
            TestUpdate::Session {
                update: SessionUpdate::Cluster(ClusterUpdate::Line { .. }),
                ..
            } => false,
            TestUpdate::Session { .. } => matches!(self.view, View::Tests | View::Cluster),
            _ => true,
        };
        match &update {
            TestUpdate::Started { profile, .. }
                if !matches!(self.cluster.phase, Phase::Starting | Phase::Running)
                    || self.tests.owns_cluster =>
            {
                self.tests.owns_cluster = true;
                self.cluster.starting(profile);
            }
            TestUpdate::Session { update, .. } if self.tests.owns_cluster => match update {
                SessionUpdate::Cluster(update) => {
                    if matches!(update, ClusterUpdate::Console { .. }) {
                        self.cluster.phase = Phase::Running;
                    }
                    self.cluster.apply(update.clone());
                }
                SessionUpdate::Readiness(update) => self.cluster.readiness(update.clone()),
                // The test says when its cluster is down; its consoles stay readable.
                SessionUpdate::Report(_)
                | SessionUpdate::Started(_)
                | SessionUpdate::Stopping
                | SessionUpdate::Stopped => {}
            },
            TestUpdate::Finished(result) if self.tests.owns_cluster => {
                // The test's cluster is down; its consoles stay readable.
                self.cluster.phase = Phase::Idle;
                self.cluster.note(format!(
                    "{} {}: its cluster is down",
                    result.name,
                    result.verdict.word()
                ));
                self.message = Some(Message {
                    text: format!(
                        "{} {} in {}{}",
                        result.name,
                        result.verdict.word(),
                        crate::scenario::result::secs(result.duration),
                        result
                            .failure
                            .as_ref()
                            .map(|f| format!(": {} stopped at {}", f.node, f.stage))
                            .unwrap_or_default()
                    ),
                    error: result.verdict != crate::scenario::result::Verdict::Passed,
                });
            }
            _ => {}
        }
        let changed = self.tests.apply(&update);
        if visible && changed {
            Update::REDRAW
        } else {
            Update::NOTHING
        }
    }
}
