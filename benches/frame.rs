//! Benchmark: the workbench's frames and its idle cost.
//!
//! - `frame`: one full frame of the Matrix view with its detail pane at 200x60 into ratatui's
//!   TestBackend, drawn as the workbench draws it (target: median under 2 ms).
//! - `idle`: the real release-built `n3x` in a pseudo-terminal, left alone for 10 s after its
//!   first frame; its CPU time from /proc (target: under 1 % of one core).
//!
//! Run with `cargo bench --bench frame` (both), or `cargo bench --bench frame -- frame|idle`.

#[path = "../tests/common/pty.rs"]
mod pty;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use n3x::profile::Profiles;
use n3x::tui::app::App;
use n3x::tui::msg::Msg;
use n3x::tui::theme::Theme;
use n3x::tui::ui;

const IDLE: Duration = Duration::from_secs(10);

fn press(app: &mut App, code: KeyCode) {
    app.handle(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn measure(name: &str, iterations: u32, mut f: impl FnMut()) {
    for _ in 0..iterations / 10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{name:<52} median {:>8.1} µs   p99 {:>8.1} µs   min {:>8.1} µs   ({iterations} runs)",
        us(samples[samples.len() / 2]),
        us(samples[samples.len() * 99 / 100]),
        us(samples[0])
    );
}

fn frames(root: &Path) {
    let profiles = Arc::new(Profiles::load(root).expect("shipped profiles load"));
    let mut app = App::new(profiles, Theme::dark());
    // server-vlans-server-1: a variant with a long detail pane (kas chain, files, artifacts).
    for _ in 0..5 {
        press(&mut app, KeyCode::Down);
    }
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
    println!("frame: Matrix view + detail pane, 200x60, dark theme, TestBackend");
    measure("frame, selection moved (j/k alternately)", 2000, || {
        let key = if app.matrix.selected_index().is_multiple_of(2) {
            KeyCode::Down
        } else {
            KeyCode::Up
        };
        press(&mut app, key);
        terminal
            .draw(|frame| ui::draw(frame, black_box(&mut app)))
            .expect("draw");
    });
    measure("frame, nothing changed", 2000, || {
        terminal
            .draw(|frame| ui::draw(frame, black_box(&mut app)))
            .expect("draw");
    });
    measure("first frame into a new 200x60 terminal", 500, || {
        let mut fresh = Terminal::new(TestBackend::new(200, 60)).expect("test backend");
        fresh
            .draw(|frame| ui::draw(frame, black_box(&mut app)))
            .expect("draw");
    });
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; count after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 (state) is fields[0]: utime (14) and stime (15) are fields[11] and fields[12].
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| ticks as f64 / per_second as f64)
}

fn idle(repo: &Path) {
    let exe = Path::new(env!("CARGO_BIN_EXE_n3x"));
    if !exe.is_file() {
        println!(
            "idle: skipped: {} is missing; build it with `cargo build --release`",
            exe.display()
        );
        return;
    }
    println!(
        "idle: {} in a 120x40 pseudo-terminal, no input for {} s",
        exe.display(),
        IDLE.as_secs()
    );
    let mut tui = pty::Tui::spawn(exe, &[], repo, 120, 40);
    tui.wait_for("the first frame", |lines| {
        lines.last().is_some_and(|l| l.contains("q quit"))
    });
    let drawn = tui.output().bytes.len();
    let (Some(before), start) = (cpu_seconds(tui.pid()), Instant::now()) else {
        println!("idle: skipped: /proc/{}/stat is not readable", tui.pid());
        return;
    };
    std::thread::sleep(IDLE);
    let after = cpu_seconds(tui.pid()).expect("n3x is still running");
    let wall = start.elapsed().as_secs_f64();
    let written_while_idle = tui.output().bytes.len() - drawn;
    tui.press("q");
    let status = tui.wait_exit();
    println!(
        "{:<52} {:>8.2} %   ({:.2} s CPU in {:.1} s, {} bytes written while idle, exit {})",
        "idle CPU after the first frame",
        (after - before) / wall * 100.0,
        after - before,
        wall,
        written_while_idle,
        status.exit_code()
    );
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // `cargo bench` passes --bench; a bare word picks one mode.
    let pick: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |mode: &str| pick.is_empty() || pick.iter().any(|p| p == mode);
    if wants("frame") {
        frames(&repo.join("profiles"));
    }
    if wants("idle") {
        idle(repo);
    }
}
