//! Habits users bring from other command-line tools: output into a closed pipe or a full disk,
//! exit codes, JSON for scripts, completions, the man page, logs, CI annotations.

use crate::common;

use std::process::{Command, Stdio};

use common::repo;

fn n3x() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_n3x"));
    cmd.current_dir(repo()).env_remove("N3X_PROFILES");
    cmd
}

/// `n3x test --list | head -0`: the reader is gone before n3x writes.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    for args in [&["test", "--list"][..], &["list"], &["build", "--list"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = n3x()
            .args(args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

/// `n3x test --list > /dev/full`: an error that says so, exit 1, no panic.
#[test]
fn output_to_a_full_disk_is_an_error_not_a_panic() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = n3x()
        .args(["test", "--list"])
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot write to standard output: No space left"),
        "{stderr}"
    );
}

/// 1 when the thing failed, 2 for usage, 255 for `exec`'s own failures; `--help` shows them.
#[test]
fn exit_codes_follow_the_table_in_help() {
    let runtime = tempfile::TempDir::new().unwrap();
    let run = |args: &[&str]| {
        let out = n3x()
            .env("XDG_RUNTIME_DIR", runtime.path())
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["cluster", "status"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no cluster is running"), "{err}");
    let (code, err) = run(&["exec", "server-1", "--", "true"]);
    assert_eq!(code, Some(255), "{err}");
    let (code, err) = run(&["cluster", "up", "--profile", "simple", "--accel", "warp"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = run(&["test", "no-such-test"]);
    assert_eq!(code, Some(2), "{err}");

    let help = n3x().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Exit codes:"), "{help}");
    assert!(help.contains("255  n3x exec's own failures"), "{help}");
    for heading in [
        "Global options:",
        "Examples:",
        "Environment:",
        "N3X_LOG",
        "N3X_STATE_DIR",
    ] {
        assert!(help.contains(heading), "{heading} in {help}");
    }
}

/// `N3X_LOG=debug` or `-vv`: n3x's own log in `<state>/n3x.log`, nothing of it on the terminal.
#[test]
fn the_log_goes_to_the_state_directory_when_asked_for() {
    let state = tempfile::TempDir::new().unwrap();
    let runtime = tempfile::TempDir::new().unwrap();
    let run = |env: Option<&str>, args: &[&str]| {
        let mut cmd = n3x();
        cmd.env("N3X_STATE_DIR", state.path())
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env_remove("N3X_LOG");
        if let Some(filter) = env {
            cmd.env("N3X_LOG", filter);
        }
        cmd.args(args).output().unwrap()
    };
    let log = state.path().join("n3x.log");
    run(None, &["list"]);
    assert!(!log.exists(), "no log unless asked for");
    let out = run(None, &["-vv", "list"]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("INFO") && text.contains("n3x starts"),
        "{text}"
    );
    let out = run(Some("debug"), &["cluster", "status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().count(),
        2,
        "only the error on the terminal: {stderr}"
    );
    let out = run(Some("n3x=loud"), &["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("N3X_LOG=n3x=loud"));
}

/// The k3s join token n3x makes for a cluster never reaches n3x's log, whoever logs it.
#[test]
fn the_join_token_never_reaches_the_log() {
    let state = tempfile::TempDir::new().unwrap();
    let p = n3x::profile::Profiles::load(&repo().join("profiles")).unwrap();
    let token = n3x::cluster::secrets::token(&p).unwrap();
    let subscriber = n3x::logging::subscriber(state.path(), "trace").unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!(argv = ?["k3s", "server", "--token", &token], "spawned");
        tracing::trace!("the secrets layer holds {token}");
    });
    let log = std::fs::read_to_string(state.path().join(n3x::logging::FILE)).unwrap();
    assert!(log.contains("spawned"), "{log}");
    assert!(!log.contains(&token), "{log}");
    assert_eq!(log.matches(n3x::logging::REDACTED).count(), 2, "{log}");
}

/// `--json` for scripts: the documented fields, also for a problem found.
#[test]
fn json_for_scripts_has_the_documented_fields() {
    let json = |args: &[&str], dir: &std::path::Path| {
        let out = n3x().current_dir(dir).args(args).output().unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), doc)
    };
    let (code, doc) = json(&["validate", "--json"], &repo());
    assert_eq!(code, Some(0));
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["problems"], serde_json::json!([]));

    let broken = tempfile::TempDir::new().unwrap();
    common::copy_tree(&repo().join("profiles"), &broken.path().join("profiles"));
    let vlans = broken.path().join("profiles/network/vlans.yaml");
    let text = std::fs::read_to_string(&vlans).unwrap();
    std::fs::write(&vlans, text.replace("vlan: 100", "vlan: 4095")).unwrap();
    let (code, doc) = json(&["validate", "--json"], broken.path());
    assert_eq!(code, Some(1));
    let problem = &doc["problems"][0];
    assert_eq!(problem["file"], "profiles/network/vlans.yaml", "{doc}");
    assert_eq!(problem["field"], "networks.storage.vlan", "{doc}");
    assert!(
        problem["line"].is_u64() && problem["column"].is_u64(),
        "{doc}"
    );
    assert!(
        problem["fix"].as_str().unwrap().contains("1 and 4094"),
        "{doc}"
    );

    let (code, doc) = json(&["test", "--list", "--json"], &repo());
    assert_eq!(code, Some(0));
    let first = &doc[0];
    for field in [
        "test",
        "backend",
        "profile",
        "nodes",
        "summary",
        "available",
    ] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }
    let state = tempfile::TempDir::new().unwrap();
    let out = n3x()
        .env("N3X_STATE_DIR", state.path())
        .args(["build", "--list", "--json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
}

/// `n3x completions SHELL` registers; completing asks n3x, which names the profiles' things.
#[test]
fn completions_name_profiles_nodes_variants_and_tests_and_man_renders() {
    let complete = |words: &[&str]| {
        let out = n3x()
            .env("COMPLETE", "fish")
            .arg("--")
            .args(words)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let tests = complete(&["n3x", "test", "cluster-s"]);
    assert!(tests.lines().any(|l| l == "cluster-simple"), "{tests}");
    let nodes = complete(&["n3x", "exec", ""]);
    assert!(nodes.lines().any(|l| l == "server-1"), "{nodes}");
    let profiles = complete(&["n3x", "cluster", "up", "--profile", "vl"]);
    assert!(profiles.lines().any(|l| l == "vlans"), "{profiles}");
    let variants = complete(&["n3x", "build", "--variant", "bas"]);
    assert!(variants.lines().any(|l| l == "base"), "{variants}");

    for (shell, marker) in [
        ("bash", "complete -o"),
        ("zsh", "compdef"),
        ("fish", "complete --keep-order"),
    ] {
        let out = n3x().args(["completions", shell]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(marker),
            "{shell}: {text}"
        );
    }
    let man = n3x().arg("man").output().unwrap();
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(
        man.contains(".TH n3x 1") && man.contains("Exit codes"),
        "{man}"
    );
}

/// Under GitHub Actions, problems and stale files are annotations at their file, line, column.
#[test]
fn github_annotations_point_at_file_line_and_column() {
    let dir = tempfile::TempDir::new().unwrap();
    common::copy_tree(&repo().join("profiles"), &dir.path().join("profiles"));
    let run = |args: &[&str]| {
        let out = n3x()
            .current_dir(dir.path())
            .env("GITHUB_ACTIONS", "true")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(run(&["render", "--all"]).0, Some(0));
    let rendered = dir.path().join("nixos/rendered/variants.json");
    let text = std::fs::read_to_string(&rendered).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "  \"edited\": true,";
    std::fs::write(&rendered, lines.join("\n") + "\n").unwrap();
    let (code, stdout) = run(&["render", "--check"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains(
            "::error file=nixos/rendered/variants.json,line=3,col=1,title=stale rendered file::"
        ),
        "{stdout}"
    );

    let vlans = dir.path().join("profiles/network/vlans.yaml");
    let text = std::fs::read_to_string(&vlans).unwrap();
    std::fs::write(&vlans, text.replace("vlan: 100", "vlan: 4095")).unwrap();
    let (code, stdout) = run(&["validate"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("::error file=profiles/network/vlans.yaml,line=12,col=5,title=networks.storage.vlan::VLAN ID 4095"),
        "{stdout}"
    );
}
