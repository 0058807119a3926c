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
