//! Progress of a BitBake build (ISAR through kas), read from its knotty UI output.
//!
//! The lines and where BitBake prints them (bitbake `lib/bb/`):
//!
//! - `ui/knotty.py: main()`: `NOTE: Running task X of Y (tid)`, `NOTE: Running noexec task …`,
//!   `NOTE: Running setscene task X of Y (tid)`, the task notes `NOTE: recipe PF: task do_x:
//!   Started|Succeeded|Failed` (the `_message` of `build.py: TaskBase`), `ERROR: Task (tid)
//!   failed with exit code 'N'` (`runqueue.py: runQueueTaskFailed`), the parse and cache
//!   progress (`Loading cache...done.`, `Parsing recipes...done.`, `Parsing of N .bb files
//!   complete (…)`, `Initialising tasks...done.`) and the final `Summary:` lines.
//! - `ui/knotty.py: print_event_log()`: `ERROR: Logfile of failure stored in: PATH`, then
//!   `Log data follows:` and the log itself, each line prefixed with `| `.
//! - `runqueue.py`: `NOTE: Executing Tasks`, `NOTE: Tasks Summary: Attempted A tasks of which
//!   S didn't need to be rerun and all succeeded.` (or `… and F failed.`).
//! - `ui/knotty.py: TerminalFilter.updateFooter()` (interactive mode only, on a TTY):
//!   `Setscene tasks: X of Y`, `Currently  N running tasks (X of Y)`, `No currently running
//!   tasks (X of Y)` and one line per running task, `i: PF do_x - 12s (pid 123)`, redrawn in
//!   place. In that mode the `Running …` and `recipe …` notes are filtered out, so the footer
//!   is the only source of the running set.
//!
//! Lines may still carry ANSI escapes and carriage returns (a PTY capture); they are cleaned
//! with [`clean_line`] before anything else.

use super::{Fed, LogLevel, LogLine, clean_line, list_some};

/// How many lines of a failed task's log are kept.
const LOG_TAIL: usize = 40;
/// How many failures are kept (a `-k` build can fail a lot).
const MAX_FAILURES: usize = 500;

/// Where a BitBake run is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// Nothing recognised yet (kas is still checking out layers, BitBake starting).
    #[default]
    Starting,
    /// `Loading cache`.
    LoadingCache,
    /// `Parsing recipes`.
    Parsing,
    /// Resolving dependencies, `Initialising tasks`.
    Initialising,
    /// `Checking sstate mirror object availability`, `Sstate summary`.
    CheckingSstate,
    /// Running setscene and real tasks.
    Running,
    /// Interrupted: waiting for running tasks to finish.
    Stopping,
    /// `Tasks Summary` seen.
    Finished,
}

impl Phase {
    /// A short label: `parsing recipes`, `running tasks` ….
    pub fn label(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::LoadingCache => "loading cache",
            Phase::Parsing => "parsing recipes",
            Phase::Initialising => "initialising tasks",
            Phase::CheckingSstate => "checking sstate",
            Phase::Running => "running tasks",
            Phase::Stopping => "stopping",
            Phase::Finished => "finished",
        }
    }
}

/// Started / done / total of one kind of task. `done` counts tasks BitBake is finished with
/// (including those it skipped because setscene covered them), `started` what its own
/// `X of Y` counter says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCount {
    /// BitBake's `X` of `Running task X of Y`: tasks finished, running or failed.
    pub started: u32,
    /// Tasks finished (succeeded, failed or skipped).
    pub done: u32,
    /// BitBake's `Y`, once it has said it.
    pub total: Option<u32>,
}

/// A task BitBake is running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningTask {
    /// The recipe: `PF` (`busybox-1.36.1-r0`) once BitBake has named it, until then the
    /// name from the recipe file (`busybox`).
    pub recipe: String,
    /// `do_compile`, `do_populate_sysroot_setscene` ….
    pub task: String,
    /// The multiconfig (`qemuamd64-trixie` of `mc:qemuamd64-trixie:…`), when known.
    pub multiconfig: Option<String>,
    /// The task's process id (interactive footer only).
    pub pid: Option<u32>,
    /// How long the task has run, as of the last footer redraw.
    pub elapsed_secs: Option<u64>,
    /// The task's own progress bar, as of the last footer redraw.
    pub percent: Option<u8>,
    /// Start order: larger started later.
    pub seq: u64,
    /// Announced by `Running task …` but not yet `Started`.
    provisional: bool,
}

impl RunningTask {
    /// Whether this is a setscene task (restoring from the shared state cache).
    pub fn is_setscene(&self) -> bool {
        self.task.ends_with("_setscene")
    }

    /// `busybox do_compile`: the recipe without version, then the task.
    pub fn name(&self) -> String {
        format!("{} {}", recipe_pn(&self.recipe), self.task)
    }
}

/// A task that failed, pieced together from the lines BitBake prints about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedTask {
    /// `PF` of the recipe (`busybox-1.36.1-r0`); from the log file's path until BitBake's
    /// own note names it.
    pub recipe: Option<String>,
    /// `do_compile`.
    pub task: String,
    /// BitBake's task id, `[mc:name:]/path/recipe.bb:do_compile`.
    pub tid: Option<String>,
    /// The exit code of `Task (…) failed with exit code 'N'`.
    pub exit_code: Option<i32>,
    /// `ERROR: Logfile of failure stored in: PATH`.
    pub log_file: Option<String>,
    /// The task's own error message (`ERROR: PF do_x: message`), the first one.
    pub message: Option<String>,
    /// The end of the log BitBake printed after `Log data follows:`, without `| `.
    pub log_tail: Vec<String>,
    /// The recipe came from BitBake's note, not from a path.
    recipe_confirmed: bool,
}

impl FailedTask {
    fn new(task: &str) -> FailedTask {
        FailedTask {
            recipe: None,
            task: task.to_string(),
            tid: None,
            exit_code: None,
            log_file: None,
            message: None,
            log_tail: Vec::new(),
            recipe_confirmed: false,
        }
    }

    /// `busybox do_compile`: the recipe without version, then the task.
    pub fn name(&self) -> String {
        let recipe = match (&self.recipe, &self.tid) {
            (Some(r), _) => recipe_pn(r),
            (None, Some(tid)) => parse_tid(tid).pn,
            (None, None) => "?".to_string(),
        };
        format!("{recipe} {}", self.task)
    }
}

/// `NOTE: Tasks Summary: Attempted A tasks of which S didn't need to be rerun and …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TasksSummary {
    /// Tasks attempted (run or skipped, plus failed).
    pub attempted: u32,
    /// Of those, tasks that did not need to be rerun.
    pub not_rerun: u32,
    /// Tasks that failed.
    pub failed: u32,
}

/// `Parsing of N .bb files complete (C cached, P parsed). T targets, S skipped, M masked, E errors.`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseSummary {
    /// `.bb` files.
    pub files: u32,
    /// Taken from the cache.
    pub cached: u32,
    /// Parsed now.
    pub parsed: u32,
    /// Targets (providers) found.
    pub targets: u32,
    /// Skipped recipes.
    pub skipped: u32,
    /// Masked recipes.
    pub masked: u32,
    /// Parse errors.
    pub errors: u32,
}

/// `Sstate summary: Wanted W Local L Mirrors M Missed X Current C (…% match, …% complete)`:
/// how many of the tasks BitBake wanted it could take from the shared-state cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SstateSummary {
    /// Tasks with a shared-state object BitBake looked for.
    pub wanted: u32,
    /// Found in the local SSTATE_DIR.
    pub local: u32,
    /// Found on an sstate mirror.
    pub mirrors: u32,
    /// Not found: their tasks run.
    pub missed: u32,
    /// Already current in the build tree (nothing to restore).
    pub current: u32,
}

impl SstateSummary {
    /// Found locally or on a mirror, of those wanted, `0.0..=1.0` (BitBake's `match`);
    /// `None` when nothing was wanted.
    pub fn hit_ratio(&self) -> Option<f64> {
        (self.wanted > 0)
            .then(|| (f64::from(self.local + self.mirrors) / f64::from(self.wanted)).min(1.0))
    }

    /// `sstate 95% (40 of 42)`, `sstate 0% (0 of 4, 6 current)`, or `sstate: nothing
    /// wanted` (with the current count when there is one).
    pub fn describe(&self) -> String {
        let current = if self.current > 0 {
            format!(", {} current", self.current)
        } else {
            String::new()
        };
        match self.hit_ratio() {
            Some(r) => format!(
                "sstate {:.0}% ({} of {}{current})",
                r * 100.0,
                self.local + self.mirrors,
                self.wanted
            ),
            None => format!("sstate: nothing wanted{current}"),
        }
    }
}

/// What the UI draws for a BitBake build.
#[derive(Debug, Clone, PartialEq)]
pub struct BitbakeSnapshot {
    /// Where the run is.
    pub phase: Phase,
    /// The phase's own progress bar (`Parsing recipes:  45% |…`), when it has one.
    pub phase_percent: Option<u8>,
    /// Real tasks.
    pub tasks: TaskCount,
    /// Setscene tasks (restored from sstate).
    pub setscene: TaskCount,
    /// Running tasks, in start order.
    pub running: Vec<RunningTask>,
    /// Failed tasks, in the order they failed.
    pub failed: Vec<FailedTask>,
    /// Setscene tasks that failed (their real task runs instead; not an error).
    pub setscene_failed: u32,
    /// The final summary, once printed.
    pub summary: Option<TasksSummary>,
    /// The parse summary, once printed.
    pub parse: Option<ParseSummary>,
    /// The shared-state summary, once printed.
    pub sstate: Option<SstateSummary>,
    /// `WARNING:` lines (or BitBake's own count from its final summary).
    pub warnings: u32,
    /// `ERROR:` lines (or BitBake's own count from its final summary).
    pub errors: u32,
    /// Tasks done / total, `0.0..=1.0`, once the total is known.
    pub fraction: Option<f64>,
    /// One line: `task 1234/2345 · setscene 118/1502 · 3 running: busybox do_compile, …`.
    pub line: String,
}

/// BitBake progress, fed line by line. See the module documentation for the formats.
#[derive(Debug, Clone, Default)]
pub struct BitbakeProgress {
    phase: Phase,
    phase_percent: Option<u8>,
    tasks_started: u32,
    tasks_total: Option<u32>,
    setscene_started: u32,
    setscene_total: Option<u32>,
    setscene_failed: u32,
    running: Vec<RunningTask>,
    next_seq: u64,
    failed: Vec<FailedTask>,
    /// Recent `ERROR: PF do_x: message` lines, to attach to the failure that follows.
    task_errors: Vec<(String, String, String)>,
    summary: Option<TasksSummary>,
    parse: Option<ParseSummary>,
    sstate: Option<SstateSummary>,
    warnings: u32,
    errors: u32,
    summary_warnings: Option<u32>,
    summary_errors: Option<u32>,
    /// After `Log data follows:`: `| ` lines belong to the last failure.
    in_log_data: bool,
    /// After `Summary: N tasks failed:`: indented lines are task ids.
    in_failed_summary: bool,
    /// After kas's `Command "…" failed:`: its unprefixed repetition of BitBake's errors.
    kas_echo: bool,
    /// The running set of the previous footer redraw (keeps start order numbers stable).
    footer_previous: Vec<RunningTask>,
    /// A footer redraw being collected.
    footer_pending: Option<Footer>,
}

/// One redraw of the interactive footer, collected line by line.
#[derive(Debug, Clone, Default)]
struct Footer {
    setscene: Option<(u32, u32)>,
    tasks: Option<(u32, u32)>,
    /// How many task lines follow (the terminal may cut the list short).
    expect: Option<u32>,
    running: Vec<RunningTask>,
    /// Quiet mode: no task lines, the running set stays as it is.
    keep_running: bool,
    /// `Waiting for N running tasks to finish`.
    stopping: bool,
}

impl BitbakeProgress {
    /// A parser that has seen nothing yet.
    pub fn new() -> BitbakeProgress {
        BitbakeProgress::default()
    }

    /// Feeds one line of BitBake's output.
    pub fn feed(&mut self, raw: &str) -> Fed {
        let cleaned = clean_line(raw);
        // kas 5 relays every BitBake line through its logger: `<date> <time> - INFO     - NOTE: …`
        // (BitBake's errors and warnings at kas's ERROR and WARNING levels).
        let (kas, line) = match strip_kas_prefix(&cleaned) {
            Some((level, rest)) => (Some(level), rest.to_string()),
            None => (None, cleaned),
        };
        match kas {
            // After kas's `Command "…bitbake …" failed:` it repeats BitBake's errors without
            // its prefix: shown, not counted again.
            None if self.kas_echo => return fed(false, LogLevel::Error, &line),
            Some(_) => self.kas_echo = false,
            None => {}
        }
        // kas's own warnings and errors (not BitBake's, relayed) keep kas's level.
        if let Some(level @ (LogLevel::Error | LogLevel::Warning)) = kas
            && !line.starts_with("ERROR: ")
            && !line.starts_with("WARNING: ")
        {
            if level == LogLevel::Error {
                self.errors += 1;
                self.kas_echo = line.starts_with("Command \"") && line.ends_with("failed:");
            }
            let committed = self.commit_footer();
            return Fed {
                changed: committed,
                log: Some(LogLine {
                    level,
                    origin: Some("kas".into()),
                    text: line,
                }),
            };
        }
        let text = line.trim_start();

        if let Some(changed) = self.footer(text) {
            return Fed { changed, log: None };
        }
        // Anything else ends a footer redraw the terminal cut short.
        let committed = self.commit_footer();
        let mut fed = self.log_line(&line);
        fed.changed |= committed;
        fed
    }

    /// Everything but the footer.
    fn log_line(&mut self, line: &str) -> Fed {
        let text = line.trim_start();
        // Continuations of multi-line reports come first: they look like nothing else.
        if self.in_log_data {
            if let Some(l) = line.strip_prefix("| ").or_else(|| line.strip_prefix(" | ")) {
                if let Some(f) = self.failed.last_mut() {
                    f.log_tail.push(l.to_string());
                    if f.log_tail.len() > LOG_TAIL {
                        f.log_tail.remove(0);
                    }
                }
                return fed(true, LogLevel::Output, line);
            }
            if line == "|" {
                return fed(false, LogLevel::Output, line);
            }
            self.in_log_data = false;
        }
        if self.in_failed_summary {
            // Indented by BitBake; kas's logger strips the indentation.
            if (line.starts_with("  ") || text.contains(":do_")) && !text.is_empty() {
                self.failed_summary_entry(text);
                return fed(true, LogLevel::Info, line);
            }
            self.in_failed_summary = false;
        }

        if let Some(msg) = text.strip_prefix("NOTE: ") {
            let changed = self.note(msg);
            return fed(changed, LogLevel::Info, line);
        }
        if let Some(msg) = text.strip_prefix("ERROR: ") {
            self.errors += 1;
            self.error(msg);
            return fed(true, LogLevel::Error, line);
        }
        if let Some(msg) = text.strip_prefix("WARNING: ") {
            self.warnings += 1;
            self.warning(msg);
            return fed(true, LogLevel::Warning, line);
        }
        if let Some((changed, show)) = self.phase_line(text) {
            return if show {
                fed(changed, LogLevel::Info, line)
            } else {
                Fed { changed, log: None }
            };
        }
        if text == "Log data follows:" {
            self.in_log_data = true;
            return fed(false, LogLevel::Info, line);
        }
        if let Some(rest) = text.strip_prefix("Summary: ") {
            let changed = self.final_summary(rest);
            return fed(changed, LogLevel::Info, line);
        }
        if text.starts_with("Keyboard Interrupt, closing down") {
            self.phase = Phase::Stopping;
            return fed(true, LogLevel::Warning, line);
        }
        if line.is_empty() {
            return Fed::default();
        }
        fed(false, kas_level(text), line)
    }

    /// Tasks done / total, `0.0..=1.0`, once the total is known.
    pub fn fraction(&self) -> Option<f64> {
        if let Some(s) = self.summary
            && s.failed == 0
        {
            return Some(1.0);
        }
        let total = self.tasks_total?;
        if total == 0 {
            return Some(1.0);
        }
        Some((f64::from(self.tasks().done) / f64::from(total)).clamp(0.0, 1.0))
    }

    /// Where the run is.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Running tasks, in start order.
    pub fn running(&self) -> &[RunningTask] {
        &self.running
    }

    /// Failed tasks, in the order they failed.
    pub fn failed(&self) -> &[FailedTask] {
        &self.failed
    }

    /// The final `Tasks Summary`, once printed.
    pub fn summary(&self) -> Option<TasksSummary> {
        self.summary
    }

    /// The shared-state summary, once printed.
    pub fn sstate(&self) -> Option<SstateSummary> {
        self.sstate
    }

    /// Real tasks: started, done, total.
    pub fn tasks(&self) -> TaskCount {
        let running = self.running.iter().filter(|t| !t.is_setscene()).count() as u32;
        let mut done = self.tasks_started.saturating_sub(running);
        if let Some(s) = self.summary {
            done = done.max(s.attempted);
        }
        TaskCount {
            started: self.tasks_started.max(done),
            done,
            total: self.tasks_total,
        }
    }

    /// Setscene tasks: started, done, total.
    pub fn setscene(&self) -> TaskCount {
        let running = self.running.iter().filter(|t| t.is_setscene()).count() as u32;
        TaskCount {
            started: self.setscene_started,
            done: self.setscene_started.saturating_sub(running),
            total: self.setscene_total,
        }
    }

    /// Everything the UI draws, in one plain struct.
    pub fn snapshot(&self) -> BitbakeSnapshot {
        BitbakeSnapshot {
            phase: self.phase,
            phase_percent: self.phase_percent,
            tasks: self.tasks(),
            setscene: self.setscene(),
            running: self.running.clone(),
            failed: self.failed.clone(),
            setscene_failed: self.setscene_failed,
            summary: self.summary,
            parse: self.parse,
            sstate: self.sstate,
            warnings: self.summary_warnings.unwrap_or(self.warnings),
            errors: self.summary_errors.unwrap_or(self.errors),
            fraction: self.fraction(),
            line: self.line(),
        }
    }

    fn line(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        match self.phase {
            Phase::Starting
            | Phase::LoadingCache
            | Phase::Parsing
            | Phase::Initialising
            | Phase::CheckingSstate => {
                let mut s = self.phase.label().to_string();
                if let Some(p) = self.phase_percent {
                    s.push_str(&format!(" {p}%"));
                }
                parts.push(s);
            }
            Phase::Finished => {
                if let Some(s) = self.summary {
                    if s.failed == 0 && self.failed.is_empty() {
                        parts.push("all succeeded".into());
                    } else {
                        let failed = s.failed.max(self.failed.len() as u32);
                        let names: Vec<String> = self.failed.iter().map(|f| f.name()).collect();
                        let mut p = format!("{failed} failed");
                        if !names.is_empty() {
                            p.push_str(&format!(": {}", list_some(&names, 3)));
                        }
                        parts.push(p);
                    }
                    parts.push(format!(
                        "attempted {} tasks, {} didn't need rerun",
                        s.attempted, s.not_rerun
                    ));
                }
            }
            Phase::Running | Phase::Stopping => {
                if self.phase == Phase::Stopping {
                    parts.push("stopping".into());
                }
                let t = self.tasks();
                match t.total {
                    Some(total) => parts.push(format!("task {}/{total}", t.done)),
                    None if t.done > 0 => parts.push(format!("task {}", t.done)),
                    None => {}
                }
                let s = self.setscene();
                if let Some(total) = s.total.filter(|&n| n > 0) {
                    parts.push(format!("setscene {}/{total}", s.done));
                }
                if !self.running.is_empty() {
                    let names: Vec<String> = self.running.iter().map(|t| t.name()).collect();
                    parts.push(format!(
                        "{} running: {}",
                        self.running.len(),
                        list_some(&names, 3)
                    ));
                }
                if !self.failed.is_empty() {
                    parts.push(format!("{} failed", self.failed.len()));
                }
                if parts.is_empty() {
                    parts.push(self.phase.label().to_string());
                }
            }
        }
        if let Some(sstate) = self.sstate
            && self.phase == Phase::Finished
        {
            parts.push(sstate.describe());
        }
        let warnings = self.summary_warnings.unwrap_or(self.warnings);
        if self.phase == Phase::Finished && warnings > 0 {
            parts.push(plural(warnings, "warning"));
        }
        parts.join(" · ")
    }

    /// `NOTE: …` lines. Returns whether anything changed.
    fn note(&mut self, msg: &str) -> bool {
        if let Some(rest) = msg.strip_prefix("Running ") {
            return self.running_note(rest);
        }
        if let Some(rest) = msg.strip_prefix("recipe ") {
            return self.task_note(rest);
        }
        if let Some(rest) = msg.strip_prefix("Tasks Summary: ") {
            let n = numbers(rest);
            if n.len() >= 2 {
                let failed = if rest.trim_end().ends_with("all succeeded.") {
                    0
                } else {
                    n.get(2).copied().unwrap_or(0)
                };
                self.summary = Some(TasksSummary {
                    attempted: n[0],
                    not_rerun: n[1],
                    failed,
                });
                self.phase = Phase::Finished;
                self.phase_percent = None;
                self.running.clear();
                return true;
            }
            return false;
        }
        if msg.starts_with("Executing ") && msg.ends_with("Tasks") {
            return self.set_phase(Phase::Running, None);
        }
        if msg.starts_with("Resolving any missing task queue dependencies") {
            return self.set_phase(Phase::Initialising, None);
        }
        if msg.starts_with("Sending SIGTERM to remaining") {
            return self.set_phase(Phase::Stopping, None);
        }
        false
    }

    /// `Running [setscene |noexec ]task X of Y (tid)`.
    fn running_note(&mut self, rest: &str) -> bool {
        let (kind, rest) = if let Some(r) = rest.strip_prefix("setscene task ") {
            ("setscene", r)
        } else if let Some(r) = rest.strip_prefix("noexec task ") {
            ("noexec", r)
        } else if let Some(r) = rest.strip_prefix("task ") {
            ("task", r)
        } else {
            return false;
        };
        let Some((x, rest)) = rest.split_once(" of ") else {
            return false;
        };
        let (y, tid) = rest.split_once(' ').unwrap_or((rest, ""));
        let (Ok(x), Ok(y)) = (x.trim().parse::<u32>(), y.trim().parse::<u32>()) else {
            return false;
        };
        if self.phase != Phase::Stopping {
            self.phase = Phase::Running;
            self.phase_percent = None;
        }
        let tid = tid
            .trim()
            .strip_prefix('(')
            .and_then(|t| t.strip_suffix(')'))
            .unwrap_or("");
        if kind == "setscene" {
            self.setscene_started = self.setscene_started.max(x);
            self.setscene_total = Some(y);
        } else {
            self.tasks_started = self.tasks_started.max(x);
            self.tasks_total = Some(y);
        }
        // A noexec task has no process: it is done as soon as it is announced.
        if kind != "noexec" && !tid.is_empty() {
            let t = parse_tid(tid);
            if !t.task.is_empty() {
                let seq = self.seq();
                self.running.push(RunningTask {
                    recipe: t.pn,
                    task: t.task,
                    multiconfig: t.mc,
                    pid: None,
                    elapsed_secs: None,
                    percent: None,
                    seq,
                    provisional: true,
                });
            }
        }
        true
    }

    /// `recipe PF: task do_x: Started|Succeeded|Failed`.
    fn task_note(&mut self, rest: &str) -> bool {
        let Some((recipe, rest)) = rest.split_once(": task ") else {
            return false;
        };
        let Some((task, what)) = rest.rsplit_once(": ") else {
            return false;
        };
        let (recipe, task) = (recipe.trim(), task.trim());
        match what.trim() {
            "Started" => {
                if let Some(i) = self.find_provisional(recipe, task) {
                    let t = &mut self.running[i];
                    t.recipe = recipe.to_string();
                    t.provisional = false;
                } else {
                    let seq = self.seq();
                    self.running.push(RunningTask {
                        recipe: recipe.to_string(),
                        task: task.to_string(),
                        multiconfig: None,
                        pid: None,
                        elapsed_secs: None,
                        percent: None,
                        seq,
                        provisional: false,
                    });
                }
                true
            }
            "Succeeded" => {
                self.finish_running(recipe, task);
                true
            }
            "Failed" => {
                self.finish_running(recipe, task);
                if !task.ends_with("_setscene") {
                    let i = self.failure_for(task, |f| !f.recipe_confirmed);
                    let f = &mut self.failed[i];
                    f.recipe = Some(recipe.to_string());
                    f.recipe_confirmed = true;
                    self.attach_task_error(i);
                }
                true
            }
            _ => false,
        }
    }

    /// `ERROR: …` lines.
    fn error(&mut self, msg: &str) {
        if let Some(path) = msg.strip_prefix("Logfile of failure stored in: ") {
            let path = path.trim();
            let (recipe, task) = failure_from_log_path(path);
            let task = task.unwrap_or_default();
            let i = self.failure_for(&task, |f| f.log_file.is_none() && f.tid.is_none());
            let f = &mut self.failed[i];
            f.log_file = Some(path.to_string());
            if f.recipe.is_none() {
                f.recipe = recipe;
            }
            self.attach_task_error(i);
            return;
        }
        if let Some(rest) = msg.strip_prefix("Task (")
            && let Some((tid, rest)) = rest.split_once(") failed with exit code '")
        {
            let code = rest.split('\'').next().and_then(|c| c.parse::<i32>().ok());
            let t = parse_tid(tid);
            let i = self.failure_for(&t.task, |f| f.tid.is_none());
            let f = &mut self.failed[i];
            f.tid = Some(tid.to_string());
            f.exit_code = code;
            self.attach_task_error(i);
            return;
        }
        // `PF do_x: message` (or `mc:name:PF do_x: message`): a task's own error.
        if let Some((title, message)) = msg.split_once(": ")
            && let Some((recipe, task)) = title.rsplit_once(' ')
            && task.starts_with("do_")
            && !recipe.contains(' ')
        {
            let recipe = strip_mc(recipe).1.to_string();
            if let Some(f) = self
                .failed
                .iter_mut()
                .rev()
                .find(|f| f.task == task && f.recipe.as_deref().is_none_or(|r| r == recipe))
            {
                if f.message.is_none() {
                    f.message = Some(message.to_string());
                }
            } else {
                self.task_errors
                    .push((recipe, task.to_string(), message.to_string()));
                if self.task_errors.len() > 16 {
                    self.task_errors.remove(0);
                }
            }
        }
    }

    /// `WARNING: …` lines: setscene failures end a running setscene task.
    fn warning(&mut self, msg: &str) {
        if let Some(rest) = msg.strip_prefix("Setscene task (")
            && let Some((tid, _)) = rest.split_once(") failed")
        {
            self.setscene_failed += 1;
            let t = parse_tid(tid);
            self.finish_running(&t.pn, &t.task);
        } else if let Some(path) = msg.strip_prefix("Logfile for failed setscene task is ") {
            let (recipe, task) = failure_from_log_path(path.trim());
            if let Some(task) = task {
                self.finish_running(recipe.as_deref().unwrap_or(""), &task);
            }
        }
    }

    /// The interactive footer. `None` when the line is not part of one.
    ///
    /// A redraw is collected in full before it replaces the counts and the running set, so
    /// a snapshot never mixes two redraws.
    fn footer(&mut self, text: &str) -> Option<bool> {
        if let Some(rest) = text.strip_prefix("Setscene tasks: ") {
            let counts = x_of_y(rest)?;
            self.commit_footer();
            self.footer_pending = Some(Footer {
                setscene: Some(counts),
                ..Footer::default()
            });
            return Some(false);
        }
        if let Some(rest) = text.strip_prefix("Currently ") {
            let rest = rest.trim_start();
            let (n, rest) = rest.split_once(' ')?;
            let n: u32 = n.parse().ok()?;
            if !rest.starts_with("running task") {
                return None;
            }
            let counts = x_of_y(rest.split_once('(')?.1)?;
            let f = self.footer_header();
            f.tasks = Some(counts);
            f.expect = Some(n);
            return Some(self.commit_footer_if_complete());
        }
        if let Some(rest) = text.strip_prefix("No currently running tasks (") {
            let counts = x_of_y(rest)?;
            let f = self.footer_header();
            f.tasks = Some(counts);
            f.expect = Some(0);
            return Some(self.commit_footer_if_complete());
        }
        if let Some(rest) = text.strip_prefix("Running tasks (") {
            // Quiet mode: `Running tasks (S of SS, X of Y)`, no task lines.
            let (ss, tasks) = rest.split_once(", ")?;
            let (setscene, tasks) = (x_of_y(ss)?, x_of_y(tasks)?);
            self.commit_footer();
            self.footer_pending = Some(Footer {
                setscene: Some(setscene),
                tasks: Some(tasks),
                keep_running: true,
                ..Footer::default()
            });
            return Some(self.commit_footer());
        }
        if let Some(rest) = text.strip_prefix("Waiting for ")
            && let Some((n, rest)) = rest.split_once(' ')
            && let Ok(n) = n.parse::<u32>()
            && (rest.starts_with("running task to finish")
                || rest.starts_with("running tasks to finish"))
        {
            self.commit_footer();
            self.phase = Phase::Stopping;
            self.footer_pending = Some(Footer {
                expect: Some(n),
                stopping: true,
                ..Footer::default()
            });
            self.commit_footer_if_complete();
            return Some(true);
        }
        let (index, task) = footer_task(text)?;
        match &mut self.footer_pending {
            Some(f) => f.running.push(task),
            None => {
                // A footer whose header we missed: take its tasks as they come.
                if index == 0 {
                    self.footer_previous = std::mem::take(&mut self.running);
                }
                self.running
                    .retain(|t| !(t.pid == task.pid && t.task == task.task));
                self.push_footer_task(task);
                self.enter_running();
                return Some(true);
            }
        }
        Some(self.commit_footer_if_complete())
    }

    /// The footer being collected, started by a header line.
    fn footer_header(&mut self) -> &mut Footer {
        let continues = self
            .footer_pending
            .as_ref()
            .is_some_and(|f| f.tasks.is_none() && f.running.is_empty() && !f.stopping);
        if !continues {
            self.commit_footer();
        }
        self.footer_pending.get_or_insert_with(Footer::default)
    }

    fn commit_footer_if_complete(&mut self) -> bool {
        let complete = self
            .footer_pending
            .as_ref()
            .is_some_and(|f| f.expect.is_some_and(|n| f.running.len() >= n as usize));
        complete && self.commit_footer()
    }

    /// Applies the footer being collected. Returns whether there was one.
    fn commit_footer(&mut self) -> bool {
        let Some(f) = self.footer_pending.take() else {
            return false;
        };
        if let Some((x, y)) = f.setscene {
            self.setscene_started = x;
            self.setscene_total = Some(y);
        }
        if let Some((x, y)) = f.tasks {
            self.tasks_started = x;
            self.tasks_total = Some(y);
        }
        if !f.keep_running {
            self.footer_previous = std::mem::take(&mut self.running);
            for t in f.running {
                self.push_footer_task(t);
            }
        }
        if f.stopping {
            self.phase = Phase::Stopping;
        } else {
            self.enter_running();
        }
        true
    }

    /// Adds a task from the footer, keeping its start number from the previous redraw.
    fn push_footer_task(&mut self, mut task: RunningTask) {
        task.seq = match self
            .footer_previous
            .iter()
            .find(|t| t.pid == task.pid && t.task == task.task)
        {
            Some(t) => t.seq,
            None => self.seq(),
        };
        self.running.push(task);
    }

    fn enter_running(&mut self) {
        if !matches!(self.phase, Phase::Stopping) {
            self.phase = Phase::Running;
            self.phase_percent = None;
        }
    }

    /// Parse, cache and preparation progress. `Some((changed, show_in_log))` when recognised.
    fn phase_line(&mut self, text: &str) -> Option<(bool, bool)> {
        // `Initialising tasks...Sstate summary: …`: BitBake prints the summary before the
        // progress line's `done.`, so it can start mid-line.
        if let Some(at) = text.find("Sstate summary: ") {
            let n = numbers(&text[at..]);
            if n.len() >= 5 {
                self.sstate = Some(SstateSummary {
                    wanted: n[0],
                    local: n[1],
                    mirrors: n[2],
                    missed: n[3],
                    current: n[4],
                });
            }
            self.set_phase(Phase::CheckingSstate, None);
            return Some((true, true));
        }
        const PHASES: [(&str, Phase); 4] = [
            ("Loading cache", Phase::LoadingCache),
            ("Parsing recipes", Phase::Parsing),
            ("Initialising tasks", Phase::Initialising),
            (
                "Checking sstate mirror object availability",
                Phase::CheckingSstate,
            ),
        ];
        for (label, phase) in PHASES {
            if let Some(rest) = text.strip_prefix(label) {
                let percent = if rest.starts_with("...done") {
                    Some(100)
                } else if let Some(bar) = rest.strip_prefix(':') {
                    bar.split('%')
                        .next()
                        .and_then(|p| p.trim().parse::<u8>().ok())
                } else if rest.starts_with("...") {
                    None
                } else {
                    continue;
                };
                let changed = self.set_phase(phase, percent);
                // Partial progress bars are redrawn in place: only the end is worth a log line.
                let show = percent.is_none_or(|p| p >= 100);
                return Some((changed, show));
            }
        }
        if let Some(rest) = text.strip_prefix("Parsing of ")
            && rest.contains(".bb files complete")
        {
            let n = numbers(rest);
            if n.len() >= 7 {
                self.parse = Some(ParseSummary {
                    files: n[0],
                    cached: n[1],
                    parsed: n[2],
                    targets: n[3],
                    skipped: n[4],
                    masked: n[5],
                    errors: n[6],
                });
            }
            self.set_phase(Phase::Parsing, Some(100));
            return Some((true, true));
        }
        if text.starts_with("Loaded ") && text.contains("entries from dependency cache") {
            self.set_phase(Phase::LoadingCache, Some(100));
            return Some((true, true));
        }
        if text == "done." {
            return Some((false, false));
        }
        None
    }

    /// `Summary: …` at the very end.
    fn final_summary(&mut self, rest: &str) -> bool {
        let n = numbers(rest).first().copied();
        if rest.contains("task failed:") || rest.contains("tasks failed:") {
            self.in_failed_summary = true;
            return false;
        }
        if let Some(n) = n {
            if rest.contains("WARNING message") {
                self.summary_warnings = Some(n);
                return true;
            }
            if rest.contains("ERROR message") {
                self.summary_errors = Some(n);
                return true;
            }
        }
        false
    }

    /// A task id under `Summary: N tasks failed:`.
    fn failed_summary_entry(&mut self, tid: &str) {
        if self.failed.iter().any(|f| f.tid.as_deref() == Some(tid)) {
            return;
        }
        let t = parse_tid(tid);
        let i = self.failure_for(&t.task, |f| f.tid.is_none());
        self.failed[i].tid = Some(tid.to_string());
    }

    /// The latest failure of `task` that `fits`, or a new one.
    fn failure_for(&mut self, task: &str, fits: impl Fn(&FailedTask) -> bool) -> usize {
        if let Some(i) = self
            .failed
            .iter()
            .rposition(|f| (f.task == task || f.task.is_empty()) && fits(f))
        {
            if self.failed[i].task.is_empty() {
                self.failed[i].task = task.to_string();
            }
            return i;
        }
        if self.failed.len() >= MAX_FAILURES {
            self.failed.remove(0);
        }
        self.failed.push(FailedTask::new(task));
        self.failed.len() - 1
    }

    /// Gives failure `i` the task error printed before it, if any.
    fn attach_task_error(&mut self, i: usize) {
        let f = &self.failed[i];
        if f.message.is_some() {
            return;
        }
        let found = self.task_errors.iter().rposition(|(recipe, task, _)| {
            *task == f.task && f.recipe.as_deref().is_none_or(|r| r == recipe)
        });
        if let Some(j) = found {
            let (_, _, message) = self.task_errors.remove(j);
            self.failed[i].message = Some(message);
        }
    }

    /// The running entry a `Started` note is about: announced, same task, same recipe.
    fn find_provisional(&self, recipe: &str, task: &str) -> Option<usize> {
        let pn = recipe_pn(recipe);
        self.running
            .iter()
            .position(|t| t.provisional && t.task == task && t.recipe == pn)
            .or_else(|| {
                self.running
                    .iter()
                    .position(|t| t.provisional && t.task == task)
            })
    }

    /// Removes the running entry of `recipe`'s `task` (the oldest if several match).
    fn finish_running(&mut self, recipe: &str, task: &str) {
        let pn = recipe_pn(recipe);
        let i = self
            .running
            .iter()
            .position(|t| t.task == task && (t.recipe == recipe || t.recipe == pn))
            .or_else(|| {
                self.running
                    .iter()
                    .position(|t| t.task == task && recipe_pn(&t.recipe) == pn)
            })
            .or_else(|| {
                self.running
                    .iter()
                    .position(|t| t.task == task && t.provisional)
            });
        if let Some(i) = i {
            self.running.remove(i);
        }
    }

    fn set_phase(&mut self, phase: Phase, percent: Option<u8>) -> bool {
        let changed = self.phase != phase || self.phase_percent != percent;
        self.phase = phase;
        self.phase_percent = percent;
        changed
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

fn fed(changed: bool, level: LogLevel, line: &str) -> Fed {
    Fed {
        changed,
        log: Some(LogLine {
            level,
            origin: None,
            text: line.to_string(),
        }),
    }
}

fn plural(n: u32, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// kas's log prefix, `2026-01-10 09:12:01 - INFO     - `: the level it names and the rest.
fn strip_kas_prefix(line: &str) -> Option<(LogLevel, &str)> {
    let b = line.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let stamp = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b' ')
        && digits(11..13)
        && digits(14..16)
        && digits(17..19);
    if !stamp {
        return None;
    }
    let rest = line.get(19..)?.strip_prefix(" - ")?;
    let (level, message) = rest.split_once(" - ")?;
    let level = match level.trim_end() {
        "ERROR" | "CRITICAL" => LogLevel::Error,
        "WARNING" => LogLevel::Warning,
        "INFO" => LogLevel::Info,
        "DEBUG" => LogLevel::Output,
        _ => return None,
    };
    Some((level, message))
}

/// kas's own log lines: `2026-01-10 09:12:01 - ERROR    - message`.
fn kas_level(text: &str) -> LogLevel {
    if text.contains(" - ERROR    - ") || text.contains(" - CRITICAL - ") {
        LogLevel::Error
    } else if text.contains(" - WARNING  - ") {
        LogLevel::Warning
    } else if text.contains(" - INFO     - ") {
        LogLevel::Info
    } else {
        LogLevel::Output
    }
}

/// Every unsigned number in `s`, in order.
fn numbers(s: &str) -> Vec<u32> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// `X of Y` at the start of `s` (anything may follow Y).
fn x_of_y(s: &str) -> Option<(u32, u32)> {
    let (x, rest) = s.trim_start().split_once(" of ")?;
    let y: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((x.trim().parse().ok()?, y.parse().ok()?))
}

/// A task id split up: `[mc:name:][virtual:native:]/path/recipe_1.0.bb:do_task`.
struct Tid {
    mc: Option<String>,
    /// The recipe name from the file: `recipe`, `recipe-native`.
    pn: String,
    task: String,
}

fn parse_tid(tid: &str) -> Tid {
    let tid = tid.trim();
    // Old runqueues: `ID: 12, /path/recipe.bb, do_task`.
    if let Some(rest) = tid.strip_prefix("ID: ") {
        let parts: Vec<&str> = rest.split(", ").collect();
        if parts.len() >= 3 {
            return Tid {
                mc: None,
                pn: pn_from_file(parts[1]),
                task: parts[2].to_string(),
            };
        }
    }
    let (file, task) = tid.rsplit_once(':').unwrap_or((tid, ""));
    let (mc, file) = strip_mc(file);
    let mut pn = pn_from_file(file);
    if file.starts_with("virtual:native:") {
        pn.push_str("-native");
    } else if file.starts_with("virtual:nativesdk:") {
        pn = format!("nativesdk-{pn}");
    }
    Tid {
        mc: mc.map(str::to_string),
        pn,
        task: task.to_string(),
    }
}

/// `mc:name:rest` → (`name`, `rest`).
fn strip_mc(s: &str) -> (Option<&str>, &str) {
    if let Some(rest) = s.strip_prefix("mc:")
        && let Some((mc, rest)) = rest.split_once(':')
    {
        return (Some(mc), rest);
    }
    (None, s)
}

/// `/path/busybox_1.36.1.bb` → `busybox`.
fn pn_from_file(file: &str) -> String {
    let base = file.rsplit('/').next().unwrap_or(file);
    let base = base
        .strip_suffix(".bbappend")
        .or_else(|| base.strip_suffix(".bb"))
        .unwrap_or(base);
    base.split('_').next().unwrap_or(base).to_string()
}

/// `busybox-1.36.1-r0` (PN-PV-PR) → `busybox`; a name without version stays as it is.
pub fn recipe_pn(pf: &str) -> String {
    let (_, pf) = strip_mc(pf);
    let mut s = pf;
    if let Some((head, pr)) = s.rsplit_once('-')
        && pr.starts_with('r')
        && pr.len() > 1
        && pr[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        s = head;
        if let Some((head, _pv)) = s.rsplit_once('-')
            && !head.is_empty()
        {
            s = head;
        }
    }
    s.to_string()
}

/// `…/work/<arch>/<PN>/<PV>-<PR>/temp/log.do_compile.1234` → (`PN-PV-PR`, `do_compile`).
fn failure_from_log_path(path: &str) -> (Option<String>, Option<String>) {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or("");
    let task = file
        .strip_prefix("log.")
        .map(|t| match t.rsplit_once('.') {
            Some((t, pid)) if pid.chars().all(|c| c.is_ascii_digit()) => t,
            _ => t,
        })
        .filter(|t| t.starts_with("do_"))
        .map(str::to_string);
    let temp = parts.next();
    let pv_pr = parts.next();
    let pn = parts.next();
    let recipe = match (temp, pv_pr, pn) {
        (Some("temp"), Some(pv_pr), Some(pn)) if !pv_pr.is_empty() && !pn.is_empty() => {
            Some(format!("{pn}-{pv_pr}"))
        }
        _ => None,
    };
    (recipe, task)
}

/// One task line of the interactive footer: `i: [mc:name:]PF do_x[ - 1m2s] (pid 123)[ bar]`.
fn footer_task(text: &str) -> Option<(u32, RunningTask)> {
    let (index, rest) = text.split_once(": ")?;
    let index: u32 = index.parse().ok()?;
    let (head, tail) = rest.split_once(" (pid ")?;
    let (pid, after) = tail.split_once(')')?;
    let pid: u32 = pid.trim().parse().ok()?;
    let (title, elapsed) = match head.rsplit_once(" - ") {
        Some((title, e)) => match parse_elapsed(e) {
            Some(secs) => (title, Some(secs)),
            None => (head, None),
        },
        None => (head, None),
    };
    let (recipe, task) = title.rsplit_once(' ')?;
    if !task.starts_with("do_") {
        return None;
    }
    let (mc, recipe) = strip_mc(recipe);
    let percent = after
        .split_once('%')
        .and_then(|(p, _)| p.split_whitespace().last()?.parse::<u8>().ok());
    Some((
        index,
        RunningTask {
            recipe: recipe.to_string(),
            task: task.to_string(),
            multiconfig: mc.map(str::to_string),
            pid: Some(pid),
            elapsed_secs: elapsed,
            percent,
            seq: 0,
            provisional: false,
        },
    ))
}

/// `1h2m3s`, `2m5s`, `12s` → seconds.
fn parse_elapsed(s: &str) -> Option<u64> {
    let s = s.trim();
    if !s.ends_with('s') {
        return None;
    }
    let mut total = 0u64;
    let mut n = String::new();
    for c in s.chars() {
        match c {
            '0'..='9' => n.push(c),
            'h' | 'm' | 's' => {
                let v: u64 = n.parse().ok()?;
                n.clear();
                total += v * match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
            }
            _ => return None,
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "mc:qemuamd64-trixie:/work/meta-n3x/recipes-k3s/k3s/k3s-server_1.31.4.bb";

    fn feed_all(p: &mut BitbakeProgress, lines: &str) {
        for l in lines.lines() {
            p.feed(l);
        }
    }

    #[test]
    fn recipe_names_lose_version_and_revision() {
        assert_eq!(recipe_pn("busybox-1.36.1-r0"), "busybox");
        assert_eq!(recipe_pn("n3x-image-server-1.0-r0"), "n3x-image-server");
        assert_eq!(
            recipe_pn("linux-yocto-6.1.38+gitAUTOINC+abc_def-r0"),
            "linux-yocto"
        );
        assert_eq!(
            recipe_pn("mc:qemuamd64-trixie:k3s-server-1.31.4-r0"),
            "k3s-server"
        );
        assert_eq!(recipe_pn("k3s-server"), "k3s-server");
        assert_eq!(recipe_pn("foo-r0"), "foo");
        assert_eq!(recipe_pn(""), "");
    }

    #[test]
    fn task_ids_are_split_into_multiconfig_recipe_and_task() {
        let t = parse_tid(&format!("{TID}:do_fetch"));
        assert_eq!(t.mc.as_deref(), Some("qemuamd64-trixie"));
        assert_eq!(t.pn, "k3s-server");
        assert_eq!(t.task, "do_fetch");
        let t =
            parse_tid("virtual:native:/poky/meta/recipes-devtools/quilt/quilt_0.67.bb:do_install");
        assert_eq!(
            (t.mc, t.pn.as_str(), t.task.as_str()),
            (None, "quilt-native", "do_install")
        );
        let t = parse_tid("ID: 12, /poky/meta/recipes-core/busybox/busybox_1.36.1.bb, do_compile");
        assert_eq!((t.pn.as_str(), t.task.as_str()), ("busybox", "do_compile"));
        let t = parse_tid("nonsense");
        assert_eq!((t.pn.as_str(), t.task.as_str()), ("nonsense", ""));
    }

    #[test]
    fn log_paths_name_the_recipe_and_task() {
        let (r, t) = failure_from_log_path(
            "/work/build/tmp/work/debian-trixie-amd64/k3s-server/1.31.4-r0/temp/log.do_dpkg_build.2109",
        );
        assert_eq!(r.as_deref(), Some("k3s-server-1.31.4-r0"));
        assert_eq!(t.as_deref(), Some("do_dpkg_build"));
        let (r, t) = failure_from_log_path("log.do_compile");
        assert_eq!((r, t.as_deref()), (None, Some("do_compile")));
        assert_eq!(failure_from_log_path("/"), (None, None));
    }

    #[test]
    fn footer_task_lines_are_parsed() {
        let (i, t) = footer_task(
            "1: mc:qemuamd64-trixie:k3s-server-1.31.4-r0 do_fetch - 1m3s (pid 2103)  42% |#####   | 1.20 MiB/s",
        )
        .unwrap();
        assert_eq!(i, 1);
        assert_eq!(t.recipe, "k3s-server-1.31.4-r0");
        assert_eq!(t.task, "do_fetch");
        assert_eq!(t.multiconfig.as_deref(), Some("qemuamd64-trixie"));
        assert_eq!(
            (t.pid, t.elapsed_secs, t.percent),
            (Some(2103), Some(63), Some(42))
        );
        assert_eq!(t.name(), "k3s-server do_fetch");

        let (_, t) = footer_task("0: busybox-1.36.1-r0 do_compile (pid 7)").unwrap();
        assert_eq!((t.elapsed_secs, t.percent), (None, None));
        assert!(footer_task("0: not a task (pid 7)").is_none());
        assert!(footer_task("12: foo do_x - 3s (pid x)").is_none());
        assert!(footer_task("x: foo do_x - 3s (pid 1)").is_none());
        assert_eq!(parse_elapsed("1h2m3s"), Some(3723));
        assert_eq!(parse_elapsed("12s"), Some(12));
        assert_eq!(parse_elapsed("soon"), None);
    }

    #[test]
    fn running_set_follows_the_task_notes_in_start_order() {
        let mut p = BitbakeProgress::new();
        feed_all(
            &mut p,
            &format!(
                "NOTE: Running task 3 of 10 ({TID}:do_fetch)\n\
                 NOTE: Running task 4 of 10 (/work/isar/meta/recipes-core/busybox/busybox_1.36.1.bb:do_compile)\n"
            ),
        );
        // Announced, not started yet: named after the recipe file.
        let names: Vec<String> = p.running().iter().map(RunningTask::name).collect();
        assert_eq!(names, ["k3s-server do_fetch", "busybox do_compile"]);
        assert_eq!(p.running()[0].recipe, "k3s-server");
        assert_eq!(
            p.tasks(),
            TaskCount {
                started: 4,
                done: 2,
                total: Some(10)
            }
        );

        p.feed("NOTE: recipe busybox-1.36.1-r0: task do_compile: Started");
        p.feed("NOTE: recipe k3s-server-1.31.4-r0: task do_fetch: Started");
        assert_eq!(p.running()[0].recipe, "k3s-server-1.31.4-r0");
        assert_eq!(
            p.running()[0].multiconfig.as_deref(),
            Some("qemuamd64-trixie")
        );
        assert_eq!(p.running()[1].recipe, "busybox-1.36.1-r0");
        assert!(p.running()[0].seq < p.running()[1].seq);

        p.feed("NOTE: recipe k3s-server-1.31.4-r0: task do_fetch: Succeeded");
        assert_eq!(p.running().len(), 1);
        assert_eq!(p.tasks().done, 3);
        // A noexec task never runs: done as soon as it is announced.
        p.feed(&format!(
            "NOTE: Running noexec task 5 of 10 ({TID}:do_build)"
        ));
        assert_eq!(p.running().len(), 1);
        assert_eq!(p.tasks().done, 4);
        let s = p.snapshot();
        assert_eq!(s.line, "task 4/10 · 1 running: busybox do_compile");
        assert_eq!(s.fraction, Some(0.4));
    }

    #[test]
    fn failures_are_pieced_together_in_any_order() {
        let mut p = BitbakeProgress::new();
        // No log file, no note: only the runqueue's line, then the summary.
        p.feed(&format!(
            "ERROR: Task ({TID}:do_compile) failed with exit code '2'"
        ));
        p.feed("NOTE: Tasks Summary: Attempted 5 tasks of which 1 didn't need to be rerun and 1 failed.");
        p.feed("");
        p.feed("Summary: 2 tasks failed:");
        p.feed(&format!("  {TID}:do_compile"));
        p.feed("  /work/isar/meta/recipes-core/busybox/busybox_1.36.1.bb:do_install");
        p.feed("Summary: There were 3 ERROR messages, returning a non-zero exit code.");
        let s = p.snapshot();
        assert_eq!(s.failed.len(), 2);
        assert_eq!(s.failed[0].exit_code, Some(2));
        assert_eq!(s.failed[0].name(), "k3s-server do_compile");
        assert_eq!(s.failed[1].name(), "busybox do_install");
        assert_eq!(
            s.failed[1].tid.as_deref(),
            Some("/work/isar/meta/recipes-core/busybox/busybox_1.36.1.bb:do_install")
        );
        assert_eq!(s.errors, 3);
        assert_eq!(
            s.summary,
            Some(TasksSummary {
                attempted: 5,
                not_rerun: 1,
                failed: 1
            })
        );
        assert_eq!(s.phase, Phase::Finished);
        assert_eq!(
            s.line,
            "2 failed: k3s-server do_compile, busybox do_install · attempted 5 tasks, 1 didn't need rerun"
        );
    }

    #[test]
    fn old_summaries_always_say_failed() {
        let mut p = BitbakeProgress::new();
        p.feed("NOTE: Tasks Summary: Attempted 446 tasks of which 437 didn't need to be rerun and 0 failed.");
        assert_eq!(
            p.summary(),
            Some(TasksSummary {
                attempted: 446,
                not_rerun: 437,
                failed: 0
            })
        );
        assert_eq!(p.fraction(), Some(1.0));
    }

    #[test]
    fn a_failed_setscene_task_stops_running() {
        let mut p = BitbakeProgress::new();
        p.feed(&format!(
            "NOTE: Running setscene task 1 of 2 ({TID}:do_deploy_deb_setscene)"
        ));
        p.feed("NOTE: recipe k3s-server-1.31.4-r0: task do_deploy_deb_setscene: Started");
        assert_eq!(p.running().len(), 1);
        p.feed("WARNING: Logfile for failed setscene task is /b/tmp/work/amd64/k3s-server/1.31.4-r0/temp/log.do_deploy_deb_setscene.12");
        p.feed(&format!("WARNING: Setscene task ({TID}:do_deploy_deb_setscene) failed with exit code '1' - real task will be run instead"));
        let s = p.snapshot();
        assert!(s.running.is_empty());
        assert_eq!((s.setscene_failed, s.warnings), (1, 2));
        assert_eq!(
            s.setscene,
            TaskCount {
                started: 1,
                done: 1,
                total: Some(2)
            }
        );
        assert!(s.failed.is_empty());
    }

    #[test]
    fn phases_and_their_progress_bars() {
        let mut p = BitbakeProgress::new();
        assert_eq!(p.snapshot().line, "starting");
        let f = p
            .feed("Parsing recipes:  45% |##################                      | ETA:  0:00:10");
        assert!(f.changed && f.log.is_none());
        assert_eq!(
            (p.phase(), p.snapshot().phase_percent),
            (Phase::Parsing, Some(45))
        );
        assert_eq!(p.snapshot().line, "parsing recipes 45%");
        let f = p
            .feed("Parsing recipes: 100% |########################################| Time: 0:00:19");
        assert!(f.log.is_some());
        p.feed("Checking sstate mirror object availability...");
        assert_eq!(
            (p.phase(), p.snapshot().phase_percent),
            (Phase::CheckingSstate, None)
        );
        p.feed("NOTE: Executing SetScene Tasks");
        assert_eq!(p.phase(), Phase::Running);
        assert_eq!(p.snapshot().line, "running tasks");
        p.feed("Waiting for 2 running tasks to finish:");
        assert_eq!(p.phase(), Phase::Stopping);
        p.feed("0: busybox-1.36.1-r0 do_compile - 3s (pid 10)");
        p.feed("1: zlib-1.3-r0 do_install - 1s (pid 11)");
        assert_eq!(p.running().len(), 2);
        assert_eq!(
            p.snapshot().line,
            "stopping · 2 running: busybox do_compile, zlib do_install"
        );
    }

    #[test]
    fn footer_redraws_replace_the_running_set_atomically() {
        let mut p = BitbakeProgress::new();
        feed_all(
            &mut p,
            "Setscene tasks: 3 of 10\n\
             Currently  2 running tasks (5 of 20)  20% |####      |\n\
             0: busybox-1.36.1-r0 do_compile - 3s (pid 10)\n",
        );
        // Half a redraw is not applied.
        assert_eq!(p.tasks().total, None);
        assert!(p.running().is_empty());
        p.feed("1: zlib-1.3-r0 do_install_setscene - 1s (pid 11)");
        assert_eq!(
            p.tasks(),
            TaskCount {
                started: 5,
                done: 4,
                total: Some(20)
            }
        );
        assert_eq!(
            p.setscene(),
            TaskCount {
                started: 3,
                done: 2,
                total: Some(10)
            }
        );
        let first = p.running()[0].seq;

        // Next redraw: zlib finished, a new task started; busybox keeps its start number.
        feed_all(
            &mut p,
            "\x1b[4A\x1b[JSetscene tasks: 3 of 10\n\
             Currently  2 running tasks (6 of 20)  25% |#####     |\n\
             0: busybox-1.36.1-r0 do_compile - 8s (pid 10)\n\
             1: mc:mc1:linux-6.1-r0 do_fetch - 0s (pid 12)\n",
        );
        let r = p.running();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].seq, r[0].elapsed_secs), (first, Some(8)));
        assert_eq!(r[1].multiconfig.as_deref(), Some("mc1"));
        assert!(r[1].seq > first);

        // A footer cut short by the terminal is applied when something else is printed.
        feed_all(
            &mut p,
            "\x1b[4A\x1b[JSetscene tasks: 4 of 10\n\
             Currently  3 running tasks (7 of 20)  30% |######    |\n\
             0: busybox-1.36.1-r0 do_compile - 9s (pid 10)\n",
        );
        assert_eq!(p.running().len(), 2);
        let f = p.feed("\x1b[3A\x1b[JNOTE: Executing Tasks");
        assert!(f.changed);
        assert_eq!(p.running().len(), 1);
        assert_eq!(p.tasks().started, 7);

        p.feed("No currently running tasks (20 of 20) 95% |######### |");
        assert!(p.running().is_empty());
        assert_eq!(p.tasks().done, 20);
        // Quiet mode has only one line.
        p.feed("Running tasks (9 of 10, 20 of 20)");
        assert_eq!(p.setscene().started, 9);
    }

    #[test]
    fn garbage_never_panics_or_counts() {
        let mut p = BitbakeProgress::new();
        let junk = [
            "",
            " ",
            "|",
            "NOTE:",
            "NOTE: ",
            "NOTE: Running task",
            "NOTE: Running task x of y (z)",
            "NOTE: Running task 1 of",
            "NOTE: recipe",
            "NOTE: recipe foo: task",
            "NOTE: Tasks Summary: Attempted",
            "ERROR: Task (",
            "ERROR: Task () failed with exit code '",
            "ERROR: Logfile of failure stored in: ",
            "WARNING: Setscene task (",
            "Currently",
            "Currently  x running tasks (1 of 2)",
            "Currently  2 running tasks",
            "Setscene tasks: a of b",
            "No currently running tasks (",
            "Running tasks (1 of 2)",
            "0: (pid )",
            "0: x (pid 1",
            "99999999999999999999: a do_b (pid 1)",
            "Parsing recipes:",
            "Parsing of .bb files complete",
            "Summary: There were many WARNING messages.",
            "\x1b[",
            "\x1b]0;",
            "\u{9b}31m",
            "\r\r\r",
            "ünïcödé ✓ 日本",
        ];
        for j in junk {
            p.feed(j);
        }
        p.feed(&"x".repeat(100_000));
        let s = p.snapshot();
        assert_eq!(s.tasks, TaskCount::default());
        assert_eq!(s.setscene, TaskCount::default());
        assert!(s.running.is_empty());
        assert_eq!(s.summary, None);
        assert_eq!(s.fraction, None);
    }
}
