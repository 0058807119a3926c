//! The quick backend's in-process steps: everything between the programs it runs.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::archive::{self, Entry, Item};
use super::kmod::ModulesDep;
use super::{K3sSource, Manifest, guest, sha256_file};
use crate::build::state::ArtifactRecord;
use crate::profile::Profiles;
use crate::render;

/// One in-process step of a quick build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum Task {
    /// Start from an empty work directory (a failed build leaves one behind).
    Prepare {
        /// The work directory.
        work: PathBuf,
    },
    /// Add n3x's guest files (and the k3s binary) to the root filesystem.
    Customize {
        /// The root filesystem tree.
        rootfs: PathBuf,
        /// The k3s binary to install, if any.
        #[serde(skip)]
        k3s: Option<PathBuf>,
    },
    /// Write the busybox initramfs with the modules that reach the root filesystem.
    Initramfs {
        /// The root filesystem tree (busybox and the kernel's modules come from it).
        rootfs: PathBuf,
        /// The cpio archive to write.
        out: PathBuf,
    },
    /// Cut the xz-compressed kernel ELF out of the root filesystem's `vmlinuz`.
    KernelPayload {
        /// The root filesystem tree.
        rootfs: PathBuf,
        /// Where the xz stream goes.
        out: PathBuf,
    },
    /// Hash the base's files, write its manifest and move it into the cache.
    Publish {
        /// The work directory.
        work: PathBuf,
        /// The cache directory of the base.
        base: PathBuf,
        /// The base key.
        key: String,
        /// Where k3s came from.
        #[serde(skip)]
        k3s: K3sSource,
    },
    /// Write a node's layer: the renderer's rootfs tree for it, as a tar.
    NodeLayer {
        /// The network profile.
        profile: String,
        /// The node.
        node: String,
        /// The tar to write.
        out: PathBuf,
    },
    /// Record the base and the layer as the build's artifacts.
    Collect {
        /// The cache directory of the base.
        base: PathBuf,
        /// The variant's key.
        variant: String,
        /// The node's layer, for variants with a node.
        layer: Option<PathBuf>,
    },
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Task::Prepare { work } => write!(f, "empty the work directory {}", work.display()),
            Task::Customize { rootfs, k3s } => write!(
                f,
                "add n3x's control channel, readiness marker, k3s units and system configuration to {}{}",
                rootfs.display(),
                match k3s {
                    Some(k) => format!(", and the k3s binary {}", k.display()),
                    None => ", without k3s".into(),
                }
            ),
            Task::Initramfs { out, .. } => {
                write!(f, "write the busybox initramfs {}", out.display())
            }
            Task::KernelPayload { out, .. } => write!(
                f,
                "cut the compressed kernel ELF out of vmlinuz into {}",
                out.display()
            ),
            Task::Publish { base, .. } => {
                write!(f, "hash the base and move it into {}", base.display())
            }
            Task::NodeLayer { profile, node, out } => write!(
                f,
                "render {profile}/{node} into the node layer {}",
                out.display()
            ),
            Task::Collect { base, layer, .. } => write!(
                f,
                "record the base {}{} as the build's artifacts",
                base.display(),
                layer
                    .as_ref()
                    .map(|l| format!(" and the layer {}", l.display()))
                    .unwrap_or_default()
            ),
        }
    }
}

/// What a task did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskOutput {
    /// One line for the build log.
    pub summary: String,
    /// Artifacts to record.
    pub artifacts: Vec<ArtifactRecord>,
}

fn context(what: impl fmt::Display) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

impl Task {
    /// Runs the task. `p` are the profiles (for node layers).
    pub fn run(&self, p: &Profiles) -> io::Result<TaskOutput> {
        let summary = |s: String| {
            Ok(TaskOutput {
                summary: s,
                artifacts: Vec::new(),
            })
        };
        match self {
            Task::Prepare { work } => {
                if work.exists() {
                    fs::remove_dir_all(work).map_err(context(work.display()))?;
                }
                fs::create_dir_all(work).map_err(context(work.display()))?;
                summary(format!("work directory {}", work.display()))
            }
            Task::Customize { rootfs, k3s } => customize(rootfs, k3s.as_deref()).and_then(summary),
            Task::Initramfs { rootfs, out } => initramfs(rootfs, out).and_then(summary),
            Task::KernelPayload { rootfs, out } => kernel_payload(rootfs, out).and_then(summary),
            Task::Publish {
                work,
                base,
                key,
                k3s,
            } => publish(work, base, key, k3s).and_then(summary),
            Task::NodeLayer { profile, node, out } => {
                node_layer(p, profile, node, out).and_then(summary)
            }
            Task::Collect {
                base,
                variant,
                layer,
            } => collect(base, variant, layer.as_deref()),
        }
    }
}

fn write_item(root: &Path, item: &Item) -> io::Result<()> {
    let path = root.join(&item.path);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(context(parent.display()))?;
    }
    match &item.entry {
        Entry::Dir => fs::create_dir_all(&path).map_err(context(path.display())),
        Entry::File(bytes) => {
            fs::write(&path, bytes).map_err(context(path.display()))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(item.mode))
                .map_err(context(path.display()))
        }
        Entry::Symlink(target) => {
            if path.symlink_metadata().is_ok() {
                fs::remove_file(&path).map_err(context(path.display()))?;
            }
            symlink(target, &path).map_err(context(path.display()))
        }
    }
}

fn customize(rootfs: &Path, k3s: Option<&Path>) -> io::Result<String> {
    let items = guest::rootfs_items();
    for item in &items {
        write_item(rootfs, item)?;
    }
    let shadow = rootfs.join("etc/shadow");
    let text = fs::read_to_string(&shadow).map_err(context(shadow.display()))?;
    fs::write(&shadow, guest::shadow_without_root_password(&text))
        .map_err(context(shadow.display()))?;
    let k3s_note = match k3s {
        Some(binary) => {
            let dest = rootfs.join("usr/local/bin/k3s");
            fs::create_dir_all(rootfs.join("usr/local/bin"))?;
            fs::copy(binary, &dest).map_err(context(binary.display()))?;
            fs::set_permissions(&dest, fs::Permissions::from_mode(0o755))?;
            format!("k3s from {}", binary.display())
        }
        None => "no k3s binary".into(),
    };
    Ok(format!("{} files and links added; {k3s_note}", items.len()))
}

/// The one kernel version under `rootfs/lib/modules`.
fn kernel_version(rootfs: &Path) -> io::Result<String> {
    let dir = rootfs.join("lib/modules");
    let mut versions: Vec<String> = fs::read_dir(&dir)
        .map_err(context(dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    match versions.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(io::Error::other(format!(
            "no kernel in {} (is linux-image-amd64 installed?)",
            dir.display()
        ))),
        many => Ok(many[many.len() - 1].clone()),
    }
}

fn initramfs(rootfs: &Path, out: &Path) -> io::Result<String> {
    let version = kernel_version(rootfs)?;
    let modules_dir = rootfs.join("lib/modules").join(&version);
    let dep_file = modules_dir.join("modules.dep");
    let dep =
        ModulesDep::parse(&fs::read_to_string(&dep_file).map_err(context(dep_file.display()))?);
    let (paths, _built_in) = dep.closure(guest::INITRAMFS_MODULES);

    let mut items: Vec<Item> = ["bin", "dev", "proc", "sys", "newroot", "lib", "lib/modules"]
        .into_iter()
        .map(Item::dir)
        .collect();
    let busybox = rootfs.join("bin/busybox");
    items.push(Item::file(
        "bin/busybox",
        0o755,
        fs::read(&busybox).map_err(context(format!(
            "{} (is busybox-static installed?)",
            busybox.display()
        )))?,
    ));
    items.push(Item::symlink("bin/sh", "busybox"));
    items.push(Item::file("init", 0o755, guest::init_script()));
    // Only the modules that are included, with their dependencies: what depmod would write.
    let base = format!("lib/modules/{version}");
    let mut dirs = std::collections::BTreeSet::new();
    let mut dep_text = String::new();
    for path in &paths {
        dirs.extend(archive::parent_dirs(path));
    }
    items.push(Item::dir(base.clone()));
    items.extend(dirs.iter().map(|d| Item::dir(format!("{base}/{d}"))));
    for path in &paths {
        let file = modules_dir.join(path);
        items.push(Item::file(
            format!("{base}/{path}"),
            0o644,
            fs::read(&file).map_err(context(file.display()))?,
        ));
        let needs = dep.closure([super::kmod::module_name(path).as_str()]).0;
        let needs: Vec<&str> = needs
            .iter()
            .filter(|n| *n != path)
            .map(String::as_str)
            .collect();
        dep_text.push_str(&format!("{path}: {}\n", needs.join(" ")));
    }
    items.push(Item::file(format!("{base}/modules.dep"), 0o644, dep_text));
    let mut bytes = Vec::new();
    archive::write_cpio(&mut bytes, &items)?;
    fs::write(out, &bytes).map_err(context(out.display()))?;
    Ok(format!(
        "initramfs for kernel {version}: busybox and {} modules, {} KiB",
        paths.len(),
        bytes.len() / 1024
    ))
}

/// The xz magic that starts the compressed kernel inside a bzImage.
const XZ_MAGIC: &[u8] = b"\xfd7zXZ\x00";

fn kernel_payload(rootfs: &Path, out: &Path) -> io::Result<String> {
    let version = kernel_version(rootfs)?;
    let vmlinuz = rootfs.join("boot").join(format!("vmlinuz-{version}"));
    let bytes = fs::read(&vmlinuz).map_err(context(vmlinuz.display()))?;
    let start = bytes
        .windows(XZ_MAGIC.len())
        .position(|w| w == XZ_MAGIC)
        .ok_or_else(|| {
            io::Error::other(format!(
                "{} holds no xz-compressed kernel (Debian's amd64 kernels do)",
                vmlinuz.display()
            ))
        })?;
    fs::write(out, &bytes[start..]).map_err(context(out.display()))?;
    Ok(format!(
        "kernel {version}: xz payload of {} KiB at offset {start}",
        (bytes.len() - start) / 1024
    ))
}

fn publish(work: &Path, base: &Path, key: &str, k3s: &K3sSource) -> io::Result<String> {
    let rootfs = work.join("rootfs");
    let kernel = kernel_version(&rootfs)?;
    let mut files = Vec::new();
    for name in ["vmlinux", "initrd.cpio", "base.img"] {
        let path = work.join(name);
        files.push((
            name.to_string(),
            sha256_file(&path).map_err(context(path.display()))?,
        ));
    }
    let (k3s_text, k3s_missing) = match k3s {
        K3sSource::None(why) => (None, Some(why.clone())),
        other => {
            let path = other.path().unwrap_or(Path::new(""));
            (
                Some(format!(
                    "{} (sha256 {})",
                    path.display(),
                    sha256_file(path).map_err(context(path.display()))?
                )),
                None,
            )
        }
    };
    let manifest = Manifest {
        key: key.to_string(),
        suite: super::SUITE.into(),
        kernel,
        k3s: k3s_text,
        k3s_missing,
        files,
        cmdline: super::CMDLINE.into(),
    };
    fs::remove_dir_all(&rootfs).map_err(context(rootfs.display()))?;
    let _ = fs::remove_file(work.join("vmlinux.xz"));
    let json = serde_json::to_string_pretty(&manifest).map_err(io::Error::other)?;
    fs::write(work.join("manifest.json"), json + "\n")?;
    if base.exists() {
        fs::remove_dir_all(base).map_err(context(base.display()))?;
    }
    fs::rename(work, base).map_err(context(base.display()))?;
    Ok(format!("base {key} ready in {}", base.display()))
}

/// The items of a node's layer: the renderer's rootfs tree for `node` in `profile`.
pub fn layer_items(p: &Profiles, profile: &str, node: &str) -> io::Result<Vec<Item>> {
    let files = render::render_node(p, profile, node).map_err(io::Error::other)?;
    let mut dirs = std::collections::BTreeSet::new();
    let mut items = Vec::new();
    for f in &files {
        let Some(path) = f.path.strip_prefix("rootfs/") else {
            continue;
        };
        for dir in archive::parent_dirs(path) {
            if dirs.insert(dir.clone()) {
                items.push(Item::dir(dir));
            }
        }
        items.push(Item::file(path, f.mode, f.contents.as_bytes()));
    }
    Ok(items)
}

fn node_layer(p: &Profiles, profile: &str, node: &str, out: &Path) -> io::Result<String> {
    let items = layer_items(p, profile, node)?;
    let mut bytes = Vec::new();
    archive::write_tar(&mut bytes, &items)?;
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).map_err(context(parent.display()))?;
    }
    render::output::write_file_atomic(out, &bytes).map_err(context(out.display()))?;
    let files = items
        .iter()
        .filter(|i| matches!(i.entry, Entry::File(_)))
        .count();
    Ok(format!("layer of {profile}/{node}: {files} files"))
}

fn collect(base: &Path, variant: &str, layer: Option<&Path>) -> io::Result<TaskOutput> {
    let manifest = super::read_manifest(base)
        .ok_or_else(|| io::Error::other(format!("the base in {} is incomplete", base.display())))?;
    let mut artifacts = Vec::new();
    for (name, sha256) in &manifest.files {
        let path = base.join(name);
        let size = fs::metadata(&path).map_err(context(path.display()))?.len();
        artifacts.push(ArtifactRecord {
            name: name.clone(),
            path,
            size,
            sha256: sha256.clone(),
        });
    }
    if let Some(layer) = layer {
        artifacts.push(ArtifactRecord {
            name: layer
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: layer.to_path_buf(),
            size: fs::metadata(layer).map_err(context(layer.display()))?.len(),
            sha256: sha256_file(layer)?,
        });
    }
    let k3s = match (&manifest.k3s, &manifest.k3s_missing) {
        (Some(k), _) => format!("k3s: {k}"),
        (None, Some(why)) => format!("built WITHOUT k3s: {why}"),
        (None, None) => "built without k3s".into(),
    };
    Ok(TaskOutput {
        summary: format!(
            "{variant}: base {} (kernel {}); {k3s}",
            manifest.key, manifest.kernel
        ),
        artifacts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_layer_holds_exactly_the_rendered_rootfs_tree() {
        let p = Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap();
        let items = layer_items(&p, "vlans", "server-1").unwrap();
        let rendered = render::render_node(&p, "vlans", "server-1").unwrap();
        let files: Vec<(&str, &[u8])> = items
            .iter()
            .filter_map(|i| match &i.entry {
                Entry::File(b) => Some((i.path.as_str(), b.as_slice())),
                _ => None,
            })
            .collect();
        let expected: Vec<(&str, &[u8])> = rendered
            .iter()
            .filter_map(|f| Some((f.path.strip_prefix("rootfs/")?, f.contents.as_bytes())))
            .collect();
        assert_eq!(files, expected);
        // Parents come before children, once each.
        let etc = items.iter().position(|i| i.path == "etc").unwrap();
        let network = items
            .iter()
            .position(|i| i.path == "etc/systemd/network")
            .unwrap();
        assert!(etc < network);
    }

    #[test]
    fn the_kernel_payload_starts_at_the_xz_magic() {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path();
        fs::create_dir_all(rootfs.join("lib/modules/6.1.0-test")).unwrap();
        fs::create_dir_all(rootfs.join("boot")).unwrap();
        let mut vmlinuz = b"MZ-setup-code".to_vec();
        vmlinuz.extend_from_slice(XZ_MAGIC);
        vmlinuz.extend_from_slice(b"payload");
        fs::write(rootfs.join("boot/vmlinuz-6.1.0-test"), &vmlinuz).unwrap();
        let out = dir.path().join("vmlinux.xz");
        kernel_payload(rootfs, &out).unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"\xfd7zXZ\x00payload");
    }
}
