//! Builds: the progress parsers for BitBake and Nix output ([`progress`]).

pub mod progress;
