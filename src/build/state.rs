//! Where builds keep their logs, records and artifacts, and the history of past builds.
//!
//! The state directory is `$N3X_STATE_DIR`, else `$XDG_STATE_HOME/n3x`, else
//! `~/.local/state/n3x`:
//!
//! ```text
//! builds/<build id>/record.json      what ran, when, how it ended, the artifacts and their sha256
//! builds/<build id>/NN-<step>.log    every byte each step wrote
//! artifacts/<backend>/<unique name>  collected outputs (isar copies, quick images)
//! cache/quick/<input hash>/          quick images, reused while their inputs are unchanged
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::plan::Backend;
use super::progress::SstateSummary;

/// The state directory for the given environment values (`N3X_STATE_DIR`, `XDG_STATE_HOME`,
/// `HOME`), or `None` when none is set.
pub fn state_dir(
    n3x_state_dir: Option<&str>,
    xdg_state_home: Option<&str>,
    home: Option<&str>,
) -> Option<PathBuf> {
    let set = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(PathBuf::from);
    set(n3x_state_dir)
        .or_else(|| set(xdg_state_home).map(|d| d.join("n3x")))
        .or_else(|| set(home).map(|h| h.join(".local/state/n3x")))
}

/// The state directory of this process's environment.
pub fn state_dir_from_env() -> Option<PathBuf> {
    let var = |k: &str| std::env::var(k).ok();
    state_dir(
        var("N3X_STATE_DIR").as_deref(),
        var("XDG_STATE_HOME").as_deref(),
        var("HOME").as_deref(),
    )
}

/// How a build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every step succeeded.
    Succeeded,
    /// A step failed.
    Failed,
    /// The user cancelled it.
    Cancelled,
    /// It is still running, or the workbench died while it ran.
    Running,
}

impl Outcome {
    /// The outcome in one word.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::Running => "running",
        }
    }
}

/// One collected output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    /// Its unique name.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its sha256, lowercase hex.
    pub sha256: String,
}

/// One step as it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// What it was, as `--dry-run` prints it.
    pub description: String,
    /// Its log file, for steps that ran a program.
    pub log: Option<PathBuf>,
    /// The exit code of its program.
    pub exit_code: Option<i32>,
    /// The signal that ended its program.
    pub signal: Option<i32>,
    /// How long it took.
    pub duration_ms: u64,
    /// BitBake's shared-state summary, for a step that ran BitBake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sstate: Option<SstateSummary>,
}

/// Everything known about one build, saved as `record.json` in its directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// The build's ID (its directory name).
    pub id: String,
    /// The variant's unique key, `<id>@<machine>`.
    pub variant: String,
    /// The backend.
    pub backend: Backend,
    /// When it started, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started: String,
    /// How long it ran, once it ended.
    pub duration_ms: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed, in words, when it did.
    pub error: Option<String>,
    /// The steps that ran, in order.
    pub steps: Vec<StepRecord>,
    /// The outputs it collected.
    pub artifacts: Vec<ArtifactRecord>,
    /// BitBake's shared-state summary (wanted, local, mirrors, missed), for ISAR builds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sstate: Option<SstateSummary>,
}

impl BuildRecord {
    /// Writes the record into `dir/record.json` (atomically).
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(io::Error::other)?;
        crate::render::output::write_file_atomic(&dir.join("record.json"), &(json + "\n"))
    }
}

/// Every readable build record under `state`, oldest first. Unreadable records are skipped
/// and their directories returned as the second value, so a listing can name them.
pub fn history(state: &Path) -> (Vec<BuildRecord>, Vec<PathBuf>) {
    let mut records = Vec::new();
    let mut unreadable = Vec::new();
    let Ok(entries) = fs::read_dir(state.join("builds")) else {
        return (records, unreadable);
    };
    for dir in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        match fs::read_to_string(dir.join("record.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<BuildRecord>(&t).ok())
        {
            Some(r) => records.push(r),
            None => unreadable.push(dir),
        }
    }
    records.sort_by(|a, b| (&a.started, &a.id).cmp(&(&b.started, &b.id)));
    unreadable.sort();
    (records, unreadable)
}

/// How long the last successful build of `variant` on `backend` took: the estimate for the
/// next one.
pub fn last_duration(records: &[BuildRecord], variant: &str, backend: Backend) -> Option<Duration> {
    records
        .iter()
        .rev()
        .find(|r| r.variant == variant && r.backend == backend && r.outcome == Outcome::Succeeded)
        .and_then(|r| r.duration_ms)
        .map(Duration::from_millis)
}

/// A build ID: the UTC start time, the variant key and the backend, safe as a directory name.
pub fn build_id(started: SystemTime, variant_key: &str, backend: Backend) -> String {
    let stamp = utc(started).replace([':', '-'], "");
    let key: String = variant_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{stamp}-{key}-{backend}")
}

/// `time` as UTC `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A duration the way a person reads it: `42s`, `3m07s`, `1h02m`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_dir_follows_n3x_then_xdg_then_home() {
        assert_eq!(
            state_dir(Some("/s"), Some("/x"), Some("/h")),
            Some(PathBuf::from("/s"))
        );
        assert_eq!(
            state_dir(Some(""), Some("/x"), Some("/h")),
            Some(PathBuf::from("/x/n3x"))
        );
        assert_eq!(
            state_dir(None, None, Some("/h")),
            Some(PathBuf::from("/h/.local/state/n3x"))
        );
        assert_eq!(state_dir(None, None, None), None);
    }

    #[test]
    fn utc_dates_are_right_across_leap_years() {
        let at = |s: u64| utc(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_600_000), "2026-11-25T09:46:40Z");
    }

    #[test]
    fn build_ids_sort_by_time_and_are_safe_directory_names() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_600_000);
        assert_eq!(
            build_id(t, "server-vlans-server-1@qemuamd64", Backend::Quick),
            "20261125T094640Z-server-vlans-server-1_qemuamd64-quick"
        );
    }

    #[test]
    fn history_reads_records_and_names_the_unreadable_ones() {
        let dir = tempfile::tempdir().unwrap();
        let record = |id: &str, started: &str, outcome, ms| BuildRecord {
            id: id.into(),
            variant: "base@qemuamd64".into(),
            backend: Backend::Quick,
            started: started.into(),
            duration_ms: Some(ms),
            outcome,
            error: None,
            steps: vec![],
            artifacts: vec![],
            sstate: None,
        };
        for r in [
            record("b", "2026-01-02T00:00:00Z", Outcome::Succeeded, 2000),
            record("a", "2026-01-01T00:00:00Z", Outcome::Succeeded, 1000),
            record("c", "2026-01-03T00:00:00Z", Outcome::Failed, 5),
        ] {
            let d = dir.path().join("builds").join(&r.id);
            fs::create_dir_all(&d).unwrap();
            r.save(&d).unwrap();
        }
        fs::create_dir_all(dir.path().join("builds/broken")).unwrap();
        let (records, unreadable) = history(dir.path());
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(unreadable, [dir.path().join("builds/broken")]);
        assert_eq!(
            last_duration(&records, "base@qemuamd64", Backend::Quick),
            Some(Duration::from_secs(2)),
            "the last successful build, not the failed one"
        );
        assert_eq!(
            last_duration(&records, "base@qemuamd64", Backend::Isar),
            None
        );
    }

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human(Duration::from_secs(42)), "42s");
        assert_eq!(human(Duration::from_secs(187)), "3m07s");
        assert_eq!(human(Duration::from_secs(3720)), "1h02m");
    }
}
