//! What a test run found, in a form every report uses: the batch summary, JUnit, the report
//! JSON, the history of earlier runs and the Tests view.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every stage and check passed.
    Passed,
    /// A stage or a check failed: the cluster did not do what the test expects.
    Failed,
    /// The test could not run (no image, QEMU missing, the cluster could not start).
    Error,
}

impl Verdict {
    /// One word for tables (`passed`, `FAILED`, `ERROR`).
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "FAILED",
            Verdict::Error => "ERROR",
        }
    }
}

/// One stage of one node, as it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTime {
    /// The stage's label (`network`, `k3s-service`, `ready`).
    pub stage: String,
    /// How it ended: `passed`, `failed`, `undecided`, `skipped`, `running`, `waiting`.
    pub outcome: String,
    /// When it started, since the cluster started.
    #[serde(with = "millis")]
    pub at: Duration,
    /// How long it took (or ran until the test ended).
    #[serde(with = "millis")]
    pub elapsed: Duration,
    /// What was seen (addresses, the Ready count …) or why it failed.
    #[serde(default)]
    pub detail: String,
}

impl StageTime {
    /// When it ended, since the cluster started.
    pub fn end(&self) -> Duration {
        self.at + self.elapsed
    }
}

/// One node's way up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTimeline {
    /// The node (`cluster` for the cluster-wide stage).
    pub node: String,
    /// Its stages in order.
    pub stages: Vec<StageTime>,
    /// Whether it ran the k3s stand-in of the tests rather than a real k3s.
    #[serde(default)]
    pub standin: bool,
}

/// A known failure pattern matched on a node, as the report keeps it.
pub use crate::readiness::SignatureHit as Signature;

/// Where and why a test failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The node that stopped (`cluster` for the cluster-wide stage, or the checked node).
    pub node: String,
    /// The stage it stopped at, or the check that failed (`check: bond failover`).
    pub stage: String,
    /// Why, and what would fix it.
    pub hint: String,
    /// The failure patterns matched on that node.
    #[serde(default)]
    pub signatures: Vec<Signature>,
    /// The last lines of that node's console.
    #[serde(default)]
    pub console_tail: Vec<String>,
    /// Where that node's console log is, and the line of the failure in it (1-based).
    #[serde(default)]
    pub console_log: Option<(String, usize)>,
}

/// A test-specific check after the cluster came up (bond failover, VLAN isolation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

/// One run of one test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// The backend whose images ran.
    pub backend: String,
    /// The network profile.
    pub profile: String,
    /// How it ended.
    pub verdict: Verdict,
    /// Where and why it failed (also for `Error`: the node is `setup`).
    pub failure: Option<Failure>,
    /// Wall time from the start of the run to its end (teardown not counted).
    #[serde(with = "millis")]
    pub duration: Duration,
    /// Time spent before the first QEMU started (image, switches).
    #[serde(with = "millis", default)]
    pub setup: Duration,
    /// Every node's stages.
    pub timeline: Vec<NodeTimeline>,
    /// Test-specific checks.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// When it started (UTC, RFC 3339).
    pub started: String,
}

/// Durations as whole milliseconds in JSON.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Seconds with one decimal (`12.3s`).
pub fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}
