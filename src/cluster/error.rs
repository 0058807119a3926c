//! What can go wrong when a cluster starts, runs or is looked for, each with what would fix it.

use std::path::PathBuf;

use crate::cluster::secrets::TokenError;
use crate::render::RenderError;
use crate::render::qemu::PlanError;
use crate::supervise::SpawnError;

/// Why the cluster engine could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The profile does not exist or cannot be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The profile's QEMU plan cannot be made.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The cluster's join token cannot be had.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A file or directory could not be created, read, written or copied.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was being done, with the path (`write /run/n3x/simple/cluster.json`).
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A program the cluster needs is not installed.
    #[error("{}", crate::build::tools::missing(program))]
    Missing {
        /// The program.
        program: String,
    },
    /// A program could not be started under the supervisor.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// What (`QEMU for server-1`, `vde_switch`).
        what: String,
        /// Why.
        source: SpawnError,
    },
    /// Something is in the way of what was asked; `fix` says what to do about it.
    #[error("{problem}\n  fix: {fix}")]
    Refused {
        /// What is wrong.
        problem: String,
        /// What would be right.
        fix: String,
    },
    /// A switch did not come up.
    #[error("the switch {switch} did not come up (see its log in {})", logs.display())]
    Switch {
        /// The switch (segment).
        switch: String,
        /// The directory with its log.
        logs: PathBuf,
    },
    /// A node's QEMU has ended: its console takes no keys.
    #[error("QEMU (pid {pid}) has ended")]
    Ended {
        /// The QEMU's pid.
        pid: u32,
    },
    /// The console relay of another process's cluster does not take keys.
    #[error("the console relay {0}")]
    Relay(&'static str),
    /// The host cannot fit the cluster (the text says why and what would fit).
    #[error("{0}")]
    Capacity(String),
    /// The quick image could not be built; the build's record and logs say more.
    #[error("{0}")]
    Image(String),
    /// A description in a runtime directory cannot be read.
    #[error("{} is damaged: {source}", file.display())]
    Damaged {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        source: serde_json::Error,
    },
}

impl ClusterError {
    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> ClusterError {
        ClusterError::Io {
            what: what.into(),
            source,
        }
    }

    /// Something in the way, and its fix.
    pub fn refused(problem: impl Into<String>, fix: impl Into<String>) -> ClusterError {
        ClusterError::Refused {
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}
