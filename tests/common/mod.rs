//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod pty;

use n3x::profile::Profiles;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped profiles, loaded and validated.
pub fn shipped() -> Profiles {
    Profiles::load(&repo().join("profiles")).expect("the shipped profiles are valid")
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The body of a networkd file: everything after its two header comment lines.
pub fn body(text: &str) -> &str {
    let mut rest = text;
    for _ in 0..2 {
        assert!(
            rest.starts_with('#'),
            "expected a header comment line in:\n{text}"
        );
        rest = &rest[rest.find('\n').unwrap() + 1..];
    }
    rest
}

/// Whether this machine runs as root with every one of `programs`; when not, a test skips
/// with `needs` as the reason, except where the tools must be there (`N3X_REQUIRE_TOOLS` or
/// `CI` set): there it fails. `N3X_SKIP_VM_TESTS` skips them anyway: the checks job of the
/// generated pipeline, whose runners boot the catalog's clusters in jobs of their own.
pub fn root_with(programs: &[&str], needs: &str) -> bool {
    if std::env::var_os("N3X_SKIP_VM_TESTS").is_some() {
        eprintln!("skipping ({needs}): N3X_SKIP_VM_TESTS is set");
        return false;
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = programs.iter().all(|t| n3x::build::tools::installed(t));
    let required =
        std::env::var_os("N3X_REQUIRE_TOOLS").is_some() || std::env::var_os("CI").is_some();
    if !(root && tools) {
        assert!(!required, "{needs} (root: {root})");
        eprintln!("skipping: {needs}");
    }
    root && tools
}

/// Whether `program` runs; missing, it fails the test under CI (`CI` or `N3X_REQUIRE_TOOLS`
/// set) and is skipped with a notice elsewhere.
pub fn tool_available(program: &str, package: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("N3X_REQUIRE_TOOLS").is_none() && std::env::var_os("CI").is_none(),
            "{program} is missing; install the Debian package {package}"
        );
        eprintln!("skipping: {program} not installed (apt-get install {package})");
    }
    found
}

/// Files under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files_under(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if !p.ends_with("target") {
                    stack.push(p);
                }
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The k3s stand-in (`tests/fixtures/k3s-standin`, not k3s: a test fixture that is never
/// shipped), compiled with `rustc -O` into the tests' target directory once, and again only
/// when its source changed. The quick image installs it as `/usr/local/bin/k3s` through
/// `--k3s-binary`.
pub fn k3s_standin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let source = repo().join("tests/fixtures/k3s-standin/k3s_standin.rs");
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("k3s-standin");
            std::fs::create_dir_all(&dir).unwrap();
            let out = dir.join("k3s");
            let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            if modified(&out).is_none() || modified(&out) < modified(&source) {
                let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
                // Without the checkout's path in the binary, every checkout builds the same
                // bytes, and so the same cached quick image.
                let status = std::process::Command::new(rustc)
                    .arg(format!("--remap-path-prefix={}=.", repo().display()))
                    .args(["-O", "--edition", "2021", "-o"])
                    .arg(&out)
                    .arg(&source)
                    .status()
                    .expect("rustc runs");
                assert!(status.success(), "the k3s stand-in does not compile");
            }
            out
        })
        .clone()
}

/// Where the VM tests keep their state: the quick base is built there once and reused.
pub fn vm_state_dir() -> PathBuf {
    repo().join("target/n3x-test-state")
}

/// `n3x` on the shipped profiles (whatever `N3X_PROFILES` says) with the VM tests' state.
pub fn vm_n3x() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_n3x"));
    cmd.current_dir(repo())
        .env_remove("N3X_PROFILES")
        .env("N3X_STATE_DIR", vm_state_dir());
    cmd
}

/// Whether `what` (tests that boot clusters) can run: root, QEMU, vde2, mmdebstrap,
/// e2fsprogs, and rustc for the k3s stand-in; see [`root_with`].
pub fn can_boot_vms(what: &str) -> bool {
    root_with(
        &[
            "qemu-system-x86_64",
            "vde_switch",
            "vde_plug",
            "mmdebstrap",
            "mkfs.ext4",
            "rustc",
        ],
        &format!("{what} need root, qemu-system-x86, vde2, mmdebstrap, e2fsprogs and rustc"),
    )
}

/// The Python of the kas 5 venv (scripts/isar-host.sh installs it into the build user's
/// cache; `N3X_KAS` names its kas), whose kas package has the schema the builds use.
pub fn kas_python() -> Option<PathBuf> {
    let kas = std::env::var_os("N3X_KAS").map(PathBuf::from).or_else(|| {
        let user = n3x::build::isar::host::user(n3x::build::isar::host::DEFAULT_BUILD_USER)?;
        Some(
            n3x::build::isar::CacheDirs {
                root: n3x::build::isar::default_cache(None, Some(&user.home))?,
            }
            .kas_venv()
            .join("bin/kas"),
        )
    })?;
    let python = kas.parent()?.join("python3");
    if python.is_file() {
        return Some(python);
    }
    assert!(
        std::env::var_os("N3X_REQUIRE_TOOLS").is_none() && std::env::var_os("CI").is_none(),
        "no kas {} venv at {}: run scripts/isar-host.sh",
        n3x::build::isar::KAS_VERSION,
        python.display()
    );
    eprintln!("skipping: no kas venv (scripts/isar-host.sh installs it)");
    None
}

/// Validates a JUnit file against Jenkins' `junit-10.xsd` with xmllint: Ok, or its complaint.
pub fn validate_junit(file: &Path) -> Result<(), String> {
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(repo().join("tests/fixtures/junit/junit-10.xsd"))
        .arg(file)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// One VM test (a cluster, a real image build) at a time in this process: they share the
/// machine's two cores, the image cache and the runtime directories, which are named by
/// profile. Other processes wait on the machine's heavy lock (see the README).
pub fn vm_serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A throwaway signing pair made with openssl: `<dir>/<name>.key` and `<dir>/<name>.crt`
/// (subject `CN=n3x-test-<name>`, valid two days).
pub fn throwaway_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (key, cert) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.crt")),
    );
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", &format!("/CN=n3x-test-{name}"), "-days", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (key, cert)
}
