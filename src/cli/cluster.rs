//! `n3x cluster up|status|down`, `n3x console`, `n3x exec` and `n3x link`.
//!
//! `cluster up` owns the cluster: it stays in the foreground printing every node's progress
//! and console, like `compose up`, and tears everything down on Ctrl-C or SIGTERM. The other
//! commands find the cluster through `cluster.json` in the private runtime directory and talk
//! to its sockets: the console relay, the control channel, QMP.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::Failure;
use crate::cluster::accel::Accel;
use crate::cluster::control::ControlChannel;
use crate::cluster::engine::{self, ClusterUpdate, NodeState, Options};
use crate::cluster::info::{ClusterInfo, process_alive};
use crate::cluster::qmp::Qmp;
use crate::cluster::{paths, procstat, relay};
use crate::profile::Profiles;
use crate::readiness::ReadinessUpdate;
use crate::session::{self, Command, Session, SessionUpdate, socket};
use crate::supervise::Supervisor;

/// `n3x cluster …`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Boot a profile's cluster and hold it in the foreground until Ctrl-C (which tears it down).
    Up(UpArgs),
    /// Show the running cluster's nodes.
    Status(StatusArgs),
    /// Stop the running cluster (its owner tears it down).
    Down(ProfileArg),
    /// Stop nodes' QEMUs and start them again with the same images and ports (default: all).
    Restart(NodesArg),
    /// Stop nodes' QEMUs (the rest of the cluster keeps running).
    Stop(NodesArg),
    /// Start stopped nodes again.
    Start(NodesArg),
}

/// Nodes of the running cluster.
#[derive(Debug, Args)]
pub struct NodesArg {
    /// The nodes (default: every node of the cluster).
    #[arg(value_name = "NODE", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::node_names))]
    pub nodes: Vec<String>,
    #[command(flatten)]
    /// Which cluster.
    pub which: ProfileArg,
}

/// Arguments of `n3x cluster status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    /// Which cluster.
    pub which: ProfileArg,
    /// JSON (profile, owner, accel, logs, nodes with name, role, pid, running, rss_mib,
    /// console_log, nics; switches) instead of the tables.
    #[arg(long)]
    pub json: bool,
}

/// Which cluster: the profile, or the only one running.
#[derive(Debug, Args)]
pub struct ProfileArg {
    /// The network profile of the cluster (default: the only one running).
    #[arg(long, value_name = "P", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::profile_names))]
    pub profile: Option<String>,
}

/// The flags of every command that boots VMs (`cluster up`, `test`).
#[derive(Debug, Clone, Args)]
pub struct BootArgs {
    /// The accelerator: kvm, tcg, or auto (a probe boot, cached per host).
    #[arg(long, default_value = "auto", value_name = "A")]
    pub accel: String,
    /// A k3s binary for the images (otherwise downloaded when online; without one the images
    /// have no k3s and the k3s stages cannot be decided).
    #[arg(long, value_name = "PATH")]
    pub k3s_binary: Option<PathBuf>,
    /// The state directory (images, console logs, test history); default: $N3X_STATE_DIR,
    /// $XDG_STATE_HOME/n3x or ~/.local/state/n3x.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl BootArgs {
    /// The accelerator asked for; `None` for `auto` (probe it).
    pub fn accel(&self) -> Result<Option<Accel>, String> {
        match self.accel.as_str() {
            "auto" => Ok(None),
            other => other.parse::<Accel>().map(Some).map_err(|e| e.to_string()),
        }
    }

    /// The k3s binary: the flag, `N3X_K3S_BINARY` or `k3s_binary:` in config.yaml.
    pub fn k3s_binary(&self) -> Result<Option<PathBuf>, Failure> {
        crate::config::k3s_binary(
            self.k3s_binary.as_deref(),
            &crate::config::Env::from_process(),
        )
        .map_err(|e| Failure::usage(e.to_string()))
    }

    /// The state directory, from the flag or the environment.
    pub fn state(&self) -> Result<PathBuf, String> {
        crate::cli::build::state_dir(self.state_dir.as_ref())
    }
}

/// The checkout the profiles `p` belong to: images are built from its files.
pub fn repo_of(p: &Profiles) -> PathBuf {
    p.root
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Arguments of `n3x cluster up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The network profile to boot.
    #[arg(long, value_name = "P", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::profile_names))]
    pub profile: String,
    /// Only these nodes (comma-separated; default: every node of the profile).
    #[arg(long, value_name = "a,b,c", value_delimiter = ',', add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::node_names))]
    pub nodes: Option<Vec<String>>,
    #[command(flatten)]
    /// How the nodes boot.
    pub boot: BootArgs,
    /// What the nodes boot: quick (the Debian test image, built when missing) or isar (each
    /// node's variant's artifacts from `n3x build --backend isar`; direct kernel boot, or
    /// OVMF firmware when there is no kernel and initrd).
    #[arg(long, default_value = "quick", value_parser = ["quick", "isar"])]
    pub backend: String,
    /// Return once every node answers, leaving a small `n3x` process that owns the cluster
    /// (its output goes to a log); `n3x cluster down` stops it.
    #[arg(long)]
    pub detach: bool,
}

/// Arguments of `n3x console`.
#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// The node.
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::node_names))]
    pub node: String,
    #[command(flatten)]
    /// Which cluster.
    pub which: ProfileArg,
}

/// Arguments of `n3x exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The node.
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::node_names))]
    pub node: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    #[command(flatten)]
    /// Which cluster.
    pub which: ProfileArg,
}

/// Arguments of `n3x link`.
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// The node.
    #[arg(add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::node_names))]
    pub node: String,
    /// The NIC (`eth1`).
    pub nic: String,
    /// `up` or `down`.
    #[arg(value_parser = ["up", "down"])]
    pub state: String,
    #[command(flatten)]
    /// Which cluster.
    pub which: ProfileArg,
}

fn runtime_for(which: &ProfileArg) -> Result<ClusterInfo, String> {
    let base = paths::runtime_base();
    let infos: Vec<ClusterInfo> = match &which.profile {
        Some(profile) => vec![ClusterInfo::load(&base.join(profile)).map_err(|e| e.to_string())?],
        None => std::fs::read_dir(&base)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| ClusterInfo::load(&e.path()).ok())
                    .filter(ClusterInfo::owner_alive)
                    .collect()
            })
            .unwrap_or_default(),
    };
    match infos.as_slice() {
        [one] if one.owner_alive() => Ok(one.clone()),
        [one] => Err(format!(
            "the {} cluster's owner (pid {}) is gone; nothing runs\n  fix: `n3x cluster up --profile {}`",
            one.profile, one.owner, one.profile
        )),
        [] => Err("no cluster is running\n  fix: `n3x cluster up --profile P`".into()),
        many => Err(format!(
            "{} clusters are running ({}); say which with --profile",
            many.len(),
            many.iter()
                .map(|i| i.profile.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// Runs `n3x cluster …`. `Err` is a usage or setup error (exit code 2).
pub fn cluster(p: Profiles, command: &ClusterCommand) -> Result<ExitCode, Failure> {
    match command {
        ClusterCommand::Up(args) => up(p, args),
        ClusterCommand::Status(StatusArgs { which, json: true }) => {
            let info = runtime_for(which)?;
            crate::out!("{}", crate::cli::json::text(&status_json(&info)));
            Ok(ExitCode::SUCCESS)
        }
        ClusterCommand::Status(StatusArgs { which, .. }) => {
            let info = runtime_for(which)?;
            let mut text = status_table(&info);
            text.push_str(&runtime()?.block_on(session::topology(&info)));
            crate::out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        ClusterCommand::Down(which) => {
            let info = runtime_for(which)?;
            let done = runtime()?
                .block_on(session::stop(&info))
                .map_err(|e| e.to_string())?;
            crate::outln!("{done}");
            Ok(ExitCode::SUCCESS)
        }
        ClusterCommand::Restart(which) => nodes_request(which, Command::Restart),
        ClusterCommand::Stop(which) => nodes_request(which, Command::Stop),
        ClusterCommand::Start(which) => nodes_request(which, Command::Start),
    }
}

/// Asks the owner of `which`'s cluster to do `request` to each of its nodes, in turn.
fn nodes_request(which: &NodesArg, request: fn(String) -> Command) -> Result<ExitCode, Failure> {
    let info = runtime_for(&which.which)?;
    let names: Vec<String> = if which.nodes.is_empty() {
        info.nodes.iter().map(|n| n.name.clone()).collect()
    } else {
        for n in &which.nodes {
            info.node(n).map_err(|e| Failure::usage(e.to_string()))?;
        }
        which.nodes.clone()
    };
    let socket = owner_socket(&info)?;
    let rt = runtime()?;
    let mut failed = false;
    for name in names {
        match rt.block_on(socket::ask(
            &socket,
            &request(name.clone()),
            socket::TIMEOUT,
        )) {
            Ok(done) => crate::outln!("{done}"),
            Err(e) => {
                eprintln!("n3x: {name}: {e}");
                failed = true;
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn owner_socket(info: &ClusterInfo) -> Result<PathBuf, String> {
    info.owner_socket.clone().ok_or_else(|| {
        session::SessionError::NoSocket {
            profile: info.profile.clone(),
            pid: info.owner,
        }
        .to_string()
    })
}

fn status_table(info: &ClusterInfo) -> String {
    let mut out = format!(
        "cluster {} · owner pid {} · accelerator {} · console logs in {}\n",
        info.profile,
        info.owner,
        info.accel,
        info.logs.display()
    );
    out.push_str(&format!(
        "{:<12} {:<8} {:<8} {:<7} {:>6} {:>9}\n",
        "NODE", "ROLE", "PID", "QEMU", "CPU", "RSS"
    ));
    // CPU use over one second, every node measured over the same second.
    let meters: Vec<procstat::CpuMeter> = info
        .nodes
        .iter()
        .map(|n| {
            let m = procstat::CpuMeter::default();
            m.sample(n.pid);
            m
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    for (n, meter) in info.nodes.iter().zip(&meters) {
        let alive = process_alive(n.pid);
        let cpu = meter
            .sample(n.pid)
            .filter(|_| alive)
            .map_or("-".to_string(), |p| format!("{p:.0}%"));
        let rss = procstat::rss_mib(n.pid)
            .filter(|_| alive)
            .map_or("-".to_string(), |m| format!("{m} MiB"));
        out.push_str(&format!(
            "{:<12} {:<8} {:<8} {:<7} {cpu:>6} {rss:>9}\n",
            n.name,
            n.role,
            n.pid,
            if alive { "running" } else { "gone" }
        ));
    }
    out
}

/// `cluster status --json`.
fn status_json(info: &ClusterInfo) -> serde_json::Value {
    let nodes: Vec<serde_json::Value> = info
        .nodes
        .iter()
        .map(|n| {
            let running = process_alive(n.pid);
            serde_json::json!({
                "name": n.name,
                "role": n.role,
                "pid": n.pid,
                "running": running,
                "rss_mib": procstat::rss_mib(n.pid).filter(|_| running),
                "console_log": n.console_log,
                "nics": n.nics.iter().map(|(name, mac, segment)| serde_json::json!({
                    "name": name, "mac": mac, "segment": segment,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let switches: Vec<serde_json::Value> = info
        .switches
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.name,
                "vlans": s.vlans,
                "ports": s.ports.iter().map(|(port, plugged, vlans)| serde_json::json!({
                    "port": port, "plugged": plugged, "vlans": vlans,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "profile": info.profile,
        "owner": info.owner,
        "accel": info.accel,
        "logs": info.logs,
        "nodes": nodes,
        "switches": switches,
    })
}

/// How the owner's readiness summary line begins.
const READINESS: &str = "n3x: readiness: ";

/// `cluster up --detach`: the same command without `--detach` in a new session, its output
/// in a log, and this process waits until every node is ready (or one fails).
fn detach(args: &UpArgs, state: &std::path::Path) -> Result<ExitCode, Failure> {
    use std::os::unix::process::CommandExt;
    let logs = state.join("clusters");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let log_path = logs.join(format!("{}-owner.log", args.profile));
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find n3x itself: {e}"))?;
    let argv: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--detach")
        .collect();
    let mut command = std::process::Command::new(exe);
    command
        .args(&argv)
        .env("N3X_STATE_DIR", state)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe; the owner leaves this terminal's session so that
    // closing the terminal does not end the cluster.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut owner = command
        .spawn()
        .map_err(|e| format!("cannot start the owner: {e}"))?;
    crate::outln!(
        "n3x: the cluster owner runs as pid {}; its output goes to {}",
        owner.id(),
        log_path.display()
    );
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(500));
        if let Ok(Some(status)) = owner.try_wait() {
            return Err(Failure::from(format!(
                "the cluster owner ended ({status}) before the nodes were ready; see {}",
                log_path.display()
            )));
        }
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(failed) = text.lines().find(|l| l.contains("] == failed")) {
            return Err(Failure::from(format!(
                "{failed}\n  the cluster keeps running for inspection; `n3x cluster down --profile {}` stops it",
                args.profile
            )));
        }
        // The owner prints the readiness summary once every node passed its stages, one
        // failed, or a stage could not be decided (an image without k3s).
        if let Some(at) = text.find(READINESS) {
            let summary: String = text[at..]
                .lines()
                .take_while(|l| !l.starts_with('['))
                .collect::<Vec<_>>()
                .join("\n");
            // What the owner found about the host's capacity.
            for line in text
                .lines()
                .filter(|l| l.starts_with("n3x: capacity:") || l.starts_with("n3x: warning:"))
            {
                crate::outln!("{line}");
            }
            if summary.starts_with(&format!("{READINESS}FAILED")) {
                eprintln!(
                    "{summary}\nn3x: the {} cluster keeps running for inspection; `n3x cluster down --profile {}` stops it",
                    args.profile, args.profile
                );
                return Ok(ExitCode::FAILURE);
            }
            let nodes = ClusterInfo::load(&paths::runtime_base().join(&args.profile))
                .ok()
                .filter(|i| i.owner == owner.id())
                .map(|i| i.nodes.len())
                .unwrap_or(0);
            crate::outln!(
                "{summary}\nn3x: the {} cluster is up: {nodes} nodes ready after {}s; `n3x cluster down --profile {}` stops it",
                args.profile,
                start.elapsed().as_secs(),
                args.profile
            );
            return Ok(ExitCode::SUCCESS);
        }
        if start.elapsed() > Duration::from_secs(1800) {
            return Err(Failure::from(
                "the nodes were not ready within 30 minutes".to_string(),
            ));
        }
    }
}

fn up(p: Profiles, args: &UpArgs) -> Result<ExitCode, Failure> {
    let state = args.boot.state()?;
    if args.detach {
        return detach(args, &state);
    }
    let options = Options {
        profile: args.profile.clone(),
        nodes: args.nodes.clone(),
        accel: args.boot.accel().map_err(Failure::usage)?,
        k3s_binary: args.boot.k3s_binary()?,
        repo: repo_of(&p),
        state,
        backend: if args.backend == "isar" {
            engine::ImageBackend::Isar
        } else {
            engine::ImageBackend::Quick
        },
    };
    let outcome = runtime()?.block_on(async move {
        let supervisor = Supervisor::new().map_err(|e| format!("cannot start the supervisor: {e}"))?;
        let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
        let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
        let (updates, mut stream) = crate::stream::channel(crate::stream::CAPACITY);
        let session = Session::start(Arc::new(p), options, supervisor, updates);
        // Torn down on request (the owner socket, Ctrl-C, SIGTERM): the exit code says which.
        let mut code = 0;
        let mut started = false;
        let mut reader_left = false;
        loop {
            let signalled = tokio::select! {
                update = stream.recv() => match update {
                    Some(SessionUpdate::Started(Ok(info))) => {
                        started = true;
                        crate::outln!(
                            "n3x: cluster {} starting ({} nodes); Ctrl-C tears it down. Elsewhere: n3x cluster status · n3x console NODE · n3x exec NODE -- CMD · n3x link NODE NIC up|down · n3x cluster restart NODE",
                            info.profile,
                            info.nodes.len()
                        );
                        continue;
                    }
                    Some(SessionUpdate::Started(Err(e))) => return Err(e.to_string()),
                    Some(SessionUpdate::Stopped) | None => break,
                    Some(update) => {
                        print_update(&update);
                        continue;
                    }
                },
                _ = sigint.recv() => 130,
                _ = sigterm.recv() => 143,
                // Nobody reads the output any more (`| grep -m1 Ready`): tear the cluster down
                // rather than leave it running unseen, and end quietly.
                _ = crate::cli::pipe::reader_gone(), if !reader_left => {
                    reader_left = true;
                    0
                }
            };
            if !started {
                // Still booting: nothing to tear down in order; the supervisor ends what runs.
                session.abort();
                return Ok(ExitCode::from(signalled));
            }
            code = signalled;
            let _ = session.command(Command::Down);
        }
        crate::outln!("n3x: every VM and switch is stopped");
        Ok(ExitCode::from(code))
    });
    Ok(outcome?)
}

fn print_update(update: &SessionUpdate) {
    match update {
        SessionUpdate::Cluster(update) => print_cluster_update(update),
        SessionUpdate::Readiness(ReadinessUpdate::Stage(event)) => {
            crate::outln!("{}", event.line())
        }
        SessionUpdate::Readiness(ReadinessUpdate::Signature(hit)) => {
            crate::outln!("{}", hit.lines())
        }
        SessionUpdate::Report(report) => crate::outln!("n3x: {}", report.summary()),
        SessionUpdate::Stopping => crate::outln!("n3x: tearing the cluster down"),
        SessionUpdate::Started(_) | SessionUpdate::Stopped => {}
    }
}

fn print_cluster_update(update: &ClusterUpdate) {
    match update {
        ClusterUpdate::Note(text) => crate::outln!("n3x: {text}"),
        ClusterUpdate::Console { node, child } => {
            crate::outln!("[{node}] QEMU started (pid {})", child.pid())
        }
        ClusterUpdate::Line { node, text } => crate::outln!("[{node}] {text}"),
        ClusterUpdate::Dropped { node, lines } => crate::outln!(
            "[{node}] ({lines} console lines not shown: this output fell behind; the console log has them)"
        ),
        ClusterUpdate::Topology(_) | ClusterUpdate::Remote { .. } => {}
        ClusterUpdate::State { node, state } => match state {
            NodeState::NetworkUp(addrs) | NodeState::Ready(addrs) => {
                crate::outln!("[{node}] == {}: {}", state.word(), addrs.join(" "))
            }
            NodeState::Failed(why) => crate::outln!("[{node}] == failed: {why}"),
            other => crate::outln!("[{node}] == {}", other.word()),
        },
    }
}

/// Runs `n3x console NODE`.
pub fn console(args: &ConsoleArgs) -> Result<ExitCode, Failure> {
    let info = runtime_for(&args.which)?;
    let node = info
        .node(&args.node)
        .map_err(|e| Failure::usage(e.to_string()))?;
    relay::attach(&node.console, &node.name, relay::ESCAPE).map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `n3x exec NODE -- CMD…`: the command's output, and its exit code as n3x's.
pub fn exec(args: &ExecArgs) -> Result<ExitCode, Failure> {
    let info = runtime_for(&args.which)?;
    let node = info
        .node(&args.node)
        .map_err(|e| Failure::usage(e.to_string()))?
        .clone();
    let command = args.command.clone();
    let timeout = Duration::from_secs(args.timeout);
    let out = runtime()?.block_on(async move {
        ControlChannel::new(node.control.clone())
            .exec(&command, timeout)
            .await
            .map_err(|e| e.to_string())
    })?;
    crate::out!("{}", out.stdout);
    eprint!("{}", out.stderr);
    Ok(ExitCode::from(u8::try_from(out.code).unwrap_or(1)))
}

/// Runs `n3x link NODE NIC up|down`.
pub fn link(args: &LinkArgs) -> Result<ExitCode, Failure> {
    let info = runtime_for(&args.which)?;
    let node = info
        .node(&args.node)
        .map_err(|e| Failure::usage(e.to_string()))?
        .clone();
    if !node.nics.iter().any(|(name, _, _)| *name == args.nic) {
        return Err(Failure::usage(format!(
            "{} has no NIC {}\n  fix: use one of {}",
            node.name,
            args.nic,
            node.nics
                .iter()
                .map(|(n, _, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let up = args.state == "up";
    let device = crate::cluster::qemu::nic_device_id(&args.nic);
    runtime()?.block_on(async move {
        Qmp::new(node.qmp.clone())
            .set_link(&device, up)
            .await
            .map_err(|e| e.to_string())
    })?;
    crate::outln!("{} {}: link {}", node.name, args.nic, args.state);
    Ok(ExitCode::SUCCESS)
}
