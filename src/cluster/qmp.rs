//! A client for QEMU's machine protocol (QMP) on a unix socket
//! (`-qmp unix:PATH,server=on,wait=off`).
//!
//! Every call connects, reads the greeting, leaves capabilities negotiation with
//! `qmp_capabilities`, sends one command with an `id`, reads until the answer with that `id`
//! (skipping asynchronous events such as `RESET` or `POWERDOWN`) and disconnects. QEMU serves
//! one QMP client at a time; between calls the socket is free for others.
//!
//! ```text
//! let qmp = Qmp::new(run_dir.join("node1-qmp.sock"));
//! qmp.set_link("nic-eth1", false).await?;     // pull the cable of a NIC (by its device id)
//! assert_eq!(qmp.status().await?, "running");
//! qmp.quit().await?;
//! ```

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::{Instant, timeout_at};

use super::control::Secs;
use super::lines::LineReader;

/// How long the helper methods ([`Qmp::status`], [`Qmp::set_link`], ...) wait for QEMU
/// unless [`Qmp::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest QMP message read (`query-qmp-schema` is a few hundred KiB).
const MAX_MESSAGE: usize = 16 << 20;

/// Why a QMP command gave no result.
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    /// The socket could not be connected to.
    #[error(
        "cannot connect to the QMP socket {}: {source}; is the node's QEMU running?",
        socket.display()
    )]
    Connect {
        /// The QMP socket.
        socket: PathBuf,
        /// What connecting said.
        source: io::Error,
    },
    /// QEMU did not answer in time.
    #[error(
        "`{command}` on the QMP socket {}: no answer within {}",
        socket.display(),
        Secs(*after)
    )]
    Timeout {
        /// The command.
        command: String,
        /// The QMP socket.
        socket: PathBuf,
        /// How long it was given.
        after: Duration,
    },
    /// QEMU closed the connection before answering.
    #[error(
        "the QMP socket {} closed while {during}: QEMU stopped (see its log)",
        socket.display()
    )]
    Closed {
        /// The QMP socket.
        socket: PathBuf,
        /// What the call was doing.
        during: String,
    },
    /// Reading or writing the socket failed.
    #[error("QMP socket {}: {source}", socket.display())]
    Io {
        /// The QMP socket.
        socket: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// What came back is not QMP.
    #[error("QMP socket {}: {detail}; is this a QEMU QMP socket?", socket.display())]
    Protocol {
        /// The QMP socket.
        socket: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// QEMU refused the command.
    #[error("QEMU refused `{command}`: {desc} ({class})")]
    Command {
        /// The command.
        command: String,
        /// QEMU's error class, e.g. `DeviceNotFound`, `CommandNotFound`, `GenericError`.
        class: String,
        /// QEMU's message.
        desc: String,
    },
}

/// The QMP socket of one QEMU process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qmp {
    socket: PathBuf,
    timeout: Duration,
}

/// One QMP connection in command mode.
struct Session<'a> {
    qmp: &'a Qmp,
    command: &'a str,
    reader: LineReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Qmp {
    /// The QMP server listening on `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Qmp {
            socket: socket.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same socket, with helper methods waiting at most `timeout`.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Qmp { timeout, ..self }
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Run `command` with `arguments` (a JSON object, or `None`) and return what QEMU returned
    /// (`{}` for commands without a result).
    pub async fn execute(
        &self,
        command: &str,
        arguments: Option<Value>,
        timeout: Duration,
    ) -> Result<Value, QmpError> {
        let end = Instant::now() + timeout;
        tracing::debug!(socket = %self.socket.display(), command, ?arguments, "QMP call");
        let run = async {
            let mut session = Session::open(self, command).await?;
            session
                .send("qmp_capabilities", None, "n3x-capabilities")
                .await?;
            session.send(command, arguments, "n3x-command").await
        };
        let result = timeout_at(end, run).await.map_err(|_| QmpError::Timeout {
            command: command.to_string(),
            socket: self.socket.clone(),
            after: timeout,
        })?;
        match &result {
            Ok(answer) => tracing::trace!(command, %answer, "QMP answer"),
            Err(e) => tracing::debug!(command, error = %e, "QMP call failed"),
        }
        result
    }

    /// Set the link of the NIC (or netdev) `device_id` up or down, as if a cable were plugged
    /// in or pulled: the guest sees the carrier change.
    pub async fn set_link(&self, device_id: &str, up: bool) -> Result<(), QmpError> {
        let arguments = json!({ "name": device_id, "up": up });
        self.execute("set_link", Some(arguments), self.timeout)
            .await?;
        Ok(())
    }

    /// The run state: `running`, `paused`, `prelaunch` (started with `-S`), `shutdown`, ...
    pub async fn status(&self) -> Result<String, QmpError> {
        let answer = self.execute("query-status", None, self.timeout).await?;
        match answer.get("status").and_then(Value::as_str) {
            Some(status) => Ok(status.to_string()),
            None => Err(QmpError::Protocol {
                socket: self.socket.clone(),
                detail: format!("query-status returned no status: {answer}"),
            }),
        }
    }

    /// Reset the machine, like its reset button.
    pub async fn system_reset(&self) -> Result<(), QmpError> {
        self.execute("system_reset", None, self.timeout).await?;
        Ok(())
    }

    /// Ask the guest to power off (an ACPI power button press); the guest may ignore it.
    pub async fn system_powerdown(&self) -> Result<(), QmpError> {
        self.execute("system_powerdown", None, self.timeout).await?;
        Ok(())
    }

    /// End QEMU at once (no guest shutdown).
    pub async fn quit(&self) -> Result<(), QmpError> {
        match self.execute("quit", None, self.timeout).await {
            // QEMU may exit before its answer is read.
            Ok(_) | Err(QmpError::Closed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Run a human monitor command (`info network`, `xp /8bx 0x1000`, ...) and return its
    /// text. For people and tests: its output format is not stable.
    pub async fn human_monitor_command(&self, command_line: &str) -> Result<String, QmpError> {
        let arguments = json!({ "command-line": command_line });
        let answer = self
            .execute("human-monitor-command", Some(arguments), self.timeout)
            .await?;
        Ok(answer.as_str().unwrap_or_default().to_string())
    }

    fn io_error(&self, source: io::Error, during: &str) -> QmpError {
        match source.kind() {
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => QmpError::Closed {
                socket: self.socket.clone(),
                during: during.to_string(),
            },
            _ => QmpError::Io {
                socket: self.socket.clone(),
                source,
            },
        }
    }

    fn protocol(&self, detail: String) -> QmpError {
        QmpError::Protocol {
            socket: self.socket.clone(),
            detail,
        }
    }
}

impl<'a> Session<'a> {
    /// Connect and read the greeting.
    async fn open(qmp: &'a Qmp, command: &'a str) -> Result<Session<'a>, QmpError> {
        let stream =
            UnixStream::connect(&qmp.socket)
                .await
                .map_err(|source| QmpError::Connect {
                    socket: qmp.socket.clone(),
                    source,
                })?;
        let (read, writer) = stream.into_split();
        let mut session = Session {
            qmp,
            command,
            reader: LineReader::new(read, MAX_MESSAGE),
            writer,
        };
        let greeting = session.message("reading the greeting").await?;
        if !greeting.contains_key("QMP") {
            return Err(qmp.protocol(format!(
                "the first message is not a QMP greeting: {}",
                Value::Object(greeting)
            )));
        }
        Ok(session)
    }

    /// Send `command` and read until its answer.
    async fn send(
        &mut self,
        command: &str,
        arguments: Option<Value>,
        id: &str,
    ) -> Result<Value, QmpError> {
        let mut request = json!({ "execute": command, "id": id });
        if let Some(arguments) = arguments {
            request["arguments"] = arguments;
        }
        let mut text = request.to_string();
        text.push('\n');
        let during = format!("sending `{command}`");
        self.writer
            .write_all(text.as_bytes())
            .await
            .map_err(|e| self.qmp.io_error(e, &during))?;
        let during = format!("waiting for the answer to `{command}`");
        loop {
            let mut message = self.message(&during).await?;
            if message.contains_key("event") {
                continue;
            }
            // An error QEMU raised before it could read the id comes without one.
            match message.get("id") {
                Some(Value::String(got)) if got == id => {}
                None if message.contains_key("error") => {}
                _ => continue,
            }
            if let Some(answer) = message.remove("return") {
                return Ok(answer);
            }
            let error = message.remove("error").unwrap_or_default();
            let field = |name: &str| {
                error
                    .get(name)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            return Err(QmpError::Command {
                command: command.to_string(),
                class: field("class"),
                desc: field("desc"),
            });
        }
    }

    /// The next JSON object from QEMU.
    async fn message(&mut self, during: &str) -> Result<Map<String, Value>, QmpError> {
        let line = match self.reader.next().await {
            Ok(Some(line)) => line,
            Ok(None) => {
                return Err(QmpError::Closed {
                    socket: self.qmp.socket.clone(),
                    during: during.to_string(),
                });
            }
            Err(e) => return Err(self.qmp.io_error(e, during)),
        };
        if line.cut {
            return Err(self.qmp.protocol(format!(
                "a message longer than {MAX_MESSAGE} bytes while {during} of `{}`",
                self.command
            )));
        }
        match serde_json::from_slice::<Value>(&line.bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(self.qmp.protocol(format!("not a JSON object: {other}"))),
            Err(e) => Err(self.qmp.protocol(format!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(&line.bytes[..line.bytes.len().min(200)])
            ))),
        }
    }
}
