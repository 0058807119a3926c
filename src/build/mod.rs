//! Builds: what each backend runs for a variant ([`plan`], [`isar`], [`quick`]), the engine that
//! runs them under the supervisor ([`engine`], publishing on its own bounded channel), how far a
//! running build is from BitBake's and Nix's output ([`progress`]), where builds keep their
//! records, logs and artifacts ([`state`]), the lines `n3x build` prints ([`batch`]), and the k3s
//! pin the backends share ([`pins`]).

pub mod batch;
pub mod engine;
mod error;
pub mod isar;
pub mod pins;
pub mod plan;
pub mod progress;
pub mod quick;
pub mod state;
pub mod tools;

pub use error::BuildError;
