//! Benchmark: the process supervisor. Throughput of a noisy program through PTY → log file →
//! vt100 screen → line events, next to the same stream in tmux; and the memory of the process
//! while 10 noisy programs run at once (target: peak RSS under 64 MiB).
//! Run with `cargo bench --bench supervise`.

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("the supervisor is Linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    bench::main();
}

#[cfg(target_os = "linux")]
mod bench {
    use std::path::Path;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use n3x::supervise::{Output, Spec, Supervisor};

    /// 99 bytes and a newline: a typical build log line.
    const LINE: &str = "n3x supervise benchmark | NOTE: recipe linux-yocto-6.1.38: task do_compile: Started (pid 4242) ..";
    const MB: f64 = 1_000_000.0;

    fn stream(line: &str, bytes: u64) -> String {
        format!("yes '{line}' | head -c {bytes}")
    }

    fn status_kib(key: &str) -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn mib(kib: u64) -> f64 {
        kib as f64 / 1024.0
    }

    fn median(mut v: Vec<Duration>) -> Duration {
        v.sort();
        v[v.len() / 2]
    }

    struct Run {
        time: Duration,
        lines: u64,
        dropped: u64,
    }

    /// One program through the supervisor while a task reads its lines as a parser would.
    async fn supervised(sup: &Supervisor, dir: &Path, script: &str, size: (u16, u16)) -> Run {
        let mut spec = Spec::new(["sh", "-c", script], dir.join("bench.log"));
        spec.size = size;
        let start = Instant::now();
        let child = sup.spawn(spec).expect("spawn");
        let mut rx = child.take_lines().expect("lines");
        let reader = tokio::spawn(async move {
            let (mut lines, mut dropped) = (0, 0);
            while let Some(o) = rx.recv().await {
                match o {
                    Output::Line { .. } => lines += 1,
                    Output::Dropped(n) => dropped += n,
                }
            }
            (lines, dropped)
        });
        let status = child.wait().await;
        let time = start.elapsed();
        assert!(status.success(), "{status}");
        let (lines, dropped) = reader.await.expect("reader");
        Run {
            time,
            lines,
            dropped,
        }
    }

    fn shell(script: &str) -> Duration {
        let start = Instant::now();
        let ok = Command::new("sh").args(["-c", script]).status();
        assert!(ok.is_ok_and(|s| s.success()), "{script}");
        start.elapsed()
    }

    /// How long tmux takes to consume the same stream in a detached 200×50 pane.
    fn tmux(dir: &Path, script: &str) -> Option<Duration> {
        Command::new("tmux").arg("-V").output().ok()?;
        // A private server whose socket lives in the temporary directory.
        let socket = dir.join("tmux.sock");
        let conf = dir.join("tmux.conf");
        std::fs::write(&conf, "set -g history-limit 1000\n").ok()?;
        let tmux = || {
            let mut c = Command::new("tmux");
            c.arg("-S").arg(&socket).arg("-f").arg(&conf);
            c.stderr(std::process::Stdio::null());
            c
        };
        let command = format!(
            "{script}; tmux -S '{}' wait-for -S n3x-done",
            socket.display()
        );
        let start = Instant::now();
        let started = tmux()
            .args(["new-session", "-d", "-x", "200", "-y", "50", &command])
            .status()
            .ok()?;
        let done = tmux().args(["wait-for", "n3x-done"]).status().ok()?;
        let time = start.elapsed();
        let _ = tmux().arg("kill-server").status();
        (started.success() && done.success()).then_some(time)
    }

    fn throughput(name: &str, bytes: u64, t: Duration, extra: &str) {
        println!(
            "{name:<58} {:>7.1} MB/s   ({:.2} s for {:.0} MB{extra})",
            bytes as f64 / MB / t.as_secs_f64(),
            t.as_secs_f64(),
            bytes as f64 / MB
        );
    }

    async fn streams(sup: &Supervisor, dir: &Path) {
        for (label, line, bytes) in [
            ("100-byte lines", LINE, 200_000_000u64),
            ("2-byte lines (`yes`)", "y", 50_000_000),
        ] {
            let script = stream(line, bytes);
            let alone = median(
                (0..3)
                    .map(|_| shell(&format!("{script} > /dev/null")))
                    .collect(),
            );
            throughput(
                &format!("stream alone, {label} (to /dev/null)"),
                bytes,
                alone,
                "",
            );

            let mut runs = Vec::new();
            for _ in 0..3 {
                runs.push(supervised(sup, dir, &script, (50, 200)).await);
            }
            let time = median(runs.iter().map(|r| r.time).collect());
            let last = &runs[runs.len() - 1];
            throughput(
                &format!("supervisor, {label}: PTY→log→vt100→lines"),
                bytes,
                time,
                &format!("; {} lines read, {} dropped", last.lines, last.dropped),
            );

            let tmux_runs: Option<Vec<_>> = (0..3).map(|_| tmux(dir, &script)).collect();
            match tmux_runs {
                Some(runs) => throughput(&format!("tmux 200x50, {label}"), bytes, median(runs), ""),
                None => println!("tmux: not installed, no comparison"),
            }
        }
    }

    async fn memory(sup: &Supervisor, dir: &Path, size: (u16, u16), scrollback: usize) {
        const CHILDREN: usize = 10;
        const BYTES: u64 = 50_000_000;
        // Hand memory freed by an earlier measurement back to the kernel, then reset the peak
        // (VmHWM), so that the peak covers this measurement only.
        // SAFETY: malloc_trim only releases free heap memory.
        unsafe { libc::malloc_trim(0) };
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = status_kib("VmRSS:");
        let mut children = Vec::new();
        let mut readers = Vec::new();
        for i in 0..CHILDREN {
            let mut spec = Spec::new(
                ["sh", "-c", &stream(LINE, BYTES)],
                dir.join(format!("noisy-{i}.log")),
            );
            spec.size = size;
            spec.scrollback = scrollback;
            let child = sup.spawn(spec).expect("spawn");
            let mut rx = child.take_lines().expect("lines");
            readers.push(tokio::spawn(
                async move { while rx.recv().await.is_some() {} },
            ));
            children.push(child);
        }
        let start = Instant::now();
        for c in &children {
            let status = c.wait().await;
            assert!(status.success(), "{status}");
        }
        let time = start.elapsed();
        for r in readers {
            let _ = r.await;
        }
        let total: u64 = children.iter().map(|c| c.bytes_written()).sum();
        let peak = status_kib("VmHWM:");
        println!(
            "{:<58} peak {:>5.1} MiB (target < 64 MiB)   before {:.1} MiB, after {:.1} MiB; {:.0} MB in {:.1} s",
            format!(
                "RSS, {CHILDREN} noisy children, {}x{} screens, {scrollback} rows back",
                size.1, size.0
            ),
            mib(peak),
            mib(before),
            mib(status_kib("VmRSS:")),
            total as f64 / MB,
            time.as_secs_f64()
        );
    }

    pub fn main() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let sup = Supervisor::new()
            .expect("supervisor")
            .with_wrapper(env!("CARGO_BIN_EXE_n3x"));
        runtime.block_on(async {
            memory(&sup, dir.path(), (24, 80), 1000).await;
            memory(&sup, dir.path(), (50, 200), 1000).await;
            memory(&sup, dir.path(), (50, 200), 500).await;
            streams(&sup, dir.path()).await;
        });
    }
}
