//! The engines the workbench drives and how its requests reach them: the build engine, the
//! session of the cluster on screen (the workbench's own, or one another `n3x` owns), test
//! runs, and reading the profiles again. Each publishes on its own bounded stream; the event
//! loop reads them ([`Streams`]).

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::app::Request;
use crate::build::engine::{self, BuildNo, BuildUpdate, Engine, Settings};
use crate::build::state;
use crate::cluster::engine::{ImageBackend, Options};
use crate::cluster::info;
use crate::profile::Profiles;
use crate::scenario::catalog::TestDef;
use crate::scenario::{TestUpdate, runner};
use crate::session::{Command, Session, SessionError, SessionUpdate};
use crate::stream::{self, Publisher};
use crate::supervise::Supervisor;

/// The receiving ends of the engines' streams, for the event loop.
pub struct Streams {
    /// The build engine's updates.
    pub builds: mpsc::Receiver<(BuildNo, BuildUpdate)>,
    /// The cluster sessions' updates.
    pub sessions: mpsc::Receiver<SessionUpdate>,
    /// Test runs' updates.
    pub tests: mpsc::Receiver<TestUpdate>,
    /// Profiles read again (or what is wrong with them).
    pub reloads: mpsc::Receiver<Result<Arc<Profiles>, String>>,
}

/// The engines and what starting their work needs.
pub struct Engines {
    builds: Engine,
    supervisor: Supervisor,
    repo: PathBuf,
    state: PathBuf,
    session: Option<Session>,
    sessions: Publisher<SessionUpdate>,
    tests: Publisher<TestUpdate>,
    reloads: mpsc::Sender<Result<Arc<Profiles>, String>>,
}

impl Engines {
    /// Starts the build engine; the others start with the requests that need them. Must be
    /// called inside a tokio runtime.
    pub fn start(
        profiles: Arc<Profiles>,
        settings: Settings,
        supervisor: Supervisor,
    ) -> (Engines, Streams) {
        let (build_tx, builds) = engine::updates();
        let (sessions_tx, sessions) = stream::channel(stream::CAPACITY);
        let (tests_tx, tests) = stream::channel(stream::CAPACITY);
        let (reloads_tx, reloads) = mpsc::channel(4);
        let (repo, state) = (settings.repo.clone(), settings.state.clone());
        let engines = Engines {
            builds: Engine::start(profiles, settings, supervisor.clone(), build_tx),
            supervisor,
            repo,
            state,
            session: None,
            sessions: sessions_tx,
            tests: tests_tx,
            reloads: reloads_tx,
        };
        let streams = Streams {
            builds,
            sessions,
            tests,
            reloads,
        };
        (engines, streams)
    }

    /// Carries out a request of the workbench (its results arrive on the streams); what to
    /// tell the user when the engine that should take it is busy.
    pub fn request(&mut self, request: Request, profiles: &Arc<Profiles>) -> Option<String> {
        match request {
            Request::Build(command) => {
                if !self.builds.try_send(command) {
                    return Some("the build engine is busy; try again".into());
                }
            }
            Request::ReloadProfiles => self.reload(profiles.root.clone()),
            Request::ClusterUp(profile) => self.cluster_up(profile, profiles),
            Request::Discover => {
                if self.session.as_ref().is_some_and(|s| !s.is_finished()) {
                    return None;
                }
                if let Some((runtime, info)) = info::owned_elsewhere().into_iter().next() {
                    self.follow(runtime, info);
                }
            }
            Request::Session(commands) => {
                if let Some(session) = &self.session {
                    for command in commands {
                        // A session that has ended has nothing left to do them to.
                        if let Err(e @ SessionError::Busy) = session.command(command) {
                            return Some(e.to_string());
                        }
                    }
                }
            }
            Request::Test(test) => self.test(test, profiles),
            Request::Quit | Request::Page(_) => {}
        }
        None
    }

    /// Boots `profile`'s cluster, or follows it when another `n3x` runs it already.
    fn cluster_up(&mut self, profile: String, profiles: &Arc<Profiles>) {
        if let Some((runtime, info)) = info::owned_elsewhere()
            .into_iter()
            .find(|(_, i)| i.profile == profile)
        {
            return self.follow(runtime, info);
        }
        if let Some(old) = self.session.take() {
            old.abort();
        }
        let options = Options {
            profile,
            nodes: None,
            accel: None,
            k3s_binary: None,
            repo: self.repo.clone(),
            state: self.state.clone(),
            backend: ImageBackend::Quick,
        };
        self.session = Some(Session::start(
            Arc::clone(profiles),
            options,
            self.supervisor.clone(),
            self.sessions.clone(),
        ));
    }

    /// Follows the cluster another process owns (leaving the one followed before).
    fn follow(&mut self, runtime: PathBuf, info: info::ClusterInfo) {
        if let Some(old) = self.session.take() {
            old.abort();
        }
        self.session = Some(Session::follow(runtime, info, self.sessions.clone()));
    }

    /// Runs a test of the catalog on a task: its updates arrive on the tests' stream (the
    /// Tests view, and the Cluster view shows its nodes); its cluster goes down at its end.
    fn test(&self, test: TestDef, profiles: &Arc<Profiles>) {
        let stamp = state::utc(std::time::SystemTime::now()).replace([':', '-'], "");
        let settings = runner::Settings {
            repo: self.repo.clone(),
            state: self.state.clone(),
            artifacts: self.state.join("tests").join("artifacts").join(stamp),
            accel: None,
            k3s_binary: None,
            backend: crate::build::plan::Backend::Quick,
            timeouts: crate::readiness::Timeouts::default(),
        };
        let (profiles, supervisor, updates) = (
            Arc::clone(profiles),
            self.supervisor.clone(),
            self.tests.clone(),
        );
        tokio::spawn(async move {
            let (_, running) =
                runner::run(profiles, &test, &settings, supervisor, updates, None).await;
            if let Some(running) = running {
                running.owner.down().await;
            }
        });
    }

    /// Reads the profiles on a blocking thread; the result arrives on the reloads' stream.
    fn reload(&self, root: PathBuf) {
        let reloads = self.reloads.clone();
        tokio::spawn(async move {
            let loaded = tokio::task::spawn_blocking(move || {
                Profiles::load(&root)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(format!("reading the profiles failed: {e}")));
            // The receiver only goes away when the workbench ends; then nobody needs it.
            let _ = reloads.send(loaded).await;
        });
    }

    /// Ends the workbench's cluster (torn down and waited for; a followed one keeps running).
    pub async fn end(&mut self) {
        if let Some(session) = self.session.take() {
            session.end().await;
        }
    }

    /// Asks the cluster on screen for `command`, if there is one.
    pub fn session_command(&self, command: Command) {
        if let Some(session) = &self.session {
            let _ = session.command(command);
        }
    }
}
