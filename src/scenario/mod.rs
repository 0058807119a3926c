//! Tests of whole clusters: the catalog ([`catalog`]), the runner that boots a test's
//! cluster, follows every node to k3s `Ready` ([`crate::readiness`]) and makes the test's
//! checks ([`runner`], [`checks`]), and the reports: line output and GitHub annotations
//! ([`batch`]), JUnit ([`junit`]), the timeline compared with the last run ([`history`]);
//! for CI runner fleets the split into shards ([`shard`]) and their merged JUnit ([`merge`]).
//! The runner publishes [`TestUpdate`]s on the bounded stream it is given and never draws.

pub mod batch;
pub mod catalog;
pub mod checks;
mod error;
pub mod history;
pub mod junit;
pub mod merge;
pub mod reach;
pub mod result;
pub mod runner;
pub mod shard;

use crate::session::SessionUpdate;

pub use error::ScenarioError;

/// What happened in a test run.
#[derive(Debug, Clone)]
pub enum TestUpdate {
    /// A test starts: its cluster is being booted.
    Started {
        /// The test.
        test: String,
        /// The backend.
        backend: String,
        /// Its network profile.
        profile: String,
        /// The nodes it boots.
        nodes: Vec<String>,
    },
    /// Something happened to the test's cluster (stages, console lines, notes).
    Session {
        /// The test.
        test: String,
        /// What.
        update: SessionUpdate,
    },
    /// A test-specific check ended.
    Check {
        /// The test.
        test: String,
        /// The check.
        check: result::Check,
    },
    /// A test ended.
    Finished(Box<result::TestResult>),
    /// A failed test's VMs keep running for inspection.
    Kept {
        /// The test.
        test: String,
        /// The cluster's profile (`n3x console --profile P NODE`).
        profile: String,
        /// Its nodes.
        nodes: Vec<String>,
    },
}
