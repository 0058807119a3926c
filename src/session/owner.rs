//! The owner's socket: the process that runs a cluster (`n3x cluster up`, or the workbench)
//! takes requests from other `n3x` processes on a unix socket in the private runtime
//! directory — restart, stop or start a node, tear everything down — because only the owner's
//! supervisor may start and stop its QEMUs. One request line, one answer line
//! (`ok …` or `error …`).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Mutex, Notify};

use crate::cluster::engine::Cluster;

/// The socket's file name in the runtime directory.
pub const SOCKET: &str = "owner.sock";

/// The running cluster, shared by the owner and its socket (`None` while it starts or once
/// it is down).
pub type Slot = Arc<Mutex<Option<Cluster>>>;

/// What another process asks of the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Stop a node's QEMU and start it again.
    Restart(String),
    /// Stop a node's QEMU.
    Stop(String),
    /// Start a stopped node again.
    Start(String),
    /// Tear the cluster down.
    Down,
}

impl Request {
    /// The request as it travels (one line, without the newline).
    pub fn line(&self) -> String {
        match self {
            Request::Restart(n) => format!("restart {n}"),
            Request::Stop(n) => format!("stop {n}"),
            Request::Start(n) => format!("start {n}"),
            Request::Down => "down".into(),
        }
    }

    /// Reads a request line.
    pub fn parse(line: &str) -> Result<Request, String> {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let node = words.next().map(str::to_string);
        match (verb, node) {
            ("restart", Some(n)) => Ok(Request::Restart(n)),
            ("stop", Some(n)) => Ok(Request::Stop(n)),
            ("start", Some(n)) => Ok(Request::Start(n)),
            ("down", None) => Ok(Request::Down),
            _ => Err(format!(
                "unknown request `{line}`: expected restart NODE, stop NODE, start NODE or down"
            )),
        }
    }
}

/// Serves requests on `socket` until the task is dropped: node requests run on the cluster in
/// `slot`; `down` wakes whoever waits on `down` (the owner tears the cluster down itself).
pub async fn serve(socket: PathBuf, slot: Slot, down: Arc<Notify>) -> io::Result<()> {
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)?;
    loop {
        let (stream, _) = listener.accept().await?;
        let (slot, down) = (Arc::clone(&slot), Arc::clone(&down));
        tokio::spawn(async move {
            let _ = answer(stream, slot, down).await;
        });
    }
}

async fn answer(stream: UnixStream, slot: Slot, down: Arc<Notify>) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut line = String::new();
    BufReader::new(reader.take(4096))
        .read_line(&mut line)
        .await?;
    let result = match Request::parse(line.trim()) {
        Err(e) => Err(e),
        Ok(Request::Down) => {
            down.notify_one();
            Ok("tearing the cluster down".to_string())
        }
        Ok(request) => {
            let mut guard = slot.lock().await;
            match guard.as_mut() {
                None => Err("the cluster is starting or stopping; try again".to_string()),
                Some(cluster) => match &request {
                    Request::Restart(n) => cluster
                        .restart_node(n)
                        .await
                        .map(|()| format!("{n} restarted")),
                    Request::Stop(n) => cluster.stop_node(n).await.map(|()| format!("{n} stopped")),
                    Request::Start(n) => {
                        cluster.start_node(n).await.map(|()| format!("{n} started"))
                    }
                    Request::Down => unreachable!("answered above"),
                },
            }
        }
    };
    let reply = match result {
        Ok(text) => format!("ok {}\n", text.replace('\n', " ")),
        Err(text) => format!("error {}\n", text.replace('\n', "\t")),
    };
    writer.write_all(reply.as_bytes()).await
}

/// Asks the owner listening on `socket`; its answer, or why there is none.
pub async fn ask(socket: &Path, request: &Request, timeout: Duration) -> Result<String, String> {
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await.map_err(|e| {
            format!(
                "cannot reach the cluster's owner ({}): {e}\n  fix: is the cluster up? `n3x cluster status`",
                socket.display()
            )
        })?;
        stream
            .write_all(format!("{}\n", request.line()).as_bytes())
            .await
            .map_err(|e| format!("cannot ask the cluster's owner: {e}"))?;
        let mut reply = String::new();
        BufReader::new(stream)
            .read_line(&mut reply)
            .await
            .map_err(|e| format!("the cluster's owner did not answer: {e}"))?;
        let reply = reply.trim_end();
        match reply.split_once(' ') {
            Some(("ok", text)) => Ok(text.to_string()),
            Some(("error", text)) => Err(text.replace('\t', "\n")),
            _ => Err(format!("the cluster's owner answered `{reply}`")),
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the cluster's owner did not answer `{}` within {}s",
                request.line(),
                timeout.as_secs()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bad_ones_say_what_is_expected() {
        for r in [
            Request::Restart("agent-1".into()),
            Request::Stop("server-1".into()),
            Request::Start("server-1".into()),
            Request::Down,
        ] {
            assert_eq!(Request::parse(&r.line()), Ok(r));
        }
        let err = Request::parse("reboot x").unwrap_err();
        assert!(err.contains("expected restart NODE"), "{err}");
        assert!(Request::parse("restart").is_err());
    }

    #[tokio::test]
    async fn the_owner_answers_down_and_refuses_node_requests_without_a_cluster() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join(SOCKET);
        let slot: Slot = Arc::new(Mutex::new(None));
        let down = Arc::new(Notify::new());
        let server = tokio::spawn(serve(socket.clone(), slot, Arc::clone(&down)));
        while !socket.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let t = Duration::from_secs(5);
        let err = ask(&socket, &Request::Restart("a".into()), t)
            .await
            .unwrap_err();
        assert!(err.contains("starting or stopping"), "{err}");
        let notified = down.notified();
        assert_eq!(
            ask(&socket, &Request::Down, t).await.unwrap(),
            "tearing the cluster down"
        );
        tokio::time::timeout(t, notified).await.unwrap();
        server.abort();
        let gone = ask(&dir.path().join("nope"), &Request::Down, t)
            .await
            .unwrap_err();
        assert!(gone.contains("is the cluster up?"), "{gone}");
    }
}
