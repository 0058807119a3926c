//! The programs builds run, where to find them, and which package to install when one is
//! missing.

use std::path::{Path, PathBuf};

/// Debian packages (or a hint) for the programs n3x's backends run.
const PACKAGES: &[(&str, &str)] = &[
    (
        "kas-container",
        "pip install kas==5.5 (it ships kas-container), and docker.io or podman to run its container",
    ),
    (
        "kas",
        "scripts/isar-host.sh (kas 5.5 from PyPI in a venv; Debian's kas is too old)",
    ),
    ("nix", "apt-get install nix-bin"),
    ("mmdebstrap", "apt-get install mmdebstrap"),
    ("mkfs.ext4", "apt-get install e2fsprogs"),
    ("xz", "apt-get install xz-utils"),
    ("curl", "apt-get install curl"),
    ("qemu-system-x86_64", "apt-get install qemu-system-x86"),
    ("qemu-system-aarch64", "apt-get install qemu-system-arm"),
    ("vde_switch", "apt-get install vde2"),
    ("vde_plug", "apt-get install vde2"),
    ("zstd", "apt-get install zstd"),
    ("bmaptool", "apt-get install bmap-tools"),
    ("debugfs", "apt-get install e2fsprogs"),
    ("openssl", "apt-get install openssl"),
    ("swupdate", "apt-get install swupdate"),
];

/// How to install `program`, when n3x knows.
pub fn install_hint(program: &str) -> Option<&'static str> {
    PACKAGES
        .iter()
        .find(|(p, _)| *p == program)
        .map(|(_, hint)| *hint)
}

/// Where `program` is: itself when it contains a `/`, else the first executable of that name
/// in `path` (a `PATH` value).
pub fn find_program(program: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        let p = Path::new(program);
        return is_executable(p).then(|| p.to_path_buf());
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Whether `program` can be found in this process's `PATH`.
pub fn installed(program: &str) -> bool {
    find_program(program, std::env::var_os("PATH").as_deref()).is_some()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The error for a program that is not installed, with how to install it.
pub fn missing(program: &str) -> String {
    match install_hint(program) {
        Some(hint) => format!("{program} is not installed\n  fix: {hint}"),
        None => format!("{program} is not installed (not found in PATH)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_in_path_and_missing_ones_name_their_package() {
        let path = std::env::var_os("PATH");
        assert!(find_program("sh", path.as_deref()).is_some());
        assert_eq!(find_program("no-such-program-n3x", path.as_deref()), None);
        assert_eq!(find_program("sh", None), None);
        assert!(find_program("/bin/sh", None).is_some());
        assert_eq!(
            missing("mmdebstrap"),
            "mmdebstrap is not installed\n  fix: apt-get install mmdebstrap"
        );
        assert!(missing("kas-container").contains("podman"));
    }
}
