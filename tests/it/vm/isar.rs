//! Real ISAR builds (VM tier: run under the shared lock, `flock /work/.heavy.lock cargo test
//! --test it vm::isar`): `n3x build --backend isar` builds the images the ISAR cluster tests boot, the
//! `simple` profile's two servers and the agent, natively as the build user, offline from the
//! vendored ISAR bundle, with the k3s STAND-IN (tests/fixtures/k3s-standin) through
//! `--k3s-binary`. Then the images are opened read-only, as a user would: the partition table
//! the WKS file asks for, the rendered files byte for byte, the k3s units, the test control
//! channel and the k3s binary, and no join token.
//!
//! Needs root, the build user and kas (scripts/isar-host.sh; scripts/test.sh runs it). Without
//! them the test is skipped with a notice, except under CI, where it fails. The images stay in
//! the VM tests' state directory (target/n3x-test-state/artifacts/isar/) for the cluster tests.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{k3s_standin, repo, root_with, shipped, vm_n3x, vm_state_dir};
use n3x::build::isar::host::User;
use n3x::build::state::{self, Outcome};

/// The variants the ISAR cluster tests boot: the `simple` profile's servers and an agent.
const VARIANTS: [&str; 3] = ["server-simple-server-1", "server-simple-server-2", "agent"];

/// The ISAR copy shipped beside the repository (`../shared/vendor/`, or one level further up
/// for a git worktree), if there is one.
fn isar_bundle() -> Option<PathBuf> {
    repo().ancestors().skip(1).take(2).find_map(|up| {
        std::fs::read_dir(up.join("shared/vendor"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("isar-") && n.ends_with(".bundle"))
            })
    })
}

/// A source mirror holding a copy of the ISAR bundle, where the build user can read it (its
/// cache directory): the checkout and `../shared` may be closed to it.
fn mirror(bundle: &Path, user: &User) -> PathBuf {
    let dir = user.home.join(".cache/n3x/isar/mirror-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join(bundle.file_name().unwrap());
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    if size(&copy) != size(bundle) {
        std::fs::copy(bundle, &copy).unwrap();
    }
    dir
}

/// The profiles the build runs from: the checkout's, or, when the build user cannot enter the
/// checkout (CI may clone it under a private directory), a copy of `kas/` and `profiles/` in a
/// git repository the build user owns (kas finds the layer through git).
fn profiles_for(user: &User) -> PathBuf {
    if n3x::build::isar::host::closed_ancestor(&repo(), user.uid).is_none() {
        return repo().join("profiles");
    }
    let copy = PathBuf::from("/var/tmp/n3x-isar-checkout");
    let _ = std::fs::remove_dir_all(&copy);
    for dir in ["kas", "profiles"] {
        common::copy_tree(&repo().join(dir), &copy.join(dir));
    }
    let ok = Command::new("git")
        .args(["init", "-q"])
        .arg(&copy)
        .status()
        .unwrap()
        .success()
        && Command::new("chown")
            .args(["-R", &format!("{}:{}", user.uid, user.gid)])
            .arg(&copy)
            .status()
            .unwrap()
            .success();
    assert!(ok, "cannot prepare {}", copy.display());
    eprintln!(
        "the build user cannot enter {}: building from a copy in {}",
        repo().display(),
        copy.display()
    );
    copy.join("profiles")
}

/// `n3x build` of `variants` for qemuamd64, natively as the build user, offline from the
/// vendored ISAR bundle when there is one, into the VM tests' state.
pub(super) fn build_command(user: &User, variants: &[&str]) -> Command {
    let mut cmd = vm_n3x();
    cmd.arg("--profiles").arg(profiles_for(user));
    cmd.args([
        "build",
        "--backend",
        "isar",
        "--kas",
        "native",
        "--machine",
        "qemuamd64",
    ]);
    for v in variants {
        cmd.args(["--variant", v]);
    }
    match isar_bundle() {
        Some(bundle) => {
            cmd.arg("--source-mirror").arg(mirror(&bundle, user));
        }
        None => eprintln!("no ISAR bundle in ../shared/vendor: ISAR comes from the network"),
    }
    cmd
}

/// Runs a build command; its stdout, or a failure with its tail.
pub(super) fn run_build(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "n3x build failed:\n{}\n{}",
        &stdout[stdout.len().saturating_sub(6000)..],
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub(super) fn ready() -> Option<User> {
    if !root_with(
        &["sudo", "sfdisk", "blkid", "mount", "umount"],
        "real ISAR builds need root, sudo, sfdisk, blkid and mount",
    ) {
        return None;
    }
    let required =
        std::env::var_os("N3X_REQUIRE_TOOLS").is_some() || std::env::var_os("CI").is_some();
    let user = n3x::build::isar::host::user(n3x::build::isar::host::DEFAULT_BUILD_USER);
    if user.is_none() {
        assert!(!required, "no build user: run scripts/isar-host.sh");
        eprintln!("skipping: no build user n3x-build (scripts/isar-host.sh creates it)");
    }
    user
}

/// An ext4 partition of an image, mounted read-only; unmounted when dropped.
struct Mounted {
    dir: tempfile::TempDir,
}

impl Mounted {
    fn new(image: &Path, part: &Partition) -> Mounted {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "ext4", "-o"])
            .arg(format!(
                "ro,noload,loop,offset={},sizelimit={}",
                part.start * 512,
                part.size * 512
            ))
            .arg(image)
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount {}: {}",
            image.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Mounted { dir }
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.dir.path().join(inside.trim_start_matches('/'))
    }

    fn read(&self, inside: &str) -> String {
        std::fs::read_to_string(self.path(inside))
            .unwrap_or_else(|e| panic!("{inside} in the image: {e}"))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[derive(Debug)]
struct Partition {
    start: u64,
    size: u64,
    kind: String,
}

/// The GPT of an image, read with `sfdisk --json`.
fn partitions(image: &Path) -> (String, Vec<Partition>) {
    let out = Command::new("sfdisk")
        .arg("--json")
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = &doc["partitiontable"];
    let parts = table["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Partition {
            start: p["start"].as_u64().unwrap(),
            size: p["size"].as_u64().unwrap(),
            kind: p["type"].as_str().unwrap().to_string(),
        })
        .collect();
    (table["label"].as_str().unwrap().to_string(), parts)
}

/// `blkid -p` of one partition: its file system type and label.
fn probe(image: &Path, part: &Partition) -> BTreeMap<String, String> {
    let out = Command::new("blkid")
        .args(["-p", "-o", "export", "-O"])
        .arg((part.start * 512).to_string())
        .arg(image)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const ESP: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const LINUX_FS: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

#[test]
fn the_simple_profiles_isar_images_build_offline_and_hold_exactly_the_rendered_files() {
    // One ISAR build tree: two builds at once would fight over it (vm::ota builds too).
    let _serial = common::vm_serial();
    let Some(user) = ready() else {
        return;
    };
    let standin = k3s_standin();
    let mut cmd = build_command(&user, &VARIANTS);
    cmd.arg("--k3s-binary").arg(&standin);
    let stdout = run_build(cmd);
    assert!(
        stdout.contains("3 builds: 3 succeeded, 0 did not"),
        "{stdout}"
    );
    assert!(
        stdout.contains("as n3x-build"),
        "who runs kas is said: {stdout}"
    );

    // The records: every artifact with its sha256, and BitBake's sstate summary.
    let (records, _) = state::history(&vm_state_dir());
    let standin_sha = n3x::build::quick::sha256_file(&standin).unwrap();
    for v in VARIANTS {
        let key = format!("{v}@qemuamd64");
        let r = records
            .iter()
            .rev()
            .find(|r| r.variant == key && r.outcome == Outcome::Succeeded)
            .unwrap_or_else(|| panic!("no record of {key}"));
        assert_eq!(r.artifacts.len(), 3, "{key}: wic, kernel, initrd");
        for a in &r.artifacts {
            assert!(a.name.starts_with(&format!("isar-{v}-qemuamd64")), "{a:?}");
            assert_eq!(
                n3x::build::quick::sha256_file(&a.path).unwrap(),
                a.sha256,
                "{}",
                a.path.display()
            );
        }
        let sstate = r
            .sstate
            .unwrap_or_else(|| panic!("{key}: no sstate summary"));
        // BitBake counts every setscene task once: looked up in the shared state (`wanted`), or
        // already current in the build tree (a warm rerun whose inputs did not change).
        assert!(sstate.wanted + sstate.current > 0, "{key}: {sstate:?}");
        let image = &r.artifacts[0].path;
        check_image(v, image, &standin_sha);
    }
}

fn check_image(variant: &str, image: &Path, standin_sha: &str) {
    // The WKS file: GPT, an EFI system partition, then the ext4 root labelled `platform`.
    let (label, parts) = partitions(image);
    assert_eq!(label, "gpt", "{variant}");
    assert_eq!(parts.len(), 2, "{variant}: {parts:?}");
    assert_eq!(parts[0].kind, ESP, "{variant}");
    assert_eq!(parts[1].kind, LINUX_FS, "{variant}");
    let esp = probe(image, &parts[0]);
    assert_eq!(
        esp.get("TYPE").map(String::as_str),
        Some("vfat"),
        "{variant}: {esp:?}"
    );
    let root_fs = probe(image, &parts[1]);
    assert_eq!(
        root_fs.get("TYPE").map(String::as_str),
        Some("ext4"),
        "{variant}"
    );
    assert_eq!(
        root_fs.get("LABEL").map(String::as_str),
        Some("platform"),
        "{variant}"
    );

    let root = Mounted::new(image, &parts[1]);
    // Mounted by UUID (wic's --use-uuid), so a virtio disk boots as well as an IDE one.
    let fstab = root.read("/etc/fstab");
    assert!(!fstab.contains("/dev/sd"), "{variant}: {fstab}");
    let root_line = fstab
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("/"))
        .unwrap_or_else(|| panic!("{variant}: no / in {fstab}"));
    assert!(root_line.starts_with("UUID="), "{variant}: {root_line}");

    let role = if variant == "agent" {
        "agent"
    } else {
        "server"
    };
    // The k3s binary (here the stand-in) and the role's unit, enabled.
    let k3s = root.path("/usr/bin/k3s");
    assert_eq!(
        n3x::build::quick::sha256_file(&k3s).unwrap(),
        standin_sha,
        "{variant}: /usr/bin/k3s is the binary given with --k3s-binary"
    );
    let unit = root.read(&format!("/usr/lib/systemd/system/k3s-{role}.service"));
    let layer = std::fs::read_to_string(repo().join(format!(
        "kas/meta-n3x/recipes-core/k3s/files/k3s-{role}.service"
    )))
    .unwrap();
    assert_eq!(unit, layer, "{variant}");
    assert!(
        root.path(&format!(
            "/etc/systemd/system/multi-user.target.wants/k3s-{role}.service"
        ))
        .symlink_metadata()
        .is_ok(),
        "{variant}: k3s-{role} is enabled"
    );
    // The test control channel.
    for f in [
        "/usr/sbin/n3x-backdoor",
        "/usr/sbin/n3x-ready",
        "/lib/systemd/system/n3x-backdoor.service",
        "/etc/systemd/system/sysinit.target.wants/n3x-backdoor.service",
    ] {
        assert!(root.path(f).symlink_metadata().is_ok(), "{variant}: {f}");
    }
    // No join token anywhere k3s would look.
    assert!(
        root.path("/var/lib/rancher/k3s/server/token")
            .symlink_metadata()
            .is_err(),
        "{variant}"
    );
    for dir in ["/etc/rancher", "/var/lib/rancher", "/etc/default"] {
        for f in common::files_under(&root.path(dir), "") {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            assert!(
                !text.contains("K3S_TOKEN=") && !text.lines().any(|l| l.starts_with("token:")),
                "{variant}: {} holds a token",
                f.display()
            );
        }
    }

    // Exactly the files `n3x render` writes for the node, byte for byte.
    let network_dir = root.path("/etc/systemd/network");
    let mut in_image: Vec<String> = std::fs::read_dir(&network_dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    in_image.sort();
    let Some(node) = variant.strip_prefix("server-simple-") else {
        // The agent variant has no node: it is configured at deploy time.
        assert!(in_image.is_empty(), "{variant}: {in_image:?}");
        assert!(
            root.path("/etc/default/k3s-agent")
                .symlink_metadata()
                .is_err()
        );
        return;
    };
    let rendered = n3x::render::render_node(&shipped(), "simple", node).unwrap();
    let mut rendered_network: Vec<String> = Vec::new();
    for f in &rendered {
        let Some(path) = f.path.strip_prefix("rootfs") else {
            continue;
        };
        assert_eq!(root.read(path), f.contents, "{variant}: {path}");
        if let Some(name) = path.strip_prefix("/etc/systemd/network/") {
            rendered_network.push(name.to_string());
        }
    }
    rendered_network.sort();
    assert!(!rendered_network.is_empty());
    assert_eq!(
        in_image, rendered_network,
        "{variant}: /etc/systemd/network"
    );
}
