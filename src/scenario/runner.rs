//! Runs one test: boots its cluster through a session ([`crate::session::Owner`]), follows
//! every node through the readiness stages, makes the test's checks, saves the artifacts (console logs, k3s
//! journals, the report) and the history, and tears the cluster down — or keeps it for
//! inspection when it failed and that was asked for.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::catalog::{Kind, TestDef};
use super::checks;
use super::result::{Check, Failure, NodeTimeline, StageTime, TestResult, Verdict};
use super::{TestUpdate, history};
use crate::build::plan::Backend;
use crate::cluster::accel::Accel;
use crate::cluster::engine::{Cluster, ClusterUpdate, Options};
use crate::profile::Profiles;
use crate::readiness::{self, Outcome, Report, Stage, StageEvent};
use crate::session::{Owner, SessionUpdate};
use crate::supervise::Supervisor;

/// Console lines a failure carries.
pub const TAIL_LINES: usize = 20;

/// Where test updates go.
pub type Updates = crate::stream::Publisher<TestUpdate>;

/// What every test of a run shares.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The repository root.
    pub repo: PathBuf,
    /// The state directory (images, console logs, test history).
    pub state: PathBuf,
    /// The artifacts directory of this run.
    pub artifacts: PathBuf,
    /// The accelerator; `None` probes.
    pub accel: Option<Accel>,
    /// A k3s binary for the image.
    pub k3s_binary: Option<PathBuf>,
    /// The backend whose images boot.
    pub backend: Backend,
    /// Readiness timeouts (the defaults unless a test needs others).
    pub timeouts: readiness::Timeouts,
}

/// A test's cluster after the test: still running, with the stages it went through.
pub struct Running {
    /// The cluster's session.
    pub owner: Owner,
    /// Its nodes' stages.
    pub report: Report,
    /// The test that booted it.
    pub test: TestDef,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("test", &self.test.name)
            .finish()
    }
}

/// Whether `next` may run on the cluster `previous` booted and brought to Ready, instead of
/// booting its own: same profile and nodes, and `next` only adds checks to a formed cluster
/// (bond-failover after cluster-bonding-vlans).
pub fn reusable(previous: &TestDef, next: &TestDef) -> bool {
    previous.profile == next.profile
        && previous.nodes == next.nodes
        && previous.kind == Kind::Cluster
        && next.kind == Kind::BondFailover
}

/// Runs `test` — on `reuse`'s cluster when given (see [`reusable`]; its stages become this
/// test's), else on a cluster of its own — and returns its result and the cluster, still
/// running: the caller tears it down, keeps it for inspection, or hands it to the next test.
pub async fn run(
    p: Arc<Profiles>,
    test: &TestDef,
    settings: &Settings,
    supervisor: Supervisor,
    out: Updates,
    reuse: Option<Running>,
) -> (TestResult, Option<Running>) {
    let start = Instant::now();
    let started = crate::build::state::utc(SystemTime::now());
    out.send(TestUpdate::Started {
        test: test.name.clone(),
        backend: settings.backend.to_string(),
        profile: test.profile.clone(),
        nodes: test.nodes.clone(),
    });
    let updates = {
        let name = test.name.clone();
        out.map(move |update| TestUpdate::Session {
            test: name.clone(),
            update,
        })
    };
    let mut result = TestResult {
        name: test.name.clone(),
        backend: settings.backend.to_string(),
        profile: test.profile.clone(),
        verdict: Verdict::Error,
        failure: None,
        duration: Duration::ZERO,
        setup: Duration::ZERO,
        timeline: Vec::new(),
        checks: Vec::new(),
        started,
    };
    let options = Options {
        profile: test.profile.clone(),
        nodes: Some(test.nodes.clone()),
        accel: settings.accel,
        k3s_binary: settings.k3s_binary.clone(),
        repo: settings.repo.clone(),
        state: settings.state.clone(),
        backend: crate::cluster::engine::ImageBackend::Quick,
    };
    if let Some(previous) = reuse {
        updates.send(SessionUpdate::Cluster(ClusterUpdate::Note(format!(
            "on the cluster of {} (same profile and nodes, every node Ready): its stages are this test's",
            previous.test.name
        ))));
        result.timeline = timeline(&previous.report);
        return checked(
            &p,
            test,
            settings,
            previous.owner,
            previous.report,
            result,
            start,
            &out,
        )
        .await;
    }
    let owner = match Owner::boot(Arc::clone(&p), options, supervisor, updates).await {
        Ok(owner) => owner,
        Err(why) => {
            result.failure = Some(Failure {
                node: "setup".into(),
                stage: "cluster up".into(),
                hint: why.to_string(),
                signatures: Vec::new(),
                console_tail: Vec::new(),
                console_log: None,
            });
            result.duration = start.elapsed();
            finish(settings, &result, &out);
            return (result, None);
        }
    };
    result.setup = owner.cluster().started.saturating_duration_since(start);
    let mut expect = owner.expectations();
    expect.timeouts = settings.timeouts.clone();
    let server = "server-1";
    match test.kind {
        Kind::Network => {
            expect.k3s = false;
            expect.ready_count = 0;
        }
        Kind::VlanNegative => {
            // Only server-1 is expected to form its (one-node) cluster; the joiners are
            // checked for isolation below.
            expect.nodes = vec![server.to_string()];
            expect.ready_count = 1;
        }
        Kind::Cluster | Kind::BondFailover => {}
    }
    let report = owner.readiness(expect).await;
    result.timeline = timeline(&report);
    checked(&p, test, settings, owner, report, result, start, &out).await
}

/// The test's checks once its stages are known, the verdict, the artifacts and the history.
#[allow(clippy::too_many_arguments)]
async fn checked(
    p: &Profiles,
    test: &TestDef,
    settings: &Settings,
    owner: Owner,
    report: Report,
    mut result: TestResult,
    start: Instant,
    out: &Updates,
) -> (TestResult, Option<Running>) {
    let cluster = owner.cluster();
    let server = "server-1";
    let stages_ok = match test.kind {
        Kind::Network => network_passed(&report),
        // server-1 alone must form its cluster; a joiner that got in anyway (which also
        // breaks the cluster stage's count) is for the isolation checks to name.
        Kind::VlanNegative => node_passed(&report, server),
        _ => report.passed(),
    };
    if stages_ok {
        result.checks = test_checks(p, test, cluster, out).await;
        result.verdict = if result.checks.iter().all(|c| c.passed) {
            Verdict::Passed
        } else {
            Verdict::Failed
        };
        if let Some(c) = result.checks.iter().find(|c| !c.passed) {
            let node = c
                .name
                .split_whitespace()
                .next()
                .filter(|w| cluster.plan.nodes.iter().any(|n| n.name == *w))
                .unwrap_or(server)
                .to_string();
            result.failure = Some(failure_at(
                cluster,
                node,
                format!("check: {}", c.name),
                c.detail.clone(),
                &report,
            ));
        }
    } else {
        let (verdict, failure) = stage_failure(cluster, &report, test.kind);
        result.verdict = verdict;
        result.failure = Some(failure);
    }
    result.duration = start.elapsed();
    save_artifacts(cluster, &settings.artifacts.join(&test.name)).await;
    finish(settings, &result, out);
    (
        result,
        Some(Running {
            owner,
            report,
            test: test.clone(),
        }),
    )
}

/// Writes the report JSON and the history, and says the test ended.
fn finish(settings: &Settings, result: &TestResult, out: &Updates) {
    let dir = settings.artifacts.join(&result.name);
    let _ = std::fs::create_dir_all(&dir);
    if let Ok(json) = serde_json::to_string_pretty(result) {
        let _ = std::fs::write(dir.join("report.json"), json + "\n");
    }
    if let Err(e) = history::append(&settings.state, result) {
        out.send(TestUpdate::Session {
            test: result.name.clone(),
            update: SessionUpdate::Cluster(ClusterUpdate::Note(format!(
                "the history was not saved: {e}"
            ))),
        });
    }
    out.send(TestUpdate::Finished(Box::new(result.clone())));
}

/// The checks of a test whose stages passed.
async fn test_checks(p: &Profiles, test: &TestDef, cluster: &Cluster, out: &Updates) -> Vec<Check> {
    let net = &p.networks[&test.profile];
    let address = |node: &str| -> String {
        net.nodes
            .get(node)
            .and_then(|n| n.addresses.get(&net.k3s_network))
            .map(|a| a.to_string())
            .unwrap_or_default()
    };
    let checks = match test.kind {
        Kind::Cluster | Kind::Network => super::reach::reachability(cluster, net).await,
        Kind::BondFailover => {
            let Some(bond) = &net.bond else {
                return vec![Check {
                    name: "the profile has a bond".into(),
                    passed: false,
                    detail: format!("{} has no `bond:`", test.profile),
                }];
            };
            let (primary, backup) = match bond.members.as_slice() {
                [a, b, ..] => (a.as_str(), b.as_str()),
                _ => {
                    return vec![Check {
                        name: "the bond has two members".into(),
                        passed: false,
                        detail: format!("{} lists {:?}", test.profile, bond.members),
                    }];
                }
            };
            let primary = bond.primary.as_deref().unwrap_or(primary);
            let backup = if backup == primary {
                bond.members[0].as_str()
            } else {
                backup
            };
            let node = test
                .nodes
                .iter()
                .rev()
                .find(|n| *n != "server-1")
                .cloned()
                .unwrap_or_else(|| "server-1".into());
            checks::bond_failover(
                cluster,
                &node,
                &bond.name,
                (primary, backup),
                &address("server-1"),
                "server-1",
            )
            .await
        }
        Kind::VlanNegative => {
            let server_vlans = net.nodes.get("server-1").map(|n| &n.vlans);
            let joiners: Vec<(String, String)> = test
                .nodes
                .iter()
                .filter(|n| *n != "server-1")
                .map(|n| {
                    let own = net.nodes.get(n).map(|x| &x.vlans);
                    let describe = |vlans: Option<&indexmap::IndexMap<String, u32>>| {
                        net.networks
                            .iter()
                            .map(|(name, network)| {
                                let id = vlans
                                    .and_then(|v| v.get(name))
                                    .copied()
                                    .or(network.vlan)
                                    .map(|v| v.to_string())
                                    .unwrap_or_else(|| "untagged".into());
                                format!("{name} VLAN {id}")
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    (
                        n.clone(),
                        format!("{} (server-1: {})", describe(own), describe(server_vlans)),
                    )
                })
                .collect();
            checks::vlan_isolation(cluster, "server-1", &address("server-1"), &joiners).await
        }
    };
    for c in &checks {
        out.send(TestUpdate::Check {
            test: test.name.clone(),
            check: c.clone(),
        });
    }
    checks
}

/// Whether `node` passed (or skipped) every stage.
fn node_passed(report: &Report, node: &str) -> bool {
    report.node(node).is_some_and(|n| {
        n.stages
            .iter()
            .all(|e| matches!(e.outcome, Outcome::Passed | Outcome::Skipped { .. }))
    })
}

/// Whether every node got through its boot and network stages (network-only tests).
fn network_passed(report: &Report) -> bool {
    !report.nodes.is_empty()
        && report.nodes.iter().all(|n| {
            n.stages
                .iter()
                .filter(|e| e.stage <= Stage::Network)
                .all(|e| e.outcome == Outcome::Passed)
        })
}

/// The word of an outcome in reports.
pub fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Waiting => "waiting",
        Outcome::Running => "running",
        Outcome::Passed => "passed",
        Outcome::Failed { .. } => "failed",
        Outcome::Undecided { .. } => "undecided",
        Outcome::Skipped { .. } => "skipped",
    }
}

fn stage_time(e: &StageEvent) -> StageTime {
    let detail = match &e.outcome {
        Outcome::Failed { hint } if e.detail.is_empty() => hint.clone(),
        Outcome::Undecided { why } | Outcome::Skipped { why } if e.detail.is_empty() => why.clone(),
        _ => e.detail.clone(),
    };
    StageTime {
        stage: e.stage.label().to_string(),
        outcome: outcome_word(&e.outcome).into(),
        at: stage_start(e),
        elapsed: e.elapsed,
        detail,
    }
}

/// When a stage started: an event's `at` is when it was published (the stage's end, for a
/// final event), after `elapsed` in the stage.
pub fn stage_start(e: &StageEvent) -> Duration {
    e.at.saturating_sub(e.elapsed)
}

/// The report's stages as the timeline of the result (the cluster stage last).
pub fn timeline(report: &Report) -> Vec<NodeTimeline> {
    report
        .nodes
        .iter()
        .map(|n| NodeTimeline {
            node: n.node.clone(),
            stages: n.stages.iter().map(stage_time).collect(),
            standin: n.standin,
        })
        .chain([NodeTimeline {
            node: readiness::CLUSTER.into(),
            stages: vec![stage_time(&report.cluster)],
            standin: false,
        }])
        .collect()
}

/// Where the stages stopped: the earliest failed stage of any node (or the cluster stage);
/// a stage that could not be decided makes the test an error rather than a failure.
fn stage_failure(cluster: &Cluster, report: &Report, kind: Kind) -> (Verdict, Failure) {
    let relevant = |e: &&StageEvent| kind != Kind::Network || e.stage <= Stage::Network;
    let failed = report
        .nodes
        .iter()
        .flat_map(|n| n.stages.iter())
        .filter(relevant)
        .filter(|e| matches!(e.outcome, Outcome::Failed { .. }))
        .min_by_key(|e| e.at + e.elapsed);
    let undecided = report
        .nodes
        .iter()
        .flat_map(|n| n.stages.iter())
        .filter(relevant)
        .find(|e| matches!(e.outcome, Outcome::Undecided { .. }));
    let (verdict, event) = match (failed, undecided) {
        (Some(e), _) => (Verdict::Failed, e),
        (None, Some(e)) => (Verdict::Error, e),
        (None, None) => (
            if matches!(report.cluster.outcome, Outcome::Undecided { .. }) {
                Verdict::Error
            } else {
                Verdict::Failed
            },
            &report.cluster,
        ),
    };
    let hint = match &event.outcome {
        Outcome::Failed { hint } => hint.clone(),
        Outcome::Undecided { why } => format!("could not be decided: {why}"),
        other => format!(
            "the stage ended {} ({})",
            outcome_word(other),
            if event.detail.is_empty() {
                "no detail"
            } else {
                &event.detail
            }
        ),
    };
    (
        verdict,
        failure_at(
            cluster,
            event.node.clone(),
            event.stage.label().to_string(),
            hint,
            report,
        ),
    )
}

fn failure_at(
    cluster: &Cluster,
    node: String,
    stage: String,
    hint: String,
    report: &Report,
) -> Failure {
    let signatures = report
        .node(&node)
        .map(|n| n.signatures.clone())
        .unwrap_or_default();
    let console_tail = cluster
        .node(&node)
        .map(|c| {
            let tail = c.tail();
            let skip = tail.len().saturating_sub(TAIL_LINES);
            tail[skip..].to_vec()
        })
        .unwrap_or_default();
    let console_log = cluster.info.node(&node).ok().map(|n| {
        let lines = std::fs::read(&n.console_log)
            .map(|b| b.iter().filter(|c| **c == b'\n').count())
            .unwrap_or(0);
        (n.console_log.display().to_string(), lines.max(1))
    });
    Failure {
        node,
        stage,
        hint,
        signatures,
        console_tail,
        console_log,
    }
}

/// Copies every log of the cluster (consoles, switches) into `dir` and fetches each node's
/// k3s journal through its control channel.
async fn save_artifacts(cluster: &Cluster, dir: &Path) {
    let _ = std::fs::create_dir_all(dir);
    if let Ok(entries) = std::fs::read_dir(&cluster.info.logs) {
        for e in entries.flatten() {
            let _ = std::fs::copy(e.path(), dir.join(e.file_name()));
        }
    }
    for node in &cluster.plan.nodes {
        if !readiness::runs_k3s(&node.role) {
            continue;
        }
        let Some(control) = cluster.control(&node.name) else {
            continue;
        };
        let text = match control
            .shell(
                "journalctl --no-pager -o short-monotonic -u 'k3s*' 2>&1",
                Duration::from_secs(30),
            )
            .await
        {
            Ok(out) => out.stdout,
            Err(e) => format!("the journal could not be fetched: {e}\n"),
        };
        let _ = std::fs::write(dir.join(format!("{}.k3s-journal.log", node.name)), text);
    }
}
