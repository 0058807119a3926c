//! The QMP client against real QEMU processes without a guest (started paused with `-S`, no
//! kernel), and against fake servers for the failure cases. The NIC hangs on an in-QEMU hub
//! (`-netdev hubport`): no traffic reaches the host.
//!
//! When qemu-system-x86_64 is missing the QEMU tests fail under CI (`CI` or
//! `N3X_REQUIRE_TOOLS` set) and are skipped with a notice elsewhere.
#![cfg(target_os = "linux")]

use std::future::Future;
use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use n3x::cluster::qmp::{Qmp, QmpError};
use tempfile::TempDir;

/// Only keeps a broken test from hanging; no test relies on how long anything takes.
const DEADLINE: Duration = Duration::from_secs(120);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: nothing after {DEADLINE:?}"),
    }
}

const QEMU: &str = "qemu-system-x86_64";

/// A paused QEMU with a QMP socket, killed on drop.
struct Qemu {
    child: Child,
    qmp: Qmp,
    _dir: TempDir,
}

impl Qemu {
    /// `None` (after a notice) when QEMU is not installed and tools are not required.
    async fn start(machine: &[&str]) -> Option<Qemu> {
        if Command::new(QEMU).arg("--version").output().is_err() {
            assert!(
                std::env::var_os("N3X_REQUIRE_TOOLS").is_none() && std::env::var_os("CI").is_none(),
                "{QEMU} is missing; install the Debian package qemu-system-x86"
            );
            eprintln!("skipping: {QEMU} not installed (apt-get install qemu-system-x86)");
            return None;
        }
        let dir = TempDir::new().unwrap();
        let socket = dir.path().join("qmp.sock");
        let child = Command::new(QEMU)
            .args(machine)
            .args([
                "-accel",
                "tcg",
                "-S",
                "-display",
                "none",
                "-nodefaults",
                "-m",
                "64",
            ])
            .arg("-qmp")
            .arg(format!("unix:{},server=on,wait=off", socket.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut qemu = Qemu {
            child,
            qmp: Qmp::new(&socket),
            _dir: dir,
        };
        // The socket file appears when QEMU binds it, a moment before it listens: wait until
        // it takes a connection (on a busy machine the moment can be long).
        within("the QMP socket", async {
            while std::os::unix::net::UnixStream::connect(&socket).is_err() {
                if let Some(status) = qemu.child.try_wait().unwrap() {
                    panic!("{QEMU} {machine:?} ended with {status} before its QMP socket appeared");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        Some(qemu)
    }

    /// A microvm with one virtio-net NIC `nic-eth1` on an in-QEMU hub.
    async fn with_nic() -> Option<Qemu> {
        Qemu::start(&[
            "-M",
            "microvm",
            "-netdev",
            "hubport,id=n0,hubid=0",
            "-device",
            "virtio-net-device,netdev=n0,id=nic-eth1",
        ])
        .await
    }
}

impl Drop for Qemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// microvm's virtio-mmio transports: 24 of 512 bytes from here.
const VIRTIO_MMIO: u64 = 0xfeb0_0000;

/// The first `n` bytes `xp` shows at `address`.
async fn peek(qmp: &Qmp, address: u64, n: usize) -> Vec<u8> {
    let text = qmp
        .human_monitor_command(&format!("xp /{n}bx {address:#x}"))
        .await
        .unwrap();
    let bytes: Vec<u8> = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("0x"))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    assert_eq!(bytes.len(), n, "{text}");
    bytes
}

/// Whether the guest would see a carrier on the virtio-net NIC: bit 0 (VIRTIO_NET_S_LINK_UP)
/// of the `status` field of the device's config space (offset 6, after the MAC address).
async fn carrier(qmp: &Qmp) -> bool {
    for slot in 0..24 {
        let base = VIRTIO_MMIO + slot * 0x200;
        let header = peek(qmp, base, 12).await;
        let (magic, device) = (&header[0..4], header[8]);
        if magic == b"virt" && device == 1 {
            let config = peek(qmp, base + 0x100, 8).await;
            return config[6] & 1 == 1;
        }
    }
    panic!("no virtio-net device among the virtio-mmio transports");
}

#[tokio::test]
async fn set_link_pulls_and_plugs_the_cable() {
    let Some(qemu) = Qemu::with_nic().await else {
        return;
    };
    let qmp = &qemu.qmp;
    assert!(
        within("carrier", carrier(qmp)).await,
        "a new NIC has a carrier"
    );
    within("down", qmp.set_link("nic-eth1", false))
        .await
        .unwrap();
    assert!(
        !within("carrier", carrier(qmp)).await,
        "after set_link down"
    );
    within("up", qmp.set_link("nic-eth1", true)).await.unwrap();
    assert!(within("carrier", carrier(qmp)).await, "after set_link up");
}

#[tokio::test]
async fn status_reset_and_powerdown_skip_the_events_they_cause() {
    let Some(qemu) = Qemu::with_nic().await else {
        return;
    };
    let qmp = &qemu.qmp;
    assert_eq!(within("status", qmp.status()).await.unwrap(), "prelaunch");
    // Both emit an event (RESET, POWERDOWN) before their answer.
    within("reset", qmp.system_reset()).await.unwrap();
    within("powerdown", qmp.system_powerdown()).await.unwrap();
    let answer = within("query-name", qmp.execute("query-name", None, DEADLINE)).await;
    assert_eq!(answer.unwrap(), serde_json::json!({}));

    let Some(qemu) = Qemu::start(&["-M", "none"]).await else {
        return;
    };
    let qmp = &qemu.qmp;
    within("cont", qmp.execute("cont", None, DEADLINE))
        .await
        .unwrap();
    assert_eq!(within("status", qmp.status()).await.unwrap(), "running");
    within("stop", qmp.execute("stop", None, DEADLINE))
        .await
        .unwrap();
    assert_eq!(within("status", qmp.status()).await.unwrap(), "paused");
}

#[tokio::test]
async fn qemu_refusals_come_back_with_its_class_and_message() {
    let Some(qemu) = Qemu::with_nic().await else {
        return;
    };
    let qmp = &qemu.qmp;
    let got = within("set_link", qmp.set_link("nic-nope", false)).await;
    match &got {
        Err(QmpError::Command {
            command,
            class,
            desc,
        }) => {
            assert_eq!(command, "set_link");
            assert_eq!(class, "DeviceNotFound");
            assert!(desc.contains("nic-nope"), "{desc}");
        }
        other => panic!("expected a QEMU error: {other:?}"),
    }
    assert_eq!(
        got.unwrap_err().to_string(),
        "QEMU refused `set_link`: Device 'nic-nope' not found (DeviceNotFound)"
    );
    let got = within("unknown", qmp.execute("no-such-command", None, DEADLINE)).await;
    assert!(
        matches!(&got, Err(QmpError::Command { class, .. }) if class == "CommandNotFound"),
        "{got:?}"
    );
    let bad = serde_json::json!({ "name": "nic-eth1", "up": "sideways" });
    let got = within(
        "bad arguments",
        qmp.execute("set_link", Some(bad), DEADLINE),
    )
    .await;
    assert!(
        matches!(&got, Err(QmpError::Command { class, .. }) if class == "GenericError"),
        "{got:?}"
    );
    // The connection-per-call client is still fine afterwards.
    assert_eq!(within("status", qmp.status()).await.unwrap(), "prelaunch");
}

#[tokio::test]
async fn quit_ends_qemu() {
    let Some(mut qemu) = Qemu::start(&["-M", "none"]).await else {
        return;
    };
    within("quit", qemu.qmp.quit()).await.unwrap();
    let status = within("exit", async {
        loop {
            if let Some(status) = qemu.child.try_wait().unwrap() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(status.success(), "{status}");
    let got = within("after quit", qemu.qmp.status()).await;
    assert!(matches!(got, Err(QmpError::Connect { .. })), "{got:?}");
}

/// A fake QMP server: each connection gets `reply` and is then closed (or, with `linger`,
/// left open).
fn fake(dir: &Path, reply: &'static [u8], linger: bool) -> PathBuf {
    let path = dir.join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.write_all(reply);
            if linger {
                open.push(stream);
            }
        }
    });
    path
}

#[tokio::test]
async fn failures_name_the_socket_and_what_went_wrong() {
    let dir = TempDir::new().unwrap();
    let missing = Qmp::new(dir.path().join("missing.sock"));
    let got = within("missing", missing.status()).await;
    assert!(
        matches!(&got, Err(QmpError::Connect { source, .. }) if source.kind() == std::io::ErrorKind::NotFound),
        "{got:?}"
    );
    assert!(
        got.unwrap_err()
            .to_string()
            .contains("is the node's QEMU running?")
    );

    let dir = TempDir::new().unwrap();
    let closing = Qmp::new(fake(dir.path(), b"", false));
    let got = within("closing", closing.status()).await;
    assert!(
        matches!(&got, Err(QmpError::Closed { during, .. }) if during == "reading the greeting"),
        "{got:?}"
    );

    let dir = TempDir::new().unwrap();
    let chatty = Qmp::new(fake(dir.path(), b"hello, I am not QEMU\n", true));
    let got = within("not QMP", chatty.status()).await;
    assert!(matches!(got, Err(QmpError::Protocol { .. })), "{got:?}");

    let dir = TempDir::new().unwrap();
    let greeting = b"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
    let mute = Qmp::new(fake(dir.path(), greeting, true)).with_timeout(Duration::from_secs(1));
    let got = within("mute", mute.system_reset()).await;
    match got {
        Err(e @ QmpError::Timeout { .. }) => {
            let message = e.to_string();
            assert!(
                message.starts_with("`system_reset` on the QMP socket"),
                "{message}"
            );
            assert!(message.ends_with("no answer within 1 s"), "{message}");
        }
        other => panic!("expected a timeout: {other:?}"),
    }
}
