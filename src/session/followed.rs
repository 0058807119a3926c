//! A cluster another `n3x` process owns, followed from here (its consoles, lines and states
//! through `crate::cluster::remote`), and what any process can do to a running cluster through
//! its sockets alone: QMP commands to a node, the switches' topology, asking the owner to tear
//! everything down.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Command, SessionError, SessionUpdate, Updates, socket};
use crate::cluster::ClusterError;
use crate::cluster::engine::ClusterUpdate;
use crate::cluster::info::{self, ClusterInfo, process_alive};
use crate::cluster::qmp::Qmp;
use crate::cluster::{paths, qemu, remote, switch_mgmt};

/// Follows `info`'s cluster until it is gone, carrying out commands on the way.
pub(super) async fn run(
    runtime: PathBuf,
    info: ClusterInfo,
    updates: Updates,
    mut commands: mpsc::Receiver<Command>,
) {
    // The view shows the cluster as its owner describes it; its nodes come next.
    updates.send(SessionUpdate::Started(Ok(info.clone())));
    let follow = remote::follow(runtime, updates.map(SessionUpdate::Cluster));
    tokio::pin!(follow);
    loop {
        tokio::select! {
            () = &mut follow => break,
            Some(command) = commands.recv() => {
                // Each on its own task: the consoles keep coming while the owner works.
                tokio::spawn(carry_out(command, info.clone(), updates.clone()));
            }
        }
    }
    updates.send(SessionUpdate::Stopped);
}

/// Carries out a command on a followed cluster and notes its outcome.
async fn carry_out(command: Command, info: ClusterInfo, updates: Updates) {
    let note = |text: String| updates.send(SessionUpdate::Cluster(ClusterUpdate::Note(text)));
    match &command {
        Command::Topology => {
            let text = topology(&info).await;
            updates.send(SessionUpdate::Cluster(ClusterUpdate::Topology(text)));
        }
        Command::Down => {
            // The owner tears it down; the follower sees it go.
            note(match stop(&info).await {
                Ok(done) => done,
                Err(e) => format!("cannot tear the cluster down: {e}"),
            });
        }
        Command::Link { .. } | Command::Reset(_) | Command::Kill(_) => {
            note(
                qmp_command(&info, &command)
                    .await
                    .unwrap_or_else(|e| e.to_string()),
            );
        }
        Command::Restart(node) | Command::Stop(node) | Command::Start(node) => {
            note(match &info.owner_socket {
                Some(s) => match socket::ask(s, &command, socket::TIMEOUT).await {
                    Ok(done) => done,
                    Err(e) => format!("{node}: {e}"),
                },
                None => format!("{node}: the owner takes no requests (an older n3x)"),
            });
        }
    }
}

/// Carries out a node's QMP command (link, reset, kill) on the cluster `info` describes; what
/// was done, in words.
pub(super) async fn qmp_command(
    info: &ClusterInfo,
    command: &Command,
) -> Result<String, SessionError> {
    let node = command.node().unwrap_or_default().to_string();
    let Ok(found) = info.node(&node) else {
        return Err(SessionError::NoNode { node });
    };
    let qmp = Qmp::new(found.qmp.clone());
    let result = match command {
        Command::Link { nic, up, .. } => qmp
            .set_link(&qemu::nic_device_id(nic), *up)
            .await
            .map(|()| format!("{node} {nic}: link {}", if *up { "up" } else { "down" })),
        Command::Reset(_) => qmp.system_reset().await.map(|()| format!("{node}: reset")),
        Command::Kill(_) => qmp
            .quit()
            .await
            .map(|()| format!("{node}: QEMU told to quit")),
        _ => return Err(SessionError::NotRunning),
    };
    result.map_err(|source| SessionError::Qmp { node, source })
}

/// Tears the cluster down through its owner (its socket; SIGTERM for an owner without one)
/// and waits until it is down. The owner may be the workbench, which keeps running.
pub async fn stop(info: &ClusterInfo) -> Result<String, SessionError> {
    let runtime_file = paths::runtime_base().join(&info.profile).join(info::FILE);
    let asked = match &info.owner_socket {
        Some(s) => socket::ask(s, &Command::Down, socket::TIMEOUT)
            .await
            .is_ok(),
        None => false,
    };
    if !asked {
        // SAFETY: kill with a pid read from our own runtime directory; no memory involved.
        unsafe { libc::kill(info.owner as i32, libc::SIGTERM) };
    }
    for _ in 0..600 {
        if !process_alive(info.owner) || !runtime_file.exists() {
            return Ok(format!("the {} cluster is down", info.profile));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(SessionError::StopTimeout {
        pid: info.owner,
        secs: 60,
    })
}

/// The switches, what is plugged into each port, its VLANs and its packet counters.
pub async fn topology(info: &ClusterInfo) -> String {
    let mut out = String::new();
    for sw in &info.switches {
        out.push_str(&format!(
            "\nswitch {} · VLANs {}\n{:>4}  {:<22} {:<10} {:>9} {:>9}\n",
            sw.name,
            if sw.vlans.is_empty() {
                "none (flat)".to_string()
            } else {
                format!("{:?}", sw.vlans)
            },
            "PORT",
            "PLUGGED IN",
            "VLANS",
            "IN PKTS",
            "OUT PKTS"
        ));
        let counters: Result<_, ClusterError> = switch_mgmt::ports(&sw.mgmt).await;
        for (port, owner, vlans) in &sw.ports {
            let c = counters
                .as_ref()
                .ok()
                .and_then(|all| all.iter().find(|c| c.port == *port));
            out.push_str(&format!(
                "{port:>4}  {owner:<22} {:<10} {:>9} {:>9}{}\n",
                format!("{vlans:?}"),
                c.map(|c| c.in_pkts.to_string())
                    .unwrap_or_else(|| "-".into()),
                c.map(|c| c.out_pkts.to_string())
                    .unwrap_or_else(|| "-".into()),
                match c {
                    Some(c) if !c.active => "  (unplugged)",
                    _ => "",
                }
            ));
        }
        if let Err(e) = counters {
            out.push_str(&format!("  counters unavailable: {e}\n"));
        }
    }
    out
}
