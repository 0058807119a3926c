//! `n3x build` as a user runs it: a real quick-backend build of one variant (mmdebstrap from
//! Debian's packages), its image checked with e2fsprogs' debugfs and its node layer with tar;
//! the cache that makes the next node cheap; `--dry-run`, `--list`; and a build whose tool is
//! missing failing with an honest exit code.

use crate::common;

use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use common::repo;
use predicates::prelude::*;

fn n3x(state: &Path) -> Command {
    let mut cmd = Command::cargo_bin("n3x").unwrap();
    cmd.current_dir(repo())
        .env_remove("N3X_PROFILES")
        .env("N3X_STATE_DIR", state);
    cmd
}

/// Whether this machine can run a quick build (root, mmdebstrap); in CI it must.
fn can_build_quick() -> bool {
    common::root_with(
        &["mmdebstrap", "mkfs.ext4", "debugfs", "xz", "tar"],
        "a quick build needs root and mmdebstrap, e2fsprogs, xz-utils and tar",
    )
}

fn debugfs_cat(image: &Path, path: &str) -> String {
    let out = Process::new("debugfs")
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(image)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_quick_build_makes_a_bootable_image_with_the_rendered_files_and_caches_its_base() {
    if !can_build_quick() {
        return;
    }
    // The build takes both cores for a while: not beside a cluster.
    let _one = common::vm_serial();
    let state = tempfile::tempdir().unwrap();
    let out = n3x(state.path())
        .args([
            "build",
            "--backend",
            "quick",
            "--variant",
            "server-vlans-server-1",
        ])
        .timeout(std::time::Duration::from_secs(1200))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    // Every step is announced with its exact command before it runs.
    assert!(text.contains("] ==> [2/"), "{text}");
    assert!(text.contains("mmdebstrap --variant=minbase"), "{text}");
    assert!(
        text.contains("server-vlans-server-1@qemuamd64 quick] succeeded"),
        "{text}"
    );
    assert!(text.contains("1 builds: 1 succeeded, 0 did not"), "{text}");
    // No k3s can be downloaded here, and the build says so.
    assert!(
        text.contains("WITHOUT k3s") || text.contains("k3s: "),
        "the build says whether k3s is in the image:\n{text}"
    );

    let bases: Vec<_> = std::fs::read_dir(state.path().join("cache/quick"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(bases.len(), 1, "{bases:?}");
    let base = &bases[0];
    for file in ["vmlinux", "initrd.cpio", "base.img", "manifest.json"] {
        assert!(base.join(file).is_file(), "{file} in {}", base.display());
    }
    // The kernel is the uncompressed ELF QEMU boots directly.
    let elf = std::fs::read(base.join("vmlinux")).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    // The image has n3x's guest files: control channel, readiness marker, k3s units.
    let image = base.join("base.img");
    let backdoor = debugfs_cat(&image, "/etc/systemd/system/n3x-backdoor.service");
    assert!(
        backdoor.contains("ExecStart=/usr/local/sbin/n3x-backdoor"),
        "{backdoor}"
    );
    let k3s = debugfs_cat(&image, "/etc/systemd/system/k3s-server.service");
    assert!(
        k3s.contains("ConditionPathExists=/etc/default/k3s-server"),
        "{k3s}"
    );
    let shadow = debugfs_cat(&image, "/etc/shadow");
    assert!(shadow.lines().any(|l| l.starts_with("root::")), "{shadow}");
    // The initramfs holds busybox, /init and the modules that reach the root filesystem.
    let listing = Process::new("cpio")
        .args(["-t", "-F"])
        .arg(base.join("initrd.cpio"))
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&listing.stdout);
    for wanted in [
        "init",
        "bin/busybox",
        "virtio_blk.ko",
        "ext4.ko",
        "qemu_fw_cfg.ko",
    ] {
        assert!(names.contains(wanted), "initrd lacks {wanted}:\n{names}");
    }

    // The node layer holds exactly what `n3x render` writes for the node's rootfs.
    let layer = state
        .path()
        .join("artifacts/quick/server-vlans-server-1@qemuamd64/server-1.tar");
    let unpacked = tempfile::tempdir().unwrap();
    assert!(
        Process::new("tar")
            .arg("-xf")
            .arg(&layer)
            .arg("-C")
            .arg(unpacked.path())
            .status()
            .unwrap()
            .success()
    );
    let rendered = tempfile::tempdir().unwrap();
    n3x(state.path())
        .args([
            "render",
            "--profile",
            "vlans",
            "--node",
            "server-1",
            "--out",
        ])
        .arg(rendered.path())
        .assert()
        .success();
    let network = rendered.path().join("rootfs/etc/systemd/network");
    let mut count = 0;
    for entry in std::fs::read_dir(&network).unwrap() {
        let entry = entry.unwrap();
        let in_layer = std::fs::read(
            unpacked
                .path()
                .join("etc/systemd/network")
                .join(entry.file_name()),
        )
        .unwrap();
        assert_eq!(in_layer, std::fs::read(entry.path()).unwrap());
        count += 1;
    }
    assert_eq!(count, 5, "vlans/server-1 has five networkd files");

    // The record has every artifact with its sha256.
    let builds: Vec<_> = std::fs::read_dir(state.path().join("builds"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(builds.len(), 1);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(builds[0].join("record.json")).unwrap())
            .unwrap();
    assert_eq!(record["outcome"], "succeeded");
    assert_eq!(record["artifacts"].as_array().unwrap().len(), 4);
    // The mmdebstrap log holds its output.
    let logs: Vec<String> = std::fs::read_dir(&builds[0])
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".log"))
        .collect();
    let mmdebstrap_log = logs
        .iter()
        .find(|n| n.contains("debian-root-filesystem"))
        .expect("a log of the mmdebstrap step");
    let log = std::fs::read_to_string(builds[0].join(mmdebstrap_log)).unwrap();
    assert!(log.contains("I: success"), "{log}");

    // Another node of the same profile reuses the base: only its layer is built.
    n3x(state.path())
        .args([
            "build",
            "--backend",
            "quick",
            "--variant",
            "server-vlans-server-2",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("] ==> [2/2]"))
        .stdout(predicate::str::contains("mmdebstrap").not());

    // Both builds are in the history.
    n3x(state.path())
        .args(["build", "--list"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "server-vlans-server-1@qemuamd64  quick    succeeded",
        ))
        .stdout(predicate::str::contains("2 builds; records and logs in"));
}

#[test]
fn dry_run_prints_the_kas_command_and_every_copy_and_runs_nothing() {
    let state = tempfile::tempdir().unwrap();
    // A source mirror with ISAR and k3s in it, and a kas-container that is never run.
    let mirror = tempfile::tempdir().unwrap();
    std::fs::write(mirror.path().join("isar-b90b722f.bundle"), "").unwrap();
    std::fs::write(mirror.path().join("k3s-1.35.0+k3s1-amd64"), "").unwrap();
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("kas-container");
    std::fs::write(&fake, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(
        &fake,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    n3x(state.path())
        .env("PATH", path)
        .args([
            "build",
            "--dry-run",
            "--backend",
            "isar",
            "--kas",
            "container",
            "--variant",
            "server-vlans-server-1",
        ])
        .arg("--source-mirror")
        .arg(mirror.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "server-vlans-server-1@qemuamd64 (isar):",
        ))
        .stdout(predicate::str::contains("kas-container --isar build kas/base.yml:"))
        .stdout(predicate::str::contains(
            "kas/node/server-1.yml:kas/opt/offline.yml:kas/opt/uncompressed.yml\n",
        ))
        .stdout(predicate::str::contains(format!(
            "'KAS_PREMIRRORS=https://github\\.com/ilbers/isar\\.git {}/isar-b90b722f.bundle'",
            mirror.path().display()
        )))
        .stdout(predicate::str::contains(
            "/work/build/tmp/deploy/images/qemuamd64/n3x-image-server-debian-trixie-qemuamd64.wic -> ",
        ))
        .stdout(predicate::str::contains(
            "artifacts/isar/isar-server-vlans-server-1-qemuamd64.wic (and record its sha256)",
        ))
        .stdout(predicate::str::contains(
            "Dry run: 1 builds planned, nothing was run.",
        ));
    assert!(
        !state.path().join("builds").exists(),
        "a dry run records nothing"
    );
}

#[test]
fn quick_refuses_other_machines_and_says_which_backend_to_use() {
    let state = tempfile::tempdir().unwrap();
    n3x(state.path())
        .args([
            "build",
            "--dry-run",
            "--backend",
            "quick",
            "--machine",
            "qemuarm64",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "cannot be built here: the quick backend builds qemuamd64 images only, not qemuarm64",
        ))
        .stdout(predicate::str::contains("--backend isar"));
}

#[test]
fn a_build_whose_tool_fails_ends_with_exit_code_1_and_a_record() {
    let state = tempfile::tempdir().unwrap();
    // A nixos build of a repository without a flake: nix runs and fails (or is missing).
    let bare = tempfile::tempdir().unwrap();
    common::copy_tree(&repo().join("profiles"), &bare.path().join("profiles"));
    n3x(state.path())
        .current_dir(bare.path())
        .args([
            "build",
            "--backend",
            "nixos",
            "--variant",
            "server-simple-server-1",
        ])
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "server-simple-server-1@qemuamd64 nixos] failed",
        ))
        .stdout(predicate::str::contains("1 builds: 0 succeeded, 1 did not"));
    n3x(state.path())
        .args(["build", "--list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nixos    failed"));
}

#[test]
fn an_unknown_variant_is_a_usage_error() {
    let state = tempfile::tempdir().unwrap();
    n3x(state.path())
        .args(["build", "--variant", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no variant matches --variant nope",
        ));
}
