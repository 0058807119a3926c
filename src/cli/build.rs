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
use crate::build::plan::{Backend, KasRunner};
use crate::build::state;
use crate::build::tools;
use crate::matrix::{self, Variant};
use crate::profile::Profiles;
use crate::supervise::Supervisor;

/// Arguments of `n3x build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Only variants with this ID (IDs repeat across machines; combine with --machine).
    #[arg(long, value_name = "ID")]
    pub variant: Option<String>,
    /// Only variants of this machine.
    #[arg(long, value_name = "M")]
    pub machine: Option<String>,
    /// The build system: isar (kas-container), nixos (nix build) or quick (a Debian test
    /// image from Debian's packages; qemuamd64 only, needs root).
    #[arg(long, value_enum, default_value = "isar")]
    pub backend: Backend,
    /// Print every command and copy the builds would run, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How many builds run at once (ISAR builds always run one at a time).
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Run `kas build` instead of `kas-container --isar build` (ISAR's host tools installed).
    #[arg(long)]
    pub native_kas: bool,
    /// The k3s binary to put into quick images (otherwise downloaded when online).
    #[arg(long, value_name = "PATH")]
    pub k3s_binary: Option<PathBuf>,
    /// The state directory (logs, records, artifacts, caches); default: $N3X_STATE_DIR,
    /// $XDG_STATE_HOME/n3x or ~/.local/state/n3x.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// List past builds (newest last) with their outcome and duration, and build nothing.
    #[arg(long, conflicts_with_all = ["dry_run", "variant", "machine"])]
    pub list: bool,
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
pub fn run(p: Profiles, args: &BuildArgs) -> Result<ExitCode, String> {
    let state = state_dir(args.state_dir.as_ref())?;
    if args.list {
        print!("{}", history_table(&state));
        return Ok(ExitCode::SUCCESS);
    }
    let variants = select(&p, args)?;
    let repo = p
        .root
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let settings = Settings {
        repo,
        state,
        kas: if args.native_kas {
            KasRunner::Native
        } else {
            KasRunner::Container
        },
        k3s_binary: args.k3s_binary.clone(),
        jobs: usize::from(args.jobs),
        size: (40, 160),
    };
    if let Some(k3s) = &args.k3s_binary
        && !k3s.is_file()
    {
        return Err(format!(
            "--k3s-binary {}: no such file\n  fix: give the path of a k3s executable",
            k3s.display()
        ));
    }
    if args.dry_run {
        return dry_run(&p, &settings, &variants, args.backend);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(build(Arc::new(p), settings, variants, args.backend))
}

fn select(p: &Profiles, args: &BuildArgs) -> Result<Vec<Variant>, String> {
    let all = matrix::variants(p);
    let mut chosen: Vec<Variant> =
        matrix::select(&all, args.machine.as_deref(), args.variant.as_deref())
            .into_iter()
            .cloned()
            .collect();
    // The quick backend makes qemuamd64 images: a whole-matrix quick build means those.
    if args.backend == Backend::Quick && args.machine.is_none() && args.variant.is_none() {
        chosen.retain(|v| crate::build::quick::MACHINES.contains(&v.machine.as_str()));
    }
    if chosen.is_empty() {
        return Err(format!(
            "no variant matches{}{}\n  fix: `n3x list` shows the variants and machines",
            args.variant
                .as_deref()
                .map(|v| format!(" --variant {v}"))
                .unwrap_or_default(),
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
    print!("{out}");
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
    print!("\n{}", batch.summary());
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
        "{:<20}  {:<width$}  {:<7}  {:<9}  {:>8}  {:>9}\n",
        "STARTED", "VARIANT", "BACKEND", "OUTCOME", "DURATION", "ARTIFACTS"
    );
    for r in &records {
        out.push_str(&format!(
            "{:<20}  {:<width$}  {:<7}  {:<9}  {:>8}  {:>9}\n",
            r.started,
            r.variant,
            r.backend.name(),
            r.outcome.word(),
            r.duration_ms
                .map(|ms| state::human(std::time::Duration::from_millis(ms)))
                .unwrap_or_else(|| "-".into()),
            r.artifacts.len()
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
