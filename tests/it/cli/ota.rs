//! `n3x ota bundle` as a user runs it, on a small real ext4 payload (mkfs.ext4 -d) with a
//! throwaway openssl key: the bundle's layout and checksums, Debian's `swupdate -c` accepting
//! it and refusing a corrupted copy, another hardware revision and another certificate; and
//! every kind of bad input refused with its fix and no file written.

use crate::common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use common::repo;

fn tool(program: &str) -> bool {
    Std::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(argv: &[&str]) -> std::process::Output {
    let out = Std::new(argv[0]).args(&argv[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A scratch directory with a key pair and an ext4 payload whose /etc/hwrevision is `hw`.
struct Scratch {
    dir: TempDir,
}

impl Scratch {
    fn new(hw: &str) -> Self {
        let dir = TempDir::new().unwrap();
        let root = dir.path().join("root/etc");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("hwrevision"), format!("{hw}\n")).unwrap();
        fs::write(root.join("n3x-release"), "N3X_VERSION=0.0.1\n").unwrap();
        fs::write(root.join("motd"), "x".repeat(100_000)).unwrap();
        let p = |n: &str| dir.path().join(n).display().to_string();
        run(&[
            "mkfs.ext4",
            "-q",
            "-F",
            "-d",
            &p("root"),
            &p("payload.ext4"),
            "8M",
        ]);
        for name in ["swu", "other"] {
            common::throwaway_cert(dir.path(), name);
        }
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn bundle(&self, extra: &[&str]) -> std::process::Output {
        let mut cmd = Command::cargo_bin("n3x").unwrap();
        cmd.current_dir(repo())
            .env_remove("N3X_PROFILES")
            .env("N3X_STATE_DIR", self.path("state"))
            .args(["ota", "bundle", "--version", "0.0.3"]);
        let defaults = [
            ("--payload", "payload.ext4"),
            ("--key", "swu.key"),
            ("--cert", "swu.crt"),
            ("-o", "out.swu"),
        ];
        for (flag, file) in defaults {
            if !extra.contains(&flag) && !extra.contains(&format!("no{flag}").as_str()) {
                cmd.arg(flag).arg(self.path(file));
            }
        }
        cmd.args(extra.iter().filter(|a| !a.starts_with("no-")));
        cmd.output().unwrap()
    }

    /// `swupdate -c` of `swu` as an image with `hw` trusting `cert` would check it.
    fn check(&self, swu: &Path, cert: &str, hw: &str) -> (bool, String) {
        let tmp = self.path("check-tmp");
        fs::create_dir_all(&tmp).unwrap();
        let cfg = self.path("check.cfg");
        fs::write(&cfg, "globals :\n{\n\tloglevel = 5;\n};\n").unwrap();
        let out = Std::new("swupdate")
            .env("TMPDIR", &tmp)
            .args([
                "-f",
                cfg.to_str().unwrap(),
                "-c",
                "-i",
                swu.to_str().unwrap(),
                "-k",
            ])
            .arg(self.path(cert))
            .args(["-H", hw, "-e", "stable,slot-b"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (n3x::ota::bundle::check_passed(&text), text)
    }
}

fn entries(swu: &Path) -> Vec<(String, Vec<u8>)> {
    let bytes = fs::read(swu).unwrap();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        assert_eq!(&bytes[pos..pos + 6], b"070701", "newc header at {pos}");
        let field = |i: usize| {
            usize::from_str_radix(
                std::str::from_utf8(&bytes[pos + 6 + i * 8..pos + 14 + i * 8]).unwrap(),
                16,
            )
            .unwrap()
        };
        let (size, namesize) = (field(6), field(11));
        let name = String::from_utf8(bytes[pos + 110..pos + 110 + namesize - 1].to_vec()).unwrap();
        let data = (pos + 110 + namesize).div_ceil(4) * 4;
        if name == "TRAILER!!!" {
            return out;
        }
        out.push((name, bytes[data..data + size].to_vec()));
        pos = (data + size).div_ceil(4) * 4;
    }
}

fn sha256(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}

fn needs_tools() -> bool {
    let missing: Vec<&str> = ["openssl", "mkfs.ext4", "debugfs", "zstd"]
        .into_iter()
        .filter(|t| !tool(t))
        .collect();
    if !missing.is_empty() {
        assert!(std::env::var_os("CI").is_none(), "CI needs {missing:?}");
        eprintln!("skipped: {missing:?} not installed");
        return false;
    }
    true
}

#[test]
fn a_bundle_holds_the_signed_description_and_the_stamped_payload_and_swupdate_checks_it() {
    if !needs_tools() {
        return;
    }
    let s = Scratch::new("qemuamd64 n3x-1");
    let out = s.bundle(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let swu = s.path("out.swu");
    let list = entries(&swu);
    let names: Vec<&str> = list.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["sw-description", "sw-description.sig", "rootfs.ext4.zst"]
    );
    let desc = String::from_utf8(list[0].1.clone()).unwrap();
    assert!(desc.contains("version = \"0.0.3\";"), "{desc}");
    assert!(
        desc.contains("qemuamd64 = {") && desc.contains("[ \"n3x-1\" ]"),
        "{desc}"
    );
    assert!(
        desc.contains(&format!("sha256 = \"{}\";", sha256(&list[2].1))),
        "{desc}"
    );
    // The payload is the image with /etc/n3x-release of the bundle's version.
    let zst = s.path("p.zst");
    fs::write(&zst, &list[2].1).unwrap();
    let raw = s.path("p.ext4");
    run(&[
        "zstd",
        "-q",
        "-d",
        zst.to_str().unwrap(),
        "-o",
        raw.to_str().unwrap(),
    ]);
    let image = fs::read(&raw).unwrap();
    assert!(desc.contains(&format!("n3x-raw-sha256 = \"{}\";", sha256(&image))));
    assert!(desc.contains(&format!("n3x-raw-size = \"{}\";", image.len())));
    let release = run(&[
        "debugfs",
        "-R",
        "cat /etc/n3x-release",
        raw.to_str().unwrap(),
    ]);
    assert_eq!(
        String::from_utf8_lossy(&release.stdout).trim(),
        "N3X_VERSION=0.0.3"
    );
    // The signature verifies against the certificate.
    let sig = s.path("sig");
    fs::write(&sig, &list[1].1).unwrap();
    let d = s.path("desc");
    fs::write(&d, &list[0].1).unwrap();
    let verify = Std::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-noverify",
            "-in",
        ])
        .arg(&sig)
        .arg("-content")
        .arg(&d)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        stdout.contains("signed    CMS, CN = n3x-test-swu"),
        "{stdout}"
    );
    assert!(
        !s.path(".out.swu.n3x-tmp").exists(),
        "the scratch directory is removed"
    );

    if !tool("swupdate") {
        assert!(
            stdout.contains("not checked: swupdate is not installed"),
            "{stdout}"
        );
        assert!(std::env::var_os("CI").is_none(), "CI needs swupdate");
        return;
    }
    for slot in ["slot-a: signature verified", "slot-b: signature verified"] {
        assert!(stdout.contains(slot), "{stdout}");
    }
    assert!(
        stdout.contains("hardware qemuamd64 n3x-1 compatible"),
        "{stdout}"
    );
    // What SWUpdate on the image must refuse.
    let (ok, text) = s.check(&swu, "swu.crt", "qemuamd64:n3x-1");
    assert!(ok, "{text}");
    let (ok, text) = s.check(&swu, "swu.crt", "qemuamd64:n3x-2");
    assert!(
        !ok && text.contains("SW not compatible with hardware"),
        "{text}"
    );
    let (ok, text) = s.check(&swu, "other.crt", "qemuamd64:n3x-1");
    assert!(!ok && text.contains("signature"), "{text}");
    let mut bytes = fs::read(&swu).unwrap();
    let at = bytes.len() - 512 - list[2].1.len() / 2;
    let payload_at = bytes
        .windows(15)
        .position(|w| w == b"rootfs.ext4.zst")
        .unwrap();
    assert!(at > payload_at + 200);
    bytes[at] ^= 0xff;
    let bad = s.path("bad.swu");
    fs::write(&bad, bytes).unwrap();
    let (ok, text) = s.check(&bad, "swu.crt", "qemuamd64:n3x-1");
    assert!(
        !ok && (text.contains("ZSTD") || text.contains("HASH mismatch")),
        "{text}"
    );
}

fn refused(s: &Scratch, extra: &[&str], wanted: &[&str]) {
    let out = s.bundle(extra);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
    for w in wanted {
        assert!(stderr.contains(w), "{extra:?}: want {w:?} in\n{stderr}");
    }
    assert!(stderr.contains("fix: "), "{stderr}");
    assert!(
        !s.path("out.swu").exists(),
        "{extra:?} left a bundle behind"
    );
    assert!(
        !s.path(".out.swu.n3x-tmp").exists(),
        "{extra:?} left its scratch directory"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_is_refused_with_the_fix_and_nothing_is_written() {
    if !needs_tools() {
        return;
    }
    let s = Scratch::new("qemuamd64 n3x-1");
    refused(
        &s,
        &["no--key"],
        &["signed bundles only", "kas/keys/n3x-ota-dev"],
    );
    let missing = s.path("nope.ext4");
    refused(
        &s,
        &["--payload", missing.to_str().unwrap()],
        &[
            "nope.ext4 is missing",
            "n3x build --backend isar --variant base-swupdate",
        ],
    );
    let out = s.bundle(&["no--payload"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("isar-base-swupdate-qemuamd64.ext4 is missing"),
        "{stderr}"
    );
    refused(
        &s,
        &["--payload", s.path("swu.crt").to_str().unwrap()],
        &["is not an ext4 file system image"],
    );
    refused(
        &s,
        &["--key", s.path("other.key").to_str().unwrap()],
        &["does not belong to --cert"],
    );
    refused(
        &s,
        &["--cert", s.path("payload.ext4").to_str().unwrap()],
        &["not a PEM X.509 certificate"],
    );
    refused(
        &s,
        &["--key", s.path("gone.key").to_str().unwrap()],
        &["--key", "gone.key: cannot read it"],
    );
    refused(
        &s,
        &["--variant", "base", "--machine", "qemuamd64"],
        &["base@qemuamd64 has no A/B slots"],
    );
    refused(&s, &["--machine", "qemuarm64"], &["not built for it"]);
    refused(
        &s,
        &["--hw-compat", "n3x\"1"],
        &["cannot stand in a sw-description"],
    );
    let arm = Scratch::new("qemuarm64 n3x-1");
    let out = arm.bundle(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the image is for `qemuarm64 n3x-1`"),
        "{stderr}"
    );
    assert!(!arm.path("out.swu").exists());
    refused(
        &s,
        &["--hw-compat", "n3x-2"],
        &["the bundle would be for `qemuamd64 n3x-2`"],
    );
}
