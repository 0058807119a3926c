//! Builds: what each backend runs for a variant ([`plan`], [`quick`]), how far a running build
//! is from BitBake's and Nix's output ([`progress`]), and where builds keep their records, logs
//! and artifacts ([`state`]).

pub mod plan;
pub mod progress;
pub mod quick;
pub mod state;
