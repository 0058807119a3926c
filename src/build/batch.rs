//! `n3x build` without a screen: the engine's updates as timestamped, prefixed lines, then a
//! summary table; the exit code says whether every build succeeded.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use super::engine::{BuildNo, BuildUpdate};
use super::plan::Backend;
use super::state::{self, Outcome};

/// How often a build's progress line is repeated in the log when it keeps changing.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// One build as the batch view knows it.
#[derive(Debug, Clone)]
pub struct Row {
    /// The variant's key.
    pub variant: String,
    /// The backend.
    pub backend: Backend,
    /// How it ended, once it did.
    pub outcome: Option<Outcome>,
    /// How long it ran.
    pub duration: Option<Duration>,
    /// Why it failed.
    pub error: Option<String>,
    /// How many artifacts it produced.
    pub artifacts: usize,
    last_progress: Option<Instant>,
}

/// The batch view's state: every build seen, in order.
#[derive(Debug, Default)]
pub struct Batch {
    /// The builds by number.
    pub rows: BTreeMap<BuildNo, Row>,
}

impl Batch {
    /// Handles one update and writes what a CI log should show about it.
    pub fn update(&mut self, no: BuildNo, update: BuildUpdate, out: &mut impl Write) {
        let stamp = clock(SystemTime::now());
        if let BuildUpdate::Queued {
            variant, backend, ..
        } = &update
        {
            self.rows.insert(
                no,
                Row {
                    variant: variant.clone(),
                    backend: *backend,
                    outcome: None,
                    duration: None,
                    error: None,
                    artifacts: 0,
                    last_progress: None,
                },
            );
        }
        let Some(row) = self.rows.get_mut(&no) else {
            return;
        };
        let prefix = format!("{stamp} [{} {}]", row.variant, row.backend);
        let _ = match update {
            BuildUpdate::Queued { estimate, .. } => writeln!(
                out,
                "{prefix} queued{}",
                estimate
                    .map(|e| format!(" (last build took {})", state::human(e)))
                    .unwrap_or_default()
            ),
            BuildUpdate::Started { dir } => {
                writeln!(out, "{prefix} started; logs in {}", dir.display())
            }
            BuildUpdate::Step {
                index,
                total,
                description,
                ..
            } => writeln!(out, "{prefix} ==> [{}/{total}] {description}", index + 1),
            BuildUpdate::Line(line) => writeln!(out, "{prefix} | {line}"),
            BuildUpdate::Dropped(n) => writeln!(
                out,
                "{prefix} | … {n} lines not shown here (the step's log file has them)"
            ),
            BuildUpdate::Progress { line, .. } => {
                if row
                    .last_progress
                    .is_some_and(|t| t.elapsed() < PROGRESS_EVERY)
                {
                    Ok(())
                } else {
                    row.last_progress = Some(Instant::now());
                    writeln!(out, "{prefix} progress: {line}")
                }
            }
            BuildUpdate::Finished {
                outcome,
                duration,
                error,
                artifacts,
            } => {
                row.outcome = Some(outcome);
                row.duration = Some(duration);
                row.error = error.clone();
                row.artifacts = artifacts.len();
                let mut text = format!(
                    "{prefix} {} after {}",
                    outcome.word(),
                    state::human(duration)
                );
                if let Some(e) = error {
                    text.push_str(&format!(": {e}"));
                }
                for a in &artifacts {
                    text.push_str(&format!(
                        "\n{prefix}   {} {} ({} bytes)",
                        a.sha256,
                        a.path.display(),
                        a.size
                    ));
                }
                writeln!(out, "{text}")
            }
        };
    }

    /// True when every build has ended.
    pub fn all_finished(&self) -> bool {
        self.rows.values().all(|r| r.outcome.is_some())
    }

    /// True when every build ended and succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.rows
            .values()
            .all(|r| r.outcome == Some(Outcome::Succeeded))
    }

    /// The summary table printed at the end.
    pub fn summary(&self) -> String {
        let width = self
            .rows
            .values()
            .map(|r| r.variant.len())
            .max()
            .unwrap_or(5)
            .max(5);
        let mut out = format!(
            "{:<width$}  {:<7}  {:<9}  {:>8}  {:>9}\n",
            "BUILD", "BACKEND", "OUTCOME", "DURATION", "ARTIFACTS"
        );
        for r in self.rows.values() {
            out.push_str(&format!(
                "{:<width$}  {:<7}  {:<9}  {:>8}  {:>9}\n",
                r.variant,
                r.backend.name(),
                r.outcome.map(Outcome::word).unwrap_or("unfinished"),
                r.duration.map(state::human).unwrap_or_else(|| "-".into()),
                r.artifacts
            ));
        }
        let failed = self
            .rows
            .values()
            .filter(|r| r.outcome != Some(Outcome::Succeeded))
            .count();
        out.push_str(&format!(
            "{} builds: {} succeeded, {failed} did not\n",
            self.rows.len(),
            self.rows.len() - failed
        ));
        out
    }
}

/// `HH:MM:SS` (UTC) of `time`.
fn clock(time: SystemTime) -> String {
    state::utc(time)[11..19].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::state::ArtifactRecord;

    #[test]
    fn lines_are_prefixed_and_the_summary_counts_failures() {
        let mut batch = Batch::default();
        let mut out = Vec::new();
        batch.update(
            1,
            BuildUpdate::Queued {
                variant: "base@qemuamd64".into(),
                backend: Backend::Quick,
                steps: vec![],
                estimate: Some(Duration::from_secs(75)),
            },
            &mut out,
        );
        batch.update(
            2,
            BuildUpdate::Queued {
                variant: "server@qemuarm64".into(),
                backend: Backend::Isar,
                steps: vec![],
                estimate: None,
            },
            &mut out,
        );
        batch.update(1, BuildUpdate::Line("I: success".into()), &mut out);
        batch.update(
            1,
            BuildUpdate::Finished {
                outcome: Outcome::Succeeded,
                duration: Duration::from_secs(61),
                error: None,
                artifacts: vec![ArtifactRecord {
                    name: "base.img".into(),
                    path: "/s/base.img".into(),
                    size: 1,
                    sha256: "ab".into(),
                }],
            },
            &mut out,
        );
        assert!(!batch.all_finished());
        batch.update(
            2,
            BuildUpdate::Finished {
                outcome: Outcome::Failed,
                duration: Duration::from_secs(2),
                error: Some("kas-container is not installed".into()),
                artifacts: vec![],
            },
            &mut out,
        );
        assert!(batch.all_finished());
        assert!(!batch.all_succeeded());
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("[base@qemuamd64 quick] queued (last build took 1m15s)"),
            "{text}"
        );
        assert!(
            text.contains("[base@qemuamd64 quick] | I: success"),
            "{text}"
        );
        assert!(text.contains("ab /s/base.img (1 bytes)"), "{text}");
        assert!(
            text.contains(
                "[server@qemuarm64 isar] failed after 2s: kas-container is not installed"
            ),
            "{text}"
        );
        let summary = batch.summary();
        assert!(
            summary.contains("base@qemuamd64    quick    succeeded     1m01s          1"),
            "{summary}"
        );
        assert!(
            summary.ends_with("2 builds: 1 succeeded, 1 did not\n"),
            "{summary}"
        );
    }

    #[test]
    fn progress_is_repeated_at_most_every_few_seconds() {
        let mut batch = Batch::default();
        let mut out = Vec::new();
        batch.update(
            1,
            BuildUpdate::Queued {
                variant: "v@m".into(),
                backend: Backend::Nixos,
                steps: vec![],
                estimate: None,
            },
            &mut out,
        );
        for i in 0..50 {
            batch.update(
                1,
                BuildUpdate::Progress {
                    line: format!("built {i}/50"),
                    fraction: None,
                },
                &mut out,
            );
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("progress:").count(), 1, "{text}");
    }
}
