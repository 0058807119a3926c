//! Real clusters: `n3x cluster up` boots the quick image under TCG on vde switches, and the
//! checks go through the nodes' control channels (`n3x exec`), QMP (`n3x link`), the owner's
//! socket (`n3x cluster restart`), a real terminal (`n3x console`) and the workbench:
//! - a detached `simple` cluster with the k3s stand-in: every node passes every readiness
//!   stage; the console, the workbench, link control and restarts work on it until it is torn
//!   down, and nothing is left running;
//! - a killed QEMU is reported, and nothing is left running after SIGKILL of the owning `n3x`.
//!
//! What every node of each parity profile gets (addresses, VLAN and bond devices, DHCP
//! reservations, reachability per VLAN, NIC order), bond failover and VLAN isolation are the
//! catalog's tests, run for real in `tests/it/vm/scenario.rs`.
//!
//! The quick base is built once into `target/n3x-test-state` and reused. These tests need
//! root, QEMU, vde2 and mmdebstrap; in CI (`N3X_REQUIRE_TOOLS`) they must run.

use crate::common;
use crate::common::pty;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::path::Path;

use common::repo;
use pty::Tui;

/// One cluster at a time: they share the machine's two cores and the image cache.
fn serial() -> MutexGuard<'static, ()> {
    common::vm_serial()
}

fn state_dir() -> PathBuf {
    common::vm_state_dir()
}

fn n3x() -> Command {
    common::vm_n3x()
}

fn can_run() -> bool {
    common::can_boot_vms("cluster tests")
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

#[test]
fn a_killed_qemu_is_reported_and_neither_ctrl_c_nor_sigkill_of_n3x_leaves_anything_running() {
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
    // Ctrl-C of the foreground `cluster up` tears down what is left.
    up.down();
    // SIGKILL of the owner: no teardown code runs, the kernel's death signal does the work.
    let mut up = Up::start("simple", Some("server-1"));
    up.wait_ready(&["server-1"]);
    let _ = up.child.kill();
    let _ = up.child.wait();
    assert_no_leftovers("simple");
}

/// Tears a detached cluster down when a failing test leaves it behind.
struct DownOnDrop(&'static str);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        let _ = n3x()
            .args(["cluster", "down", "--profile", self.0])
            .output();
    }
}

/// Polls `check` on the screen until it holds; panics with the screen after `deadline`.
fn wait_screen(tui: &Tui, what: &str, deadline: Duration, check: impl Fn(&[String]) -> bool) {
    let start = Instant::now();
    loop {
        let lines = tui.lines();
        if check(&lines) {
            return;
        }
        assert!(
            start.elapsed() < deadline && !tui.output().eof,
            "waited for {what}; the screen is:\n{}",
            lines.join("\n").trim_end()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The tile of `node` (its line on the screen).
fn tile<'a>(lines: &'a [String], node: &str) -> Option<&'a String> {
    lines
        .iter()
        .find(|l| l.contains(&format!(" {node} ")) && l.contains("CPU"))
}

/// The QEMU pid `n3x cluster status` gives for `node`.
fn qemu_pid(profile: &str, node: &str) -> u32 {
    let status = n3x()
        .args(["cluster", "status", "--profile", profile])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    status
        .lines()
        .find(|l| l.starts_with(node))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{status}"))
}

/// Waits until `node` answers on its control channel again (after a restart).
fn wait_answers(profile: &str, node: &str) {
    let start = Instant::now();
    while exec(profile, node, "hostname").0 != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "{node} does not answer after its restart"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// `n3x console NODE` in a real terminal: the node's shell answers a command typed into it,
/// Ctrl-] leaves, and the terminal is back in its normal (cooked, echoing) mode.
fn console_in_a_terminal(node: &str) {
    let script = format!(
        "{} console --profile simple {node}; echo TERMINAL-AFTER; stty -a",
        env!("CARGO_BIN_EXE_n3x")
    );
    let mut console = Tui::spawn(Path::new("/bin/sh"), &["-c", &script], &repo(), 160, 40);
    // The relay draws the console's screen over the terminal: its prompt shows.
    console.wait_for_text(&format!("root@{node}"));
    let attached = String::from_utf8_lossy(&console.output().bytes).into_owned();
    assert!(
        attached.contains(&format!("attached to the console of {node}; Ctrl-] leaves")),
        "{attached}"
    );
    // The serial getty's shell: $((…)) shows the shell ran it, not an echo of the keys.
    console.press("\recho CONSOLE-$((6*7))\r");
    wait_screen(
        &console,
        "the command's output",
        Duration::from_secs(60),
        |l| l.iter().any(|l| l.trim_end() == "CONSOLE-42"),
    );
    console.press("\x1d");
    console.wait_for_text("TERMINAL-AFTER");
    console.wait_exit();
    let out = String::from_utf8_lossy(&console.output().bytes).into_owned();
    assert!(
        out.contains(&format!("detached from the console of {node}")),
        "{out}"
    );
    let stty = &out[out.find("TERMINAL-AFTER").unwrap()..];
    let modes: Vec<&str> = stty.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig", "opost"] {
        assert!(
            modes.contains(&mode),
            "the terminal was left without {mode}: {stty}"
        );
    }
}

/// The line the owner logged when `node` left `stage`.
fn stage_line<'a>(log: &'a str, node: &str, stage: &str, word: &str) -> &'a str {
    let prefix = format!("[{node}] {stage} {word} after ");
    log.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}…` line in:\n{log}"))
}

/// Readiness of `simple` on the stand-in, as `cluster up` and its owner reported it: every
/// node through every stage with the rendered addresses, the stand-in named, both servers'
/// API and etcd, and every node `Ready` in the API's own list.
fn every_node_passed_every_stage(up: &str, log: &str) {
    assert!(
        up.contains("readiness: PASSED — 3 of 3 expected nodes Ready"),
        "{up}"
    );
    let addresses = [
        ("server-1", "192.168.1.1"),
        ("server-2", "192.168.1.2"),
        ("agent-1", "192.168.1.3"),
    ];
    for (node, ip) in addresses {
        for stage in n3x::readiness::Stage::ALL {
            let word = if node == "agent-1" && stage == n3x::readiness::Stage::ApiReady {
                "skipped"
            } else {
                "passed"
            };
            stage_line(log, node, stage.label(), word);
        }
        assert!(
            stage_line(log, node, "kernel", "passed").contains("N3X-KERNEL-UP"),
            "{log}"
        );
        assert!(
            stage_line(log, node, "network", "passed")
                .ends_with(&format!("eth1={ip}/24 (as rendered)")),
            "{log}"
        );
        let service = stage_line(log, node, "k3s-service", "passed");
        assert!(service.contains("STAND-IN"), "{service}");
        let role = if node == "agent-1" { "agent" } else { "server" };
        assert!(
            service.contains(&format!("k3s-{role}.service active")),
            "{service}"
        );
        assert!(
            stage_line(log, node, "registered", "passed")
                .contains(&format!("InternalIP {ip} (as rendered)")),
            "{log}"
        );
        assert!(
            stage_line(log, node, "ready", "passed").contains("Ready=True (KubeletReady)"),
            "{log}"
        );
    }
    for server in ["server-1", "server-2"] {
        assert!(
            stage_line(log, server, "api", "passed").ends_with("/readyz ok, /healthz/etcd ok"),
            "{log}"
        );
        assert!(
            stage_line(log, server, "registered", "passed")
                .contains("roles control-plane,etcd,master"),
            "{log}"
        );
    }
    // The stages' word against the API's own list, asked here through the control channel.
    let (code, json) = exec("simple", "server-2", "k3s kubectl get nodes -o json");
    assert_eq!(code, 0, "{json}");
    let listed = n3x::readiness::kube::nodes(&json).unwrap();
    assert_eq!(listed.len(), 3, "{json}");
    for (node, ip) in addresses {
        let n = listed.iter().find(|n| n.name == node).unwrap();
        assert!(n.is_ready(), "{n:?}");
        assert_eq!(n.internal_ip.as_deref(), Some(ip));
    }
    // An agent has no API: its kubectl says so as k3s's does.
    assert_ne!(exec("simple", "agent-1", "k3s kubectl get nodes").0, 0);
}

#[test]
fn a_detached_cluster_serves_the_console_the_workbench_and_restarts_until_torn_down() {
    if !can_run() {
        return;
    }
    let _one = serial();
    let _down = DownOnDrop("simple");
    let out = n3x()
        .args(["cluster", "up", "--profile", "simple", "--nodes"])
        .arg("server-1,server-2,agent-1")
        .args(["--accel", "tcg", "--detach", "--k3s-binary"])
        .arg(common::k3s_standin())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let owner_log =
        std::fs::read_to_string(state_dir().join("clusters/simple-owner.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "{text}{}\n--- owner log ---\n{owner_log}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("the simple cluster is up: 3 nodes ready"),
        "{text}"
    );
    // The capacity check ran before the launch and said what it found.
    assert!(
        text.contains("n3x: capacity: 3 nodes need") && text.contains("MiB available"),
        "{text}"
    );
    every_node_passed_every_stage(&text, &owner_log);
    // The command has returned; the cluster answers.
    let (code, name) = exec("simple", "server-1", "hostname");
    assert_eq!((code, name.trim()), (0, "server-1"));
    // QEMU said nothing about an unconnected eth0, and eth0 is there in the guest.
    let info =
        n3x::cluster::info::ClusterInfo::load(&n3x::cluster::paths::runtime_base().join("simple"))
            .unwrap();
    let log = std::fs::read_to_string(&info.nodes[0].console_log).unwrap();
    assert!(log.contains("N3X-NET-UP"), "{log}");
    for warning in [
        "no peer",
        "not connected to host network",
        "qemu-system-x86_64: warning",
    ] {
        assert!(
            !log.contains(warning),
            "the console log has {warning:?}:\n{log}"
        );
    }
    assert_eq!(
        exec("simple", "server-1", "test -e /sys/class/net/eth0").0,
        0
    );
    // Status shows each QEMU's CPU and memory.
    let status = n3x()
        .args(["cluster", "status", "--profile", "simple"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout).into_owned();
    let row = status.lines().find(|l| l.starts_with("server-1")).unwrap();
    assert!(
        row.contains("running") && row.contains('%') && row.ends_with("MiB"),
        "{status}"
    );

    console_in_a_terminal("server-1");
    assert_eq!(
        exec("simple", "server-1", "hostname").0,
        0,
        "the node runs on"
    );

    // `n3x cluster restart`: the owner stops the QEMU and starts it again.
    let before = qemu_pid("simple", "server-1");
    let restart = n3x()
        .args(["cluster", "restart", "--profile", "simple", "server-1"])
        .output()
        .unwrap();
    assert!(restart.status.success(), "{restart:?}");
    assert!(String::from_utf8_lossy(&restart.stdout).contains("server-1 restarted"));
    assert_ne!(qemu_pid("simple", "server-1"), before);
    wait_answers("simple", "server-1");

    // The workbench finds the cluster another process owns and follows it.
    let exe = Path::new(env!("CARGO_BIN_EXE_n3x"));
    let mut tui = Tui::spawn(exe, &[], &repo(), 170, 48);
    tui.wait_for_text("Matrix");
    tui.press("3");
    wait_screen(
        &tui,
        "server-1 ready in the workbench",
        Duration::from_secs(60),
        |l| tile(l, "server-1").is_some_and(|t| t.contains("ready")),
    );
    let screen = tui.lines().join("\n");
    assert!(screen.contains("owned by n3x pid"), "{screen}");
    let row = tile(&tui.lines(), "server-1").unwrap().clone();
    assert!(row.contains("% CPU") && row.contains("MiB"), "{row}");
    // Its console, live through the relay: attach, type, see the answer, leave.
    tui.press("a");
    tui.wait_for_text("server-1 receives the keys");
    // The control channel answers before the serial getty's autologin shell is there.
    wait_screen(
        &tui,
        "the serial shell's prompt",
        Duration::from_secs(120),
        |l| l.iter().any(|l| l.contains("root@server-1")),
    );
    tui.press("echo TUI-$((6*7))\r");
    wait_screen(&tui, "the command's output", Duration::from_secs(60), |l| {
        l.iter().any(|l| l.contains("TUI-42"))
    });
    tui.press("\x1d");
    tui.wait_for_text("a attaches");
    // The scrollback: search it, which pauses the pane; f follows again. The kept lines come
    // from the console log a moment after the screen shows them: search again until found.
    let start = Instant::now();
    loop {
        tui.press("/TUI-42\r");
        std::thread::sleep(Duration::from_millis(500));
        if tui.lines().iter().any(|l| l.contains("paused: f follows")) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the search never found the line:\n{}",
            tui.lines().join("\n")
        );
    }
    wait_screen(
        &tui,
        "the search in the scrollback",
        Duration::from_secs(30),
        |l| {
            l.iter().any(|l| l.contains("paused: f follows"))
                && l.iter().any(|l| l.contains("match \"TUI-42\""))
        },
    );
    tui.press("f");
    tui.wait_for_text("following: f pauses");
    // l sets eth1's link down (the guest sees no carrier), l again up.
    tui.press("l");
    wait_screen(
        &tui,
        "eth1 down on the tile",
        Duration::from_secs(30),
        |l| tile(l, "server-1").is_some_and(|t| t.contains("eth1 down")),
    );
    let carrier = |want: &str| {
        let start = Instant::now();
        while exec("simple", "server-1", "cat /sys/class/net/eth1/carrier")
            .1
            .trim()
            != want
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "eth1 carrier never became {want}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    carrier("0");
    tui.press("l");
    carrier("1");
    // R restarts the node through its owner; the tile starts over and comes back ready.
    let before = qemu_pid("simple", "server-1");
    tui.press("R");
    let start = Instant::now();
    while qemu_pid("simple", "server-1") == before {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "R did not restart server-1"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_screen(
        &tui,
        "server-1 starting over",
        Duration::from_secs(60),
        |l| tile(l, "server-1").is_some_and(|t| !t.contains("ready")),
    );
    wait_screen(
        &tui,
        "server-1 ready after the restart",
        Duration::from_secs(300),
        |l| {
            tile(l, "server-1").is_some_and(|t| t.contains("ready"))
                && l.iter().any(|l| l.contains("server-1 restarted"))
        },
    );
    // Quitting says the cluster keeps running, and it does.
    tui.press("q");
    tui.wait_for_text("The simple cluster belongs to n3x pid");
    tui.wait_for_text("y quit   any other key stay");
    tui.press("y");
    tui.wait_exit();
    assert_eq!(
        exec("simple", "server-1", "hostname").0,
        0,
        "quitting kept the cluster"
    );

    // D in a workbench asks, then the owner tears the cluster down.
    let mut tui = Tui::spawn(exe, &[], &repo(), 170, 48);
    tui.press("3");
    wait_screen(
        &tui,
        "server-1 ready in the workbench",
        Duration::from_secs(60),
        |l| tile(l, "server-1").is_some_and(|t| t.contains("ready")),
    );
    tui.press("D");
    tui.wait_for_text("tear down the cluster of n3x pid");
    tui.press("y");
    wait_screen(&tui, "the cluster gone", Duration::from_secs(90), |l| {
        l.iter().any(|l| l.contains("the cluster is down"))
    });
    let start = Instant::now();
    while info.owner_alive() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the owner did not end"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    tui.press("q");
    tui.wait_exit();
    assert_no_leftovers("simple");
}

/// `n3x cluster up … | head -1`-style: the reader goes away once the VMs run; n3x tears the
/// cluster down, ends quietly (no panic, exit 0) and leaves nothing running.
#[test]
fn cluster_up_into_a_pipe_closed_early_leaves_nothing_running() {
    if !can_run() {
        return;
    }
    let _one = serial();
    let mut child = n3x()
        .args([
            "cluster",
            "up",
            "--profile",
            "simple",
            "--nodes",
            "server-1",
        ])
        .args(["--accel", "tcg"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    // Read until QEMU runs, then close the pipe as `grep -m1` or `head` would.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("QEMU started"));
    assert!(started, "n3x cluster up ended before QEMU started");
    drop(lines);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "n3x cluster up still runs after its reader left"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let errors = errors.join().unwrap();
    assert!(!errors.contains("panicked"), "{errors}");
    assert_eq!(status.code(), Some(0), "{errors}");
    assert_no_leftovers("simple");
}
