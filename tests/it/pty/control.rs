//! The control channel against real bash processes standing in for the guest: a unix socket
//! whose far end is `bash --noprofile --norc` reading its commands from the socket, which is
//! what the guest does with `/dev/hvc0` behind QEMU's chardev socket.
#![cfg(target_os = "linux")]

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use n3x::cluster::control::{ControlChannel, ControlError, ExecOutput};
use tempfile::TempDir;

use shell_server::{Loss, ShellServer};

/// Only keeps a broken test from hanging; no test relies on how long anything takes.
const DEADLINE: Duration = Duration::from_secs(120);

/// A call's timeout where the call is expected to finish.
const CALL: Duration = Duration::from_secs(30);

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: nothing after {DEADLINE:?}"),
    }
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn exec(channel: &ControlChannel, argv: &[&str]) -> ExecOutput {
    within("exec", channel.exec(&args(argv), CALL))
        .await
        .unwrap_or_else(|e| panic!("{argv:?}: {e}"))
}

async fn shell(channel: &ControlChannel, script: &str) -> ExecOutput {
    within("shell", channel.shell(script, CALL))
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

fn out(code: i32, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput {
        code,
        stdout: stdout.into(),
        stderr: stderr.into(),
    }
}

#[tokio::test]
async fn stdout_stderr_and_the_exit_code_come_back_separately() {
    let dir = TempDir::new().unwrap();
    let server = ShellServer::per_connection(&dir);
    let channel = ControlChannel::new(server.path());
    within("ready", channel.wait_ready(CALL)).await.unwrap();
    let got = exec(&channel, &["sh", "-c", "echo out; echo err >&2; exit 3"]).await;
    assert_eq!(got, out(3, "out\n", "err\n"));
    // Calls one after another, each on its own connection.
    assert_eq!(exec(&channel, &["true"]).await, out(0, "", ""));
    assert_eq!(exec(&channel, &["false"]).await, out(1, "", ""));
    let missing = exec(&channel, &["no-such-program-n3x"]).await;
    assert_eq!(missing.code, 127, "{missing:?}");
    assert!(
        missing.stderr.contains("no-such-program-n3x"),
        "{missing:?}"
    );
}

#[tokio::test]
async fn arguments_arrive_unchanged() {
    let dir = TempDir::new().unwrap();
    let server = ShellServer::per_connection(&dir);
    let channel = ControlChannel::new(server.path());
    let tricky = [
        "two words",
        "it's",
        "\"double\"",
        "$HOME",
        "${PATH}",
        "$(id)",
        "`id`",
        "a;b",
        "x && y || z",
        "line one\nline two",
        "trailing newline\n\n",
        "\n",
        "",
        " ",
        "\ttab\r",
        "*",
        "~",
        "back\\slash\\",
        "-n",
        "--",
        "'\\''",
        "\u{1b}[31mred\u{1b}[0m",
        "ünïcödé ✓",
        "__N3X_END__",
        "__N3X_RESULT_x__ 0   __N3X_END__",
        "echo __N3X_SYNC_x__",
        "%s %d \\0",
    ];
    let mut argv = vec!["printf", "%s\\0"];
    argv.extend(tricky);
    let got = exec(&channel, &argv).await;
    let mut expected = String::new();
    for arg in tricky {
        expected.push_str(arg);
        expected.push('\0');
    }
    assert_eq!(got, out(0, &expected, ""));

    // A script travels as unchanged as the arguments do.
    let script = format!(
        "cat <<'EOF'\n{}\nEOF\necho \"$0\" \"$#\" >&2",
        tricky.join("\n")
    );
    let got = shell(&channel, &script).await;
    assert_eq!(got.stdout, format!("{}\n", tricky.join("\n")));
    assert!(got.stderr.ends_with(" 0\n"), "{got:?}");

    let nul = channel.exec(&args(&["echo", "a\0b"]), CALL).await;
    assert!(matches!(nul, Err(ControlError::Request(_))), "{nul:?}");
    let empty = channel.exec(&[], CALL).await;
    assert!(matches!(empty, Err(ControlError::Request(_))), "{empty:?}");
}

#[tokio::test]
async fn big_and_binary_output_and_a_big_script() {
    let dir = TempDir::new().unwrap();
    let server = ShellServer::per_connection(&dir);
    let channel = ControlChannel::new(server.path());

    // More than 1 MB, with the bytes a terminal or a line protocol could trip over.
    let script = "seq -f 'line %07g' 1 100000\nprintf '\\0\\1\\033[31m\\r\\n__N3X_END__\\n' \nprintf 'e%.0s' $(seq 1 5000) >&2";
    let got = shell(&channel, script).await;
    let mut expected: String = (1..=100_000).map(|i| format!("line {i:07}\n")).collect();
    expected.push_str("\0\u{1}\u{1b}[31m\r\n__N3X_END__\n");
    assert!(expected.len() > 1_000_000);
    assert_eq!(got.code, 0);
    assert!(
        got.stdout == expected,
        "stdout differs ({} bytes)",
        got.stdout.len()
    );
    assert_eq!(got.stderr, "e".repeat(5000));

    // Bytes that are not UTF-8 arrive as replacement characters, everything else intact.
    let got = shell(&channel, "printf 'a\\377b\\376'").await;
    assert_eq!(got.stdout, "a\u{fffd}b\u{fffd}");

    // A script far longer than a single argument may be (128 KiB).
    let mut big = String::from("n=0\n");
    for _ in 0..20_000 {
        big.push_str("n=$((n+1)) # padding padding\n");
    }
    big.push_str("echo \"$n\"\n");
    assert!(big.len() > 500_000);
    assert_eq!(shell(&channel, &big).await, out(0, "20000\n", ""));
}

#[tokio::test]
async fn big_output_waits_for_the_host() {
    let dir = TempDir::new().unwrap();
    // Whatever goes beyond 100 KiB without the host answering is lost: the answer of 1.3 MB
    // arrives whole only because the guest waits for an acknowledgement after each chunk.
    let server = ShellServer::persistent_losing(&dir, Loss::Window(100 * 1024));
    let channel = ControlChannel::new(server.path());
    let got = shell(&channel, "seq -f 'line %07g' 1 100000; seq 1 50000 >&2").await;
    let expected: String = (1..=100_000).map(|i| format!("line {i:07}\n")).collect();
    let expected_err: String = (1..=50_000).map(|i| format!("{i}\n")).collect();
    assert!(
        got.stdout == expected,
        "stdout differs ({} bytes)",
        got.stdout.len()
    );
    assert!(
        got.stderr == expected_err,
        "stderr differs ({} bytes)",
        got.stderr.len()
    );
    assert_eq!(got.code, 0);
}

#[tokio::test]
async fn output_lost_on_the_way_is_noticed() {
    let dir = TempDir::new().unwrap();
    // 300 bytes vanish in the middle of the answer, as when QEMU drops console output.
    let server = ShellServer::persistent_losing(&dir, Loss::Range(300_000..300_300));
    let channel = ControlChannel::new(server.path());
    let got = within("lossy", channel.shell("seq 1 300000", CALL)).await;
    match &got {
        Err(ControlError::Damaged { detail, .. }) => {
            assert!(detail.contains("SHA-256 differs"), "{detail}");
        }
        other => panic!("expected Damaged: {other:?}"),
    }
    let message = got.unwrap_err().to_string();
    assert!(message.contains("run the command again"), "{message}");
    assert_eq!(
        exec(&channel, &["echo", "whole"]).await,
        out(0, "whole\n", "")
    );
}

#[tokio::test]
async fn each_script_gets_a_fresh_shell_in_the_root_directory() {
    let dir = TempDir::new().unwrap();
    let server = ShellServer::persistent(&dir);
    let channel = ControlChannel::new(server.path());
    let got = shell(
        &channel,
        "cd /tmp && pwd; x=1; echo \"$x\"; read -r line; echo \"read=$?\"",
    )
    .await;
    assert_eq!(got, out(0, "/tmp\n1\nread=1\n", ""));
    let got = shell(&channel, "pwd; echo \"${x:-unset}\"").await;
    assert_eq!(got, out(0, "/\nunset\n", ""));
    // Nothing left behind in the guest's temporary directory.
    let got = shell(
        &channel,
        "ls -a \"${TMPDIR:-/tmp}\" | grep -c '^.n3x-ctl' || true",
    )
    .await;
    assert_eq!(
        got.stdout, "5\n",
        "only the running call's five files: {got:?}"
    );
}

#[tokio::test]
async fn a_timeout_stops_the_command_and_the_next_call_works() {
    let dir = TempDir::new().unwrap();
    // Persistent: like the guest, one long-lived shell that the timed-out command would block.
    let server = ShellServer::persistent(&dir);
    let channel = ControlChannel::new(server.path());
    let second = Duration::from_secs(1);
    let got = within("sleep", channel.exec(&args(&["sleep", "30"]), second)).await;
    match got {
        Err(ControlError::Timeout { what, after }) => {
            assert_eq!(after, second);
            assert!(what.contains("`sleep 30`"), "{what}");
        }
        other => panic!("expected a timeout: {other:?}"),
    }
    // The shell is blocked until the guest stops `sleep 30`; well before it would end by
    // itself, the next call gets its answer.
    let got = within(
        "after",
        channel.exec(&args(&["echo", "again"]), Duration::from_secs(20)),
    )
    .await;
    assert_eq!(got.unwrap(), out(0, "again\n", ""));

    // The same with a new shell per connection (the test helper the channel was designed with).
    let dir = TempDir::new().unwrap();
    let server = ShellServer::per_connection(&dir);
    let channel = ControlChannel::new(server.path());
    let got = within("sleep", channel.exec(&args(&["sleep", "30"]), second)).await;
    assert!(matches!(got, Err(ControlError::Timeout { .. })), "{got:?}");
    assert_eq!(
        exec(&channel, &["echo", "again"]).await,
        out(0, "again\n", "")
    );
}

#[tokio::test]
async fn a_command_cut_off_by_a_vanished_client_does_no_harm() {
    let dir = TempDir::new().unwrap();
    let server = ShellServer::persistent(&dir);
    let channel = ControlChannel::new(server.path());
    within("ready", channel.wait_ready(CALL)).await.unwrap();
    // Our own call lines, cut off where a client that gave up or died left them: no open
    // quote or bracket, so the next sync's leading newline ends them.
    for partial in [
        "echo ZWNobyBoaQo= | base64 -d | ba",
        "echo ZWNobyBo",
        "echo ZWNobyBoaQo= | base64 -d |",
    ] {
        let mut raw = std::os::unix::net::UnixStream::connect(server.path()).unwrap();
        raw.write_all(partial.as_bytes()).unwrap();
        drop(raw);
        let got = exec(&channel, &["echo", "fine"]).await;
        assert_eq!(got, out(0, "fine\n", ""), "after {partial:?}");
    }
}

#[tokio::test]
async fn a_guest_that_cannot_set_up_a_call_says_so() {
    let dir = TempDir::new().unwrap();
    let server = ShellServer::persistent(&dir);
    let channel = ControlChannel::new(server.path());
    within("ready", channel.wait_ready(CALL)).await.unwrap();
    // Someone at the guest's shell points it at a temporary directory that does not exist.
    let mut raw = std::os::unix::net::UnixStream::connect(server.path()).unwrap();
    raw.write_all(b"\nexport TMPDIR=/nonexistent/n3x\n")
        .unwrap();
    drop(raw);
    let got = exec(&channel, &["true"]).await;
    assert_eq!(got.code, 125, "{got:?}");
    assert!(
        got.stderr
            .starts_with("n3x control channel: cannot create /nonexistent/n3x/.n3x-ctl-"),
        "{got:?}"
    );
}

#[tokio::test]
async fn two_clients_take_turns_on_one_socket() {
    let dir = TempDir::new().unwrap();
    let server = ShellServer::persistent(&dir);
    let a = ControlChannel::new(server.path());
    let b = ControlChannel::new(server.path());
    let (x, y) = within("both", async {
        tokio::join!(
            a.shell("sleep 0.5; echo a", CALL),
            b.shell("sleep 0.5; echo b", CALL)
        )
    })
    .await;
    assert_eq!(x.unwrap(), out(0, "a\n", ""));
    assert_eq!(y.unwrap(), out(0, "b\n", ""));
}

/// Probes of several stages and a user's `n3x exec` at once: more clients than QEMU queues.
#[tokio::test]
async fn more_clients_than_the_socket_queues_each_get_their_turn() {
    let dir = TempDir::new().unwrap();
    let server = ShellServer::persistent(&dir);
    let calls = (0..6).map(|i| {
        let channel = ControlChannel::new(server.path());
        async move { channel.shell(&format!("sleep 0.2; echo {i}"), CALL).await }
    });
    let answers = within("all six", futures::future::join_all(calls)).await;
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer.unwrap(), out(0, &format!("{i}\n"), ""));
    }
}

#[tokio::test]
async fn wait_ready_waits_for_a_late_socket_and_a_late_shell() {
    let dir = TempDir::new().unwrap();
    let late = ShellServer::per_connection_after(&dir, Duration::from_millis(300), Duration::ZERO);
    let channel = ControlChannel::new(late.path());
    within("late socket", channel.wait_ready(CALL))
        .await
        .unwrap();
    assert_eq!(exec(&channel, &["echo", "up"]).await, out(0, "up\n", ""));

    // Accepted at once, but the first 1.5 s of input go nowhere (the guest has not opened its
    // console yet): the sync is sent again until the shell answers.
    let dir = TempDir::new().unwrap();
    let deaf = ShellServer::per_connection_after(&dir, Duration::ZERO, Duration::from_millis(1500));
    let channel = ControlChannel::new(deaf.path());
    within("late shell", channel.wait_ready(CALL))
        .await
        .unwrap();
}

#[tokio::test]
async fn wait_ready_gives_up_with_a_reason() {
    let dir = TempDir::new().unwrap();
    let two = Duration::from_secs(2);
    let nowhere = ControlChannel::new(dir.path().join("never.sock"));
    let got = within("never", nowhere.wait_ready(two)).await;
    match &got {
        Err(ControlError::NotReady {
            socket,
            after,
            detail,
        }) => {
            assert_eq!(socket, nowhere.socket());
            assert_eq!(*after, two);
            assert_eq!(detail, "the socket never appeared");
        }
        other => panic!("expected NotReady: {other:?}"),
    }
    let message = got.unwrap_err().to_string();
    assert!(
        message.contains("did not answer within 2 s: the guest may not have booted"),
        "{message}"
    );

    // A socket left behind by a QEMU that is gone.
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let got = within("stale", ControlChannel::new(&stale).wait_ready(two)).await;
    assert!(
        matches!(&got, Err(ControlError::NotReady { detail, .. }) if detail.contains("nothing listens")),
        "{got:?}"
    );

    // A socket that accepts but where nobody ever answers (QEMU up, guest not).
    let silent = ShellServer::silent(&dir);
    let channel = ControlChannel::new(silent.path());
    let got = within("silent", channel.wait_ready(two)).await;
    assert!(
        matches!(&got, Err(ControlError::NotReady { detail, .. }) if detail.contains("never answered")),
        "{got:?}"
    );
    let got = within("silent exec", channel.exec(&args(&["true"]), two)).await;
    assert!(matches!(got, Err(ControlError::Timeout { .. })), "{got:?}");
}

#[tokio::test]
async fn a_server_that_hangs_up_or_is_missing_is_named() {
    let dir = TempDir::new().unwrap();
    let rude = ShellServer::closing(&dir);
    let channel = ControlChannel::new(rude.path());
    let got = within("closing", channel.exec(&args(&["true"]), CALL)).await;
    match &got {
        Err(ControlError::Closed { socket, during }) => {
            assert_eq!(socket, channel.socket());
            assert_eq!(*during, "syncing with the guest shell");
        }
        other => panic!("expected Closed: {other:?}"),
    }
    let message = got.unwrap_err().to_string();
    assert!(
        message.contains(&rude.path().display().to_string()),
        "{message}"
    );

    let got = within("closing", channel.wait_ready(Duration::from_secs(1))).await;
    assert!(
        matches!(&got, Err(ControlError::NotReady { detail, .. }) if detail.contains("closed")),
        "{got:?}"
    );

    let missing = ControlChannel::new(dir.path().join("missing.sock"));
    let got = within("missing", missing.exec(&args(&["true"]), CALL)).await;
    match got {
        Err(ControlError::Connect { socket, source }) => {
            assert_eq!(socket, missing.socket());
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Connect: {other:?}"),
    }
}

/// Stand-ins for a guest's control shell behind QEMU's chardev socket.
mod shell_server {
    use std::io::{Read, Write};
    use std::ops::Range;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    use tempfile::TempDir;

    /// Which of a persistent shell's output never reaches the client.
    pub enum Loss {
        /// None of it.
        Nothing,
        /// The bytes at these offsets since the start.
        Range(Range<usize>),
        /// Everything beyond this many bytes since the client last sent something: a host
        /// that reads only when it answers, behind a QEMU that drops what does not fit.
        Window(usize),
    }

    /// A unix socket with a shell behind it.
    pub struct ShellServer {
        path: PathBuf,
        /// The long-lived shell of a persistent server, killed on drop.
        shell: Option<Child>,
        /// A listener nobody accepts on, kept open.
        _listener: Option<UnixListener>,
    }

    /// A listening unix socket with QEMU's chardev backlog of one: a connect beyond the few
    /// it queues fails at once with `EAGAIN`, as at a real node's control socket.
    fn listen_like_qemu(path: &Path) -> UnixListener {
        use std::os::fd::FromRawFd;
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: plain socket calls on a fresh descriptor that is owned right after.
        unsafe {
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0);
            let owned = OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_un = std::mem::zeroed();
            addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
            for (d, s) in addr.sun_path.iter_mut().zip(path.as_os_str().as_bytes()) {
                *d = *s as libc::c_char;
            }
            let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            assert_eq!(libc::bind(fd, (&raw const addr).cast(), len), 0);
            assert_eq!(libc::listen(fd, 1), 0);
            UnixListener::from(owned)
        }
    }

    /// The guest's shell: no startup files, in `/`, with a temporary directory of its own.
    fn bash(dir: &Path) -> Command {
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc"])
            .current_dir("/")
            .env("TMPDIR", tmp);
        command
    }

    impl ShellServer {
        /// The socket's path.
        pub fn path(&self) -> &Path {
            &self.path
        }

        /// Each accepted connection gets its own bash with stdin, stdout and stderr on the
        /// connection; one connection at a time.
        pub fn per_connection(dir: &TempDir) -> Self {
            Self::per_connection_after(dir, Duration::ZERO, Duration::ZERO)
        }

        /// Like [`ShellServer::per_connection`], but the socket appears only after `bind_after`,
        /// and what a client sends during its first `deaf_for` is thrown away.
        pub fn per_connection_after(
            dir: &TempDir,
            bind_after: Duration,
            deaf_for: Duration,
        ) -> Self {
            let path = dir.path().join("ctl.sock");
            let home = dir.path().to_path_buf();
            let bound = bind_after
                .is_zero()
                .then(|| UnixListener::bind(&path).unwrap());
            let at = path.clone();
            thread::spawn(move || {
                let listener = bound.unwrap_or_else(|| {
                    thread::sleep(bind_after);
                    UnixListener::bind(&at).unwrap()
                });
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { return };
                    discard(&stream, deaf_for);
                    let fds = || -> std::io::Result<[OwnedFd; 3]> {
                        Ok([
                            OwnedFd::from(stream.try_clone()?),
                            OwnedFd::from(stream.try_clone()?),
                            OwnedFd::from(stream.try_clone()?),
                        ])
                    };
                    let [stdin, stdout, stderr] = fds().unwrap();
                    let mut child = bash(&home)
                        .stdin(Stdio::from(stdin))
                        .stdout(Stdio::from(stdout))
                        .stderr(Stdio::from(stderr))
                        .spawn()
                        .unwrap();
                    drop(stream);
                    let _ = child.wait();
                }
            });
            ShellServer {
                path,
                shell: None,
                _listener: None,
            }
        }

        /// One bash for all connections, as in the guest: what the current client sends goes
        /// to its stdin, its output goes to the current client or, with none, nowhere.
        pub fn persistent(dir: &TempDir) -> Self {
            Self::persistent_losing(dir, Loss::Nothing)
        }

        /// Like [`ShellServer::persistent`], but some of the shell's output never reaches a
        /// client, as when QEMU drops console output.
        pub fn persistent_losing(dir: &TempDir, loss: Loss) -> Self {
            let path = dir.path().join("ctl.sock");
            let listener = listen_like_qemu(&path);
            let (mut output, output_w) = std::io::pipe().unwrap();
            let mut shell = bash(dir.path())
                .stdin(Stdio::piped())
                .stdout(output_w.try_clone().unwrap())
                .stderr(output_w)
                .spawn()
                .unwrap();
            let mut stdin = shell.stdin.take().unwrap();
            let client: Arc<Mutex<Option<UnixStream>>> = Arc::default();
            let to_client = Arc::clone(&client);
            // Output bytes since the client last sent something.
            let unanswered = Arc::new(AtomicUsize::new(0));
            let answered = Arc::clone(&unanswered);
            thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                let mut offset = 0;
                while let Ok(n @ 1..) = output.read(&mut buf) {
                    let mut kept: Vec<u8> = match &loss {
                        Loss::Range(lost) => (offset..offset + n)
                            .filter(|i| !lost.contains(i))
                            .map(|i| buf[i - offset])
                            .collect(),
                        _ => buf[..n].to_vec(),
                    };
                    offset += n;
                    if let Loss::Window(window) = loss {
                        let before = unanswered.fetch_add(kept.len(), Ordering::SeqCst);
                        kept.truncate(window.saturating_sub(before));
                    }
                    let mut current = to_client.lock().unwrap();
                    if let Some(stream) = current.as_mut()
                        && stream.write_all(&kept).is_err()
                    {
                        *current = None;
                    }
                }
            });
            thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    *client.lock().unwrap() = stream.try_clone().ok();
                    // By hand: std::io::copy would splice(2), which waits for more input.
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = stream.read(&mut buf) {
                        answered.store(0, Ordering::SeqCst);
                        if stdin.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                    *client.lock().unwrap() = None;
                }
            });
            ShellServer {
                path,
                shell: Some(shell),
                _listener: None,
            }
        }

        /// Accepts and hangs up at once.
        pub fn closing(dir: &TempDir) -> Self {
            let path = dir.path().join("ctl.sock");
            let listener = UnixListener::bind(&path).unwrap();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    drop(stream);
                }
            });
            ShellServer {
                path,
                shell: None,
                _listener: None,
            }
        }

        /// Listens, but never accepts: connecting works, nothing ever answers.
        pub fn silent(dir: &TempDir) -> Self {
            let path = dir.path().join("silent.sock");
            let listener = UnixListener::bind(&path).unwrap();
            ShellServer {
                path,
                shell: None,
                _listener: Some(listener),
            }
        }
    }

    /// Read and throw away what arrives on `stream` for `span`.
    fn discard(mut stream: &UnixStream, span: Duration) {
        let end = Instant::now() + span;
        let mut buf = [0u8; 4096];
        while let Some(left) = end
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        {
            stream.set_read_timeout(Some(left)).unwrap();
            if let Ok(0) = stream.read(&mut buf) {
                break;
            }
        }
        stream.set_read_timeout(None).unwrap();
    }

    impl Drop for ShellServer {
        fn drop(&mut self) {
            if let Some(shell) = self.shell.as_mut() {
                let _ = shell.kill();
                let _ = shell.wait();
            }
        }
    }
}
