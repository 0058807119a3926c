//! The owner's socket: the process that runs a cluster (`n3x cluster up`, or the workbench)
//! takes [`Command`]s from other `n3x` processes on a unix socket in the private runtime
//! directory — restart, stop or start a node, tear everything down — because only the owner's
//! supervisor may start and stop its QEMUs. One request line, one answer line
//! (`ok …` or `error …`).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::{Command, SessionError};

pub use crate::cluster::paths::OWNER_SOCKET as SOCKET;

/// How long the owner may take for one request (stopping a QEMU waits for it).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A request that came in on the socket, and where its answer goes.
pub type Request = (Command, oneshot::Sender<Result<String, SessionError>>);

/// Serves requests on `socket` until the task is dropped: each one goes to `requests` with
/// the way back for its answer (the owner carries it out).
pub async fn serve(socket: PathBuf, requests: mpsc::Sender<Request>) -> io::Result<()> {
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    loop {
        let (stream, _) = listener.accept().await?;
        let requests = requests.clone();
        tokio::spawn(async move {
            let _ = answer(stream, requests).await;
        });
    }
}

async fn answer(stream: UnixStream, requests: mpsc::Sender<Request>) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut line = String::new();
    BufReader::new(reader.take(4096))
        .read_line(&mut line)
        .await?;
    let result = match Command::parse(line.trim()) {
        Err(e) => Err(e),
        Ok(command) => {
            let (reply, answer) = oneshot::channel();
            match requests.send((command, reply)).await {
                Ok(()) => answer.await.unwrap_or(Err(SessionError::NotRunning)),
                Err(_) => Err(SessionError::NotRunning),
            }
        }
    };
    let reply = match result {
        Ok(text) => format!("ok {}\n", text.replace('\n', " ")),
        Err(e) => format!("error {}\n", e.to_string().replace('\n', "\t")),
    };
    writer.write_all(reply.as_bytes()).await
}

/// Asks the owner listening on `socket`; its answer, or why there is none.
pub async fn ask(
    socket: &Path,
    command: &Command,
    timeout: Duration,
) -> Result<String, SessionError> {
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await.map_err(|e| {
            SessionError::Owner(format!(
                "cannot reach the cluster's owner ({}): {e}\n  fix: is the cluster up? `n3x cluster status`",
                socket.display()
            ))
        })?;
        stream
            .write_all(format!("{}\n", command.line()).as_bytes())
            .await
            .map_err(|e| SessionError::Owner(format!("cannot ask the cluster's owner: {e}")))?;
        let mut reply = String::new();
        BufReader::new(stream)
            .read_line(&mut reply)
            .await
            .map_err(|e| SessionError::Owner(format!("the cluster's owner did not answer: {e}")))?;
        let reply = reply.trim_end();
        match reply.split_once(' ') {
            Some(("ok", text)) => Ok(text.to_string()),
            Some(("error", text)) => Err(SessionError::Owner(text.replace('\t', "\n"))),
            _ => Err(SessionError::Owner(format!(
                "the cluster's owner answered `{reply}`"
            ))),
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(SessionError::Owner(format!(
                "the cluster's owner did not answer `{}` within {}s",
                command.line(),
                timeout.as_secs()
            )))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_owner_answers_what_it_is_asked_and_an_absent_owner_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join(SOCKET);
        let (tx, mut requests) = mpsc::channel(4);
        let server = tokio::spawn(serve(socket.clone(), tx));
        // An owner whose cluster is still starting refuses node requests; it tears down.
        tokio::spawn(async move {
            while let Some((command, reply)) = requests.recv().await {
                let _ = reply.send(match command {
                    Command::Down => Ok("tearing the cluster down".into()),
                    _ => Err(SessionError::NotRunning),
                });
            }
        });
        while !socket.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let t = Duration::from_secs(5);
        let err = ask(&socket, &Command::Restart("a".into()), t)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("starting or stopping"), "{err}");
        assert_eq!(
            ask(&socket, &Command::Down, t).await.unwrap(),
            "tearing the cluster down"
        );
        server.abort();
        let gone = ask(&dir.path().join("nope"), &Command::Down, t)
            .await
            .unwrap_err()
            .to_string();
        assert!(gone.contains("is the cluster up?"), "{gone}");
    }
}
