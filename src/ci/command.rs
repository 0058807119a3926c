//! `n3x ci generate` writes the workflow files into the repository (atomically: all or none);
//! `n3x ci --check` compares the committed ones with fresh ones and exits 1 with a diff when
//! they are stale, as `n3x render --check` does for the rendered files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::profile::{Profiles, display_path};
use crate::render::output;

/// Arguments of `n3x ci`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CiArgs {
    /// Compare the committed workflow files with fresh ones; exit 1 with a diff when stale.
    #[arg(long)]
    pub check: bool,
    /// What to do.
    #[command(subcommand)]
    pub action: Option<CiAction>,
}

/// `n3x ci` subcommands.
#[derive(Debug, Subcommand)]
pub enum CiAction {
    /// Write .github/workflows/ci.yml, .github/workflows/release.yml and .gitlab-ci.yml from
    /// the profiles (the matrix and the test catalog).
    Generate,
}

fn repo(p: &Profiles) -> PathBuf {
    p.root
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Runs `n3x ci`. `Err` is a usage or I/O error (exit code 2).
pub fn run(p: &Profiles, args: &CiArgs) -> Result<ExitCode, String> {
    let root = repo(p);
    let files = super::render(p);
    match (&args.action, args.check) {
        (Some(CiAction::Generate), _) => {
            let summary = output::write(&root, &files, &[])
                .map_err(|e| format!("{e}\n  fix: make the repository writable and run it again"))?;
            crate::outln!(
                "{} workflow files in {}: {} written, {} unchanged",
                files.len(),
                display_path(&root).display(),
                summary.written.len(),
                summary.unchanged
            );
            Ok(ExitCode::SUCCESS)
        }
        (None, true) => {
            let drift = output::compare(&root, &files, &[]).map_err(|e| e.to_string())?;
            if drift.is_empty() {
                crate::outln!("all {} workflow files are up to date", files.len());
                return Ok(ExitCode::SUCCESS);
            }
            crate::out!("{}", output::drift_report(&drift, "workflow", "n3x ci generate"));
            Ok(ExitCode::from(1))
        }
        (None, false) => Err(
            "say what to do: `n3x ci generate` writes the workflow files, `n3x ci --check` compares them"
                .into(),
        ),
    }
}
