//! The quick backend: a bootable Debian test image from Debian's packages in about a minute,
//! then cached.
//!
//! One **base** is shared by every node and variant: mmdebstrap builds a bookworm root
//! filesystem with systemd and Debian's kernel; n3x adds its [`guest`] files (control channel,
//! readiness marker, k3s units and system configuration) and the k3s binary when there is one;
//! the kernel's uncompressed ELF (`vmlinux`, booted directly: about 3 s faster under TCG than
//! the compressed one), a small busybox initramfs and an ext4 image (`base.img`, opened with
//! `snapshot=on` by every node) come out. The base lives in `cache/quick/<key>/`, where the
//! key hashes every input, so an unchanged base is never rebuilt.
//!
//! Each node then gets a **layer**: the renderer's rootfs tree for that node as a tar, handed
//! to QEMU over fw_cfg and unpacked by the initramfs. A 4-node cluster costs one mmdebstrap.

pub mod archive;
pub mod guest;
pub mod kmod;
pub mod task;

use std::fmt::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::plan::Step;
use crate::matrix::Variant;
pub use task::Task;

/// Bumped whenever the way a base is built changes, so old caches are not reused.
const FORMAT: &str = "n3x-quick-base/1";

/// The Debian release the images are built from.
pub const SUITE: &str = "bookworm";

/// Packages of the root filesystem (mmdebstrap `minbase` plus these).
pub const PACKAGES: &[&str] = &[
    "systemd-sysv",
    "udev",
    "iproute2",
    "kmod",
    "iputils-ping",
    "dnsmasq-base",
    "procps",
    "iptables",
    "ca-certificates",
    "linux-image-amd64",
    "busybox-static",
];

/// What dpkg leaves out: documentation, and kernel modules no virtual test node loads.
pub const EXCLUDES: &[&str] = &[
    "/usr/share/man/*",
    "/usr/share/doc/*",
    "/usr/share/locale/*",
    "/lib/modules/*/kernel/drivers/gpu/*",
    "/lib/modules/*/kernel/drivers/media/*",
    "/lib/modules/*/kernel/drivers/net/wireless/*",
    "/lib/modules/*/kernel/drivers/net/ethernet/*",
    "/lib/modules/*/kernel/drivers/infiniband/*",
    "/lib/modules/*/kernel/drivers/usb/*",
    "/lib/modules/*/kernel/drivers/scsi/*",
    "/lib/modules/*/kernel/drivers/iio/*",
    "/lib/modules/*/kernel/drivers/staging/*",
    "/lib/modules/*/kernel/drivers/hwmon/*",
    "/lib/modules/*/kernel/drivers/bluetooth/*",
    "/lib/modules/*/kernel/sound/*",
];

/// The size of the ext4 image (sparse on disk).
pub const IMAGE_SIZE: &str = "1G";

/// The machines the quick backend builds for.
pub const MACHINES: &[&str] = &["qemuamd64"];

/// Where a k3s binary for the image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum K3sSource {
    /// A binary the user gave with `--k3s-binary`.
    File(PathBuf),
    /// The release binary for a k3s version, downloaded into the cache (or already there).
    Release {
        /// The k3s version (`v1.35.0+k3s3`).
        version: String,
        /// Where it is, or will be once downloaded.
        path: PathBuf,
        /// True when it still has to be downloaded.
        download: bool,
    },
    /// No binary: the image is built without k3s, and the reason is said.
    None(String),
}

impl K3sSource {
    /// Decides where k3s comes from: the given file, else a cached download, else a download
    /// when github.com answers, else nothing (with the reason).
    pub fn resolve(
        binary: Option<&Path>,
        version: &str,
        state: &Path,
        online: impl FnOnce() -> bool,
    ) -> K3sSource {
        if let Some(file) = binary {
            return K3sSource::File(file.to_path_buf());
        }
        let path = state.join("cache/k3s").join(version).join("k3s");
        if path.is_file() {
            return K3sSource::Release {
                version: version.to_string(),
                path,
                download: false,
            };
        }
        if online() {
            return K3sSource::Release {
                version: version.to_string(),
                path,
                download: true,
            };
        }
        K3sSource::None(format!(
            "no --k3s-binary was given and github.com cannot be reached to download k3s {version}"
        ))
    }

    /// The binary's path, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            K3sSource::File(p) => Some(p),
            K3sSource::Release { path, .. } => Some(path),
            K3sSource::None(_) => None,
        }
    }

    /// What identifies this source in the base key: the file's sha256, or the release.
    fn identity(&self) -> std::io::Result<String> {
        Ok(match self {
            K3sSource::File(p) => format!("file:{}", sha256_file(p)?),
            K3sSource::Release { version, .. } => format!("release:{version}"),
            K3sSource::None(_) => "none".into(),
        })
    }
}

/// The release download URL of a k3s version.
pub fn k3s_url(version: &str) -> String {
    format!(
        "https://github.com/k3s-io/k3s/releases/download/{}/k3s",
        version.replace('+', "%2B")
    )
}

/// True when a TCP connection to github.com:443 opens within a few seconds.
pub fn github_reachable() -> bool {
    let Ok(addrs) = ("github.com", 443).to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(3)).is_ok())
}

/// The sha256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex(&hasher.finalize()))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// mmdebstrap's options (all but the suite and the target directory).
pub fn mmdebstrap_options() -> Vec<String> {
    let mut options: Vec<String> = vec![
        "--variant=minbase".into(),
        format!("--include={}", PACKAGES.join(",")),
        // The kernel comes without Debian's initramfs: the image boots n3x's small one.
        "--essential-hook=mkdir -p \"$1/etc/initramfs-tools\" && echo update_initramfs=no > \"$1/etc/initramfs-tools/update-initramfs.conf\"".into(),
        // Keep that file when initramfs-tools installs its own, without asking.
        "--dpkgopt=force-confold".into(),
        "--dpkgopt=force-confdef".into(),
    ];
    options.extend(
        EXCLUDES
            .iter()
            .map(|e| format!("--dpkgopt=path-exclude={e}")),
    );
    options.push("--dpkgopt=path-include=/usr/share/locale/locale.alias".into());
    options
}

/// The key of the base built from these inputs: everything that changes its bytes.
pub fn base_key(k3s: &K3sSource) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut feed = |s: &str| {
        h.update(s.as_bytes());
        h.update([0]);
    };
    feed(FORMAT);
    feed(SUITE);
    mmdebstrap_options().iter().for_each(|o| feed(o));
    feed(&guest::init_script());
    for item in guest::rootfs_items() {
        feed(&format!("{item:?}"));
    }
    feed(&k3s.identity()?);
    Ok(hex(&h.finalize())[..16].to_string())
}

/// What a built base holds, saved as `manifest.json` in its cache directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The base key.
    pub key: String,
    /// The Debian release.
    pub suite: String,
    /// The kernel version (`6.1.0-56-amd64`).
    pub kernel: String,
    /// The k3s binary in the image: its source and sha256, or why there is none.
    pub k3s: Option<String>,
    /// Why the image has no k3s, when it has none.
    pub k3s_missing: Option<String>,
    /// The files, with their sha256: `vmlinux`, `initrd.cpio`, `base.img`.
    pub files: Vec<(String, String)>,
    /// The kernel command line the image expects (the cluster engine adds the node's identity).
    pub cmdline: String,
}

/// The kernel command line of a quick image.
pub const CMDLINE: &str = "console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off nokaslr audit=0 net.ifnames=0 systemd.firstboot=off n3x.root=/dev/vda tsc=reliable";

/// The directory of the base with `key` in the state directory.
pub fn base_dir(state: &Path, key: &str) -> PathBuf {
    state.join("cache/quick").join(key)
}

/// Reads the manifest of a built base, if it is complete.
pub fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Why a variant cannot be built quickly.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unsupported {
    /// Not an x86_64 QEMU machine.
    #[error(
        "the quick backend builds qemuamd64 images only, not {machine}\n  fix: build {machine} variants with --backend isar (or nixos)"
    )]
    Machine {
        /// The variant's machine.
        machine: String,
    },
    /// mmdebstrap must run as root to write a root-owned tree.
    #[error(
        "the quick backend needs root: mmdebstrap writes a root-owned filesystem tree\n  fix: run n3x as root (sudo -E n3x build …), or build with --backend isar or nixos"
    )]
    NotRoot,
    /// A program the backend runs is missing.
    #[error(
        "the quick backend needs {program}, which is not installed\n  fix: apt-get install {package}"
    )]
    MissingTool {
        /// The program.
        program: &'static str,
        /// The Debian package that has it.
        package: &'static str,
    },
}

/// Programs the quick backend runs, with the Debian package of each.
pub const TOOLS: &[(&str, &str)] = &[
    ("mmdebstrap", "mmdebstrap"),
    ("mkfs.ext4", "e2fsprogs"),
    ("xz", "xz-utils"),
];

/// Checks that `v` can be built by this backend on this host.
pub fn check_host(
    v: &Variant,
    is_root: bool,
    has: impl Fn(&str) -> bool,
) -> Result<(), Unsupported> {
    if !MACHINES.contains(&v.machine.as_str()) {
        return Err(Unsupported::Machine {
            machine: v.machine.clone(),
        });
    }
    if !is_root {
        return Err(Unsupported::NotRoot);
    }
    for (program, package) in TOOLS {
        if !has(program) {
            return Err(Unsupported::MissingTool { program, package });
        }
    }
    Ok(())
}

/// The quick backend's steps for `v`: the base unless it is cached, then the node's layer.
pub fn steps(v: &Variant, state: &Path, k3s: &K3sSource) -> std::io::Result<Vec<Step>> {
    let key = base_key(k3s)?;
    let base = base_dir(state, &key);
    let mut steps = Vec::new();
    if read_manifest(&base).is_none() {
        let work = state.join("cache/quick").join(format!(".work-{key}"));
        let rootfs = work.join("rootfs");
        if let K3sSource::Release {
            version,
            path,
            download: true,
        } = k3s
        {
            steps.push(Step::Run {
                what: format!("download k3s {version}"),
                argv: vec![
                    "curl".into(),
                    "-fL".into(),
                    "--retry".into(),
                    "2".into(),
                    "--connect-timeout".into(),
                    "10".into(),
                    "--create-dirs".into(),
                    "-o".into(),
                    path.display().to_string(),
                    k3s_url(version),
                ],
                cwd: state.to_path_buf(),
            });
        }
        steps.push(Step::Quick(Task::Prepare { work: work.clone() }));
        let mut argv: Vec<String> = vec!["mmdebstrap".into()];
        argv.extend(mmdebstrap_options());
        argv.push(SUITE.into());
        argv.push(rootfs.display().to_string());
        steps.push(Step::Run {
            what: "Debian root filesystem".into(),
            argv,
            cwd: work.clone(),
        });
        steps.push(Step::Quick(Task::Customize {
            rootfs: rootfs.clone(),
            k3s: k3s.path().map(Path::to_path_buf),
        }));
        steps.push(Step::Quick(Task::Initramfs {
            rootfs: rootfs.clone(),
            out: work.join("initrd.cpio"),
        }));
        steps.push(Step::Quick(Task::KernelPayload {
            rootfs: rootfs.clone(),
            out: work.join("vmlinux.xz"),
        }));
        steps.push(Step::Run {
            what: "uncompressed kernel".into(),
            argv: vec![
                "xz".into(),
                "--decompress".into(),
                "--single-stream".into(),
                "--force".into(),
                work.join("vmlinux.xz").display().to_string(),
            ],
            cwd: work.clone(),
        });
        steps.push(Step::Run {
            what: "ext4 image".into(),
            argv: vec![
                "mkfs.ext4".into(),
                "-q".into(),
                "-F".into(),
                "-L".into(),
                "n3xroot".into(),
                "-d".into(),
                rootfs.display().to_string(),
                work.join("base.img").display().to_string(),
                IMAGE_SIZE.into(),
            ],
            cwd: work.clone(),
        });
        steps.push(Step::Quick(Task::Publish {
            work,
            base: base.clone(),
            key: key.clone(),
            k3s: k3s.clone(),
        }));
    }
    if let (Some(profile), Some(node)) = (&v.profile, &v.node) {
        let dir = state.join("artifacts/quick").join(v.key());
        steps.push(Step::Quick(Task::NodeLayer {
            profile: profile.clone(),
            node: node.clone(),
            out: dir.join(format!("{node}.tar")),
        }));
    }
    steps.push(Step::Quick(Task::Collect {
        base,
        variant: v.key(),
        layer: match (&v.profile, &v.node) {
            (Some(_), Some(node)) => Some(
                state
                    .join("artifacts/quick")
                    .join(v.key())
                    .join(format!("{node}.tar")),
            ),
            _ => None,
        },
    }));
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profiles;

    fn shipped() -> Profiles {
        Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap()
    }

    fn variant(p: &Profiles, key: &str) -> Variant {
        crate::matrix::variants(p)
            .into_iter()
            .find(|v| v.key() == key)
            .unwrap()
    }

    #[test]
    fn only_qemuamd64_as_root_with_the_tools_installed() {
        let p = shipped();
        let amd = variant(&p, "server-vlans-server-1@qemuamd64");
        let arm = variant(&p, "server@qemuarm64");
        assert_eq!(check_host(&amd, true, |_| true), Ok(()));
        let err = check_host(&arm, true, |_| true).unwrap_err();
        assert!(err.to_string().contains("--backend isar"), "{err}");
        assert_eq!(check_host(&amd, false, |_| true), Err(Unsupported::NotRoot));
        let err = check_host(&amd, true, |t| t != "mkfs.ext4").unwrap_err();
        assert!(
            err.to_string().contains("apt-get install e2fsprogs"),
            "{err}"
        );
    }

    #[test]
    fn k3s_comes_from_the_file_the_cache_a_download_or_nowhere() {
        let state = tempfile::tempdir().unwrap();
        let file = state.path().join("my-k3s");
        std::fs::write(&file, "binary").unwrap();
        assert_eq!(
            K3sSource::resolve(Some(&file), "v1", state.path(), || panic!("not asked")),
            K3sSource::File(file.clone())
        );
        let none = K3sSource::resolve(None, "v1.35.0+k3s3", state.path(), || false);
        let K3sSource::None(why) = &none else {
            panic!("{none:?}")
        };
        assert!(why.contains("--k3s-binary"), "{why}");
        let online = K3sSource::resolve(None, "v1.35.0+k3s3", state.path(), || true);
        assert!(matches!(online, K3sSource::Release { download: true, .. }));
        let cached = state.path().join("cache/k3s/v1.35.0+k3s3/k3s");
        std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
        std::fs::write(&cached, "binary").unwrap();
        assert_eq!(
            K3sSource::resolve(None, "v1.35.0+k3s3", state.path(), || panic!("cached")),
            K3sSource::Release {
                version: "v1.35.0+k3s3".into(),
                path: cached,
                download: false
            }
        );
        assert_eq!(
            k3s_url("v1.35.0+k3s3"),
            "https://github.com/k3s-io/k3s/releases/download/v1.35.0%2Bk3s3/k3s"
        );
    }

    #[test]
    fn the_base_key_changes_with_k3s_and_nothing_else_changes_it() {
        let state = tempfile::tempdir().unwrap();
        let a = state.path().join("a");
        let b = state.path().join("b");
        std::fs::write(&a, "one").unwrap();
        std::fs::write(&b, "two").unwrap();
        let none = base_key(&K3sSource::None(String::new())).unwrap();
        assert_eq!(
            none,
            base_key(&K3sSource::None("other reason".into())).unwrap()
        );
        assert_ne!(none, base_key(&K3sSource::File(a.clone())).unwrap());
        assert_ne!(
            base_key(&K3sSource::File(a)).unwrap(),
            base_key(&K3sSource::File(b)).unwrap()
        );
    }

    #[test]
    fn a_cached_base_leaves_only_the_nodes_layer_to_build() {
        let p = shipped();
        let v = variant(&p, "server-vlans-server-1@qemuamd64");
        let state = tempfile::tempdir().unwrap();
        let k3s = K3sSource::None("offline".into());
        let fresh = steps(&v, state.path(), &k3s).unwrap();
        let text: Vec<String> = fresh.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|s| s.contains("mmdebstrap")), "{text:#?}");
        assert!(
            !text.iter().any(|s| s.contains("curl")),
            "offline: no download"
        );
        let key = base_key(&k3s).unwrap();
        let base = base_dir(state.path(), &key);
        std::fs::create_dir_all(&base).unwrap();
        let manifest = Manifest {
            key,
            suite: SUITE.into(),
            kernel: "6.1.0-56-amd64".into(),
            k3s: None,
            k3s_missing: Some("offline".into()),
            files: vec![],
            cmdline: CMDLINE.into(),
        };
        std::fs::write(
            base.join("manifest.json"),
            serde_json::to_string(&manifest).unwrap(),
        )
        .unwrap();
        let cached = steps(&v, state.path(), &k3s).unwrap();
        let text: Vec<String> = cached.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 2, "{text:#?}");
        assert!(text[0].contains("server-1.tar"), "{text:#?}");
    }
}
