//! Standard output that a closed pipe or a full disk cannot crash.
//!
//! `println!` panics when a write fails (`n3x test --list > /dev/full`, `n3x cluster up | grep
//! -m1 Ready` once grep has left). Commands print through [`outln!`](crate::outln) and
//! [`out!`](crate::out) instead: a write that fails is dropped, and the first failure is kept.
//! A reader that went away (EPIPE) ends the command quietly, as in ripgrep; any other failure
//! becomes an error (exit 1) when the command ends. Long-running commands ask
//! [`reader_gone`] and tear down what they started rather than run on with nobody watching.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set once a write to standard output failed: nothing more will be seen.
static GONE: AtomicBool = AtomicBool::new(false);

/// The first write failure that was not a closed pipe.
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Writes `text` to standard output and flushes it; a failure is remembered, never raised.
pub fn write(text: &str) {
    if GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        fail(&e);
    }
}

fn fail(e: &io::Error) {
    GONE.store(true, Ordering::Relaxed);
    if e.kind() != io::ErrorKind::BrokenPipe {
        let mut failure = FAILURE.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert_with(|| e.to_string());
    }
}

/// Whether nobody reads standard output any more: a write failed, or (for a pipe) its reader
/// has closed it even though nothing was written since.
pub fn gone() -> bool {
    if GONE.load(Ordering::Relaxed) {
        return true;
    }
    // A pipe whose reader has gone reports POLLERR on its write end.
    let stdout = io::stdout();
    let fd = stdout.as_fd();
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::empty(),
    )];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let closed = matches!(rustix::event::poll(&mut fds, Some(&zero)), Ok(n) if n > 0)
        && fds[0].revents().contains(rustix::event::PollFlags::ERR);
    if closed {
        GONE.store(true, Ordering::Relaxed);
    }
    closed
}

/// Resolves once nobody reads standard output any more (checked four times a second).
pub async fn reader_gone() {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        if gone() {
            return;
        }
    }
}

/// The first write failure that was not a closed pipe, as text (for `error: …`, exit 1).
pub fn failure() -> Option<String> {
    FAILURE.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Standard output as a [`Write`] that never fails: for code that takes a writer.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !GONE.load(Ordering::Relaxed)
            && let Err(e) = io::stdout().lock().write_all(buf)
        {
            fail(&e);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !GONE.load(Ordering::Relaxed)
            && let Err(e) = io::stdout().flush()
        {
            fail(&e);
        }
        Ok(())
    }
}

/// `println!` that cannot panic: see [`crate::cli::pipe`].
#[macro_export]
macro_rules! outln {
    () => { $crate::cli::pipe::write("\n") };
    ($($arg:tt)*) => { $crate::cli::pipe::write(&format!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that cannot panic: see [`crate::cli::pipe`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::pipe::write(&format!($($arg)*)) };
}
