//! The integration tests, one binary with a module per tier (one link step instead of one per
//! file): [`golden`] (the renderer's files and the backend trees against golden files, the
//! original's parity and the real tools), [`cli`] (the `n3x` command as a user runs it), [`pty`]
//! (real programs in real pseudo-terminals: the supervisor, the control channel, the workbench
//! on a test backend and in a PTY), [`vm`] (real QEMU clusters, images and builds; one at a
//! time, see [`common::vm_serial`]).
//!
//! Run one tier or one file: `cargo test --test it vm::cluster`.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod golden;
mod pty;
mod vm;
