//! The `n3x` command as a user runs it: list, render, render --check, --plan, validate.

use crate::common;

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

use common::{copy_tree, repo};

fn n3x() -> Command {
    let mut cmd = Command::cargo_bin("n3x").unwrap();
    cmd.current_dir(repo()).env_remove("N3X_PROFILES");
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let out = n3x().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A scratch repository holding a copy of the shipped profiles.
fn scratch_repo() -> TempDir {
    let dir = TempDir::new().unwrap();
    copy_tree(&repo().join("profiles"), &dir.path().join("profiles"));
    dir
}

fn in_repo(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("n3x").unwrap();
    cmd.current_dir(dir).env_remove("N3X_PROFILES");
    cmd
}

#[test]
fn list_shows_the_matrix_with_a_total() {
    let text = stdout_of(&["list"]);
    let lines: Vec<&str> = text.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["VARIANT", "MACHINE", "ROLE", "PROFILE", "NODE"]);
    assert_eq!(lines.len(), 18);
    assert_eq!(lines[17], "Total: 16 variants");
    let row: Vec<&str> = lines[8].split_whitespace().collect();
    assert_eq!(
        row,
        [
            "server-bonding-vlans-server-1",
            "qemuamd64",
            "server",
            "bonding-vlans",
            "server-1"
        ]
    );
    let base: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(base, ["base", "qemuamd64", "base", "-", "-"]);
}

#[test]
fn list_filters_combine() {
    let text = stdout_of(&["list", "--variant", "base"]);
    assert_eq!(text.lines().count(), 5);
    assert!(text.ends_with("Total: 3 variants (of 16)\n"));
    let text = stdout_of(&["list", "--variant", "base", "--machine", "qemuarm64"]);
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains("base     qemuarm64"));
}

#[test]
fn an_empty_selection_is_an_error_pointing_to_list() {
    n3x()
        .args(["list", "--variant", "server", "--machine", "amd-v3c18i"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no variant matches --variant server --machine amd-v3c18i",
        ))
        .stderr(predicate::str::contains("n3x list"));
}

#[test]
fn list_json_has_every_detail() {
    let text = stdout_of(&["list", "--json"]);
    let docs: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(docs.len(), 16);
    let d = &docs[9];
    assert_eq!(d["id"], "server-dhcp-simple-server-1");
    assert_eq!(d["kas_command"][0], "kas-container");
    assert!(
        d["kas_command"][3]
            .as_str()
            .unwrap()
            .ends_with("kas/network/dhcp-simple.yml:kas/node/server-1.yml")
    );
    assert_eq!(d["artifacts"].as_array().unwrap().len(), 3);
    assert_eq!(
        d["nix_attr"],
        "qemuamd64.server.\"dhcp-simple\".\"server-1\""
    );
}

#[test]
fn render_one_node_writes_its_files() {
    let out = TempDir::new().unwrap();
    n3x()
        .args(["render", "--profile", "vlans", "--node", "agent-1", "--out"])
        .arg(out.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("rendered 12 files"));
    let net = out.path().join("rootfs/etc/systemd/network");
    let mut names: Vec<String> = fs::read_dir(&net)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "15-eth1.network",
            "20-vlan-cluster.netdev",
            "20-vlan-cluster.network",
            "20-vlan-storage.netdev",
            "20-vlan-storage.network"
        ]
    );
    let golden = repo().join("tests/golden/vlans/agent-1/k3s-flags.txt");
    assert_eq!(
        fs::read_to_string(out.path().join("k3s-flags.txt")).unwrap(),
        fs::read_to_string(golden).unwrap()
    );
    assert!(out.path().join("rootfs/etc/default/k3s-agent").is_file());
    assert!(out.path().join("nixos.json").is_file());
}

#[test]
fn render_names_the_choices_for_unknown_profiles_and_nodes() {
    n3x()
        .args(["render", "--profile", "vlan", "--out", "/nonexistent"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown network profile `vlan`"))
        .stderr(predicate::str::contains(
            "bonding-vlans, dhcp-simple, simple, vlans, vlans-broken",
        ));
    n3x()
        .args([
            "render",
            "--profile",
            "vlans",
            "--node",
            "agent-9",
            "--out",
            "/nonexistent",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown node `agent-9`"))
        .stderr(predicate::str::contains(
            "server-1, server-2, agent-1, agent-2",
        ));
    assert!(!Path::new("/nonexistent").exists());
}

#[test]
fn render_plan_prints_the_cluster_topology() {
    let text = stdout_of(&[
        "render",
        "--profile",
        "dhcp-simple",
        "--plan",
        "--nodes",
        "server-1,agent-1",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    let names: Vec<&str> = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dhcp-server", "server-1", "agent-1"]);
    // The reservation MACs of the profile are the MACs the VMs get.
    assert_eq!(plan["nodes"][1]["nics"][1]["mac"], "52:54:00:01:01:01");
    assert_eq!(plan["nodes"][0]["nics"][1]["mac"], "52:54:00:01:01:00");
    assert_eq!(
        plan["nodes"][1]["nics"][0]["segment"],
        serde_json::Value::Null
    );
    assert!(
        plan["nodes"][2]["kernel_cmdline"]
            .as_str()
            .unwrap()
            .contains("net.ifnames=0")
    );
    n3x()
        .args([
            "render",
            "--profile",
            "simple",
            "--plan",
            "--machine",
            "jetson-orin-nano",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot be emulated"))
        .stderr(predicate::str::contains("qemuamd64, qemuarm64"));
}

#[test]
fn vlans_broken_plan_puts_nodes_on_different_vlans() {
    let text = stdout_of(&["render", "--profile", "vlans-broken", "--plan"]);
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        plan["segments"][0]["vlans"],
        serde_json::json!([100, 101, 102, 103, 200, 201, 202, 203])
    );
    assert_eq!(
        plan["nodes"][0]["nics"][1]["vlans"],
        serde_json::json!([200, 100])
    );
    assert_eq!(
        plan["nodes"][1]["nics"][1]["vlans"],
        serde_json::json!([201, 101])
    );
}

#[test]
fn render_all_then_check_passes_and_catches_every_kind_of_drift() {
    let dir = scratch_repo();
    in_repo(dir.path())
        .args(["render", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("missing: kas/network/simple.yml"));
    in_repo(dir.path())
        .args(["render", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains("208 written"));
    in_repo(dir.path())
        .args(["render", "--check"])
        .assert()
        .success()
        .stdout(predicate::str::contains("up to date"));

    let file = dir.path().join("nixos/rendered/simple/server-1.json");
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, text.replace("192.168.1.1/24", "192.168.1.7/24")).unwrap();
    let stale = dir.path().join("kas/node/old-node.yml");
    fs::write(&stale, "header: {version: 14}\n").unwrap();
    fs::remove_file(dir.path().join("kas/network/vlans.yml")).unwrap();
    in_repo(dir.path())
        .args(["render", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("-          \"192.168.1.7/24\""))
        .stdout(predicate::str::contains("+          \"192.168.1.1/24\""))
        .stdout(predicate::str::contains(
            "stale (no longer rendered): kas/node/old-node.yml",
        ))
        .stdout(predicate::str::contains("missing: kas/network/vlans.yml"))
        .stdout(predicate::str::contains("3 rendered files are out of date"))
        .stdout(predicate::str::contains("n3x render --all"));

    in_repo(dir.path())
        .args(["render", "--all"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2 written, 206 unchanged, 1 stale removed",
        ));
    assert!(!stale.exists());
    in_repo(dir.path())
        .args(["render", "--check"])
        .assert()
        .success();
}

#[test]
fn a_profile_change_shows_up_in_the_rendered_files() {
    let dir = scratch_repo();
    in_repo(dir.path())
        .args(["render", "--all"])
        .assert()
        .success();
    let prof = dir.path().join("profiles/network/simple.yaml");
    let text = fs::read_to_string(&prof).unwrap();
    fs::write(
        &prof,
        text.replace("cluster: 192.168.1.3 }", "cluster: 192.168.1.33 }"),
    )
    .unwrap();
    in_repo(dir.path())
        .args(["render", "--check"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("+Address=192.168.1.33/24"))
        .stdout(predicate::str::contains("+  \"192.168.1.33\"").not());
}

#[test]
fn validate_reports_a_summary() {
    n3x()
        .arg("validate")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ok (4 machines, 5 network profiles, 4 nodes, 16 variants)",
        ));
    n3x()
        .args(["validate", "profiles/network/vlans.yaml"])
        .assert()
        .success();
    n3x()
        .args(["validate", "no/such/dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not exist"));
}

#[test]
fn validate_fails_when_the_recipe_or_the_nixos_side_pins_another_k3s() {
    let dir = tempfile::tempdir().unwrap();
    common::copy_tree(&repo().join("profiles"), &dir.path().join("profiles"));
    let recipe = dir.path().join(n3x::build::pins::RECIPE);
    std::fs::create_dir_all(recipe.parent().unwrap()).unwrap();
    std::fs::copy(repo().join(n3x::build::pins::RECIPE), &recipe).unwrap();
    let nixos = dir.path().join(n3x::build::pins::NIXOS);
    std::fs::create_dir_all(nixos.parent().unwrap()).unwrap();
    std::fs::copy(repo().join(n3x::build::pins::NIXOS), &nixos).unwrap();
    let validate = || {
        let mut cmd = Command::cargo_bin("n3x").unwrap();
        cmd.current_dir(dir.path())
            .env_remove("N3X_PROFILES")
            .arg("validate");
        cmd
    };
    validate().assert().success();
    // A new release pinned in the profiles only: both other sides are named, with the fix.
    let cluster = dir.path().join("profiles/cluster.yaml");
    let text = std::fs::read_to_string(&cluster).unwrap();
    std::fs::write(
        &cluster,
        text.replace(
            "amd64: 959c9310a6ab893958d1c95bc5d7609de9d7884630c8832180f059369b6dc331",
            "amd64: 0000000000000000000000000000000000000000000000000000000000000000",
        ),
    )
    .unwrap();
    validate()
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "error: kas/meta-n3x/recipes-core/k3s/k3s.inc:15: K3S_SHA256_AMD64 is \"959c9310a6ab893958d1c95bc5d7609de9d7884630c8832180f059369b6dc331\", profiles/cluster.yaml pins \"0000000000000000000000000000000000000000000000000000000000000000\"",
        ))
        .stderr(predicate::str::contains("nixos/rendered/variants.json: the NixOS systems pin k3s"))
        .stderr(predicate::str::contains("fix: n3x render --all"));
    // A checksum that is not one is a profile error with its line.
    std::fs::write(&cluster, text.replace("amd64: 959c", "amd64: XYZ")).unwrap();
    validate()
        .assert()
        .code(1)
        .stderr(predicate::str::contains("k3s.sha256.amd64"))
        .stderr(predicate::str::contains("is not a sha256"));
}

#[test]
fn profiles_are_found_from_a_subdirectory_and_missing_ones_are_explained() {
    Command::cargo_bin("n3x")
        .unwrap()
        .current_dir(repo().join("kas"))
        .env_remove("N3X_PROFILES")
        .arg("list")
        .assert()
        .success();
    let empty = TempDir::new().unwrap();
    in_repo(empty.path())
        .arg("list")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no profiles found"))
        .stderr(predicate::str::contains("--profiles DIR"));
}

#[test]
fn cluster_up_with_isar_images_that_are_not_built_names_the_build_command() {
    // The tools are checked first; without them the error says what to install instead.
    if !["qemu-system-x86_64", "vde_switch", "vde_plug"]
        .iter()
        .all(|p| n3x::build::tools::installed(p))
    {
        return;
    }
    let state = TempDir::new().unwrap();
    let runtime = TempDir::new().unwrap();
    n3x()
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["cluster", "up", "--profile", "vlans", "--nodes", "server-1"])
        .args(["--backend", "isar", "--accel", "tcg", "--state-dir"])
        .arg(state.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "isar-server-vlans-server-1-qemuamd64.wic is missing",
        ))
        .stderr(predicate::str::contains(
            "fix: `n3x build --variant server-vlans-server-1 --machine qemuamd64 --backend isar`",
        ));
    // Nothing was started and no cluster is described.
    assert!(!runtime.path().join("n3x/vlans/cluster.json").exists());
}
