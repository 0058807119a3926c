//! OTA on the real A/B image (VM tier: run under the shared lock, `flock /work/.heavy.lock cargo
//! test --test it vm::ota`). `n3x build --backend isar --variant base-swupdate` builds the image
//! natively and offline (as tests/it/vm/isar.rs does), then:
//!
//! - `ota_bundle`: `n3x ota bundle` makes a bundle from the image's real `.ext4` with the
//!   development key, checked by the host's `swupdate -c` for both slots; the image's layout
//!   (GPT names, the slot's fstab, kernel links, hwrevision, the trusted certificate).
//!
//! Installing a bundle into APP_b on a booted node, the boot switch and the rollback are not
//! tested yet (issue 17 stays open for them).
//!
//! Needs root, the build user and kas (scripts/isar-host.sh), QEMU, OVMF, openssl, swupdate.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo, vm_n3x, vm_state_dir};

const VARIANT: &str = "base-swupdate";
/// The version the bundles carry (the image says 0.0.2, profiles/matrix.yaml's).
const NEW_VERSION: &str = "9.9.9";

fn artifact(suffix: &str) -> PathBuf {
    vm_state_dir().join(format!("artifacts/isar/isar-{VARIANT}-qemuamd64{suffix}"))
}

/// Builds the image once per process (a warm rebuild is a no-op); false when the machine
/// cannot (skipped with a notice, except under CI).
fn built() -> bool {
    static BUILT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *BUILT.get_or_init(|| {
        let Some(user) = super::isar::ready() else {
            return false;
        };
        super::isar::run_build(super::isar::build_command(&user, &[VARIANT]));
        for suffix in [".wic", ".ext4"] {
            assert!(
                artifact(suffix).is_file(),
                "{} missing",
                artifact(suffix).display()
            );
        }
        true
    })
}

fn run(argv: &[&str]) -> String {
    let out = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Bundles the image's .ext4 into `out`, signed by `key`/`cert`; n3x's stdout.
fn bundle(out: &Path, key: &Path, cert: &Path) -> String {
    bundle_of(None, out, key, cert)
}

/// Like [`bundle`], with `payload` instead of the image's .ext4 when given.
fn bundle_of(payload: Option<&Path>, out: &Path, key: &Path, cert: &Path) -> String {
    let mut cmd = vm_n3x();
    cmd.args([
        "ota",
        "bundle",
        "--variant",
        VARIANT,
        "--version",
        NEW_VERSION,
    ])
    .arg("--key")
    .arg(key)
    .arg("--cert")
    .arg(cert)
    .arg("-o")
    .arg(out);
    if let Some(p) = payload {
        cmd.arg("--payload").arg(p);
    }
    let o = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "n3x ota bundle: {stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

fn dev_pair() -> (PathBuf, PathBuf) {
    (
        repo().join("kas/keys/n3x-ota-dev.key"),
        repo().join("kas/keys/n3x-ota-dev.crt"),
    )
}

fn sw_description(swu: &Path) -> n3x::ota::swdesc::SwDescription {
    let mut f = std::fs::File::open(swu).unwrap();
    let entries = n3x::ota::cpio::list(&mut f).unwrap();
    let text = n3x::ota::cpio::read(&mut f, &entries[0]).unwrap();
    n3x::ota::swdesc::parse(&String::from_utf8(text).unwrap()).unwrap()
}

#[test]
fn ota_bundle_from_the_real_image_is_accepted_by_swupdate_for_both_slots() {
    let _serial = common::vm_serial();
    if !built() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let swu = dir.path().join("b.swu");
    let (key, cert) = dev_pair();
    let stdout = bundle(&swu, &key, &cert);
    assert!(stdout.contains("the n3x development key"), "{stdout}");
    if n3x::build::tools::installed("swupdate") {
        for sel in ["stable,slot-a", "stable,slot-b"] {
            assert!(
                stdout.contains(&format!(
                    "swupdate -c {sel}: signature verified, hardware qemuamd64 n3x-1 compatible"
                )),
                "{stdout}"
            );
        }
    }
    let d = sw_description(&swu);
    assert_eq!(
        (d.board.as_str(), d.hw_compat.as_str(), d.version.as_str()),
        ("qemuamd64", "n3x-1", NEW_VERSION)
    );
    assert_eq!(
        d.raw_size,
        std::fs::metadata(artifact(".ext4")).unwrap().len()
    );
    eprintln!(
        "bundle {:.1} MB from a {:.1} MB ext4",
        std::fs::metadata(&swu).unwrap().len() as f64 / 1e6,
        d.raw_size as f64 / 1e6
    );

    // The slot the payload becomes: what GRUB and SWUpdate rely on.
    let ext4 = artifact(".ext4");
    let cat = |p: &str| run(&["debugfs", "-R", &format!("cat {p}"), ext4.to_str().unwrap()]);
    assert_eq!(cat("/etc/hwrevision").trim(), "qemuamd64 n3x-1");
    let fstab = cat("/etc/fstab");
    assert!(fstab.contains("PARTLABEL=efi\t/boot/efi\tvfat"), "{fstab}");
    assert!(
        !fstab
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("/")),
        "no / line: {fstab}"
    );
    assert_eq!(
        std::fs::read(repo().join("kas/keys/n3x-ota-dev.crt")).unwrap(),
        cat("/etc/swupdate/n3x-ota.crt").into_bytes(),
        "the image trusts the development certificate"
    );
    let boot = run(&["debugfs", "-R", "ls -l /boot", ext4.to_str().unwrap()]);
    for link in ["vmlinuz", "initrd.img", "grub"] {
        assert!(boot.contains(&format!(" {link}")), "/boot/{link}: {boot}");
    }
    let cfg = cat("/etc/swupdate.cfg");
    assert!(cfg.contains("bootloader = \"grub\";"), "{cfg}");
    // GPT names GRUB and the fstab boot by.
    let table = run(&["sfdisk", "--json", artifact(".wic").to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_str(&table).unwrap();
    let names: Vec<&str> = doc["partitiontable"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["efi", "APP", "APP_b", "data"]);
}
