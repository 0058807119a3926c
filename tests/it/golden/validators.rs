//! The rendered files, checked by the real tools their users run: Nix (Debian's nix-bin)
//! evaluates every NixOS data file, and kas's own JSON schema (kas 5's venv) accepts
//! every rendered kas overlay.
//!
//! The README's test command installs both. When a tool is missing these tests fail under CI
//! (`CI` set) and are skipped with a notice elsewhere.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{files_under, repo, tool_available};

#[test]
fn nix_evaluates_every_rendered_nixos_file_to_what_was_rendered() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    // The node files; nixos/rendered/variants.json is checked with the flake (backend_trees.rs).
    let files: Vec<PathBuf> = files_under(&repo().join("nixos/rendered"), ".json")
        .into_iter()
        .filter(|f| !f.ends_with("variants.json"))
        .collect();
    assert_eq!(files.len(), 21, "4 nodes x 5 profiles + the DHCP server");
    for file in files {
        let expr = format!(
            "let d = builtins.fromJSON (builtins.readFile {}); in \
             assert builtins.isAttrs d.network.networks; \
             assert d.hostName == d.node; d",
            file.display()
        );
        let out = Command::new("nix-instantiate")
            .args(["--eval", "--strict", "--json", "-E", &expr])
            .env("NIX_CONFIG", "build-users-group =")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let evaluated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let rendered: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(evaluated, rendered, "{}", file.display());
    }
}

#[test]
fn nix_rejects_a_broken_file_so_the_check_can_fail() {
    if !tool_available("nix-instantiate", "nix-bin") {
        return;
    }
    let dir = tempfile::TempDir::new().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"network\": }").unwrap();
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "-E"])
        .arg(format!(
            "builtins.fromJSON (builtins.readFile {})",
            bad.display()
        ))
        .env("NIX_CONFIG", "build-users-group =")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

fn kas_check(python: &Path, files: &[PathBuf]) -> std::process::Output {
    Command::new(python)
        .arg(repo().join("tests/tools/kas_schema_check.py"))
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn kas_schema_accepts_every_rendered_overlay() {
    let Some(python) = common::kas_python() else {
        return;
    };
    let mut files = files_under(&repo().join("kas/network"), ".yml");
    files.extend(files_under(&repo().join("kas/node"), ".yml"));
    assert_eq!(files.len(), 10, "5 network overlays and 5 node overlays");
    let out = kas_check(&python, &files);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("10 of 10 kas files valid"), "{report}");
}

#[test]
fn kas_schema_rejects_an_overlay_without_a_header() {
    let Some(python) = common::kas_python() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "local_conf_header:\n  x: |\n    A = \"1\"\n").unwrap();
    let out = kas_check(&python, &[bad]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("'header' is a required property"));
}
