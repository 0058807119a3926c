//! n3x: a terminal workbench for K3s edge clusters.
//!
//! The core is pure: [`profile`] loads and validates the YAML profiles, [`matrix`] expands the
//! build matrix, and [`render`] turns both into every file the Debian (kas/ISAR) backend, the
//! NixOS backend and the VM tests need. Same profiles, same bytes.
//!
//! Around the core run the engines; each owns its update type and publishes it on a bounded
//! stream it is given ([`stream`]), and none knows the UI. Every external program runs under
//! the supervisor in `supervise` (Linux only): its own PTY and process group, a complete log,
//! and death with the workbench. [`build`] runs builds; `cluster` (Linux only) boots the QEMU
//! nodes of a test cluster and talks to their control channels and QMP; `readiness` follows
//! each node to k3s `Ready`; `session` owns a running cluster's lifecycle (boot or follow,
//! commands, the owner socket, teardown), and `scenario` runs the test catalog over whole
//! clusters through it (all three Linux only).
//!
//! On top, [`tui`] is the full-screen workbench (its own union of the engines' updates), and
//! [`cli`] the commands, the only place where errors become plain text; [`config`] finds the
//! user's settings. `ci` plans the CI pipeline and writes its workflows, `release` makes the
//! release assets (both Linux only); `ota` makes and applies SWUpdate bundles for the A/B
//! images (Linux only).

#![warn(missing_docs)]

pub mod build;
#[cfg(target_os = "linux")]
pub mod ci;
pub mod cli;
#[cfg(target_os = "linux")]
pub mod cluster;
pub mod config;
pub mod logging;
pub mod matrix;
#[cfg(target_os = "linux")]
pub mod ota;
pub mod profile;
#[cfg(target_os = "linux")]
pub mod readiness;
#[cfg(target_os = "linux")]
pub mod release;
pub mod render;
#[cfg(target_os = "linux")]
pub mod scenario;
#[cfg(target_os = "linux")]
pub mod session;
pub mod stream;
pub mod suggest;
#[cfg(target_os = "linux")]
pub mod supervise;
pub mod tui;
