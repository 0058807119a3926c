//! n3x: a terminal workbench for K3s edge clusters.
//!
//! The core is pure: [`profile`] loads and validates the YAML profiles, [`matrix`] expands the
//! build matrix, and [`render`] turns both into every file the Debian (kas/ISAR) backend, the
//! NixOS backend and the VM tests need. Same profiles, same bytes.
//!
//! Around the core, [`tui`] is the full-screen workbench and [`event`] the typed events it
//! consumes and the build engine publishes; [`build`] runs builds, [`config`] finds the user's
//! settings and [`cli`] ties the commands together. `cluster` (Linux only) talks to the QEMU
//! nodes of a test cluster: their control channels and QMP. Every external program runs under the
//! supervisor in `supervise` (Linux only): its own PTY and process group, a complete log, and
//! death with the workbench. `readiness` follows each node to k3s `Ready`, and `scenario` (both
//! Linux only) runs the test catalog over whole clusters.


pub mod build;
pub mod cli;
#[cfg(target_os = "linux")]
pub mod cluster;
pub mod config;
pub mod matrix;
pub mod profile;
#[cfg(target_os = "linux")]
pub mod readiness;
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
