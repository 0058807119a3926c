//! The pipeline as data, the same for every CI engine: its checks, the image build jobs made
//! from the matrix, the sharded VM tests, the JUnit merge and the release. The GitHub and
//! GitLab renderers only spell it. Pure: the same profiles give the same pipeline.
//!
//! Every job runs `n3x … --batch`, so a failure reads the same on every CI. The places later
//! work plugs into are marked: the ISAR build's command line ([`isar_build`]: the download
//! mirror flag), the caches of each kind of job ([`caches`]: DL_DIR and SSTATE_DIR).

use crate::build::plan::{self as build_plan, Backend};
use crate::matrix::{self, Variant};
use crate::profile::Profiles;
use crate::scenario::catalog::{self, run_order};
use crate::scenario::shard;

/// The Rust toolchain the checks and the n3x binary build with (Cargo.toml's rust-version).
pub const RUST: &str = "1.88";
/// Cargo's home inside the checkout (relative: cargo resolves it against the job's directory),
/// so every CI can cache its registry.
pub const CARGO_HOME: &str = ".cargo-home";
/// The kas release the ISAR jobs install (its `kas-container` runs ISAR in kas's container).
pub const KAS: &str = "5.5";
/// The most runners the VM tests are spread over (see [`vm_shards`]).
pub const MAX_VM_SHARDS: usize = 4;
/// Where jobs keep n3x's state (build records, artifacts, caches), inside the checkout so
/// every CI can cache and upload from it.
pub const STATE_DIR: &str = ".n3x-state";
/// Where the VM test shards write their JUnit files.
pub const JUNIT_DIR: &str = "junit";
/// Where the release jobs put the assets.
pub const DIST_DIR: &str = "dist";
/// Debian packages the VM test jobs need to build quick images and boot them (Debian's
/// keyring too: mmdebstrap verifies the bookworm archive on an Ubuntu runner as well).
pub const VM_PACKAGES: [&str; 7] = [
    "qemu-system-x86",
    "vde2",
    "mmdebstrap",
    "debian-archive-keyring",
    "e2fsprogs",
    "xz-utils",
    "cpio",
];
/// Debian packages the release jobs need.
pub const RELEASE_PACKAGES: [&str; 2] = ["zstd", "bmap-tools"];

/// What a runner must be to run a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86_64.
    X86_64,
    /// aarch64 (NixOS systems of arm64 machines build natively).
    Aarch64,
}

/// A directory a kind of job keeps between pipelines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    /// Its name (the key's prefix).
    pub name: &'static str,
    /// The directories, relative to the checkout.
    pub paths: Vec<&'static str>,
    /// Files whose contents make the key (GitHub's `hashFiles`); n3x checks what it
    /// restores itself, so a stale cache only costs a rebuild.
    pub key_files: Vec<&'static str>,
}

/// The kinds of jobs, for [`caches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Builds n3x or runs the checks.
    Cargo,
    /// Builds images with a backend.
    Images(Backend),
    /// Runs VM tests.
    VmTests,
}

/// The caches of a kind of job.
pub fn caches(kind: JobKind) -> Vec<Cache> {
    match kind {
        JobKind::Cargo => vec![Cache {
            name: "cargo",
            paths: vec![".cargo-home/registry", "target"],
            key_files: vec!["Cargo.lock"],
        }],
        JobKind::VmTests => vec![Cache {
            name: "quick-images",
            paths: vec![".n3x-state/cache/quick"],
            key_files: vec!["profiles/**", "Cargo.lock"],
        }],
        // The place for ISAR's DL_DIR and SSTATE_DIR, once they live under a cache directory
        // of their own (issue 18, point 4): one entry, keyed by the kas files.
        JobKind::Images(_) => Vec::new(),
    }
}

/// One image build job: variants of one machine that share most of their build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageJob {
    /// The job's name, `<backend>-<machine>[-<role>]`.
    pub name: String,
    /// The backend.
    pub backend: Backend,
    /// The machine.
    pub machine: String,
    /// The runner it needs.
    pub arch: Arch,
    /// The variant IDs, in matrix order.
    pub variants: Vec<String>,
    /// One command line per variant (run one after another on the same runner).
    pub commands: Vec<Vec<String>>,
}

/// One engine-specific way of running the ISAR backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsarRunner {
    /// `kas-container` on a runner with docker (GitHub's hosted runners).
    KasContainer,
    /// `kas` itself inside kas's ISAR image (GitLab: the job's image is kas's container).
    NativeInKasImage,
}

/// The image the checks and the n3x binary build in: Debian with [`RUST`], as `.ci/run` runs.
pub fn rust_image() -> String {
    format!("rust:{RUST}-bookworm")
}

/// The command that builds one variant with ISAR. Issue 14's download mirror flag and any
/// later ISAR setting go here, once, for both engines.
pub fn isar_build(machine: &str, id: &str, runner: IsarRunner) -> Vec<String> {
    let mut args = vec![
        "build",
        "--backend",
        "isar",
        "--machine",
        machine,
        "--variant",
        id,
    ];
    if runner == IsarRunner::NativeInKasImage {
        args.push("--native-kas");
    }
    n3x(&args)
}

/// The command that builds one variant's NixOS system.
pub fn nixos_build(machine: &str, id: &str) -> Vec<String> {
    n3x(&[
        "build",
        "--backend",
        "nixos",
        "--machine",
        machine,
        "--variant",
        id,
    ])
}

/// `./n3x ARGS… --batch`: the downloaded binary, headless.
pub fn n3x(args: &[&str]) -> Vec<String> {
    std::iter::once("./n3x")
        .chain(args.iter().copied())
        .chain(["--batch"])
        .map(String::from)
        .collect()
}

/// A command line as a shell line (quoted where needed).
pub fn shell(argv: &[String]) -> String {
    build_plan::shell_words(argv)
}

fn arch_of(p: &Profiles, machine: &str) -> Arch {
    match p.machines.get(machine).map(|m| m.arch.as_str()) {
        Some("aarch64") => Arch::Aarch64,
        _ => Arch::X86_64,
    }
}

/// The image jobs of `backend` for `variants`: ISAR variants of one machine and role build on
/// one runner one after another (they differ only in their node and feature layers, so the
/// later ones reuse the first one's sstate); NixOS variants of one machine share one runner
/// (and its Nix store). Variants the backend cannot build are left out.
pub fn image_jobs(
    p: &Profiles,
    variants: &[&Variant],
    backend: Backend,
    runner: IsarRunner,
) -> Vec<ImageJob> {
    let mut jobs: Vec<ImageJob> = Vec::new();
    for v in variants {
        let (name, command) = match backend {
            Backend::Isar => (
                format!("isar-{}-{}", v.machine, v.role),
                isar_build(&v.machine, &v.id, runner),
            ),
            Backend::Nixos if build_plan::nixos_attr(v).is_some() => (
                format!("nixos-{}", v.machine),
                nixos_build(&v.machine, &v.id),
            ),
            Backend::Nixos | Backend::Quick => continue,
        };
        match jobs.iter_mut().find(|j| j.name == name) {
            Some(job) => {
                job.variants.push(v.id.clone());
                job.commands.push(command);
            }
            None => jobs.push(ImageJob {
                name,
                backend,
                machine: v.machine.clone(),
                // ISAR cross-builds other architectures; Nix builds natively.
                arch: match backend {
                    Backend::Nixos => arch_of(p, &v.machine),
                    _ => Arch::X86_64,
                },
                variants: vec![v.id.clone()],
                commands: vec![command],
            }),
        }
    }
    jobs
}

/// The whole pipeline for one CI engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// Every image job of the CI workflow (ISAR, then NixOS).
    pub images: Vec<ImageJob>,
    /// How many runners the VM tests are spread over.
    pub shards: usize,
    /// The release's ISAR jobs: the release variants only.
    pub release_images: Vec<ImageJob>,
    /// Per release job, the `n3x release` command of each of its variants.
    pub release_commands: Vec<Vec<Vec<String>>>,
    /// Per release job, the same commands with `--dry-run`, run before the builds.
    pub release_checks: Vec<Vec<Vec<String>>>,
    /// The release version (`version:` in profiles/matrix.yaml) and its tag.
    pub version: String,
    /// Every release asset, `n3x list --json`'s `release_assets`, plus SHA256SUMS.
    pub assets: Vec<String>,
}

/// The VM test shards: as many runners as shorten the run, at most [`MAX_VM_SHARDS`]. Past
/// the count where the longest unit (a test with the tests that reuse its cluster) fills a
/// shard by itself, more runners only cost their setup.
pub fn vm_shards(p: &Profiles) -> usize {
    let tests = run_order(catalog::catalog(p));
    let units = shard::units(&tests, &shard::timed(&tests, |_| None));
    let floor = shard::plan(&units, units.len().max(1)).wall();
    (1..=MAX_VM_SHARDS)
        .find(|&n| shard::plan(&units, n).wall() <= floor)
        .unwrap_or(MAX_VM_SHARDS)
}

/// The `n3x release` command of one variant, writing into [`DIST_DIR`]; `dry_run` only
/// checks the tag, version and assets (a release job's first step, before its builds).
pub fn release_command(v: &Variant, dry_run: bool) -> Vec<String> {
    let mut args = vec![
        "release",
        "--machine",
        &v.machine,
        "--variant",
        &v.id,
        "--out",
        DIST_DIR,
    ];
    if dry_run {
        args.push("--dry-run");
    }
    n3x(&args)
}

/// A release job's `n3x release` lines: dry runs before its builds, the real ones after.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseLines<'a> {
    /// `--dry-run` of each variant: the tag and the assets, checked first.
    pub checks: &'a [Vec<String>],
    /// Each variant's release into [`DIST_DIR`].
    pub commands: &'a [Vec<String>],
}

impl Pipeline {
    /// The release lines of release job `i` (of [`Pipeline::release_images`]).
    pub fn release_lines(&self, i: usize) -> ReleaseLines<'_> {
        ReleaseLines {
            checks: &self.release_checks[i],
            commands: &self.release_commands[i],
        }
    }
}

/// The pipeline of the profiles, with ISAR run by `runner`.
pub fn pipeline(p: &Profiles, runner: IsarRunner) -> Pipeline {
    let all = matrix::variants(p);
    let every: Vec<&Variant> = all.iter().collect();
    let released: Vec<&Variant> = all.iter().filter(|v| v.release).collect();
    let mut images = image_jobs(p, &every, Backend::Isar, runner);
    images.extend(image_jobs(p, &every, Backend::Nixos, runner));
    let release_images = image_jobs(p, &released, Backend::Isar, runner);
    let commands = |dry_run: bool| -> Vec<Vec<Vec<String>>> {
        release_images
            .iter()
            .map(|job| {
                job.variants
                    .iter()
                    .filter_map(|id| {
                        released
                            .iter()
                            .find(|v| &v.id == id && v.machine == job.machine)
                            .map(|v| release_command(v, dry_run))
                    })
                    .collect()
            })
            .collect()
    };
    let (release_commands, release_checks) = (commands(false), commands(true));
    let mut assets: Vec<String> = released
        .iter()
        .flat_map(|v| matrix::release_assets(p, v))
        .collect();
    assets.push(crate::release::SUMS_FILE.into());
    Pipeline {
        images,
        shards: vm_shards(p),
        release_images,
        release_commands,
        release_checks,
        version: p.matrix.version.clone(),
        assets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::shipped;

    #[test]
    fn every_variant_builds_in_exactly_one_job_per_backend_grouped_by_machine_and_role() {
        let p = shipped();
        let pl = pipeline(&p, IsarRunner::KasContainer);
        let isar: Vec<&ImageJob> = pl
            .images
            .iter()
            .filter(|j| j.backend == Backend::Isar)
            .collect();
        let mut keys: Vec<String> = isar
            .iter()
            .flat_map(|j| j.variants.iter().map(|v| format!("{v}@{}", j.machine)))
            .collect();
        keys.sort();
        let mut want: Vec<String> = matrix::variants(&p).iter().map(Variant::key).collect();
        want.sort();
        assert_eq!(keys, want);
        let server = isar
            .iter()
            .find(|j| j.name == "isar-qemuamd64-server")
            .unwrap();
        assert_eq!(server.variants.len(), 8);
        assert_eq!(
            shell(&server.commands[0]),
            "./n3x build --backend isar --machine qemuamd64 --variant server-simple-server-1 --batch"
        );
        let base = isar
            .iter()
            .find(|j| j.name == "isar-qemuamd64-base")
            .unwrap();
        assert_eq!(base.variants, ["base", "base-swupdate"]);
        // NixOS: one job per machine, without the variant that has no NixOS system.
        let nixos: Vec<&ImageJob> = pl
            .images
            .iter()
            .filter(|j| j.backend == Backend::Nixos)
            .collect();
        assert_eq!(nixos.len(), p.machines.len());
        assert_eq!(nixos.iter().map(|j| j.variants.len()).sum::<usize>(), 15);
        assert!(
            nixos
                .iter()
                .all(|j| !j.variants.contains(&"base-swupdate".into()))
        );
        let arm = nixos.iter().find(|j| j.machine == "qemuarm64").unwrap();
        assert_eq!(arm.arch, Arch::Aarch64);
        assert!(isar.iter().all(|j| j.arch == Arch::X86_64));
    }

    #[test]
    fn the_release_builds_and_publishes_the_release_variants_only() {
        let p = shipped();
        let pl = pipeline(&p, IsarRunner::NativeInKasImage);
        let released: Vec<String> = pl
            .release_images
            .iter()
            .flat_map(|j| j.variants.iter().map(|v| format!("{v}@{}", j.machine)))
            .collect();
        assert_eq!(
            released,
            [
                "base@qemuamd64",
                "base-swupdate@qemuamd64",
                "base@qemuarm64",
                "base@jetson-orin-nano",
                "agent@amd-v3c18i"
            ]
        );
        assert!(pl.release_images[0].commands[0].contains(&"--native-kas".to_string()));
        assert_eq!(
            shell(&pl.release_commands[0][1]),
            "./n3x release --machine qemuamd64 --variant base-swupdate --out dist --batch"
        );
        assert_eq!(
            shell(&pl.release_checks[0][0]),
            "./n3x release --machine qemuamd64 --variant base --out dist --dry-run --batch"
        );
        // The original's 9 assets and the checksums.
        assert_eq!(pl.assets.len(), 10);
        assert!(
            pl.assets
                .contains(&"n3x-base-qemuamd64-0.0.2.wic.zst".to_string())
        );
        assert_eq!(pl.version, "0.0.2");
    }

    #[test]
    fn the_vm_tests_spread_over_the_runners_that_shorten_the_run() {
        let p = shipped();
        let n = vm_shards(&p);
        assert!((2..=MAX_VM_SHARDS).contains(&n), "{n}");
    }
}
