//! The host side of a node's control channel: commands run by a root shell in the guest.
//!
//! The guest runs a non-interactive `bash` on the virtio console `hvc0`
//! (`crate::build::quick::guest`); QEMU exposes that console as a unix socket
//! (`-chardev socket,server=on,wait=off`). QEMU serves one client at a time, so every call
//! connects, syncs with the shell, runs one command and disconnects: between two calls another
//! program (`n3x exec`, a user with socat) can use the same socket. The wire format is
//! described in `control/script.rs`: requests and answers travel base64-encoded, so any
//! argument and any output byte arrives unchanged, and stdout, stderr and the exit code come
//! back separately. QEMU drops console output that the host does not read in time, so big
//! answers come in chunks the host acknowledges, and SHA-256 sums catch what was lost anyway
//! ([`ControlError::Damaged`]).
//!
//! ```text
//! let node = ControlChannel::new(run_dir.join("node1-ctl.sock"));
//! node.wait_ready(Duration::from_secs(120)).await?;
//! let argv = ["ip", "-br", "addr"].map(String::from);
//! let out = node.exec(&argv, Duration::from_secs(10)).await?;        // out.code, out.stdout, ...
//! let up = node.shell("systemctl is-active k3s", timeout).await?.code == 0;
//! ```
//!
//! **Timeouts.** A call's timeout covers connecting, syncing and the command. The guest stops
//! the command (SIGTERM to its process group, SIGKILL a second later) about a second after the
//! host gave up, so the shell is free again for the next call.

mod error;
mod script;

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::{Instant, sleep, timeout_at};

pub use error::{ControlError, Secs};
use script::{Answer, Collector, Problem, Request, Seen};

use super::lines::LineReader;

/// The most stdout and stderr (together) one call may bring back.
pub const MAX_OUTPUT: usize = 64 << 20;

/// How long a sync waits for its marker before sending it again.
const RESEND: Duration = Duration::from_millis(500);

/// How long `wait_ready` waits before connecting again.
const RECONNECT: Duration = Duration::from_millis(100);

/// How much later than the host the guest stops a command.
const GUEST_GRACE: Duration = Duration::from_secs(1);

/// While syncing, lines are kept only this long.
const NOISE_LINE: usize = 4096;

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Its exit code; 128+N when signal N ended it, 127 when it was not found, 125 when the
    /// guest could not set it up.
    pub code: i32,
    /// Everything it wrote to stdout (bytes that are not UTF-8 become U+FFFD).
    pub stdout: String,
    /// Everything it wrote to stderr (bytes that are not UTF-8 become U+FFFD).
    pub stderr: String,
}

/// The control channel of one node, by the path of its socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlChannel {
    socket: PathBuf,
}

/// One connection, synced or not.
struct Conn {
    reader: LineReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

/// How a sync attempt ended, short of success.
enum ConnFailure {
    Closed,
    Io(io::Error),
}

impl ControlChannel {
    /// The channel behind the unix socket `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        ControlChannel {
            socket: socket.into(),
        }
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Wait until the guest shell answers, connecting again and again until `deadline` has
    /// passed: the socket appears when QEMU starts, accepts before the guest has opened its
    /// console, and the shell starts late in the boot.
    pub async fn wait_ready(&self, deadline: Duration) -> Result<(), ControlError> {
        let end = Instant::now() + deadline;
        let mut detail = "the socket never appeared";
        loop {
            let attempt = async {
                let mut conn = match Conn::connect(&self.socket).await {
                    Ok(conn) => conn,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                    Err(e) if retry_connect(&e) => {
                        detail = "the socket exists, but nothing listens on it (QEMU not running?)";
                        return Ok(false);
                    }
                    Err(source) => return Err(self.connect_error(source)),
                };
                detail = "connected, but the guest shell never answered";
                match conn.sync().await {
                    Ok(()) => Ok(true),
                    Err(_) => {
                        detail = "connected, but the connection was closed";
                        Ok(false)
                    }
                }
            };
            match timeout_at(end, attempt).await {
                Ok(Ok(true)) => {
                    tracing::debug!(socket = %self.socket.display(), "control channel answers");
                    return Ok(());
                }
                Ok(Ok(false)) => {
                    tracing::trace!(socket = %self.socket.display(), detail, "control channel: retrying");
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => break,
            }
            if timeout_at(end, sleep(RECONNECT)).await.is_err() {
                break;
            }
        }
        Err(ControlError::NotReady {
            socket: self.socket.clone(),
            after: deadline,
            detail: detail.to_string(),
        })
    }

    /// Run `argv` (a program and its arguments, no shell) in the guest: stdin is `/dev/null`,
    /// the working directory `/`. The program must be an executable (the guest runs it under
    /// `timeout`), not a shell builtin; use [`ControlChannel::shell`] for those.
    pub async fn exec(
        &self,
        argv: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, ControlError> {
        if argv.is_empty() {
            return Err(ControlError::Request("the command line is empty".into()));
        }
        if let Some(i) = argv.iter().position(|a| a.contains('\0')) {
            return Err(ControlError::Request(format!(
                "argument {i} contains a NUL byte, which no command line can carry"
            )));
        }
        let what = format!(
            "`{}` on {}",
            shorten(&argv.join(" ")),
            self.socket.display()
        );
        self.call(Request::Exec(argv), what, timeout).await
    }

    /// Run the bash `script` in a fresh `bash --noprofile --norc` in the guest (stdin
    /// `/dev/null`, working directory `/`).
    pub async fn shell(&self, script: &str, timeout: Duration) -> Result<ExecOutput, ControlError> {
        if script.contains('\0') {
            return Err(ControlError::Request(
                "the script contains a NUL byte, which bash cannot read".into(),
            ));
        }
        let what = format!("script `{}` on {}", shorten(script), self.socket.display());
        self.call(Request::Shell(script), what, timeout).await
    }

    async fn call(
        &self,
        request: Request<'_>,
        what: String,
        timeout: Duration,
    ) -> Result<ExecOutput, ControlError> {
        let end = Instant::now() + timeout;
        let timed_out = |what: String| ControlError::Timeout {
            what,
            after: timeout,
        };
        let mut conn = match timeout_at(end, Conn::connect_when_free(&self.socket)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(source)) => return Err(self.connect_error(source)),
            Err(_) => return Err(timed_out(format!("connecting for {what}"))),
        };
        match timeout_at(end, conn.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => return Err(self.failure(failure, "syncing with the guest shell")),
            Err(_) => {
                return Err(timed_out(format!(
                    "{what} (waiting for the guest shell: busy with an earlier command, or not \
                     started)"
                )));
            }
        }
        tracing::debug!(%what, "control channel call");
        let nonce = script::nonce();
        let limit = end.saturating_duration_since(Instant::now()) + GUEST_GRACE;
        let line = script::command_line(request, &nonce, limit);
        let answer = async {
            conn.writer
                .write_all(line.as_bytes())
                .await
                .map_err(|e| self.failure(ConnFailure::from(e), "sending the command"))?;
            let mut collector = Collector::new(&nonce, MAX_OUTPUT);
            match conn.answer(&mut collector).await {
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(Problem::TooLarge)) => Err(ControlError::TooLarge {
                    socket: self.socket.clone(),
                    limit: MAX_OUTPUT,
                }),
                Ok(Err(Problem::Damaged(detail))) => Err(ControlError::Damaged {
                    socket: self.socket.clone(),
                    detail,
                }),
                Err(failure) => Err(self.failure(failure, "running the command")),
            }
        };
        let answer = timeout_at(end, answer)
            .await
            .map_err(|_| timed_out(what))??;
        Ok(ExecOutput {
            code: answer.code,
            stdout: String::from_utf8_lossy(&answer.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&answer.stderr).into_owned(),
        })
    }

    fn connect_error(&self, source: io::Error) -> ControlError {
        ControlError::Connect {
            socket: self.socket.clone(),
            source,
        }
    }

    fn failure(&self, failure: ConnFailure, during: &'static str) -> ControlError {
        match failure {
            ConnFailure::Closed => ControlError::Closed {
                socket: self.socket.clone(),
                during,
            },
            ConnFailure::Io(source) => ControlError::Io {
                socket: self.socket.clone(),
                source,
            },
        }
    }
}

impl From<io::Error> for ConnFailure {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::UnexpectedEof => ConnFailure::Closed,
            _ => ConnFailure::Io(e),
        }
    }
}

impl Conn {
    /// Connects, waiting while the socket is busy: QEMU serves one client and queues only a
    /// few, so a connect beyond its backlog fails with `EAGAIN` until a client leaves.
    async fn connect_when_free(socket: &Path) -> io::Result<Conn> {
        loop {
            match Conn::connect(socket).await {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => sleep(RECONNECT).await,
                other => return other,
            }
        }
    }

    async fn connect(socket: &Path) -> io::Result<Conn> {
        let (read, writer) = UnixStream::connect(socket).await?.into_split();
        Ok(Conn {
            reader: LineReader::new(read, NOISE_LINE),
            writer,
        })
    }

    /// The answer `collector` puts together, acknowledging its chunks; the caller bounds
    /// the time.
    async fn answer(
        &mut self,
        collector: &mut Collector,
    ) -> Result<Result<Answer, Problem>, ConnFailure> {
        self.reader.set_max(collector.max_line());
        loop {
            let line = match self.reader.next().await {
                Ok(Some(line)) => line,
                Ok(None) => return Err(ConnFailure::Closed),
                Err(e) => return Err(e.into()),
            };
            match collector.take(&line.bytes, line.cut) {
                Ok(Seen::Other) => {}
                Ok(Seen::Chunk(ack)) => self.writer.write_all(ack.as_bytes()).await?,
                Ok(Seen::Answer(answer)) => return Ok(Ok(answer)),
                Err(problem) => return Ok(Err(problem)),
            }
        }
    }

    /// Send the sync probe until its marker comes back; the caller bounds the time.
    async fn sync(&mut self) -> Result<(), ConnFailure> {
        let nonce = script::nonce();
        let marker = script::sync_marker(&nonce);
        let probe = script::sync_probe(&nonce);
        loop {
            self.writer.write_all(probe.as_bytes()).await?;
            let resend = Instant::now() + RESEND;
            loop {
                match timeout_at(resend, self.reader.next()).await {
                    Err(_) => break,
                    Ok(Ok(None)) => return Err(ConnFailure::Closed),
                    Ok(Err(e)) => return Err(e.into()),
                    Ok(Ok(Some(line))) if line.bytes == marker.as_bytes() => return Ok(()),
                    Ok(Ok(Some(_))) => {}
                }
            }
        }
    }
}

/// Errors after which `wait_ready` connects again: the socket is not there (yet), nobody
/// listens on it (yet, or any more), or its queue of waiting clients is full.
fn retry_connect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::WouldBlock
    )
}

/// `text` on one line, at most 60 characters.
fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(57) {
        Some((i, _)) => format!("{}...", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_named_briefly() {
        assert_eq!(shorten("ip  -br\naddr"), "ip -br addr");
        let long = "x".repeat(100);
        assert_eq!(shorten(&long).chars().count(), 60);
    }
}
