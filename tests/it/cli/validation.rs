//! `n3x validate` on broken copies of the real profiles: every problem is refused with exit
//! code 2 and reported with its file, line, field, what is wrong and how to fix it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use assert_cmd::assert::OutputAssertExt;
use predicates::prelude::*;
use tempfile::TempDir;

const PROFILES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/profiles");

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A temporary repository holding a copy of the real `profiles/` directory.
fn repo() -> TempDir {
    let tmp = TempDir::new().unwrap();
    copy_dir(Path::new(PROFILES), &tmp.path().join("profiles"));
    tmp
}

/// The repository root as the binary sees its working directory, so paths print relative.
fn root(tmp: &TempDir) -> PathBuf {
    tmp.path().canonicalize().unwrap()
}

/// Replaces the first `from` with `to` in `profiles/<file>`.
fn edit(tmp: &TempDir, file: &str, from: &str, to: &str) {
    let path = tmp.path().join("profiles").join(file);
    let text = fs::read_to_string(&path).unwrap();
    let changed = text.replacen(from, to, 1);
    assert_ne!(changed, text, "{file} does not contain {from:?}");
    fs::write(path, changed).unwrap();
}

/// Runs `n3x --profiles <tmp>/profiles <args>` inside the repository.
fn n3x(tmp: &TempDir, args: &[&str]) -> Output {
    let root = root(tmp);
    Command::cargo_bin("n3x")
        .unwrap()
        .current_dir(&root)
        .env_remove("N3X_PROFILES")
        .arg("--profiles")
        .arg(root.join("profiles"))
        .args(args)
        .output()
        .unwrap()
}

/// A copy of the profiles with one edit, and the output of `validate` on it.
fn broken(file: &str, from: &str, to: &str) -> (TempDir, Output) {
    let tmp = repo();
    edit(&tmp, file, from, to);
    let out = n3x(&tmp, &["validate"]);
    (tmp, out)
}

/// The 1-based number of the only line of `profiles/<file>` that contains `needle`.
fn line_of(tmp: &TempDir, file: &str, needle: &str) -> usize {
    let text = fs::read_to_string(tmp.path().join("profiles").join(file)).unwrap();
    let hits: Vec<usize> = (text.lines().enumerate())
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{needle:?} should be on exactly one line of {file}"
    );
    hits[0]
}

/// The problem lines of stderr, without the `error: ` that starts the first one.
fn problem_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| l.strip_prefix("error: ").unwrap_or(l).to_string())
        .collect()
}

/// Asserts that validation found a problem (exit code 1) and wrote nothing to stdout, and that
/// one problem reads `profiles/<file>:<line>:<col>: <field>: …<message>…` followed by a fix.
fn assert_problem(out: &Output, file: &str, line: usize, field: &str, message: &str) {
    out.clone()
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let lines = problem_lines(out);
    let head = format!("profiles/{file}:{line}:");
    let field = if field.is_empty() {
        String::new()
    } else {
        format!(": {field}: ")
    };
    let found = lines
        .iter()
        .position(|l| l.starts_with(&head) && l.contains(&field) && l.contains(message))
        .unwrap_or_else(|| {
            panic!(
                "no problem `{head}<col>{field}…{message}…` in:\n{}",
                lines.join("\n")
            )
        });
    let fix = lines.get(found + 1).map(String::as_str).unwrap_or_default();
    assert!(
        fix.starts_with("  fix: ") && fix.len() > "  fix: ".len() + 5,
        "the problem has no fix line: {fix:?}"
    );
}

/// Breaks `file` by replacing `from` with `to`, then expects one problem on the line holding
/// `at` (in the broken text), about `field`, saying `message`. Returns the output.
fn expect(file: &str, from: &str, to: &str, at: &str, field: &str, message: &str) -> Output {
    let (tmp, out) = broken(file, from, to);
    assert_problem(&out, file, line_of(&tmp, file, at), field, message);
    out
}

#[test]
fn yaml_syntax_errors_point_at_the_unclosed_bracket_or_bad_indentation() {
    let members = "members: [eth1, eth2";
    let out = expect(
        "network/bonding-vlans.yaml",
        "members: [eth1, eth2]",
        members,
        members,
        "",
        "`[` is never closed",
    );
    // The profile is broken, not missing: matrix.yaml must not be blamed for naming it.
    out.assert()
        .stderr(predicate::str::contains("does not exist").not())
        .stderr(predicate::str::contains("1 problem found"));
    let server = "  server-2: { addresses: { cluster: 192.168.200.2, storage: 192.168.100.2 }";
    expect(
        "network/vlans.yaml",
        &format!("{server} }}"),
        server,
        server,
        "",
        "`{` is never closed",
    );
    let nodes = "nodes: [";
    expect(
        "network/simple.yaml",
        "nodes:",
        nodes,
        nodes,
        "",
        "`[` is never closed",
    );
    expect(
        "cluster.yaml",
        "  - name: server-2",
        " - name: server-2",
        "name: server-2",
        "",
        "did not find expected key",
    );
    expect(
        "network/vlans.yaml",
        "    vlan: 200",
        "   vlan: 200",
        "vlan: 200",
        "",
        "did not find expected key",
    );
    // Indented too deep: a syntax error on that line, not a bad subnet on the line above.
    expect(
        "network/vlans.yaml",
        "    vlan: 200",
        "      vlan: 200",
        "vlan: 200",
        "",
        "mapping values are not allowed",
    );
}

#[test]
fn unknown_key_is_named() {
    expect(
        "network/vlans.yaml",
        "    vlan: 200",
        "    vlna: 200",
        "vlna:",
        "networks.cluster",
        "unknown field `vlna`",
    );
}

#[test]
fn wrong_type_is_named() {
    let file = "network/bonding-vlans.yaml";
    expect(
        file,
        "miimon_ms: 100",
        "miimon_ms: fast",
        "miimon_ms",
        "bond.miimon_ms",
        "invalid type: string \"fast\", expected u32",
    );
}

#[test]
fn bad_cidr_says_which_part_is_wrong() {
    let file = "network/vlans.yaml";
    let subnet = "subnet: 192.168.200.0/24";
    expect(
        file,
        subnet,
        "subnet: 192.168.300.0/24",
        "192.168.300",
        "networks.cluster.subnet",
        "`300` is not a number from 0 to 255",
    );
    expect(
        file,
        subnet,
        "subnet: 192.168.200.0/33",
        "/33",
        "networks.cluster.subnet",
        "prefix length /33",
    );
    expect(
        file,
        subnet,
        "subnet: 192.168.200.0\n",
        "subnet: 192.168.200.0",
        "networks.cluster.subnet",
        "a network needs its prefix length",
    );
}

#[test]
fn address_outside_its_subnet() {
    let bad = "agent-1: { addresses: { cluster: 192.168.201.3";
    expect(
        "network/vlans.yaml",
        "agent-1: { addresses: { cluster: 192.168.200.3",
        bad,
        bad,
        "nodes.agent-1.addresses.cluster",
        "192.168.201.3 is not a host address of network `cluster` (192.168.200.0/24)",
    );
}

#[test]
fn duplicate_address() {
    let dup = "agent-1: { addresses: { cluster: 192.168.200.2";
    expect(
        "network/vlans.yaml",
        "agent-1: { addresses: { cluster: 192.168.200.3",
        dup,
        dup,
        "nodes.agent-1.addresses.cluster",
        "192.168.200.2 on `cluster` is also the address of `server-2`",
    );
}

#[test]
fn duplicate_mac() {
    let dup =
        r#"agent-1: { addresses: { cluster: 192.168.1.3 }, macs: { eth1: "52:54:00:01:01:02" } }"#;
    expect(
        "network/dhcp-simple.yaml",
        r#"agent-1: { addresses: { cluster: 192.168.1.3 }, macs: { eth1: "52:54:00:01:01:03" } }"#,
        dup,
        dup,
        "nodes.agent-1.macs.eth1",
        "MAC 52:54:00:01:01:02 of agent-1 eth1 is also used by server-2 eth1",
    );
}

#[test]
fn vlan_id_outside_1_to_4094() {
    let file = "network/vlans.yaml";
    expect(
        file,
        "vlan: 200",
        "vlan: 0",
        "vlan: 0",
        "networks.cluster.vlan",
        "VLAN ID 0 is outside 1-4094",
    );
    expect(
        file,
        "vlan: 100",
        "vlan: 4095",
        "vlan: 4095",
        "networks.storage.vlan",
        "VLAN ID 4095 is outside 1-4094",
    );
}

#[test]
fn reference_to_a_missing_interface() {
    let file = "network/bonding-vlans.yaml";
    expect(
        file,
        "primary: eth1",
        "primary: eth3",
        "primary:",
        "bond.primary",
        "primary `eth3` is not a member of bond0",
    );
    expect(
        file,
        "trunk: bond0",
        "trunk: bond1",
        "trunk: bond1",
        "trunk",
        "trunk `bond1` is neither a NIC nor the profile's bond",
    );
    let file = "network/vlans.yaml";
    expect(
        file,
        "k3s_network: cluster",
        "k3s_network: backbone",
        "k3s_network",
        "k3s_network",
        "network `backbone` does not exist",
    );
}

#[test]
fn reference_to_a_missing_node() {
    let message = "node `agent-9` does not exist in profiles/cluster.yaml";
    expect(
        "network/vlans.yaml",
        "  agent-2: {",
        "  agent-9: {",
        "agent-9",
        "nodes.agent-9",
        message,
    );
    let nodes = "nodes: [server-1, agent-9]";
    expect(
        "matrix.yaml",
        "nodes: [server-1, server-2]",
        nodes,
        nodes,
        "variants[3].nodes[1]",
        message,
    );
}

#[test]
fn no_initialising_server() {
    expect(
        "cluster.yaml",
        "    init: true\n",
        "",
        "nodes:",
        "nodes",
        "no server initialises the cluster",
    );
}

#[test]
fn node_name_outside_a_z_0_9_dash() {
    let name = "name: Server_1";
    expect(
        "cluster.yaml",
        "name: server-1",
        name,
        name,
        "nodes[0].name",
        "node name `Server_1` may only use a-z, 0-9 and '-'",
    );
}

#[test]
fn k3s_token_in_the_profile_is_refused() {
    let token = "      token: abc";
    expect(
        "cluster.yaml",
        "    server:\n",
        &format!("    server:\n{token}\n"),
        token,
        "k3s.extra.server.token",
        "a k3s token must never be written into a profile",
    );
}

#[test]
fn render_all_on_broken_profiles_writes_nothing() {
    let tmp = repo();
    edit(&tmp, "cluster.yaml", "    init: true\n", "");
    let before = fs::read_dir(tmp.path()).unwrap().count();
    n3x(&tmp, &["render", "--all"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("nothing was written"));
    assert!(!tmp.path().join("kas").exists(), "kas/ was written");
    assert!(!tmp.path().join("nixos").exists(), "nixos/ was written");
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), before);
}

#[test]
fn every_problem_of_a_run_is_listed() {
    let tmp = repo();
    let file = "network/vlans.yaml";
    edit(&tmp, file, "vlan: 200", "vlan: 0");
    edit(&tmp, file, "vlan: 100", "vlan: 4095");
    edit(&tmp, file, "cluster: 192.168.200.3", "cluster: 10.0.0.3");
    edit(&tmp, "cluster.yaml", "    init: true\n", "");
    let out = n3x(&tmp, &["validate"]);
    let lines = problem_lines(&out);
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("profiles/network/vlans.yaml:"), 3, "{lines:#?}");
    assert_eq!(count("profiles/cluster.yaml:"), 1, "{lines:#?}");
    assert_eq!(count("  fix: "), 4, "{lines:#?}");
    out.clone()
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "4 problems found; nothing was written.",
        ));
    assert_problem(
        &out,
        file,
        line_of(&tmp, file, "10.0.0.3"),
        "nodes.agent-1.addresses.cluster",
        "10.0.0.3",
    );
}

/// Truncations at 15 byte offsets and 15 deleted lines of `text`.
fn mutations(text: &str) -> Vec<String> {
    let mut out: Vec<String> = (1..=15)
        .map(|i| text.len() * i / 16)
        .map(|at| {
            (0..=at)
                .rev()
                .find(|&b| text.is_char_boundary(b))
                .unwrap_or(0)
        })
        .map(|at| text[..at].to_string())
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let step = lines.len().div_ceil(15).max(1);
    for skip in (0..lines.len()).step_by(step) {
        let kept: Vec<&str> = (lines.iter().enumerate())
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        out.push(kept.join("\n") + "\n");
    }
    out
}

#[test]
fn mutated_profiles_never_panic() {
    let tmp = repo();
    let profiles = tmp.path().join("profiles");
    let mut files = vec![
        "machines.yaml".to_string(),
        "cluster.yaml".into(),
        "matrix.yaml".into(),
    ];
    for entry in fs::read_dir(profiles.join("network")).unwrap() {
        files.push(format!(
            "network/{}",
            entry.unwrap().file_name().to_string_lossy()
        ));
    }
    let mut runs = 0;
    for file in &files {
        let path = profiles.join(file);
        let original = fs::read_to_string(&path).unwrap();
        for text in mutations(&original) {
            fs::write(&path, &text).unwrap();
            let out = n3x(&tmp, &["validate"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let context = format!("{file} as\n{text}\n---\n{stderr}");
            assert!(!stderr.contains("panicked"), "panic on {context}");
            match out.status.code() {
                Some(0) => {}
                Some(1) => assert!(stderr.contains("\n  fix: "), "no fix for {context}"),
                code => panic!("exit code {code:?} on {context}"),
            }
            runs += 1;
        }
        fs::write(&path, original).unwrap();
    }
    assert!(runs >= 8 * 25, "only {runs} mutations ran");
}
