//! The private runtime directory of a cluster: its switches' sockets, each node's control,
//! QMP and console sockets, its layers, and `cluster.json`. Mode 0700, owned by the user;
//! nothing in it is reachable from outside this machine.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::ClusterError;

/// The owner socket's file name in a runtime directory (the session serves it).
pub const OWNER_SOCKET: &str = "owner.sock";

/// The longest path a unix socket may have (`sun_path` holds 108 bytes with the NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// Where the runtime directories of all clusters live: `$XDG_RUNTIME_DIR/n3x`, else
/// `/tmp/n3x-<uid>`.
pub fn runtime_base() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("n3x"),
        None => {
            let uid = rustix::process::getuid().as_raw();
            PathBuf::from(format!("/tmp/n3x-{uid}"))
        }
    }
}

/// The sockets of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePaths {
    /// The control channel (QEMU chardev socket of the virtio console).
    pub control: PathBuf,
    /// QMP.
    pub qmp: PathBuf,
    /// The console relay served by the cluster's owner.
    pub console: PathBuf,
}

/// One cluster's runtime directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeDir {
    root: PathBuf,
}

fn private_dir(dir: &Path) -> Result<(), ClusterError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ClusterError::io(format!("create {}", dir.display()), e))?;
    let meta = std::fs::metadata(dir)
        .map_err(|e| ClusterError::io(format!("read {}", dir.display()), e))?;
    let uid = rustix::process::getuid().as_raw();
    if meta.uid() != uid {
        return Err(ClusterError::refused(
            format!(
                "{} belongs to another user (uid {}); n3x keeps its sockets private",
                dir.display(),
                meta.uid()
            ),
            "set XDG_RUNTIME_DIR to a directory of your own",
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| ClusterError::io(format!("make {} private", dir.display()), e))?;
    }
    Ok(())
}

impl RuntimeDir {
    /// The runtime directory of `profile`'s cluster, created private (0700).
    pub fn create(profile: &str) -> Result<RuntimeDir, ClusterError> {
        let base = runtime_base();
        private_dir(&base)?;
        let root = base.join(profile);
        private_dir(&root)?;
        let dir = RuntimeDir { root };
        // The longest socket path must fit a unix socket address.
        let longest = dir.root.join("sw-eth1/ctl").as_os_str().len() + 32;
        if longest > MAX_SOCKET_PATH {
            return Err(ClusterError::refused(
                format!(
                    "the runtime directory {} is too long for unix sockets ({longest} > {MAX_SOCKET_PATH} bytes)",
                    dir.root.display()
                ),
                "set XDG_RUNTIME_DIR to a shorter directory",
            ));
        }
        Ok(dir)
    }

    /// A runtime directory at `root` that is not created (for tests of paths and argv).
    #[cfg(test)]
    pub(crate) fn for_tests(root: &str) -> RuntimeDir {
        RuntimeDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A switch's socket directory.
    pub fn switch_dir(&self, segment: &str) -> PathBuf {
        self.root.join(segment)
    }

    /// A switch's management socket.
    pub fn switch_mgmt(&self, segment: &str) -> PathBuf {
        self.root.join(format!("{segment}.mgmt"))
    }

    /// A switch's command file.
    pub fn switch_rc(&self, segment: &str) -> PathBuf {
        self.root.join(format!("{segment}.rc"))
    }

    /// A node's sockets.
    pub fn node(&self, node: &str) -> NodePaths {
        NodePaths {
            control: self.root.join(format!("{node}.control")),
            qmp: self.root.join(format!("{node}.qmp")),
            console: self.root.join(format!("{node}.console")),
        }
    }

    /// A node's layer (its rendered files).
    pub fn node_layer(&self, node: &str) -> PathBuf {
        self.root.join(format!("{node}.node.tar"))
    }

    /// A node's secrets layer (the join token), mode 0600.
    pub fn node_secrets(&self, node: &str) -> PathBuf {
        self.root.join(format!("{node}.secrets.tar"))
    }
}
