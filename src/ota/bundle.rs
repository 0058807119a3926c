//! `n3x ota bundle`: a signed SWUpdate bundle (`.swu`) from a built A/B image.
//!
//! The payload is the variant's root file system as ext4 (`artifacts/isar/isar-<variant>-
//! <machine>.ext4`, or `--payload`), its `/etc/n3x-release` stamped with the bundle's version
//! (debugfs, on a copy), compressed with zstd. The `sw-description` ([`super::swdesc`]) names
//! the machine as the board and `swupdate_hw_compat` of profiles/matrix.yaml as the hardware
//! revision; it is CMS-signed with the user's key (`openssl cms`, the only kind Debian's
//! SWUpdate accepts: it has no unsigned mode). Then Debian's `swupdate -c` checks the bundle
//! for both slots when it is installed. Everything is made in a temporary directory beside the
//! output and renamed into place at the end: an error leaves no bundle behind.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;

use super::run::Runner;
use super::swdesc::{self, PAYLOAD_NAME, SwDescription};
use super::{OtaError, cpio, io};
use crate::matrix::{self, Variant};
use crate::profile::Profiles;

/// The size of a root slot (`--fixed-size` of APP and APP_b in sdimage-efi-ab-n3x.wks.in):
/// a larger payload cannot be written into one.
pub const SLOT_BYTES: u64 = 2 << 30;

/// The development certificate images trust unless built with `N3X_OTA_CERT`.
pub const DEV_CERT: &str = "kas/keys/n3x-ota-dev.crt";

/// zstd's level for payloads: fast to make, decompressed at the same speed as any level.
const ZSTD_LEVEL: &str = "-6";

/// Arguments of `n3x ota bundle`.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The A/B variant whose image is the payload.
    #[arg(long, value_name = "ID", default_value = "base-swupdate")]
    pub variant: String,
    /// The machine (default: the variant's only one); the bundle's board.
    #[arg(long, value_name = "M")]
    pub machine: Option<String>,
    /// The ext4 root file system to ship (default: the variant's built .ext4 artifact).
    #[arg(long, value_name = "FILE.ext4")]
    pub payload: Option<PathBuf>,
    /// The version written into the bundle and the payload's /etc/n3x-release (default:
    /// `version` of profiles/matrix.yaml).
    #[arg(long, value_name = "V")]
    pub version: Option<String>,
    /// The private key (PEM) that signs the bundle. Debian's SWUpdate installs signed bundles
    /// only; images built without N3X_OTA_CERT trust kas/keys/n3x-ota-dev.{key,crt}.
    #[arg(long, value_name = "KEY.pem")]
    pub key: Option<PathBuf>,
    /// The X.509 certificate (PEM) of --key; the image must trust it.
    #[arg(long, value_name = "CERT.pem")]
    pub cert: Option<PathBuf>,
    /// The hardware revision the bundle fits (default: `swupdate_hw_compat` of
    /// profiles/matrix.yaml).
    #[arg(long, value_name = "REV")]
    pub hw_compat: Option<String>,
    /// Where the bundle goes (default: <state>/artifacts/ota/<variant>-<machine>-<version>.swu).
    #[arg(short, long, value_name = "FILE.swu")]
    pub out: Option<PathBuf>,
    /// The state directory with the built artifacts (default: $N3X_STATE_DIR,
    /// $XDG_STATE_HOME/n3x or ~/.local/state/n3x).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

/// What a finished bundle holds, for the summary and the tests.
#[derive(Debug, Clone)]
pub struct Made {
    /// The bundle file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its sw-description.
    pub description: SwDescription,
    /// The payload it was made from.
    pub payload: PathBuf,
    /// The signer certificate's subject.
    pub signer: String,
    /// Whether that is the development certificate.
    pub dev_key: bool,
    /// What `swupdate -c` verified, or why it did not run.
    pub checked: Vec<String>,
}

/// Removes the temporary directory however the bundle ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn variant(p: &Profiles, args: &BundleArgs) -> Result<Variant, OtaError> {
    let all = matrix::variants(p);
    let ab: Vec<String> = all
        .iter()
        .filter(|v| v.feature.as_deref() == Some("swupdate"))
        .map(|v| v.key())
        .collect();
    let fix = || {
        format!(
            "pass --variant and --machine of an A/B variant (feature: swupdate): {}",
            ab.join(", ")
        )
    };
    let same_id: Vec<&Variant> = all.iter().filter(|v| v.id == args.variant).collect();
    let chosen: Vec<&&Variant> = same_id
        .iter()
        .filter(|v| args.machine.as_ref().is_none_or(|m| &v.machine == m))
        .collect();
    let v = match chosen.as_slice() {
        [v] => (**v).clone(),
        [] if same_id.is_empty() => {
            return Err(OtaError::input(
                format!(
                    "--variant {}: no such variant in profiles/matrix.yaml",
                    args.variant
                ),
                fix(),
            ));
        }
        [] => {
            return Err(OtaError::input(
                format!(
                    "--machine {}: variant {} is not built for it (only for {})",
                    args.machine.as_deref().unwrap_or(""),
                    args.variant,
                    same_id
                        .iter()
                        .map(|v| v.machine.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                fix(),
            ));
        }
        _ => {
            return Err(OtaError::input(
                format!("--variant {} exists for several machines", args.variant),
                "pass --machine",
            ));
        }
    };
    if v.feature.as_deref() != Some("swupdate") {
        return Err(OtaError::input(
            format!(
                "{} has no A/B slots (profiles/matrix.yaml: it has no `feature: swupdate`), so no bundle can update it",
                v.key()
            ),
            fix(),
        ));
    }
    Ok(v)
}

/// Reads the ext4 superblock magic (0xEF53 at byte 1080) and the size of `path`.
fn check_ext4(path: &Path) -> Result<u64, OtaError> {
    let mut f = std::fs::File::open(path).map_err(io(format!("cannot read {}", path.display())))?;
    let size = f
        .metadata()
        .map_err(io(format!("cannot read {}", path.display())))?
        .len();
    let mut head = vec![0u8; 1082];
    let ext4 = f.read_exact(&mut head).is_ok() && head[1080..1082] == [0x53, 0xEF];
    if !ext4 {
        return Err(OtaError::input(
            format!("{} is not an ext4 file system image", path.display()),
            "pass the .ext4 root file system of an A/B image (IMAGE_FSTYPES ext4, made by `feature: swupdate` variants)",
        ));
    }
    if size > SLOT_BYTES.min(cpio::MAX_FILE) {
        return Err(OtaError::input(
            format!(
                "{} has {size} bytes, more than a root slot holds ({SLOT_BYTES} bytes, --fixed-size of APP/APP_b in sdimage-efi-ab-n3x.wks.in)",
                path.display()
            ),
            "make the image smaller, or the slots larger in the WKS file",
        ));
    }
    Ok(size)
}

/// sha256 of a file, hex ([`crate::build::quick::sha256_file`] with the file named on error).
fn sha256_file(path: &Path) -> Result<String, OtaError> {
    crate::build::quick::sha256_file(path).map_err(io(format!("cannot read {}", path.display())))
}

/// The PEM public key in `ran`'s output.
fn public_key(out: &str) -> Option<String> {
    let start = out.find("-----BEGIN PUBLIC KEY-----")?;
    let end = out.find("-----END PUBLIC KEY-----")?;
    Some(out[start..end].split_whitespace().collect())
}

/// Checks that `key` signs for `cert`; returns the certificate's subject.
fn check_key(run: &mut Runner, key: &Path, cert: &Path) -> Result<String, OtaError> {
    // openssl is slow on large non-PEM input: look at the files first.
    for (path, flag, marker) in [
        (key, "--key", "PRIVATE KEY-----"),
        (cert, "--cert", "-----BEGIN CERTIFICATE-----"),
    ] {
        let meta = std::fs::metadata(path).map_err(|e| {
            OtaError::input(
                format!("{flag} {}: cannot read it: {e}", path.display()),
                format!("pass a readable PEM file as {flag}"),
            )
        })?;
        let pem = meta.len() < 1 << 20
            && std::fs::read(path).is_ok_and(|b| String::from_utf8_lossy(&b).contains(marker));
        if !pem {
            return Err(OtaError::input(
                format!(
                    "{flag} {}: not a PEM {}",
                    path.display(),
                    if flag == "--key" {
                        "private key"
                    } else {
                        "X.509 certificate"
                    }
                ),
                "make a pair with `openssl req -x509 -newkey rsa:2048 -nodes -keyout KEY.pem -out CERT.pem -subj /CN=NAME`",
            ));
        }
    }
    let c = run.run(
        "cert",
        vec![
            "openssl".into(),
            "x509".into(),
            "-noout".into(),
            "-subject".into(),
            "-pubkey".into(),
            "-in".into(),
            cert.display().to_string(),
        ],
        &[],
    )?;
    let cert_key = public_key(&c.output).filter(|_| c.success).ok_or_else(|| {
        OtaError::input(
            format!("--cert {}: not a PEM X.509 certificate", cert.display()),
            "make one with `openssl req -x509 -newkey rsa:2048 -nodes -keyout KEY.pem -out CERT.pem -subj /CN=NAME`",
        )
    })?;
    let k = run.run(
        "key",
        vec![
            "openssl".into(),
            "pkey".into(),
            "-pubout".into(),
            "-passin".into(),
            "pass:".into(),
            "-in".into(),
            key.display().to_string(),
        ],
        &[],
    )?;
    let key_pub = public_key(&k.output).filter(|_| k.success).ok_or_else(|| {
        OtaError::input(
            format!(
                "--key {}: not an unencrypted PEM private key",
                key.display()
            ),
            "pass the private key of --cert (a passphrase-protected key: `openssl pkey -in KEY -out PLAIN.pem` into a 0600 file first)",
        )
    })?;
    if key_pub != cert_key {
        return Err(OtaError::input(
            format!(
                "--key {} does not belong to --cert {} (their public keys differ)",
                key.display(),
                cert.display()
            ),
            "pass the certificate that was made with this key",
        ));
    }
    Ok(c.output
        .lines()
        .find_map(|l| l.strip_prefix("subject="))
        .unwrap_or("?")
        .trim()
        .to_string())
}

/// The output path for `d` when `-o` is not given.
pub fn default_out(state: &Path, d: &SwDescription) -> PathBuf {
    state
        .join("artifacts/ota")
        .join(format!("{}-{}-{}.swu", d.variant, d.board, d.version))
}

/// Makes the bundle. `repo` is where the development certificate is looked up.
pub fn make(p: &Profiles, args: &BundleArgs, state: &Path, repo: &Path) -> Result<Made, OtaError> {
    let v = variant(p, args)?;
    let version = args
        .version
        .clone()
        .unwrap_or_else(|| p.matrix.version.clone());
    if !swdesc::plain(&version) {
        return Err(OtaError::input(
            format!("version `{version}` cannot stand in a sw-description"),
            "use letters, digits and . + ~ - _ only, e.g. --version 0.0.3",
        ));
    }
    let hw_compat = args
        .hw_compat
        .clone()
        .or_else(|| p.matrix.swupdate_hw_compat.clone())
        .ok_or_else(|| {
            OtaError::input(
                "profiles/matrix.yaml: no `swupdate_hw_compat`, the hardware revision the A/B images carry in /etc/hwrevision",
                "add `swupdate_hw_compat: n3x-1` (equal to SWUPDATE_HW_COMPAT in kas/feature/swupdate.yml), or pass --hw-compat",
            )
        })?;
    if !swdesc::plain(&hw_compat) {
        return Err(OtaError::input(
            format!("hardware revision `{hw_compat}` cannot stand in a sw-description"),
            "use letters, digits and . + ~ - _ only, e.g. n3x-1",
        ));
    }
    if !swdesc::setting_name(&v.machine) {
        return Err(OtaError::input(
            format!(
                "machine `{}` cannot name a sw-description board section",
                v.machine
            ),
            "machine names for A/B images start with a letter and hold letters, digits, - and _",
        ));
    }
    let (Some(key), Some(cert)) = (&args.key, &args.cert) else {
        return Err(OtaError::input(
            "no signing key: Debian's SWUpdate installs signed bundles only",
            format!(
                "pass --key KEY.pem --cert CERT.pem; images built without N3X_OTA_CERT trust the development pair kas/keys/n3x-ota-dev.key and {DEV_CERT} (never for production)"
            ),
        ));
    };
    let payload = match &args.payload {
        Some(p) => p.clone(),
        None => {
            let a = matrix::artifacts(p, &v)
                .into_iter()
                .find(|a| a.kind == "ext4")
                .ok_or_else(|| {
                    OtaError::input(
                        format!("profiles/machines.yaml: machine {} lists no ext4 artifact for A/B variants", v.machine),
                        format!("add `{{ type: ext4, suffix: .ext4, feature: swupdate }}` under machines.{}.artifacts", v.machine),
                    )
                })?;
            state.join("artifacts/isar").join(a.unique_name)
        }
    };
    if !payload.is_file() {
        return Err(OtaError::input(
            format!(
                "the payload {} is missing: {} is not built",
                payload.display(),
                v.key()
            ),
            format!(
                "`n3x build --backend isar --variant {} --machine {}`, or pass --payload FILE.ext4",
                v.id, v.machine
            ),
        ));
    }
    let raw_size = check_ext4(&payload)?;

    let mut run = Runner::new(&state.join("ota/logs"))?;
    let signer = check_key(&mut run, key, cert)?;
    // The image's hardware: /etc/hwrevision of the payload, "<machine> <revision>".
    let hw = run.must(
        "hwrevision",
        "reading /etc/hwrevision of the payload",
        vec![
            "debugfs".into(),
            "-R".into(),
            "cat /etc/hwrevision".into(),
            payload.display().to_string(),
        ],
    )?;
    let found = hw
        .output
        .lines()
        .find(|l| !l.starts_with("debugfs ") && !l.trim().is_empty())
        .map(|l| l.trim().to_string());
    match found.as_deref().and_then(|l| l.split_once(' ')) {
        Some((board, rev)) if board == v.machine && rev == hw_compat => {}
        Some((board, rev)) => {
            return Err(OtaError::input(
                format!(
                    "{}: the image is for `{board} {rev}` (its /etc/hwrevision), the bundle would be for `{} {hw_compat}`",
                    payload.display(),
                    v.machine
                ),
                format!(
                    "pass the payload of {} built for {}, or --machine/--hw-compat of the image",
                    v.id, v.machine
                ),
            ));
        }
        None => {
            return Err(OtaError::input(
                format!(
                    "{}: the image has no /etc/hwrevision, so it is not an A/B image SWUpdate can update",
                    payload.display()
                ),
                "build the payload from a `feature: swupdate` variant",
            ));
        }
    }

    let description0 = SwDescription {
        version: version.clone(),
        board: v.machine.clone(),
        hw_compat: hw_compat.clone(),
        variant: v.id.clone(),
        payload_sha256: String::new(),
        raw_size,
        raw_sha256: String::new(),
    };
    let out = match &args.out {
        Some(o) => o.clone(),
        None => default_out(state, &description0),
    };
    let out_dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&out_dir)
        .map_err(io(format!("cannot create {}", out_dir.display())))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle.swu".into());
    let tmp = TempDir(out_dir.join(format!(".{name}.n3x-tmp")));
    let _ = std::fs::remove_dir_all(&tmp.0);
    std::fs::create_dir_all(&tmp.0).map_err(io(format!("cannot create {}", tmp.0.display())))?;

    // The payload, stamped with the version on a copy.
    let ext4 = tmp.0.join("rootfs.ext4");
    std::fs::copy(&payload, &ext4).map_err(io(format!(
        "cannot copy {} to {}",
        payload.display(),
        ext4.display()
    )))?;
    let release = tmp.0.join("n3x-release");
    std::fs::write(&release, format!("N3X_VERSION={version}\n"))
        .map_err(io(format!("cannot write {}", release.display())))?;
    let script = tmp.0.join("stamp.debugfs");
    std::fs::write(
        &script,
        format!(
            "cd /etc\nrm n3x-release\nwrite {} n3x-release\nsif n3x-release uid 0\nsif n3x-release gid 0\nsif n3x-release mode 0100644\n",
            release.display()
        ),
    )
    .map_err(io(format!("cannot write {}", script.display())))?;
    run.must(
        "stamp",
        "writing /etc/n3x-release into the payload",
        vec![
            "debugfs".into(),
            "-w".into(),
            "-f".into(),
            script.display().to_string(),
            ext4.display().to_string(),
        ],
    )?;
    let stamped = run.must(
        "stamped",
        "reading /etc/n3x-release back",
        vec![
            "debugfs".into(),
            "-R".into(),
            "cat /etc/n3x-release".into(),
            ext4.display().to_string(),
        ],
    )?;
    if !stamped
        .output
        .lines()
        .any(|l| l.trim() == format!("N3X_VERSION={version}"))
    {
        return Err(OtaError::Tool(format!(
            "debugfs did not write /etc/n3x-release into the payload copy {}; its log is {}",
            ext4.display(),
            stamped.log.display()
        )));
    }
    let zst = tmp.0.join(PAYLOAD_NAME);
    run.must(
        "zstd",
        "compressing the payload",
        vec![
            "zstd".into(),
            "-q".into(),
            "-f".into(),
            "-T0".into(),
            ZSTD_LEVEL.into(),
            ext4.display().to_string(),
            "-o".into(),
            zst.display().to_string(),
        ],
    )?;
    let description = SwDescription {
        payload_sha256: sha256_file(&zst)?,
        raw_sha256: sha256_file(&ext4)?,
        ..description0
    };
    let _ = std::fs::remove_file(&ext4);
    let sw = tmp.0.join("sw-description");
    std::fs::write(&sw, swdesc::render(&description))
        .map_err(io(format!("cannot write {}", sw.display())))?;
    let sig = tmp.0.join("sw-description.sig");
    run.must(
        "sign",
        "signing sw-description",
        vec![
            "openssl".into(),
            "cms".into(),
            "-sign".into(),
            "-in".into(),
            sw.display().to_string(),
            "-out".into(),
            sig.display().to_string(),
            "-signer".into(),
            cert.display().to_string(),
            "-inkey".into(),
            key.display().to_string(),
            "-passin".into(),
            "pass:".into(),
            "-outform".into(),
            "DER".into(),
            "-nosmimecap".into(),
            "-binary".into(),
            "-noattr".into(),
        ],
    )?;
    let swu = tmp.0.join("bundle.swu");
    write_cpio(&swu, &[&sw, &sig, &zst])?;
    let checked = check(&mut run, &swu, cert, &description, &tmp.0)?;
    std::fs::rename(&swu, &out).map_err(io(format!("cannot write {}", out.display())))?;
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let dev_key = std::fs::read(repo.join(DEV_CERT))
        .ok()
        .zip(std::fs::read(cert).ok())
        .is_some_and(|(a, b)| a == b);
    Ok(Made {
        path: out,
        size,
        description,
        payload,
        signer,
        dev_key,
        checked,
    })
}

fn write_cpio(swu: &Path, files: &[&Path]) -> Result<(), OtaError> {
    let f = std::fs::File::create(swu).map_err(io(format!("cannot create {}", swu.display())))?;
    let mut w = cpio::Writer::new(std::io::BufWriter::new(f));
    for path in files {
        let mut data =
            std::fs::File::open(path).map_err(io(format!("cannot read {}", path.display())))?;
        let size = data
            .metadata()
            .map_err(io(format!("cannot read {}", path.display())))?
            .len();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        w.add(&name, size, &mut data)
            .map_err(io(format!("cannot write {}", swu.display())))?;
    }
    let out = w
        .finish()
        .map_err(io(format!("cannot write {}", swu.display())))?;
    out.into_inner()
        .map_err(|e| OtaError::Io {
            what: format!("cannot write {}", swu.display()),
            source: e.into_error(),
        })?
        .sync_all()
        .map_err(io(format!("cannot write {}", swu.display())))
}

/// Checks `swu` with the host's `swupdate -c` for both slots, as the image would (its
/// certificate, its board and revision); returns what was verified. Without swupdate on the
/// host, says so.
pub fn check(
    run: &mut Runner,
    swu: &Path,
    cert: &Path,
    d: &SwDescription,
    scratch: &Path,
) -> Result<Vec<String>, OtaError> {
    if !crate::build::tools::installed("swupdate") {
        return Ok(vec![
            "not checked: swupdate is not installed on this host (apt-get install swupdate)".into(),
        ]);
    }
    // An explicit configuration, so a user's /etc/swupdate.cfg is not read; a private TMPDIR
    // for SWUpdate's sockets and scratch files.
    let cfg = scratch.join("check.cfg");
    std::fs::write(&cfg, "globals :\n{\n\tloglevel = 5;\n};\n")
        .map_err(io(format!("cannot write {}", cfg.display())))?;
    let tmpdir = scratch.join("swupdate-tmp");
    std::fs::create_dir_all(&tmpdir).map_err(io(format!("cannot create {}", tmpdir.display())))?;
    let mut lines = Vec::new();
    for slot in ['A', 'B'] {
        let ran = run.run(
            "swupdate-check",
            vec![
                "swupdate".into(),
                "-f".into(),
                cfg.display().to_string(),
                "-c".into(),
                "-l".into(),
                "5".into(),
                "-i".into(),
                swu.display().to_string(),
                "-k".into(),
                cert.display().to_string(),
                "-H".into(),
                format!("{}:{}", d.board, d.hw_compat),
                "-e".into(),
                swdesc::selection(slot),
            ],
            &[("TMPDIR", &tmpdir.display().to_string())],
        )?;
        let errors: Vec<&str> = ran.output.lines().filter(|l| l.contains("ERROR")).collect();
        if !check_passed(&ran.output) {
            return Err(OtaError::Tool(format!(
                "swupdate -c refused the bundle for slot {slot} ({}); its log is {}:{}",
                ran.status,
                ran.log.display(),
                if errors.is_empty() {
                    ran.tail(8)
                } else {
                    errors.iter().map(|l| format!("\n    {l}")).collect()
                }
            )));
        }
        lines.push(check_summary(&ran.output, slot, d));
    }
    Ok(lines)
}

/// Whether a `swupdate -c` run passed. Debian bookworm's SWUpdate 2022.12 races in check
/// mode both ways: it may print "successful" after an ERROR, and it exits 1 now and then
/// (about 1 run in 6 here) after a check that passed with no ERROR at all. So: no ERROR line,
/// and SWUpdate's own "SWUPDATE successful" line; the exit code is not looked at.
pub fn check_passed(output: &str) -> bool {
    let errors = output.lines().any(|l| l.contains("ERROR"));
    !errors && output.contains("SWUPDATE successful")
}

/// One line saying what `swupdate -c` verified for `slot`, from its output.
pub fn check_summary(output: &str, slot: char, d: &SwDescription) -> String {
    let has = |s: &str| output.contains(s);
    let mut seen = Vec::new();
    if has("Verified OK") {
        seen.push("signature verified".to_string());
    }
    if has("Hardware compatibility verified") {
        seen.push(format!("hardware {} {} compatible", d.board, d.hw_compat));
    }
    if has(&format!("by-partlabel/{}", swdesc::partition(slot))) {
        seen.push(format!(
            "{PAYLOAD_NAME} streamed and its sha256 checked for /dev/disk/by-partlabel/{}",
            swdesc::partition(slot)
        ));
    }
    format!(
        "swupdate -c {}: {}",
        swdesc::selection(slot),
        if seen.is_empty() {
            "exit 0".to_string()
        } else {
            seen.join(", ")
        }
    )
}

/// Prints what [`make`] made.
pub fn print(made: &Made) {
    let d = &made.description;
    crate::outln!(
        "wrote {} ({:.1} MB)",
        made.path.display(),
        made.size as f64 / 1e6
    );
    crate::outln!(
        "  payload   {}, {:.1} MB ext4 (sha256 {}), /etc/n3x-release N3X_VERSION={}",
        made.payload.display(),
        d.raw_size as f64 / 1e6,
        &d.raw_sha256[..16],
        d.version
    );
    crate::outln!(
        "  board     {}, hardware compatibility {}, version {}, selections {} -> APP, {} -> APP_b",
        d.board,
        d.hw_compat,
        d.version,
        swdesc::selection('A'),
        swdesc::selection('B')
    );
    crate::outln!(
        "  signed    CMS, {}{}",
        made.signer,
        if made.dev_key {
            " (the n3x development key: anyone can sign updates for images that trust it)"
        } else {
            ""
        }
    );
    for c in &made.checked {
        crate::outln!("  checked   {c}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_passes_on_swupdates_words_not_its_racy_exit_code() {
        let ok = "[INFO ] : SWUPDATE successful ! SWUPDATE successful !\n";
        assert!(check_passed(ok));
        assert!(check_passed(ok));
        let refused = "[ERROR] : SWUPDATE failed [0] ERROR x : SW not compatible with hardware\n\
                       [INFO ] : SWUPDATE running :  [endupdate] : SWUpdate was successful !\n";
        assert!(!check_passed(refused));
        assert!(!check_passed("nothing"));
    }

    #[test]
    fn the_summary_names_what_swupdate_verified() {
        let d = SwDescription {
            version: "1".into(),
            board: "qemuamd64".into(),
            hw_compat: "n3x-1".into(),
            variant: "base-swupdate".into(),
            payload_sha256: String::new(),
            raw_size: 0,
            raw_sha256: String::new(),
        };
        let out = "[swupdate_verify_file] : Verified OK\n[check_hw_compatibility] : Hardware compatibility verified\n\
                   Found compressed Image: rootfs.ext4.zst in device : /dev/disk/by-partlabel/APP_b for handler raw\n";
        assert_eq!(
            check_summary(out, 'B', &d),
            "swupdate -c stable,slot-b: signature verified, hardware qemuamd64 n3x-1 compatible, rootfs.ext4.zst streamed and its sha256 checked for /dev/disk/by-partlabel/APP_b"
        );
    }
}
