//! `n3x screenshot` and the committed screenshots: they must show what the views draw today.

use crate::common;

use assert_cmd::Command;
use predicates::prelude::*;

use common::repo;

fn n3x() -> Command {
    let mut cmd = Command::cargo_bin("n3x").unwrap();
    // No user settings: no config directory, no theme or colour variables.
    cmd.current_dir(repo())
        .env_remove("N3X_PROFILES")
        .env_remove("NO_COLOR")
        .env_remove("N3X_THEME")
        .env("XDG_CONFIG_HOME", "/nonexistent/n3x-config");
    cmd
}

/// (view, size, variant, theme, keys, file stem) exactly as screenshots/make.sh makes them.
const SHOTS: [(&str, &str, &str, &str, &str, &str); 10] = [
    (
        "matrix",
        "120x40",
        "server-vlans-server-1",
        "dark",
        "",
        "matrix",
    ),
    (
        "builds",
        "120x40",
        "server-vlans-server-1",
        "dark",
        "",
        "builds",
    ),
    (
        "cluster",
        "120x40",
        "server-vlans-server-1",
        "dark",
        "",
        "cluster",
    ),
    (
        "tests",
        "120x40",
        "server-vlans-server-1",
        "dark",
        "",
        "tests",
    ),
    (
        "matrix",
        "80x24",
        "server-bonding-vlans-server-2",
        "dark",
        "",
        "matrix-80x24",
    ),
    (
        "matrix",
        "120x40",
        "server-vlans-server-1",
        "dark",
        "<Enter>jjjjjj",
        "matrix-preview",
    ),
    (
        "matrix",
        "120x40",
        "server-vlans-server-1",
        "dark",
        "mjjmd",
        "matrix-diff",
    ),
    (
        "matrix",
        "120x40",
        "server-vlans-server-1",
        "light",
        "",
        "matrix-light",
    ),
    (
        "matrix",
        "120x40",
        "server-vlans-server-1",
        "high-contrast",
        "",
        "matrix-high-contrast",
    ),
    (
        "matrix",
        "120x40",
        "server-vlans-server-1",
        "dark",
        "e<Down><Down><Down><Down><Down><Down><Down><Down><End><BS>1",
        "editor",
    ),
];

#[test]
fn committed_screenshots_show_the_current_views() {
    let dir = tempfile::TempDir::new().unwrap();
    for (view, size, variant, theme, keys, stem) in SHOTS {
        let svg = dir.path().join(format!("{stem}.svg"));
        n3x()
            .args([
                "screenshot",
                "--theme",
                theme,
                "--view",
                view,
                "--size",
                size,
                "--variant",
                variant,
                "--keys",
                keys,
                "--out",
            ])
            .arg(&svg)
            .assert()
            .success();
        for ext in ["svg", "txt"] {
            let fresh = std::fs::read_to_string(dir.path().join(format!("{stem}.{ext}"))).unwrap();
            let committed =
                std::fs::read_to_string(repo().join(format!("screenshots/{stem}.{ext}"))).unwrap();
            assert!(
                fresh == committed,
                "screenshots/{stem}.{ext} is stale; run screenshots/make.sh and look at the result"
            );
        }
    }
}

#[test]
fn keys_replayed_before_the_capture_open_the_preview_and_the_diff() {
    let dir = tempfile::TempDir::new().unwrap();
    let svg = dir.path().join("p.svg");
    let shoot = |keys: &str| {
        n3x()
            .args([
                "screenshot",
                "--size",
                "120x40",
                "--variant",
                "server-vlans-server-1",
                "--keys",
                keys,
                "--out",
            ])
            .arg(&svg)
            .assert()
            .success();
        std::fs::read_to_string(dir.path().join("p.txt")).unwrap()
    };
    let preview = shoot("<Enter>jjjjj");
    assert!(
        preview.contains("rootfs/etc/rancher/k3s/config.yaml ─"),
        "{preview}"
    );
    assert!(preview.contains("node-ip: 192.168.200.1"), "{preview}");
    let diff = shoot("mjmd");
    assert!(diff.contains("files differ"), "{diff}");
    assert!(diff.contains("-kas/node/server-1.yml"), "{diff}");
    n3x()
        .args(["screenshot", "--keys", "<Return>", "--out", "/tmp/x.svg"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown key <Return>"));
}

#[test]
fn the_image_has_colours_and_the_text_copy_the_screen() {
    let dir = tempfile::TempDir::new().unwrap();
    let svg = dir.path().join("m.svg");
    n3x()
        .args([
            "screenshot",
            "--size",
            "100x30",
            "--variant",
            "agent",
            "--out",
        ])
        .arg(&svg)
        .assert()
        .success();
    let image = std::fs::read_to_string(&svg).unwrap();
    assert!(image.starts_with("<svg ") && image.trim_end().ends_with("</svg>"));
    assert!(
        image.contains(r#"width="840" height="510""#),
        "100x30 cells"
    );
    assert!(image.contains(r#"font-weight="bold""#));
    let text = std::fs::read_to_string(dir.path().join("m.txt")).unwrap();
    assert_eq!(text.lines().count(), 30);
    assert!(text.contains("▶ agent"));
    assert!(text.contains("kas/image/k3s-agent.yml"));
}

#[test]
fn bad_arguments_are_explained() {
    n3x()
        .args(["screenshot", "--size", "120by40", "--out", "/tmp/x.svg"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not WIDTHxHEIGHT"));
    n3x()
        .args(["screenshot", "--variant", "nope", "--out", "/tmp/x.svg"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("n3x list"));
}
