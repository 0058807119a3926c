//! QEMU test clusters: switches, nodes and their consoles, the control channel and QMP, all
//! from the renderer's plan ([`engine`]), and the commands that drive them ([`command`]).

pub mod accel;
pub mod base;
mod base64;
pub mod command;
pub mod control;
pub mod engine;
pub mod info;
mod lines;
pub mod paths;
pub mod qemu;
pub mod qmp;
pub mod relay;
pub mod secrets;
pub mod switch;
pub mod switch_mgmt;
