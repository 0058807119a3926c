//! What n3x adds to the Debian root filesystem of a quick image, and the initramfs `/init`.
//!
//! One base image serves every node: a node's own files (the renderer's rootfs tree) and its
//! secrets reach it as tar archives over QEMU's fw_cfg, unpacked by the initramfs onto the root
//! filesystem before systemd starts, so every unit, drop-in and module list of the node is in
//! place when systemd first reads them. The base image has:
//!
//! - the test control channel: a root shell on the virtio console `hvc0` (like the original's
//!   test backdoor), started early and always restarted;
//! - `n3x-ready.service`, which prints `N3X-NET-UP` with the node's addresses on the serial
//!   console once the network is online;
//! - k3s units for both roles, each started only when the node's layer brought its env file
//!   and only when a k3s binary is installed;
//! - the kernel modules and sysctls k3s needs, a volatile journal, short stop timeouts, root
//!   autologin on the serial console, and units masked that only slow a test VM down.

use super::archive::Item;

/// fw_cfg names under which the cluster engine hands a node its layers.
pub const FW_CFG_LAYERS: [&str; 2] = ["opt/n3x/node.tar", "opt/n3x/secrets.tar"];

/// The marker `n3x-ready.service` prints on the serial console.
pub const NET_UP_MARKER: &str = "N3X-NET-UP";

/// What the initramfs prints first on the serial console: the kernel runs (with `quiet` it
/// prints nothing itself), so the readiness kernel stage has a line to see.
pub const KERNEL_MARKER: &str = "N3X-KERNEL-UP";

/// The line the control channel prints when it is ready for commands.
pub const BACKDOOR_READY: &str = "N3X-BACKDOOR-READY";

/// What the initramfs prints, and then powers off, when the kernel command line has
/// `n3x.probe` (an accelerator probe).
pub const PROBE_MARKER: &str = "N3X-PROBE-OK";

/// Modules the initramfs loads to reach the root filesystem and the layers.
pub const INITRAMFS_MODULES: [&str; 7] = [
    "virtio_mmio",
    "virtio_pci",
    "virtio_blk",
    "crc32c_generic",
    "ext4",
    "qemu_fw_cfg",
    "virtio_console",
];

/// The initramfs `/init`: mount the root filesystem, unpack the node's layers onto it, and
/// hand over to systemd.
pub fn init_script() -> String {
    let layers = FW_CFG_LAYERS.join(" ");
    let modules = INITRAMFS_MODULES.join(" ");
    format!(
        r#"#!/bin/busybox sh
# n3x quick image initramfs: root filesystem, node layers, then systemd.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "{KERNEL_MARKER} kernel $(uname -r), initramfs running" > /dev/console
# An accelerator probe boots only this far: it proves the CPU runs the kernel, then stops.
if grep -q n3x.probe /proc/cmdline; then echo {PROBE_MARKER} > /dev/console; poweroff -f; fi
for m in {modules}; do modprobe "$m" 2>/dev/null; done
root=$(sed -n 's/.*n3x\.root=\([^ ]*\).*/\1/p' /proc/cmdline)
root=${{root:-/dev/vda}}
i=0
while [ ! -b "$root" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
mkdir -p /newroot
if ! mount -t ext4 -o rw "$root" /newroot; then
  echo "N3X-INITRD-FAIL: cannot mount the root filesystem $root" > /dev/console
  exec sh
fi
for name in {layers}; do
  f=/sys/firmware/qemu_fw_cfg/by_name/$name/raw
  if [ -r "$f" ]; then
    cat "$f" | tar -x -C /newroot || echo "N3X-INITRD-FAIL: cannot unpack $name" > /dev/console
  fi
done
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
"#
    )
}

/// Units masked in the image: each only costs boot time in a test VM.
pub const MASKED_UNITS: &[&str] = &[
    "systemd-random-seed.service",
    "modprobe@dm_mod.service",
    "modprobe@fuse.service",
    "modprobe@loop.service",
    "modprobe@configfs.service",
    "modprobe@drm.service",
    "modprobe@efi_pstore.service",
    "dev-hugepages.mount",
    "dev-mqueue.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-kernel-config.mount",
    "sys-fs-fuse-connections.mount",
    "systemd-update-utmp.service",
    "systemd-update-utmp-runlevel.service",
    "systemd-journal-flush.service",
    "systemd-hwdb-update.service",
    "ldconfig.service",
    "systemd-journal-catalog-update.service",
    "systemd-update-done.service",
    "systemd-pstore.service",
    "proc-sys-fs-binfmt_misc.automount",
    "systemd-binfmt.service",
    "systemd-remount-fs.service",
    "systemd-firstboot.service",
    "systemd-machine-id-commit.service",
    "systemd-timesyncd.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "fstrim.timer",
    "getty@tty1.service",
    "getty-static.service",
    // The control channel owns hvc0; a getty there would fight it for the tty.
    "serial-getty@hvc0.service",
];

fn unit_wants(target: &str, unit: &str) -> Item {
    Item::symlink(
        format!("etc/systemd/system/{target}.wants/{unit}"),
        format!("/etc/systemd/system/{unit}"),
    )
}

/// A k3s unit for `role` (`server` or `agent`): runs only on nodes whose layer brought
/// `/etc/default/k3s-<role>`, and only when a k3s binary is installed.
fn k3s_unit(role: &str) -> String {
    let opts = format!("K3S_{}_OPTS", role.to_uppercase());
    format!(
        "# Installed by n3x (quick image). Settings: /etc/rancher/k3s/config.yaml.\n\
         [Unit]\n\
         Description=Lightweight Kubernetes ({role})\n\
         Documentation=https://k3s.io\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         ConditionPathExists=/etc/default/k3s-{role}\n\
         ConditionFileIsExecutable=/usr/local/bin/k3s\n\
         \n\
         [Service]\n\
         Type=notify\n\
         EnvironmentFile=-/etc/default/k3s-{role}\n\
         ExecStartPre=-/sbin/modprobe br_netfilter\n\
         ExecStartPre=-/sbin/modprobe overlay\n\
         ExecStart=/usr/local/bin/k3s {role} ${opts}\n\
         KillMode=process\n\
         Delegate=yes\n\
         LimitNOFILE=1048576\n\
         LimitNPROC=infinity\n\
         LimitCORE=infinity\n\
         TasksMax=infinity\n\
         TimeoutStartSec=0\n\
         Restart=always\n\
         RestartSec=5s\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    )
}

/// Every file, directory and link n3x adds to the root filesystem (paths relative to `/`).
pub fn rootfs_items() -> Vec<Item> {
    let mut items = vec![
        Item::file(
            "usr/local/sbin/n3x-backdoor",
            0o755,
            format!(
                "#!/bin/sh\n\
                 # n3x test control channel: a root shell on the virtio console hvc0.\n\
                 exec < /dev/hvc0 > /dev/hvc0 2>&1\n\
                 # After opening: hvc resets its termios on the last close.\n\
                 stty raw -echo\n\
                 echo \"{BACKDOOR_READY}\"\n\
                 export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
                 cd /\n\
                 # A script on the tty, not an interactive shell: no prompt, no echo.\n\
                 exec /bin/bash --noprofile --norc /dev/hvc0\n"
            ),
        ),
        Item::file(
            "etc/systemd/system/n3x-backdoor.service",
            0o644,
            "# n3x test control channel (quick image).\n\
             [Unit]\n\
             Description=n3x test control channel on hvc0\n\
             DefaultDependencies=no\n\
             Requires=dev-hvc0.device\n\
             After=dev-hvc0.device\n\
             \n\
             [Service]\n\
             ExecStart=/usr/local/sbin/n3x-backdoor\n\
             Restart=always\n\
             RestartSec=0\n\
             KillMode=process\n",
        ),
        unit_wants("sysinit.target", "n3x-backdoor.service"),
        Item::file(
            "usr/local/sbin/n3x-ready",
            0o755,
            format!(
                "#!/bin/sh\n\
                 # Tells the host on the serial console that the network is online.\n\
                 addrs=$(ip -o -4 addr show | awk '$2 != \"lo\" {{printf \" %s=%s\", $2, $4}}')\n\
                 echo \"{NET_UP_MARKER} uptime=$(cut -d' ' -f1 /proc/uptime)$addrs\" > /dev/ttyS0\n"
            ),
        ),
        Item::file(
            "etc/systemd/system/n3x-ready.service",
            0o644,
            "# n3x readiness marker (quick image).\n\
             [Unit]\n\
             Description=Tell the n3x host the network is online\n\
             Wants=network-online.target\n\
             After=network-online.target\n\
             \n\
             [Service]\n\
             Type=oneshot\n\
             ExecStart=/usr/local/sbin/n3x-ready\n\
             \n\
             [Install]\n\
             WantedBy=multi-user.target\n",
        ),
        unit_wants("multi-user.target", "n3x-ready.service"),
        Item::file(
            "etc/systemd/system/n3x-dnsmasq.service",
            0o644,
            "# Installed by n3x: the DHCP server of a profile with one (its node layer brings\n\
             # /etc/dnsmasq.d/n3x-dhcp.conf, rendered from the profile's reservations).\n\
             [Unit]\n\
             Description=DHCP server of the test network (dnsmasq)\n\
             Wants=network-online.target\n\
             After=network-online.target\n\
             ConditionPathExists=/etc/dnsmasq.d/n3x-dhcp.conf\n\
             \n\
             [Service]\n\
             ExecStart=/usr/sbin/dnsmasq --keep-in-foreground --conf-file=/etc/dnsmasq.d/n3x-dhcp.conf\n\
             Restart=on-failure\n\
             \n\
             [Install]\n\
             WantedBy=multi-user.target\n",
        ),
        unit_wants("multi-user.target", "n3x-dnsmasq.service"),
        Item::file(
            "etc/systemd/system/k3s-server.service",
            0o644,
            k3s_unit("server"),
        ),
        Item::file(
            "etc/systemd/system/k3s-agent.service",
            0o644,
            k3s_unit("agent"),
        ),
        unit_wants("multi-user.target", "k3s-server.service"),
        unit_wants("multi-user.target", "k3s-agent.service"),
        Item::symlink(
            "etc/systemd/system/multi-user.target.wants/systemd-networkd.service",
            "/lib/systemd/system/systemd-networkd.service",
        ),
        Item::symlink(
            "etc/systemd/system/sockets.target.wants/systemd-networkd.socket",
            "/lib/systemd/system/systemd-networkd.socket",
        ),
        Item::symlink(
            "etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service",
            "/lib/systemd/system/systemd-networkd-wait-online.service",
        ),
        Item::file(
            "etc/modules-load.d/n3x-k3s.conf",
            0o644,
            "# Installed by n3x: what k3s and the test networks need.\n\
             br_netfilter\noverlay\n8021q\nbonding\n",
        ),
        Item::file(
            "etc/sysctl.d/90-n3x-k3s.conf",
            0o644,
            "# Installed by n3x: what k3s needs.\n\
             net.ipv4.ip_forward = 1\n\
             net.bridge.bridge-nf-call-iptables = 1\n\
             net.bridge.bridge-nf-call-ip6tables = 1\n",
        ),
        Item::file(
            "etc/systemd/journald.conf.d/n3x.conf",
            0o644,
            "# Installed by n3x: test VMs keep their journal in memory.\n\
             [Journal]\nStorage=volatile\n",
        ),
        Item::file(
            "etc/systemd/system.conf.d/n3x.conf",
            0o644,
            "# Installed by n3x: test VMs stop fast.\n\
             [Manager]\nDefaultTimeoutStopSec=5s\n",
        ),
        Item::file(
            "etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf",
            0o644,
            "# Installed by n3x: the serial console of a test VM logs in as root.\n\
             [Service]\n\
             ExecStart=\n\
             ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM\n",
        ),
        // systemd.machine_id= on the kernel command line gives each node its identity.
        Item::file("etc/machine-id", 0o444, ""),
        Item::file("etc/fstab", 0o644, "# The initramfs mounts / read-write.\n"),
    ];
    items.extend(
        MASKED_UNITS
            .iter()
            .map(|u| Item::symlink(format!("etc/systemd/system/{u}"), "/dev/null")),
    );
    items
}

/// `/etc/shadow` with root's password emptied (test VMs only; the console logs in as root).
pub fn shadow_without_root_password(shadow: &str) -> String {
    shadow
        .lines()
        .map(|line| match line.split_once(':') {
            Some(("root", rest)) => {
                let after = rest.split_once(':').map(|(_, r)| r).unwrap_or("");
                format!("root::{after}")
            }
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::quick::archive::Entry;

    #[test]
    fn every_unit_that_is_wanted_exists_and_k3s_waits_for_its_env_file() {
        let items = rootfs_items();
        let paths: Vec<&str> = items.iter().map(|i| i.path.as_str()).collect();
        for item in &items {
            if let Entry::Symlink(target) = &item.entry
                && let Some(unit) = target.strip_prefix("/").filter(|t| t.starts_with("etc/"))
            {
                assert!(
                    paths.contains(&unit),
                    "{} points at a missing {unit}",
                    item.path
                );
            }
        }
        let server = items
            .iter()
            .find(|i| i.path == "etc/systemd/system/k3s-server.service")
            .unwrap();
        let Entry::File(text) = &server.entry else {
            panic!()
        };
        let text = String::from_utf8_lossy(text);
        assert!(text.contains("ConditionPathExists=/etc/default/k3s-server"));
        assert!(text.contains("ExecStart=/usr/local/bin/k3s server $K3S_SERVER_OPTS"));
    }

    #[test]
    fn the_dhcp_server_runs_only_where_the_layer_brought_its_configuration() {
        let items = rootfs_items();
        let unit = items
            .iter()
            .find(|i| i.path == "etc/systemd/system/n3x-dnsmasq.service")
            .expect("a dnsmasq unit");
        let Entry::File(text) = &unit.entry else {
            panic!()
        };
        let text = String::from_utf8_lossy(text);
        assert!(text.contains("ConditionPathExists=/etc/dnsmasq.d/n3x-dhcp.conf"));
        assert!(
            items
                .iter()
                .any(|i| i.path == "etc/systemd/system/multi-user.target.wants/n3x-dnsmasq.service")
        );
    }

    #[test]
    fn the_initramfs_unpacks_both_layers_before_systemd() {
        let init = init_script();
        let unpack = init.find("opt/n3x/node.tar opt/n3x/secrets.tar").unwrap();
        let handover = init.find("switch_root").unwrap();
        assert!(unpack < handover);
        // The kernel stage's line comes first, before anything that can hang.
        let marker = init.find(KERNEL_MARKER).unwrap();
        assert!(marker < init.find("n3x.probe").unwrap());
        assert!(init.starts_with("#!/bin/busybox sh\n"));
    }

    #[test]
    fn only_roots_password_is_emptied() {
        let shadow = "root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n";
        assert_eq!(
            shadow_without_root_password(shadow),
            "root::19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
        );
    }
}
