//! The images a cluster boots: the quick base (built through the build engine when it is not
//! cached yet, so its progress and logs are those of any build) and each node's layers.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ClusterError;
use crate::build::engine::{BuildUpdate, Command, Engine, Settings};
use crate::build::plan::Backend;
use crate::build::quick::{self, K3sSource, Manifest, archive, task};
use crate::build::state::Outcome;
use crate::profile::Profiles;
use crate::supervise::Supervisor;

/// The quick base's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// Its cache directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Base {
    /// The uncompressed kernel.
    pub fn vmlinux(&self) -> PathBuf {
        self.dir.join("vmlinux")
    }
    /// The initramfs.
    pub fn initrd(&self) -> PathBuf {
        self.dir.join("initrd.cpio")
    }
    /// The root filesystem image (opened with `snapshot=on`).
    pub fn image(&self) -> PathBuf {
        self.dir.join("base.img")
    }
}

/// Finds the quick base for these settings, building it first when it is not cached.
/// `say` gets one line per thing worth telling (the build's steps and its outcome).
pub async fn ensure(
    p: Arc<Profiles>,
    repo: &Path,
    state: &Path,
    k3s_binary: Option<PathBuf>,
    supervisor: Supervisor,
    say: &(dyn Fn(String) + Send + Sync),
) -> Result<Base, ClusterError> {
    let (state_dir, version, binary) = (
        state.to_path_buf(),
        p.cluster.k3s.version.clone(),
        k3s_binary.clone(),
    );
    let k3s = tokio::task::spawn_blocking(move || {
        K3sSource::resolve(
            binary.as_deref(),
            &version,
            &state_dir,
            quick::github_reachable,
        )
    })
    .await
    .map_err(|e| ClusterError::Image(format!("looking for k3s stopped: {e}")))?;
    let key = quick::base_key(&k3s).map_err(|e| ClusterError::io("read the k3s binary", e))?;
    let dir = quick::base_dir(state, &key);
    if let Some(manifest) = quick::read_manifest(&dir) {
        return Ok(Base { dir, manifest });
    }
    say(format!(
        "no quick image {key} yet: building it (once; about a minute, then cached in {})",
        dir.display()
    ));
    let base = crate::matrix::variants(&p)
        .into_iter()
        .find(|v| quick::MACHINES.contains(&v.machine.as_str()) && v.node.is_none())
        .ok_or_else(|| {
            ClusterError::refused(
                "the matrix has no qemuamd64 variant without a node to build the base from",
                "add a qemuamd64 variant without `node:` to profiles/matrix.yaml",
            )
        })?;
    let (publisher, mut bus) = crate::build::engine::updates();
    let engine = Engine::start(
        p,
        Settings {
            repo: repo.to_path_buf(),
            state: state.to_path_buf(),
            isar: crate::build::isar::IsarOptions::default(),
            k3s_binary,
            jobs: 1,
            size: (40, 160),
        },
        supervisor,
        publisher,
    );
    engine
        .send(Command::Start(base, Backend::Quick))
        .await
        .ok_or_else(|| ClusterError::Image("the build engine stopped".into()))?;
    while let Some((_, update)) = bus.recv().await {
        match update {
            BuildUpdate::Step {
                index,
                total,
                description,
                ..
            } => say(format!("image [{}/{total}] {description}", index + 1)),
            BuildUpdate::Finished {
                outcome: Outcome::Succeeded,
                ..
            } => break,
            BuildUpdate::Finished { outcome, error, .. } => {
                return Err(ClusterError::Image(format!(
                    "the quick image was not built ({}): {}",
                    outcome.word(),
                    error.unwrap_or_default()
                )));
            }
            _ => {}
        }
    }
    let manifest = quick::read_manifest(&dir).ok_or_else(|| {
        ClusterError::Image(format!(
            "the quick build did not leave a base in {}",
            dir.display()
        ))
    })?;
    Ok(Base { dir, manifest })
}

/// Writes a node's layer (its rendered rootfs tree) to `out` as a tar.
pub fn write_node_layer(
    p: &Profiles,
    profile: &str,
    node: &str,
    out: &Path,
) -> Result<(), ClusterError> {
    let write = |e| ClusterError::io(format!("write {}", out.display()), e);
    let items = task::layer_items(p, profile, node).map_err(write)?;
    let mut bytes = Vec::new();
    archive::write_tar(&mut bytes, &items).map_err(write)?;
    std::fs::write(out, bytes).map_err(write)
}
