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
    let offline = mirror.is_some() || (online.get().is_some() && !is_online());
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
