//! What can go wrong on the control channel.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// A duration for people: `120 s`, `1.5 s`, `250 ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secs(pub Duration);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d < Duration::from_secs(1) {
            write!(f, "{} ms", d.as_millis())
        } else if d.subsec_millis() == 0 {
            write!(f, "{} s", d.as_secs())
        } else {
            write!(f, "{:.1} s", d.as_secs_f64())
        }
    }
}

/// Why a command on a node's control channel gave no result.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The socket could not be connected to at all.
    #[error(
        "cannot connect to the control channel {}: {source}; is the node's VM running?",
        socket.display()
    )]
    Connect {
        /// The control socket.
        socket: PathBuf,
        /// What connecting said.
        source: io::Error,
    },
    /// [`super::ControlChannel::wait_ready`] ran out of time.
    #[error(
        "the control channel of {} did not answer within {}: the guest may not have booted \
         (see its console log); {detail}",
        socket.display(), Secs(*after)
    )]
    NotReady {
        /// The control socket.
        socket: PathBuf,
        /// How long it was given.
        after: Duration,
        /// How far it got, e.g. "the socket never appeared".
        detail: String,
    },
    /// A call ran out of time. The guest stops the command itself about a second later.
    #[error("{what}: no answer within {}", Secs(*after))]
    Timeout {
        /// What was waited for, naming the command and the socket.
        what: String,
        /// How long it was given.
        after: Duration,
    },
    /// The other end closed the connection before answering.
    #[error(
        "the control channel {} closed while {during}: the VM or its control shell stopped \
         (see the node's console log)",
        socket.display()
    )]
    Closed {
        /// The control socket.
        socket: PathBuf,
        /// What the call was doing.
        during: &'static str,
    },
    /// Reading or writing the socket failed.
    #[error("control channel {}: {source}", socket.display())]
    Io {
        /// The control socket.
        socket: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The answer arrived damaged. QEMU drops a virtio console's output when the host does not
    /// read it fast enough, so on a loaded host a big answer can lose bytes on the way; the
    /// guest's SHA-256 of stdout and stderr tells.
    #[error(
        "control channel {}: the guest's answer arrived damaged ({detail}); QEMU drops console \
         output the host does not read fast enough, as on a loaded machine: run the command \
         again, or have it write a big result to a file in the guest and read that in parts",
        socket.display()
    )]
    Damaged {
        /// The control socket.
        socket: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The answer was larger than [`super::MAX_OUTPUT`].
    #[error(
        "control channel {}: the command wrote more than {limit} bytes; write big results to \
         a file in the guest and read only what you need",
        socket.display()
    )]
    TooLarge {
        /// The control socket.
        socket: PathBuf,
        /// The limit, in bytes of stdout and stderr together.
        limit: usize,
    },
    /// The request cannot be sent.
    #[error("cannot run this over the control channel: {0}")]
    Request(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(Secs(Duration::from_secs(120)).to_string(), "120 s");
        assert_eq!(Secs(Duration::from_millis(1500)).to_string(), "1.5 s");
        assert_eq!(Secs(Duration::from_millis(250)).to_string(), "250 ms");
    }

    #[test]
    fn not_ready_says_what_to_do() {
        let e = ControlError::NotReady {
            socket: "/run/n3x/node1-ctl.sock".into(),
            after: Duration::from_secs(120),
            detail: "the socket never appeared".into(),
        };
        assert_eq!(
            e.to_string(),
            "the control channel of /run/n3x/node1-ctl.sock did not answer within 120 s: the \
             guest may not have booted (see its console log); the socket never appeared"
        );
    }
}
