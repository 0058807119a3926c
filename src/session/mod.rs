//! One running cluster and its lifecycle.

pub mod owner;
