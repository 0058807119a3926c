//! The readiness engine: one task per node drives it through its stages with console events
//! and control-channel probes; one task reads every console line for the kernel stage and the
//! failure signatures; the cluster stage counts the `Ready` nodes at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, broadcast};

use super::error::ProbeError;
use super::network::{self, Expected};
use super::signatures::{self, Source};
use super::{
    CLUSTER, Expectations, NodeReport, Outcome, ReadinessUpdate, Report, SignatureHit, Stage,
    StageEvent, Updates, kube, runs_k3s,
};
use crate::cluster::control::ControlChannel;
use crate::cluster::engine::{Cluster, ConsoleLine};
use crate::profile::Profiles;
use crate::supervise::Child;

/// How often a stage probes again.
const POLL: Duration = Duration::from_secs(2);

/// How long one probe may take.
const PROBE: Duration = Duration::from_secs(30);

/// The console line an n3x test image prints once networkd has configured its links.
const NET_UP_MARKER: &str = "N3X-NET-UP";

/// How often the network stage probes a node that has not printed [`NET_UP_MARKER`] (an
/// image without it, or a network that never comes up): each probe costs the booting guest
/// CPU time, which under TCG slows its boot.
const UNMARKED_POLL: Duration = Duration::from_secs(10);

/// What `k3s --version` of the test stand-in says (`tests/fixtures/k3s-standin`).
pub const STANDIN_MARK: &str = "STAND-IN";

/// What one node's task needs.
struct NodeSpec {
    name: String,
    role: String,
    child: Option<Child>,
    network: Expected,
    /// The address k3s must register the node with (its rendered node-ip).
    node_ip: Option<String>,
    console_log: String,
}

/// What the console reader found on one node.
#[derive(Default)]
struct Watch {
    first_line: Option<(Instant, String)>,
    hits: Vec<SignatureHit>,
    ids: BTreeSet<String>,
    /// A definite hit the node's current stage has not failed on yet.
    definite: Option<SignatureHit>,
    /// The guest printed its `N3X-NET-UP` marker (networkd configured its links).
    net_up: bool,
}

/// A node's control channel, one call at a time from this process.
#[derive(Clone)]
struct Channel {
    control: ControlChannel,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Channel {
    async fn shell(&self, script: &str) -> Result<crate::cluster::control::ExecOutput, ProbeError> {
        let _one = self.lock.lock().await;
        Ok(self.control.shell(script, PROBE).await?)
    }
}

/// Shared by every node's task.
struct Shared {
    started: Instant,
    updates: Updates,
    expect: Expectations,
    channels: BTreeMap<String, Channel>,
    watches: BTreeMap<String, Arc<(Mutex<Watch>, Notify)>>,
    /// The server whose API answers for the agents (the init server when it runs).
    api_node: Option<String>,
}

impl Shared {
    fn publish(&self, event: &StageEvent) {
        self.updates.send(ReadinessUpdate::Stage(event.clone()));
    }

    /// Pins a hit on its node (once per signature) and publishes it.
    fn record(&self, hit: SignatureHit, definite: bool) {
        let Some(w) = self.watches.get(&hit.node) else {
            return;
        };
        let mut watch = w.0.lock().unwrap_or_else(|e| e.into_inner());
        if !watch.ids.insert(hit.id.clone()) {
            return;
        }
        self.updates.send(ReadinessUpdate::Signature(hit.clone()));
        if definite && watch.definite.is_none() {
            watch.definite = Some(hit.clone());
        }
        watch.hits.push(hit);
        w.1.notify_waiters();
    }
}

/// Starts following `cluster`: the returned future owns everything it needs (so it can be
/// spawned) and ends with the [`Report`].
pub fn start(
    cluster: &Cluster,
    profiles: Arc<Profiles>,
    expect: Expectations,
    updates: Updates,
) -> impl Future<Output = Report> + Send + 'static {
    let plan_profile = cluster.plan.profile.clone();
    let net_profile = crate::render::profile(&profiles, &plan_profile).ok();
    let mut specs = Vec::new();
    let mut channels = BTreeMap::new();
    let mut watches = BTreeMap::new();
    for name in &expect.nodes {
        let Some(plan_node) = cluster.plan.nodes.iter().find(|n| &n.name == name) else {
            continue;
        };
        let node_ip = profiles
            .cluster
            .nodes
            .iter()
            .find(|n| &n.name == name)
            .zip(net_profile)
            .map(|(n, np)| crate::render::k3s::settings(&profiles, np, n))
            .and_then(|s| match s.get("node-ip") {
                Some(crate::profile::FlagValue::Text(ip)) => Some(ip.clone()),
                _ => None,
            });
        specs.push(NodeSpec {
            name: name.clone(),
            role: plan_node.role.clone(),
            child: cluster.node(name).cloned(),
            network: net_profile
                .map(|np| Expected::of(np, name))
                .unwrap_or_default(),
            node_ip,
            console_log: cluster
                .info
                .node(name)
                .map(|n| n.console_log.display().to_string())
                .unwrap_or_default(),
        });
        if let Some(control) = cluster.control(name) {
            channels.insert(
                name.clone(),
                Channel {
                    control,
                    lock: Arc::new(tokio::sync::Mutex::new(())),
                },
            );
        }
        watches.insert(
            name.clone(),
            Arc::new((Mutex::new(Watch::default()), Notify::new())),
        );
    }
    let servers: Vec<&str> = cluster
        .plan
        .nodes
        .iter()
        .filter(|n| n.role == "server" && expect.nodes.contains(&n.name))
        .map(|n| n.name.as_str())
        .collect();
    let init = profiles.init_server().name.as_str();
    let api_node = servers
        .iter()
        .find(|s| **s == init)
        .or(servers.first())
        .map(|s| s.to_string());
    let shared = Arc::new(Shared {
        started: cluster.started,
        updates,
        expect,
        channels,
        watches,
        api_node,
    });
    let lines = cluster.console_lines();
    async move { run(shared, specs, lines).await }
}

async fn run(
    shared: Arc<Shared>,
    specs: Vec<NodeSpec>,
    lines: broadcast::Receiver<ConsoleLine>,
) -> Report {
    let reader = tokio::spawn(read_consoles(Arc::clone(&shared), lines));
    let begun = Instant::now();
    let tasks: Vec<_> = specs
        .into_iter()
        .map(|spec| {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move { NodeRun::new(shared, spec).run().await })
        })
        .collect();
    let mut nodes = Vec::new();
    for t in tasks {
        if let Ok(report) = t.await {
            nodes.push(report);
        }
    }
    reader.abort();
    for n in &mut nodes {
        if let Some(w) = shared.watches.get(&n.node) {
            n.signatures = w.0.lock().unwrap_or_else(|e| e.into_inner()).hits.clone();
        }
    }
    let cluster = cluster_stage(&shared, &nodes, begun).await;
    shared.publish(&cluster);
    Report { nodes, cluster }
}

/// Every console line: the first one of each node, and the signatures.
async fn read_consoles(shared: Arc<Shared>, mut lines: broadcast::Receiver<ConsoleLine>) {
    loop {
        let line = match lines.recv().await {
            Ok(line) => line,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(w) = shared.watches.get(&line.node) else {
            continue;
        };
        {
            let mut watch = w.0.lock().unwrap_or_else(|e| e.into_inner());
            // QEMU's own messages share the console's terminal; they say nothing of the guest.
            if watch.first_line.is_none()
                && !line.text.trim().is_empty()
                && !line.text.starts_with("qemu-system")
            {
                watch.first_line = Some((line.at, line.text.trim().to_string()));
                w.1.notify_waiters();
            }
            if !watch.net_up && line.text.contains(NET_UP_MARKER) {
                watch.net_up = true;
                w.1.notify_waiters();
            }
        }
        for sig in signatures::scan(&line.text, Source::Console) {
            shared.record(
                signatures::hit(sig, &line.node, &line.text, Source::Console),
                sig.definite,
            );
        }
    }
}

/// How a stage ended.
enum End {
    Passed(String),
    Failed(String, String),
    Undecided(String),
    Skipped(String),
}

struct NodeRun {
    shared: Arc<Shared>,
    spec: NodeSpec,
    report: NodeReport,
    cursor: Option<String>,
    unit: String,
    journal_tail: Vec<String>,
    /// When the current stage began (the end of the one before).
    since: Instant,
    /// When the current stage ended, if earlier than now (the console spoke before we looked).
    ended: Option<Instant>,
}

impl NodeRun {
    fn new(shared: Arc<Shared>, spec: NodeSpec) -> Self {
        let report = NodeReport {
            node: spec.name.clone(),
            stages: Stage::ALL
                .iter()
                .map(|s| StageEvent {
                    node: spec.name.clone(),
                    stage: *s,
                    outcome: Outcome::Waiting,
                    at: Duration::ZERO,
                    elapsed: Duration::ZERO,
                    detail: String::new(),
                })
                .collect(),
            signatures: Vec::new(),
            standin: false,
        };
        let shared_started = shared.started;
        NodeRun {
            unit: format!("k3s-{}", spec.role),
            shared,
            spec,
            report,
            cursor: None,
            journal_tail: Vec::new(),
            since: shared_started,
            ended: None,
        }
    }

    /// Publishes where `stage` is; a final outcome ends the stage (the next begins then).
    fn set(&mut self, stage: Stage, outcome: Outcome, detail: String) {
        let end = if outcome.is_final() {
            self.ended.take().unwrap_or_else(Instant::now)
        } else {
            Instant::now()
        };
        let event = StageEvent {
            node: self.spec.name.clone(),
            stage,
            outcome,
            at: end.saturating_duration_since(self.shared.started),
            elapsed: end.saturating_duration_since(self.since),
            detail,
        };
        if event.outcome.is_final() {
            self.since = end;
        }
        self.shared.publish(&event);
        self.report.stages[stage as usize] = event;
    }

    async fn run(mut self) -> NodeReport {
        let mut undecided: Option<String> = None;
        for stage in Stage::ALL {
            if let Some(why) = &undecided {
                let why = why.clone();
                self.set(stage, Outcome::Undecided { why }, String::new());
                continue;
            }
            let timeout = self.shared.expect.timeouts.of(stage);
            self.set(
                stage,
                Outcome::Running,
                format!("up to {}s", timeout.as_secs()),
            );
            let deadline = self.since + timeout;
            let end = match stage {
                Stage::QemuStarted => self.qemu(),
                Stage::KernelBooting => self.kernel(deadline).await,
                Stage::Userspace => self.userspace(deadline).await,
                Stage::Network => self.network(deadline).await,
                Stage::K3sService => self.k3s_service(deadline).await,
                Stage::ApiReady => self.api(deadline).await,
                Stage::Registered => self.registered(deadline, false).await,
                Stage::NodeReady => self.registered(deadline, true).await,
            };
            match end {
                End::Passed(detail) => self.set(stage, Outcome::Passed, detail),
                End::Skipped(why) => self.set(stage, Outcome::Skipped { why }, String::new()),
                End::Undecided(why) => {
                    self.set(stage, Outcome::Undecided { why }, String::new());
                    undecided = Some(format!("{} could not be decided", stage.label()));
                }
                End::Failed(detail, hint) => {
                    let hint = self.with_signatures(hint);
                    self.set(stage, Outcome::Failed { hint }, detail);
                    break;
                }
            }
            // A node without k3s (the DHCP server): its k3s stages are skipped together.
            if let Some(why) = self.skip_rest(stage) {
                for s in Stage::ALL.iter().filter(|s| **s > stage) {
                    self.set(*s, Outcome::Skipped { why: why.clone() }, String::new());
                }
                break;
            }
        }
        self.report
    }

    fn skip_rest(&self, stage: Stage) -> Option<String> {
        let outcome = &self.report.stages[stage as usize].outcome;
        (stage == Stage::K3sService && matches!(outcome, Outcome::Skipped { .. }))
            .then(|| format!("{} runs no k3s", self.spec.role))
    }

    /// The hint, with the signatures pinned on the node.
    fn with_signatures(&self, hint: String) -> String {
        let hits = self
            .shared
            .watches
            .get(&self.spec.name)
            .map(|w| w.0.lock().unwrap_or_else(|e| e.into_inner()).hits.clone())
            .unwrap_or_default();
        let mut out = hint;
        for h in hits {
            if !out.contains(&h.title) {
                out.push_str(&format!(
                    "\n  seen ({}): {} — fix: {}",
                    h.source, h.title, h.fix
                ));
            }
        }
        out
    }

    /// The node's last three console lines, for hints.
    fn last_console_lines(&self) -> Vec<String> {
        let tail = self
            .spec
            .child
            .as_ref()
            .map(|c| c.tail())
            .unwrap_or_default();
        let skip = tail.len().saturating_sub(3);
        tail[skip..].to_vec()
    }

    /// QEMU ended, or a definite signature appeared: the stage fails with this.
    fn interrupted(&self) -> Option<(String, String)> {
        if let Some(status) = self.spec.child.as_ref().and_then(Child::try_status) {
            let last = self.last_console_lines();
            return Some((
                format!("QEMU ended ({status})"),
                format!(
                    "the node's QEMU is gone; last console lines: {} — the whole console is in {}",
                    last.join(" | "),
                    self.spec.console_log
                ),
            ));
        }
        let w = self.shared.watches.get(&self.spec.name)?;
        let mut watch = w.0.lock().unwrap_or_else(|e| e.into_inner());
        watch.definite.take().map(|hit| {
            (
                format!("{}: {}", hit.source, hit.line),
                format!("{}: {} — fix: {}", hit.title, hit.explanation, hit.fix),
            )
        })
    }

    fn qemu(&mut self) -> End {
        match &self.spec.child {
            None => End::Failed(
                String::new(),
                format!("{} has no QEMU in this cluster", self.spec.name),
            ),
            Some(child) => match child.try_status() {
                Some(status) => End::Failed(
                    format!("QEMU ended ({status})"),
                    format!(
                        "QEMU ended before the node booted — its output is in {}",
                        self.spec.console_log
                    ),
                ),
                None => End::Passed(format!("pid {}", child.pid())),
            },
        }
    }

    async fn kernel(&mut self, deadline: Instant) -> End {
        let Some(w) = self.shared.watches.get(&self.spec.name).cloned() else {
            return End::Undecided("no console for this node".into());
        };
        loop {
            let notified = w.1.notified();
            if let Some((at, line)) =
                w.0.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .first_line
                    .clone()
            {
                let after = at.saturating_duration_since(self.shared.started);
                self.ended = Some(at.max(self.since));
                return End::Passed(format!(
                    "console spoke {:.1}s after the cluster started: {}",
                    after.as_secs_f64(),
                    shorten(&line, 70)
                ));
            }
            if let Some((detail, hint)) = self.interrupted() {
                return End::Failed(detail, hint);
            }
            if Instant::now() >= deadline {
                return End::Failed(
                    "no console output".into(),
                    format!(
                        "the console stayed silent: the kernel did not start (a wrong accelerator, or a broken kernel or initramfs) — try `--accel tcg`; QEMU's own messages are in {}",
                        self.spec.console_log
                    ),
                );
            }
            let _ = tokio::time::timeout(POLL, notified).await;
        }
    }

    async fn userspace(&mut self, deadline: Instant) -> End {
        let Some(ch) = self.shared.channels.get(&self.spec.name).cloned() else {
            return End::Undecided("the node has no control channel".into());
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ready = {
                let _one = ch.lock.lock().await;
                ch.control.wait_ready(left.min(POLL * 2)).await
            };
            match ready {
                Ok(()) => return End::Passed("the control channel answers (hvc0)".into()),
                Err(e) => {
                    if let Some((detail, hint)) = self.interrupted() {
                        return End::Failed(detail, hint);
                    }
                    if Instant::now() >= deadline {
                        let last = self.last_console_lines();
                        return End::Failed(
                            e.to_string(),
                            format!(
                                "userspace never answered on the control channel (n3x-backdoor.service on hvc0); last console lines: {} — look at the console (`n3x console {}`) for a unit that hangs",
                                last.join(" | "),
                                self.spec.name
                            ),
                        );
                    }
                }
            }
        }
    }

    async fn network(&mut self, deadline: Instant) -> End {
        let Some(ch) = self.shared.channels.get(&self.spec.name).cloned() else {
            return End::Undecided("the node has no control channel".into());
        };
        let watch = self.shared.watches.get(&self.spec.name).cloned();
        let mut last = vec!["no answer yet".to_string()];
        loop {
            // Probe once the guest says its network is up; until then only now and then.
            if let Some(w) = &watch {
                let notified = w.1.notified();
                let up = w.0.lock().unwrap_or_else(|e| e.into_inner()).net_up;
                if !up {
                    let wait =
                        UNMARKED_POLL.min(deadline.saturating_duration_since(Instant::now()));
                    let _ = tokio::time::timeout(wait, notified).await;
                }
            }
            match ch
                .shell("ip -j addr && echo @@N3X@@ && ip -d -j link")
                .await
            {
                Ok(out) if out.code == 0 => {
                    let (addr, link) = out
                        .stdout
                        .split_once("@@N3X@@")
                        .unwrap_or((&out.stdout, "[]"));
                    match network::observed(addr, link) {
                        Ok(links) => match network::compare(&self.spec.network, &links) {
                            Ok(detail) => return End::Passed(detail),
                            Err(problems) => last = problems,
                        },
                        Err(e) => last = vec![e.to_string()],
                    }
                }
                Ok(out) => last = vec![format!("`ip -j addr` failed: {}", out.stderr.trim())],
                Err(e) => last = vec![e.to_string()],
            }
            if let Some((detail, hint)) = self.interrupted() {
                return End::Failed(detail, hint);
            }
            if Instant::now() >= deadline {
                let fix = if self.spec.network.dhcp {
                    "check that the DHCP server node is up and has a reservation for this node's MAC (`n3x render --profile P --node dhcp-server`)"
                } else {
                    "compare the node's networkd files (`n3x render --profile P --node N`) with `n3x exec N -- networkctl status`"
                };
                return End::Failed(
                    last.join("; "),
                    format!(
                        "the network is not what the renderer promised: {} — {fix}",
                        last.join("; ")
                    ),
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Reads the k3s unit's journal since the last read and matches the signatures.
    fn scan_journal(&mut self, text: &str) {
        for line in text.lines() {
            if let Some(c) = line.strip_prefix("-- cursor: ") {
                self.cursor = Some(c.trim().to_string());
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            if self.journal_tail.len() == 3 {
                self.journal_tail.remove(0);
            }
            self.journal_tail.push(line.to_string());
            for sig in signatures::scan(line, Source::Journal) {
                self.shared.record(
                    signatures::hit(sig, &self.spec.name, line, Source::Journal),
                    sig.definite,
                );
            }
        }
    }

    fn journal_script(&self) -> String {
        let after = self
            .cursor
            .as_ref()
            .map(|c| format!(" --after-cursor='{}'", c.replace('\'', "")))
            .unwrap_or_default();
        format!(
            "journalctl -u {} -o cat --no-pager --show-cursor{after} 2>/dev/null | tail -n 400",
            self.unit
        )
    }

    /// Runs `script` (which prints `@@N3X@@` and then the journal) and scans the journal part.
    async fn probe(&mut self, ch: &Channel, script: &str) -> Result<String, ProbeError> {
        let full = format!("{script}\necho @@N3X@@\n{}", self.journal_script());
        tracing::debug!(node = %self.spec.name, script, "readiness probe");
        let out = ch.shell(&full).await?;
        tracing::trace!(node = %self.spec.name, code = out.code, "readiness probe answered");
        let (head, journal) = out
            .stdout
            .split_once("@@N3X@@\n")
            .unwrap_or((&out.stdout, ""));
        let head = head.to_string();
        self.scan_journal(journal);
        Ok(head)
    }

    async fn k3s_service(&mut self, deadline: Instant) -> End {
        if !runs_k3s(&self.spec.role) {
            return End::Skipped(format!("a {} node runs no k3s", self.spec.role));
        }
        if !self.shared.expect.k3s {
            return End::Undecided("k3s is not expected in this run".into());
        }
        let Some(ch) = self.shared.channels.get(&self.spec.name).cloned() else {
            return End::Undecided("the node has no control channel".into());
        };
        let version = match ch.shell("command -v k3s && k3s --version").await {
            Ok(out) if out.code == 0 => out.stdout,
            Ok(_) => {
                return End::Undecided(
                    "the image has no k3s binary (no `k3s` on PATH): build it with `--k3s-binary PATH`".into(),
                );
            }
            Err(e) => {
                return End::Failed(e.to_string(), format!("cannot ask the node for k3s: {e}"));
            }
        };
        let version_line = version
            .lines()
            .find(|l| l.starts_with("k3s version"))
            .unwrap_or("k3s")
            .trim()
            .to_string();
        self.report.standin = version.contains(STANDIN_MARK);
        let what = if self.report.standin {
            format!("{version_line} — the n3x test STAND-IN, not k3s")
        } else {
            version_line
        };
        self.set(Stage::K3sService, Outcome::Running, what.clone());
        let mut state: String;
        loop {
            match self
                .probe(&ch, &format!("systemctl is-active {}", self.unit))
                .await
            {
                Ok(head) => {
                    state = head.trim().to_string();
                    if state == "active" {
                        return End::Passed(format!("{}.service active ({what})", self.unit));
                    }
                }
                Err(e) => state = e.to_string(),
            }
            if let Some((detail, hint)) = self.interrupted() {
                return End::Failed(detail, hint);
            }
            if Instant::now() >= deadline {
                return End::Failed(
                    format!("{}.service is {state}", self.unit),
                    format!(
                        "{}.service did not become active (it is {state}); its last lines: {} — see `n3x exec {} -- journalctl -u {}`",
                        self.unit,
                        self.journal_tail.join(" | "),
                        self.spec.name,
                        self.unit
                    ),
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn api(&mut self, deadline: Instant) -> End {
        if self.spec.role != "server" {
            return End::Skipped("agents run no API server or etcd".into());
        }
        let Some(ch) = self.shared.channels.get(&self.spec.name).cloned() else {
            return End::Undecided("the node has no control channel".into());
        };
        let script = "r=$(k3s kubectl get --raw /readyz 2>&1); echo \"readyz=$? $r\" | head -c 300; echo; \
                      e=$(k3s kubectl get --raw /healthz/etcd 2>&1); echo \"etcd=$? $e\" | head -c 300";
        let mut last: String;
        loop {
            match self.probe(&ch, script).await {
                Ok(head) => {
                    let ok = |key: &str| {
                        head.lines()
                            .find_map(|l| l.strip_prefix(key))
                            .is_some_and(|r| r.trim() == "0 ok")
                    };
                    if ok("readyz=") && ok("etcd=") {
                        return End::Passed("/readyz ok, /healthz/etcd ok".into());
                    }
                    last = head.split_whitespace().collect::<Vec<_>>().join(" ");
                }
                Err(e) => last = e.to_string(),
            }
            if let Some((detail, hint)) = self.interrupted() {
                return End::Failed(detail, hint);
            }
            if Instant::now() >= deadline {
                return End::Failed(
                    shorten(&last, 200),
                    format!(
                        "the API server or etcd is not healthy: {} — look at `n3x exec {} -- journalctl -u {}`",
                        shorten(&last, 200),
                        self.spec.name,
                        self.unit
                    ),
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Registered (`ready` false) or Ready (`ready` true), from `kubectl get nodes -o json`
    /// on the node itself (servers) or the API server (agents).
    async fn registered(&mut self, deadline: Instant, ready: bool) -> End {
        let asker = if self.spec.role == "server" {
            Some(self.spec.name.clone())
        } else {
            self.shared.api_node.clone()
        };
        let Some(asker) = asker else {
            return End::Undecided(
                "no server of this cluster runs here to ask the API (start a server too)".into(),
            );
        };
        let Some(api) = self.shared.channels.get(&asker).cloned() else {
            return End::Undecided(format!("{asker} has no control channel"));
        };
        let own = self.shared.channels.get(&self.spec.name).cloned();
        let mut last: String;
        loop {
            // The node's own journal keeps being read for signatures.
            if let Some(own) = &own
                && asker != self.spec.name
            {
                let _ = self.probe(own, "true").await;
            }
            let listed = if asker == self.spec.name {
                self.probe(&api, "k3s kubectl get nodes -o json 2>&1").await
            } else {
                api.shell("k3s kubectl get nodes -o json 2>&1")
                    .await
                    .map(|o| o.stdout)
            };
            match listed.and_then(|text| {
                kube::nodes(&text).map_err(|e| ProbeError::Listing {
                    source: Box::new(e),
                    output: shorten(&text, 120),
                })
            }) {
                Ok(nodes) => match nodes.iter().find(|n| n.name == self.spec.name) {
                    None => {
                        last = format!(
                            "not among the {} nodes {asker}'s API lists ({})",
                            nodes.len(),
                            nodes
                                .iter()
                                .map(|n| n.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                    Some(n) => {
                        if let (Some(want), Some(got)) = (&self.spec.node_ip, &n.internal_ip)
                            && want != got
                        {
                            return End::Failed(
                                format!("InternalIP {got}"),
                                format!(
                                    "{} registered with InternalIP {got}, but its rendered node-ip is {want} — check node-ip in its /etc/rancher/k3s/config.yaml",
                                    self.spec.name
                                ),
                            );
                        }
                        if !ready {
                            return End::Passed(format!(
                                "listed by {asker}: InternalIP {}{}, roles {}, kubelet {}",
                                n.internal_ip.as_deref().unwrap_or("none"),
                                if self.spec.node_ip.is_some() {
                                    " (as rendered)"
                                } else {
                                    ""
                                },
                                if n.roles.is_empty() {
                                    "none".into()
                                } else {
                                    n.roles.join(",")
                                },
                                n.kubelet_version
                            ));
                        }
                        match &n.ready {
                            Some(r) if r.status == "True" => {
                                return End::Passed(format!(
                                    "Ready=True ({}), last heartbeat {}",
                                    r.reason, r.last_heartbeat
                                ));
                            }
                            Some(r) => {
                                last = format!("Ready={} ({}: {})", r.status, r.reason, r.message)
                            }
                            None => last = "no Ready condition yet".into(),
                        }
                    }
                },
                Err(e) => last = e.to_string(),
            }
            if let Some((detail, hint)) = self.interrupted() {
                return End::Failed(detail, hint);
            }
            if Instant::now() >= deadline {
                let what = if ready { "Ready" } else { "registered" };
                return End::Failed(
                    shorten(&last, 200),
                    format!(
                        "{} did not get {what}: {} — see `n3x exec {} -- journalctl -u {}`",
                        self.spec.name,
                        shorten(&last, 300),
                        self.spec.name,
                        self.unit
                    ),
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Every expected node Ready, and the expected count, from the API's own list.
async fn cluster_stage(shared: &Shared, nodes: &[NodeReport], begun: Instant) -> StageEvent {
    let event = |outcome, detail: String| StageEvent {
        node: CLUSTER.to_string(),
        stage: Stage::NodeReady,
        outcome,
        at: begun.saturating_duration_since(shared.started) + begun.elapsed(),
        elapsed: begun.elapsed(),
        detail,
    };
    let k3s_nodes: Vec<&NodeReport> = nodes
        .iter()
        .filter(|n| {
            !matches!(
                n.stages[Stage::K3sService as usize].outcome,
                Outcome::Skipped { .. }
            )
        })
        .collect();
    if let Some(u) = k3s_nodes.iter().find(|n| {
        matches!(
            n.stages[Stage::NodeReady as usize].outcome,
            Outcome::Undecided { .. }
        )
    }) {
        let why = match &u
            .stages
            .iter()
            .find(|s| matches!(s.outcome, Outcome::Undecided { .. }))
        {
            Some(StageEvent {
                outcome: Outcome::Undecided { why },
                ..
            }) => why.clone(),
            _ => "undecided".into(),
        };
        return event(
            Outcome::Undecided {
                why: format!("{}: {why}", u.node),
            },
            String::new(),
        );
    }
    let ready: Vec<&str> = k3s_nodes
        .iter()
        .filter(|n| n.stages[Stage::NodeReady as usize].outcome == Outcome::Passed)
        .map(|n| n.node.as_str())
        .collect();
    let not_ready: Vec<String> = k3s_nodes
        .iter()
        .filter(|n| n.stages[Stage::NodeReady as usize].outcome != Outcome::Passed)
        .map(|n| {
            let at = n
                .first_problem()
                .map(|e| e.stage.label())
                .unwrap_or("ready");
            format!("{} (stopped at {at})", n.node)
        })
        .collect();
    let want = shared.expect.ready_count;
    // The API's own count: every node it lists as Ready.
    let listed = match shared
        .api_node
        .as_ref()
        .and_then(|a| shared.channels.get(a))
    {
        Some(ch) if not_ready.is_empty() => match ch.shell("k3s kubectl get nodes -o json").await {
            Ok(out) => kube::nodes(&out.stdout).ok(),
            Err(_) => None,
        },
        _ => None,
    };
    let api_ready = listed
        .as_ref()
        .map(|l| l.iter().filter(|n| n.is_ready()).count());
    let detail = format!(
        "{} of {want} expected nodes Ready{}{}",
        ready.len(),
        if ready.is_empty() {
            String::new()
        } else {
            format!(": {}", ready.join(", "))
        },
        match api_ready {
            Some(n) => format!("; the API lists {n} Ready"),
            None => String::new(),
        }
    );
    if !not_ready.is_empty() {
        let hint = format!(
            "not Ready: {} — see each node's failed stage",
            not_ready.join(", ")
        );
        return event(Outcome::Failed { hint }, detail);
    }
    if ready.len() != want || api_ready.is_some_and(|n| n != want) {
        let hint = format!(
            "expected {want} Ready nodes, {} followed here are Ready and the API lists {} — a node joined that was not expected, or the profile's node list differs from the run's",
            ready.len(),
            api_ready.map(|n| n.to_string()).unwrap_or("?".into())
        );
        return event(Outcome::Failed { hint }, detail);
    }
    event(Outcome::Passed, detail)
}

/// `text` on one line, at most `max` characters.
fn shorten(text: &str, max: usize) -> String {
    let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(max.saturating_sub(3)) {
        Some((i, _)) => format!("{}...", &one[..i]),
        None => one,
    }
}
