//! Why a build cannot be planned, each with what would fix it.

use super::quick::Unsupported;

/// Why a variant cannot be built with a backend here.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The quick backend cannot build the variant on this host.
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    /// The variant has no NixOS system (a feature that exists only for the Debian images).
    #[error(
        "{variant} has no NixOS system: its feature `{feature}` exists only for the Debian images\n  fix: build it with --backend isar"
    )]
    NoNixos {
        /// The variant's key.
        variant: String,
        /// Its feature.
        feature: String,
    },
    /// The ISAR host, its build user, caches or sources are not ready; the message says
    /// what is missing and the commands that set it up.
    #[error("{0}")]
    IsarSetup(String),
    /// The build's cache or inputs could not be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
