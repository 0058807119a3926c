//! The handle of a running (or finished) supervised program.

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use portable_pty::{MasterPty, PtySize};
use tokio::sync::{broadcast, mpsc, watch};

use super::error::{InputError, ResizeError};
use super::lines::{Output, Tail};
use super::{ExitStatus, SpawnerLink, sys};

/// Most input bytes that may wait for a program that does not read them.
pub const INPUT_LIMIT: usize = 64 * 1024;

/// Locks a mutex, also after a panic elsewhere poisoned it (the data stays usable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Input waiting to be written to the PTY.
#[derive(Default)]
pub(crate) struct Input {
    pub(crate) queue: VecDeque<u8>,
    closed: bool,
}

impl Input {
    pub(crate) fn pending(&self) -> bool {
        !self.queue.is_empty()
    }

    pub(crate) fn close(&mut self) {
        self.closed = true;
        self.queue = VecDeque::new();
    }
}

/// State shared between the handles and the monitor thread.
pub(crate) struct Shared {
    pub(crate) pid: i32,
    pub(crate) log: PathBuf,
    pub(crate) grace: Duration,
    pub(crate) scrollback: usize,
    pub(crate) screen: Mutex<vt100::Parser>,
    pub(crate) tail: Mutex<Tail>,
    /// The PTY master, for resizing; closed when the program has finished.
    pub(crate) master: Mutex<Option<Box<dyn MasterPty + Send>>>,
    pub(crate) input: Mutex<Input>,
    /// Wakes the monitor thread (cancel, new input).
    pub(crate) wake: OwnedFd,
    pub(crate) cancel: AtomicBool,
    pub(crate) status: watch::Sender<Option<ExitStatus>>,
    pub(crate) bytes: watch::Sender<u64>,
    pub(crate) raw: broadcast::Sender<Arc<[u8]>>,
    pub(crate) log_error: Mutex<Option<String>>,
    pub(crate) lines: Mutex<Option<mpsc::Receiver<Output>>>,
    /// Keeps the spawner thread (the parent the kernel watches for PDEATHSIG) alive while this
    /// child may still run.
    pub(crate) _spawner: SpawnerLink,
}

impl Shared {
    pub(crate) fn request_cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
        sys::eventfd_signal(self.wake.as_fd());
    }

    fn finished(&self) -> bool {
        self.status.borrow().is_some()
    }
}

/// Cancels the program when the last [`Child`] handle goes away.
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        if !self.0.finished() {
            self.0.request_cancel();
        }
    }
}

/// A supervised program. Clones are cheap and share the program; when the last clone is
/// dropped while the program still runs, it is cancelled (SIGTERM, SIGKILL after the grace
/// period).
///
/// The program's process is the leader of its own process group (and session), so its pid is
/// also the group id that cancellation signals.
#[derive(Clone)]
pub struct Child {
    owner: Arc<Owner>,
}

impl Child {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            owner: Arc::new(Owner(shared)),
        }
    }

    fn shared(&self) -> &Shared {
        &self.owner.0
    }

    /// The program's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.shared().pid.unsigned_abs()
    }

    /// The log file that receives every byte the program writes.
    pub fn log_path(&self) -> &Path {
        &self.shared().log
    }

    /// The receiver of the program's output lines; `None` once taken. The channel closes when
    /// the output has ended. A receiver that falls behind misses lines but gets
    /// [`Output::Dropped`] markers; dropping it stops line delivery (the log and screen go on).
    pub fn take_lines(&self) -> Option<mpsc::Receiver<Output>> {
        lock(&self.shared().lines).take()
    }

    /// Runs `f` on the program's emulated terminal screen (for drawing a pane).
    pub fn with_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        f(lock(&self.shared().screen).screen())
    }

    /// Runs `f` on the program's screen mutably, e.g. to scroll it back.
    pub fn with_screen_mut<R>(&self, f: impl FnOnce(&mut vt100::Screen) -> R) -> R {
        f(lock(&self.shared().screen).screen_mut())
    }

    /// Queues bytes for the program's terminal input (keys, pasted text). Never blocks: the
    /// monitor thread writes them when the terminal takes them.
    pub fn write_input(&self, bytes: &[u8]) -> Result<(), InputError> {
        let shared = self.shared();
        {
            let mut input = lock(&shared.input);
            if input.closed {
                return Err(InputError::Finished);
            }
            if input.queue.len() + bytes.len() > INPUT_LIMIT {
                return Err(InputError::Full(input.queue.len()));
            }
            input.queue.extend(bytes);
        }
        sys::eventfd_signal(shared.wake.as_fd());
        Ok(())
    }

    /// Changes the terminal size; the program gets SIGWINCH. The screen is resized first, so
    /// that what the program draws for the new size lands on a screen of that size.
    pub fn resize(&self, rows: u16, cols: u16) -> Result<(), ResizeError> {
        if rows == 0 || cols == 0 {
            return Err(ResizeError::Size { rows, cols });
        }
        let shared = self.shared();
        lock(&shared.screen).screen_mut().set_size(rows, cols);
        if let Some(master) = lock(&shared.master).as_ref() {
            let size = PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            };
            master
                .resize(size)
                .map_err(|e| ResizeError::Pty(e.into()))?;
        }
        Ok(())
    }

    /// Cancels the program: SIGTERM to its process group now, SIGKILL when it is still running
    /// after the grace period. Returns at once; [`wait`](Self::wait) for the outcome.
    /// Does nothing once the program has finished.
    pub fn cancel(&self) {
        if !self.shared().finished() {
            self.shared().request_cancel();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called (or the last handle dropped early).
    pub fn cancel_requested(&self) -> bool {
        self.shared().cancel.load(Ordering::SeqCst)
    }

    /// Waits until the program has exited and all its output is in the log file, the screen
    /// and the line channel, then says how it ended.
    pub async fn wait(&self) -> ExitStatus {
        let mut rx = self.shared().status.subscribe();
        match rx.wait_for(Option::is_some).await {
            Ok(status) => status.unwrap_or(ExitStatus::UNKNOWN),
            Err(_) => ExitStatus::UNKNOWN,
        }
    }

    /// How the program ended, or `None` while it runs (or its output is still being read).
    pub fn try_status(&self) -> Option<ExitStatus> {
        *self.shared().status.borrow()
    }

    /// Bytes the program has written so far (all of them are in the log file).
    pub fn bytes_written(&self) -> u64 {
        *self.shared().bytes.borrow()
    }

    /// A receiver that sees [`bytes_written`](Self::bytes_written) change: a render loop can
    /// await it and redraw only when there is new output.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.shared().bytes.subscribe()
    }

    /// A receiver of the raw output from now on (for an attached console). It holds at most a
    /// few chunks: a receiver that falls behind gets `Lagged` and should redraw from the
    /// screen.
    pub fn subscribe_bytes(&self) -> broadcast::Receiver<Arc<[u8]>> {
        self.shared().raw.subscribe()
    }

    /// The last lines of output (for a failure report).
    pub fn tail(&self) -> Vec<String> {
        lock(&self.shared().tail).lines()
    }

    /// Why the log file stopped receiving output, if writing it failed (e.g. the disk is full).
    pub fn log_error(&self) -> Option<String> {
        lock(&self.shared().log_error).clone()
    }
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.shared().pid)
            .field("log", &self.shared().log)
            .field("status", &self.try_status())
            .finish()
    }
}
