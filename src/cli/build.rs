//! `n3x build`: build variants headlessly, print what would run (`--dry-run`), or list past
//! builds (`--list`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use tokio::signal::unix::{SignalKind, signal};

use crate::build::batch::Batch;
use crate::build::engine::{Command, Engine, Settings, plan_steps};
use crate::build::isar::{IsarOptions, KasChoice};
use crate::build::plan::Backend;
use crate::build::state;
use crate::build::tools;
use crate::cli::Failure;
use crate::matrix::{self, Variant};
use crate::profile::Profiles;
use crate::supervise::Supervisor;

/// Arguments of `n3x build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Only variants with this ID (IDs repeat across machines; combine with --machine).
    /// Repeat it to build several.
    #[arg(long, value_name = "ID", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::variant_ids))]
    pub variant: Vec<String>,
    /// Only variants of this machine.
    #[arg(long, value_name = "M", add = clap_complete::engine::ArgValueCandidates::new(crate::cli::complete::machine_names))]
    pub machine: Option<String>,
    /// The build system: isar (Debian images with ISAR through kas), nixos (nix build) or
    /// quick (a Debian test image from Debian's packages; qemuamd64 only, needs root).
    #[arg(long, value_enum, default_value = "isar")]
    pub backend: Backend,
    /// Print every command and copy the builds would run, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How many builds run at once (ISAR builds always run one at a time).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// ISAR: how kas runs. auto: kas-container where docker or podman works, else native
    /// `kas build` (as the build user when n3x runs as root: BitBake refuses root).
    #[arg(long, value_enum, default_value = "auto", value_name = "HOW")]
    pub kas: KasChoice,
    /// ISAR: the same as --kas native.
    #[arg(long, conflicts_with = "kas")]
    pub native_kas: bool,
    /// ISAR: a source mirror for builds without internet access: a directory with a copy of
    /// ISAR (isar.git/ or isar*.bundle, handed to kas) and source files by their download
    /// name (e.g. k3s-1.35.0+k3s1-amd64, handed to BitBake). Adds kas/opt/offline.yml.
    #[arg(long, value_name = "DIR", env = "N3X_SOURCE_MIRROR")]
    pub source_mirror: Option<PathBuf>,
    /// ISAR: where downloads (DL_DIR), shared state (SSTATE_DIR) and the build tree go;
    /// default: $XDG_CACHE_HOME/n3x/isar (the build user's ~/.cache/n3x/isar when n3x is root).
    #[arg(long, value_name = "DIR", env = "N3X_ISAR_CACHE")]
    pub isar_cache: Option<PathBuf>,
    /// ISAR: the unprivileged user kas runs as when n3x runs as root (scripts/isar-host.sh
    /// creates it).
    #[arg(
        long,
        value_name = "USER",
        env = "N3X_BUILD_USER",
        default_value = "n3x-build"
    )]
    pub build_user: String,
    /// ISAR: also write the compressed release image (.wic.zst, zstd -19; slow). Without it
    /// the build skips it (kas/opt/uncompressed.yml): the .wic is what tests and boots use.
    #[arg(long)]
    pub compress: bool,
    /// The k3s binary to put into images instead of the pinned release: quick images install
    /// it (otherwise it is downloaded when online); ISAR images get it through
    /// kas/opt/k3s-binary.yml. The tests give the k3s stand-in this way.
    #[arg(long, value_name = "PATH")]
    pub k3s_binary: Option<PathBuf>,
    /// The state directory (logs, records, artifacts, caches); default: $N3X_STATE_DIR,
    /// $XDG_STATE_HOME/n3x or ~/.local/state/n3x.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// List past builds (newest last) with their outcome and duration, and build nothing.
    #[arg(long, conflicts_with_all = ["dry_run", "variant", "machine"])]
    pub list: bool,
    /// With --list: JSON (id, variant, backend, started, duration_ms, outcome, error,
    /// artifacts, sstate_hit_ratio) instead of the table.
    #[arg(long, requires = "list")]
    pub json: bool,
}

/// Where builds keep their state, from the flag or the environment.
pub fn state_dir(flag: Option<&PathBuf>) -> Result<PathBuf, String> {
    let dir = flag
        .cloned()
        .or_else(state::state_dir_from_env)
        .ok_or_else(|| {
            "no state directory: HOME is not set\n  fix: pass --state-dir DIR or set N3X_STATE_DIR"
                .to_string()
        })?;
    // Programs run in other directories (mmdebstrap needs an absolute target).
    if dir.is_absolute() {
        Ok(dir)
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(dir))
            .map_err(|e| format!("no current directory: {e}"))
    }
}

/// Runs `n3x build`. `Err` is a usage or setup error (exit code 2).
pub fn run(p: Profiles, args: &BuildArgs) -> Result<ExitCode, Failure> {
    let state = state_dir(args.state_dir.as_ref())?;
    if args.list && args.json {
        let (records, _) = crate::build::state::history(&state);
        let doc = crate::cli::json::build_history(&records);
        crate::out!("{}", crate::cli::json::text(&doc));
        return Ok(ExitCode::SUCCESS);
    }
    if args.list {
        crate::out!("{}", history_table(&state));
        return Ok(ExitCode::SUCCESS);
    }
    let variants = select(&p, args).map_err(Failure::usage)?;
    let repo = p
        .root
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let settings = Settings {
        repo,
        state,
        isar: IsarOptions {
            kas: if args.native_kas {
                KasChoice::Native
            } else {
                args.kas
            },
            source_mirror: crate::config::source_mirror(
                args.source_mirror.as_deref(),
                &crate::config::Env::from_process(),
            )
            .map_err(|e| Failure::usage(e.to_string()))?,
            cache: args.isar_cache.clone(),
            build_user: Some(args.build_user.clone()),
            compress: args.compress,
        },
        k3s_binary: crate::config::k3s_binary(
            args.k3s_binary.as_deref(),
            &crate::config::Env::from_process(),
        )
        .map_err(|e| Failure::usage(e.to_string()))?,
        jobs: usize::from(args.jobs),
        size: (40, 160),
    };
    if let Some(k3s) = &settings.k3s_binary
        && !k3s.is_file()
    {
        return Err(Failure::usage(format!(
            "--k3s-binary {}: no such file\n  fix: give the path of a k3s executable",
            k3s.display()
        )));
    }
    if args.dry_run {
        return Ok(dry_run(&p, &settings, &variants, args.backend)?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    Ok(runtime.block_on(build(Arc::new(p), settings, variants, args.backend))?)
}

fn select(p: &Profiles, args: &BuildArgs) -> Result<Vec<Variant>, String> {
    let all = matrix::variants(p);
    let mut chosen: Vec<Variant> = matrix::select(&all, args.machine.as_deref(), None)
        .into_iter()
        .filter(|v| args.variant.is_empty() || args.variant.contains(&v.id))
        .cloned()
        .collect();
    // The quick backend makes qemuamd64 images: a whole-matrix quick build means those.
    if args.backend == Backend::Quick && args.machine.is_none() && args.variant.is_empty() {
        chosen.retain(|v| crate::build::quick::MACHINES.contains(&v.machine.as_str()));
    }
    if chosen.is_empty() {
        return Err(format!(
            "no variant matches{}{}\n  fix: `n3x list` shows the variants and machines",
            args.variant
                .iter()
                .map(|v| format!(" --variant {v}"))
                .collect::<String>(),
            args.machine
                .as_deref()
                .map(|m| format!(" --machine {m}"))
                .unwrap_or_default()
        ));
    }
    Ok(chosen)
}

fn dry_run(
    p: &Profiles,
    settings: &Settings,
    variants: &[Variant],
    backend: Backend,
) -> Result<ExitCode, String> {
    let mut out = String::new();
    let mut unbuildable = 0;
    for v in variants {
        out.push_str(&format!("{} ({backend}):\n", v.key()));
        match plan_steps(p, settings, v, backend, tools::installed) {
            Ok(steps) => {
                for (i, step) in steps.iter().enumerate() {
                    out.push_str(&format!("  {:>2}. {step}\n", i + 1));
                }
            }
            Err(why) => {
                unbuildable += 1;
                out.push_str(&format!("  cannot be built here: {why}\n"));
            }
        }
    }
    out.push_str(&format!(
        "Dry run: {} builds planned, nothing was run.\n",
        variants.len() - unbuildable
    ));
    crate::out!("{out}");
    Ok(if unbuildable == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn build(
    p: Arc<Profiles>,
    settings: Settings,
    variants: Vec<Variant>,
    backend: Backend,
) -> Result<ExitCode, String> {
    let supervisor = Supervisor::new().map_err(|e| format!("cannot start the supervisor: {e}"))?;
    let (publisher, mut bus) = crate::build::engine::updates();
    let engine = Engine::start(p, settings, supervisor, publisher);
    let mut numbers = Vec::new();
    for v in variants {
        if let Some(no) = engine.send(Command::Start(v, backend)).await {
            numbers.push(no);
        }
    }
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut batch = Batch::default();
    let mut stdout = std::io::stdout();
    let mut interrupted: Option<u8> = None;
    loop {
        tokio::select! {
            event = bus.recv() => match event {
                Some((no, update)) => {
                    batch.update(no, update, &mut stdout);
                    let _ = stdout.flush();
                    if batch.rows.len() == numbers.len() && batch.all_finished() {
                        break;
                    }
                }
                None => break,
            },
            _ = sigint.recv(), if interrupted.is_none() => {
                interrupted = Some(130);
                cancel_all(&engine, &numbers, &mut stdout).await;
            }
            _ = sigterm.recv(), if interrupted.is_none() => {
                interrupted = Some(143);
                cancel_all(&engine, &numbers, &mut stdout).await;
            }
        }
    }
    crate::out!("\n{}", batch.summary());
    Ok(match interrupted {
        Some(code) => ExitCode::from(code),
        None if batch.all_succeeded() => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    })
}

async fn cancel_all(engine: &Engine, numbers: &[u64], out: &mut impl Write) {
    let _ = writeln!(out, "n3x: interrupted; cancelling every build");
    for no in numbers {
        engine.send(Command::Cancel(*no)).await;
    }
}

/// Past builds as a table, oldest first.
pub fn history_table(state: &std::path::Path) -> String {
    let (records, unreadable) = state::history(state);
    if records.is_empty() && unreadable.is_empty() {
        return format!(
            "no builds yet in {}\n  start one: n3x build --variant ID --backend quick\n",
            state.display()
        );
    }
    let width = records
        .iter()
        .map(|r| r.variant.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "{:<20}  {:<width$}  {:<7}  {:<9}  {:>8}  {:>9}  {:>6}\n",
        "STARTED", "VARIANT", "BACKEND", "OUTCOME", "DURATION", "ARTIFACTS", "SSTATE"
    );
    for r in &records {
        out.push_str(&format!(
            "{:<20}  {:<width$}  {:<7}  {:<9}  {:>8}  {:>9}  {:>6}\n",
            r.started,
            r.variant,
            r.backend.name(),
            r.outcome.word(),
            r.duration_ms
                .map(|ms| state::human(std::time::Duration::from_millis(ms)))
                .unwrap_or_else(|| "-".into()),
            r.artifacts.len(),
            r.sstate
                .and_then(|s| s.hit_ratio())
                .map(|h| format!("{:.0}%", h * 100.0))
                .unwrap_or_else(|| "-".into())
        ));
    }
    for dir in unreadable {
        out.push_str(&format!(
            "(unreadable record: {})\n",
            dir.join("record.json").display()
        ));
    }
    out.push_str(&format!(
        "{} builds; records and logs in {}\n",
        records.len(),
        state.join("builds").display()
    ));
    out
}
