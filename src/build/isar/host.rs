//! What a native ISAR build needs from this host, checked before anything runs: an
//! unprivileged build user when n3x runs as root (BitBake refuses root), in the `sbuild` group,
//! the `en_US.UTF-8` locale kas insists on, and a repository that user can read. When something
//! is missing, [`HostError`] carries the exact commands that set it up.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};

/// The build user n3x runs kas as when it runs as root and no other is named.
pub const DEFAULT_BUILD_USER: &str = "n3x-build";

/// A local account, as the password and group databases describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its login name.
    pub name: String,
    /// Its numeric user id.
    pub uid: u32,
    /// Its primary group id.
    pub gid: u32,
    /// Its home directory.
    pub home: PathBuf,
}

/// Looks a user up by name (`getpwnam_r`).
pub fn user(name: &str) -> Option<User> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for getpwnam_r to fill in.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and buf outlives the strings read below.
    let rc = unsafe {
        libc::getpwnam_r(
            cname.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        )
    };
    if rc != 0 || out.is_null() {
        return None;
    }
    // SAFETY: getpwnam_r succeeded, so pw_dir points to a NUL-terminated string in buf.
    let home = unsafe { CStr::from_ptr(pwd.pw_dir) }
        .to_string_lossy()
        .into_owned();
    Some(User {
        name: name.to_string(),
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home: PathBuf::from(home),
    })
}

/// Whether `user` belongs to `group` (as its primary group or a listed member).
pub fn in_group(user: &User, group: &str) -> bool {
    let Ok(cgroup) = CString::new(group) else {
        return false;
    };
    let mut buf = vec![0 as libc::c_char; 64 * 1024];
    // SAFETY: an all-zero group is a valid value for getgrnam_r to fill in.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut out: *mut libc::group = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and buf outlives the strings read below.
    let rc = unsafe {
        libc::getgrnam_r(
            cgroup.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut out,
        )
    };
    if rc != 0 || out.is_null() {
        return false;
    }
    if grp.gr_gid == user.gid {
        return true;
    }
    let mut member = grp.gr_mem;
    // SAFETY: gr_mem is a NULL-terminated array of NUL-terminated strings in buf.
    unsafe {
        while !member.is_null() && !(*member).is_null() {
            if CStr::from_ptr(*member).to_bytes() == user.name.as_bytes() {
                return true;
            }
            member = member.add(1);
        }
    }
    false
}

/// This process's effective user id.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Whether the `en_US.UTF-8` locale is generated (kas stops without it).
pub fn has_en_us_locale() -> bool {
    Path::new("/usr/lib/locale/en_US.utf8").is_dir()
        || std::fs::read("/usr/lib/locale/locale-archive")
            .is_ok_and(|a| a.windows(10).any(|w| w == b"en_US.utf8"))
}

/// Whether git lets another user than the owner use the repository at `repo`: the system
/// git configuration (`/etc/gitconfig`; kas runs git without a home directory) names it, or
/// `*`, as a `safe.directory`.
pub fn git_trusts(repo: &Path, gitconfig: &str) -> bool {
    let repo = repo.to_string_lossy();
    gitconfig.lines().any(|l| {
        let l = l.trim();
        l.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("directory") && {
                let v = v.trim().trim_matches('"');
                v == "*" || v == repo || v.strip_suffix("/*").is_some_and(|p| repo.starts_with(p))
            }
        })
    })
}

/// The first directory from `/` down to `path` (inclusive) that a user who is not its
/// owner cannot enter (no execute bit for others), if any.
pub fn closed_ancestor(path: &Path, uid: u32) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let mut dirs: Vec<&Path> = path.ancestors().collect();
    dirs.reverse();
    dirs.into_iter()
        .find(|d| {
            d.metadata()
                .is_ok_and(|m| m.uid() != uid && m.mode() & 0o001 == 0)
        })
        .map(Path::to_path_buf)
}

/// Why a native ISAR build cannot start on this host, with what sets it up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    /// n3x runs as root and the build user does not exist.
    #[error(
        "BitBake refuses to run as root and the build user {user} does not exist\n  fix: run scripts/isar-host.sh as root, or:\n{}",
        indent(&setup_commands(user, repo))
    )]
    NoBuildUser {
        /// The build user's name.
        user: String,
        /// The repository, to trust in git.
        repo: PathBuf,
    },
    /// The build user is not in the `sbuild` group.
    #[error(
        "the build user {user} is not in the sbuild group (ISAR builds packages with sbuild)\n  fix: usermod -aG sbuild {user}"
    )]
    NotInSbuild {
        /// The build user's name.
        user: String,
    },
    /// The `en_US.UTF-8` locale is missing.
    #[error(
        "kas needs the en_US.UTF-8 locale, which is not generated\n  fix: sed -i 's/^# *en_US.UTF-8/en_US.UTF-8/' /etc/locale.gen && locale-gen"
    )]
    NoLocale,
    /// The build user cannot enter a directory on the way to the repository.
    #[error(
        "the build user {user} cannot enter {dir}, on the way to the repository {repo}\n  fix: chmod o+x {dir}, or clone the repository where {user} can read it"
    )]
    RepoClosed {
        /// The build user's name.
        user: String,
        /// The directory it cannot enter.
        dir: PathBuf,
        /// The repository.
        repo: PathBuf,
    },
    /// git refuses the repository to the build user (it belongs to another user).
    #[error(
        "git refuses the repository {repo} to the build user {user} (another user owns it), so kas would not find the n3x layer\n  fix: git config --file /etc/gitconfig --add safe.directory {repo}"
    )]
    Untrusted {
        /// The build user's name.
        user: String,
        /// The repository.
        repo: PathBuf,
    },
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The exact commands that prepare `user` for native ISAR builds of the repository `repo`
/// (what scripts/isar-host.sh does).
pub fn setup_commands(user: &str, repo: &Path) -> String {
    format!(
        "useradd --create-home --shell /bin/bash --groups sbuild {user}\n\
         echo '{user} ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/{user} && chmod 0440 /etc/sudoers.d/{user}\n\
         sed -i 's/^# *en_US.UTF-8/en_US.UTF-8/' /etc/locale.gen && locale-gen\n\
         git config --file /etc/gitconfig --add safe.directory {repo}\n\
         sudo -u {user} -H python3 -m venv ~{user}/.cache/n3x/isar/kas-5.5\n\
         sudo -u {user} -H ~{user}/.cache/n3x/isar/kas-5.5/bin/pip install kas==5.5",
        repo = repo.display()
    )
}

/// Checks that `user` can run a native ISAR build of `repo` on this host.
pub fn check_build_user(user_name: &str, repo: &Path) -> Result<User, HostError> {
    let Some(user) = user(user_name) else {
        return Err(HostError::NoBuildUser {
            user: user_name.to_string(),
            repo: repo.to_path_buf(),
        });
    };
    if !in_group(&user, "sbuild") {
        return Err(HostError::NotInSbuild {
            user: user_name.to_string(),
        });
    }
    if !has_en_us_locale() {
        return Err(HostError::NoLocale);
    }
    if let Some(dir) = closed_ancestor(repo, user.uid) {
        return Err(HostError::RepoClosed {
            user: user_name.to_string(),
            dir,
            repo: repo.to_path_buf(),
        });
    }
    use std::os::unix::fs::MetadataExt;
    let owner = repo.metadata().map(|m| m.uid()).unwrap_or(user.uid);
    let gitconfig = std::fs::read_to_string("/etc/gitconfig").unwrap_or_default();
    if owner != user.uid && !git_trusts(repo, &gitconfig) {
        return Err(HostError::Untrusted {
            user: user_name.to_string(),
            repo: repo.to_path_buf(),
        });
    }
    Ok(user)
}

/// Why this host cannot run programs of the architecture `arch` (`aarch64`), which a cross
/// build's image steps need (binfmt_misc with qemu-user-static), or `None` when it can.
/// `binfmt` is the binfmt_misc directory (`/proc/sys/fs/binfmt_misc`).
pub fn foreign_arch_missing(arch: &str, binfmt: &Path) -> Option<String> {
    let fix = format!(
        "fix: apt-get install qemu-user-static binfmt-support, then as root: mount -t binfmt_misc binfmt_misc {} && update-binfmts --enable qemu-{arch}",
        binfmt.display()
    );
    if !binfmt.join("status").exists() {
        return Some(format!(
            "a {arch} image needs {arch} programs to run on this {} host, and binfmt_misc is not mounted at {}\n  {fix}",
            std::env::consts::ARCH,
            binfmt.display()
        ));
    }
    match std::fs::read_to_string(binfmt.join(format!("qemu-{arch}"))) {
        Ok(entry) if entry.starts_with("enabled") && entry.contains("flags: ") => {
            let flags = entry
                .lines()
                .find_map(|l| l.strip_prefix("flags: "))
                .unwrap_or("");
            // F: the interpreter is opened when registered, so it works inside chroots.
            (!flags.contains('F')).then(|| {
                format!(
                    "qemu-{arch} is registered with binfmt_misc without the F flag, so it cannot run inside ISAR's chroots\n  fix: apt-get install qemu-user-static (its registration has F), then update-binfmts --enable qemu-{arch}"
                )
            })
        }
        Ok(_) => Some(format!(
            "qemu-{arch} is registered with binfmt_misc but disabled\n  fix: update-binfmts --enable qemu-{arch}"
        )),
        Err(_) => Some(format!(
            "a {arch} image needs {arch} programs to run on this {} host, and no qemu-{arch} is registered with binfmt_misc\n  {fix}",
            std::env::consts::ARCH
        )),
    }
}

/// Whether kas-container can run here: kas-container is installed and a container engine
/// answers (podman, which needs no daemon, or a docker daemon whose socket accepts a
/// connection). A docker client without a running daemon does not count.
pub fn container_engine_works(installed: &dyn Fn(&str) -> bool) -> bool {
    if !installed("kas-container") {
        return false;
    }
    if installed("podman") {
        return true;
    }
    if !installed("docker") {
        return false;
    }
    let socket = std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"));
    std::os::unix::net::UnixStream::connect(socket).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_a_user_and_in_its_own_group() {
        let root = user("root").expect("root exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(in_group(&root, "root"));
        assert!(!in_group(&root, "no-such-group-n3x"));
        assert_eq!(user("no-such-user-n3x"), None);
    }

    #[test]
    fn git_trust_reads_safe_directory_entries() {
        let repo = Path::new("/work/n3x");
        assert!(git_trusts(repo, "[safe]\n\tdirectory = /work/n3x\n"));
        assert!(git_trusts(repo, "[safe]\n\tdirectory = *\n"));
        assert!(git_trusts(repo, "[safe]\n\tdirectory = /work/*\n"));
        assert!(!git_trusts(repo, "[safe]\n\tdirectory = /work/other\n"));
        assert!(!git_trusts(repo, ""));
    }

    #[test]
    fn a_missing_build_user_error_gives_every_setup_command() {
        let e = HostError::NoBuildUser {
            user: "n3x-build".into(),
            repo: "/work/n3x".into(),
        }
        .to_string();
        assert!(
            e.starts_with(
                "BitBake refuses to run as root and the build user n3x-build does not exist\n"
            ),
            "{e}"
        );
        for command in [
            "useradd --create-home --shell /bin/bash --groups sbuild n3x-build",
            "/etc/sudoers.d/n3x-build",
            "locale-gen",
            "safe.directory /work/n3x",
            "pip install kas==5.5",
        ] {
            assert!(e.contains(command), "{command}: {e}");
        }
    }

    #[test]
    fn a_foreign_architecture_needs_binfmt_with_qemu_registered() {
        let dir = tempfile::tempdir().unwrap();
        let e = foreign_arch_missing("aarch64", dir.path()).unwrap();
        assert!(e.contains("binfmt_misc is not mounted"), "{e}");
        assert!(e.contains("update-binfmts --enable qemu-aarch64"), "{e}");
        std::fs::write(dir.path().join("status"), "enabled\n").unwrap();
        let e = foreign_arch_missing("aarch64", dir.path()).unwrap();
        assert!(e.contains("no qemu-aarch64 is registered"), "{e}");
        let entry = dir.path().join("qemu-aarch64");
        std::fs::write(
            &entry,
            "disabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n",
        )
        .unwrap();
        assert!(
            foreign_arch_missing("aarch64", dir.path())
                .unwrap()
                .contains("disabled")
        );
        std::fs::write(
            &entry,
            "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: \n",
        )
        .unwrap();
        assert!(
            foreign_arch_missing("aarch64", dir.path())
                .unwrap()
                .contains("without the F flag")
        );
        std::fs::write(
            &entry,
            "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n",
        )
        .unwrap();
        assert_eq!(foreign_arch_missing("aarch64", dir.path()), None);
    }

    #[test]
    fn a_closed_directory_on_the_way_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let closed = dir.path().join("closed");
        let repo = closed.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(closed_ancestor(&repo, 65534), Some(closed.clone()));
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o711)).unwrap();
        let open = closed_ancestor(&repo, 65534);
        assert!(
            open.as_ref().is_none_or(|d| !d.starts_with(&closed)),
            "{open:?}"
        );
    }
}
