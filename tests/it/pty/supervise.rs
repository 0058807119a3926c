//! The process supervisor with real programs: every byte in the log, output storms that never
//! block the child, cancellation of whole process trees, exit codes and signals, the death of
//! the workbench, the emulated screen, line events and terminal input.
#![cfg(target_os = "linux")]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use n3x::supervise::{
    Child, ExitStatus, InputError, Output, SpawnError, Spec, Supervisor, exec_wrapper,
};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::sync::mpsc::Receiver;

/// Only keeps a broken test from hanging; no test relies on how long anything takes.
const DEADLINE: Duration = Duration::from_secs(120);

fn supervisor() -> Supervisor {
    Supervisor::new()
        .expect("supervisor starts")
        .with_wrapper(env!("CARGO_BIN_EXE_n3x"))
}

fn spec(dir: &TempDir, argv: &[&str]) -> Spec {
    Spec::new(argv.iter().copied(), dir.path().join("logs/run.log"))
}

fn spawn(dir: &TempDir, argv: &[&str]) -> Child {
    supervisor().spawn(spec(dir, argv)).expect("spawn")
}

async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: nothing after {DEADLINE:?}"),
    }
}

async fn finish(child: &Child) -> ExitStatus {
    within("waiting for the program", child.wait()).await
}

/// Every remaining output event, once the channel has closed.
async fn drain(rx: &mut Receiver<Output>) -> Vec<Output> {
    let mut all = Vec::new();
    while let Some(o) = within("reading lines", rx.recv()).await {
        all.push(o);
    }
    all
}

fn texts(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Line { text, .. } => Some(text.clone()),
            Output::Dropped(_) => None,
        })
        .collect()
}

/// Waits for a line with exactly this text.
async fn wait_for_line(rx: &mut Receiver<Output>, wanted: &str) {
    within(&format!("waiting for the line {wanted:?}"), async {
        while let Some(o) = rx.recv().await {
            if matches!(&o, Output::Line { text, .. } if text == wanted) {
                return;
            }
        }
        panic!("output ended without the line {wanted:?}");
    })
    .await
}

/// `/proc/PID/stat`: (state, process group).
fn stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    Some((state, pgrp))
}

/// Running (not dead, not zombie) process. Zombies count as gone: this machine's init does
/// not reap orphans, so killed grandchildren stay zombies for good.
fn alive(pid: u32) -> bool {
    matches!(stat(pid), Some((state, _)) if state != 'Z' && state != 'X')
}

/// Running processes in process group `pgid`.
fn live_members(pgid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| matches!(stat(pid), Some((s, g)) if g == pgid && s != 'Z' && s != 'X'))
        .collect()
}

/// Waits until nothing in process group `pgid` runs any more and returns what still does. A
/// killed process finishes dying a moment after the signal (and closes its terminal before it
/// is a zombie), so right after `wait` a member may still be on its way out.
async fn group_after_exit(pgid: u32) -> Vec<u32> {
    let start = Instant::now();
    while !live_members(pgid).is_empty() && start.elapsed() < DEADLINE {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    live_members(pgid)
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[tokio::test]
async fn the_log_holds_every_byte_of_a_50_mb_output() {
    const N: u64 = 6_400_000;
    let dir = TempDir::new().unwrap();
    let expected = Command::new("seq")
        .args(["1", &N.to_string()])
        .output()
        .unwrap();
    assert!(expected.stdout.len() > 50_000_000);

    let child = spawn(&dir, &["seq", "1", &N.to_string()]);
    let mut rx = child.take_lines().unwrap();
    let reader = tokio::spawn(async move {
        let (mut lines, mut dropped, mut last) = (0u64, 0u64, None);
        while let Some(o) = rx.recv().await {
            match o {
                Output::Line { number, text, .. } => {
                    lines += 1;
                    last = Some((number, text));
                }
                Output::Dropped(n) => dropped += n,
            }
        }
        (lines, dropped, last)
    });
    let status = finish(&child).await;
    assert!(status.success(), "{status}");

    let log = std::fs::read(child.log_path()).unwrap();
    assert_eq!(log.len(), expected.stdout.len(), "log size");
    // Byte for byte what seq wrote: no \r added by the terminal.
    assert_eq!(sha256(&log), sha256(&expected.stdout), "log contents");
    assert_eq!(child.bytes_written(), log.len() as u64);

    let (lines, dropped, last) = within("line reader", reader).await.unwrap();
    assert_eq!(
        lines + dropped,
        N,
        "every line delivered or counted as dropped"
    );
    if dropped == 0 {
        assert_eq!(last, Some((N, N.to_string())));
    }
    assert_eq!(child.tail().last().map(String::as_str), Some("6400000"));
}

#[tokio::test]
async fn an_output_storm_never_blocks_a_child_whose_lines_nobody_reads() {
    const N: u64 = 2_000_000;
    let dir = TempDir::new().unwrap();
    let mut spec = spec(&dir, &["sh", "-c", &format!("yes | head -n {N}")]);
    spec.line_capacity = 64;
    let child = supervisor().spawn(spec).unwrap();
    let mut rx = child.take_lines().unwrap();

    // Nobody reads the lines while the child writes 2 million of them.
    let status = finish(&child).await;
    assert!(status.success(), "{status}");
    assert!(rx.len() <= 64, "the channel holds {} events", rx.len());
    assert_eq!(std::fs::metadata(child.log_path()).unwrap().len(), 2 * N);

    let all = drain(&mut rx).await;
    let delivered = texts(&all).len() as u64;
    let dropped: u64 = all
        .iter()
        .map(|o| if let Output::Dropped(n) = o { *n } else { 0 })
        .sum();
    assert!(dropped > 0, "a Dropped marker says lines were skipped");
    assert_eq!(delivered + dropped, N, "every line delivered or counted");
    assert!(matches!(all.last(), Some(Output::Dropped(_))));
}

#[tokio::test]
async fn cancel_ends_the_whole_process_tree() {
    let dir = TempDir::new().unwrap();
    // Two subshells, each with a sleep. They ignore SIGHUP, so the hangup that follows the
    // death of the session leader cannot be what ends them: only a signal to the group can.
    let script = "trap '' HUP
        for i in 1 2; do (trap \"echo sub$i got TERM; exit 0\" TERM; sleep 1000 & wait) & done
        echo started; wait";
    let child = spawn(&dir, &["sh", "-c", script]);
    let mut rx = child.take_lines().unwrap();
    wait_for_line(&mut rx, "started").await;
    let pgid = child.pid();
    let start = Instant::now();
    while live_members(pgid).len() < 5 && start.elapsed() < DEADLINE {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(live_members(pgid).len(), 5, "sh, two subshells, two sleeps");

    child.cancel();
    let status = finish(&child).await;
    assert_eq!(status.signal, Some(libc::SIGTERM), "{status}");
    assert!(child.cancel_requested());
    let mut got = texts(&drain(&mut rx).await);
    got.sort();
    assert_eq!(got, ["sub1 got TERM", "sub2 got TERM"]);
    // kill(-pgid, 0) would still find the zombies this machine's init never reaps.
    assert_eq!(
        group_after_exit(pgid).await,
        Vec::<u32>::new(),
        "nothing of the group runs"
    );
}

#[tokio::test]
async fn a_child_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let dir = TempDir::new().unwrap();
    let mut spec = spec(&dir, &["sh", "-c", "trap '' TERM; echo ready; sleep 1000"]);
    spec.grace = Duration::from_millis(300);
    let child = supervisor().spawn(spec).unwrap();
    let mut rx = child.take_lines().unwrap();
    wait_for_line(&mut rx, "ready").await;

    child.cancel();
    let status = finish(&child).await;
    assert_eq!(status.signal, Some(libc::SIGKILL), "{status}");
    assert_eq!(status.to_string(), "killed by signal 9 (SIGKILL)");
    assert_eq!(group_after_exit(child.pid()).await, Vec::<u32>::new());
}

#[tokio::test]
async fn leftovers_that_keep_the_terminal_open_do_not_keep_wait_waiting() {
    let dir = TempDir::new().unwrap();
    // The background sleep ignores the hangup and would hold the terminal forever.
    let mut spec = spec(
        &dir,
        &["sh", "-c", "trap '' HUP; sleep 1000 & echo started"],
    );
    spec.grace = Duration::from_millis(300);
    let child = supervisor().spawn(spec).unwrap();
    let status = finish(&child).await;
    assert_eq!(status.code, Some(0), "{status}");
    assert_eq!(child.tail(), ["started"]);
    assert_eq!(group_after_exit(child.pid()).await, Vec::<u32>::new());
}

#[tokio::test]
async fn exit_codes_and_signals_are_reported() {
    let dir = TempDir::new().unwrap();
    let exited = spawn(&dir, &["sh", "-c", "echo bye; exit 3"]);
    let status = finish(&exited).await;
    assert_eq!(
        status,
        ExitStatus {
            code: Some(3),
            signal: None
        }
    );
    assert_eq!(exited.tail(), ["bye"]);

    let killed = spawn(&dir, &["sh", "-c", "kill -USR1 $$"]);
    let status = finish(&killed).await;
    assert_eq!(
        status,
        ExitStatus {
            code: None,
            signal: Some(libc::SIGUSR1)
        }
    );
    assert_eq!(status.to_string(), "killed by signal 10 (SIGUSR1)");
}

#[tokio::test]
async fn a_missing_program_exits_127_and_the_log_says_why() {
    let dir = TempDir::new().unwrap();
    let child = spawn(&dir, &["n3x-test-no-such-program", "--flag"]);
    let mut rx = child.take_lines().unwrap();
    let status = finish(&child).await;
    assert_eq!(status.code, Some(127), "{status}");
    let message = "n3x: cannot run 'n3x-test-no-such-program': No such file or directory";
    let log = std::fs::read_to_string(child.log_path()).unwrap();
    assert_eq!(log.trim_end(), message);
    assert_eq!(texts(&drain(&mut rx).await), [message]);
}

#[tokio::test]
async fn bad_specs_are_refused_before_anything_runs() {
    let dir = TempDir::new().unwrap();
    let empty: [&str; 0] = [];
    let err = supervisor().spawn(spec(&dir, &empty)).unwrap_err();
    assert!(matches!(err, SpawnError::EmptyCommand), "{err}");

    let mut bad_cwd = spec(&dir, &["true"]);
    bad_cwd.cwd = Some(dir.path().join("missing"));
    let err = supervisor().spawn(bad_cwd).unwrap_err();
    assert!(matches!(err, SpawnError::Cwd { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
}

#[tokio::test]
async fn environment_working_directory_and_log_permissions() {
    let dir = TempDir::new().unwrap();
    let mut spec = spec(&dir, &["sh", "-c", "echo \"$N3X_TEST $TERM\"; pwd"]);
    spec.env.push(("N3X_TEST".into(), "hello".into()));
    spec.cwd = Some(dir.path().to_path_buf());
    let child = supervisor().spawn(spec).unwrap();
    let mut rx = child.take_lines().unwrap();
    assert!(finish(&child).await.success());
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(
        texts(&drain(&mut rx).await),
        ["hello xterm-256color", cwd.to_str().unwrap()]
    );
    let mode = std::fs::metadata(child.log_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn the_log_has_the_programs_bytes_and_the_screen_shows_them_as_a_terminal_would() {
    let dir = TempDir::new().unwrap();
    let child = spawn(
        &dir,
        &["printf", "\\033[31mRED\\033[0m plain\\nsecond line\\n"],
    );
    assert!(finish(&child).await.success());
    assert_eq!(
        std::fs::read(child.log_path()).unwrap(),
        b"\x1b[31mRED\x1b[0m plain\nsecond line\n"
    );
    child.with_screen(|screen| {
        let rows: Vec<String> = screen.rows(0, 80).take(2).collect();
        assert_eq!(rows, ["RED plain", "second line"]);
        let cell = screen.cell(0, 0).unwrap();
        assert_eq!(cell.contents(), "R");
        assert_eq!(cell.fgcolor(), vt100::Color::Idx(1));
        assert_eq!(screen.cell(0, 4).unwrap().fgcolor(), vt100::Color::Default);
    });
}

#[tokio::test]
async fn lines_arrive_in_order_as_plain_text() {
    let dir = TempDir::new().unwrap();
    let child = spawn(
        &dir,
        &[
            "printf",
            "one\\n\\033[1;32mtwo\\033[0m\\r\\nthree\\n10%%\\r50%%\\r100%%\\nno newline",
        ],
    );
    let mut rx = child.take_lines().unwrap();
    assert!(finish(&child).await.success());
    let all = drain(&mut rx).await;
    assert_eq!(texts(&all), ["one", "two", "three", "100%", "no newline"]);
    let numbers: Vec<u64> = all
        .iter()
        .filter_map(|o| match o {
            Output::Line { number, .. } => Some(*number),
            Output::Dropped(_) => None,
        })
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn input_reaches_the_program_through_its_terminal() {
    let dir = TempDir::new().unwrap();
    let child = spawn(&dir, &["sh", "-c", "read answer; echo \"got $answer\""]);
    let mut rx = child.take_lines().unwrap();
    child.write_input(b"hello\n").unwrap();
    assert!(finish(&child).await.success());
    // The terminal echoes what was typed, then the program answers.
    assert_eq!(texts(&drain(&mut rx).await), ["hello", "got hello"]);
    assert!(child.with_screen(|s| s.contents()).contains("got hello"));
    assert_eq!(child.write_input(b"late\n"), Err(InputError::Finished));
}

#[tokio::test]
async fn resizing_tells_the_program_its_new_size() {
    let dir = TempDir::new().unwrap();
    let child = spawn(&dir, &["sh", "-c", "stty size; read x; stty size"]);
    let mut rx = child.take_lines().unwrap();
    wait_for_line(&mut rx, "24 80").await;
    child.resize(30, 100).unwrap();
    child.write_input(b"\n").unwrap();
    assert!(finish(&child).await.success());
    assert_eq!(texts(&drain(&mut rx).await), ["", "30 100"]);
    assert_eq!(child.with_screen(|s| s.size()), (30, 100));
}

#[tokio::test]
async fn output_to_a_reopened_terminal_is_still_read() {
    // The program closes every descriptor of its terminal (the PTY reports end of file), then
    // opens it again through /dev/tty and writes.
    let dir = TempDir::new().unwrap();
    let child = spawn(
        &dir,
        &[
            "sh",
            "-c",
            "echo before; exec </dev/null >/dev/null 2>&1; sleep 0.5; echo after >/dev/tty",
        ],
    );
    assert!(finish(&child).await.success());
    assert_eq!(
        std::fs::read_to_string(child.log_path()).unwrap(),
        "before\nafter\n"
    );
}

#[tokio::test]
async fn pipelines_in_the_program_end_quietly_as_in_a_shell() {
    // Rust ignores SIGPIPE; the program must get the default back, or `yes` complains.
    let dir = TempDir::new().unwrap();
    let child = spawn(&dir, &["sh", "-c", "yes | head -n 3"]);
    let mut rx = child.take_lines().unwrap();
    assert!(finish(&child).await.success());
    assert_eq!(texts(&drain(&mut rx).await), ["y", "y", "y"]);
}

#[tokio::test]
async fn dropping_the_last_handle_cancels_the_program() {
    let dir = TempDir::new().unwrap();
    let mut spec = spec(&dir, &["sleep", "1000"]);
    spec.grace = Duration::from_millis(300);
    let child = supervisor().spawn(spec).unwrap();
    let pid = child.pid();
    let clone = child.clone();
    drop(child);
    assert!(alive(pid), "a clone still holds it");
    drop(clone);
    let start = Instant::now();
    while alive(pid) && start.elapsed() < DEADLINE {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!alive(pid), "the program was stopped");
}

#[test]
fn the_wrapper_does_not_start_the_program_when_the_workbench_is_gone() {
    let run = |parent: u32| {
        Command::new(env!("CARGO_BIN_EXE_n3x"))
            .args([exec_wrapper::ARG, &parent.to_string(), "--", "echo", "ran"])
            .stderr(Stdio::null())
            .output()
            .unwrap()
    };
    // Its parent is this test process: the program runs.
    let ok = run(std::process::id());
    assert_eq!(ok.stdout, b"ran\n");
    assert!(ok.status.success());
    // It expected another parent, so the one that started it has died: nothing runs.
    let gone = run(1);
    assert_eq!(gone.stdout, b"");
    assert_eq!(
        gone.status.code(),
        Some(i32::from(exec_wrapper::EXIT_WRAPPER_FAILED))
    );
}

const HELPER_ENV: &str = "N3X_SUPERVISE_DEATH_HELPER";
const HELPER_TEST: &str = "pty::supervise::workbench_stand_in";

/// Not a test: the stand-in for the workbench in `the_program_dies_with_the_workbench`. It
/// supervises a program and waits to be killed.
#[test]
#[ignore = "helper process of the_program_dies_with_the_workbench"]
fn workbench_stand_in() {
    let Some(dir) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    // The program ignores SIGHUP, so the terminal's hangup cannot be what kills it.
    let spec = Spec::new(
        ["sh", "-c", "trap '' HUP; exec sleep 1000"],
        Path::new(&dir).join("stand-in.log"),
    );
    let child = supervisor().spawn(spec).unwrap();
    println!("supervised-pid {}", child.pid());
    std::thread::sleep(DEADLINE);
}

#[test]
fn the_program_dies_with_the_workbench() {
    let dir = TempDir::new().unwrap();
    let mut workbench = Command::new(std::env::current_exe().unwrap())
        .args([HELPER_TEST, "--exact", "--ignored", "--nocapture"])
        .env(HELPER_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = workbench.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(pid) = line.strip_prefix("supervised-pid ") {
                let _ = tx.send(pid.parse::<u32>().unwrap());
            }
        }
    });
    let pid = rx
        .recv_timeout(DEADLINE)
        .expect("the stand-in reports its child");

    // Wait until the wrapper has become `sleep` (it asked for the death signal before that).
    let start = Instant::now();
    let cmdline = || std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    while cmdline() != b"sleep\x001000\x00" && start.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(cmdline(), b"sleep\x001000\x00");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        .unwrap();
    assert_ne!(
        ignored & (1 << (libc::SIGHUP - 1)),
        0,
        "sleep ignores SIGHUP"
    );

    workbench.kill().unwrap(); // SIGKILL: no chance to clean up
    workbench.wait().unwrap();
    let start = Instant::now();
    while alive(pid) && start.elapsed() < DEADLINE {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(pid), "the supervised program outlived the workbench");
}

/// A program that embeds the library and is not n3x (this test binary) must not put itself in
/// front of the programs it starts: that re-ran the program, which started programs again (a
/// fresh `cargo bench --bench cluster` forked 150+ copies of itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_is_not_n3x_refuses_to_be_the_exec_wrapper() {
    let dir = TempDir::new().unwrap();
    let bare = Supervisor::new().expect("supervisor starts");
    assert_eq!(bare.wrapper(), None);
    let err = bare.spawn(spec(&dir, &["true"])).map(|_| ()).unwrap_err();
    assert!(matches!(err, SpawnError::NotAWrapper { .. }), "{err:?}");
    assert!(err.to_string().contains("with_wrapper"), "{err}");

    // The quick image on an empty state directory, as the cluster benchmark asks for it: one
    // clear error, and no copy of this test binary started.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = std::sync::Arc::new(n3x::profile::Profiles::load(&repo.join("profiles")).unwrap());
    let state = dir.path().join("state");
    let result = within(
        "the quick image",
        n3x::cluster::base::ensure(p, repo, &state, None, bare, &|_| {}),
    )
    .await;
    let err = result.map(|_| ()).unwrap_err().to_string();
    assert!(err.contains("is not n3x"), "{err}");
    let me = std::env::current_exe().unwrap();
    let as_wrapper = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let proc = e.ok()?.path();
            let exe = std::fs::read_link(proc.join("exe")).ok()?;
            let cmdline = std::fs::read(proc.join("cmdline")).ok()?;
            Some(
                exe == me
                    && cmdline
                        .split(|&b| b == 0)
                        .any(|a| a == exec_wrapper::ARG.as_bytes()),
            )
        })
        .filter(|&hit| hit)
        .count();
    assert_eq!(as_wrapper, 0, "{} ran as the exec wrapper", me.display());
}
