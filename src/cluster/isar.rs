//! Booting a node from its variant's ISAR artifacts (`n3x build --backend isar` copies them to
//! `artifacts/isar/isar-<variant>-<machine>{.wic,-vmlinuz,-initrd.img}`): the `.wic` disk on
//! virtio (`snapshot=on`: the artifact is never written), booted directly with the variant's
//! kernel and initrd (`root=/dev/vda2`), or by OVMF firmware when the kernel or initrd is
//! missing. The serial console, control channel, QMP and NICs are the same as for the quick
//! image; the machine is `q35`, because OVMF needs its flash and the image's kernel expects PCI.

use std::path::{Path, PathBuf};

use super::ClusterError;
use super::accel::Accel;
use super::paths::{NodePaths, RuntimeDir};
use super::qemu;
use super::switch::Ports;
use crate::matrix::{self, Variant};
use crate::profile::Profiles;
use crate::render::qemu::{Plan, PlanNode};

/// The kernel command line of a directly booted ISAR image (the original's direct mode).
pub const DIRECT_CMDLINE: &str =
    "root=/dev/vda2 rootwait console=ttyS0,115200 net.ifnames=0 biosdevname=0 quiet loglevel=1";

/// Where Debian's `ovmf` package puts the firmware.
pub const OVMF_DIR: &str = "/usr/share/OVMF";

/// How a node boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// `-kernel`/`-initrd`/`-append`.
    Direct {
        /// The variant's kernel.
        kernel: PathBuf,
        /// Its initrd.
        initrd: PathBuf,
    },
    /// UEFI firmware from the disk's EFI partition.
    Firmware {
        /// `OVMF_CODE.fd` (read-only flash).
        code: PathBuf,
        /// The node's own copy of `OVMF_VARS.fd` (writable flash).
        vars: PathBuf,
    },
}

/// A node's ISAR image and how it boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsarImage {
    /// The variant.
    pub variant: String,
    /// The `.wic` disk.
    pub wic: PathBuf,
    /// Direct or firmware boot.
    pub boot: Boot,
}

/// The variant that builds `node` of `profile` for `machine`.
pub fn node_variant(
    p: &Profiles,
    profile: &str,
    node: &str,
    machine: &str,
) -> Result<Variant, ClusterError> {
    matrix::variants(p)
        .into_iter()
        .find(|v| {
            v.machine == machine
                && v.profile.as_deref() == Some(profile)
                && v.node.as_deref() == Some(node)
        })
        .ok_or_else(|| {
            ClusterError::refused(
                format!(
                    "no variant of the matrix builds node {node} of profile {profile} for {machine}, so there is no ISAR image to boot"
                ),
                "boot the quick image (`--backend quick`), or add the node to the matrix in profiles/matrix.yaml (`n3x list` shows the variants)",
            )
        })
}

/// The `build` command that makes a variant's ISAR artifacts.
pub fn build_command(v: &Variant) -> String {
    format!(
        "n3x build --variant {} --machine {} --backend isar",
        v.id, v.machine
    )
}

/// Finds the artifacts of `v` in `artifacts` (the state's `artifacts/isar`) and chooses the
/// boot: direct with kernel and initrd, else firmware when OVMF is in `ovmf`; `vars` is
/// where the node's copy of the firmware variables goes. Missing files name the command that
/// makes them.
pub fn image(
    p: &Profiles,
    v: &Variant,
    artifacts: &Path,
    ovmf: &Path,
    vars: PathBuf,
) -> Result<IsarImage, ClusterError> {
    let find = |kind: &str| {
        matrix::artifacts(p, v)
            .into_iter()
            .find(|a| a.kind == kind)
            .map(|a| artifacts.join(a.unique_name))
    };
    let Some(wic) = find("wic").filter(|w| w.is_file()) else {
        return Err(ClusterError::refused(
            format!(
                "the ISAR image of {} is not built ({} is missing)",
                v.key(),
                find("wic")
                    .unwrap_or_else(|| artifacts.join("?.wic"))
                    .display()
            ),
            format!("`{}`", build_command(v)),
        ));
    };
    let kernel = find("vmlinuz").filter(|k| k.is_file());
    let initrd = find("initrd").filter(|i| i.is_file());
    let boot = match (kernel, initrd) {
        (Some(kernel), Some(initrd)) => Boot::Direct { kernel, initrd },
        _ => {
            let code = ovmf.join("OVMF_CODE.fd");
            let template = ovmf.join("OVMF_VARS.fd");
            if !code.is_file() || !template.is_file() {
                return Err(ClusterError::refused(
                    format!(
                        "{} has no kernel and initrd beside its .wic for a direct boot, and no UEFI firmware is installed ({} is missing)",
                        v.key(),
                        code.display()
                    ),
                    format!(
                        "`apt-get install ovmf`, or `{}` to make the kernel and initrd",
                        build_command(v)
                    ),
                ));
            }
            Boot::Firmware { code, vars }
        }
    };
    Ok(IsarImage {
        variant: v.key(),
        wic,
        boot,
    })
}

/// The argv of a node's QEMU booting its ISAR image.
#[allow(clippy::too_many_arguments)]
pub fn isar_argv(
    plan: &Plan,
    node: &PlanNode,
    image: &IsarImage,
    paths: &NodePaths,
    ports: &Ports,
    accel: Accel,
    runtime: &RuntimeDir,
    layers: &[(String, PathBuf)],
) -> Vec<String> {
    let mut argv = qemu::head_args(plan, node, accel, "q35");
    match &image.boot {
        Boot::Direct { kernel, initrd } => {
            let mut cmdline = format!("{DIRECT_CMDLINE} {}", node.kernel_cmdline);
            let timing = qemu::timing_args(qemu::host_tsc_khz());
            if !timing.is_empty() {
                cmdline.push(' ');
                cmdline.push_str(&timing);
            }
            argv.extend([
                "-kernel".into(),
                kernel.display().to_string(),
                "-initrd".into(),
                initrd.display().to_string(),
                "-append".into(),
                cmdline,
            ]);
        }
        Boot::Firmware { code, vars } => argv.extend([
            "-drive".into(),
            format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={}",
                code.display()
            ),
            "-drive".into(),
            format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
        ]),
    }
    argv.extend(qemu::serial_args());
    argv.extend([
        "-drive".into(),
        format!(
            "id=d0,file={},format=raw,if=none,snapshot=on",
            image.wic.display()
        ),
        "-device".into(),
        "virtio-blk-pci,drive=d0".into(),
    ]);
    argv.extend(qemu::channel_args(paths, qemu::Bus::Pci, layers));
    argv.extend(qemu::nic_args(node, ports, runtime, qemu::Bus::Pci));
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::qemu::plan;

    fn shipped() -> Profiles {
        Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap()
    }

    fn touch(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, b"x").unwrap();
        path
    }

    #[test]
    fn missing_artifacts_name_the_build_command() {
        let p = shipped();
        let v = node_variant(&p, "vlans", "server-1", "qemuamd64").unwrap();
        assert_eq!(v.id, "server-vlans-server-1");
        let dir = tempfile::tempdir().unwrap();
        let err = image(&p, &v, dir.path(), dir.path(), dir.path().join("v"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("isar-server-vlans-server-1-qemuamd64.wic is missing"),
            "{err}"
        );
        assert!(
            err.contains(
                "fix: `n3x build --variant server-vlans-server-1 --machine qemuamd64 --backend isar`"
            ),
            "{err}"
        );
        // A .wic without kernel and initrd, and no firmware: both ways out.
        touch(dir.path(), "isar-server-vlans-server-1-qemuamd64.wic");
        let err = image(&p, &v, dir.path(), dir.path(), dir.path().join("v"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("apt-get install ovmf"), "{err}");
        let none = node_variant(&p, "vlans", "nobody", "qemuamd64")
            .unwrap_err()
            .to_string();
        assert!(none.contains("--backend quick"), "{none}");
    }

    #[test]
    fn kernel_and_initrd_boot_directly_and_a_lone_wic_boots_by_firmware() {
        let p = shipped();
        let prof = crate::render::profile(&p, "vlans").unwrap();
        let plan = plan(&p, prof, "qemuamd64", Some(&["server-1".to_string()])).unwrap();
        let ports = super::super::switch::assign_ports(&plan);
        let runtime = RuntimeDir::for_tests("/run/n3x/vlans");
        let node = &plan.nodes[0];
        let v = node_variant(&p, "vlans", "server-1", "qemuamd64").unwrap();
        let artifacts = tempfile::tempdir().unwrap();
        let ovmf = tempfile::tempdir().unwrap();
        let wic = touch(artifacts.path(), "isar-server-vlans-server-1-qemuamd64.wic");
        touch(ovmf.path(), "OVMF_CODE.fd");
        touch(ovmf.path(), "OVMF_VARS.fd");
        let vars = PathBuf::from("/run/n3x/vlans/server-1.OVMF_VARS.fd");
        let layers = [("opt/n3x/node.tar".to_string(), PathBuf::from("/r/n.tar"))];

        let firmware = image(&p, &v, artifacts.path(), ovmf.path(), vars.clone()).unwrap();
        let argv = isar_argv(
            &plan,
            node,
            &firmware,
            &runtime.node("server-1"),
            &ports,
            Accel::Tcg,
            &runtime,
            &layers,
        );
        let text = argv.join(" ");
        assert!(text.contains("-M q35,rtc=on"), "{text}");
        assert!(
            text.contains(&format!(
                "if=pflash,format=raw,unit=0,readonly=on,file={}",
                ovmf.path().join("OVMF_CODE.fd").display()
            )),
            "{text}"
        );
        assert!(
            text.contains("if=pflash,format=raw,unit=1,file=/run/n3x/vlans/server-1.OVMF_VARS.fd"),
            "{text}"
        );
        assert!(!text.contains("-kernel"), "{text}");
        assert!(
            text.contains(&format!(
                "id=d0,file={},format=raw,if=none,snapshot=on -device virtio-blk-pci,drive=d0",
                wic.display()
            )),
            "{text}"
        );

        touch(
            artifacts.path(),
            "isar-server-vlans-server-1-qemuamd64-vmlinuz",
        );
        touch(
            artifacts.path(),
            "isar-server-vlans-server-1-qemuamd64-initrd.img",
        );
        let direct = image(&p, &v, artifacts.path(), ovmf.path(), vars).unwrap();
        assert!(matches!(direct.boot, Boot::Direct { .. }));
        let argv = isar_argv(
            &plan,
            node,
            &direct,
            &runtime.node("server-1"),
            &ports,
            Accel::Tcg,
            &runtime,
            &layers,
        );
        let text = argv.join(" ");
        assert!(!text.contains("pflash"), "{text}");
        let append = &argv[argv.iter().position(|a| a == "-append").unwrap() + 1];
        assert!(
            append.starts_with("root=/dev/vda2 rootwait console=ttyS0,115200"),
            "{append}"
        );
        assert!(append.contains("systemd.hostname=server-1"), "{append}");
        assert!(text.contains("-chardev stdio,id=serial0,signal=off -serial chardev:serial0"));
        assert!(text.contains("virtio-serial-pci"), "{text}");
        assert!(
            text.contains("-fw_cfg name=opt/n3x/node.tar,file=/r/n.tar"),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "-netdev vde,id=n-eth1,sock=/run/n3x/vlans/sw-eth1,port=1 -device virtio-net-pci,netdev=n-eth1,mac={},id=nic-eth1",
                node.nics[1].mac
            )),
            "{text}"
        );
    }
}
