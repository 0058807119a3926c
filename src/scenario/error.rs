//! What can go wrong in a test's checks and its history, in words for its report.

use std::path::PathBuf;

use crate::cluster::control::ControlError;

/// Why a check could not be made, or a run not be saved.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The test names a node its cluster does not have.
    #[error("{node} is not a node of this cluster")]
    NoNode {
        /// The node.
        node: String,
    },
    /// The node's control channel did not carry the probe.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// `kubectl get nodes -o json` failed on the server.
    #[error("`k3s kubectl get nodes -o json` on {server} exited {code}: {stderr}")]
    Kubectl {
        /// The server asked.
        server: String,
        /// Its exit code.
        code: i32,
        /// What it said.
        stderr: String,
    },
    /// `kubectl get nodes -o json` printed no JSON.
    #[error("`kubectl get nodes -o json` printed no JSON ({0})")]
    Json(serde_json::Error),
    /// `kubectl get nodes -o json` printed JSON without the node list.
    #[error("`kubectl get nodes -o json` has no `items` list")]
    NoItems,
    /// The history could not be written.
    #[error("cannot write {}: {source}", path.display())]
    History {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
