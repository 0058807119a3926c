//! The full-screen workbench: views over the profiles today, over builds, clusters and tests
//! once their engines publish [`Event`]s.
//!
//! [`app`] holds the state and applies events (`focus` says what they mean in each pane of the
//! Matrix view), [`keymap`] is the one table of keys, [`ui`], [`views`], [`preview`], [`diff`]
//! and [`overlay`] draw ([`pane`] and [`tint`] help them), [`theme`] holds their styles
//! ([`themes`] the shipped ones, [`theme_file`] their format), [`terminal`] owns the terminal,
//! and [`run`] ties them to the terminal's input, the event bus and the signals that end the
//! workbench.

pub mod app;
pub mod editor;
pub mod keymap;
pub mod log_pane;
pub mod msg;
pub mod overlay;
pub mod pane;
pub mod screenshot;
pub mod terminal;
pub mod theme;
pub mod theme_file;
pub mod themes;
pub mod tint;
pub mod ui;
pub mod views;

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};

use crate::build::engine::{Engine, Settings};
use crate::build::state;
use crate::profile::{self, Profiles};
use crate::render;
use crate::supervise::Supervisor;
use app::{App, Request};
use msg::{Event, Publisher};
use theme::Theme;
use views::cluster::actions::ClusterRequest;

/// How the workbench ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The user quit.
    Quit,
    /// A signal ended it (its number).
    Signal(i32),
}

/// Runs the workbench on `profiles` until the user quits or a signal ends it. The terminal is
/// restored before this returns, whatever happened.
pub fn run(profiles: Profiles, theme: Theme, builds: Settings) -> io::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let profiles = Arc::new(profiles);
    let mut app = App::new(Arc::clone(&profiles), theme);
    // The BUILD column starts with the outcome of each variant's last build.
    let (records, _) = state::history(&builds.state);
    for record in &records {
        app.matrix
            .set_build_state(&record.variant, record.outcome.word());
    }
    app.builds = views::builds::BuildsState::with_history(&records, &builds.state, 50);
    app.tests = views::tests::TestsState::new(&profiles, Some(&builds.state));
    let supervisor = Supervisor::new().map_err(io::Error::other)?;
    let clusters = Clusters {
        supervisor: supervisor.clone(),
        repo: builds.repo.clone(),
        state: builds.state.clone(),
        running: None,
        serving: Arc::default(),
        followed: None,
    };
    let exit = runtime.block_on(async {
        let (publisher, bus) = msg::bus();
        let engine = Engine::start(profiles, builds, supervisor, publisher.clone());
        let mut session = terminal::enter()?;
        let mut clusters = clusters;
        let exit = event_loop(
            &mut session,
            &mut app,
            &engine,
            &mut clusters,
            publisher,
            bus,
        )
        .await;
        // Quitting takes the cluster down (the supervisor would kill it anyway).
        if let Some(slot) = clusters.running.take()
            && let Some(cluster) = slot.lock().await.take()
        {
            cluster.down().await;
        }
        exit
    });
    // A signal does not wait for an answer: keep the editor's unsaved text beside its file.
    if let Some(editor) = app.editor.as_ref().filter(|e| e.is_modified()) {
        let keep = editor::unsaved_copy_path(editor.path());
        match render::output::write_file_atomic(&keep, editor.text()) {
            Ok(()) => eprintln!(
                "n3x: unsaved changes to {} were kept in {}",
                editor.shown_path().display(),
                profile::display_path(&keep).display()
            ),
            Err(e) => eprintln!(
                "n3x: unsaved changes to {} are lost: cannot write {}: {e}",
                editor.shown_path().display(),
                keep.display()
            ),
        }
    }
    exit
}

/// The shortest time between two frames: bursts of events (a log storm, a held key) are
/// drawn at most this often, and the last state of a burst is always drawn.
pub const FRAME_INTERVAL: Duration = Duration::from_millis(16);

/// The workbench's cluster and what starting one needs, or the cluster of another `n3x`
/// process that the Cluster view follows.
struct Clusters {
    supervisor: Supervisor,
    repo: std::path::PathBuf,
    state: std::path::PathBuf,
    /// The cluster, once `up` has returned it (`None` inside while starting or stopping).
    running: Option<crate::session::owner::Slot>,
    /// The tasks that serve its owner socket (they end with it).
    serving: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// A cluster another process owns: its description and the task that follows it.
    followed: Option<(ClusterInfo, tokio::task::JoinHandle<()>)>,
}

use crate::cluster::info::ClusterInfo;
use crate::session::owner;

/// Where the description of the cluster on screen comes from.
enum Described {
    Here(owner::Slot),
    Elsewhere(ClusterInfo),
}

impl Described {
    async fn info(self) -> Option<ClusterInfo> {
        match self {
            Described::Here(slot) => slot.lock().await.as_ref().map(|c| c.info.clone()),
            Described::Elsewhere(info) => Some(info),
        }
    }
}

fn note(publisher: &Publisher, text: String) -> impl std::future::Future<Output = ()> + use<> {
    let publisher = publisher.clone();
    async move {
        let _ = publisher
            .send(Event::Cluster(crate::cluster::engine::ClusterUpdate::Note(
                text,
            )))
            .await;
    }
}

impl Clusters {
    fn described(&self) -> Option<Described> {
        match (&self.running, &self.followed) {
            (Some(slot), _) => Some(Described::Here(Arc::clone(slot))),
            (None, Some((info, _))) => Some(Described::Elsewhere(info.clone())),
            (None, None) => None,
        }
    }

    /// Follows `info`'s cluster (another process owns it): the view shows its nodes, their
    /// consoles and states as they come.
    fn follow(
        &mut self,
        runtime: std::path::PathBuf,
        info: ClusterInfo,
        app: &mut App,
        publisher: &Publisher,
    ) {
        if let Some((_, old)) = self.followed.take() {
            old.abort();
        }
        app.cluster.following(&info);
        let publisher = publisher.clone();
        let task = tokio::spawn(async move {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let forward = {
                let publisher = publisher.clone();
                tokio::spawn(async move {
                    while let Some(update) = rx.recv().await {
                        if publisher.send(Event::Cluster(update)).await.is_err() {
                            break;
                        }
                    }
                })
            };
            crate::cluster::remote::follow(runtime, tx).await;
            let _ = forward.await;
            let _ = publisher.send(Event::ClusterStopped).await;
        });
        self.followed = Some((info, task));
    }

    /// Carries out a request on a task; results arrive as events.
    fn request(&mut self, request: ClusterRequest, app: &mut App, publisher: &Publisher) {
        use crate::cluster::engine::{self as cluster_engine, Options};
        match request {
            ClusterRequest::Discover => {
                if self.running.is_some() {
                    return;
                }
                if let Some((runtime, info)) =
                    crate::cluster::info::owned_elsewhere().into_iter().next()
                {
                    self.follow(runtime, info, app, publisher);
                }
            }
            ClusterRequest::Up(profile) => {
                // Running already under another n3x: show that one.
                if let Some((runtime, info)) = crate::cluster::info::owned_elsewhere()
                    .into_iter()
                    .find(|(_, i)| i.profile == profile)
                {
                    self.follow(runtime, info, app, publisher);
                    return;
                }
                if let Some((_, old)) = self.followed.take() {
                    old.abort();
                }
                let slot: owner::Slot = Arc::new(tokio::sync::Mutex::new(None));
                self.running = Some(Arc::clone(&slot));
                let options = Options {
                    profile,
                    nodes: None,
                    accel: None,
                    k3s_binary: None,
                    repo: self.repo.clone(),
                    state: self.state.clone(),
                    backend: crate::cluster::engine::ImageBackend::Quick,
                };
                let (profiles, supervisor, publisher) = (
                    Arc::new(app.profiles().clone()),
                    self.supervisor.clone(),
                    publisher.clone(),
                );
                let serving = Arc::clone(&self.serving);
                tokio::spawn(async move {
                    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                    let forward = {
                        let publisher = publisher.clone();
                        tokio::spawn(async move {
                            while let Some(update) = rx.recv().await {
                                if publisher.send(Event::Cluster(update)).await.is_err() {
                                    break;
                                }
                            }
                        })
                    };
                    let mut guard = slot.lock().await;
                    let stages = tx.clone();
                    let result =
                        cluster_engine::up(Arc::clone(&profiles), options, supervisor, tx).await;
                    // Every node's way to k3s Ready arrives as stage updates.
                    if let Ok(cluster) = &result {
                        let expect = crate::readiness::Expectations::for_plan(&cluster.plan);
                        tokio::spawn(crate::readiness::start(cluster, profiles, expect, stages));
                    }
                    let _ = publisher
                        .send(Event::ClusterStarted(
                            result.as_ref().map(|_| ()).map_err(Clone::clone),
                        ))
                        .await;
                    let socket = result
                        .as_ref()
                        .ok()
                        .and_then(|c| c.info.owner_socket.clone());
                    *guard = result.ok();
                    drop(guard);
                    // Other n3x processes may restart nodes or tear the cluster down.
                    if let Some(socket) = socket {
                        let down = Arc::new(tokio::sync::Notify::new());
                        let server = tokio::spawn({
                            let (slot, down) = (Arc::clone(&slot), Arc::clone(&down));
                            async move {
                                let _ = owner::serve(socket, slot, down).await;
                            }
                        });
                        let watcher = tokio::spawn({
                            let (slot, publisher) = (Arc::clone(&slot), publisher.clone());
                            async move {
                                down.notified().await;
                                let cluster = slot.lock().await.take();
                                if let Some(cluster) = cluster {
                                    cluster.down().await;
                                    let _ = publisher.send(Event::ClusterStopped).await;
                                }
                            }
                        });
                        serving
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .extend([server, watcher]);
                    }
                    // Console lines and states keep coming until the cluster goes down.
                    let _ = forward.await;
                });
            }
            ClusterRequest::Down => {
                if let Some((info, _)) = &self.followed {
                    // Another process owns it: it tears it down; the follower sees it go.
                    let (info, publisher) = (info.clone(), publisher.clone());
                    tokio::spawn(async move {
                        let text = match crate::cli::cluster::stop_cluster_async(&info).await {
                            Ok(done) => done,
                            Err(e) => format!("cannot tear the cluster down: {e}"),
                        };
                        note(&publisher, text).await;
                    });
                    return;
                }
                let Some(slot) = self.running.take() else {
                    return;
                };
                let publisher = publisher.clone();
                let serving = Arc::clone(&self.serving);
                tokio::spawn(async move {
                    let cluster = slot.lock().await.take();
                    if let Some(cluster) = cluster {
                        cluster.down().await;
                    }
                    for task in serving.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
                        task.abort();
                    }
                    let _ = publisher.send(Event::ClusterStopped).await;
                });
            }
            ClusterRequest::Restart(which) => {
                let names: Vec<String> = match which {
                    Some(n) => vec![n],
                    None => app.cluster.nodes.iter().map(|n| n.name.clone()).collect(),
                };
                let publisher = publisher.clone();
                match (&self.running, &self.followed) {
                    (Some(slot), _) => {
                        let slot = Arc::clone(slot);
                        tokio::spawn(async move {
                            for name in names {
                                let result = match slot.lock().await.as_mut() {
                                    Some(c) => c.restart_node(&name).await,
                                    None => Err("the cluster is starting or stopping".into()),
                                };
                                if let Err(e) = result {
                                    note(&publisher, format!("{name}: {e}")).await;
                                }
                            }
                        });
                    }
                    (None, Some((info, _))) => {
                        let socket = info.owner_socket.clone();
                        tokio::spawn(async move {
                            for name in names {
                                let text = match &socket {
                                    Some(s) => match owner::ask(
                                        s,
                                        &owner::Request::Restart(name.clone()),
                                        crate::cli::cluster::OWNER_TIMEOUT,
                                    )
                                    .await
                                    {
                                        Ok(done) => done,
                                        Err(e) => format!("{name}: {e}"),
                                    },
                                    None => format!(
                                        "{name}: the owner takes no requests (an older n3x)"
                                    ),
                                };
                                note(&publisher, text).await;
                            }
                        });
                    }
                    (None, None) => {}
                }
            }
            ClusterRequest::Link { node, nic, up } => {
                self.node_call(publisher, node.clone(), move |qmp| async move {
                    qmp.set_link(&crate::cluster::qemu::nic_device_id(&nic), up)
                        .await
                        .map(|()| format!("{node} {nic}: link {}", if up { "up" } else { "down" }))
                });
            }
            ClusterRequest::Reset(node) => {
                self.node_call(publisher, node.clone(), move |qmp| async move {
                    qmp.system_reset().await.map(|()| format!("{node}: reset"))
                });
            }
            ClusterRequest::Topology => {
                let Some(described) = self.described() else {
                    return;
                };
                let publisher = publisher.clone();
                tokio::spawn(async move {
                    if let Some(info) = described.info().await {
                        let text = crate::cli::cluster::topology(&info).await;
                        let _ = publisher
                            .send(Event::Cluster(
                                crate::cluster::engine::ClusterUpdate::Topology(text),
                            ))
                            .await;
                    }
                });
            }
            ClusterRequest::Kill(node) => {
                self.node_call(publisher, node.clone(), move |qmp| async move {
                    qmp.quit()
                        .await
                        .map(|()| format!("{node}: QEMU told to quit"))
                });
            }
        }
    }

    /// Runs a test of the catalog on a task: its updates arrive as [`Event::Test`] (the
    /// Tests view, and the Cluster view shows its nodes); its cluster goes down at its end.
    fn test(&self, test: crate::scenario::catalog::TestDef, app: &App, publisher: &Publisher) {
        let stamp = state::utc(std::time::SystemTime::now()).replace([':', '-'], "");
        let settings = crate::scenario::runner::Settings {
            repo: self.repo.clone(),
            state: self.state.clone(),
            artifacts: self.state.join("tests").join("artifacts").join(stamp),
            accel: None,
            k3s_binary: None,
            backend: crate::build::plan::Backend::Quick,
            timeouts: crate::readiness::Timeouts::default(),
        };
        let (profiles, supervisor, publisher) = (
            Arc::new(app.profiles().clone()),
            self.supervisor.clone(),
            publisher.clone(),
        );
        tokio::spawn(async move {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let forward = tokio::spawn(async move {
                while let Some(update) = rx.recv().await {
                    if publisher.send(Event::Test(update)).await.is_err() {
                        break;
                    }
                }
            });
            let (_, running) =
                crate::scenario::runner::run(profiles, &test, &settings, supervisor, tx, None)
                    .await;
            if let Some(running) = running {
                running.cluster.down().await;
            }
            let _ = forward.await;
        });
    }

    /// Runs a QMP call on a node on a task and reports its outcome as a note.
    fn node_call<F, Fut>(&self, publisher: &Publisher, node: String, call: F)
    where
        F: FnOnce(crate::cluster::qmp::Qmp) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<String, crate::cluster::qmp::QmpError>> + Send,
    {
        let Some(described) = self.described() else {
            return;
        };
        let publisher = publisher.clone();
        tokio::spawn(async move {
            let qmp = described.info().await.and_then(|info| {
                info.node(&node)
                    .ok()
                    .map(|n| crate::cluster::qmp::Qmp::new(n.qmp.clone()))
            });
            let text = match qmp {
                Some(qmp) => match call(qmp).await {
                    Ok(done) => done,
                    Err(e) => format!("{node}: {e}"),
                },
                None => format!("{node}: no such node in the running cluster"),
            };
            note(&publisher, text).await;
        });
    }
}

async fn event_loop(
    session: &mut terminal::Session,
    app: &mut App,
    engine: &Engine,
    clusters: &mut Clusters,
    publisher: Publisher,
    mut bus: msg::Subscriber,
) -> io::Result<Exit> {
    let mut input = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut dirty = true;
    let mut last_frame: Option<Instant> = None;
    // Elapsed times and uptimes move while work runs: redraw once a second then, never idle.
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        // Draw when something changed and the last frame is old enough; otherwise wait for the
        // next event, or for the moment the pending frame may be drawn.
        let frame_due = last_frame.map_or(Instant::now(), |t| t + FRAME_INTERVAL);
        if dirty && Instant::now() >= frame_due {
            session.terminal.draw(|frame| ui::draw(frame, app))?;
            last_frame = Some(Instant::now());
            dirty = false;
        }
        let wait_for_frame = async {
            if dirty {
                tokio::time::sleep_until(frame_due.into()).await
            } else {
                // Idle: nothing runs until input, an engine event or a signal arrives.
                std::future::pending().await
            }
        };
        let event = tokio::select! {
            input_event = input.next() => match input_event {
                None => return Ok(Exit::Quit),
                Some(Err(e)) => return Err(e),
                Some(Ok(e)) => match from_terminal(e) {
                    Some(e) => e,
                    None => continue,
                },
            },
            Some(e) = bus.recv() => e,
            () = wait_for_frame => continue,
            _ = clock.tick(), if app.work_is_running() => {
                // The topology's counters are read again while it shows.
                if app.view == app::View::Cluster && app.cluster.show_topology {
                    clusters.request(ClusterRequest::Topology, app, &publisher);
                }
                dirty = true;
                continue;
            }
            _ = sigterm.recv() => return Ok(Exit::Signal(15)),
            _ = sighup.recv() => return Ok(Exit::Signal(1)),
            _ = sigint.recv() => return Ok(Exit::Signal(2)),
        };
        let update = app.handle(event);
        dirty |= update.redraw;
        match update.request {
            Some(Request::Quit) => return Ok(Exit::Quit),
            Some(Request::ReloadProfiles) => reload(app.profiles().root.clone(), publisher.clone()),
            Some(Request::Build(command)) => {
                let sent = engine.try_send(command);
                if !sent {
                    app.message = Some(app::Message {
                        text: "the build engine is busy; try again".into(),
                        error: true,
                    });
                    dirty = true;
                }
            }
            Some(Request::Cluster(request)) => clusters.request(request, app, &publisher),
            Some(Request::Test(test)) => clusters.test(test, app, &publisher),
            Some(Request::Page(log)) => {
                // The pager gets the terminal; the input reader must not steal its keys.
                drop(input);
                page(session, &log)?;
                input = EventStream::new();
                dirty = true;
            }
            None => {}
        }
    }
}

/// Shows `log` in the user's pager (`$PAGER`, else `less`), then takes the terminal back.
fn page(session: &mut terminal::Session, log: &std::path::Path) -> io::Result<()> {
    terminal::restore();
    let pager = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less".into());
    let mut words = pager.split_whitespace();
    let program = words.next().unwrap_or("less");
    let mut command = std::process::Command::new(program);
    command.args(words);
    if program == "less" {
        // Colours as they were, starting at the end, where a failed build says why.
        command.args(["-R", "+G"]);
    }
    let result = command.arg(log).status();
    terminal::resume(session)?;
    if let Err(e) = result {
        eprintln!("n3x: cannot run the pager {program}: {e}");
    }
    Ok(())
}

/// Reads the profiles on a blocking thread and publishes the result.
fn reload(root: std::path::PathBuf, publisher: Publisher) {
    tokio::spawn(async move {
        let loaded = tokio::task::spawn_blocking(move || {
            Profiles::load(&root)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("reading the profiles failed: {e}")));
        // The receiver only goes away when the workbench ends; then nobody needs the result.
        let _ = publisher.send(Event::ProfilesReloaded(loaded)).await;
    });
}

/// The workbench event for a terminal event, if it is one the workbench cares about.
fn from_terminal(e: TermEvent) -> Option<Event> {
    match e {
        TermEvent::Key(k) => Some(Event::Key(k)),
        TermEvent::Mouse(m) => Some(Event::Mouse(m)),
        TermEvent::Resize(cols, rows) => Some(Event::Resize(cols, rows)),
        TermEvent::FocusGained | TermEvent::FocusLost | TermEvent::Paste(_) => None,
    }
}
