//! Per-node k3s readiness: every node of a running cluster goes through named [`Stage`]s, from
//! QEMU's start to its k3s node being `Ready`, each with its own timeout, its elapsed time and
//! a hint when it fails; known failure patterns in the console and the k3s journal
//! ([`SignatureHit`]) are pinned on the node. The engine publishes its own
//! [`ReadinessUpdate`]s on the bounded stream it is given; [`start`] ends with a [`Report`].

use std::time::Duration;

mod error;
mod follow;
pub mod kube;
pub mod network;
pub mod signatures;

pub use error::{ProbeError, SignatureError};
pub use follow::{STANDIN_MARK, start};

/// What the readiness engine publishes while it follows a cluster.
#[derive(Debug, Clone)]
pub enum ReadinessUpdate {
    /// A stage of a node (or of the cluster) moved on.
    Stage(StageEvent),
    /// A known failure pattern was seen on a node.
    Signature(SignatureHit),
}

/// Where the readiness engine publishes.
pub type Updates = crate::stream::Publisher<ReadinessUpdate>;

/// The stages of one node, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// QEMU runs.
    QemuStarted,
    /// The console has spoken: the kernel boots.
    KernelBooting,
    /// The control channel answers: userspace is up.
    Userspace,
    /// Exactly the addresses, VLANs and bond the renderer promised are configured.
    Network,
    /// The node's k3s unit is active.
    K3sService,
    /// The API server answers `/readyz` (and etcd is healthy) — servers only.
    ApiReady,
    /// The node is registered with the cluster.
    Registered,
    /// The node's `Ready` condition is `True`.
    NodeReady,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 8] = [
        Stage::QemuStarted,
        Stage::KernelBooting,
        Stage::Userspace,
        Stage::Network,
        Stage::K3sService,
        Stage::ApiReady,
        Stage::Registered,
        Stage::NodeReady,
    ];

    /// A short name for lines and tables.
    pub fn label(self) -> &'static str {
        match self {
            Stage::QemuStarted => "qemu",
            Stage::KernelBooting => "kernel",
            Stage::Userspace => "userspace",
            Stage::Network => "network",
            Stage::K3sService => "k3s-service",
            Stage::ApiReady => "api",
            Stage::Registered => "registered",
            Stage::NodeReady => "ready",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Where a stage is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not started yet.
    Waiting,
    /// Started, deadline not reached.
    Running,
    /// Done.
    Passed,
    /// The deadline passed or a definite failure; the hint says why and the fix.
    Failed {
        /// Why, and the fix.
        hint: String,
    },
    /// Cannot be decided (no k3s binary in the image …).
    Undecided {
        /// Why not.
        why: String,
    },
    /// Not applicable (an agent has no API server).
    Skipped {
        /// Why not.
        why: String,
    },
}

impl Outcome {
    /// One word for lines and tables.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Waiting => "waiting",
            Outcome::Running => "running",
            Outcome::Passed => "passed",
            Outcome::Failed { .. } => "FAILED",
            Outcome::Undecided { .. } => "undecided",
            Outcome::Skipped { .. } => "skipped",
        }
    }

    /// Whether the stage is over (passed, failed, undecided or skipped).
    pub fn is_final(&self) -> bool {
        !matches!(self, Outcome::Waiting | Outcome::Running)
    }
}

/// The node name of the cluster-wide stage.
pub const CLUSTER: &str = "cluster";

/// A stage of a node moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageEvent {
    /// The node, or [`CLUSTER`] for the cluster-wide stage.
    pub node: String,
    /// The stage (the cluster-wide stage is reported as [`Stage::NodeReady`]).
    pub stage: Stage,
    /// Where it is.
    pub outcome: Outcome,
    /// Since the cluster started (QEMU spawn of the first node).
    pub at: Duration,
    /// Time spent in this stage so far / until it ended.
    pub elapsed: Duration,
    /// What was seen, e.g. `eth1.200=192.168.200.1/24 (as rendered)`.
    pub detail: String,
}

impl StageEvent {
    /// Whether this event says the node's k3s is the test stand-in (`k3s --version`).
    pub fn marks_standin(&self) -> bool {
        self.stage == Stage::K3sService && self.detail.contains(STANDIN_MARK)
    }

    /// The event as one line: `[server-1] network passed after 3.2s: eth1=… (as rendered)`.
    pub fn line(&self) -> String {
        let stage = if self.node == CLUSTER {
            "cluster"
        } else {
            self.stage.label()
        };
        let mut out = if self.outcome == Outcome::Running {
            format!(
                "[{}] {stage} … (at {:.1}s)",
                self.node,
                self.at.as_secs_f64()
            )
        } else {
            format!(
                "[{}] {stage} {} after {:.1}s (at {:.1}s)",
                self.node,
                self.outcome.word(),
                self.elapsed.as_secs_f64(),
                self.at.as_secs_f64()
            )
        };
        if !self.detail.is_empty() {
            out.push_str(": ");
            out.push_str(&self.detail);
        }
        match &self.outcome {
            Outcome::Failed { hint } => out.push_str(&format!("\n  hint: {hint}")),
            Outcome::Undecided { why } | Outcome::Skipped { why } => {
                out.push_str(&format!(" ({why})"))
            }
            _ => {}
        }
        out
    }
}

/// A known failure pattern matched on a node (also what test reports keep of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignatureHit {
    /// The node.
    pub node: String,
    /// The signature's id (`stale-bootstrap-token`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// What it means.
    pub explanation: String,
    /// What to do.
    pub fix: String,
    /// The line that matched.
    pub line: String,
    /// Where: `console` or `k3s journal`.
    pub source: String,
}

impl SignatureHit {
    /// The hit as lines for a terminal or a report.
    pub fn lines(&self) -> String {
        format!(
            "[{}] signature {}: {}\n  {}: {}\n  why: {}\n  fix: {}",
            self.node,
            self.id,
            self.title,
            self.source,
            self.line.trim(),
            self.explanation,
            self.fix
        )
    }
}

/// One node: its stage outcomes with times, its signature hits, whether it runs the stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReport {
    /// The node.
    pub node: String,
    /// The last event of every stage, in stage order.
    pub stages: Vec<StageEvent>,
    /// Known failure patterns seen on the node.
    pub signatures: Vec<SignatureHit>,
    /// Whether its k3s is the test stand-in (`k3s --version` says so).
    pub standin: bool,
}

impl NodeReport {
    /// The first stage that failed (or could not be decided), if any.
    pub fn first_problem(&self) -> Option<&StageEvent> {
        self.stages
            .iter()
            .find(|e| matches!(e.outcome, Outcome::Failed { .. }))
    }
}

/// The outcome of [`start`]: every node, and the cluster-wide stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Every expected node.
    pub nodes: Vec<NodeReport>,
    /// The cluster-wide stage (node [`CLUSTER`]): every expected node Ready, and the count.
    pub cluster: StageEvent,
}

impl Report {
    /// One line for the end of a run: `readiness: PASSED — 3 of 3 expected nodes Ready …`,
    /// or where each node that failed stopped, and why.
    pub fn summary(&self) -> String {
        let word = match &self.cluster.outcome {
            Outcome::Passed => "PASSED",
            Outcome::Undecided { .. } => "UNDECIDED",
            _ => "FAILED",
        };
        let mut out = format!("readiness: {word}");
        if !self.cluster.detail.is_empty() {
            out.push_str(&format!(" — {}", self.cluster.detail));
        }
        if let Outcome::Undecided { why } = &self.cluster.outcome {
            out.push_str(&format!(" ({why})"));
        }
        for n in &self.nodes {
            if let Some(e) = n.first_problem() {
                let hint = match &e.outcome {
                    Outcome::Failed { hint } => hint.as_str(),
                    _ => "",
                };
                out.push_str(&format!(
                    "\n  {} stopped at {} after {:.0}s: {}",
                    n.node,
                    e.stage.label(),
                    e.elapsed.as_secs_f64(),
                    hint
                ));
            }
        }
        out
    }

    /// Whether every node passed (or skipped) every stage and the cluster stage passed.
    pub fn passed(&self) -> bool {
        self.cluster.outcome == Outcome::Passed
    }

    /// A node's report.
    pub fn node(&self, name: &str) -> Option<&NodeReport> {
        self.nodes.iter().find(|n| n.node == name)
    }
}

/// How long each stage may take, counted from the end of the stage before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    per_stage: [Duration; 8],
    /// How long the cluster stage waits for every node once the first node is `Ready`.
    pub cluster: Duration,
}

impl Default for Timeouts {
    /// Generous enough for TCG on a busy 2-core host: the boot stages share the cluster
    /// engine's 300 s boot deadline, k3s gets minutes to start and join.
    fn default() -> Self {
        Timeouts {
            per_stage: [
                Duration::from_secs(30),  // qemu
                Duration::from_secs(120), // kernel
                Duration::from_secs(300), // userspace
                Duration::from_secs(180), // network
                Duration::from_secs(120), // k3s-service
                Duration::from_secs(180), // api
                Duration::from_secs(180), // registered
                Duration::from_secs(120), // ready
            ],
            cluster: Duration::from_secs(300),
        }
    }
}

impl Timeouts {
    /// The timeout of `stage`.
    pub fn of(&self, stage: Stage) -> Duration {
        self.per_stage[stage as usize]
    }

    /// Sets the timeout of `stage`.
    pub fn set(&mut self, stage: Stage, timeout: Duration) {
        self.per_stage[stage as usize] = timeout;
    }
}

/// What [`start`] expects of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// The nodes to follow (every node of the plan by default).
    pub nodes: Vec<String>,
    /// Whether k3s is expected; `false` makes the k3s stages `Undecided`.
    pub k3s: bool,
    /// Per-stage timeouts.
    pub timeouts: Timeouts,
    /// How many nodes the cluster stage expects to be `Ready`.
    pub ready_count: usize,
}

impl Expectations {
    /// Every node of `plan` that runs k3s (servers and agents) must get `Ready`.
    pub fn for_plan(plan: &crate::render::qemu::Plan) -> Self {
        let nodes: Vec<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
        let ready_count = plan.nodes.iter().filter(|n| runs_k3s(&n.role)).count();
        Expectations {
            nodes,
            k3s: true,
            timeouts: Timeouts::default(),
            ready_count,
        }
    }
}

/// Whether a node of `role` runs k3s (a DHCP server node does not).
pub fn runs_k3s(role: &str) -> bool {
    matches!(role, "server" | "agent")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(node: &str, stage: Stage, outcome: Outcome, secs: u64, detail: &str) -> StageEvent {
        StageEvent {
            node: node.into(),
            stage,
            outcome,
            at: Duration::from_secs(100 + secs),
            elapsed: Duration::from_secs(secs),
            detail: detail.into(),
        }
    }

    #[test]
    fn lines_say_the_stage_its_outcome_times_detail_and_hint() {
        let e = event(
            "agent-1",
            Stage::Network,
            Outcome::Passed,
            3,
            "eth1=192.168.1.3/24 (as rendered)",
        );
        assert_eq!(
            e.line(),
            "[agent-1] network passed after 3.0s (at 103.0s): eth1=192.168.1.3/24 (as rendered)"
        );
        let hint = "k3s-agent.service did not become active — fix: …".to_string();
        let e = event(
            "agent-1",
            Stage::K3sService,
            Outcome::Failed { hint },
            120,
            "",
        );
        assert_eq!(
            e.line(),
            "[agent-1] k3s-service FAILED after 120.0s (at 220.0s)\n  hint: k3s-agent.service did not become active — fix: …"
        );
        let e = event(
            "agent-1",
            Stage::ApiReady,
            Outcome::Skipped {
                why: "agents run no API server".into(),
            },
            0,
            "",
        );
        assert!(
            e.line().ends_with("(agents run no API server)"),
            "{}",
            e.line()
        );
        let running = event(
            "server-1",
            Stage::K3sService,
            Outcome::Running,
            1,
            "k3s version v1.35.0+k3s3-standin — the n3x test STAND-IN, not k3s",
        );
        assert!(
            running
                .line()
                .starts_with("[server-1] k3s-service … (at 101.0s)")
        );
        assert!(running.marks_standin());
        assert!(
            !event(
                "server-1",
                Stage::K3sService,
                Outcome::Running,
                1,
                "k3s version v1.35.0+k3s3"
            )
            .marks_standin()
        );
    }

    #[test]
    fn the_summary_names_where_each_failed_node_stopped() {
        let hint = "token refused".to_string();
        let mut agent = NodeReport {
            node: "agent-1".into(),
            stages: Stage::ALL
                .iter()
                .map(|s| event("agent-1", *s, Outcome::Waiting, 0, ""))
                .collect(),
            signatures: Vec::new(),
            standin: true,
        };
        agent.stages[Stage::K3sService as usize] = event(
            "agent-1",
            Stage::K3sService,
            Outcome::Failed { hint: hint.clone() },
            12,
            "",
        );
        let report = Report {
            nodes: vec![agent],
            cluster: event(
                CLUSTER,
                Stage::NodeReady,
                Outcome::Failed {
                    hint: "not Ready: agent-1".into(),
                },
                200,
                "1 of 2 expected nodes Ready: server-1",
            ),
        };
        assert!(!report.passed());
        assert_eq!(
            report.summary(),
            "readiness: FAILED — 1 of 2 expected nodes Ready: server-1\n  agent-1 stopped at k3s-service after 12s: token refused"
        );
        assert_eq!(
            report
                .node("agent-1")
                .unwrap()
                .first_problem()
                .unwrap()
                .stage,
            Stage::K3sService
        );
    }

    #[test]
    fn expectations_count_the_k3s_nodes_of_the_plan() {
        let p = crate::profile::Profiles::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"),
        )
        .unwrap();
        let profile = crate::render::profile(&p, "dhcp-simple").unwrap();
        let plan = crate::render::qemu::plan(&p, profile, "qemuamd64", None).unwrap();
        let e = Expectations::for_plan(&plan);
        assert!(e.nodes.contains(&"dhcp-server".to_string()));
        assert_eq!(e.ready_count, e.nodes.len() - 1);
        let mut t = Timeouts::default();
        t.set(Stage::K3sService, Duration::from_secs(7));
        assert_eq!(t.of(Stage::K3sService), Duration::from_secs(7));
        assert_eq!(t.of(Stage::Network), Duration::from_secs(180));
    }
}
