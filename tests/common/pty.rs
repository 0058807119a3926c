//! The real `n3x` in a real pseudo-terminal, its output read on a thread into a vt100 screen:
//! for the end-to-end tests (`tests/pty_e2e.rs`) and the idle-CPU benchmark (`benches/frame.rs`).
//!
//! Waits poll the screen until a deadline; the deadline only stops a test that would otherwise
//! hang, it is never a statement about speed.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// How long any wait may take before the test gives up (generous: a loaded 2-core machine).
pub const DEADLINE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);

/// What the program wrote: every byte, and the screen those bytes draw.
pub struct Output {
    /// The terminal as the bytes left it.
    pub parser: vt100::Parser,
    /// Every byte written, in order.
    pub bytes: Vec<u8>,
    /// The program closed the terminal (it exited).
    pub eof: bool,
}

/// A running `n3x` in a pseudo-terminal.
pub struct Tui {
    child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Output>>,
    /// The program's own empty state directory (builds, history), gone with it.
    _state: tempfile::TempDir,
}

fn size(cols: u16, rows: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

impl Tui {
    /// Starts `exe args` in a `cols`×`rows` terminal (TERM=xterm-256color) in `cwd`, with no
    /// user configuration, theme or NO_COLOR from the environment, and an empty state
    /// directory of its own (no past builds or test runs of this machine show).
    pub fn spawn(exe: &Path, args: &[&str], cwd: &Path, cols: u16, rows: u16) -> Tui {
        let pair = native_pty_system()
            .openpty(size(cols, rows))
            .expect("a pseudo-terminal opens");
        let mut cmd = CommandBuilder::new(exe);
        cmd.args(args);
        cmd.cwd(cwd);
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_CONFIG_HOME", "/nonexistent/n3x-config");
        let state = tempfile::tempdir().expect("a state directory");
        cmd.env("N3X_STATE_DIR", state.path());
        for var in ["NO_COLOR", "N3X_THEME", "N3X_PROFILES"] {
            cmd.env_remove(var);
        }
        let child = pair.slave.spawn_command(cmd).expect("n3x starts");
        // Only the child holds the terminal's slave side now: when it exits, reads end.
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("a reader");
        let writer = pair.master.take_writer().expect("a writer");
        let output = Arc::new(Mutex::new(Output {
            parser: vt100::Parser::new(rows, cols, 0),
            bytes: Vec::new(),
            eof: false,
        }));
        let sink = Arc::clone(&output);
        thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let mut out = lock(&sink);
                        out.parser.process(&buf[..n]);
                        out.bytes.extend_from_slice(&buf[..n]);
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    // Linux answers EIO once the child has closed its side: that is the end.
                    Err(_) => break,
                }
            }
            lock(&sink).eof = true;
        });
        Tui {
            child,
            master: pair.master,
            writer,
            output,
            _state: state,
        }
    }

    /// The program's process ID.
    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("a running child has a pid")
    }

    /// Types `keys` (bytes as a terminal sends them: "\r" is Enter, "\x1b" Esc).
    pub fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("typing");
        self.writer.flush().expect("typing");
    }

    /// What was written so far.
    pub fn output(&self) -> MutexGuard<'_, Output> {
        lock(&self.output)
    }

    /// The screen as lines of text.
    pub fn lines(&self) -> Vec<String> {
        let out = self.output();
        let (_, cols) = out.parser.screen().size();
        out.parser.screen().rows(0, cols).collect()
    }

    /// Waits until `check` holds for the screen's lines; panics with the screen after
    /// [`DEADLINE`].
    pub fn wait_for(&self, what: &str, check: impl Fn(&[String]) -> bool) {
        let start = Instant::now();
        loop {
            let lines = self.lines();
            if check(&lines) {
                return;
            }
            if start.elapsed() > DEADLINE || self.output().eof {
                panic!(
                    "waited for {what}; the screen is:\n{}",
                    lines.join("\n").trim_end()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Waits until the screen shows `text`.
    pub fn wait_for_text(&self, text: &str) {
        self.wait_for(&format!("{text:?}"), |lines| {
            lines.iter().any(|l| l.contains(text))
        });
    }

    /// Resizes the terminal (the screen model first, so the redraw lands on the new size).
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.output().parser.screen_mut().set_size(rows, cols);
        self.master.resize(size(cols, rows)).expect("resize");
    }

    /// Waits for the program to exit and for its last bytes; panics after [`DEADLINE`].
    pub fn wait_exit(&mut self) -> ExitStatus {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("waiting for n3x") {
                break status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "n3x did not exit; the screen is:\n{}",
                self.lines().join("\n").trim_end()
            );
            thread::sleep(POLL);
        };
        while !self.output().eof {
            assert!(
                start.elapsed() < DEADLINE,
                "the terminal stayed open after n3x exited"
            );
            thread::sleep(POLL);
        }
        status
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        // A failed test must not leave n3x running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn lock(output: &Mutex<Output>) -> MutexGuard<'_, Output> {
    // A panic elsewhere must not hide what the screen showed.
    output.lock().unwrap_or_else(|e| e.into_inner())
}
