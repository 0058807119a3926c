//! Builds: what each backend runs for a variant ([`plan`]) and where builds keep their
//! records, logs and artifacts ([`state`]).

pub mod plan;
pub mod quick;
pub mod state;
