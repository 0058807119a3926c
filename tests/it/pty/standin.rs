//! The k3s stand-in (`tests/fixtures/k3s-standin`, a test fixture, not k3s) on this host, no
//! VM: what it prints for a refused server, an unknown flannel interface and an address the
//! host does not have is what k3s prints, so the failure signatures match it. (Joining over a
//! real network is in `tests/it/vm/readiness.rs`.)

use crate::common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use n3x::readiness::signatures::{self, Source};

fn config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, text).unwrap();
    std::fs::write(dir.path().join("token"), "n3x-test-token\n").unwrap();
    (dir, path.display().to_string())
}

/// Runs the stand-in for at most `limit`: (exit code, stderr).
fn run(args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(common::k3s_standin())
        .args(args)
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, err)
}

fn ids(log: &str) -> Vec<String> {
    let mut out: Vec<String> = log
        .lines()
        .flat_map(|l| signatures::scan(l, Source::Journal).map(|s| s.id.clone()))
        .collect();
    out.dedup();
    out
}

#[test]
fn it_says_what_it_is() {
    let out = Command::new(common::k3s_standin())
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("k3s version v1.35.0+k3s1-standin"),
        "{text}"
    );
    assert!(
        text.contains("k3s STAND-IN (n3x test fixture, not k3s)"),
        "{text}"
    );
}

#[test]
fn an_agent_whose_server_refuses_keeps_trying_and_logs_k3s_dial_error() {
    let (d, cfg) = config("node-ip: 127.0.0.1\nserver: https://127.0.0.1:1\nnode-name: agent-1\n");
    let token = format!("--token-file={}", d.path().join("token").display());
    let (code, log) = run(
        &["agent", &format!("--config={cfg}"), &token],
        Duration::from_secs(3),
    );
    let first = log.lines().next().unwrap_or("");
    assert!(
        first.contains("k3s STAND-IN (n3x test fixture, not k3s)"),
        "{log}"
    );
    // Still running: like k3s's agent, it retries.
    assert_eq!(code, None, "{log}");
    assert!(
        log.contains("dial tcp 127.0.0.1:1: connect: connection refused"),
        "{log}"
    );
    assert_eq!(ids(&log), ["server-refused"], "{log}");
}

#[test]
fn a_server_with_an_unknown_flannel_interface_stops_as_k3s_does() {
    let (_d, cfg) = config("node-ip: 127.0.0.1\nflannel-iface: nosuch0\ncluster-init: true\n");
    let (code, log) = run(
        &["server", &format!("--config={cfg}")],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("interface nosuch0 does not have a correct global unicast ip"),
        "{log}"
    );
    assert_eq!(ids(&log), ["flannel-iface-not-found"], "{log}");
}

#[test]
fn a_server_told_an_address_the_host_lacks_stops_with_the_kubelets_message() {
    // 192.0.2.0/24 is TEST-NET-1: no host has it.
    let (d, cfg) = config("flannel-iface: lo\ncluster-init: true\n");
    let token = d.path().join("token").display().to_string();
    let (code, log) = run(
        &[
            "server",
            &format!("--config={cfg}"),
            "--node-ip=192.0.2.77",
            &format!("--token-file={token}"),
        ],
        Duration::from_secs(10),
    );
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains(r#"node IP: \"192.0.2.77\" not found in the host's network interfaces"#),
        "{log}"
    );
    assert_eq!(ids(&log), ["address-never-assigned"], "{log}");
}

#[test]
fn kubectl_without_a_kubeconfig_answers_as_on_an_agent() {
    if std::path::Path::new("/etc/rancher/k3s/k3s.yaml").exists() {
        eprintln!("skipping: this host has a k3s kubeconfig");
        return;
    }
    let out = Command::new(common::k3s_standin())
        .args(["kubectl", "get", "nodes", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("localhost:8080 was refused"),
        "{out:?}"
    );
}
