//! The one thread per child that does everything while it runs: reads the PTY (log file first,
//! then screen, then lines), writes queued input, reaps the child through a pidfd, and carries
//! out cancellation (SIGTERM to the group, SIGKILL after the grace period).
//!
//! Nothing in here waits on a consumer: the log write is the only thing that can slow the child
//! down, and that is on purpose (every byte is saved before anything else sees it).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::child::{Shared, lock};
use super::lines::{Sink, Splitter, text_of};
use super::{ExitStatus, sys};

/// Bytes read from the PTY in one batch (and the most held in memory at once).
pub(crate) const CHUNK: usize = 64 * 1024;

/// How often a running child whose terminal had no writer left is checked for new output (it
/// may open `/dev/tty` again), since the closed PTY cannot be polled.
const RECHECK: Duration = Duration::from_millis(250);

pub(crate) struct Monitor {
    pub(crate) shared: Arc<Shared>,
    /// Our own non-blocking descriptor of the PTY master.
    pub(crate) pty: OwnedFd,
    pub(crate) pidfd: OwnedFd,
    pub(crate) log: Option<File>,
    pub(crate) sink: Sink,
    pub(crate) splitter: Splitter,
    pub(crate) buf: Vec<u8>,
    pub(crate) screen_buf: Vec<u8>,
    pub(crate) total: u64,
}

/// Where the child is in its life, as the loop sees it.
#[derive(Default)]
struct Progress {
    /// The child was reaped with this status.
    exited: Option<ExitStatus>,
    /// The PTY reached end of file (every writer closed it) or we stopped reading it.
    eof: bool,
    cancelling: bool,
    /// SIGKILL the group at this time (a cancelled child did not stop after SIGTERM).
    kill_at: Option<Instant>,
    /// The child exited but something in its group still holds the PTY: SIGKILL at this time.
    linger_until: Option<Instant>,
}

impl Monitor {
    pub(crate) fn run(mut self) {
        let pid = self.shared.pid;
        let grace = self.shared.grace;
        let mut p = Progress::default();
        while !(p.eof && p.exited.is_some()) {
            let recheck = (p.eof && p.exited.is_none()).then(|| Instant::now() + RECHECK);
            let timeout = match [p.kill_at, p.linger_until, recheck]
                .into_iter()
                .flatten()
                .min()
            {
                Some(t) => millis_until(t),
                None => -1,
            };
            let want_write = !p.eof && lock(&self.shared.input).pending();
            let mut fds = [
                pollfd(
                    (!p.eof).then(|| self.pty.as_raw_fd()),
                    libc::POLLIN | if want_write { libc::POLLOUT } else { 0 },
                ),
                pollfd(
                    p.exited.is_none().then(|| self.pidfd.as_raw_fd()),
                    libc::POLLIN,
                ),
                pollfd(Some(self.shared.wake.as_raw_fd()), libc::POLLIN),
            ];
            if let Err(e) = sys::poll(&mut fds, timeout) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                // Cannot happen with valid descriptors; end the child rather than spin.
                let _ = sys::signal_group(pid, libc::SIGKILL);
                if p.exited.is_none() {
                    p.exited = Some(sys::reap_blocking(pid).unwrap_or(ExitStatus::UNKNOWN));
                }
                break;
            }
            let [pty, child, wake] = fds.map(|f| f.revents);

            if wake != 0 {
                sys::eventfd_clear(self.shared.wake.as_fd());
            }
            if !p.cancelling && self.shared.cancel.load(Ordering::SeqCst) {
                p.cancelling = true;
                let _ = sys::signal_group(pid, libc::SIGTERM);
                let deadline = Instant::now() + grace;
                if p.exited.is_none() {
                    p.kill_at = Some(deadline);
                } else {
                    p.linger_until = Some(p.linger_until.map_or(deadline, |t| t.min(deadline)));
                }
            }
            if pty & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 || recheck.is_some() {
                p.eof = self.read_batch();
            }
            if pty & libc::POLLOUT != 0 {
                self.write_input();
            }
            if child != 0 {
                match sys::try_reap(pid) {
                    Ok(None) => {}
                    Ok(Some(status)) => p.exited = Some(status),
                    // Someone else reaped it (SIGCHLD ignored?): the status is lost.
                    Err(_) => p.exited = Some(ExitStatus::UNKNOWN),
                }
                if p.exited.is_some() {
                    p.kill_at = None;
                    if p.eof {
                        // Output written to a reopened terminal just before the exit.
                        p.eof = self.read_batch();
                    }
                    if !p.eof {
                        p.linger_until = Some(Instant::now() + grace);
                    }
                }
            }
            let now = Instant::now();
            if p.kill_at.is_some_and(|t| now >= t) {
                let _ = sys::signal_group(pid, libc::SIGKILL);
                p.kill_at = None;
            }
            if p.linger_until.is_some_and(|t| now >= t) {
                // Leftovers of the group keep the terminal open after the program ended:
                // end them, take what they wrote last, and stop reading.
                let _ = sys::signal_group(pid, libc::SIGKILL);
                self.read_batch();
                p.eof = true;
            }
        }
        self.finish(p.exited.unwrap_or(ExitStatus::UNKNOWN));
    }

    /// Reads what is available (up to [`CHUNK`] bytes) and passes it on. Returns true at end of
    /// file: Linux answers EIO once every slave descriptor is closed.
    fn read_batch(&mut self) -> bool {
        let mut filled = 0;
        let mut eof = false;
        while filled < self.buf.len() {
            match sys::read(self.pty.as_fd(), &mut self.buf[filled..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // EIO (slave closed) or anything unexpected: no more output.
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        if filled > 0 {
            self.pass_on(filled);
        }
        eof
    }

    /// Log file first, then the screen, then lines and tail, then counters and the raw tap.
    fn pass_on(&mut self, n: usize) {
        let data = &self.buf[..n];
        if let Some(log) = &mut self.log
            && let Err(e) = log.write_all(data)
        {
            *lock(&self.shared.log_error) = Some(e.to_string());
            self.log = None;
        }

        {
            let bytes = if data.contains(&b'\n') && sys::expects_onlcr(self.pty.as_fd()) {
                self.screen_buf.clear();
                for &b in data {
                    if b == b'\n' {
                        self.screen_buf.push(b'\r');
                    }
                    self.screen_buf.push(b);
                }
                &self.screen_buf[..]
            } else {
                data
            };
            let mut parser = lock(&self.shared.screen);
            let fed = std::panic::catch_unwind(AssertUnwindSafe(|| parser.process(bytes)));
            if fed.is_err() {
                // A bug in the emulator must not end the supervision: start a clean screen.
                let (rows, cols) = parser.screen().size();
                *parser = vt100::Parser::new(rows, cols, self.shared.scrollback);
            }
        }

        {
            let mut tail = lock(&self.shared.tail);
            let sink = &mut self.sink;
            self.splitter.feed(data, &mut |text, truncated| {
                let text = text_of(text, truncated);
                tail.push(&text);
                sink.offer(text, truncated);
            });
        }

        self.total += n as u64;
        self.shared.bytes.send_replace(self.total);
        if self.shared.raw.receiver_count() > 0 {
            let _ = self.shared.raw.send(Arc::from(data));
        }
    }

    fn write_input(&mut self) {
        let mut input = lock(&self.shared.input);
        let queued = input.queue.make_contiguous();
        match sys::write(self.pty.as_fd(), queued) {
            Ok(n) => {
                input.queue.drain(..n);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) => {}
            Err(_) => input.close(),
        }
    }

    fn finish(mut self, status: ExitStatus) {
        {
            let mut tail = lock(&self.shared.tail);
            let sink = &mut self.sink;
            self.splitter.finish(&mut |text, truncated| {
                let text = text_of(text, truncated);
                tail.push(&text);
                sink.offer(text, truncated);
            });
        }
        self.sink.finish();
        lock(&self.shared.input).close();
        // Closing the log file: after `wait` it holds every byte.
        self.log = None;
        // Close the terminal: nothing runs on it any more.
        lock(&self.shared.master).take();
        self.shared.status.send_replace(Some(status));
    }
}

/// Runs a monitor; should it panic anyway, the program is killed and reaped and its status
/// published, so that nothing is left running and nobody waits forever.
pub(crate) fn run_guarded(monitor: Monitor) {
    let shared = Arc::clone(&monitor.shared);
    if std::panic::catch_unwind(AssertUnwindSafe(|| monitor.run())).is_err() {
        let _ = sys::signal_group(shared.pid, libc::SIGKILL);
        let status = sys::reap_blocking(shared.pid).unwrap_or(ExitStatus::UNKNOWN);
        lock(&shared.input).close();
        lock(&shared.master).take();
        shared.status.send_replace(Some(status));
    }
}

fn pollfd(fd: Option<i32>, events: i16) -> libc::pollfd {
    libc::pollfd {
        fd: fd.unwrap_or(-1),
        events,
        revents: 0,
    }
}

fn millis_until(t: Instant) -> i32 {
    let left = t.saturating_duration_since(Instant::now());
    // Round up so that the deadline has passed when poll returns.
    i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX)
}
