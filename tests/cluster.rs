//! Real clusters: `n3x cluster up` boots the quick image under TCG on vde switches, and the
//! checks go through the nodes' control channels (`n3x exec`) and QMP (`n3x link`):
//! - every node has the addresses, VLAN and bond devices the renderer promised, and the DHCP
//!   reservations hand out the planned addresses;
//! - nodes reach each other over the cluster and storage networks, and not over a VLAN their
//!   switch ports are not members of;
//! - bond failover: the active member's link goes down, traffic keeps flowing over the other,
//!   and the bond returns to its primary when the link comes back;
//! - a killed QEMU is reported, and nothing is left running after a teardown or after
//!   SIGKILL of the owning `n3x`.
//!
//! The quick base is built once into `target/n3x-test-state` and reused. These tests need
//! root, QEMU, vde2 and mmdebstrap; in CI (`N3X_REQUIRE_TOOLS`) they must run.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::repo;

/// One cluster at a time: they share the machine's two cores and the image cache.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn state_dir() -> PathBuf {
    repo().join("target/n3x-test-state")
}

fn n3x() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_n3x"));
    cmd.current_dir(repo())
        .env_remove("N3X_PROFILES")
        .env("N3X_STATE_DIR", state_dir());
    cmd
}

fn can_run() -> bool {
    common::root_with(
        &[
            "qemu-system-x86_64",
            "vde_switch",
            "vde_plug",
            "mmdebstrap",
            "mkfs.ext4",
        ],
        "cluster tests need root, qemu-system-x86, vde2, mmdebstrap and e2fsprogs",
    )
}

/// A running `n3x cluster up` and what it printed.
struct Up {
    child: Child,
    out: Arc<Mutex<Vec<String>>>,
    profile: String,
}

impl Up {
    fn start(profile: &str, nodes: Option<&str>) -> Up {
        let mut cmd = n3x();
        cmd.args(["cluster", "up", "--profile", profile, "--accel", "tcg"]);
        if let Some(nodes) = nodes {
            cmd.args(["--nodes", nodes]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = Arc::clone(&out);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    out.lock().unwrap().push(line);
                }
            });
        }
        Up {
            child,
            out,
            profile: profile.into(),
        }
    }

    fn text(&self) -> String {
        self.out.lock().unwrap().join("\n")
    }

    /// Waits until `pred` holds for the output; panics with the output after `deadline`.
    fn wait_for(&mut self, what: &str, deadline: Duration, pred: impl Fn(&str) -> bool) {
        let start = Instant::now();
        while start.elapsed() < deadline {
            if pred(&self.text()) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "n3x cluster up ended ({status}) before {what}:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no {what} within {deadline:?}:\n{}", self.text());
    }

    fn wait_ready(&mut self, nodes: &[&str]) {
        // The first cluster may build the image first (about a minute or two).
        self.wait_for("every node ready", Duration::from_secs(900), |t| {
            nodes.iter().all(|n| t.contains(&format!("[{n}] == ready")))
        });
    }

    /// Ctrl-C: the cluster goes down and n3x exits.
    fn down(mut self) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        assert!(
            self.text().contains("every VM and switch is stopped"),
            "{}",
            self.text()
        );
        assert_no_leftovers(&self.profile);
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        // A failing test must not leave a cluster behind: SIGKILL takes everything with it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// No QEMU, switch or cable of `profile`'s cluster runs (zombies do not count: PID 1 here
/// does not reap them).
fn assert_no_leftovers(profile: &str) {
    let marker = format!("/{profile}/");
    let start = Instant::now();
    loop {
        let running: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                let alive = n3x::cluster::info::process_alive(pid);
                let ours = (cmd.starts_with("qemu-system") || cmd.starts_with("vde_"))
                    && (cmd.contains(&marker) || cmd.contains(&format!("n3x-{profile}-")));
                (alive && ours).then_some(format!("{pid} {cmd}"))
            })
            .collect();
        if running.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "left running after the cluster went down:\n{}",
            running.join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `n3x exec NODE -- sh -c SCRIPT`: (exit code, stdout).
fn exec(profile: &str, node: &str, script: &str) -> (i32, String) {
    let out = n3x()
        .args(["exec", "--profile", profile, node, "--", "sh", "-c", script])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The `Address=` values the renderer wrote into a node's networkd files.
fn rendered_addresses(profile: &str, node: &str) -> Vec<String> {
    let p = common::shipped();
    n3x::render::render_node(&p, profile, node)
        .unwrap()
        .iter()
        .filter(|f| f.path.contains("/systemd/network/"))
        .flat_map(|f| {
            f.contents
                .lines()
                .filter_map(|l| l.strip_prefix("Address="))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn check_addresses(profile: &str, nodes: &[&str]) {
    for node in nodes {
        let expected = rendered_addresses(profile, node);
        assert!(
            !expected.is_empty(),
            "{profile}/{node} has static addresses"
        );
        let (code, addrs) = exec(profile, node, "ip -o -4 addr show");
        assert_eq!(code, 0);
        for a in &expected {
            assert!(
                addrs.contains(&format!("inet {a} ")),
                "{profile}/{node} lacks {a}:\n{addrs}"
            );
        }
    }
}

/// True when any of three pings is answered (the first one after a failover may be lost
/// while the switches learn where the MAC went).
fn ping(profile: &str, from: &str, to: &str) -> bool {
    exec(profile, from, &format!("ping -c3 -i0.5 -W3 {to}")).0 == 0
}

#[test]
fn simple_every_node_gets_its_address_and_reaches_the_others() {
    if !can_run() {
        return;
    }
    let _one = serial();
    let nodes = ["server-1", "server-2", "agent-1"];
    let mut up = Up::start("simple", Some("server-1,server-2,agent-1"));
    up.wait_ready(&nodes);
    check_addresses("simple", &nodes);
    assert!(ping("simple", "agent-1", "192.168.1.1"));
    assert!(ping("simple", "server-2", "192.168.1.3"));
    // The MAC of eth1 is the plan's: NICs come up in plan order.
    let p = common::shipped();
    let prof = n3x::render::profile(&p, "simple").unwrap();
    let plan =
        n3x::render::qemu::plan(&p, prof, "qemuamd64", Some(&["agent-1".to_string()])).unwrap();
    let (_, mac) = exec("simple", "agent-1", "cat /sys/class/net/eth1/address");
    assert_eq!(mac.trim(), plan.nodes[0].nics[1].mac);
    up.down();
}

#[test]
fn vlans_reach_each_other_per_vlan_and_not_over_a_vlan_the_switch_does_not_carry() {
    if !can_run() {
        return;
    }
    let _one = serial();
    let nodes = ["server-1", "agent-1"];
    let mut up = Up::start("vlans", Some("server-1,agent-1"));
    up.wait_ready(&nodes);
    check_addresses("vlans", &nodes);
    let (_, links) = exec("vlans", "agent-1", "ip -o link show");
    assert!(
        links.contains("eth1.200@eth1") && links.contains("eth1.100@eth1"),
        "{links}"
    );
    assert!(
        ping("vlans", "agent-1", "192.168.200.1"),
        "cluster VLAN 200"
    );
    assert!(
        ping("vlans", "agent-1", "192.168.100.1"),
        "storage VLAN 100"
    );
    // VLAN 300 is on both nodes but not on the switch ports: vde_switch must drop it.
    let add = |node: &str, ip: &str| {
        let (code, _) = exec(
            "vlans",
            node,
            &format!(
                "ip link add link eth1 name eth1.300 type vlan id 300 && ip addr add {ip}/24 dev eth1.300 && ip link set eth1.300 up"
            ),
        );
        assert_eq!(code, 0);
    };
    add("server-1", "192.168.77.1");
    add("agent-1", "192.168.77.3");
    assert!(
        !ping("vlans", "agent-1", "192.168.77.1"),
        "VLAN 300 crossed a switch whose ports are not its members"
    );
    up.down();
}

#[test]
fn bond_failover_keeps_traffic_flowing_and_returns_to_the_primary() {
    if !can_run() {
        return;
    }
    let _one = serial();
    let nodes = ["server-1", "agent-1"];
    let mut up = Up::start("bonding-vlans", Some("server-1,agent-1"));
    up.wait_ready(&nodes);
    check_addresses("bonding-vlans", &nodes);
    let active = || {
        let (_, text) = exec("bonding-vlans", "agent-1", "cat /proc/net/bonding/bond0");
        text.lines()
            .find_map(|l| l.strip_prefix("Currently Active Slave: "))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert_eq!(active(), "eth1");
    assert!(ping("bonding-vlans", "agent-1", "192.168.200.1"));
    let link = |state: &str| {
        let out = n3x()
            .args([
                "link",
                "--profile",
                "bonding-vlans",
                "agent-1",
                "eth1",
                state,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    link("down");
    let start = Instant::now();
    while active() != "eth2" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no failover to eth2"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Under TCG on a loaded host the switches may take a few seconds to learn where the
    // MAC went (timeouts in guests run 10-30 times slower than native).
    let start = Instant::now();
    while !ping("bonding-vlans", "agent-1", "192.168.200.1") {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no traffic over the second member:\n{}",
            exec(
                "bonding-vlans",
                "agent-1",
                "cat /proc/net/bonding/bond0; ip neigh"
            )
            .1
        );
    }
    link("up");
    let start = Instant::now();
    while active() != "eth1" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the bond did not return to eth1"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(ping("bonding-vlans", "agent-1", "192.168.100.1"));
    up.down();
}

#[test]
fn dhcp_reservations_hand_out_the_planned_addresses() {
    if !can_run() {
        return;
    }
    let _one = serial();
    // The DHCP server comes with any nodes of the profile.
    let nodes = ["dhcp-server", "server-1", "agent-1"];
    let mut up = Up::start("dhcp-simple", Some("server-1,agent-1"));
    up.wait_ready(&nodes);
    check_addresses("dhcp-simple", &["dhcp-server"]);
    let p = common::shipped();
    let conf = n3x::render::render_node(&p, "dhcp-simple", "dhcp-server")
        .unwrap()
        .into_iter()
        .find(|f| f.path.ends_with("n3x-dhcp.conf"))
        .unwrap()
        .contents;
    for node in ["server-1", "agent-1"] {
        let planned = conf
            .lines()
            .filter_map(|l| l.strip_prefix("dhcp-host="))
            .find(|l| l.split(',').nth(1) == Some(node))
            .and_then(|l| l.split(',').nth(2))
            .unwrap()
            .to_string();
        let start = Instant::now();
        loop {
            let (_, addrs) = exec("dhcp-simple", node, "ip -o -4 addr show dev eth1");
            if addrs.contains(&format!("inet {planned}/")) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "{node} never got its reservation {planned}:\n{addrs}"
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    assert!(ping("dhcp-simple", "agent-1", "192.168.1.1"));
    up.down();
}

#[test]
fn a_killed_qemu_is_reported_and_sigkill_of_n3x_leaves_nothing_running() {
    if !can_run() {
        return;
    }
    let _one = serial();
    let mut up = Up::start("simple", Some("server-1,agent-1"));
    up.wait_ready(&["server-1", "agent-1"]);
    let status = n3x()
        .args(["cluster", "status", "--profile", "simple"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    let pid: i32 = status
        .lines()
        .find(|l| l.starts_with("agent-1"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{status}"));
    // SAFETY: killing the QEMU of our own test cluster.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    up.wait_for("the failure of agent-1", Duration::from_secs(30), |t| {
        t.contains("[agent-1] == failed: QEMU killed by signal 9")
    });
    // SIGKILL of the owner: no teardown code runs, the kernel's death signal does the work.
    let _ = up.child.kill();
    let _ = up.child.wait();
    assert_no_leftovers("simple");
}

#[test]
fn a_detached_cluster_outlives_the_command_until_cluster_down() {
    if !can_run() {
        return;
    }
    let _one = serial();
    let out = n3x()
        .args([
            "cluster",
            "up",
            "--profile",
            "simple",
            "--nodes",
            "server-1",
            "--accel",
            "tcg",
            "--detach",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("the simple cluster is up: 1 nodes ready"),
        "{text}"
    );
    // The command has returned; the cluster answers.
    let (code, name) = exec("simple", "server-1", "hostname");
    assert_eq!((code, name.trim()), (0, "server-1"));
    let down = n3x()
        .args(["cluster", "down", "--profile", "simple"])
        .output()
        .unwrap();
    assert!(down.status.success(), "{down:?}");
    assert_no_leftovers("simple");
}
