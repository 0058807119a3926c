//! QEMU test clusters: switches, nodes and their consoles from the renderer's plan
//! ([`engine`], publishing [`engine::ClusterUpdate`]s), the host side of each node's control
//! channel ([`control`]) and QEMU's machine protocol ([`qmp`]), a cluster another process owns
//! seen from here ([`remote`]), its description in the runtime directory ([`info`],
//! [`paths`]). A running cluster's lifecycle is `crate::session`'s.

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
