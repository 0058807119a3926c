//! One running cluster and its lifecycle, written once for `n3x cluster up`, the workbench's
//! Cluster view and the test runner.
//!
//! A [`Session`] runs on its own task: [`Session::start`] boots a cluster this process owns
//! ([`Owner`]: the cluster engine, every node followed to `Ready` by the readiness engine, the
//! owner socket other `n3x` processes ask, the teardown), [`Session::follow`] watches one
//! another process owns through its sockets and logs. Both take the same [`Command`]s and
//! publish [`SessionUpdate`]s on the bounded stream they are given; the test runner drives an
//! [`Owner`] itself because its checks need the cluster in hand.

mod error;
mod followed;
mod owner;
pub mod socket;

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cluster::engine::{ClusterUpdate, Options};
use crate::cluster::info::ClusterInfo;
use crate::profile::Profiles;
use crate::readiness::{ReadinessUpdate, Report};
use crate::stream::Publisher;
use crate::supervise::Supervisor;

pub use error::SessionError;
pub use followed::{stop, topology};
pub use owner::Owner;

/// What happened to a session's cluster.
#[derive(Debug, Clone)]
pub enum SessionUpdate {
    /// The cluster engine's news: notes, consoles, lines, node states, the topology.
    Cluster(ClusterUpdate),
    /// The readiness engine's news: stages and failure signatures.
    Readiness(ReadinessUpdate),
    /// Every node's readiness is decided (passed, failed or undecided).
    Report(Report),
    /// The cluster runs (every QEMU was spawned), as described, or it could not start.
    Started(Result<ClusterInfo, Arc<SessionError>>),
    /// The cluster is being torn down.
    Stopping,
    /// The cluster is down: every VM and switch has stopped (or the followed cluster is gone).
    Stopped,
}

/// Where a session publishes.
pub type Updates = Publisher<SessionUpdate>;

/// What a session can be asked to do: by the workbench's keys, by a command line, or by
/// another `n3x` process on the owner socket (one [`Command::line`] each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Stop a node's QEMU and start it again with the same images and ports.
    Restart(String),
    /// Stop a node's QEMU.
    Stop(String),
    /// Start a stopped node again.
    Start(String),
    /// Set a node's NIC link up or down (QMP).
    Link {
        /// The node.
        node: String,
        /// The NIC (`eth1`).
        nic: String,
        /// Up or down.
        up: bool,
    },
    /// Reset a node (QMP).
    Reset(String),
    /// Tell a node's QEMU to quit (QMP).
    Kill(String),
    /// Read the switches' ports and counters (published as [`ClusterUpdate::Topology`]).
    Topology,
    /// Tear the cluster down.
    Down,
}

impl Command {
    /// The command as it travels on the owner socket (one line, without the newline).
    pub fn line(&self) -> String {
        match self {
            Command::Restart(n) => format!("restart {n}"),
            Command::Stop(n) => format!("stop {n}"),
            Command::Start(n) => format!("start {n}"),
            Command::Link { node, nic, up } => {
                format!("link {node} {nic} {}", if *up { "up" } else { "down" })
            }
            Command::Reset(n) => format!("reset {n}"),
            Command::Kill(n) => format!("kill {n}"),
            Command::Topology => "topology".into(),
            Command::Down => "down".into(),
        }
    }

    /// Reads a command line of the owner socket.
    pub fn parse(line: &str) -> Result<Command, SessionError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let node = |n: &str| n.to_string();
        match words.as_slice() {
            ["restart", n] => Ok(Command::Restart(node(n))),
            ["stop", n] => Ok(Command::Stop(node(n))),
            ["start", n] => Ok(Command::Start(node(n))),
            ["link", n, nic, state @ ("up" | "down")] => Ok(Command::Link {
                node: node(n),
                nic: nic.to_string(),
                up: *state == "up",
            }),
            ["reset", n] => Ok(Command::Reset(node(n))),
            ["kill", n] => Ok(Command::Kill(node(n))),
            ["topology"] => Ok(Command::Topology),
            ["down"] => Ok(Command::Down),
            _ => Err(SessionError::Owner(format!(
                "unknown request `{line}`: expected restart NODE, stop NODE, start NODE, link NODE NIC up|down, reset NODE, kill NODE, topology or down"
            ))),
        }
    }

    /// The node the command is about, if it is about one.
    pub fn node(&self) -> Option<&str> {
        match self {
            Command::Restart(n)
            | Command::Stop(n)
            | Command::Start(n)
            | Command::Reset(n)
            | Command::Kill(n)
            | Command::Link { node: n, .. } => Some(n),
            Command::Topology | Command::Down => None,
        }
    }
}

/// Commands that may wait for a busy session before more are refused.
const COMMANDS_QUEUED: usize = 64;

/// A cluster's session on its own task: one this process owns, or one it follows.
#[derive(Debug)]
pub struct Session {
    commands: mpsc::Sender<Command>,
    task: JoinHandle<()>,
    /// This process owns the cluster (it was not followed).
    owned: bool,
}

impl Session {
    /// Boots the cluster of `options` and owns it until [`Command::Down`] (or [`Session::abort`]):
    /// [`SessionUpdate::Started`] says whether it runs; every node is followed to `Ready`
    /// ([`SessionUpdate::Report`] at the end); the owner socket takes other processes'
    /// commands. Must be called inside a tokio runtime.
    pub fn start(
        profiles: Arc<Profiles>,
        options: Options,
        supervisor: Supervisor,
        updates: Updates,
    ) -> Session {
        let (commands, receiver) = mpsc::channel(COMMANDS_QUEUED);
        let task = tokio::spawn(async move {
            if let Ok(owner) = Owner::boot(profiles, options, supervisor, updates).await {
                owner.serve(receiver).await;
            }
        });
        Session {
            commands,
            task,
            owned: true,
        }
    }

    /// Follows the cluster another process owns, described by `info` in `runtime`
    /// ([`SessionUpdate::Started`] with it first): its nodes' consoles, lines and states, until
    /// it is gone ([`SessionUpdate::Stopped`]). Commands go to its owner's socket and its
    /// nodes' QMP sockets. Must be called inside a tokio runtime.
    pub fn follow(runtime: PathBuf, info: ClusterInfo, updates: Updates) -> Session {
        let (commands, receiver) = mpsc::channel(COMMANDS_QUEUED);
        let task = tokio::spawn(followed::run(runtime, info, updates, receiver));
        Session {
            commands,
            task,
            owned: false,
        }
    }

    /// Asks the session to do `command`; its outcome arrives as updates (a note, the topology,
    /// the teardown).
    pub fn command(&self, command: Command) -> Result<(), SessionError> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SessionError::Busy,
            mpsc::error::TrySendError::Closed(_) => SessionError::NotRunning,
        })
    }

    /// Whether the session is over (torn down, gone, or it never started).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Ends the session: an owned cluster is torn down and waited for; a followed one is left
    /// to its owner.
    pub async fn end(self) {
        if !self.owned {
            self.task.abort();
            return;
        }
        let _ = self.commands.send(Command::Down).await;
        let _ = self.task.await;
    }

    /// Stops the session's task at once (a booting cluster's processes end with the
    /// supervisor).
    pub fn abort(&self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_and_bad_ones_say_what_is_expected() {
        for c in [
            Command::Restart("agent-1".into()),
            Command::Stop("server-1".into()),
            Command::Start("server-1".into()),
            Command::Link {
                node: "agent-1".into(),
                nic: "eth2".into(),
                up: false,
            },
            Command::Reset("agent-1".into()),
            Command::Kill("agent-1".into()),
            Command::Topology,
            Command::Down,
        ] {
            assert_eq!(Command::parse(&c.line()).unwrap(), c);
        }
        let err = Command::parse("reboot x").unwrap_err().to_string();
        assert!(err.contains("expected restart NODE"), "{err}");
        assert!(Command::parse("restart").is_err());
        assert!(Command::parse("link a eth1 sideways").is_err());
    }
}
