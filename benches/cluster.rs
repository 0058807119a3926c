//! Benchmark: boot a 3-node `simple` cluster under TCG and time it until every node's network
//! is up and its control channel answers: once with `n3x cluster up`, once as a plain program
//! that starts the same switch and QEMU command lines itself (no supervisor, no engine) and
//! waits for the same things. Also the resident memory of each idle node's QEMU.
//! Target: n3x within 5 % of the plain run, and no slower than the prototype (about 16 s).
//!
//! Needs root, qemu-system-x86, vde2 and a quick image (built on the first run, about a
//! minute). Run with `cargo bench --bench cluster`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use n3x::cluster::accel::Accel;
use n3x::cluster::control::ControlChannel;
use n3x::cluster::paths::RuntimeDir;
use n3x::cluster::{base, qemu, switch};
use n3x::profile::Profiles;

const NODES: [&str; 3] = ["server-1", "server-2", "agent-1"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn state() -> PathBuf {
    std::env::var_os("N3X_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/n3x-test-state"))
}

/// `n3x cluster up`: seconds until every node is ready, and the nodes' idle RSS.
fn with_n3x() -> (f64, Vec<u64>) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_n3x"))
        .current_dir(repo())
        .env("N3X_STATE_DIR", state())
        .args([
            "cluster",
            "up",
            "--profile",
            "simple",
            "--nodes",
            &NODES.join(","),
            "--accel",
            "tcg",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("n3x runs");
    let mut ready = 0;
    let mut elapsed = 0.0;
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if line.contains("] == ready") {
            ready += 1;
            if ready == NODES.len() {
                elapsed = start.elapsed().as_secs_f64();
                break;
            }
        }
        if line.contains("== failed") {
            panic!("{line}");
        }
    }
    std::thread::sleep(Duration::from_secs(10));
    let status = Command::new(env!("CARGO_BIN_EXE_n3x"))
        .args(["cluster", "status", "--profile", "simple"])
        .output()
        .unwrap();
    let rss: Vec<u64> = String::from_utf8_lossy(&status.stdout)
        .lines()
        .filter(|l| NODES.iter().any(|n| l.starts_with(n)))
        .filter_map(|l| l.split_whitespace().nth(2).and_then(|p| p.parse().ok()))
        .map(|pid| n3x::cluster::procstat::rss_mib(pid).unwrap_or(0))
        .collect();
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
    (elapsed, rss)
}

/// The same switch and QEMU command lines started directly.
fn plain(p: &Profiles, base: &base::Base) -> f64 {
    let prof = n3x::render::profile(p, "simple").unwrap();
    let names: Vec<String> = NODES.iter().map(|s| s.to_string()).collect();
    let plan = n3x::render::qemu::plan(p, prof, "qemuamd64", Some(&names)).unwrap();
    let runtime = RuntimeDir::create("bench-plain").unwrap();
    let ports = switch::assign_ports(&plan);
    let start = Instant::now();
    let mut children = Vec::new();
    for segment in &plan.segments {
        let rc = runtime.switch_rc(&segment.name);
        std::fs::write(&rc, switch::switch_rc(segment, &ports)).unwrap();
        let argv = switch::switch_argv(
            &runtime.switch_dir(&segment.name),
            &runtime.switch_mgmt(&segment.name),
            &rc,
        );
        children.push(
            Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    while !runtime.switch_dir("sw-eth1").join("ctl").exists() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut up = Vec::new();
    for node in &plan.nodes {
        let layer = runtime.node_layer(&node.name);
        base::write_node_layer(p, "simple", &node.name, &layer).unwrap();
        let images = qemu::NodeImages {
            kernel: base.vmlinux(),
            initrd: base.initrd(),
            image: base.image(),
            layer,
            secrets: None,
            cmdline: base.manifest.cmdline.clone(),
        };
        let paths = runtime.node(&node.name);
        let argv = qemu::qemu_argv(&plan, node, &images, &paths, &ports, Accel::Tcg, &runtime);
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if line.contains("N3X-NET-UP") {
                    let _ = tx.send(());
                }
            }
        });
        up.push((rx, paths.control.clone()));
        children.push(child);
    }
    let runtime_rt = tokio::runtime::Runtime::new().unwrap();
    for (rx, control) in &up {
        rx.recv_timeout(Duration::from_secs(600))
            .expect("network up");
        runtime_rt
            .block_on(ControlChannel::new(control.clone()).wait_ready(Duration::from_secs(300)))
            .expect("control channel");
    }
    let elapsed = start.elapsed().as_secs_f64();
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    let _ = std::fs::remove_dir_all(runtime.root());
    elapsed
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("cluster: skipped (needs root for the quick image)");
        return;
    }
    let p = Profiles::load(&repo().join("profiles")).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let supervisor = n3x::supervise::Supervisor::new()
        .unwrap()
        .with_wrapper(env!("CARGO_BIN_EXE_n3x"));
    let say = |s: String| println!("  {s}");
    let base = rt
        .block_on(base::ensure(
            Arc::new(p.clone()),
            &repo(),
            &state(),
            None,
            supervisor,
            &say,
        ))
        .expect("quick image");
    println!("cluster: 3 nodes of `simple` under TCG, to network up + control channel answering");
    let runs = 5;
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let (t, r) = with_n3x();
        ours.push(t);
        rss = r;
        theirs.push(plain(&p, &base));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut ours), median(&mut theirs));
    println!("cluster up, n3x                      {a:>8.1} s   (runs: {ours:.1?})");
    println!("cluster up, plain QEMU command lines {b:>8.1} s   (runs: {theirs:.1?})");
    println!(
        "n3x against plain                    {:>+8.1} %",
        (a - b) / b * 100.0
    );
    println!("idle node QEMU RSS (-m from the profile): {rss:?} MiB");
}
