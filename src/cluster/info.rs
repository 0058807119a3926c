//! `cluster.json` in the runtime directory: what another `n3x` process needs to talk to a
//! running cluster (its owner, its nodes and their sockets). No secret is in it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ClusterError;

/// One node of a running cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's name.
    pub name: String,
    /// Its role (server, agent, dhcp-server).
    pub role: String,
    /// The QEMU process id.
    pub pid: u32,
    /// The control channel socket.
    pub control: PathBuf,
    /// The QMP socket.
    pub qmp: PathBuf,
    /// The console relay socket (`n3x console`).
    pub console: PathBuf,
    /// The console log (every byte the serial console wrote).
    pub console_log: PathBuf,
    /// The NICs: name, MAC, segment.
    pub nics: Vec<(String, String, Option<String>)>,
}

/// One switch of a running cluster and what is plugged into its ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchInfo {
    /// The segment's name (`sw-eth1`).
    pub name: String,
    /// Its management socket.
    pub mgmt: PathBuf,
    /// The VLANs it carries.
    pub vlans: Vec<u32>,
    /// Port number, what is plugged in, and its VLANs.
    pub ports: Vec<(u32, String, Vec<u32>)>,
}

/// A running cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    /// The network profile.
    pub profile: String,
    /// The process that owns the cluster (killing it takes everything down).
    pub owner: u32,
    /// The accelerator the nodes run with.
    pub accel: String,
    /// The nodes.
    pub nodes: Vec<NodeInfo>,
    /// The directory with the console logs.
    pub logs: PathBuf,
    /// The switches.
    #[serde(default)]
    pub switches: Vec<SwitchInfo>,
    /// The owner's socket (restart, stop, start a node; tear down): see
    /// `crate::session::socket`.
    #[serde(default)]
    pub owner_socket: Option<PathBuf>,
}

/// The file name of the cluster description in a runtime directory.
pub const FILE: &str = "cluster.json";

impl ClusterInfo {
    /// Writes `cluster.json` into `runtime` (atomically).
    pub fn save(&self, runtime: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        crate::render::output::write_file_atomic(&runtime.join(FILE), json + "\n")
    }

    /// Reads `cluster.json` from `runtime`.
    pub fn load(runtime: &Path) -> Result<ClusterInfo, ClusterError> {
        let file = runtime.join(FILE);
        let text = std::fs::read_to_string(&file).map_err(|e| {
            ClusterError::refused(
                format!(
                    "no cluster is running for this profile ({}: {e})",
                    file.display()
                ),
                "start one with `n3x cluster up --profile P`",
            )
        })?;
        serde_json::from_str(&text).map_err(|source| ClusterError::Damaged { file, source })
    }

    /// The node called `name`, or an error listing the nodes.
    pub fn node(&self, name: &str) -> Result<&NodeInfo, ClusterError> {
        self.nodes.iter().find(|n| n.name == name).ok_or_else(|| {
            ClusterError::refused(
                format!("no node `{name}` in the {} cluster", self.profile),
                format!(
                    "use one of {}",
                    self.nodes
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }

    /// Whether the owner process still runs.
    pub fn owner_alive(&self) -> bool {
        process_alive(self.owner)
    }
}

/// The clusters other processes own now: each one's runtime directory and description.
pub fn owned_elsewhere() -> Vec<(PathBuf, ClusterInfo)> {
    let base = super::paths::runtime_base();
    let mut found: Vec<(PathBuf, ClusterInfo)> = std::fs::read_dir(&base)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| ClusterInfo::load(&e.path()).ok().map(|i| (e.path(), i)))
                .filter(|(_, i)| i.owner != std::process::id() && i.owner_alive())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| a.1.profile.cmp(&b.1.profile));
    found
}

/// Whether a process with `pid` runs (and is not a zombie).
pub fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_round_trips_and_names_unknown_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let info = ClusterInfo {
            profile: "simple".into(),
            owner: std::process::id(),
            accel: "tcg".into(),
            nodes: vec![NodeInfo {
                name: "server-1".into(),
                role: "server".into(),
                pid: 1,
                control: "/r/server-1.control".into(),
                qmp: "/r/server-1.qmp".into(),
                console: "/r/server-1.console".into(),
                console_log: "/l/server-1.log".into(),
                nics: vec![(
                    "eth1".into(),
                    "52:54:00:00:00:01".into(),
                    Some("sw-eth1".into()),
                )],
            }],
            logs: "/l".into(),
            switches: vec![],
            owner_socket: None,
        };
        info.save(dir.path()).unwrap();
        let back = ClusterInfo::load(dir.path()).unwrap();
        assert_eq!(back, info);
        assert!(back.owner_alive());
        let err = back.node("agent-9").unwrap_err().to_string();
        assert!(err.contains("use one of server-1"), "{err}");
        let none = ClusterInfo::load(&dir.path().join("nope"))
            .unwrap_err()
            .to_string();
        assert!(none.contains("n3x cluster up --profile"), "{none}");
    }
}
