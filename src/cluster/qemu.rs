//! The QEMU command line of a node: the quick image booted directly (PVH kernel, small
//! initramfs, the shared ext4 image with `snapshot=on`), the serial console on stdio (the
//! supervisor's PTY is the console), the control channel on a virtio console, QMP, the
//! node's layers over fw_cfg, and its NICs in plan order on their switches' ports.
//! Only unix sockets: no user, tap, socket, udp or multicast network backends.

use std::path::PathBuf;

use super::accel::Accel;
use super::paths::{NodePaths, RuntimeDir};
use super::switch::Ports;
use crate::build::quick::guest::FW_CFG_LAYERS;
use crate::render::qemu::{Plan, PlanNode};

/// The files a node boots from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeImages {
    /// The uncompressed kernel (PVH ELF).
    pub kernel: PathBuf,
    /// The initramfs.
    pub initrd: PathBuf,
    /// The shared root filesystem image.
    pub image: PathBuf,
    /// The node's layer (its rendered files).
    pub layer: PathBuf,
    /// The node's secrets layer.
    pub secrets: Option<PathBuf>,
    /// The image's kernel command line.
    pub cmdline: String,
}

/// The QMP device id of a NIC: what `set_link` names.
pub fn nic_device_id(nic: &str) -> String {
    format!("nic-{nic}")
}

/// The host's TSC frequency in kHz (from `/proc/cpuinfo`'s `cpu MHz`). Under TCG the guest's
/// TSC follows the host's; telling the guest (`tsc_early_khz=`, `lpj=`) spares it a
/// calibration that can hang for minutes when the host is loaded.
pub fn host_tsc_khz() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    Some((mhz * 1000.0).round() as u64)
}

/// The timing settings for the guest kernel, when the host's TSC frequency is known
/// (Debian's kernels run at HZ=250).
pub fn timing_args(tsc_khz: Option<u64>) -> String {
    match tsc_khz {
        Some(khz) if khz > 0 => format!("lpj={} tsc_early_khz={khz}", khz * 1000 / 250),
        _ => String::new(),
    }
}

/// How virtio devices attach: memory-mapped (microvm) or PCI (q35).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// `virtio-*-device`.
    Mmio,
    /// `virtio-*-pci`.
    Pci,
}

impl Bus {
    fn device(self, kind: &str) -> String {
        match self {
            Bus::Mmio => format!("virtio-{kind}-device"),
            Bus::Pci => format!("virtio-{kind}-pci"),
        }
    }
}

/// The start of every node's argv: name, accelerator, machine, memory, CPUs, no display or
/// default devices.
pub fn head_args(plan: &Plan, node: &PlanNode, accel: Accel, machine: &str) -> Vec<String> {
    vec![
        plan.qemu_binary.clone(),
        "-name".into(),
        format!("n3x-{}-{}", plan.profile, node.name),
        "-accel".into(),
        match accel {
            Accel::Tcg => "tcg,tb-size=128".into(),
            Accel::Kvm => "kvm".into(),
        },
        "-M".into(),
        format!("{machine},rtc=on"),
        "-m".into(),
        node.memory_mib.to_string(),
        "-smp".into(),
        node.cpus.to_string(),
        "-display".into(),
        "none".into(),
        "-nodefaults".into(),
        "-no-user-config".into(),
        "-no-reboot".into(),
    ]
}

/// The serial console on the supervisor's PTY; signal=off so that a Ctrl-C typed into an
/// attached console reaches the guest instead of killing QEMU.
pub fn serial_args() -> Vec<String> {
    vec![
        "-chardev".into(),
        "stdio,id=serial0,signal=off".into(),
        "-serial".into(),
        "chardev:serial0".into(),
    ]
}

/// The control channel (a virtio console on a unix socket), QMP, and the node's layers over
/// fw_cfg (name, file).
pub fn channel_args(paths: &NodePaths, bus: Bus, layers: &[(String, PathBuf)]) -> Vec<String> {
    let mut argv: Vec<String> = vec![
        "-chardev".into(),
        format!(
            "socket,id=control,path={},server=on,wait=off",
            paths.control.display()
        ),
        "-device".into(),
        bus.device("serial"),
        "-device".into(),
        "virtconsole,chardev=control".into(),
        "-qmp".into(),
        format!("unix:{},server=on,wait=off", paths.qmp.display()),
    ];
    for (name, file) in layers {
        argv.push("-fw_cfg".into());
        argv.push(format!("name={name},file={}", file.display()));
    }
    argv
}

/// The node's NICs in plan order, each on its switch port.
pub fn nic_args(node: &PlanNode, ports: &Ports, runtime: &RuntimeDir, bus: Bus) -> Vec<String> {
    let mut argv = Vec::new();
    for nic in &node.nics {
        let netdev = format!("n-{}", nic.name);
        let backend = match ports.nic(&node.name, &nic.name) {
            Some((segment, port)) => format!(
                "vde,id={netdev},sock={},port={port}",
                runtime.switch_dir(segment).display()
            ),
            // Unconnected (the eth0 placeholder): a datagram socket in the private runtime
            // directory that sends to a path where nothing is, so frames go nowhere, and
            // QEMU does not warn that the NIC has no peer.
            None => {
                let end = |what: &str| {
                    runtime
                        .root()
                        .join(format!("{}.{}.{what}", node.name, nic.name))
                        .display()
                        .to_string()
                };
                format!(
                    "dgram,id={netdev},local.type=unix,local.path={},remote.type=unix,remote.path={}",
                    end("unplugged"),
                    end("nowhere")
                )
            }
        };
        argv.push("-netdev".into());
        argv.push(backend);
        argv.push("-device".into());
        argv.push(format!(
            "{},netdev={netdev},mac={},id={}",
            bus.device("net"),
            nic.mac,
            nic_device_id(&nic.name)
        ));
    }
    argv
}

/// The node's layers for the quick image: its rendered files and its secrets.
pub fn quick_layers(images: &NodeImages) -> Vec<(String, PathBuf)> {
    let mut layers = vec![(FW_CFG_LAYERS[0].to_string(), images.layer.clone())];
    if let Some(secrets) = &images.secrets {
        layers.push((FW_CFG_LAYERS[1].to_string(), secrets.clone()));
    }
    layers
}

/// The argv of a node's QEMU.
pub fn qemu_argv(
    plan: &Plan,
    node: &PlanNode,
    images: &NodeImages,
    paths: &NodePaths,
    ports: &Ports,
    accel: Accel,
    runtime: &RuntimeDir,
) -> Vec<String> {
    let mut cmdline = format!("{} {}", images.cmdline, node.kernel_cmdline);
    let timing = timing_args(host_tsc_khz());
    if !timing.is_empty() {
        cmdline.push(' ');
        cmdline.push_str(&timing);
    }
    let mut argv = head_args(plan, node, accel, &plan.qemu_machine);
    argv.extend([
        "-kernel".into(),
        images.kernel.display().to_string(),
        "-initrd".into(),
        images.initrd.display().to_string(),
        "-append".into(),
        cmdline,
    ]);
    argv.extend(serial_args());
    argv.extend([
        "-drive".into(),
        format!(
            "id=d0,file={},format=raw,if=none,snapshot=on",
            images.image.display()
        ),
        "-device".into(),
        "virtio-blk-device,drive=d0".into(),
    ]);
    argv.extend(channel_args(paths, Bus::Mmio, &quick_layers(images)));
    argv.extend(nic_args(node, ports, runtime, Bus::Mmio));
    argv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profiles;
    use crate::render::qemu::plan;
    use std::path::Path;

    #[test]
    fn a_node_boots_the_quick_image_with_its_nics_on_their_switch_ports() {
        let p = Profiles::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles")).unwrap();
        let prof = crate::render::profile(&p, "bonding-vlans").unwrap();
        let plan = plan(&p, prof, "qemuamd64", None).unwrap();
        let ports = super::super::switch::assign_ports(&plan);
        let runtime = RuntimeDir::for_tests("/run/n3x/bonding-vlans");
        let node = &plan.nodes[0];
        let images = NodeImages {
            kernel: "/c/vmlinux".into(),
            initrd: "/c/initrd.cpio".into(),
            image: "/c/base.img".into(),
            layer: "/r/server-1.node.tar".into(),
            secrets: Some("/r/server-1.secrets.tar".into()),
            cmdline: "console=ttyS0 n3x.root=/dev/vda".into(),
        };
        let argv = qemu_argv(
            &plan,
            node,
            &images,
            &runtime.node("server-1"),
            &ports,
            Accel::Tcg,
            &runtime,
        );
        let text = argv.join(" ");
        assert_eq!(argv[0], "qemu-system-x86_64");
        assert!(
            text.contains("-accel tcg,tb-size=128 -M microvm,rtc=on -m 1024 -smp 1"),
            "{text}"
        );
        assert!(
            text.contains("id=d0,file=/c/base.img,format=raw,if=none,snapshot=on"),
            "{text}"
        );
        assert!(
            text.contains("-chardev stdio,id=serial0,signal=off -serial chardev:serial0"),
            "{text}"
        );
        assert!(
            text.contains("name=opt/n3x/node.tar,file=/r/server-1.node.tar"),
            "{text}"
        );
        assert!(
            text.contains("name=opt/n3x/secrets.tar,file=/r/server-1.secrets.tar"),
            "{text}"
        );
        assert!(
            text.contains("-netdev vde,id=n-eth1,sock=/run/n3x/bonding-vlans/sw-eth1,port=1"),
            "{text}"
        );
        assert!(
            text.contains("-netdev vde,id=n-eth2,sock=/run/n3x/bonding-vlans/sw-eth2,port=1"),
            "{text}"
        );
        assert!(
            text.contains("-netdev dgram,id=n-eth0,local.type=unix,local.path=/run/n3x/bonding-vlans/server-1.eth0.unplugged,remote.type=unix,remote.path=/run/n3x/bonding-vlans/server-1.eth0.nowhere"),
            "{text}"
        );
        assert!(
            text.contains(&format!("mac={},id=nic-eth1", node.nics[1].mac)),
            "{text}"
        );
        let append = &argv[argv.iter().position(|a| a == "-append").unwrap() + 1];
        assert!(append.contains("systemd.hostname=server-1"), "{append}");
        // Nothing that could reach beyond this machine.
        for bad in ["user,", "tap,", "socket,", "udp", "mcast", "bridge"] {
            assert!(!text.contains(&format!("-netdev {bad}")), "{bad} in {text}");
        }
    }

    #[test]
    fn timing_follows_the_host_tsc() {
        assert_eq!(
            timing_args(Some(2_596_120)),
            "lpj=10384480 tsc_early_khz=2596120"
        );
        assert_eq!(timing_args(None), "");
    }
}
