//! The build engine: a queue of builds run as tokio tasks, each a plan of steps whose programs
//! run under the supervisor. It never draws: it publishes its [`BuildUpdate`]s on the bounded
//! channel it is given ([`updates`]) and takes [`Command`]s, so the workbench and `n3x build`
//! show the same builds.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};

use super::BuildError;
use super::isar::{self, IsarOptions};
use super::plan::{self, Backend, Step};
use super::progress::{BitbakeProgress, BuildProgress, NixProgress};
use super::quick::{self, K3sSource};
use super::state::{self, ArtifactRecord, BuildRecord, Outcome, StepRecord};
use super::tools;
use crate::matrix::Variant;
use crate::profile::Profiles;
use crate::supervise::{Child, Output, Spec, Supervisor};

/// A build's number in this session (its directory name is its lasting ID).
pub type BuildNo = u64;

/// Settings every build of a session shares.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The repository root (where kas and nix run).
    pub repo: PathBuf,
    /// The state directory (logs, records, artifacts, caches).
    pub state: PathBuf,
    /// The isar backend's options (how kas runs, caches, source mirror).
    pub isar: IsarOptions,
    /// A k3s binary for quick images.
    pub k3s_binary: Option<PathBuf>,
    /// How many builds may run at once (ISAR builds always run one at a time: they share
    /// BitBake's build directory).
    pub jobs: usize,
    /// Terminal size of each build's pseudo-terminal (rows, columns).
    pub size: (u16, u16),
}

/// How many updates wait for a slow reader before the engine waits for it. A build's program
/// never waits: the supervisor drains its output into a bounded buffer of its own and counts
/// what it had to drop ([`BuildUpdate::Dropped`]).
pub const UPDATES: usize = 256;

/// Where the engine publishes: every build's number with what happened to it.
pub type Publisher = mpsc::Sender<(BuildNo, BuildUpdate)>;

/// A new, bounded channel for the engine's updates.
pub fn updates() -> (Publisher, mpsc::Receiver<(BuildNo, BuildUpdate)>) {
    mpsc::channel(UPDATES)
}

/// What the engine is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Queue a build of a variant with a backend.
    Start(Variant, Backend),
    /// Cancel a queued or running build.
    Cancel(BuildNo),
    /// Queue the same variant and backend again.
    Retry(BuildNo),
}

/// What happened to a build.
#[derive(Debug, Clone)]
pub enum BuildUpdate {
    /// The build is queued.
    Queued {
        /// The variant's key.
        variant: String,
        /// The backend.
        backend: Backend,
        /// Every step, as `--dry-run` prints it.
        steps: Vec<String>,
        /// How long the last successful build of the same variant and backend took.
        estimate: Option<Duration>,
    },
    /// The build started; its record and logs are in `dir`.
    Started {
        /// The build's directory.
        dir: PathBuf,
    },
    /// A step started.
    Step {
        /// 0-based index.
        index: usize,
        /// How many steps there are.
        total: usize,
        /// The step as `--dry-run` prints it.
        description: String,
        /// The running program, for steps that run one (its screen is the live pane).
        child: Option<Child>,
    },
    /// A line of output (or an engine note) for log views and `--batch`.
    Line(String),
    /// Lines the engine could not show because it fell behind (the log file has them).
    Dropped(u64),
    /// How far the build is, parsed from the build tool's output.
    Progress {
        /// One line, e.g. `task 1234/2345 · 3 running: …`.
        line: String,
        /// Done, from 0 to 1, when known.
        fraction: Option<f64>,
    },
    /// The build ended.
    Finished {
        /// How.
        outcome: Outcome,
        /// How long it ran.
        duration: Duration,
        /// Why it failed, in words.
        error: Option<String>,
        /// What it produced.
        artifacts: Vec<ArtifactRecord>,
    },
}

/// The handle views and commands use to talk to the engine.
#[derive(Debug, Clone)]
pub struct Engine {
    commands: mpsc::Sender<(Command, Option<tokio::sync::oneshot::Sender<BuildNo>>)>,
}

impl Engine {
    /// Starts the engine on the current tokio runtime.
    pub fn start(
        profiles: Arc<Profiles>,
        settings: Settings,
        supervisor: Supervisor,
        publisher: Publisher,
    ) -> Engine {
        let (tx, rx) = mpsc::channel(64);
        let queue = Queue {
            profiles,
            settings,
            supervisor,
            publisher,
            next: 1,
            waiting: VecDeque::new(),
            running: HashMap::new(),
            requests: HashMap::new(),
        };
        tokio::spawn(queue.run(rx));
        Engine { commands: tx }
    }

    /// Sends a command; for `Start` and `Retry`, returns the new build's number.
    pub async fn send(&self, command: Command) -> Option<BuildNo> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.commands.send((command, Some(reply))).await.ok()?;
        answer.await.ok()
    }

    /// Sends a command without waiting for an answer (from a synchronous caller).
    pub fn try_send(&self, command: Command) -> bool {
        self.commands.try_send((command, None)).is_ok()
    }
}

struct Waiting {
    no: BuildNo,
    variant: Variant,
    backend: Backend,
}

struct Running {
    cancel: watch::Sender<bool>,
    isar: bool,
}

struct Queue {
    profiles: Arc<Profiles>,
    settings: Settings,
    supervisor: Supervisor,
    publisher: Publisher,
    next: BuildNo,
    waiting: VecDeque<Waiting>,
    running: HashMap<BuildNo, Running>,
    /// Every build's variant and backend, for retries.
    requests: HashMap<BuildNo, (Variant, Backend)>,
}

impl Queue {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<(Command, Option<tokio::sync::oneshot::Sender<BuildNo>>)>,
    ) {
        let (done_tx, mut done) = mpsc::channel::<BuildNo>(64);
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None => break,
                    Some((command, reply)) => {
                        if let Some(no) = self.command(command).await
                            && let Some(reply) = reply
                        {
                            let _ = reply.send(no);
                        }
                    }
                },
                Some(no) = done.recv() => {
                    self.running.remove(&no);
                }
            }
            self.launch(&done_tx);
        }
        // Nobody can ask for anything any more: cancel what runs.
        for running in self.running.values() {
            let _ = running.cancel.send(true);
        }
    }

    async fn command(&mut self, command: Command) -> Option<BuildNo> {
        match command {
            Command::Start(variant, backend) => Some(self.enqueue(variant, backend).await),
            Command::Retry(no) => {
                let (variant, backend) = self.requests.get(&no)?.clone();
                Some(self.enqueue(variant, backend).await)
            }
            Command::Cancel(no) => {
                if let Some(pos) = self.waiting.iter().position(|w| w.no == no) {
                    self.waiting.remove(pos);
                    self.publish(
                        no,
                        BuildUpdate::Finished {
                            outcome: Outcome::Cancelled,
                            duration: Duration::ZERO,
                            error: Some("cancelled before it started".into()),
                            artifacts: Vec::new(),
                        },
                    )
                    .await;
                } else if let Some(running) = self.running.get(&no) {
                    let _ = running.cancel.send(true);
                }
                None
            }
        }
    }

    async fn enqueue(&mut self, variant: Variant, backend: Backend) -> BuildNo {
        let no = self.next;
        self.next += 1;
        self.requests.insert(no, (variant.clone(), backend));
        // Planning may probe the network (for k3s) and read the cache: not on this task.
        let (p, settings, v) = (
            Arc::clone(&self.profiles),
            self.settings.clone(),
            variant.clone(),
        );
        let steps = tokio::task::spawn_blocking(move || {
            plan_steps(&p, &settings, &v, backend, tools::installed)
        })
        .await
        .ok()
        .and_then(Result::ok)
        .map(|steps| steps.iter().map(ToString::to_string).collect())
        .unwrap_or_default();
        let (records, _) = state::history(&self.settings.state);
        let estimate = state::last_duration(&records, &variant.key(), backend);
        self.publish(
            no,
            BuildUpdate::Queued {
                variant: variant.key(),
                backend,
                steps,
                estimate,
            },
        )
        .await;
        self.waiting.push_back(Waiting {
            no,
            variant,
            backend,
        });
        no
    }

    /// Starts waiting builds while there is room.
    fn launch(&mut self, done: &mpsc::Sender<BuildNo>) {
        loop {
            let isar_running = self.running.values().any(|r| r.isar);
            let Some(pos) = self.waiting.iter().position(|w| {
                self.running.len() < self.settings.jobs.max(1)
                    && !(w.backend == Backend::Isar && isar_running)
            }) else {
                return;
            };
            let Some(w) = self.waiting.remove(pos) else {
                return;
            };
            let (cancel_tx, cancel_rx) = watch::channel(false);
            self.running.insert(
                w.no,
                Running {
                    cancel: cancel_tx,
                    isar: w.backend == Backend::Isar,
                },
            );
            let job = Job {
                no: w.no,
                variant: w.variant,
                backend: w.backend,
                profiles: Arc::clone(&self.profiles),
                settings: self.settings.clone(),
                supervisor: self.supervisor.clone(),
                publisher: self.publisher.clone(),
                cancel: cancel_rx,
            };
            let done = done.clone();
            tokio::spawn(async move {
                let no = job.no;
                job.run().await;
                let _ = done.send(no).await;
            });
        }
    }

    async fn publish(&self, no: BuildNo, update: BuildUpdate) {
        let _ = self.publisher.send((no, update)).await;
    }
}

/// The steps of a build, or why it cannot be built here. `installed` says whether a program
/// can be found (a parameter so tests can pretend).
pub fn plan_steps(
    p: &Profiles,
    settings: &Settings,
    variant: &Variant,
    backend: Backend,
    installed: impl Fn(&str) -> bool,
) -> Result<Vec<Step>, BuildError> {
    match backend {
        Backend::Isar => isar::plan(
            p,
            variant,
            &settings.repo,
            &settings.state.join("artifacts/isar"),
            &settings.isar,
            settings.k3s_binary.as_deref(),
            &isar::Host::real(&installed),
        )
        .map_err(BuildError::IsarSetup),
        Backend::Nixos => plan::nixos_steps(
            variant,
            &settings.repo,
            &settings.state.join("artifacts/nixos").join(variant.key()),
        ),
        Backend::Quick => {
            let root = rustix::process::geteuid().is_root();
            quick::check_host(variant, root, &installed)?;
            let k3s = K3sSource::resolve(
                settings.k3s_binary.as_deref(),
                &p.cluster.k3s.version,
                &settings.state,
                quick::github_reachable,
            );
            Ok(quick::steps(variant, &settings.state, &k3s)?)
        }
    }
}

struct Job {
    no: BuildNo,
    variant: Variant,
    backend: Backend,
    profiles: Arc<Profiles>,
    settings: Settings,
    supervisor: Supervisor,
    publisher: Publisher,
    cancel: watch::Receiver<bool>,
}

/// How a step ended, when it did not succeed.
enum StepFailure {
    Failed(String),
    Cancelled,
}

impl Job {
    async fn publish(&self, update: BuildUpdate) {
        let _ = self.publisher.send((self.no, update)).await;
    }

    async fn run(mut self) {
        let started = SystemTime::now();
        let clock = Instant::now();
        let id = state::build_id(started, &self.variant.key(), self.backend);
        let dir = self.settings.state.join("builds").join(&id);
        let mut record = BuildRecord {
            id,
            variant: self.variant.key(),
            backend: self.backend,
            started: state::utc(started),
            duration_ms: None,
            outcome: Outcome::Running,
            error: None,
            steps: Vec::new(),
            artifacts: Vec::new(),
            sstate: None,
        };
        let result = self.steps(&dir, &mut record).await;
        let duration = clock.elapsed();
        let (outcome, error) = match result {
            Ok(()) => (Outcome::Succeeded, None),
            Err(StepFailure::Cancelled) => (Outcome::Cancelled, Some("cancelled".to_string())),
            Err(StepFailure::Failed(why)) => (Outcome::Failed, Some(why)),
        };
        tracing::info!(
            outcome = outcome.word(),
            ?error,
            ?duration,
            "build finished"
        );
        record.outcome = outcome;
        record.error = error.clone();
        record.duration_ms = Some(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
        if let Err(e) = record.save(&dir) {
            self.publish(BuildUpdate::Line(format!(
                "n3x: cannot write the build record into {}: {e}",
                dir.display()
            )))
            .await;
        }
        self.publish(BuildUpdate::Finished {
            outcome,
            duration,
            error,
            artifacts: record.artifacts.clone(),
        })
        .await;
    }

    async fn steps(&mut self, dir: &Path, record: &mut BuildRecord) -> Result<(), StepFailure> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StepFailure::Failed(format!("cannot create {}: {e}", dir.display())))?;
        let _ = record.save(dir);
        self.publish(BuildUpdate::Started {
            dir: dir.to_path_buf(),
        })
        .await;
        let (p, settings, v, backend) = (
            Arc::clone(&self.profiles),
            self.settings.clone(),
            self.variant.clone(),
            self.backend,
        );
        let steps = tokio::task::spawn_blocking(move || {
            plan_steps(&p, &settings, &v, backend, tools::installed)
        })
        .await
        .map_err(|e| StepFailure::Failed(format!("planning stopped: {e}")))?
        .map_err(|e| StepFailure::Failed(e.to_string()))?;
        let total = steps.len();
        for (index, step) in steps.iter().enumerate() {
            if *self.cancel.borrow() {
                return Err(StepFailure::Cancelled);
            }
            let clock = Instant::now();
            let mut step_record = StepRecord {
                description: step.to_string(),
                log: None,
                exit_code: None,
                signal: None,
                duration_ms: 0,
                sstate: None,
            };
            let result = match step {
                Step::Run { what, argv, cwd } => {
                    let log = dir.join(format!("{:02}-{}.log", index + 1, slug(what)));
                    step_record.log = Some(log.clone());
                    self.run_program(index, total, step, argv, cwd, &log, &mut step_record)
                        .await
                }
                Step::Collect { from, to } => {
                    self.announce(index, total, step, None).await;
                    self.collect(from, to, record).await
                }
                Step::Quick(task) => {
                    self.announce(index, total, step, None).await;
                    self.quick(task.clone(), record).await
                }
                Step::Note { text } => {
                    self.announce(index, total, step, None).await;
                    self.publish(BuildUpdate::Line(format!("n3x: {text}")))
                        .await;
                    Ok(())
                }
            };
            if step_record.sstate.is_some() {
                record.sstate = step_record.sstate;
            }
            step_record.duration_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(0);
            record.steps.push(step_record);
            let _ = record.save(dir);
            result?;
        }
        Ok(())
    }

    async fn announce(&self, index: usize, total: usize, step: &Step, child: Option<Child>) {
        self.publish(BuildUpdate::Step {
            index,
            total,
            description: step.to_string(),
            child,
        })
        .await;
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_program(
        &mut self,
        index: usize,
        total: usize,
        step: &Step,
        argv: &[String],
        cwd: &Path,
        log: &Path,
        step_record: &mut StepRecord,
    ) -> Result<(), StepFailure> {
        let program = argv.first().map(String::as_str).unwrap_or_default();
        if !tools::installed(program) {
            self.announce(index, total, step, None).await;
            return Err(StepFailure::Failed(tools::missing(program)));
        }
        if let Err(e) = std::fs::create_dir_all(cwd) {
            return Err(StepFailure::Failed(format!(
                "cannot create {}: {e}",
                cwd.display()
            )));
        }
        let mut spec = Spec::new(argv.iter().cloned(), log.to_path_buf());
        spec.cwd = Some(cwd.to_path_buf());
        spec.size = self.settings.size;
        // Wide panes cost 32 bytes a cell; the log file has every line anyway.
        spec.scrollback = 500;
        let child = self
            .supervisor
            .spawn(spec)
            .map_err(|e| StepFailure::Failed(format!("cannot start {program}: {e}")))?;
        self.announce(index, total, step, Some(child.clone())).await;
        let mut progress: Option<Box<dyn BuildProgress + Send>> = match self.backend {
            Backend::Isar => Some(Box::new(BitbakeProgress::new())),
            Backend::Nixos => Some(Box::new(NixProgress::new())),
            Backend::Quick => None,
        };
        let mut lines = child.take_lines();
        let mut last_progress = Instant::now() - Duration::from_secs(1);
        let mut cancelled = false;
        // The last line worth showing (a parser turns Nix's JSON into its message).
        let mut last_shown: Option<String> = None;
        loop {
            let next = async {
                match lines.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                output = next => match output {
                    None => break,
                    Some(Output::Dropped(n)) => self.publish(BuildUpdate::Dropped(n)).await,
                    Some(Output::Line { text, .. }) => {
                        let mut show = Some(text.clone());
                        if let Some(p) = progress.as_mut() {
                            let fed = p.feed(&text);
                            show = fed.log.map(|l| l.display());
                            // At most ten progress updates a second reach the views.
                            if fed.changed && last_progress.elapsed() >= Duration::from_millis(100) {
                                last_progress = Instant::now();
                                self.publish(BuildUpdate::Progress {
                                    line: p.status_line(),
                                    fraction: p.fraction(),
                                }).await;
                            }
                        }
                        if let Some(line) = show {
                            if !line.trim().is_empty() {
                                last_shown = Some(line.clone());
                            }
                            self.publish(BuildUpdate::Line(line)).await;
                        }
                    }
                },
                changed = self.cancel.changed(), if !cancelled => {
                    if changed.is_err() || *self.cancel.borrow() {
                        cancelled = true;
                        child.cancel();
                        self.publish(BuildUpdate::Line(format!(
                            "n3x: cancelling {program}: SIGTERM to its process group, SIGKILL if it is still running after the grace period"
                        ))).await;
                    }
                }
            }
        }
        let status = child.wait().await;
        let last = progress
            .as_ref()
            .map(|p| (p.status_line(), p.fraction(), p.sstate()));
        drop(progress);
        if let Some((line, fraction, sstate)) = last {
            self.publish(BuildUpdate::Progress { line, fraction }).await;
            step_record.sstate = sstate;
            if let Some(s) = sstate {
                self.publish(BuildUpdate::Line(format!(
                    "n3x: {} from the shared-state cache ({} local, {} from mirrors, {} missed, {} current)",
                    s.describe(),
                    s.local,
                    s.mirrors,
                    s.missed,
                    s.current
                )))
                .await;
            }
        }
        step_record.exit_code = status.code;
        step_record.signal = status.signal;
        if cancelled {
            return Err(StepFailure::Cancelled);
        }
        if status.success() {
            Ok(())
        } else {
            let last = last_shown.unwrap_or_default();
            Err(StepFailure::Failed(format!(
                "{program} {status}{}; log: {}",
                if last.is_empty() {
                    String::new()
                } else {
                    format!(" — last line: {last}")
                },
                log.display()
            )))
        }
    }

    async fn collect(
        &self,
        from: &Path,
        to: &Path,
        record: &mut BuildRecord,
    ) -> Result<(), StepFailure> {
        let (from, to) = (from.to_path_buf(), to.to_path_buf());
        let result = tokio::task::spawn_blocking(move || -> Result<ArtifactRecord, String> {
            if !from.is_file() {
                return Err(format!(
                    "the build did not write {} (nothing to copy to {})",
                    from.display(),
                    to.display()
                ));
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            // Copy beside the target, then rename: a half-copied artifact never has its name.
            let tmp = to.with_extension("n3x-partial");
            isar::sparse::copy_sparse(&from, &tmp)
                .and_then(|_| std::fs::rename(&tmp, &to))
                .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
            let sha256 = quick::sha256_file(&to).map_err(|e| e.to_string())?;
            let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
            Ok(ArtifactRecord {
                name: to
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path: to,
                size,
                sha256,
            })
        })
        .await
        .map_err(|e| StepFailure::Failed(format!("the copy stopped: {e}")))?
        .map_err(StepFailure::Failed)?;
        self.publish(BuildUpdate::Line(format!(
            "n3x: {} ({} bytes, sha256 {})",
            result.path.display(),
            result.size,
            result.sha256
        )))
        .await;
        record.artifacts.push(result);
        Ok(())
    }

    async fn quick(&self, task: quick::Task, record: &mut BuildRecord) -> Result<(), StepFailure> {
        let profiles = Arc::clone(&self.profiles);
        let output = tokio::task::spawn_blocking(move || task.run(&profiles))
            .await
            .map_err(|e| StepFailure::Failed(format!("the step stopped: {e}")))?
            .map_err(|e| StepFailure::Failed(e.to_string()))?;
        self.publish(BuildUpdate::Line(format!("n3x: {}", output.summary)))
            .await;
        record.artifacts.extend(output.artifacts);
        Ok(())
    }
}

/// A step's words as a file-name part: `Debian root filesystem` → `debian-root-filesystem`.
fn slug(what: &str) -> String {
    let mut out = String::new();
    for c in what.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_logs_get_readable_file_names() {
        assert_eq!(slug("Debian root filesystem"), "debian-root-filesystem");
        assert_eq!(
            slug("build server-1@qemuamd64 with ISAR"),
            "build-server-1-qemuamd64-with-isar"
        );
    }
}
