//! The full-screen workbench over the profiles, builds, clusters and tests.
//!
//! [`views`] holds a folder per view (its state and what its actions and its engine's updates
//! do, its drawing, its keys); [`app`] is the shell around them (the view on screen, the
//! overlays, the status line, the routing of [`msg::Msg`]s and actions); [`keymap`] is the one
//! table of keys; [`ui`] and [`overlay`] draw the screen ([`pane`], [`log_pane`] and [`tint`]
//! help the views), [`theme`] holds the styles ([`themes`] the shipped ones, [`theme_file`]
//! their format); [`editor`] is the profile editor. [`run`] ties them to the terminal
//! ([`terminal`]), to the engines' bounded streams (`engines.rs`) and to the signals that end
//! the workbench.

pub mod app;
pub mod editor;
mod engines;
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

use crate::build::engine::Settings;
use crate::build::state;
use crate::profile::{self, Profiles};
use crate::render;
use crate::session::Command;
use crate::supervise::Supervisor;
use app::{App, Request};
use engines::{Engines, Streams};
use msg::Msg;
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
pub fn run(profiles: Arc<Profiles>, theme: Theme, builds: Settings) -> io::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
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
    let exit = runtime.block_on(async {
        let (mut engines, streams) = Engines::start(profiles, builds, supervisor);
        let mut session = terminal::enter()?;
        let exit = event_loop(&mut session, &mut app, &mut engines, streams).await;
        // Quitting takes the workbench's cluster down (the supervisor would kill it anyway).
        engines.end().await;
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

async fn event_loop(
    session: &mut terminal::Session,
    app: &mut App,
    engines: &mut Engines,
    mut streams: Streams,
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
                // Idle: nothing runs until input, an engine's update or a signal arrives.
                std::future::pending().await
            }
        };
        let msg = tokio::select! {
            input_event = input.next() => match input_event {
                None => return Ok(Exit::Quit),
                Some(Err(e)) => return Err(e),
                Some(Ok(e)) => match from_terminal(e) {
                    Some(m) => m,
                    None => continue,
                },
            },
            Some((no, update)) = streams.builds.recv() => Msg::Build(no, update),
            Some(update) = streams.sessions.recv() => Msg::Session(update),
            Some(update) = streams.tests.recv() => Msg::Test(update),
            Some(loaded) = streams.reloads.recv() => Msg::ProfilesReloaded(loaded),
            () = wait_for_frame => continue,
            _ = clock.tick(), if app.work_is_running() => {
                // The topology's counters are read again while it shows.
                if app.view == app::View::Cluster && app.cluster.show_topology {
                    engines.session_command(Command::Topology);
                }
                dirty = true;
                continue;
            }
            _ = sigterm.recv() => return Ok(Exit::Signal(15)),
            _ = sighup.recv() => return Ok(Exit::Signal(1)),
            _ = sigint.recv() => return Ok(Exit::Signal(2)),
        };
        let update = app.handle(msg);
        dirty |= update.redraw;
        match update.request {
            Some(Request::Quit) => return Ok(Exit::Quit),
            Some(Request::Page(log)) => {
                // The pager gets the terminal; the input reader must not steal its keys.
                drop(input);
                page(session, &log)?;
                input = EventStream::new();
                dirty = true;
            }
            Some(request) => {
                if let Some(busy) = engines.request(request, app.profiles_arc()) {
                    app.message = Some(app::Message {
                        text: busy,
                        error: true,
                    });
                    dirty = true;
                }
            }
            None => {}
        }
    }
}

/// Shows `log` in the user's pager (`$PAGER`, else `less`), then takes the terminal back.
fn page(session: &mut terminal::Session, log: &std::path::Path) -> io::Result<()> {
    terminal::restore();
    let argv = pager_argv(std::env::var("PAGER").ok().as_deref());
    let program = argv[0].as_str();
    let mut command = std::process::Command::new(program);
    command.args(&argv[1..]);
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

/// `$PAGER` split as a shell would (quotes, backslashes); `less` when unset, empty or
/// unbalanced.
fn pager_argv(var: Option<&str>) -> Vec<String> {
    var.and_then(|v| shell_words::split(v).ok())
        .filter(|words| !words.is_empty())
        .unwrap_or_else(|| vec!["less".into()])
}

/// The workbench's message for a terminal event, if it is one the workbench cares about.
fn from_terminal(e: TermEvent) -> Option<Msg> {
    match e {
        TermEvent::Key(k) => Some(Msg::Key(k)),
        TermEvent::Mouse(m) => Some(Msg::Mouse(m)),
        TermEvent::Resize(cols, rows) => Some(Msg::Resize(cols, rows)),
        TermEvent::FocusGained | TermEvent::FocusLost | TermEvent::Paste(_) => None,
    }
}

#[cfg(test)]
mod pager_tests {
    use super::pager_argv;

    #[test]
    fn the_pager_is_split_with_shell_rules() {
        assert_eq!(pager_argv(None), ["less"]);
        assert_eq!(pager_argv(Some("  ")), ["less"]);
        assert_eq!(pager_argv(Some("less -R -X")), ["less", "-R", "-X"]);
        assert_eq!(
            pager_argv(Some("'/opt/my pager/pg' -s \"a b\"")),
            ["/opt/my pager/pg", "-s", "a b"]
        );
        assert_eq!(pager_argv(Some("most 'unbalanced")), ["less"]);
    }
}
