//! The views of the workbench, a folder each: its state and what its actions do, its drawing,
//! and its keys.

pub mod builds;
pub mod cluster;
pub mod matrix;
pub mod tests;
