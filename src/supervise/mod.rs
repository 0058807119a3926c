//! The process supervisor: every external program the workbench runs goes through here.
//!
//! A program runs in its own pseudo-terminal (portable-pty), from an argv (never a shell
//! string), as the leader of its own session and process group. Everything it writes goes,
//! in this order, to a log file (every byte, before anything else sees it), to a vt100 screen
//! (for a pane or an attached console) and to plain-text line events (for parsers and
//! `--batch`). Cancelling sends SIGTERM to the whole group and SIGKILL after a grace period.
//!
//! ```text
//! let supervisor = Supervisor::new()?;                      // one long-lived spawner thread
//! let child = supervisor.spawn(Spec::new(["nix", "build", ".#x"], "logs/x.log"))?;
//! let mut lines = child.take_lines().unwrap();              // tokio mpsc::Receiver<Output>
//! tokio::select! { _ = cancel_requested => child.cancel(), _ = async { while let Some(l) = lines.recv().await { /* parse */ } } => {} }
//! let status = child.wait().await;                          // ExitStatus { code, signal }
//! child.with_screen(|screen| draw(screen));                 // the pane
//! child.write_input(b"root\n")?;                            // a console
//! ```
//!
//! **Threads.** The kernel delivers `PR_SET_PDEATHSIG` when the *thread* that forked the child
//! ends, not the process, so all programs are forked by one dedicated spawner thread that lives
//! as long as the [`Supervisor`] or any of its children. The death signal itself is requested
//! by the [`exec_wrapper`] inside the child, because portable-pty has no pre-exec hook. Each
//! child then has one monitor thread that reads the PTY, writes input, reaps the child through
//! a pidfd and carries out cancellation; nothing in it ever waits for a consumer.
//!
//! **Bytes as written.** The PTY is set up without `ONLCR`, so the log file holds exactly the
//! program's bytes (no `\n` → `\r\n`). The screen emulation adds the carriage return itself
//! while the program leaves its terminal in the usual cooked mode, and shows raw-mode programs
//! (output processing off) literally.
//!
//! **Memory** per child is bounded whatever the output volume: one 64 KiB read buffer, the
//! screen with its scrollback (rows × columns × 32 bytes per row kept), a line channel of
//! [`Spec::line_capacity`] entries of at most [`MAX_LINE`] bytes, the tail of
//! [`Spec::tail_lines`] lines, at most [`INPUT_LIMIT`] bytes of queued input, and a few chunks
//! for a lagging raw-byte subscriber.
//!
//! **Limits.** The death signal reaches the program itself; its own children get SIGHUP when the
//! terminal closes but survive if they ignore it or left the session (a daemon, a container run
//! by a container daemon). Cancellation reaches the whole process group but not processes that
//! made their own group. When the program exits while others in its group still hold the
//! terminal, those get the grace period and are then killed.
//! Linux only (prctl, pidfd, eventfd).

mod child;
mod error;
pub mod exec_wrapper;
mod lines;
mod monitor;
mod status;
mod sys;

use std::ffi::OsString;
use std::fmt;
use std::fs::{DirBuilder, File, OpenOptions};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, mpsc as std_mpsc};
use std::time::Duration;

use portable_pty::{CommandBuilder, PtySize, SlavePty};
use tokio::sync::{broadcast, mpsc, watch};

pub use child::{Child, INPUT_LIMIT};
pub use error::{BoxError, InputError, ResizeError, SpawnError};
pub use lines::{MAX_LINE, Output};
pub(crate) use lines::{Splitter, text_of};
pub use status::{ExitStatus, signal_name};

use child::{Input, Shared};
use lines::{Sink, Tail};
use monitor::{CHUNK, Monitor, run_guarded};

/// The `TERM` a program sees unless [`Spec::env`] sets one: what the screen emulation speaks.
pub const TERM: &str = "xterm-256color";

/// Raw-output chunks a lagging [`Child::subscribe_bytes`] receiver may fall behind by.
const RAW_CHUNKS: usize = 16;

/// What to run and how.
#[derive(Clone)]
pub struct Spec {
    /// Program and arguments; the program is looked up in `PATH` like a shell does.
    pub argv: Vec<OsString>,
    /// Working directory; the workbench's own when `None`.
    pub cwd: Option<PathBuf>,
    /// Environment variables set on top of the workbench's environment.
    pub env: Vec<(OsString, OsString)>,
    /// The log file: created (with its directories, mode 0700/0600) or truncated.
    pub log: PathBuf,
    /// Terminal size: rows, columns.
    pub size: (u16, u16),
    /// How long a cancelled program may take to stop after SIGTERM before SIGKILL.
    pub grace: Duration,
    /// Rows of scrollback the screen keeps. Each row costs columns × 32 bytes: 1000 rows of
    /// 200 columns are 6.4 MB per program (the log file has everything anyway).
    pub scrollback: usize,
    /// Line events that may wait in the channel (at least 2; one slot is kept for the
    /// [`Output::Dropped`] marker).
    pub line_capacity: usize,
    /// Lines kept for [`Child::tail`].
    pub tail_lines: usize,
}

impl Spec {
    /// A spec with the defaults: 24×80, 10 s grace, 1000 rows of scrollback, 1024 queued
    /// lines, a tail of 100 lines.
    pub fn new<I, S>(argv: I, log: impl Into<PathBuf>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            cwd: None,
            env: Vec::new(),
            log: log.into(),
            size: (24, 80),
            grace: Duration::from_secs(10),
            scrollback: 1000,
            line_capacity: 1024,
            tail_lines: 100,
        }
    }
}

/// Shows environment variable names only: values may be secrets.
impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<_> = self.env.iter().map(|(k, _)| k).collect();
        f.debug_struct("Spec")
            .field("argv", &self.argv)
            .field("cwd", &self.cwd)
            .field("env (names)", &env)
            .field("log", &self.log)
            .field("size", &self.size)
            .field("grace", &self.grace)
            .field("scrollback", &self.scrollback)
            .field("line_capacity", &self.line_capacity)
            .field("tail_lines", &self.tail_lines)
            .finish()
    }
}

/// A request to the spawner thread.
pub(crate) struct Request {
    slave: Box<dyn SlavePty + Send>,
    command: CommandBuilder,
    reply: std_mpsc::SyncSender<Result<u32, BoxError>>,
}

/// A handle on the spawner thread; the thread ends when the last one is dropped.
pub(crate) type SpawnerLink = std_mpsc::Sender<Request>;

/// Starts programs under supervision. Clones share one spawner thread.
#[derive(Clone)]
pub struct Supervisor {
    link: SpawnerLink,
    /// The exec wrapper; `None` when the running executable cannot be it and none was given.
    wrapper: Option<PathBuf>,
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("wrapper", &self.wrapper)
            .finish()
    }
}

impl Supervisor {
    /// Starts the spawner thread. The exec wrapper is the running executable when it is `n3x`
    /// (its `main` called [`exec_wrapper::run_if_requested`]); any other program must name
    /// n3x with [`Supervisor::with_wrapper`], or [`Supervisor::spawn`] refuses.
    pub fn new() -> Result<Self, SpawnError> {
        let wrapper = if exec_wrapper::this_executable_is_a_wrapper() {
            Some(std::env::current_exe().map_err(SpawnError::WrapperPath)?)
        } else {
            None
        };
        let (link, requests) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("n3x-spawner".into())
            .spawn(move || spawner(requests))
            .map_err(SpawnError::Thread)?;
        Ok(Self { link, wrapper })
    }

    /// Uses another `n3x` executable as the exec wrapper (tests and benchmarks, whose own
    /// executable is not `n3x`).
    pub fn with_wrapper(mut self, exe: impl Into<PathBuf>) -> Self {
        self.wrapper = Some(exe.into());
        self
    }

    /// The executable that runs as `n3x __n3x-exec …` in front of every program, if known.
    pub fn wrapper(&self) -> Option<&Path> {
        self.wrapper.as_deref()
    }

    /// Starts a program. Returns once it runs (a fork and exec: milliseconds). A program that
    /// does not exist still starts: the wrapper says so in the log and exits with 127.
    pub fn spawn(&self, spec: Spec) -> Result<Child, SpawnError> {
        if spec.argv.is_empty() {
            return Err(SpawnError::EmptyCommand);
        }
        let (rows, cols) = spec.size;
        if rows == 0 || cols == 0 {
            return Err(SpawnError::Size { rows, cols });
        }
        let cwd = working_dir(spec.cwd.as_deref())?;
        let log = open_log(&spec.log)?;
        let Some(wrapper) = &self.wrapper else {
            return Err(SpawnError::NotAWrapper {
                exe: std::env::current_exe().unwrap_or_default(),
            });
        };
        let wrapper = std::path::absolute(wrapper).map_err(SpawnError::WrapperPath)?;

        let size = PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        };
        let pair = portable_pty::native_pty_system()
            .openpty(size)
            .map_err(|e| SpawnError::Pty(e.into()))?;
        let raw = pair
            .master
            .as_raw_fd()
            .ok_or_else(|| SpawnError::Pty("the PTY master has no file descriptor".into()))?;
        // SAFETY: `pair.master` owns this descriptor and outlives every use of the borrow.
        let master_fd = unsafe { BorrowedFd::borrow_raw(raw) };
        sys::configure_pty(master_fd).map_err(|e| SpawnError::Pty(e.into()))?;
        let pty = master_fd
            .try_clone_to_owned()
            .map_err(|e| SpawnError::Pty(e.into()))?;
        sys::set_nonblocking(pty.as_fd()).map_err(|e| SpawnError::Pty(e.into()))?;
        let wake = sys::eventfd().map_err(SpawnError::Watch)?;

        let line = exec_wrapper::command_line(wrapper.as_os_str(), std::process::id(), &spec.argv);
        let mut command = CommandBuilder::from_argv(line);
        command.cwd(&cwd);
        command.env("TERM", TERM);
        for (key, value) in &spec.env {
            command.env(key, value);
        }

        let (reply, answer) = std_mpsc::sync_channel(1);
        let request = Request {
            slave: pair.slave,
            command,
            reply,
        };
        self.link
            .send(request)
            .map_err(|_| SpawnError::SpawnerGone)?;
        let pid = answer
            .recv()
            .map_err(|_| SpawnError::SpawnerGone)?
            .map_err(|source| SpawnError::Spawn {
                wrapper: wrapper.clone(),
                source,
            })?;
        tracing::debug!(pid, argv = ?spec.argv, log = %spec.log.display(), "spawned");
        let pid = i32::try_from(pid)
            .map_err(|_| SpawnError::Watch(std::io::Error::other("process id out of range")))?;

        // The program runs from here on: if watching it fails, it must not be left behind.
        let pidfd = sys::pidfd_open(pid).map_err(|e| abandon(pid, SpawnError::Watch(e)))?;
        let (lines_tx, lines_rx) = mpsc::channel(spec.line_capacity.max(2));
        let shared = Arc::new(Shared {
            pid,
            log: spec.log.clone(),
            grace: spec.grace,
            scrollback: spec.scrollback,
            screen: Mutex::new(vt100::Parser::new(rows, cols, spec.scrollback)),
            tail: Mutex::new(Tail::new(spec.tail_lines)),
            master: Mutex::new(Some(pair.master)),
            input: Mutex::new(Input::default()),
            wake,
            cancel: AtomicBool::new(false),
            status: watch::channel(None).0,
            bytes: watch::channel(0).0,
            raw: broadcast::channel(RAW_CHUNKS).0,
            log_error: Mutex::new(None),
            lines: Mutex::new(Some(lines_rx)),
            _spawner: self.link.clone(),
        });
        let monitor = Monitor {
            shared: Arc::clone(&shared),
            pty,
            pidfd,
            log: Some(log),
            sink: Sink::new(lines_tx),
            splitter: Splitter::new(),
            buf: vec![0; CHUNK],
            screen_buf: Vec::with_capacity(2 * CHUNK),
            total: 0,
        };
        std::thread::Builder::new()
            .name(format!("n3x-pty-{pid}"))
            .spawn(move || run_guarded(monitor))
            .map_err(|e| abandon(pid, SpawnError::Thread(e)))?;
        Ok(Child::new(shared))
    }
}

/// The spawner thread: forks every program, so that their death signal is tied to this
/// thread's (that is, the workbench's) life.
fn spawner(requests: std_mpsc::Receiver<Request>) {
    for request in requests {
        let result = request
            .slave
            .spawn_command(request.command)
            .map_err(BoxError::from)
            .and_then(|child| {
                child
                    .process_id()
                    .ok_or_else(|| "the started process has no id".into())
            });
        // Our copy of the terminal's slave side must close, or its end would never be seen.
        drop(request.slave);
        let _ = request.reply.send(result);
    }
}

/// Kills and reaps a program we cannot supervise, and passes the error on.
fn abandon(pid: i32, error: SpawnError) -> SpawnError {
    let _ = sys::signal_group(pid, libc::SIGKILL);
    let _ = sys::reap_blocking(pid);
    error
}

fn working_dir(cwd: Option<&Path>) -> Result<PathBuf, SpawnError> {
    let dir = match cwd {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().map_err(|e| SpawnError::Cwd {
            path: PathBuf::from("."),
            reason: e.to_string(),
        })?,
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(dir),
        Ok(_) => Err(SpawnError::Cwd {
            path: dir,
            reason: "not a directory".into(),
        }),
        Err(e) => Err(SpawnError::Cwd {
            path: dir,
            reason: e.to_string(),
        }),
    }
}

fn open_log(path: &Path) -> Result<File, SpawnError> {
    let error = |source| SpawnError::Log {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(error)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(error)
}
