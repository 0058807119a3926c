//! What can go wrong with a running cluster's session, each with what would fix it.

use std::path::PathBuf;

use crate::cluster::ClusterError;
use crate::cluster::qmp::QmpError;

/// Why a session could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The cluster engine refused or failed (booting, starting or stopping a node).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A node's QEMU did not take a QMP command.
    #[error("{node}: {source}")]
    Qmp {
        /// The node.
        node: String,
        /// What QMP said.
        source: QmpError,
    },
    /// The command names a node the cluster does not have.
    #[error("{node}: no such node in the running cluster")]
    NoNode {
        /// The node asked for.
        node: String,
    },
    /// The owner of a cluster this process follows could not be reached or refused.
    #[error("{0}")]
    Owner(String),
    /// The cluster's owner takes no requests on a socket (an `n3x` from before the socket).
    #[error(
        "the {profile} cluster's owner (pid {pid}) takes no requests (an older n3x)\n  fix: `n3x cluster down --profile {profile}` and start it again"
    )]
    NoSocket {
        /// The cluster's profile.
        profile: String,
        /// The owner's pid.
        pid: u32,
    },
    /// The owner did not tear the cluster down in time.
    #[error(
        "the owner (pid {pid}) did not stop the cluster within {secs} s\n  fix: `kill {pid}` ends it and every VM with it"
    )]
    StopTimeout {
        /// The owner's pid.
        pid: u32,
        /// How long it was given.
        secs: u64,
    },
    /// The session has more commands waiting than it takes.
    #[error("the cluster is busy with earlier commands; try again")]
    Busy,
    /// The session has ended (or has not started): nothing takes commands.
    #[error("the cluster is starting or stopping; try again")]
    NotRunning,
    /// The runtime directory could not be found.
    #[error("{0}")]
    Runtime(String),
    /// The owner socket could not be served.
    #[error("cannot serve the owner socket {}: {source}\n  fix: is another n3x serving this cluster? `n3x cluster status`", socket.display())]
    Serve {
        /// The socket.
        socket: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
