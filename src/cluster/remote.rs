//! A cluster that another `n3x` process owns, seen from here: each node's console through the
//! owner's relay socket (the owner's supervisor stays the only reader of the PTY), its lines
//! from the console log (every byte the console wrote, from the start), its state from those
//! lines, its QEMU's pid and its control channel. [`follow`] publishes the same
//! [`ClusterUpdate`]s the engine does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ClusterError;
use super::control::ControlChannel;
use super::engine::{
    BOOT_DEADLINE, ClusterUpdate, LinePublisher, NodeState, Updates, net_up_addresses,
};
use super::info::{ClusterInfo, NodeInfo, process_alive};
use crate::supervise::{Splitter, text_of};

/// The size of a remote console's screen until it is fitted to a pane: the owner's PTY size.
pub const SCREEN: (u16, u16) = (40, 160);

/// How often the owner's `cluster.json`, the QEMUs and the console logs are looked at.
pub const POLL: Duration = Duration::from_millis(250);

/// Key presses that may wait for the relay's socket before more are refused.
const KEYS_QUEUED: usize = 256;

/// A node's console served by the owner's relay: a screen fed from the socket and a queue of
/// keys for it. Cloning shares it; the connection ends when the last clone is dropped.
#[derive(Clone)]
pub struct RemoteConsole {
    inner: Arc<Inner>,
}

struct Inner {
    parser: Arc<Mutex<vt100::Parser>>,
    input: mpsc::Sender<Vec<u8>>,
    pid: u32,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for RemoteConsole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConsole")
            .field("pid", &self.inner.pid)
            .finish()
    }
}

impl RemoteConsole {
    /// Connects to the relay at `socket` (again and again while it is not there) for the
    /// QEMU `pid`. Must be called inside a tokio runtime.
    pub fn connect(socket: PathBuf, pid: u32) -> RemoteConsole {
        let parser = Arc::new(Mutex::new(vt100::Parser::new(SCREEN.0, SCREEN.1, 0)));
        let (input, keys) = mpsc::channel(KEYS_QUEUED);
        let task = tokio::spawn(relay_client(socket, Arc::clone(&parser), keys, pid));
        RemoteConsole {
            inner: Arc::new(Inner {
                parser,
                input,
                pid,
                task,
            }),
        }
    }

    /// The QEMU's pid.
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }

    /// Runs `f` on the console's screen.
    pub fn with_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        let parser = self.inner.parser.lock().unwrap_or_else(|e| e.into_inner());
        f(parser.screen())
    }

    /// Gives the screen `rows`×`cols` (the pane's size). The owner's PTY keeps its size; a
    /// serial console writes lines, and they wrap and scroll to fit here.
    pub fn fit(&self, rows: u16, cols: u16) {
        let mut parser = self.inner.parser.lock().unwrap_or_else(|e| e.into_inner());
        if rows > 0 && cols > 0 && parser.screen().size() != (rows, cols) {
            parser.screen_mut().set_size(rows, cols);
        }
    }

    /// Sends keys to the console.
    pub fn write_input(&self, bytes: &[u8]) -> Result<(), ClusterError> {
        if !process_alive(self.inner.pid) {
            return Err(ClusterError::Ended {
                pid: self.inner.pid,
            });
        }
        self.inner
            .input
            .try_send(bytes.to_vec())
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    ClusterError::Relay("is not taking keys (too many wait)")
                }
                mpsc::error::TrySendError::Closed(_) => ClusterError::Relay("has closed"),
            })
    }
}

async fn relay_client(
    socket: PathBuf,
    parser: Arc<Mutex<vt100::Parser>>,
    mut keys: mpsc::Receiver<Vec<u8>>,
    pid: u32,
) {
    while process_alive(pid) {
        let Ok(stream) = UnixStream::connect(&socket).await else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        // The relay starts with the screen as it is now.
        {
            let mut parser = parser.lock().unwrap_or_else(|e| e.into_inner());
            let (rows, cols) = parser.screen().size();
            *parser = vt100::Parser::new(rows, cols, 0);
        }
        let (mut reader, mut writer) = stream.into_split();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                n = reader.read(&mut buf) => match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => parser
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .process(&buf[..n]),
                },
                key = keys.recv() => match key {
                    Some(bytes) => {
                        if writer.write_all(&bytes).await.is_err() {
                            break;
                        }
                    }
                    None => return,
                },
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Follows the cluster described by `runtime`'s `cluster.json` until it is gone (torn down, or
/// its owner ended), publishing every node's console, lines and state. A node the owner
/// restarts (a new pid in `cluster.json`) is followed anew.
pub async fn follow(runtime: PathBuf, updates: Updates) {
    let mut followers: BTreeMap<String, (u32, JoinHandle<()>)> = BTreeMap::new();
    while let Ok(info) = ClusterInfo::load(&runtime) {
        if !info.owner_alive() {
            break;
        }
        for node in &info.nodes {
            if followers
                .get(&node.name)
                .is_some_and(|(pid, _)| *pid == node.pid)
            {
                continue;
            }
            if let Some((_, old)) = followers.remove(&node.name) {
                old.abort();
            }
            let console = RemoteConsole::connect(node.console.clone(), node.pid);
            updates.send(ClusterUpdate::Remote {
                node: node.name.clone(),
                console,
            });
            let task = tokio::spawn(follow_node(runtime.clone(), node.clone(), updates.clone()));
            followers.insert(node.name.clone(), (node.pid, task));
        }
        tokio::time::sleep(POLL).await;
    }
    for (_, (_, task)) in followers {
        task.abort();
    }
}

/// One node: its console log's lines (and the states they show), its control channel once
/// the network is up, and the end of its QEMU.
async fn follow_node(runtime: PathBuf, node: NodeInfo, updates: Updates) {
    let state = |s: NodeState| {
        updates.send(ClusterUpdate::State {
            node: node.name.clone(),
            state: s,
        });
    };
    state(NodeState::Starting);
    let mut published = LinePublisher::new(&node.name, updates.clone());
    let mut tail = Tail::new(&node.console_log);
    let mut booting = false;
    let mut addresses: Option<Vec<String>> = None;
    let mut asked: Option<JoinHandle<bool>> = None;
    let mut ready = false;
    loop {
        let alive = process_alive(node.pid);
        for text in tail.read() {
            if !booting && !text.trim().is_empty() {
                booting = true;
                state(NodeState::Booting);
            }
            if let Some(found) = net_up_addresses(&text) {
                state(if ready {
                    NodeState::Ready(found.clone())
                } else {
                    NodeState::NetworkUp(found.clone())
                });
                addresses = Some(found);
            }
            published.line(text);
        }
        if !alive {
            if restarted(&runtime, &node).await {
                // The follower of the new QEMU takes over; this one was not a failure.
                return;
            }
            state(NodeState::Stopped);
            updates.send(ClusterUpdate::Note(format!(
                "{}: QEMU (pid {}) has ended",
                node.name, node.pid
            )));
            return;
        }
        if addresses.is_some() && asked.is_none() {
            let control = ControlChannel::new(node.control.clone());
            asked = Some(tokio::spawn(async move {
                control.wait_ready(BOOT_DEADLINE).await.is_ok()
            }));
        }
        if let Some(task) = asked.as_mut().filter(|t| t.is_finished() && !ready) {
            ready = true;
            match task.await {
                Ok(true) => state(NodeState::Ready(addresses.clone().unwrap_or_default())),
                _ => state(NodeState::Failed(
                    "the control channel never answered".into(),
                )),
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How long a follower whose QEMU ended waits for the owner to record a new one.
const RESTART_GRACE: Duration = Duration::from_secs(5);

/// Whether the owner replaced `node`'s ended QEMU (a restart): `cluster.json` names another
/// pid for it within [`RESTART_GRACE`].
async fn restarted(runtime: &Path, node: &NodeInfo) -> bool {
    let start = tokio::time::Instant::now();
    while start.elapsed() < RESTART_GRACE {
        match ClusterInfo::load(runtime) {
            Ok(info) if !info.owner_alive() => return false,
            Ok(info) => {
                if info
                    .nodes
                    .iter()
                    .any(|n| n.name == node.name && n.pid != node.pid)
                {
                    return true;
                }
            }
            Err(_) => {}
        }
        tokio::time::sleep(POLL).await;
    }
    false
}

/// The lines appended to a file since the last read.
struct Tail {
    path: PathBuf,
    offset: u64,
    splitter: Splitter,
}

impl Tail {
    fn new(path: &Path) -> Tail {
        Tail {
            path: path.to_path_buf(),
            offset: 0,
            splitter: Splitter::new(),
        }
    }

    fn read(&mut self) -> Vec<String> {
        use std::io::{Read, Seek, SeekFrom};
        let mut out = Vec::new();
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return out;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return out;
        }
        let mut bytes = Vec::new();
        if let Ok(n) = file.read_to_end(&mut bytes) {
            self.offset += n as u64;
        }
        self.splitter.feed(&bytes, &mut |line, cut| {
            out.push(text_of(line, cut).into_owned())
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tail_gives_each_line_once_without_escape_codes() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("n.console.log");
        let mut tail = Tail::new(&log);
        assert!(tail.read().is_empty(), "no file yet");
        std::fs::write(&log, "\x1b[1mBooting\x1b[0m\r\nhalf").unwrap();
        assert_eq!(tail.read(), ["Booting"]);
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(b" a line\nN3X-NET-UP uptime=3.1 eth1=10.0.0.1/24\n")
            .unwrap();
        let lines = tail.read();
        assert_eq!(lines[0], "half a line");
        assert_eq!(
            net_up_addresses(&lines[1]),
            Some(vec!["eth1=10.0.0.1/24".to_string()])
        );
        assert!(tail.read().is_empty());
    }

    #[tokio::test]
    async fn a_remote_console_shows_what_the_relay_sends_and_passes_keys() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("n.console");
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        // This test process stands for the QEMU: it is alive.
        let console = RemoteConsole::connect(socket, std::process::id());
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(b"login: ").await.unwrap();
        console.write_input(b"root\r").unwrap();
        let mut got = [0u8; 5];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"root\r");
        for _ in 0..100 {
            if console.with_screen(|s| s.contents()).contains("login:") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(console.with_screen(|s| s.contents()).starts_with("login:"));
        assert_eq!(console.pid(), std::process::id());
    }

    fn info(dir: &Path, pid: u32) -> ClusterInfo {
        let file = |ext: &str| dir.join(format!("n.{ext}"));
        ClusterInfo {
            profile: "simple".into(),
            owner: std::process::id(),
            accel: "tcg".into(),
            nodes: vec![NodeInfo {
                name: "n".into(),
                role: "server".into(),
                pid,
                control: file("control"),
                qmp: file("qmp"),
                console: file("console"),
                console_log: file("console.log"),
                nics: Vec::new(),
            }],
            logs: dir.to_path_buf(),
            switches: Vec::new(),
            owner_socket: None,
        }
    }

    /// A pid no process has: a child that has been reaped.
    fn ended_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    async fn updates_of(runtime: PathBuf, node: NodeInfo) -> Vec<ClusterUpdate> {
        let (tx, mut rx) = crate::stream::channel(crate::stream::CAPACITY);
        follow_node(runtime, node, tx).await;
        let mut out = Vec::new();
        while let Ok(u) = rx.try_recv() {
            out.push(u);
        }
        out
    }

    #[tokio::test]
    async fn a_qemu_the_owner_replaced_is_a_restart_not_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let old = info(dir.path(), ended_pid());
        // The owner has already recorded the new QEMU (this test process stands for it).
        info(dir.path(), std::process::id())
            .save(dir.path())
            .unwrap();
        let updates = updates_of(dir.path().into(), old.nodes[0].clone()).await;
        assert!(
            !updates.iter().any(|u| matches!(
                u,
                ClusterUpdate::Note(_)
                    | ClusterUpdate::State {
                        state: NodeState::Stopped,
                        ..
                    }
            )),
            "{updates:?}"
        );
    }

    #[tokio::test]
    async fn a_qemu_that_ended_for_good_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let gone = info(dir.path(), ended_pid());
        gone.save(dir.path()).unwrap();
        let updates = updates_of(dir.path().into(), gone.nodes[0].clone()).await;
        assert!(
            updates.iter().any(|u| matches!(
                u,
                ClusterUpdate::Note(n) if n.ends_with("has ended")
            )),
            "{updates:?}"
        );
    }
}
