//! `n3x release`: the release assets of the built release variants (`release: true` in
//! profiles/matrix.yaml), named as `n3x list --json`'s `release_assets` says: the ISAR image
//! compressed to `.wic.zst` (zstd), its block map `.wic.bmap` (`bmaptool create`, Debian's
//! bmap-tools), other assets (a rootfs tarball) copied; then `SHA256SUMS` over every release
//! asset in the output directory.
//!
//! The version is `version:` in profiles/matrix.yaml, the one place it is written: the asset
//! names carry it, and a `--tag` (the CI's tag, `N3X_RELEASE_TAG`) must be `v<version>`.
//! Every asset is written beside its target and renamed into place, so an interrupted
//! release leaves whole files only. zstd and bmaptool run under the supervisor, logged.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::build::plan::Backend;
use crate::matrix::{self, Variant};
use crate::profile::Profiles;
use crate::supervise::{Spec, Supervisor};

/// The checksums file beside the assets (`sha256sum -c SHA256SUMS` checks them).
pub const SUMS_FILE: &str = "SHA256SUMS";

/// zstd's level for images: most of the gain of the high levels at a fraction of their time.
const ZSTD_LEVEL: &str = "-12";

/// Arguments of `n3x release`.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// Only release variants of this machine.
    #[arg(long, value_name = "M")]
    pub machine: Option<String>,
    /// Only release variants with this ID (combine with --machine).
    #[arg(long, value_name = "ID")]
    pub variant: Option<String>,
    /// Where the assets and SHA256SUMS go.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub out: PathBuf,
    /// The state directory whose ISAR artifacts are released (default: $N3X_STATE_DIR,
    /// $XDG_STATE_HOME/n3x or ~/.local/state/n3x).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// The tag being released; it must be v<version> of profiles/matrix.yaml.
    #[arg(long, env = "N3X_RELEASE_TAG", value_name = "TAG")]
    pub tag: Option<String>,
    /// Make nothing: check that every asset of the selected variants is in --out and write
    /// SHA256SUMS over them (the last step of a release whose assets were made on several
    /// runners).
    #[arg(long)]
    pub checksums: bool,
    /// Check the version, the tag and the selection, print each asset and what it is made
    /// from, and make nothing (a release job's first step, before its builds).
    #[arg(long, conflicts_with = "checksums")]
    pub dry_run: bool,
}

/// Why a release could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The filters match no release variant.
    #[error(
        "no release variant matches{filters}\n  the release variants: {all}\n  fix: pick one of them, or set `release: true` on the variant in profiles/matrix.yaml"
    )]
    NoVariant {
        /// The filters given, as the message shows them.
        filters: String,
        /// The release variants there are.
        all: String,
    },
    /// The version cannot be part of a file name.
    #[error(
        "profiles/matrix.yaml: version `{0}` cannot be part of a file name\n  fix: use letters, digits and . + ~ - only, e.g. version: 0.0.2"
    )]
    BadVersion(String),
    /// The tag does not release the version.
    #[error(
        "the tag `{tag}` does not release version {version} (profiles/matrix.yaml: version)\n  fix: tag v{version}, or set `version:` to the tag's version and commit it"
    )]
    TagMismatch {
        /// The git tag.
        tag: String,
        /// The version in profiles/matrix.yaml.
        version: String,
    },
    /// A release asset has no build artifact to be made from.
    #[error(
        "profiles/machines.yaml: machines.{machine}.release: `{ext}` is made from no artifact of the machine ({artifacts})\n  fix: list an artifact with suffix `{wanted}` under machines.{machine}.artifacts, or release one of those"
    )]
    NoSource {
        /// The machine.
        machine: String,
        /// The asset's suffix.
        ext: String,
        /// The artifact suffix it is made from.
        wanted: String,
        /// The machine's artifacts.
        artifacts: String,
    },
    /// The image to release has not been built.
    #[error(
        "{variant}: {file} is not in {dir}: the variant has not been built with ISAR\n  fix: {command}"
    )]
    NotBuilt {
        /// The variant's key.
        variant: String,
        /// The file.
        file: String,
        /// The directory.
        dir: String,
        /// The command that builds it.
        command: String,
    },
    /// A program the release runs is missing.
    #[error("{0}")]
    Tool(String),
    /// A program failed.
    #[error("{program} failed making {asset}: {status}\n  its output is in {log}{tail}")]
    Failed {
        /// The program.
        program: String,
        /// The asset it was making.
        asset: String,
        /// How it exited.
        status: String,
        /// Where its output is.
        log: String,
        /// The last lines of its output.
        tail: String,
    },
    /// `--checksums` found assets missing.
    #[error(
        "{dir} lacks {names}\n  fix: make them first (`n3x release --machine M --variant ID --out {dir}` after the build), then run --checksums again"
    )]
    Missing {
        /// The directory.
        dir: String,
        /// The missing assets.
        names: String,
    },
    /// Reading or writing a file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ReleaseError {
    let what = what.into();
    move |source| ReleaseError::Io { what, source }
}

/// How one asset is made from a build artifact (by unique name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Make {
    /// `zstd` of the artifact.
    Compress(String),
    /// `bmaptool create` of the artifact.
    Bmap(String),
    /// The artifact as it is.
    Copy(String),
}

/// One asset of a variant: its name and how it is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// The file name (`n3x list --json`'s `release_assets`).
    pub name: String,
    /// How.
    pub make: Make,
}

/// The assets of a release variant and how each is made: `<artifact>.zst` compresses the
/// artifact with that suffix, `<artifact>.bmap` maps it, any other suffix copies the artifact
/// that has it.
pub fn assets(p: &Profiles, v: &Variant) -> Result<Vec<Asset>, ReleaseError> {
    let Some(machine) = p.machines.get(&v.machine) else {
        return Ok(Vec::new());
    };
    let artifacts = matrix::artifacts(p, v);
    let names = matrix::release_assets(p, v);
    machine
        .release
        .iter()
        .zip(names)
        .map(|(ext, name)| {
            let (wanted, make): (&str, fn(String) -> Make) =
                if let Some(base) = ext.strip_suffix(".zst") {
                    (base, Make::Compress)
                } else if let Some(base) = ext.strip_suffix(".bmap") {
                    (base, Make::Bmap)
                } else {
                    (ext.as_str(), Make::Copy)
                };
            let source = machine
                .artifacts
                .iter()
                .zip(&artifacts)
                .find(|(spec, _)| spec.suffix == wanted)
                .map(|(_, a)| a)
                .ok_or_else(|| ReleaseError::NoSource {
                    machine: v.machine.clone(),
                    ext: ext.clone(),
                    wanted: wanted.into(),
                    artifacts: artifacts
                        .iter()
                        .map(|a| a.unique_name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            Ok(Asset {
                name,
                make: make(source.unique_name.clone()),
            })
        })
        .collect()
}

/// Whether `version` can be part of a file name.
pub fn valid_version(version: &str) -> bool {
    !version.is_empty()
        && !version.starts_with(['.', '-'])
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '-'))
}

/// Whether `tag` releases `version`: `v<version>` (or the bare version).
pub fn tag_matches(tag: &str, version: &str) -> bool {
    tag.strip_prefix('v').unwrap_or(tag) == version
}

/// The release variants matching the filters.
fn selected(p: &Profiles, args: &ReleaseArgs) -> Result<Vec<Variant>, ReleaseError> {
    let all = matrix::variants(p);
    let released: Vec<&Variant> = all.iter().filter(|v| v.release).collect();
    let chosen: Vec<Variant> = released
        .iter()
        .filter(|v| args.machine.as_deref().is_none_or(|m| v.machine == m))
        .filter(|v| args.variant.as_deref().is_none_or(|i| v.id == i))
        .map(|v| (*v).clone())
        .collect();
    if chosen.is_empty() {
        let mut filters = String::new();
        for (flag, value) in [("--variant", &args.variant), ("--machine", &args.machine)] {
            if let Some(v) = value {
                filters.push_str(&format!(" {flag} {v}"));
            }
        }
        return Err(ReleaseError::NoVariant {
            filters,
            all: released
                .iter()
                .map(|v| v.key())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(chosen)
}

/// `SHA256SUMS` of `names` in `dir`, in `sha256sum`'s format, sorted by name.
pub fn checksums(dir: &Path, names: &[String]) -> Result<String, ReleaseError> {
    let mut sorted = names.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut out = String::new();
    for name in sorted {
        let file = dir.join(&name);
        let sum = crate::build::quick::sha256_file(&file)
            .map_err(io(format!("cannot read {}", file.display())))?;
        out.push_str(&format!("{sum}  {name}\n"));
    }
    Ok(out)
}

/// Runs `n3x release`.
pub fn run(p: &Profiles, args: &ReleaseArgs) -> Result<ExitCode, ReleaseError> {
    let version = &p.matrix.version;
    if !valid_version(version) {
        return Err(ReleaseError::BadVersion(version.clone()));
    }
    if let Some(tag) = &args.tag
        && !tag_matches(tag, version)
    {
        return Err(ReleaseError::TagMismatch {
            tag: tag.clone(),
            version: version.clone(),
        });
    }
    let variants = selected(p, args)?;
    let mut plans = Vec::new();
    for v in &variants {
        plans.push((v, assets(p, v)?));
    }
    if args.dry_run {
        for (v, list) in &plans {
            for a in list {
                let (how, from) = match &a.make {
                    Make::Compress(f) => ("zstd of", f),
                    Make::Bmap(f) => ("bmaptool create of", f),
                    Make::Copy(f) => ("copy of", f),
                };
                crate::outln!("{}: {} <- {how} artifacts/isar/{from}", v.key(), a.name);
            }
        }
        crate::outln!(
            "Dry run of release {version}{}: nothing was made.",
            args.tag
                .as_deref()
                .map(|t| format!(" (tag {t})"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if args.checksums {
        let missing: Vec<&str> = plans
            .iter()
            .flat_map(|(_, a)| a)
            .map(|a| a.name.as_str())
            .filter(|n| !args.out.join(n).is_file())
            .collect();
        if !missing.is_empty() {
            return Err(ReleaseError::Missing {
                dir: args.out.display().to_string(),
                names: missing.join(", "),
            });
        }
    } else {
        let state =
            crate::cli::build::state_dir(args.state_dir.as_ref()).map_err(ReleaseError::Tool)?;
        make(&state, &args.out, &plans)?;
    }
    // Every release asset of the matrix that is in the directory, whoever made it.
    let every: Vec<String> = matrix::variants(p)
        .iter()
        .flat_map(|v| matrix::release_assets(p, v))
        .filter(|n| args.out.join(n).is_file())
        .collect();
    let sums = checksums(&args.out, &every)?;
    let sums_file = args.out.join(SUMS_FILE);
    crate::render::output::write_file_atomic(&sums_file, &sums)
        .map_err(io(format!("cannot write {}", sums_file.display())))?;
    crate::out!("{sums}");
    crate::outln!(
        "n3x release {version}: {} assets of {} variant(s) and {} in {}",
        plans.iter().map(|(_, a)| a.len()).sum::<usize>(),
        plans.len(),
        SUMS_FILE,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Makes every asset of `plans` in `out` from the ISAR artifacts under `state`.
fn make(state: &Path, out: &Path, plans: &[(&Variant, Vec<Asset>)]) -> Result<(), ReleaseError> {
    let artifacts = state.join("artifacts").join(Backend::Isar.name());
    // Everything is checked before anything runs: a missing image fails at once.
    for (v, list) in plans {
        for a in list {
            let (Make::Compress(from) | Make::Bmap(from) | Make::Copy(from)) = &a.make;
            if !artifacts.join(from).is_file() {
                return Err(ReleaseError::NotBuilt {
                    variant: v.key(),
                    file: from.clone(),
                    dir: artifacts.display().to_string(),
                    command: format!(
                        "n3x build --backend isar --machine {} --variant {}",
                        v.machine, v.id
                    ),
                });
            }
        }
    }
    for program in ["zstd", "bmaptool"] {
        let needed = plans.iter().flat_map(|(_, l)| l).any(|a| {
            matches!(
                (&a.make, program),
                (Make::Compress(_), "zstd") | (Make::Bmap(_), "bmaptool")
            )
        });
        if needed && !crate::build::tools::installed(program) {
            return Err(ReleaseError::Tool(crate::build::tools::missing(program)));
        }
    }
    std::fs::create_dir_all(out).map_err(io(format!("cannot create {}", out.display())))?;
    let logs = state.join("release");
    std::fs::create_dir_all(&logs).map_err(io(format!("cannot create {}", logs.display())))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io("cannot start the runtime"))?;
    let supervisor = Supervisor::new()
        .map_err(|e| ReleaseError::Tool(format!("cannot start the supervisor: {e}")))?;
    for (_, list) in plans {
        for a in list {
            let target = out.join(&a.name);
            let tmp = out.join(format!(".{}.n3x-tmp", a.name));
            let _ = std::fs::remove_file(&tmp);
            let (program, argv): (&str, Vec<String>) = match &a.make {
                Make::Compress(from) => (
                    "zstd",
                    vec![
                        "zstd".into(),
                        "-q".into(),
                        "-T0".into(),
                        ZSTD_LEVEL.into(),
                        artifacts.join(from).display().to_string(),
                        "-o".into(),
                        tmp.display().to_string(),
                    ],
                ),
                Make::Bmap(from) => (
                    "bmaptool",
                    vec![
                        "bmaptool".into(),
                        "create".into(),
                        "-o".into(),
                        tmp.display().to_string(),
                        artifacts.join(from).display().to_string(),
                    ],
                ),
                Make::Copy(from) => {
                    std::fs::copy(artifacts.join(from), &tmp)
                        .map_err(io(format!("cannot copy {from} to {}", tmp.display())))?;
                    std::fs::rename(&tmp, &target)
                        .map_err(io(format!("cannot write {}", target.display())))?;
                    crate::outln!("n3x release: {} (copy of {from})", a.name);
                    continue;
                }
            };
            let log = logs.join(format!("{}.log", a.name));
            let status = runtime.block_on(async {
                let child = supervisor
                    .spawn(Spec::new(argv, log.clone()))
                    .map_err(|e| ReleaseError::Tool(format!("cannot start {program}: {e}")))?;
                let status = child.wait().await;
                Ok::<_, ReleaseError>((status, child.tail()))
            })?;
            let (status, tail) = status;
            if !status.success() {
                let _ = std::fs::remove_file(&tmp);
                return Err(ReleaseError::Failed {
                    program: program.into(),
                    asset: a.name.clone(),
                    status: status.to_string(),
                    log: log.display().to_string(),
                    tail: tail
                        .iter()
                        .rev()
                        .take(10)
                        .rev()
                        .map(|l| format!("\n    {l}"))
                        .collect(),
                });
            }
            std::fs::rename(&tmp, &target)
                .map_err(io(format!("cannot write {}", target.display())))?;
            crate::outln!("n3x release: {} ({program})", a.name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::testing::{shipped, variant};

    #[test]
    fn images_compress_and_map_and_a_rootfs_tarball_is_copied() {
        let p = shipped();
        assert_eq!(
            assets(&p, &variant(&p, "base@qemuamd64")).unwrap(),
            [
                Asset {
                    name: "n3x-base-qemuamd64-0.0.2.wic.zst".into(),
                    make: Make::Compress("isar-base-qemuamd64.wic".into())
                },
                Asset {
                    name: "n3x-base-qemuamd64-0.0.2.wic.bmap".into(),
                    make: Make::Bmap("isar-base-qemuamd64.wic".into())
                }
            ]
        );
        assert_eq!(
            assets(&p, &variant(&p, "base@jetson-orin-nano")).unwrap(),
            [Asset {
                name: "n3x-base-jetson-orin-nano-0.0.2.tar.gz".into(),
                make: Make::Copy("isar-base-jetson-orin-nano.tar.gz".into())
            }]
        );
        // The original's 9 assets.
        let n: usize = matrix::variants(&p)
            .iter()
            .map(|v| assets(&p, v).unwrap().len())
            .sum();
        assert_eq!(n, 9);
    }

    #[test]
    fn a_release_suffix_without_an_artifact_names_the_field_and_the_fix() {
        let mut p = shipped();
        p.machines.get_mut("qemuamd64").unwrap().release = vec![".img.zst".into()];
        let e = assets(&p, &variant(&p, "base@qemuamd64"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("profiles/machines.yaml: machines.qemuamd64.release: `.img.zst`")
                && e.contains("suffix `.img`"),
            "{e}"
        );
    }

    #[test]
    fn the_tag_must_release_the_matrix_version() {
        assert!(tag_matches("v0.0.2", "0.0.2"));
        assert!(tag_matches("0.0.2", "0.0.2"));
        assert!(!tag_matches("v0.0.3", "0.0.2"));
        assert!(!tag_matches("vv0.0.2", "0.0.2"));
        assert!(valid_version("0.0.2") && valid_version("1.0+rc1~x"));
        for bad in ["", "../x", "1 2", "-1", "a/b"] {
            assert!(!valid_version(bad), "{bad}");
        }
    }
}
