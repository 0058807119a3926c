//! The isar backend: how kas runs ([`Runner`]: natively, as an unprivileged build user when
//! n3x is root, or in kas-container where a container engine works), where BitBake's caches
//! and build tree are ([`CacheDirs`]), where sources come from ([`mirror`]), and the steps of
//! one variant's build. Problems a build would only hit minutes in (no build user, no network
//! and no mirror) are found here, before anything runs, and reported in one sentence with the
//! fix.

pub mod host;
pub mod mirror;
pub mod sparse;

use std::path::{Path, PathBuf};

use self::host::{HostError, User};
use self::mirror::SourceMirror;
use super::plan::Step;
use crate::matrix::{self, Variant};
use crate::profile::{Arch, Profiles};

/// The kas version n3x installs and looks for (`kas-<version>/` in the cache directory).
pub const KAS_VERSION: &str = "5.5";

/// How kas is run, as asked on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum KasChoice {
    /// kas-container where a container engine works, else native kas.
    #[default]
    Auto,
    /// `kas build` on this host (ISAR's host packages installed).
    Native,
    /// `kas-container --isar build` (docker or podman).
    Container,
}

/// The isar backend's options: `n3x build`'s flags, or the environment
/// (`N3X_SOURCE_MIRROR`, `N3X_ISAR_CACHE`, `N3X_BUILD_USER`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IsarOptions {
    /// How kas runs.
    pub kas: KasChoice,
    /// A source mirror directory (offline builds).
    pub source_mirror: Option<PathBuf>,
    /// Where DL_DIR, SSTATE_DIR and the build tree go (default: [`default_cache`]).
    pub cache: Option<PathBuf>,
    /// The user kas runs as when n3x is root (default [`host::DEFAULT_BUILD_USER`]).
    pub build_user: Option<String>,
    /// Also write the compressed release image (`.wic.zst`, zstd -19: slow).
    pub compress: bool,
}

impl IsarOptions {
    /// The options the environment gives (for the workbench, which has no flags for them).
    pub fn from_env() -> IsarOptions {
        let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        IsarOptions {
            kas: KasChoice::Auto,
            source_mirror: var("N3X_SOURCE_MIRROR").map(PathBuf::from),
            cache: var("N3X_ISAR_CACHE").map(PathBuf::from),
            build_user: var("N3X_BUILD_USER").map(|v| v.to_string_lossy().into_owned()),
            compress: false,
        }
    }
}

/// Who runs kas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Runner {
    /// `kas-container --isar build`.
    Container,
    /// `kas build`; as `user` through sudo when n3x runs as root.
    Native {
        /// The build user, when n3x is root.
        user: Option<User>,
    },
}

/// BitBake's caches and build tree, all under one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheDirs {
    /// The directory.
    pub root: PathBuf,
}

impl CacheDirs {
    /// Downloads (`DL_DIR`).
    pub fn downloads(&self) -> PathBuf {
        self.root.join("downloads")
    }
    /// Shared state (`SSTATE_DIR`), shared by every variant.
    pub fn sstate(&self) -> PathBuf {
        self.root.join("sstate")
    }
    /// kas's work directory (`KAS_WORK_DIR`): the ISAR checkout and `build/`.
    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }
    /// Where a k3s binary given with `--k3s-binary` is staged for BitBake.
    pub fn k3s_binary(&self) -> PathBuf {
        self.root.join("k3s-binary")
    }
    /// Where BitBake writes a machine's images.
    pub fn deploy(&self, machine: &str) -> PathBuf {
        self.work().join("build/tmp/deploy/images").join(machine)
    }
    /// The kas venv n3x and scripts/isar-host.sh install.
    pub fn kas_venv(&self) -> PathBuf {
        self.root.join(format!("kas-{KAS_VERSION}"))
    }
}

/// The default cache directory of whoever runs kas: `$XDG_CACHE_HOME/n3x/isar` (for n3x's
/// own user), else `<home>/.cache/n3x/isar`.
pub fn default_cache(xdg_cache_home: Option<&Path>, home: Option<&Path>) -> Option<PathBuf> {
    xdg_cache_home
        .filter(|p| !p.as_os_str().is_empty())
        .map(|d| d.join("n3x/isar"))
        .or_else(|| home.map(|h| h.join(".cache/n3x/isar")))
}

/// A k3s binary given with `--k3s-binary`, used instead of the pinned release
/// (kas/opt/k3s-binary.yml; the tests' stand-in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K3sBinary {
    /// The file given.
    pub path: PathBuf,
    /// Its sha256.
    pub sha256: String,
}

/// What the host can tell the planner; a parameter so tests can pretend.
pub struct Host<'a> {
    /// n3x's effective user id.
    pub euid: u32,
    /// Whether a program can be found.
    pub installed: &'a dyn Fn(&str) -> bool,
    /// Whether GitHub answers (asked at most once, and only when needed).
    pub online: &'a dyn Fn() -> bool,
    /// Checks a build user (see [`host::check_build_user`]).
    pub build_user: &'a dyn Fn(&str, &Path) -> Result<User, HostError>,
    /// Whether kas-container can run (see [`host::container_engine_works`]).
    pub container_engine: bool,
    /// `$XDG_CACHE_HOME` and `$HOME` of n3x's process.
    pub cache_env: (Option<PathBuf>, Option<PathBuf>),
    /// `$N3X_KAS`: the kas program to run, when set.
    pub kas_program: Option<PathBuf>,
    /// Why programs of an architecture cannot run here (see [`host::foreign_arch_missing`]).
    pub foreign_arch: &'a dyn Fn(&str) -> Option<String>,
}

impl Host<'_> {
    /// This host, as it is.
    pub fn real(installed: &dyn Fn(&str) -> bool) -> Host<'_> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Host {
            euid: host::euid(),
            installed,
            online: &super::quick::github_reachable,
            build_user: &host::check_build_user,
            container_engine: host::container_engine_works(installed),
            cache_env: (var("XDG_CACHE_HOME"), var("HOME")),
            kas_program: var("N3X_KAS"),
            foreign_arch: &|arch| {
                host::foreign_arch_missing(arch, Path::new("/proc/sys/fs/binfmt_misc"))
            },
        }
    }
}

/// Everything an ISAR build of one variant needs, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Who runs kas.
    pub runner: Runner,
    /// The kas program (native) or `kas-container`.
    pub kas: PathBuf,
    /// Caches and build tree.
    pub cache: CacheDirs,
    /// The source mirror, when one is given.
    pub mirror: Option<SourceMirror>,
    /// Build without network access (a mirror is given, or GitHub does not answer).
    pub offline: bool,
}

impl Setup {
    /// One line for the Builds view and the log: who runs kas and where everything is.
    pub fn describe(&self) -> String {
        let who = match &self.runner {
            Runner::Container => "kas-container".to_string(),
            Runner::Native { user: Some(u) } => format!("kas {} as {}", self.kas.display(), u.name),
            Runner::Native { user: None } => format!("kas {}", self.kas.display()),
        };
        let mut s = format!(
            "{who}; downloads {}; sstate {}; build tree {}",
            self.cache.downloads().display(),
            self.cache.sstate().display(),
            self.cache.work().join("build").display()
        );
        match &self.mirror {
            Some(m) => s.push_str(&format!("; source mirror {}", m.dir.display())),
            None if self.offline => s.push_str("; offline, no source mirror"),
            None => s.push_str("; sources from the network"),
        }
        s
    }
}

/// Why an ISAR build cannot start.
fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Resolves who runs kas, the caches and the mirror for `variant`, and checks what a build
/// of it would fail on later.
pub fn setup(
    p: &Profiles,
    variant: &Variant,
    repo: &Path,
    options: &IsarOptions,
    k3s_binary: Option<&Path>,
    host: &Host,
) -> Result<Setup, String> {
    let native = match options.kas {
        KasChoice::Native => true,
        KasChoice::Container => false,
        KasChoice::Auto => !host.container_engine,
    };
    let runner = if !native {
        if !(host.installed)("kas-container") {
            return Err(super::tools::missing("kas-container"));
        }
        Runner::Container
    } else if host.euid == 0 {
        let name = options
            .build_user
            .as_deref()
            .unwrap_or(host::DEFAULT_BUILD_USER);
        Runner::Native {
            user: Some((host.build_user)(name, repo).map_err(err)?),
        }
    } else {
        Runner::Native { user: None }
    };
    // A foreign target's image steps run its programs through QEMU user emulation.
    if let Some(arch) = p.machines.get(&variant.machine).map(|m| m.arch.as_str())
        && arch != std::env::consts::ARCH
        && matches!(runner, Runner::Native { .. })
        && let Some(why) = (host.foreign_arch)(arch)
    {
        return Err(why);
    }
    let cache_root = match (&options.cache, &runner) {
        (Some(dir), _) => dir.clone(),
        (None, Runner::Native { user: Some(u) }) => default_cache(None, Some(&u.home))
            .ok_or("the build user has no home directory")?,
        (None, _) => default_cache(host.cache_env.0.as_deref(), host.cache_env.1.as_deref())
            .ok_or(
                "no cache directory: neither XDG_CACHE_HOME nor HOME is set\n  fix: pass --isar-cache DIR or set N3X_ISAR_CACHE",
            )?,
    };
    let cache = CacheDirs { root: cache_root };
    let kas = match &runner {
        Runner::Container => PathBuf::from("kas-container"),
        Runner::Native { .. } => {
            let venv = cache.kas_venv().join("bin/kas");
            match &host.kas_program {
                Some(k) => k.clone(),
                None if venv.is_file() => venv,
                None if (host.installed)("kas") => PathBuf::from("kas"),
                None => {
                    return Err(format!(
                        "kas {KAS_VERSION} is not installed (looked for $N3X_KAS, {} and kas in PATH)\n  fix: scripts/isar-host.sh, or: python3 -m venv {venv} && {venv}/bin/pip install kas=={KAS_VERSION}",
                        venv.display(),
                        venv = cache.kas_venv().display()
                    ));
                }
            }
        }
    };
    let mirror = options
        .source_mirror
        .as_deref()
        .map(SourceMirror::open)
        .transpose()?;
    // Ask the network once, and only when something would come from it.
    let online = std::cell::OnceCell::new();
    let is_online = || *online.get_or_init(|| (host.online)());
    let isar_here = cache.work().join("isar/.git").exists()
        || mirror.as_ref().is_some_and(|m| m.isar.is_some());
    if !isar_here && !is_online() {
        return Err(format!(
            "ISAR ({}) cannot be fetched: there is no network and no source mirror with a copy of it; pass --source-mirror DIR (or set N3X_SOURCE_MIRROR) with isar.git or isar*.bundle in it",
            mirror::ISAR_URL
        ));
    }
    if needs_k3s(variant) && k3s_binary.is_none() {
        let name = k3s_download_name(p, variant);
        let here = mirror.as_ref().is_some_and(|m| m.has_file(&name))
            || cache.downloads().join(&name).is_file();
        if !here && (mirror.is_some() || !is_online()) {
            return Err(format!(
                "k3s {} ({name}) cannot be fetched: {}; put {name} into the source mirror (--source-mirror DIR) or pass --k3s-binary PATH",
                p.cluster.k3s.version,
                match &mirror {
                    Some(m) => format!(
                        "the build is offline and the source mirror {} does not have it",
                        m.dir.display()
                    ),
                    None => "there is no network and no source mirror".into(),
                }
            ));
        }
    }
    // Without a mirror the network decides: ISAR's SBOM tools alone come from GitHub.
    let offline = mirror.is_some() || !is_online();
    Ok(Setup {
        runner,
        kas,
        cache,
        mirror,
        offline,
    })
}

/// Whether the variant's image installs k3s.
fn needs_k3s(v: &Variant) -> bool {
    matches!(v.role.as_str(), "server" | "agent")
}

/// The Debian architecture of a machine.
fn debian_arch(p: &Profiles, v: &Variant) -> &'static str {
    match p.machines.get(&v.machine).map(|m| m.arch) {
        Some(Arch::Aarch64) => "arm64",
        _ => "amd64",
    }
}

/// The name the k3s recipe downloads the pinned release as (`K3S_DOWNLOAD`):
/// `k3s-1.35.0+k3s1-amd64`.
pub fn k3s_download_name(p: &Profiles, v: &Variant) -> String {
    format!(
        "k3s-{}-{}",
        p.cluster.k3s.version.trim_start_matches('v'),
        debian_arch(p, v)
    )
}

/// The kas overlay chain n3x builds: the variant's own, then the options' overlays.
pub fn chain(
    p: &Profiles,
    v: &Variant,
    setup: &Setup,
    options: &IsarOptions,
    k3s: bool,
) -> Vec<String> {
    let mut chain = matrix::overlay_chain(p, v);
    let host_arch = std::env::consts::ARCH;
    let same_arch = p
        .machines
        .get(&v.machine)
        .is_some_and(|m| m.arch.as_str() == host_arch);
    if matches!(setup.runner, Runner::Native { .. }) && same_arch {
        chain.push("kas/opt/native-build.yml".into());
    }
    if setup.offline {
        chain.push("kas/opt/offline.yml".into());
    }
    if !options.compress {
        chain.push("kas/opt/uncompressed.yml".into());
    }
    if k3s {
        chain.push("kas/opt/k3s-binary.yml".into());
    }
    chain
}

/// The steps of an ISAR build of `v`: prepare the caches (owned by the build user), stage a
/// given k3s binary, run kas, copy every artifact to its unique name.
pub fn steps(
    p: &Profiles,
    v: &Variant,
    repo: &Path,
    artifacts_dir: &Path,
    setup: &Setup,
    options: &IsarOptions,
    k3s: Option<&K3sBinary>,
) -> Vec<Step> {
    let cache = &setup.cache;
    let user = match &setup.runner {
        Runner::Native { user: Some(u) } => Some(u),
        _ => None,
    };
    let mut steps = vec![Step::Note {
        text: setup.describe(),
    }];
    let owner = |argv: &mut Vec<String>| {
        if let Some(u) = user {
            argv.extend(["-o".into(), u.name.clone(), "-g".into(), u.gid.to_string()]);
        }
    };
    let mut mkdir = vec!["install".to_string(), "-d".into()];
    owner(&mut mkdir);
    for dir in [
        cache.root.clone(),
        cache.downloads(),
        cache.sstate(),
        cache.work(),
    ] {
        mkdir.push(dir.display().to_string());
    }
    steps.push(Step::Run {
        what: "prepare the ISAR caches".into(),
        argv: mkdir,
        cwd: repo.to_path_buf(),
    });
    let mut env: Vec<(String, String)> = vec![
        ("KAS_WORK_DIR".into(), cache.work().display().to_string()),
        ("DL_DIR".into(), cache.downloads().display().to_string()),
        ("SSTATE_DIR".into(), cache.sstate().display().to_string()),
    ];
    if let Some(m) = &setup.mirror {
        if let Some(pm) = m.kas_premirrors() {
            env.push(("KAS_PREMIRRORS".into(), pm));
        }
        env.push(("N3X_SOURCE_MIRROR".into(), m.dir.display().to_string()));
    }
    if let Some(k) = k3s {
        let staged = cache.k3s_binary();
        let mut install = vec![
            "install".to_string(),
            "-D".into(),
            "-m".into(),
            "0755".into(),
        ];
        owner(&mut install);
        install.push(k.path.display().to_string());
        install.push(
            staged
                .join(format!("{}-local", k3s_download_name(p, v)))
                .display()
                .to_string(),
        );
        steps.push(Step::Run {
            what: "stage the k3s binary".into(),
            argv: install,
            cwd: repo.to_path_buf(),
        });
        env.push(("N3X_K3S_BINARY_DIR".into(), staged.display().to_string()));
        env.push(("N3X_K3S_BINARY_SHA256".into(), k.sha256.clone()));
    }
    let chain = chain(p, v, setup, options, k3s.is_some());
    let mut argv: Vec<String> = Vec::new();
    if let Some(u) = user {
        argv.extend(["sudo", "-u", &u.name, "-H", "--"].map(String::from));
    }
    argv.push("env".into());
    argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    match setup.runner {
        Runner::Container => {
            argv.extend(["kas-container".into(), "--isar".into(), "build".into()]);
            argv.push(chain.join(":"));
        }
        Runner::Native { .. } => {
            argv.push(setup.kas.display().to_string());
            argv.push("build".into());
            // Absolute paths: kas and sudo may change directory.
            argv.push(
                chain
                    .iter()
                    .map(|f| repo.join(f).display().to_string())
                    .collect::<Vec<_>>()
                    .join(":"),
            );
        }
    }
    steps.push(Step::Run {
        what: format!("build {} with ISAR", v.key()),
        argv,
        cwd: repo.to_path_buf(),
    });
    let deploy = cache.deploy(&v.machine);
    steps.extend(matrix::artifacts(p, v).into_iter().map(|a| Step::Collect {
        from: deploy.join(&a.isar_name),
        to: artifacts_dir.join(&a.unique_name),
    }));
    steps
}

/// Plans an ISAR build: [`setup`], then [`steps`].
pub fn plan(
    p: &Profiles,
    v: &Variant,
    repo: &Path,
    artifacts_dir: &Path,
    options: &IsarOptions,
    k3s_binary: Option<&Path>,
    host: &Host,
) -> Result<Vec<Step>, String> {
    let setup = setup(p, v, repo, options, k3s_binary, host)?;
    let k3s = match k3s_binary {
        Some(path) if needs_k3s(v) => Some(K3sBinary {
            path: path.to_path_buf(),
            sha256: super::quick::sha256_file(path)
                .map_err(|e| format!("--k3s-binary {}: {e}", path.display()))?,
        }),
        _ => None,
    };
    Ok(steps(
        p,
        v,
        repo,
        artifacts_dir,
        &setup,
        options,
        k3s.as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::matrix::testing::{shipped, variant};

    fn builder(_: &str, _: &Path) -> Result<User, HostError> {
        Ok(User {
            name: "n3x-build".into(),
            uid: 1001,
            gid: 1001,
            home: "/home/n3x-build".into(),
        })
    }

    /// A root host without a container engine, offline, kas in the build user's venv.
    fn offline_root() -> Host<'static> {
        Host {
            euid: 0,
            installed: &|_| true,
            online: &|| false,
            build_user: &builder,
            container_engine: false,
            cache_env: (None, Some("/root".into())),
            kas_program: Some("/opt/kas/bin/kas".into()),
            foreign_arch: &|_| None,
        }
    }

    /// The kas command of `v`'s plan with `options` on `host`.
    fn kas_argv(p: &Profiles, v: &Variant, options: &IsarOptions, host: &Host) -> Vec<String> {
        run_argv(
            &plan(
                p,
                v,
                Path::new("/repo"),
                Path::new("/a"),
                options,
                None,
                host,
            )
            .unwrap(),
        )
    }

    fn run_argv(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .find_map(|s| match s {
                Step::Run { what, argv, .. } if what.contains("with ISAR") => Some(argv.clone()),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn without_network_or_mirror_the_build_names_the_missing_source_and_the_flag() {
        let p = shipped();
        let v = variant(&p, "base@qemuamd64");
        let nowhere = IsarOptions {
            cache: Some("/nonexistent/cache".into()),
            ..IsarOptions::default()
        };
        let e = setup(&p, &v, Path::new("/repo"), &nowhere, None, &offline_root()).unwrap_err();
        assert_eq!(
            e,
            "ISAR (https://github.com/ilbers/isar.git) cannot be fetched: there is no network and no source mirror with a copy of it; pass --source-mirror DIR (or set N3X_SOURCE_MIRROR) with isar.git or isar*.bundle in it"
        );
    }

    #[test]
    fn an_offline_build_with_isar_already_checked_out_turns_off_what_needs_the_network() {
        let p = shipped();
        let v = variant(&p, "base@qemuamd64");
        let cache = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(cache.path().join("work/isar/.git")).unwrap();
        let options = IsarOptions {
            cache: Some(cache.path().to_path_buf()),
            ..IsarOptions::default()
        };
        let argv = kas_argv(&p, &v, &options, &offline_root());
        assert!(
            argv.last().unwrap().contains(":/repo/kas/opt/offline.yml"),
            "{argv:?}"
        );
        assert!(
            !argv.iter().any(|a| a.starts_with("KAS_PREMIRRORS=")),
            "no mirror"
        );
    }

    #[test]
    fn an_offline_k3s_image_needs_k3s_in_the_mirror_or_a_binary() {
        let p = shipped();
        let v = variant(&p, "server-simple-server-1@qemuamd64");
        let mirror = tempfile::tempdir().unwrap();
        std::fs::write(mirror.path().join("isar-b90b722f.bundle"), "").unwrap();
        let options = IsarOptions {
            source_mirror: Some(mirror.path().to_path_buf()),
            cache: Some("/nonexistent/cache".into()),
            ..IsarOptions::default()
        };
        let e = setup(&p, &v, Path::new("/repo"), &options, None, &offline_root()).unwrap_err();
        assert!(
            e.starts_with("k3s v1.35.0+k3s1 (k3s-1.35.0+k3s1-amd64) cannot be fetched: the build is offline and the source mirror"),
            "{e}"
        );
        assert!(e.ends_with("or pass --k3s-binary PATH"), "{e}");
        std::fs::write(mirror.path().join("k3s-1.35.0+k3s1-amd64"), "").unwrap();
        let s = setup(&p, &v, Path::new("/repo"), &options, None, &offline_root()).unwrap();
        assert!(s.offline);
        let bin = mirror.path().join("my-k3s");
        std::fs::write(&bin, "k3s").unwrap();
        std::fs::remove_file(mirror.path().join("k3s-1.35.0+k3s1-amd64")).unwrap();
        let steps = plan(
            &p,
            &v,
            Path::new("/repo"),
            Path::new("/a"),
            &options,
            Some(&bin),
            &offline_root(),
        )
        .unwrap();
        let argv = run_argv(&steps);
        assert!(argv.contains(&"N3X_K3S_BINARY_DIR=/nonexistent/cache/k3s-binary".to_string()));
        assert!(
            argv.last()
                .unwrap()
                .ends_with(":/repo/kas/opt/k3s-binary.yml"),
            "{argv:?}"
        );
        assert!(
            steps.iter().any(|s| s
                .to_string()
                .ends_with("/my-k3s /nonexistent/cache/k3s-binary/k3s-1.35.0+k3s1-amd64-local")),
            "{steps:?}"
        );
    }

    #[test]
    fn as_root_kas_runs_natively_as_the_build_user_with_its_caches() {
        let p = shipped();
        let v = variant(&p, "agent@qemuamd64");
        let mirror = tempfile::tempdir().unwrap();
        std::fs::create_dir(mirror.path().join("isar.git")).unwrap();
        std::fs::write(mirror.path().join("k3s-1.35.0+k3s1-amd64"), "").unwrap();
        let options = IsarOptions {
            source_mirror: Some(mirror.path().to_path_buf()),
            ..IsarOptions::default()
        };
        let steps = plan(
            &p,
            &v,
            Path::new("/repo"),
            Path::new("/a"),
            &options,
            None,
            &offline_root(),
        )
        .unwrap();
        let cache = "/home/n3x-build/.cache/n3x/isar";
        assert_eq!(
            steps[0].to_string(),
            format!(
                "note  kas /opt/kas/bin/kas as n3x-build; downloads {cache}/downloads; sstate {cache}/sstate; build tree {cache}/work/build; source mirror {}",
                mirror.path().display()
            )
        );
        assert_eq!(
            steps[1].to_string(),
            format!(
                "run   (in /repo) install -d -o n3x-build -g 1001 {cache} {cache}/downloads {cache}/sstate {cache}/work"
            )
        );
        let argv = run_argv(&steps);
        assert_eq!(argv[..6], ["sudo", "-u", "n3x-build", "-H", "--", "env"]);
        assert!(argv.contains(&format!("DL_DIR={cache}/downloads")));
        assert!(argv.contains(&format!("SSTATE_DIR={cache}/sstate")));
        assert!(argv.contains(&format!(
            "KAS_PREMIRRORS=https://github\\.com/ilbers/isar\\.git {}/isar.git",
            mirror.path().display()
        )));
        let chain = argv.last().unwrap();
        assert!(chain.starts_with("/repo/kas/base.yml:"), "{chain}");
        if std::env::consts::ARCH == "x86_64" {
            assert!(chain.contains("/repo/kas/opt/native-build.yml"), "{chain}");
        }
        assert!(
            chain.ends_with(":/repo/kas/opt/offline.yml:/repo/kas/opt/uncompressed.yml"),
            "{chain}"
        );
        assert!(steps.last().unwrap().to_string().contains(&format!(
            "copy  {cache}/work/build/tmp/deploy/images/qemuamd64/n3x-image-agent-debian-trixie-qemuamd64-initrd.img -> /a/isar-agent-qemuamd64-initrd.img"
        )));
        // --compress keeps the .wic.zst.
        let compress = IsarOptions {
            compress: true,
            ..options
        };
        let argv = kas_argv(&p, &v, &compress, &offline_root());
        assert!(!argv.last().unwrap().contains("uncompressed"), "{argv:?}");
    }

    #[test]
    fn kas_container_only_where_an_engine_answers() {
        let p = shipped();
        let v = variant(&p, "base@qemuamd64");
        let online = Host {
            online: &|| true,
            container_engine: true,
            ..offline_root()
        };
        let argv = kas_argv(&p, &v, &IsarOptions::default(), &online);
        assert_eq!(argv[0], "env");
        assert!(argv.contains(&"kas-container".to_string()), "{argv:?}");
        assert!(
            !argv.last().unwrap().contains("offline"),
            "online: {argv:?}"
        );
        assert!(
            argv.last().unwrap().starts_with("kas/base.yml:"),
            "relative for the container"
        );
        let no_engine = Host {
            container_engine: false,
            ..online
        };
        let argv = kas_argv(&p, &v, &IsarOptions::default(), &no_engine);
        assert_eq!(argv[0], "sudo");
    }

    #[test]
    fn a_foreign_target_says_what_the_host_lacks() {
        let p = shipped();
        let v = variant(&p, "base@qemuarm64");
        let host = Host {
            online: &|| true,
            foreign_arch: &|arch| Some(format!("no qemu-{arch}")),
            ..offline_root()
        };
        let e = setup(
            &p,
            &v,
            Path::new("/repo"),
            &IsarOptions::default(),
            None,
            &host,
        );
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(e.unwrap_err(), "no qemu-aarch64");
        }
    }
}
