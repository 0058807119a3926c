//! OTA on the real A/B image (VM tier: run under the shared lock, `flock /work/.heavy.lock cargo
//! test --test it vm::ota`). `n3x build --backend isar --variant base-swupdate` builds the image
//! natively and offline (as tests/it/vm/isar.rs does), then:
//!
//! - `ota_bundle`: `n3x ota bundle` makes a bundle from the image's real `.ext4` with the
//!   development key, checked by the host's `swupdate -c` for both slots; the image's layout
//!   (GPT names, the slot's fstab, kernel links, hwrevision, the trusted certificate).
//! - `ota_apply_and_boot_switch`: the image boots under OVMF (a writable copy; guest reboots
//!   stay in the same QEMU) through GRUB into slot A; a bundle signed with a throwaway key is
//!   refused by the image's SWUpdate; the development-key bundle goes in through a second
//!   virtio-serial port (sha256 checked), `n3x-ota install` writes it into APP_b (its first
//!   n3x-raw-size bytes hash to n3x-raw-sha256) and flips the GRUB environment; a reboot comes
//!   up in slot B with the bundle's version, confirmed; then a broken update of slot A (its init
//!   exits, the kernel panics) is tried twice and GRUB goes back to slot B (rolled back).
//!
//! Needs root, the build user and kas (scripts/isar-host.sh), QEMU, OVMF, openssl, swupdate.

use crate::common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// A copy of the image's .ext4 whose init prints N3X-BROKEN-INIT and exits: the kernel
/// panics and (panic=5) reboots, every time.
fn broken_payload(dir: &Path) -> PathBuf {
    let ext4 = dir.join("broken.ext4");
    run(&[
        "cp",
        "--sparse=always",
        artifact(".ext4").to_str().unwrap(),
        ext4.to_str().unwrap(),
    ]);
    let init = dir.join("init.sh");
    std::fs::write(
        &init,
        "#!/bin/sh\necho N3X-BROKEN-INIT > /dev/ttyS0\nexit 1\n",
    )
    .unwrap();
    let script = dir.join("break.debugfs");
    std::fs::write(
        &script,
        format!(
            "cd /usr/sbin\nrm init\nwrite {} init\nsif init mode 0100755\nsif init uid 0\nsif init gid 0\n",
            init.display()
        ),
    )
    .unwrap();
    run(&[
        "debugfs",
        "-w",
        "-f",
        script.to_str().unwrap(),
        ext4.to_str().unwrap(),
    ]);
    let check = run(&[
        "debugfs",
        "-R",
        "cat /usr/sbin/init",
        ext4.to_str().unwrap(),
    ]);
    assert!(check.contains("N3X-BROKEN-INIT"), "{check}");
    ext4
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

/// One QEMU guest booting the writable copy of the image under OVMF.
struct Guest {
    qemu: Child,
    dir: PathBuf,
    started: Instant,
    control: UnixStream,
    pending: Vec<u8>,
    count: usize,
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
    }
}

impl Guest {
    fn boot(dir: &Path) -> Guest {
        let disk = dir.join("disk.wic");
        run(&[
            "cp",
            "--sparse=always",
            artifact(".wic").to_str().unwrap(),
            disk.to_str().unwrap(),
        ]);
        std::fs::copy("/usr/share/OVMF/OVMF_VARS.fd", dir.join("vars.fd")).unwrap();
        let p = |n: &str| dir.join(n).display().to_string();
        let qemu = Command::new("qemu-system-x86_64")
            .args([
                "-M",
                "q35",
                "-m",
                "1024",
                "-smp",
                "1",
                "-nographic",
                "-nodefaults",
            ])
            .args([
                "-drive",
                "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd",
            ])
            .args([
                "-drive",
                &format!("if=pflash,format=raw,unit=1,file={}", p("vars.fd")),
            ])
            .args(["-serial", &format!("file:{}", p("serial.log"))])
            .args([
                "-drive",
                &format!("id=d0,file={},format=raw,if=none", p("disk.wic")),
            ])
            .args([
                "-device",
                "virtio-blk-pci,drive=d0",
                "-device",
                "virtio-serial-pci",
            ])
            .args([
                "-chardev",
                &format!(
                    "socket,id=control,path={},server=on,wait=on",
                    p("control.sock")
                ),
            ])
            .args(["-device", "virtconsole,chardev=control"])
            .args([
                "-chardev",
                &format!("socket,id=data,path={},server=on,wait=off", p("data.sock")),
            ])
            .args(["-device", "virtserialport,chardev=data,name=n3x.data"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("qemu.out")).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let control = loop {
            match UnixStream::connect(dir.join("control.sock")) {
                Ok(s) => break s,
                Err(_) if started.elapsed() < Duration::from_secs(30) => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Err(e) => panic!("QEMU's control socket: {e}"),
            }
        };
        Guest {
            qemu,
            dir: dir.to_path_buf(),
            started,
            control,
            pending: Vec::new(),
            count: 0,
        }
    }

    fn serial(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.dir.join("serial.log")).unwrap_or_default())
            .replace('\r', "")
    }

    /// The first serial line holding `marker` after byte `from`; its end offset.
    fn wait_serial(&mut self, marker: &str, from: usize, secs: u64) -> (String, usize) {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.serial();
            if let Some(at) = text.get(from..).and_then(|t| t.find(marker)) {
                let line_end = text[from + at..]
                    .find('\n')
                    .map_or(text.len(), |n| from + at + n);
                let line = text[from + at..line_end].to_string();
                eprintln!("[{:6.1}s] {line}", self.started.elapsed().as_secs_f64());
                return (line, line_end);
            }
            if let Ok(Some(status)) = self.qemu.try_wait() {
                panic!("QEMU ended ({status}) before {marker:?}:\n{}", tail(&text));
            }
            assert!(
                Instant::now() < end,
                "no {marker:?} within {secs} s; serial console:\n{}",
                tail(&text)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn read_until(&mut self, marker: &[u8], secs: u64) -> Vec<u8> {
        let end = Instant::now() + Duration::from_secs(secs);
        self.control
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        loop {
            if let Some(at) = self.pending.windows(marker.len()).position(|w| w == marker) {
                let out = self.pending[..at].to_vec();
                self.pending.drain(..at + marker.len());
                return out;
            }
            assert!(
                Instant::now() < end,
                "no {:?} on the control channel within {secs} s; got {:?}; serial:\n{}",
                String::from_utf8_lossy(marker),
                String::from_utf8_lossy(&self.pending),
                tail(&self.serial())
            );
            let mut buf = [0u8; 65536];
            match self.control.read(&mut buf) {
                Ok(0) => panic!("the control channel closed"),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("control channel: {e}"),
            }
        }
    }

    /// Waits for the backdoor of the (next) boot.
    fn connect(&mut self) {
        self.read_until(b"N3X-BACKDOOR-READY", 900);
    }

    /// Runs `cmd` in the guest's root shell: exit code and output.
    fn sh(&mut self, cmd: &str, secs: u64) -> (i32, String) {
        self.count += 1;
        let marker = format!("__N3X_END_{}__", self.count);
        let (a, b) = marker.split_at(4);
        self.control
            .write_all(format!("{{ {cmd} ; }} 2>&1; echo {a}\"\"{b} $?\n").as_bytes())
            .unwrap();
        let out = self.read_until(marker.as_bytes(), secs);
        let rc = self.read_until(b"\n", 10);
        let rc = String::from_utf8_lossy(&rc).trim().parse().unwrap_or(-1);
        let out = String::from_utf8_lossy(&out).replace('\r', "");
        eprintln!(
            "[{:6.1}s] $ {cmd} -> {rc}\n{out}",
            self.started.elapsed().as_secs_f64()
        );
        (rc, out)
    }

    fn ok(&mut self, cmd: &str, secs: u64) -> String {
        let (rc, out) = self.sh(cmd, secs);
        assert_eq!(rc, 0, "{cmd}: {out}");
        out
    }

    /// Copies `file` to `remote` through the data port; the guest checks its sha256.
    fn upload(&mut self, file: &Path, remote: &str) {
        let size = std::fs::metadata(file).unwrap().len();
        let sha = n3x::ota::bundle::sha256_file(file).unwrap();
        // A port opens once at a time: close the previous upload's descriptor first.
        self.ok("exec 4<&-; exec 4</dev/virtio-ports/n3x.data", 30);
        let mut data = UnixStream::connect(self.dir.join("data.sock")).unwrap();
        let t = Instant::now();
        self.control
            .write_all(
                format!(
                    "head -c {size} <&4 > {remote}; sha256sum {remote}; echo __UP\"\"LOADED__\n"
                )
                .as_bytes(),
            )
            .unwrap();
        std::io::copy(&mut std::fs::File::open(file).unwrap(), &mut data).unwrap();
        let out = String::from_utf8_lossy(&self.read_until(b"__UPLOADED__", 1800)).into_owned();
        eprintln!(
            "upload of {:.1} MB: {:.1} s",
            size as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
        assert!(
            out.contains(&sha),
            "the guest's sha256 of {remote}: {out}, want {sha}"
        );
    }
}

fn tail(text: &str) -> String {
    text.lines()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn ota_apply_and_boot_switch_into_slot_b_on_the_real_image() {
    let _serial = common::vm_serial();
    if !built()
        || !common::root_with(
            &["qemu-system-x86_64", "openssl", "zstd", "debugfs"],
            "the OTA VM test needs root, qemu-system-x86, openssl, zstd and e2fsprogs",
        )
    {
        return;
    }
    assert!(
        Path::new("/usr/share/OVMF/OVMF_CODE.fd").is_file(),
        "apt-get install ovmf"
    );
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = dev_pair();
    let good = dir.path().join("good.swu");
    bundle(&good, &key, &cert);
    let d = sw_description(&good);
    // A bundle signed with a throwaway key the image does not trust.
    let (tkey, tcert) = common::throwaway_cert(dir.path(), "foreign");
    let foreign = dir.path().join("foreign.swu");
    bundle(&foreign, &tkey, &tcert);

    let mut g = Guest::boot(dir.path());
    let (grub, at) = g.wait_serial("N3X-GRUB slot=", 0, 600);
    assert!(grub.contains("slot=A"), "{grub}");
    let (slot, at) = g.wait_serial("N3X-SLOT slot=", at, 900);
    assert!(
        slot.contains("slot=A version=0.0.2 result=steady"),
        "{slot}"
    );
    g.connect();
    assert_eq!(g.ok("n3x-ota slot", 30).trim(), "A");
    assert!(
        g.ok("cat /proc/cmdline", 10)
            .contains("root=PARTLABEL=APP ")
    );
    assert_eq!(g.ok("stat -c %s /boot/grub/grubenv", 10).trim(), "1024");
    assert_eq!(g.ok("cat /etc/hwrevision", 10).trim(), "qemuamd64 n3x-1");

    g.upload(&foreign, "/data/foreign.swu");
    let (rc, out) = g.sh("n3x-ota install /data/foreign.swu", 600);
    assert_ne!(
        rc, 0,
        "the image installed a bundle signed with a key it does not trust: {out}"
    );
    assert!(out.contains("ERROR"), "{out}");
    let env = g.ok("n3x-grubenv list", 10);
    assert!(
        !env.contains("n3x_slot=B"),
        "a refused bundle flipped the slot: {env}"
    );

    g.upload(&good, "/data/good.swu");
    let t = Instant::now();
    let out = g.ok("n3x-ota install /data/good.swu", 1800);
    eprintln!("install: {:.1} s", t.elapsed().as_secs_f64());
    assert!(out.contains("SWUPDATE successful"), "{out}");
    let written = g.ok(
        &format!(
            "head -c {} /dev/disk/by-partlabel/APP_b | sha256sum",
            d.raw_size
        ),
        900,
    );
    assert!(
        written.contains(&d.raw_sha256),
        "APP_b holds {written}, want {}",
        d.raw_sha256
    );
    let env = g.ok("n3x-grubenv list", 10);
    for var in ["n3x_slot=B", "ustate=1", "n3x_tries=0"] {
        assert!(env.lines().any(|l| l == var), "{var} in {env}");
    }

    // The switch: GRUB tries slot B, the confirmation service accepts it.
    g.ok("sync", 60);
    g.control.write_all(b"systemctl reboot\n").unwrap();
    let (grub, at) = g.wait_serial("N3X-GRUB slot=", at, 600);
    assert!(grub.contains("slot=B ustate=1 tries=1"), "{grub}");
    let (slot, at) = g.wait_serial("N3X-SLOT slot=", at, 900);
    assert!(
        slot.contains(&format!(
            "slot=B version={NEW_VERSION} result=confirmed ustate=0"
        )),
        "{slot}"
    );
    g.pending.clear();
    g.connect();
    assert!(
        g.ok("cat /proc/cmdline", 10)
            .contains("root=PARTLABEL=APP_b n3x.slot=B")
    );
    assert_eq!(
        g.ok("cat /etc/n3x-release", 10).trim(),
        format!("N3X_VERSION={NEW_VERSION}")
    );
    assert_eq!(g.ok("n3x-ota slot", 30).trim(), "B");

    // Rollback: a broken update of slot A (its init exits, the kernel panics) is tried twice,
    // then GRUB boots slot B again and the confirmation service says so.
    let broken = dir.path().join("broken.swu");
    bundle_of(Some(&broken_payload(dir.path())), &broken, &key, &cert);
    g.upload(&broken, "/data/broken.swu");
    let out = g.ok("n3x-ota install /data/broken.swu", 1800);
    assert!(out.contains("SWUPDATE successful"), "{out}");
    let env = g.ok("n3x-grubenv list", 10);
    assert!(env.lines().any(|l| l == "n3x_slot=A"), "{env}");
    g.ok("sync", 60);
    g.control.write_all(b"systemctl reboot\n").unwrap();
    let mut at = at;
    for tries in 1..=2 {
        let (grub, next) = g.wait_serial("N3X-GRUB slot=", at, 600);
        assert!(
            grub.contains(&format!("slot=A ustate=1 tries={tries}")),
            "{grub}"
        );
        let (_, next) = g.wait_serial("N3X-BROKEN-INIT", next, 600);
        let (_, next) = g.wait_serial("Kernel panic", next, 300);
        at = next;
    }
    let (grub, at) = g.wait_serial("N3X-GRUB slot=", at, 600);
    assert!(
        grub.contains("slot=B ustate=3 tries=0"),
        "the rollback: {grub}"
    );
    let (slot, _) = g.wait_serial("N3X-SLOT slot=", at, 900);
    assert!(
        slot.contains(&format!(
            "slot=B version={NEW_VERSION} result=rolled-back ustate=3"
        )),
        "{slot}"
    );
}
