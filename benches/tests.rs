//! Benchmark: the whole parity matrix (`cluster-simple`, `cluster-vlans`,
//! `cluster-bonding-vlans`, `cluster-dhcp-simple`) with `n3x test` under TCG and the k3s
//! stand-in, one run, under the VM lock (`/tmp/n3x-vm.lock`). Prints the wall time of the run
//! and, per test, where its time went: setup (image from the cache, switches), booting (QEMU
//! start until every node's control channel answers), waiting (the readiness probes from
//! there until every node is k3s Ready), checks, and teardown. The original took 3–4 minutes
//! per cluster test on a workstation.
//!
//! Needs root, qemu-system-x86, vde2 and mmdebstrap (the quick image is built on the first
//! run). Run with `cargo bench --bench tests`; `-- cluster-vlans …` picks other tests.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use n3x::scenario::result::{TestResult, Verdict};

fn state() -> PathBuf {
    std::env::var_os("N3X_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::repo().join("target/n3x-test-state"))
}

/// When every node's boot stages (qemu, kernel, userspace) had ended, since the first QEMU.
fn booted(r: &TestResult) -> Duration {
    r.timeline
        .iter()
        .flat_map(|n| n.stages.iter())
        .filter(|s| matches!(s.stage.as_str(), "qemu" | "kernel" | "userspace"))
        .map(|s| s.end())
        .max()
        .unwrap_or_default()
}

/// When the last stage of any node (or the cluster) ended, since the first QEMU.
fn ready(r: &TestResult) -> Duration {
    r.timeline
        .iter()
        .flat_map(|n| n.stages.iter())
        .filter(|s| !matches!(s.outcome.as_str(), "waiting" | "skipped"))
        .map(|s| s.end())
        .max()
        .unwrap_or_default()
}

fn main() {
    let names: Vec<String> = {
        let given: Vec<String> = std::env::args()
            .skip(1)
            .filter(|a| !a.starts_with('-'))
            .collect();
        if given.is_empty() {
            n3x::scenario::catalog::PARITY
                .iter()
                .map(|p| format!("cluster-{p}"))
                .collect()
        } else {
            given
        }
    };
    if !common::root_with(
        &["qemu-system-x86_64", "vde_switch", "mmdebstrap", "flock"],
        "the tests benchmark needs root, qemu-system-x86, vde2, mmdebstrap and flock",
    ) {
        return;
    }
    let standin = common::k3s_standin();
    let artifacts = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let out = Command::new("flock")
        .arg("/tmp/n3x-vm.lock")
        .arg(env!("CARGO_BIN_EXE_n3x"))
        .current_dir(common::repo())
        .env_remove("N3X_PROFILES")
        .env_remove("GITHUB_ACTIONS")
        .env("N3X_STATE_DIR", state())
        .args(["test", "--batch", "--accel", "tcg", "--k3s-binary"])
        .arg(&standin)
        .arg("--artifacts")
        .arg(artifacts.path())
        .args(&names)
        .output()
        .expect("n3x runs");
    let wall = start.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let results: Vec<TestResult> = std::fs::read_to_string(artifacts.path().join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report from n3x test ({}):\n{text}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
    println!(
        "{} tests, wall time {:.1}s (including the VM lock wait and teardowns)",
        results.len(),
        wall.as_secs_f64()
    );
    println!(
        "{:<22} {:<7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7}  WAITING SHARE",
        "TEST", "RESULT", "TOTAL", "SETUP", "BOOT", "WAIT", "CHECKS", "READY@"
    );
    let mut sum = [Duration::ZERO; 4];
    for r in &results {
        let boot = booted(r);
        let ready_at = ready(r);
        let wait = ready_at.saturating_sub(boot);
        let checks = r.duration.saturating_sub(r.setup + ready_at);
        for (s, d) in sum.iter_mut().zip([r.setup, boot, wait, checks]) {
            *s += d;
        }
        println!(
            "{:<22} {:<7} {:>6.1}s {:>6.1}s {:>6.1}s {:>6.1}s {:>6.1}s {:>6.1}s  {:>5.1} %",
            r.name,
            r.verdict.word(),
            r.duration.as_secs_f64(),
            r.setup.as_secs_f64(),
            boot.as_secs_f64(),
            wait.as_secs_f64(),
            checks.as_secs_f64(),
            ready_at.as_secs_f64(),
            100.0 * wait.as_secs_f64() / ready_at.as_secs_f64().max(0.001)
        );
    }
    let tests: Duration = results.iter().map(|r| r.duration).sum();
    println!(
        "sum: tests {:.1}s (setup {:.1}s, booting {:.1}s, waiting {:.1}s, checks {:.1}s); teardown and reports {:.1}s",
        tests.as_secs_f64(),
        sum[0].as_secs_f64(),
        sum[1].as_secs_f64(),
        sum[2].as_secs_f64(),
        sum[3].as_secs_f64(),
        wall.saturating_sub(tests).as_secs_f64()
    );
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.verdict != Verdict::Passed)
        .map(|r| r.name.as_str())
        .collect();
    if !failed.is_empty() {
        println!("not passed: {}\n{text}", failed.join(", "));
        std::process::exit(1);
    }
}
