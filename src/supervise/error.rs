//! What can go wrong when starting, feeding or resizing a supervised program.

use std::io;
use std::path::PathBuf;

/// A boxed error from a lower layer (portable-pty reports `anyhow` errors).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a program could not be started. A program that cannot be *found* is not one of these: it
/// starts as the exec wrapper, which reports the problem in the log and exits with 127.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The command line has no program in it.
    #[error("nothing to run: the command line is empty")]
    EmptyCommand,
    /// The terminal size has a zero in it.
    #[error("terminal size {rows}x{cols} is not valid: rows and columns must be at least 1")]
    Size {
        /// Rows asked for.
        rows: u16,
        /// Columns asked for.
        cols: u16,
    },
    /// The working directory is missing or not a directory.
    #[error("working directory {}: {reason}", path.display())]
    Cwd {
        /// The directory asked for.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The log file (or its directory) could not be created.
    #[error("cannot create the log file {}: {source}", path.display())]
    Log {
        /// The log file asked for.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The path of the running executable (the default exec wrapper) is unknown.
    #[error("cannot find the n3x executable to use as the exec wrapper: {0}")]
    WrapperPath(io::Error),
    /// The running executable is not n3x, so it cannot be the exec wrapper, and no other was
    /// given: using it would re-run this program in front of every program it starts.
    #[error(
        "{} is not n3x and cannot stand in front of the programs it starts (it would run itself again)\n  fix: give the supervisor the n3x executable: Supervisor::new()?.with_wrapper(PATH_TO_N3X), e.g. env!(\"CARGO_BIN_EXE_n3x\") in a test or benchmark; or call n3x::supervise::exec_wrapper::run_if_requested() first in this program's main",
        exe.display()
    )]
    NotAWrapper {
        /// The running executable.
        exe: PathBuf,
    },
    /// No pseudo-terminal could be opened or set up.
    #[error("cannot open a pseudo-terminal: {0}")]
    Pty(BoxError),
    /// The exec wrapper could not be started.
    #[error("cannot start {}: {source}", wrapper.display())]
    Spawn {
        /// The exec wrapper that was started.
        wrapper: PathBuf,
        /// The underlying error.
        source: BoxError,
    },
    /// A kernel resource for watching the program (pidfd, eventfd) was refused.
    #[error("cannot watch the started program: {0}")]
    Watch(io::Error),
    /// A thread (the spawner, or a program's monitor) could not be started.
    #[error("cannot start a supervisor thread: {0}")]
    Thread(io::Error),
    /// The spawner thread is gone (it only stops when its supervisor and children are gone).
    #[error("the supervisor's spawner thread has stopped")]
    SpawnerGone,
}

/// Why input could not be queued for a program.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// The program has finished (or closed its terminal); nobody will read the input.
    #[error("the program has finished; input is not read any more")]
    Finished,
    /// Too much input is waiting already because the program does not read it.
    #[error("the program is not reading its input ({0} bytes are waiting already)")]
    Full(usize),
}

/// Why a program's terminal could not be resized.
#[derive(Debug, thiserror::Error)]
pub enum ResizeError {
    /// The size has a zero in it.
    #[error("terminal size {rows}x{cols} is not valid: rows and columns must be at least 1")]
    Size {
        /// Rows asked for.
        rows: u16,
        /// Columns asked for.
        cols: u16,
    },
    /// The kernel refused the new size.
    #[error("cannot resize the terminal: {0}")]
    Pty(BoxError),
}
