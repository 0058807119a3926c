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
pub mod builds;
mod builds_keys;
pub mod builds_view;
pub mod cluster;
mod cluster_keys;
pub mod cluster_view;
pub mod diff;
pub mod editor;
mod focus;
pub mod keymap;
pub mod matrix;
pub mod overlay;
pub mod pane;
pub mod preview;
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
use crate::event::{self, Event, Publisher};
use crate::profile::{self, Profiles};
use crate::render;
use crate::supervise::Supervisor;
use app::{App, Request};
use cluster_keys::ClusterRequest;
use theme::Theme;

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
    app.builds = builds::BuildsState::with_history(&records, &builds.state, 50);
    let supervisor = Supervisor::new().map_err(io::Error::other)?;
    let clusters = Clusters {
        supervisor: supervisor.clone(),
        repo: builds.repo.clone(),
        state: builds.state.clone(),
        running: None,
    };
    let exit = runtime.block_on(async {
        let (publisher, bus) = event::bus();
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

/// The workbench's cluster and what starting one needs.
struct Clusters {
    supervisor: Supervisor,
    repo: std::path::PathBuf,
    state: std::path::PathBuf,
    /// The cluster, once `up` has returned it (`None` inside while starting or stopping).
    running: Option<Arc<tokio::sync::Mutex<Option<crate::cluster::engine::Cluster>>>>,
}

impl Clusters {
    /// Carries out a request on a task; results arrive as events.
    fn request(&mut self, request: ClusterRequest, app: &App, publisher: &Publisher) {
        use crate::cluster::engine::{self as cluster_engine, Options};
        match request {
            ClusterRequest::Up(profile) => {
                let slot = Arc::new(tokio::sync::Mutex::new(None));
                self.running = Some(Arc::clone(&slot));
                let options = Options {
                    profile,
                    nodes: None,
                    accel: None,
                    k3s_binary: None,
                    repo: self.repo.clone(),
                    state: self.state.clone(),
                };
                let (profiles, supervisor, publisher) = (
                    Arc::new(app.profiles().clone()),
                    self.supervisor.clone(),
                    publisher.clone(),
                );
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
                    let result = cluster_engine::up(profiles, options, supervisor, tx).await;
                    let _ = publisher
                        .send(Event::ClusterStarted(
                            result.as_ref().map(|_| ()).map_err(Clone::clone),
                        ))
                        .await;
                    *guard = result.ok();
                    drop(guard);
                    // Console lines and states keep coming until the cluster goes down.
                    let _ = forward.await;
                });
            }
            ClusterRequest::Down => {
                let Some(slot) = self.running.take() else {
                    return;
                };
                let publisher = publisher.clone();
                tokio::spawn(async move {
                    if let Some(cluster) = slot.lock().await.take() {
                        cluster.down().await;
                    }
                    let _ = publisher.send(Event::ClusterStopped).await;
                });
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
                let Some(slot) = self.running.clone() else {
                    return;
                };
                let publisher = publisher.clone();
                tokio::spawn(async move {
                    let info = slot.lock().await.as_ref().map(|c| c.info.clone());
                    if let Some(info) = info {
                        let text = crate::cluster::command::topology(&info).await;
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

    /// Runs a QMP call on a node on a task and reports its outcome as a note.
    fn node_call<F, Fut>(&self, publisher: &Publisher, node: String, call: F)
    where
        F: FnOnce(crate::cluster::qmp::Qmp) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<String, crate::cluster::qmp::QmpError>> + Send,
    {
        let Some(slot) = self.running.clone() else {
            return;
        };
        let publisher = publisher.clone();
        tokio::spawn(async move {
            let qmp = slot.lock().await.as_ref().and_then(|c| c.qmp(&node));
            let text = match qmp {
                Some(qmp) => match call(qmp).await {
                    Ok(done) => done,
                    Err(e) => format!("{node}: {e}"),
                },
                None => format!("{node}: no such node in the running cluster"),
            };
            let _ = publisher
                .send(Event::Cluster(crate::cluster::engine::ClusterUpdate::Note(
                    text,
                )))
                .await;
        });
    }
}

async fn event_loop(
    session: &mut terminal::Session,
    app: &mut App,
    engine: &Engine,
    clusters: &mut Clusters,
    publisher: Publisher,
    mut bus: event::Subscriber,
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
