//! The build progress parsers against real and format-exact output
//! (`tests/fixtures/nix/`: captured from `nix build`; `tests/fixtures/bitbake/`: written in
//! knotty's formats, see the README there).

use std::path::Path;

use n3x::build::progress::bitbake::{Phase, TaskCount, TasksSummary};
use n3x::build::progress::nix::Counts;
use n3x::build::progress::{
    BitbakeProgress, BitbakeSnapshot, BuildProgress, LogLevel, LogLine, NixProgress, NixSnapshot,
};

fn fixture(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Feeds lines until one contains `marker` (inclusive); returns the log lines produced.
fn feed_until(
    p: &mut dyn BuildProgress,
    lines: &mut std::str::Lines,
    marker: &str,
) -> Vec<LogLine> {
    let mut logs = Vec::new();
    for l in lines.by_ref() {
        logs.extend(p.feed(l).log);
        if l.contains(marker) {
            return logs;
        }
    }
    panic!("marker {marker:?} not in the fixture");
}

fn feed_rest(p: &mut dyn BuildProgress, lines: &mut std::str::Lines) -> Vec<LogLine> {
    lines.flat_map(|l| p.feed(l).log).collect()
}

fn running_names_bb(s: &BitbakeSnapshot) -> Vec<String> {
    s.running.iter().map(|t| t.name()).collect()
}

// ---------------------------------------------------------------- BitBake

#[test]
fn bitbake_success_counts_and_running_set_along_the_way() {
    let text = fixture("bitbake/isar-build.log");
    let mut lines = text.lines();
    let mut p = BitbakeProgress::new();

    feed_until(&mut p, &mut lines, "Parsing recipes...done.");
    assert_eq!(p.snapshot().phase, Phase::Parsing);
    feed_until(&mut p, &mut lines, "Parsing of 142 .bb files complete");
    let parse = p.snapshot().parse.unwrap();
    assert_eq!(
        (parse.files, parse.parsed, parse.targets, parse.skipped),
        (142, 142, 286, 9)
    );
    feed_until(&mut p, &mut lines, "Initialising tasks...done.");
    assert_eq!(p.snapshot().line, "initialising tasks 100%");
    feed_until(&mut p, &mut lines, "NOTE: Executing Tasks");
    assert_eq!(p.snapshot().phase, Phase::Running);
    assert_eq!(p.fraction(), None);

    feed_until(
        &mut p,
        &mut lines,
        "k3s-server-1.31.4-r0: task do_fetch: Started",
    );
    let s = p.snapshot();
    // 3 tasks skipped (covered by setscene) + 1 noexec done; do_fetch is task 5.
    assert_eq!(
        s.tasks,
        TaskCount {
            started: 5,
            done: 4,
            total: Some(24)
        }
    );
    assert_eq!(
        s.setscene,
        TaskCount {
            started: 2,
            done: 1,
            total: Some(6)
        }
    );
    assert_eq!(
        running_names_bb(&s),
        [
            "sbuild-chroot-target do_rootfs_install_setscene",
            "k3s-server do_fetch"
        ]
    );
    assert_eq!(s.running[1].recipe, "k3s-server-1.31.4-r0");
    assert_eq!(
        s.running[1].multiconfig.as_deref(),
        Some("qemuamd64-trixie")
    );
    assert!(s.running[0].seq < s.running[1].seq);
    assert_eq!(s.fraction, Some(4.0 / 24.0));

    feed_until(&mut p, &mut lines, "Running setscene task 5 of 6");
    assert_eq!(
        p.snapshot().line,
        "task 7/24 · setscene 4/6 · 2 running: k3s-server do_fetch, n3x-network-config do_dpkg_build_setscene"
    );

    let logs = feed_until(
        &mut p,
        &mut lines,
        "do_dpkg_source: The source package name differs",
    );
    assert_eq!(logs.last().unwrap().level, LogLevel::Warning);
    assert_eq!(p.snapshot().warnings, 1);
    assert_eq!(
        p.snapshot().line,
        "task 14/24 · setscene 6/6 · 1 running: k3s-server do_dpkg_source"
    );

    feed_until(
        &mut p,
        &mut lines,
        "n3x-image-server-1.0-r0: task do_image_wic: Started",
    );
    assert_eq!(
        running_names_bb(&p.snapshot()),
        ["n3x-image-server do_image_wic"]
    );

    feed_rest(&mut p, &mut lines);
    let s = p.snapshot();
    assert_eq!(s.phase, Phase::Finished);
    assert_eq!(
        s.summary,
        Some(TasksSummary {
            attempted: 24,
            not_rerun: 9,
            failed: 0
        })
    );
    assert_eq!(
        s.tasks,
        TaskCount {
            started: 24,
            done: 24,
            total: Some(24)
        }
    );
    assert_eq!(
        s.setscene,
        TaskCount {
            started: 6,
            done: 6,
            total: Some(6)
        }
    );
    assert!(s.running.is_empty() && s.failed.is_empty());
    assert_eq!((s.warnings, s.errors), (1, 0));
    assert_eq!(s.fraction, Some(1.0));
    assert_eq!(
        s.line,
        "all succeeded · attempted 24 tasks, 9 didn't need rerun · sstate 67% (4 of 6) · 1 warning"
    );
}

#[test]
fn bitbake_failure_details() {
    let text = fixture("bitbake/isar-build-fail.log");
    let mut lines = text.lines();
    let mut p = BitbakeProgress::new();

    let logs = feed_until(&mut p, &mut lines, "real task will be run instead");
    assert!(
        logs.iter()
            .rev()
            .take(2)
            .all(|l| l.level == LogLevel::Warning)
    );
    let s = p.snapshot();
    // The failed setscene task no longer runs; it is not a failure of the build.
    assert_eq!(running_names_bb(&s), ["k3s-server do_unpack"]);
    assert_eq!(s.setscene_failed, 1);
    assert!(s.failed.is_empty());

    feed_until(&mut p, &mut lines, "Log data follows:");
    let s = p.snapshot();
    assert_eq!(s.failed.len(), 1, "the log file announces the failure");
    assert_eq!(s.failed[0].name(), "k3s-server do_dpkg_build");
    assert!(
        s.failed[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("ExecutionError(")
    );

    feed_until(&mut p, &mut lines, "task do_dpkg_build: Failed");
    assert!(p.snapshot().running.is_empty());
    feed_rest(&mut p, &mut lines);

    let s = p.snapshot();
    assert_eq!(s.failed.len(), 1);
    let f = &s.failed[0];
    assert_eq!(f.recipe.as_deref(), Some("k3s-server-1.31.4-r0"));
    assert_eq!(f.task, "do_dpkg_build");
    assert_eq!(
        f.tid.as_deref(),
        Some(
            "mc:qemuamd64-trixie:/work/meta-n3x/recipes-k3s/k3s/k3s-server_1.31.4.bb:do_dpkg_build"
        )
    );
    assert_eq!(f.exit_code, Some(1));
    assert_eq!(
        f.log_file.as_deref(),
        Some(
            "/work/build/tmp/work/debian-trixie-amd64/k3s-server/1.31.4-r0/temp/log.do_dpkg_build.2109"
        )
    );
    assert_eq!(f.log_tail.len(), 10);
    assert_eq!(
        f.log_tail[0],
        "DEBUG: Executing shell function do_dpkg_build"
    );
    assert_eq!(
        f.log_tail[6],
        "install: cannot stat 'k3s': No such file or directory"
    );

    assert_eq!(
        s.summary,
        Some(TasksSummary {
            attempted: 16,
            not_rerun: 8,
            failed: 1
        })
    );
    assert_eq!(s.phase, Phase::Finished);
    // BitBake's own count: the UI's own ERROR lines are not in it.
    assert_eq!((s.warnings, s.errors), (2, 1));
    assert_eq!(s.fraction, Some(16.0 / 24.0));
    assert_eq!(
        s.line,
        "1 failed: k3s-server do_dpkg_build · attempted 16 tasks, 8 didn't need rerun · sstate 67% (4 of 6) · 2 warnings"
    );
}

#[test]
fn bitbake_tty_capture_gives_the_same_progress_without_footer_noise() {
    let plain = fixture("bitbake/isar-build.log");
    let tty = fixture("bitbake/isar-build-tty.log");
    assert!(
        tty.contains('\x1b') && tty.contains('\r'),
        "the TTY fixture is raw"
    );

    let mut p = BitbakeProgress::new();
    let mut lines = tty.lines();
    feed_until(&mut p, &mut lines, "Parsing recipes: 100%");
    assert_eq!(
        (p.snapshot().phase, p.snapshot().phase_percent),
        (Phase::Parsing, Some(100))
    );

    // The second footer: same counts as the non-interactive log at the same moment.
    feed_until(&mut p, &mut lines, "do_fetch - 3s (pid 2103)");
    let s = p.snapshot();
    assert_eq!(
        s.tasks,
        TaskCount {
            started: 5,
            done: 4,
            total: Some(24)
        }
    );
    assert_eq!(
        s.setscene,
        TaskCount {
            started: 2,
            done: 1,
            total: Some(6)
        }
    );
    assert_eq!(
        running_names_bb(&s),
        [
            "sbuild-chroot-target do_rootfs_install_setscene",
            "k3s-server do_fetch"
        ]
    );
    let fetch = &s.running[1];
    assert_eq!(fetch.recipe, "k3s-server-1.31.4-r0");
    assert_eq!(
        (fetch.pid, fetch.elapsed_secs, fetch.percent),
        (Some(2103), Some(3), Some(42))
    );
    let fetch_seq = fetch.seq;

    feed_until(&mut p, &mut lines, "do_fetch - 5s (pid 2103)");
    feed_until(&mut p, &mut lines, "do_dpkg_build_setscene - 2s (pid 2104)");
    let s = p.snapshot();
    assert_eq!(s.running[0].seq, fetch_seq, "start order survives redraws");
    assert_eq!(
        s.line,
        "task 7/24 · setscene 4/6 · 2 running: k3s-server do_fetch, n3x-network-config do_dpkg_build_setscene"
    );

    let logs = feed_rest(&mut p, &mut lines);
    assert!(
        logs.iter()
            .all(|l| !l.text.contains('\x1b') && !l.text.contains('\r'))
    );
    assert!(
        !logs
            .iter()
            .any(|l| l.text.contains("running tasks") || l.text.contains("(pid "))
    );
    assert!(logs.iter().any(|l| l.level == LogLevel::Warning));

    let mut q = BitbakeProgress::new();
    for l in plain.lines() {
        q.feed(l);
    }
    let (a, b) = (p.snapshot(), q.snapshot());
    assert_eq!(
        (a.tasks, a.setscene, a.summary),
        (b.tasks, b.setscene, b.summary)
    );
    assert_eq!(
        (a.line, a.fraction, a.warnings),
        (b.line, b.fraction, b.warnings)
    );
}

#[test]
fn bitbake_ignores_garbage_between_real_lines() {
    let text = fixture("bitbake/isar-build.log");
    let mut clean = BitbakeProgress::new();
    let mut noisy = BitbakeProgress::new();
    let junk = [
        "\x1b[31m\x1b[0m",
        "\u{0}\u{7f}binary\u{1}",
        "Currently running everything",
        "0: (pid)",
        "ünïcödé ✓",
        "\r",
    ];
    for (i, l) in text.lines().enumerate() {
        clean.feed(l);
        noisy.feed(junk[i % junk.len()]);
        noisy.feed(l);
    }
    assert_eq!(clean.snapshot(), noisy.snapshot());
}

// ---------------------------------------------------------------- Nix

fn running_names_nix(s: &NixSnapshot) -> Vec<String> {
    s.running
        .iter()
        .map(|r| match &r.phase {
            Some(p) => format!("{} ({p})", r.name),
            None => r.name.clone(),
        })
        .collect()
}

#[test]
fn nix_one_build() {
    let text = fixture("nix/build-one.internal.jsonl");
    assert!(
        text.lines().all(|l| l.starts_with("@nix {")),
        "a real internal-json capture"
    );
    let mut lines = text.lines();
    let mut p = NixProgress::new();
    assert_eq!(p.snapshot().line, "evaluating");

    let logs = feed_until(&mut p, &mut lines, r#""type":105}"#);
    assert_eq!(
        logs.len(),
        0,
        "the Builds activity's progress is not log text"
    );
    assert_eq!(
        p.builds(),
        Counts {
            done: 0,
            total: 1,
            running: 0,
            failed: 0
        }
    );

    let logs = feed_until(&mut p, &mut lines, r#"["step one"]"#);
    let shown: Vec<String> = logs.iter().map(LogLine::display).collect();
    assert_eq!(shown.len(), 2);
    assert!(
        shown[0].starts_with("building '/nix/store/") && shown[0].ends_with("-n3x-demo.drv'...")
    );
    assert_eq!(shown[1], "n3x-demo> step one");
    let s = p.snapshot();
    assert_eq!(s.running.len(), 1);
    let b = &s.running[0];
    assert_eq!(
        (b.name.as_str(), b.phase.as_deref()),
        ("n3x-demo", Some("buildPhase"))
    );
    assert_eq!(b.last_line.as_deref(), Some("step one"));
    assert!(b.drv_path.as_deref().unwrap().ends_with("-n3x-demo.drv"));
    assert_eq!(b.machine, None);
    assert_eq!(
        s.builds,
        Counts {
            done: 0,
            total: 1,
            running: 1,
            failed: 0
        }
    );
    assert_eq!(s.line, "built 0/1 · 1 running: n3x-demo (buildPhase)");
    assert_eq!(s.fraction, Some(0.0));

    let logs = feed_rest(&mut p, &mut lines);
    assert_eq!(
        logs.iter().map(LogLine::display).collect::<Vec<_>>(),
        ["n3x-demo> step two"]
    );
    let s = p.snapshot();
    assert_eq!(
        s.builds,
        Counts {
            done: 1,
            total: 1,
            running: 0,
            failed: 0
        }
    );
    assert!(s.running.is_empty());
    assert_eq!(s.activities, 0);
    assert_eq!(s.line, "built 1/1");
    assert_eq!(s.fraction, Some(1.0));
    assert!(s.errors.is_empty());
}

#[test]
fn nix_three_builds_two_at_a_time() {
    let text = fixture("nix/build-chain.internal.jsonl");
    let mut p = NixProgress::new();
    let mut most_running = 0;
    let mut leaf_a_phases: Vec<String> = Vec::new();
    let mut build_lines = Vec::new();
    for l in text.lines() {
        if let Some(log) = p.feed(l).log
            && log.origin.is_some()
        {
            build_lines.push(log.display());
        }
        let s = p.snapshot();
        most_running = most_running.max(s.running.len());
        if let Some(a) = s.running.iter().find(|r| r.name == "n3x-leaf-a-1.0")
            && let Some(ph) = &a.phase
            && leaf_a_phases.last() != Some(ph)
        {
            leaf_a_phases.push(ph.clone());
        }
        if l.contains(r#"["b: linking"]"#) {
            assert_eq!(
                s.line,
                "built 0/3 · 2 running: n3x-leaf-a-1.0 (buildPhase), n3x-leaf-b-2.3 (buildPhase)"
            );
            assert_eq!(running_names_nix(&s).len(), 2);
        }
        if l.contains("assembling from") {
            assert_eq!(running_names_nix(&s), ["n3x-image-0.1 (buildPhase)"]);
            assert_eq!(
                s.builds,
                Counts {
                    done: 2,
                    total: 3,
                    running: 1,
                    failed: 0
                }
            );
        }
    }
    assert_eq!(most_running, 2);
    assert_eq!(leaf_a_phases, ["unpackPhase", "buildPhase", "installPhase"]);
    assert!(build_lines.contains(&"n3x-leaf-b-2.3> configuring b".to_string()));
    assert_eq!(build_lines.len(), 7);
    let s = p.snapshot();
    assert_eq!(
        s.builds,
        Counts {
            done: 3,
            total: 3,
            running: 0,
            failed: 0
        }
    );
    assert_eq!(s.line, "built 3/3");
}

#[test]
fn nix_failed_build() {
    let text = fixture("nix/build-fail.internal.jsonl");
    let mut p = NixProgress::new();
    let mut logs = Vec::new();
    for l in text.lines() {
        logs.extend(p.feed(l).log);
    }
    let s = p.snapshot();
    assert_eq!(
        s.builds,
        Counts {
            done: 1,
            total: 2,
            running: 0,
            failed: 1
        }
    );
    assert_eq!(s.failed_builds, ["n3x-broken-0.1"]);
    assert_eq!(s.errors.len(), 1);
    let e = &s.errors[0];
    assert!(
        e.starts_with("error: builder for '/nix/store/") && e.ends_with("failed with exit code 1")
    );
    assert!(!e.contains('\x1b'));
    assert_eq!(s.line, "built 1/2 · 1 failed");
    assert_eq!(s.fraction, Some(1.0));
    assert!(
        logs.iter()
            .any(|l| l.display() == "n3x-broken-0.1> error: something went wrong")
    );
    assert_eq!(logs.last().unwrap().level, LogLevel::Error);
}

#[test]
fn nix_substitutes_from_a_cache_then_builds() {
    let text = fixture("nix/build-mixed.internal.jsonl");
    let mut p = NixProgress::new();
    let mut most_substituting = 0;
    let mut totals = Vec::new();
    let mut copying = Vec::new();
    for l in text.lines() {
        if let Some(log) = p.feed(l).log {
            copying.push(log.text);
        }
        let s = p.snapshot();
        most_substituting = most_substituting.max(s.substituting.len());
        if totals.last() != Some(&s.builds.total) {
            totals.push(s.builds.total);
        }
        if s.substituting.len() == 2 {
            let mut names = s.substituting.clone();
            names.sort();
            assert_eq!(names, ["n3x-blob-a-1.0", "n3x-blob-b-1.0"]);
            assert_eq!(s.substitutions.total, 2);
            assert!(s.downloaded.expected > 4_400_000, "{:?}", s.downloaded);
        }
    }
    assert_eq!(most_substituting, 2);
    // Nix first expects to build all three, then substitutes two of them.
    assert_eq!(totals, [0, 1, 2, 3, 2, 1]);
    assert_eq!(
        copying
            .iter()
            .filter(|t| t.starts_with("copying path '"))
            .count(),
        2
    );
    let s = p.snapshot();
    assert_eq!(
        s.substitutions,
        Counts {
            done: 2,
            total: 2,
            running: 0,
            failed: 0
        }
    );
    assert_eq!(
        s.builds,
        Counts {
            done: 1,
            total: 1,
            running: 0,
            failed: 0
        }
    );
    assert!(s.downloaded.done >= 4_400_000 && s.downloaded.done == s.downloaded.expected);
    assert!(s.copied.done >= 4_400_000, "{:?}", s.copied);
    assert_eq!(s.line, "built 1/1 · downloaded 2/2 (4.3 MiB)");
    assert_eq!(s.fraction, Some(1.0));
}

#[test]
fn nix_survives_truncated_copies_of_every_line() {
    for name in ["build-one", "build-chain", "build-fail", "build-mixed"] {
        let text = fixture(&format!("nix/{name}.internal.jsonl"));
        let mut clean = NixProgress::new();
        let mut noisy = NixProgress::new();
        for l in text.lines() {
            clean.feed(l);
            // Half a line (a reader cut mid-record), then the real one.
            let cut = l
                .char_indices()
                .nth(l.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            let f = noisy.feed(&l[..cut]);
            assert!(!f.changed, "{name}: {:?}", &l[..cut]);
            noisy.feed(l);
        }
        assert_eq!(
            noisy.malformed_lines(),
            text.lines().count() as u64,
            "{name}"
        );
        assert_eq!(clean.snapshot(), noisy.snapshot(), "{name}");
    }
}

#[test]
fn both_parsers_behind_one_trait() {
    let mut parsers: Vec<(Box<dyn BuildProgress>, String)> = vec![
        (
            Box::new(BitbakeProgress::new()),
            fixture("bitbake/isar-build.log"),
        ),
        (
            Box::new(NixProgress::new()),
            fixture("nix/build-chain.internal.jsonl"),
        ),
    ];
    for (p, text) in &mut parsers {
        let mut changes = 0;
        for l in text.lines() {
            changes += usize::from(p.feed(l).changed);
        }
        assert!(changes > 10);
        assert_eq!(p.fraction(), Some(1.0));
        assert!(!p.status_line().is_empty());
    }
}

// A real run: kas 5.5 building server-simple-server-1 natively on this machine, which failed
// in sbuild-chroot's package download (trimmed: the log data is cut to its first 8 and last 14
// lines). kas prefixes every BitBake line with its own log format, relays BitBake's errors at
// its ERROR level, prints `Sstate summary` in the middle of `Initialising tasks...`, strips the
// indentation of the failed-task summary, and repeats BitBake's errors without a prefix.

#[test]
fn bitbake_real_kas5_run_counts_tasks_sstate_and_one_failure_with_its_log() {
    let text = fixture("bitbake/kas5-offline-fail.log");
    let mut lines = text.lines();
    let mut p = BitbakeProgress::new();

    let logs = feed_until(&mut p, &mut lines, "Using /work/wt/isar as root");
    assert!(
        logs.iter()
            .any(|l| l.level == LogLevel::Warning && l.text.starts_with("The semantics of")),
        "kas's own warning keeps its level: {logs:?}"
    );
    feed_until(&mut p, &mut lines, "Parsing of 91 .bb files complete");
    let parse = p.snapshot().parse.unwrap();
    assert_eq!((parse.files, parse.targets, parse.skipped), (91, 97, 18));
    feed_until(&mut p, &mut lines, "Sstate summary:");
    let sstate = p
        .snapshot()
        .sstate
        .expect("the summary in the middle of a line");
    assert_eq!(
        (sstate.wanted, sstate.local, sstate.mirrors, sstate.missed),
        (10, 0, 0, 10)
    );
    assert_eq!(sstate.hit_ratio(), Some(0.0));
    feed_until(&mut p, &mut lines, "NOTE: Executing Tasks");
    assert_eq!(p.snapshot().phase, Phase::Running);
    feed_until(&mut p, &mut lines, "task do_check_k3s_checksum: Started");
    let s = p.snapshot();
    assert_eq!(s.tasks.total, Some(103));
    assert_eq!(s.tasks.started, 13);
    assert_eq!(
        running_names_bb(&s),
        [
            "k3s-server do_check_k3s_checksum",
            "sshd-regen-keys do_fetch"
        ]
    );
    assert!(s.line.starts_with("task "), "{}", s.line);
    assert!(
        !s.line.contains("sstate"),
        "only the final line says it: {}",
        s.line
    );

    let logs = feed_rest(&mut p, &mut lines);
    let s = p.snapshot();
    assert_eq!(s.phase, Phase::Finished);
    assert_eq!(
        s.summary,
        Some(TasksSummary {
            attempted: 76,
            not_rerun: 0,
            failed: 1
        })
    );
    assert_eq!(
        s.failed.len(),
        1,
        "kas's repetition adds no failure: {:?}",
        s.failed
    );
    let f = &s.failed[0];
    assert_eq!(f.name(), "sbuild-chroot-target do_rootfs_install");
    assert_eq!(f.exit_code, Some(1));
    assert!(
        f.log_file
            .as_deref()
            .unwrap()
            .ends_with("temp/log.do_rootfs_install.29780")
    );
    assert!(f.message.as_deref().unwrap().starts_with("ExecutionError("));
    assert_eq!(f.log_tail.len(), 22);
    assert!(
        f.log_tail
            .iter()
            .any(|l| l == "E: Some files failed to download")
    );
    assert_eq!(s.errors, 1, "BitBake's own count");
    assert!(s.running.is_empty());
    assert_eq!(
        s.line,
        "1 failed: sbuild-chroot-target do_rootfs_install · attempted 76 tasks, 0 didn't need rerun · sstate 0% (0 of 10)"
    );
    // kas's closing error is shown as an error, and so is its repetition of BitBake's.
    assert!(logs.iter().any(|l| l.level == LogLevel::Error
        && l.origin.as_deref() == Some("kas")
        && l.text.ends_with("failed with error 1")));
    assert!(logs.iter().any(|l| l.level == LogLevel::Error
        && l.origin.is_none()
        && l.text.starts_with("ERROR: Task (")));
}

// A real run on a pseudo-terminal, as the workbench's supervisor captures it: kas 5.5 building
// server-simple-server-2 right after server-simple-server-1 (trimmed to its first 140 and last
// 90 lines; long progress-bar lines keep their first and last three redraws). kas's own lines
// carry its prefix and colours, BitBake draws its interactive footer.

#[test]
fn bitbake_real_kas5_tty_run_follows_the_footer_and_ends_with_the_sstate_summary() {
    let text = fixture("bitbake/kas5-tty-success.log");
    let mut lines = text.lines();
    let mut p = BitbakeProgress::new();
    feed_until(&mut p, &mut lines, "Sstate summary:");
    let sstate = p.snapshot().sstate.unwrap();
    assert_eq!(
        (sstate.wanted, sstate.local, sstate.missed, sstate.current),
        (4, 0, 4, 6)
    );
    feed_until(
        &mut p,
        &mut lines,
        "0: n3x-node-config-1.0-r0 do_fetch - 0s",
    );
    let s = p.snapshot();
    assert_eq!(s.phase, Phase::Running);
    assert_eq!(s.tasks.total, Some(103));
    assert_eq!(running_names_bb(&s), ["n3x-node-config do_fetch"]);
    let logs = feed_rest(&mut p, &mut lines);
    let s = p.snapshot();
    assert_eq!(
        s.summary,
        Some(TasksSummary {
            attempted: 103,
            not_rerun: 77,
            failed: 0
        })
    );
    assert!(s.failed.is_empty() && s.running.is_empty());
    assert_eq!(
        s.line,
        "all succeeded · attempted 103 tasks, 77 didn't need rerun · sstate 0% (0 of 4, 6 current) · 2 warnings"
    );
    // The footer's redraws never reach the log pane; BitBake's closing notes do.
    assert!(
        logs.iter().all(|l| !l.text.contains("running tasks (")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.text == "Summary: There were 2 WARNING messages.")
    );
    assert_eq!(s.warnings, 2, "BitBake's own count");
}
