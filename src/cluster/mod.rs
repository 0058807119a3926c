//! QEMU test clusters: switches, nodes and their consoles from the renderer's plan
//! ([`engine`]), the host side of each node's control channel ([`control`]) and QEMU's machine
//! protocol ([`qmp`]), and the commands that drive them ([`command`]).

pub mod accel;
pub mod base;
mod base64;
pub mod capacity;
pub mod control;
pub mod engine;
mod error;
pub mod info;
pub mod isar;
mod lines;
pub mod paths;
pub mod procstat;
pub mod qemu;
pub mod qmp;
pub mod relay;
pub mod remote;
pub mod secrets;
pub mod switch;
pub mod switch_mgmt;

pub use error::ClusterError;
