//! The cluster engine: from a profile's QEMU plan to running switches, cables and nodes, all
//! under the supervisor, with every node's console watched for its way to the network and
//! its control channel waited for. It publishes [`ClusterUpdate`]s and never draws.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::base::{self, Base};
use super::control::ControlChannel;
use super::info::{ClusterInfo, NodeInfo};
use super::qmp::Qmp;
use super::{accel, paths, qemu, relay, secrets, switch};
use crate::build::quick::guest;
use crate::profile::Profiles;
use crate::render::qemu::{Plan, plan};
use crate::supervise::{Child, Output, Spec, Supervisor};

/// How long a node may take from QEMU's start to its control channel answering.
pub const BOOT_DEADLINE: Duration = Duration::from_secs(300);

/// What to start.
#[derive(Debug, Clone)]
pub struct Options {
    /// The network profile.
    pub profile: String,
    /// Only these nodes (default: every node of the profile).
    pub nodes: Option<Vec<String>>,
    /// The accelerator; `None` probes (cached per host).
    pub accel: Option<accel::Accel>,
    /// A k3s binary for the image.
    pub k3s_binary: Option<PathBuf>,
    /// The repository root.
    pub repo: PathBuf,
    /// The state directory (images, console logs).
    pub state: PathBuf,
}

/// Where a node is on its way up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// QEMU is starting.
    Starting,
    /// The kernel is booting (the console has spoken).
    Booting,
    /// The network is up; the addresses the node printed (`eth1.200=192.168.200.1/24`).
    NetworkUp(Vec<String>),
    /// The control channel answers.
    Ready(Vec<String>),
    /// QEMU ended or the node never answered: why, with the console's last lines.
    Failed(String),
    /// Stopped on purpose.
    Stopped,
}

impl NodeState {
    /// One word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            NodeState::Starting => "starting",
            NodeState::Booting => "booting",
            NodeState::NetworkUp(_) => "network up",
            NodeState::Ready(_) => "ready",
            NodeState::Failed(_) => "failed",
            NodeState::Stopped => "stopped",
        }
    }
}

/// What happened to the cluster.
#[derive(Debug, Clone)]
pub enum ClusterUpdate {
    /// Something worth a line (image building, switches starting …).
    Note(String),
    /// A node's QEMU runs; its console is this program's screen.
    Console {
        /// The node.
        node: String,
        /// Its QEMU (the serial console is its terminal).
        child: Child,
    },
    /// A line of a node's console.
    Line {
        /// The node.
        node: String,
        /// The line, without escape codes.
        text: String,
    },
    /// The switches' ports and packet counters, as `n3x cluster status` prints them.
    Topology(String),
    /// A node moved on.
    State {
        /// The node.
        node: String,
        /// Where it is now.
        state: NodeState,
    },
}

/// A running cluster. Dropping it stops every process (the supervisor cancels them); call
/// [`Cluster::down`] to stop them in order and wait.
pub struct Cluster {
    /// The plan it runs.
    pub plan: Plan,
    /// Its description for other processes.
    pub info: ClusterInfo,
    /// The runtime directory.
    pub runtime: PathBuf,
    nodes: BTreeMap<String, Child>,
    infrastructure: Vec<Child>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("profile", &self.plan.profile)
            .field("runtime", &self.runtime)
            .finish()
    }
}

/// Sends updates somewhere (the event bus, a printer).
pub type Updates = mpsc::UnboundedSender<ClusterUpdate>;

fn note(updates: &Updates, text: impl Into<String>) {
    let _ = updates.send(ClusterUpdate::Note(text.into()));
}

/// Starts the cluster: image, layers, switches, cables, nodes. Returns once every QEMU runs;
/// the nodes' progress arrives as updates (see [`Cluster::wait_ready`]).
pub async fn up(
    p: Arc<Profiles>,
    options: Options,
    supervisor: Supervisor,
    updates: Updates,
) -> Result<Cluster, String> {
    let profile = crate::render::profile(&p, &options.profile).map_err(|e| e.to_string())?;
    let plan =
        plan(&p, profile, "qemuamd64", options.nodes.as_deref()).map_err(|e| e.to_string())?;
    for program in ["qemu-system-x86_64", "vde_switch", "vde_plug"] {
        if !crate::build::tools::installed(program) {
            return Err(crate::build::tools::missing(program));
        }
    }
    let runtime = paths::RuntimeDir::create(&options.profile)?;
    if let Ok(old) = ClusterInfo::load(runtime.root())
        && old.owner_alive()
    {
        return Err(format!(
            "a {} cluster is already running (owner pid {})\n  fix: `n3x cluster down --profile {}` first",
            old.profile, old.owner, old.profile
        ));
    }
    let say = {
        let updates = updates.clone();
        move |text: String| note(&updates, text)
    };
    let base: Base = base::ensure(
        Arc::clone(&p),
        &options.repo,
        &options.state,
        options.k3s_binary.clone(),
        supervisor.clone(),
        &say,
    )
    .await?;
    if let Some(why) = &base.manifest.k3s_missing {
        note(&updates, format!("the image has no k3s: {why}"));
    }
    let accel = match options.accel {
        Some(a) => a,
        None => {
            note(
                &updates,
                "choosing the accelerator (a probe boot, cached per host)",
            );
            accel::choose(&base, &options.state, &supervisor).await
        }
    };
    note(&updates, format!("accelerator: {accel}"));

    let logs = options.state.join("clusters").join(format!(
        "{}-{}",
        options.profile,
        crate::build::state::utc(std::time::SystemTime::now()).replace([':', '-'], "")
    ));
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;

    // Layers: each node's rendered tree, and the join token (mode 0600).
    let token = secrets::token(&p).map_err(|e| e.to_string())?;
    let secrets_tar = secrets::secrets_layer(&p.cluster.k3s.token.node_path, &token)
        .map_err(|e| e.to_string())?;
    for node in &plan.nodes {
        base::write_node_layer(
            &p,
            &options.profile,
            &node.name,
            &runtime.node_layer(&node.name),
        )?;
        secrets::write_private(&runtime.node_secrets(&node.name), &secrets_tar)
            .map_err(|e| format!("cannot write the secrets layer: {e}"))?;
    }

    let mut infrastructure = Vec::new();
    let ports = switch::assign_ports(&plan);
    for segment in &plan.segments {
        let rc = runtime.switch_rc(&segment.name);
        std::fs::write(&rc, switch::switch_rc(segment, &ports))
            .map_err(|e| format!("cannot write {}: {e}", rc.display()))?;
        let argv = switch::switch_argv(
            &runtime.switch_dir(&segment.name),
            &runtime.switch_mgmt(&segment.name),
            &rc,
        );
        let child = spawn(
            &supervisor,
            argv,
            logs.join(format!("{}.log", segment.name)),
        )?;
        note(
            &updates,
            format!("switch {} (VLANs {:?})", segment.name, segment.vlans),
        );
        infrastructure.push(child);
    }
    for segment in &plan.segments {
        wait_for_path(
            &runtime.switch_dir(&segment.name).join("ctl"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|_| {
            format!(
                "the switch {} did not come up (see its log in {})",
                segment.name,
                logs.display()
            )
        })?;
    }
    for cable in &plan.cables {
        let (a, b) = ports.cable(cable);
        let argv = switch::cable_argv(
            &runtime.switch_dir(&cable.a),
            a,
            &runtime.switch_dir(&cable.b),
            b,
        );
        infrastructure.push(spawn(
            &supervisor,
            argv,
            logs.join(format!("cable-{}-{}.log", cable.a, cable.b)),
        )?);
        note(&updates, format!("cable {} — {}", cable.a, cable.b));
    }

    let mut nodes = BTreeMap::new();
    let mut tasks = Vec::new();
    let mut infos = Vec::new();
    for node in &plan.nodes {
        let node_paths = runtime.node(&node.name);
        let images = qemu::NodeImages {
            kernel: base.vmlinux(),
            initrd: base.initrd(),
            image: base.image(),
            layer: runtime.node_layer(&node.name),
            secrets: Some(runtime.node_secrets(&node.name)),
            cmdline: base.manifest.cmdline.clone(),
        };
        let argv = qemu::qemu_argv(&plan, node, &images, &node_paths, &ports, accel, &runtime);
        let console_log = logs.join(format!("{}.console.log", node.name));
        let mut spec = Spec::new(argv, console_log.clone());
        spec.size = (40, 160);
        spec.scrollback = 2000;
        let child = supervisor
            .spawn(spec)
            .map_err(|e| format!("cannot start QEMU for {}: {e}", node.name))?;
        let _ = updates.send(ClusterUpdate::Console {
            node: node.name.clone(),
            child: child.clone(),
        });
        let _ = updates.send(ClusterUpdate::State {
            node: node.name.clone(),
            state: NodeState::Starting,
        });
        tasks.push(tokio::spawn(relay_task(
            node_paths.console.clone(),
            child.clone(),
        )));
        tasks.push(tokio::spawn(watch_node(
            node.name.clone(),
            child.clone(),
            ControlChannel::new(node_paths.control.clone()),
            updates.clone(),
        )));
        infos.push(NodeInfo {
            name: node.name.clone(),
            role: node.role.clone(),
            pid: child.pid(),
            control: node_paths.control.clone(),
            qmp: node_paths.qmp.clone(),
            console: node_paths.console.clone(),
            console_log,
            nics: node
                .nics
                .iter()
                .map(|n| (n.name.clone(), n.mac.clone(), n.segment.clone()))
                .collect(),
        });
        nodes.insert(node.name.clone(), child);
    }
    let info = ClusterInfo {
        profile: options.profile.clone(),
        owner: std::process::id(),
        accel: accel.to_string(),
        nodes: infos,
        logs,
        switches: plan
            .segments
            .iter()
            .map(|s| super::info::SwitchInfo {
                name: s.name.clone(),
                mgmt: runtime.switch_mgmt(&s.name),
                vlans: s.vlans.clone(),
                ports: ports.owners(&s.name),
            })
            .collect(),
    };
    info.save(runtime.root())
        .map_err(|e| format!("cannot write {}: {e}", runtime.root().display()))?;
    Ok(Cluster {
        plan,
        info,
        runtime: runtime.root().to_path_buf(),
        nodes,
        infrastructure,
        tasks,
    })
}

fn spawn(supervisor: &Supervisor, argv: Vec<String>, log: PathBuf) -> Result<Child, String> {
    let program = argv.first().cloned().unwrap_or_default();
    let mut spec = Spec::new(argv, log);
    spec.scrollback = 100;
    supervisor
        .spawn(spec)
        .map_err(|e| format!("cannot start {program}: {e}"))
}

async fn wait_for_path(path: &std::path::Path, deadline: Duration) -> Result<(), ()> {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if path.exists() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(())
}

async fn relay_task(socket: PathBuf, child: Child) {
    let _ = relay::serve(socket, child).await;
}

/// Follows a node's console to `N3X-NET-UP`, then waits for its control channel; reports a
/// QEMU that ends with its last console lines.
async fn watch_node(node: String, child: Child, control: ControlChannel, updates: Updates) {
    let state = |s: NodeState| {
        let _ = updates.send(ClusterUpdate::State {
            node: node.clone(),
            state: s,
        });
    };
    let Some(mut lines) = child.take_lines() else {
        return;
    };
    let mut booting = false;
    let mut addresses: Option<Vec<String>> = None;
    let started = Instant::now();
    // Ready means both: the network is up (the marker) and the control channel answers.
    let mut waited = false;
    let mut answers = false;
    loop {
        tokio::select! {
            line = lines.recv() => match line {
                Some(Output::Line { text, .. }) => {
                    if !booting && !text.trim().is_empty() {
                        booting = true;
                        state(NodeState::Booting);
                    }
                    if let Some(rest) = text.split(guest::NET_UP_MARKER).nth(1) {
                        let found: Vec<String> = rest
                            .split_whitespace()
                            .filter(|w| !w.starts_with("uptime="))
                            .map(str::to_string)
                            .collect();
                        state(if answers {
                            NodeState::Ready(found.clone())
                        } else {
                            NodeState::NetworkUp(found.clone())
                        });
                        addresses = Some(found);
                    }
                    let _ = updates.send(ClusterUpdate::Line { node: node.clone(), text });
                }
                Some(Output::Dropped(_)) => {}
                None => break,
            },
            result = control.wait_ready(BOOT_DEADLINE), if !waited => {
                waited = true;
                match result {
                    Ok(()) => {
                        answers = true;
                        if let Some(found) = &addresses {
                            state(NodeState::Ready(found.clone()));
                        }
                    }
                    Err(e) => state(NodeState::Failed(format!(
                        "{e} (after {}s)",
                        started.elapsed().as_secs()
                    ))),
                }
            }
        }
    }
    let status = child.wait().await;
    if child.cancel_requested() {
        state(NodeState::Stopped);
    } else {
        let tail = child.tail();
        let last: Vec<&String> = tail.iter().rev().take(5).collect();
        state(NodeState::Failed(format!(
            "QEMU {status}; last console lines: {}",
            last.into_iter()
                .rev()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" | ")
        )));
    }
}

impl Cluster {
    /// The node called `name`'s QEMU.
    pub fn node(&self, name: &str) -> Option<&Child> {
        self.nodes.get(name)
    }

    /// The QMP client of a node.
    pub fn qmp(&self, name: &str) -> Option<Qmp> {
        self.info.node(name).ok().map(|n| Qmp::new(n.qmp.clone()))
    }

    /// The control channel of a node.
    pub fn control(&self, name: &str) -> Option<ControlChannel> {
        self.info
            .node(name)
            .ok()
            .map(|n| ControlChannel::new(n.control.clone()))
    }

    /// Stops the nodes (QEMU quits), then the cables and switches, and waits for all of them;
    /// removes the runtime directory's description.
    pub async fn down(self) {
        for child in self.nodes.values() {
            child.cancel();
        }
        for child in self.nodes.values() {
            child.wait().await;
        }
        for child in &self.infrastructure {
            child.cancel();
        }
        for child in &self.infrastructure {
            child.wait().await;
        }
        for task in &self.tasks {
            task.abort();
        }
        // Sockets, layers and the secrets layers with the join token go with the cluster.
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}
