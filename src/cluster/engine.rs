//! The cluster engine: from a profile's QEMU plan to running switches, cables and nodes, all
//! under the supervisor, with every node's console watched for its way to the network and
//! its control channel waited for. It publishes its [`ClusterUpdate`]s on the bounded stream
//! it is given ([`Updates`]) and never draws.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::ClusterError;
use super::base::{self, Base};
use super::control::ControlChannel;
use super::info::{ClusterInfo, NodeInfo};
use super::qmp::Qmp;
use super::{accel, capacity, isar, paths, qemu, relay, secrets, switch};
use crate::build::quick::guest;
use crate::build::quick::guest::FW_CFG_LAYERS;
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
    /// What the nodes boot.
    pub backend: ImageBackend,
}

/// What the nodes boot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImageBackend {
    /// The quick image (built from Debian's packages when missing).
    #[default]
    Quick,
    /// Each node's variant's ISAR artifacts (`n3x build --backend isar`).
    Isar,
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
    /// A node of a cluster another process owns: its console through the owner's relay.
    Remote {
        /// The node.
        node: String,
        /// Its console.
        console: super::remote::RemoteConsole,
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
    /// Console lines of a node that were not published because the reader fell behind (the
    /// console log has every one of them).
    Dropped {
        /// The node.
        node: String,
        /// How many lines.
        lines: u64,
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
    /// When the first node's QEMU was spawned.
    pub started: Instant,
    nodes: BTreeMap<String, NodeRun>,
    infrastructure: Vec<Child>,
    supervisor: Supervisor,
    updates: Updates,
    lines: broadcast::Sender<ConsoleLine>,
    first_lines: std::sync::Mutex<Option<broadcast::Receiver<ConsoleLine>>>,
}

/// A node's QEMU and what starting it again needs.
struct NodeRun {
    /// The running (or ended) QEMU.
    child: Child,
    /// Its command line (the same for every start).
    argv: Vec<String>,
    /// Its sockets.
    paths: paths::NodePaths,
    /// How often it was started.
    starts: u32,
    /// Its console relay and its watcher.
    tasks: Vec<JoinHandle<()>>,
}

/// A line of a node's console, when it arrived (for readers other than the update channel).
#[derive(Debug, Clone)]
pub struct ConsoleLine {
    /// The node.
    pub node: String,
    /// The line, without escape codes.
    pub text: String,
    /// When it arrived.
    pub at: Instant,
}

/// How many console lines wait for a slow reader of [`Cluster::console_lines`].
const LINES_KEPT: usize = 16384;

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("profile", &self.plan.profile)
            .field("runtime", &self.runtime)
            .finish()
    }
}

/// Where the engine publishes (the session's stream, mapped).
pub type Updates = crate::stream::Publisher<ClusterUpdate>;

fn note(updates: &Updates, text: impl Into<String>) {
    updates.send(ClusterUpdate::Note(text.into()));
}

/// Publishes console lines, counting the ones a slow reader misses and saying how many before
/// the next line that gets through.
pub struct LinePublisher {
    node: String,
    updates: Updates,
    missed: u64,
}

impl LinePublisher {
    /// Lines of `node` on `updates`.
    pub fn new(node: &str, updates: Updates) -> LinePublisher {
        LinePublisher {
            node: node.to_string(),
            updates,
            missed: 0,
        }
    }

    /// Publishes a line, if the reader keeps up.
    pub fn line(&mut self, text: String) {
        let node = self.node.clone();
        if !self.updates.offer(ClusterUpdate::Line { node, text }) {
            self.missed += 1;
        } else if self.missed > 0 {
            let lines = std::mem::take(&mut self.missed);
            self.updates.send(ClusterUpdate::Dropped {
                node: self.node.clone(),
                lines,
            });
        }
    }

    /// Counts lines that were lost before they got here (the supervisor's buffer was full).
    pub fn missed(&mut self, lines: u64) {
        self.missed += lines;
    }
}

/// Starts the cluster: image, layers, switches, cables, nodes. Returns once every QEMU runs;
/// the nodes' progress arrives as updates (see [`Cluster::wait_ready`]).
pub async fn up(
    p: Arc<Profiles>,
    options: Options,
    supervisor: Supervisor,
    updates: Updates,
) -> Result<Cluster, ClusterError> {
    let profile = crate::render::profile(&p, &options.profile)?;
    let plan = plan(&p, profile, "qemuamd64", options.nodes.as_deref())?;
    for program in ["qemu-system-x86_64", "vde_switch", "vde_plug"] {
        if !crate::build::tools::installed(program) {
            return Err(ClusterError::Missing {
                program: program.into(),
            });
        }
    }
    let runtime = paths::RuntimeDir::create(&options.profile)?;
    if let Ok(old) = ClusterInfo::load(runtime.root())
        && old.owner_alive()
    {
        return Err(ClusterError::refused(
            format!(
                "a {} cluster is already running (owner pid {})",
                old.profile, old.owner
            ),
            format!("`n3x cluster down --profile {}` first", old.profile),
        ));
    }
    let say = {
        let updates = updates.clone();
        move |text: String| note(&updates, text)
    };
    // ISAR: every node's artifacts must be there before anything starts.
    let mut isar_images = BTreeMap::new();
    if options.backend == ImageBackend::Isar {
        let artifacts = options.state.join("artifacts/isar");
        for node in &plan.nodes {
            let v = isar::node_variant(&p, &options.profile, &node.name, "qemuamd64")?;
            let vars = runtime.root().join(format!("{}.OVMF_VARS.fd", node.name));
            let image = isar::image(&p, &v, &artifacts, Path::new(isar::OVMF_DIR), vars)?;
            isar_images.insert(node.name.clone(), image);
        }
        note(
            &updates,
            "booting ISAR images (unverified on real artifacts: none can be built here)",
        );
    }
    let base: Option<Base> = match options.backend {
        ImageBackend::Isar => None,
        ImageBackend::Quick => {
            let base = base::ensure(
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
            Some(base)
        }
    };
    let accel = match (options.accel, &base) {
        (Some(a), _) => a,
        (None, Some(base)) => {
            note(
                &updates,
                "choosing the accelerator (a probe boot, cached per host)",
            );
            accel::choose(base, &options.state, &supervisor).await
        }
        // The probe boots the quick image; an ISAR cluster does not build one for it.
        (None, None) => {
            note(&updates, "ISAR images boot with TCG unless --accel kvm");
            accel::Accel::Tcg
        }
    };
    note(&updates, format!("accelerator: {accel}"));

    let logs = options.state.join("clusters").join(format!(
        "{}-{}",
        options.profile,
        crate::build::state::utc(std::time::SystemTime::now()).replace([':', '-'], "")
    ));
    std::fs::create_dir_all(&logs)
        .map_err(|e| ClusterError::io(format!("create {}", logs.display()), e))?;

    // Layers: each node's rendered tree, and the join token (mode 0600).
    let token = secrets::token(&p)?;
    let secrets_tar = secrets::secrets_layer(&p.cluster.k3s.token.node_path, &token)
        .map_err(|e| ClusterError::io("make the secrets layer", e))?;
    for node in &plan.nodes {
        base::write_node_layer(
            &p,
            &options.profile,
            &node.name,
            &runtime.node_layer(&node.name),
        )?;
        secrets::write_private(&runtime.node_secrets(&node.name), &secrets_tar)
            .map_err(|e| ClusterError::io("write the secrets layer", e))?;
    }

    let mut infrastructure = Vec::new();
    let ports = switch::assign_ports(&plan);
    for segment in &plan.segments {
        let rc = runtime.switch_rc(&segment.name);
        std::fs::write(&rc, switch::switch_rc(segment, &ports))
            .map_err(|e| ClusterError::io(format!("write {}", rc.display()), e))?;
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
        .map_err(|_| ClusterError::Switch {
            switch: segment.name.clone(),
            logs: logs.clone(),
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

    let capacity = capacity::check(&plan, &capacity::Host::read());
    for line in capacity.lines() {
        note(&updates, line);
    }
    if let Some(refusal) = capacity.refusal() {
        return Err(ClusterError::Capacity(refusal));
    }
    let mut nodes = BTreeMap::new();
    let mut infos = Vec::new();
    let (lines, first_lines) = broadcast::channel(LINES_KEPT);
    let started = Instant::now();
    for (i, node) in plan.nodes.iter().enumerate() {
        let node_paths = runtime.node(&node.name);
        let layers = vec![
            (FW_CFG_LAYERS[0].to_string(), runtime.node_layer(&node.name)),
            (
                FW_CFG_LAYERS[1].to_string(),
                runtime.node_secrets(&node.name),
            ),
        ];
        let argv = match (&base, isar_images.get(&node.name)) {
            (Some(base), _) => {
                let images = qemu::NodeImages {
                    kernel: base.vmlinux(),
                    initrd: base.initrd(),
                    image: base.image(),
                    layer: runtime.node_layer(&node.name),
                    secrets: Some(runtime.node_secrets(&node.name)),
                    cmdline: base.manifest.cmdline.clone(),
                };
                qemu::qemu_argv(&plan, node, &images, &node_paths, &ports, accel, &runtime)
            }
            (None, Some(image)) => {
                if let isar::Boot::Firmware { vars, .. } = &image.boot {
                    let template = Path::new(isar::OVMF_DIR).join("OVMF_VARS.fd");
                    std::fs::copy(&template, vars).map_err(|e| {
                        ClusterError::io(
                            format!("copy {} to {}", template.display(), vars.display()),
                            e,
                        )
                    })?;
                }
                isar::isar_argv(
                    &plan,
                    node,
                    image,
                    &node_paths,
                    &ports,
                    accel,
                    &runtime,
                    &layers,
                )
            }
            (None, None) => unreachable!("every ISAR node has its image (checked above)"),
        };
        let console_log = console_log(&logs, &node.name, 0);
        let (child, tasks) = launch(
            &supervisor,
            &updates,
            &node.name,
            argv.clone(),
            console_log.clone(),
            &node_paths,
            &lines,
        )?;
        // A host with fewer cores than vCPUs: the next node starts once this one's kernel
        // speaks, so that they do not all fight for the CPU at once.
        if capacity.stagger && i + 1 < plan.nodes.len() {
            stagger(&child).await;
        }
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
        nodes.insert(
            node.name.clone(),
            NodeRun {
                child,
                argv,
                paths: node_paths,
                starts: 1,
                tasks,
            },
        );
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
        owner_socket: Some(runtime.root().join(paths::OWNER_SOCKET)),
    };
    info.save(runtime.root())
        .map_err(|e| ClusterError::io(format!("write {}", runtime.root().display()), e))?;
    Ok(Cluster {
        plan,
        info,
        runtime: runtime.root().to_path_buf(),
        started,
        nodes,
        infrastructure,
        supervisor,
        updates,
        lines,
        first_lines: std::sync::Mutex::new(Some(first_lines)),
    })
}

/// The console log of a node's `start`-th start (0 is the first).
fn console_log(logs: &std::path::Path, node: &str, start: u32) -> PathBuf {
    if start == 0 {
        logs.join(format!("{node}.console.log"))
    } else {
        logs.join(format!("{node}.console.{}.log", start + 1))
    }
}

/// How long a staggered start waits at most for a node's kernel to speak.
pub const STAGGER_MAX: Duration = Duration::from_secs(20);

/// Waits until the node's console has printed something (its kernel boots), or
/// [`STAGGER_MAX`], or its QEMU ends.
async fn stagger(child: &Child) {
    let start = Instant::now();
    while start.elapsed() < STAGGER_MAX && child.try_status().is_none() {
        if child.bytes_written() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts a node's QEMU with its console relay and its watcher.
fn launch(
    supervisor: &Supervisor,
    updates: &Updates,
    name: &str,
    argv: Vec<String>,
    console_log: PathBuf,
    node_paths: &paths::NodePaths,
    lines: &broadcast::Sender<ConsoleLine>,
) -> Result<(Child, Vec<JoinHandle<()>>), ClusterError> {
    let mut spec = Spec::new(argv, console_log);
    spec.size = (40, 160);
    spec.scrollback = 2000;
    let child = supervisor
        .spawn(spec)
        .map_err(|source| ClusterError::Spawn {
            what: format!("QEMU for {name}"),
            source,
        })?;
    updates.send(ClusterUpdate::Console {
        node: name.to_string(),
        child: child.clone(),
    });
    updates.send(ClusterUpdate::State {
        node: name.to_string(),
        state: NodeState::Starting,
    });
    let tasks = vec![
        tokio::spawn(relay_task(node_paths.console.clone(), child.clone())),
        tokio::spawn(watch_node(
            name.to_string(),
            child.clone(),
            ControlChannel::new(node_paths.control.clone()),
            updates.clone(),
            lines.clone(),
        )),
    ];
    Ok((child, tasks))
}

fn spawn(supervisor: &Supervisor, argv: Vec<String>, log: PathBuf) -> Result<Child, ClusterError> {
    let program = argv.first().cloned().unwrap_or_default();
    let mut spec = Spec::new(argv, log);
    spec.scrollback = 100;
    supervisor
        .spawn(spec)
        .map_err(|source| ClusterError::Spawn {
            what: program,
            source,
        })
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

/// The addresses a console line announces with the network-up marker
/// (`N3X-NET-UP eth1=192.168.1.1/24 uptime=…` gives `["eth1=192.168.1.1/24"]`).
pub fn net_up_addresses(text: &str) -> Option<Vec<String>> {
    let rest = text.split(guest::NET_UP_MARKER).nth(1)?;
    Some(
        rest.split_whitespace()
            .filter(|w| !w.starts_with("uptime="))
            .map(str::to_string)
            .collect(),
    )
}

/// Follows a node's console to `N3X-NET-UP`, then waits for its control channel; reports a
/// QEMU that ends with its last console lines.
async fn watch_node(
    node: String,
    child: Child,
    control: ControlChannel,
    updates: Updates,
    lines_out: broadcast::Sender<ConsoleLine>,
) {
    let state = |s: NodeState| {
        tracing::info!(node = %node, state = ?s, "node state");
        updates.send(ClusterUpdate::State {
            node: node.clone(),
            state: s,
        });
    };
    let Some(mut lines) = child.take_lines() else {
        return;
    };
    let mut published = LinePublisher::new(&node, updates.clone());
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
                    if let Some(found) = net_up_addresses(&text) {
                        state(if answers {
                            NodeState::Ready(found.clone())
                        } else {
                            NodeState::NetworkUp(found.clone())
                        });
                        addresses = Some(found);
                    }
                    let _ = lines_out.send(ConsoleLine {
                        node: node.clone(),
                        text: text.clone(),
                        at: Instant::now(),
                    });
                    published.line(text);
                }
                Some(Output::Dropped(n)) => published.missed(n),
                None => break,
            },
            // The control channel is asked only once the network is up, as a plain script
            // would: connecting early costs the booting guest time for nothing.
            result = control.wait_ready(BOOT_DEADLINE.saturating_sub(started.elapsed())),
                if !waited && addresses.is_some() => {
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
            () = tokio::time::sleep_until((started + BOOT_DEADLINE).into()), if addresses.is_none() && !waited => {
                waited = true;
                state(NodeState::Failed(format!(
                    "the network did not come up within {}s (no {} on the console)",
                    BOOT_DEADLINE.as_secs(),
                    guest::NET_UP_MARKER
                )));
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
        self.nodes.get(name).map(|n| &n.child)
    }

    /// Every node's console lines. The first call gets them from the first node's start
    /// (as many as [`LINES_KEPT`]); later calls from now on.
    pub fn console_lines(&self) -> broadcast::Receiver<ConsoleLine> {
        let first = self.first_lines.lock().ok().and_then(|mut f| f.take());
        first.unwrap_or_else(|| self.lines.subscribe())
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

    fn run_mut(&mut self, name: &str) -> Result<&mut NodeRun, ClusterError> {
        self.info.node(name)?;
        self.nodes.get_mut(name).ok_or_else(|| {
            ClusterError::refused(
                format!("no node `{name}` runs here"),
                "`n3x cluster status` lists the nodes",
            )
        })
    }

    /// Stops a node's QEMU and waits for it; its tile says `stopped`. Stopping a node that
    /// does not run does nothing.
    pub async fn stop_node(&mut self, name: &str) -> Result<(), ClusterError> {
        let run = self.run_mut(name)?;
        if run.child.try_status().is_none() {
            run.child.cancel();
            run.child.wait().await;
        }
        for task in run.tasks.drain(..) {
            task.abort();
        }
        self.updates.send(ClusterUpdate::State {
            node: name.to_string(),
            state: NodeState::Stopped,
        });
        Ok(())
    }

    /// Starts a stopped (or ended) node again with the same command line, images and switch
    /// ports; its console goes to a new log (`NODE.console.N.log`) and `cluster.json` names
    /// the new QEMU.
    pub async fn start_node(&mut self, name: &str) -> Result<(), ClusterError> {
        let (supervisor, updates) = (self.supervisor.clone(), self.updates.clone());
        let lines = self.lines.clone();
        let logs = self.info.logs.clone();
        let run = self.run_mut(name)?;
        if run.child.try_status().is_none() {
            return Err(ClusterError::refused(
                format!("{name} runs already (QEMU pid {})", run.child.pid()),
                "restart it instead",
            ));
        }
        for task in run.tasks.drain(..) {
            task.abort();
        }
        let log = console_log(&logs, name, run.starts);
        let (child, tasks) = launch(
            &supervisor,
            &updates,
            name,
            run.argv.clone(),
            log.clone(),
            &run.paths,
            &lines,
        )?;
        run.starts += 1;
        run.child = child.clone();
        run.tasks = tasks;
        if let Some(info) = self.info.nodes.iter_mut().find(|n| n.name == name) {
            info.pid = child.pid();
            info.console_log = log;
        }
        self.info
            .save(&self.runtime)
            .map_err(|e| ClusterError::io(format!("write {}", self.runtime.display()), e))?;
        note(
            &updates,
            format!("{name}: QEMU started again (pid {})", child.pid()),
        );
        Ok(())
    }

    /// Stops a node and starts it again.
    pub async fn restart_node(&mut self, name: &str) -> Result<(), ClusterError> {
        self.stop_node(name).await?;
        self.start_node(name).await
    }

    /// The names of the nodes in plan order.
    pub fn node_names(&self) -> Vec<String> {
        self.info.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Stops the nodes (QEMU quits), then the cables and switches, and waits for all of them;
    /// removes the runtime directory's description.
    pub async fn down(self) {
        for run in self.nodes.values() {
            run.child.cancel();
        }
        for run in self.nodes.values() {
            run.child.wait().await;
        }
        for child in &self.infrastructure {
            child.cancel();
        }
        for child in &self.infrastructure {
            child.wait().await;
        }
        for run in self.nodes.values() {
            for task in &run.tasks {
                task.abort();
            }
        }
        // Sockets, layers and the secrets layers with the join token go with the cluster.
        let _ = std::fs::remove_dir_all(&self.runtime);
    }
}
