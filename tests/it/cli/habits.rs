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
}
