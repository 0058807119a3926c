//! Real programs in real pseudo-terminals: the supervisor, the control channel against real
//! shells, the k3s stand-in, the workbench on ratatui's test backend and in a PTY.

mod control;
mod pty_e2e;
mod standin;
mod supervise;
mod tui;
