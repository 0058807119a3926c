//! Clusters of QEMU nodes: the host side of each node's control channel ([`control`]) and
//! QEMU's machine protocol ([`qmp`]).

mod base64;
pub mod control;
mod lines;
pub mod qmp;
