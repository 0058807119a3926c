//! `n3x ota`: update bundles for the A/B images ([`crate::ota`]).

use std::process::ExitCode;

use clap::Subcommand;

use crate::ota::bundle::{self, BundleArgs};
use crate::profile::Profiles;

/// The `ota` subcommands.
#[derive(Debug, Subcommand)]
pub enum OtaCommand {
    /// Make a signed SWUpdate bundle (.swu) from a built A/B image and check it with the
    /// host's `swupdate -c`.
    Bundle(BundleArgs),
}

/// Runs `n3x ota`. `Err` is a usage or setup error (exit code 2).
pub fn run(p: &Profiles, command: &OtaCommand) -> Result<ExitCode, String> {
    match command {
        OtaCommand::Bundle(args) => {
            let state = crate::cli::build::state_dir(args.state_dir.as_ref())?;
            let repo = p
                .root
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            let made = bundle::make(p, args, &state, &repo).map_err(|e| e.to_string())?;
            bundle::print(&made);
            Ok(ExitCode::SUCCESS)
        }
    }
}
