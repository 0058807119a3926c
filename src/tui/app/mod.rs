//! The workbench's shell: what the views share (the view on screen, what the keyboard talks
//! to, the status line's message, the overlays: help, palette, file chooser, backend chooser,
//! the profile editor) and the routing of messages and actions to the views. No terminal here:
//! [`App::handle`] takes a [`Msg`] and says whether the screen must be redrawn and what the
//! runner should do. Each view's own state and keys live in its folder under `views/`.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::build::engine::{BuildUpdate, Command as BuildCommand};
use crate::build::plan::Backend;
use crate::cluster::engine::ClusterUpdate;
use crate::matrix::Variant;
use crate::profile::{self, Profiles};
use crate::scenario::TestUpdate;
use crate::session::SessionUpdate;
use crate::tui::editor::Editor;
use crate::tui::keymap::{self, Action, Binding, Context};
use crate::tui::log_pane;
use crate::tui::msg::Msg;
use crate::tui::theme::Theme;
use crate::tui::views::builds::{self, BuildsState};
use crate::tui::views::cluster::ClusterState;
use crate::tui::views::matrix::MatrixState;
use crate::tui::views::tests::{self as tests_view, TestsState};

mod overlays;

/// The views of the workbench, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The variant matrix and what each variant builds.
    Matrix,
    /// Builds and their logs.
    Builds,
    /// QEMU clusters and their nodes.
    Cluster,
    /// Test scenarios and their results.
    Tests,
}

impl View {
    /// Every view, in tab order.
    pub const ALL: [View; 4] = [View::Matrix, View::Builds, View::Cluster, View::Tests];

    /// The view's name.
    pub fn title(self) -> &'static str {
        match self {
            View::Matrix => "Matrix",
            View::Builds => "Builds",
            View::Cluster => "Cluster",
            View::Tests => "Tests",
        }
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    fn offset(self, by: usize) -> View {
        View::ALL[(self.index() + by) % View::ALL.len()]
    }
}

/// What the keyboard is talking to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The current view's keys.
    Normal,
    /// Typing the Matrix view's filter.
    Filter,
    /// The help overlay is open.
    Help,
    /// The command palette is open.
    Palette,
    /// The profile editor is open and takes the keys.
    Edit,
    /// Choosing a profile file to edit.
    Choose,
    /// Choosing the backend of a build.
    Backend,
    /// Typing a search in the Builds view's log.
    Search,
    /// Asking whether to quit while builds or a cluster run.
    ConfirmQuit,
    /// Asking whether to tear down a cluster another process owns.
    ConfirmDown,
    /// A node's console is attached: keys go to it until Ctrl-].
    Attached,
}

/// What the runner must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Leave the workbench.
    Quit,
    /// Read the profiles again (the result comes back as [`Msg::ProfilesReloaded`]).
    ReloadProfiles,
    /// Tell the build engine.
    Build(crate::build::engine::Command),
    /// Show a log file in a pager (the workbench gives the terminal to it meanwhile).
    Page(std::path::PathBuf),
    /// Boot a profile's cluster (or follow it, when another `n3x` runs it already).
    ClusterUp(String),
    /// Follow a cluster another `n3x` runs, when there is one and none is on screen.
    Discover,
    /// Commands for the cluster on screen, in order.
    Session(Vec<crate::session::Command>),
    /// Run a test of the catalog.
    Test(crate::scenario::catalog::TestDef),
}

/// The result of handling one event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// The state changed: draw again.
    pub redraw: bool,
    /// Something for the runner to do.
    pub request: Option<Request>,
}

impl Update {
    /// Nothing changed.
    pub const NOTHING: Update = Update {
        redraw: false,
        request: None,
    };
    /// Draw again; nothing for the runner to do.
    pub const REDRAW: Update = Update {
        redraw: true,
        request: None,
    };
}

/// A line for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The text.
    pub text: String,
    /// Whether it reports a problem.
    pub error: bool,
}

/// The command palette's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Palette {
    /// What was typed.
    pub query: String,
    /// Index into the matching entries.
    pub selected: usize,
}

/// The list of profile files to choose one to edit from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chooser {
    /// Every profile file.
    pub files: Vec<std::path::PathBuf>,
    /// What was typed to narrow them.
    pub query: String,
    /// Index into the matching files.
    pub selected: usize,
}

impl Chooser {
    /// The files matching the typed query, in order.
    pub fn matches(&self) -> Vec<&std::path::PathBuf> {
        self.files
            .iter()
            .filter(|f| keymap::fuzzy_score(&self.query, &f.to_string_lossy()).is_some())
            .collect()
    }
}

/// What a view's actions may use and change beyond the view's own state: the shell's shared
/// parts, and what the other views say that a view needs to know.
pub struct Cx<'a> {
    /// The profiles on screen.
    pub profiles: &'a Arc<Profiles>,
    /// The view on screen (an action may send the user to another).
    pub view: &'a mut View,
    /// What the keyboard is talking to.
    pub mode: &'a mut Mode,
    /// The status line's message.
    pub message: &'a mut Option<Message>,
    /// The variant selected in the Matrix view (the Cluster view boots its profile).
    pub variant: Option<&'a Variant>,
    /// A cluster that is not a test's runs in the Cluster view (a test waits for it).
    pub cluster_busy: bool,
}

impl Cx<'_> {
    /// Puts `text` on the status line.
    pub fn tell(&mut self, text: impl Into<String>, error: bool) -> Update {
        *self.message = Some(Message {
            text: text.into(),
            error,
        });
        Update::REDRAW
    }

    /// What a log pane's key did (the Builds view's log, the Cluster view's console), for the
    /// screen and the keyboard.
    pub fn log_outcome(&mut self, outcome: log_pane::Outcome) -> Update {
        match outcome {
            log_pane::Outcome::NotMine => return Update::NOTHING,
            log_pane::Outcome::Done => {}
            log_pane::Outcome::Searching => *self.mode = Mode::Search,
            log_pane::Outcome::SearchDone => *self.mode = Mode::Normal,
            log_pane::Outcome::Tell(text) => {
                if *self.mode == Mode::Search {
                    *self.mode = Mode::Normal;
                }
                return self.tell(text, false);
            }
        }
        Update::REDRAW
    }
}

/// The whole state of the workbench.
#[derive(Debug, Clone)]
pub struct App {
    profiles: Arc<Profiles>,
    /// The styles in use.
    pub theme: Theme,
    /// The view on screen.
    pub view: View,
    /// What the keyboard is talking to.
    pub mode: Mode,
    /// The command palette's state.
    pub palette: Palette,
    /// The last thing worth telling the user, until the next key.
    pub message: Option<Message>,
    /// The profile editor, while a file is open.
    pub editor: Option<Editor>,
    /// The profile file chooser's state.
    pub chooser: Chooser,
    /// The backend chooser: the variant to build and the highlighted backend.
    pub backend_choice: Option<(Variant, usize)>,
    /// Lines the help overlay is scrolled by (when it does not fit).
    pub help_scroll: u16,
    /// The Matrix view's state.
    pub matrix: MatrixState,
    /// The Builds view's state.
    pub builds: BuildsState,
    /// The Cluster view's state.
    pub cluster: ClusterState,
    /// The Tests view's state.
    pub tests: TestsState,
}

impl App {
    /// A workbench on `profiles`, showing the Matrix view.
    pub fn new(profiles: Arc<Profiles>, theme: Theme) -> App {
        App {
            matrix: MatrixState::new(Arc::clone(&profiles)),
            tests: TestsState::from_catalog(&profiles),
            profiles,
            theme,
            view: View::Matrix,
            mode: Mode::Normal,
            palette: Palette::default(),
            message: None,
            editor: None,
            chooser: Chooser::default(),
            builds: BuildsState::default(),
            backend_choice: None,
            help_scroll: 0,
            cluster: ClusterState::default(),
        }
    }

    /// Whether builds or a cluster run (their clocks move on screen).
    pub fn work_is_running(&self) -> bool {
        self.builds.active() > 0 || self.tests.running.is_some() || self.cluster.runs()
    }

    /// Whether a cluster is on screen and runs (this workbench's or another process's).
    pub fn cluster_runs(&self) -> bool {
        self.cluster.runs()
    }

    /// The profiles on screen.
    pub fn profiles(&self) -> &Profiles {
        &self.profiles
    }

    /// The profiles on screen, shared.
    pub fn profiles_arc(&self) -> &Arc<Profiles> {
        &self.profiles
    }

    /// Where the keys go now: the view and, in the Matrix view, the focused pane.
    pub fn context(&self) -> Context {
        if self.editor.is_some() {
            Context::editor(self.view)
        } else {
            Context::new(self.view, self.matrix.pane)
        }
    }

    /// Applies one message.
    pub fn handle(&mut self, msg: Msg) -> Update {
        match msg {
            Msg::Key(key) => self.key(key),
            Msg::Mouse(mouse) if self.mode == Mode::Normal => {
                match keymap::action_for_mouse(self.context(), &mouse) {
                    // Only the Matrix view's panes take clicks.
                    Some(Action::Click) => self.matrix.click(mouse.column, mouse.row),
                    Some(action) => self.perform(action),
                    None => Update::NOTHING,
                }
            }
            Msg::Mouse(_) => Update::NOTHING,
            Msg::Resize(..) => Update::REDRAW,
            Msg::ProfilesReloaded(Ok(profiles)) => {
                self.matrix.set_profiles(Arc::clone(&profiles));
                self.profiles = profiles;
                self.message = Some(Message {
                    text: format!(
                        "profiles reloaded: {} variants",
                        self.matrix.all_rows().len()
                    ),
                    error: false,
                });
                Update::REDRAW
            }
            Msg::ProfilesReloaded(Err(problem)) => {
                let first = problem.lines().next().unwrap_or_default();
                self.message = Some(Message {
                    text: format!("profiles not reloaded (`n3x validate` tells all): {first}"),
                    error: true,
                });
                Update::REDRAW
            }
            Msg::Session(update) => {
                // A console line redraws only the selected node's pane.
                let visible = self.view == View::Cluster
                    && match &update {
                        SessionUpdate::Cluster(ClusterUpdate::Line { node, .. }) => {
                            self.cluster.selected().is_some_and(|n| n.name == *node)
                        }
                        _ => true,
                    };
                let stopped = matches!(update, SessionUpdate::Stopped);
                self.cluster.on_update(update);
                if stopped && self.mode == Mode::Attached {
                    self.mode = Mode::Normal;
                }
                if visible {
                    Update::REDRAW
                } else {
                    Update::NOTHING
                }
            }
            Msg::Test(update) => self.test_update(update),
            Msg::Build(no, update) => {
                // Lines only change the Builds view; a build's state shows in the status bar
                // and the Matrix view's BUILD column too.
                let visible = self.view == View::Builds
                    || !matches!(
                        update,
                        BuildUpdate::Line(_)
                            | BuildUpdate::Dropped(_)
                            | BuildUpdate::Progress { .. }
                    );
                if let Some((variant, state)) = self.builds.on_update(no, update) {
                    self.matrix.set_build_state(&variant, state);
                }
                if visible {
                    Update::REDRAW
                } else {
                    Update::NOTHING
                }
            }
        }
    }

    /// A test run's update: the Tests view's, and the Cluster view's while it shows the
    /// test's cluster (it does when no other cluster runs there).
    fn test_update(&mut self, update: TestUpdate) -> Update {
        let visible = match &update {
            TestUpdate::Session {
                update: SessionUpdate::Cluster(ClusterUpdate::Line { .. }),
                ..
            } => false,
            TestUpdate::Session { .. } => matches!(self.view, View::Tests | View::Cluster),
            _ => true,
        };
        if let Some(text) = self.cluster.on_test_update(&update) {
            let error = !matches!(&update, TestUpdate::Finished(r) if r.verdict == crate::scenario::result::Verdict::Passed);
            self.message = Some(Message { text, error });
        }
        let changed = self.tests.on_update(&update);
        if visible && changed {
            Update::REDRAW
        } else {
            Update::NOTHING
        }
    }

    /// The palette entries matching the typed query, best first.
    pub fn palette_entries(&self) -> Vec<&'static Binding> {
        let mut scored: Vec<(usize, &'static Binding)> = keymap::bindings_here(self.context())
            .filter(|b| !matches!(b.action, Action::Palette | Action::Click))
            .filter_map(|b| keymap::fuzzy_score(&self.palette.query, b.description).map(|s| (s, b)))
            .collect();
        scored.sort_by_key(|(score, _)| *score);
        scored.into_iter().map(|(_, b)| b).collect()
    }

    /// The shared parts the view on screen may use; the Matrix view's selection for the others.
    fn cx(
        &mut self,
    ) -> (
        Cx<'_>,
        &mut MatrixState,
        &mut BuildsState,
        &mut ClusterState,
        &mut TestsState,
    ) {
        let cluster_busy = self.cluster.runs() && !self.cluster.shows_test;
        let cx = Cx {
            profiles: &self.profiles,
            view: &mut self.view,
            mode: &mut self.mode,
            message: &mut self.message,
            variant: None,
            cluster_busy,
        };
        (
            cx,
            &mut self.matrix,
            &mut self.builds,
            &mut self.cluster,
            &mut self.tests,
        )
    }

    fn key(&mut self, key: KeyEvent) -> Update {
        if key.kind == KeyEventKind::Release {
            return Update::NOTHING;
        }
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c && self.editor.is_none() && self.mode != Mode::Attached {
            return self.perform(Action::Quit);
        }
        match self.mode {
            Mode::Edit => self.editor_key(key),
            // Ctrl-C in the editor's help still asks about unsaved work.
            Mode::Help if ctrl_c => {
                self.mode = Mode::Edit;
                self.editor_key(key)
            }
            Mode::Choose => self.choose_key(key),
            Mode::Backend => self.backend_key(key),
            Mode::Filter => {
                let (mut cx, matrix, ..) = self.cx();
                matrix.filter_key(key, &mut cx)
            }
            Mode::Search => {
                let view = self.view;
                let (mut cx, _, builds, cluster, _) = self.cx();
                match view {
                    View::Builds => builds.search_key(key, &mut cx),
                    View::Cluster => cluster.search_key(key, &mut cx),
                    View::Matrix | View::Tests => {
                        *cx.mode = Mode::Normal;
                        Update::REDRAW
                    }
                }
            }
            Mode::Attached => {
                let (mut cx, _, _, cluster, _) = self.cx();
                cluster.attached_key(key, &mut cx)
            }
            Mode::ConfirmDown => {
                let (mut cx, _, _, cluster, _) = self.cx();
                cluster.confirm_down_key(key, &mut cx)
            }
            Mode::ConfirmQuit => {
                self.mode = Mode::Normal;
                if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('q')) {
                    Update {
                        redraw: false,
                        request: Some(Request::Quit),
                    }
                } else {
                    Update::REDRAW
                }
            }
            Mode::Normal => {
                let had_message = self.message.take().is_some();
                match keymap::action_for_key(self.context(), &key) {
                    Some(action) => self.perform(action),
                    None => Update {
                        redraw: had_message,
                        request: None,
                    },
                }
            }
            Mode::Help => match key.code {
                KeyCode::Char('j') | KeyCode::Down => {
                    self.help_scroll = self.help_scroll.saturating_add(1);
                    Update::REDRAW
                }
                KeyCode::Char('k') | KeyCode::Up => {
                    self.help_scroll = self.help_scroll.saturating_sub(1);
                    Update::REDRAW
                }
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::F(1) => {
                    self.mode = if self.editor.is_some() {
                        Mode::Edit
                    } else {
                        Mode::Normal
                    };
                    Update::REDRAW
                }
                _ => Update::NOTHING,
            },
            Mode::Palette => self.palette_key(key),
        }
    }

    /// Does what `action` says: the shell's own actions (quitting, help, palette, views,
    /// reloading, the editor), the ones that go from one view to another (building what the
    /// Matrix view selected, the console where a test failed), and every other one by the
    /// view on screen.
    pub fn perform(&mut self, action: Action) -> Update {
        match action {
            Action::Quit
                if (self.builds.active() > 0 || self.cluster_runs())
                    && self.mode != Mode::ConfirmQuit =>
            {
                self.mode = Mode::ConfirmQuit;
            }
            Action::Quit => {
                return Update {
                    redraw: false,
                    request: Some(Request::Quit),
                };
            }
            Action::Help => {
                self.help_scroll = 0;
                self.mode = Mode::Help;
            }
            Action::Palette => {
                self.palette = Palette::default();
                self.mode = Mode::Palette;
            }
            Action::NextView | Action::PrevView | Action::Show(_) => {
                self.view = match action {
                    Action::NextView => self.view.offset(1),
                    Action::PrevView => self.view.offset(View::ALL.len() - 1),
                    Action::Show(view) => view,
                    _ => self.view,
                };
                // The Cluster view shows a cluster another n3x runs, when there is one.
                if self.view == View::Cluster && !self.cluster_runs() {
                    return Update {
                        redraw: true,
                        request: Some(Request::Discover),
                    };
                }
            }
            Action::Reload => {
                self.message = Some(Message {
                    text: "reloading the profiles…".into(),
                    error: false,
                });
                return Update {
                    redraw: true,
                    request: Some(Request::ReloadProfiles),
                };
            }
            Action::Edit => return self.edit_selected(),
            Action::EditFile => {
                self.chooser = Chooser {
                    files: profile::profile_files(&self.profiles.root)
                        .iter()
                        .map(|f| profile::display_path(f))
                        .collect(),
                    ..Chooser::default()
                };
                self.mode = Mode::Choose;
            }
            Action::Build => {
                let Some(v) = self.matrix.selected_variant().cloned() else {
                    return Update::NOTHING;
                };
                let backend = builds::BACKENDS[builds::default_backend(&v.machine)].0;
                return self.start_build(v, backend);
            }
            Action::BuildWith => {
                let Some(v) = self.matrix.selected_variant().cloned() else {
                    return Update::NOTHING;
                };
                let first = builds::default_backend(&v.machine);
                self.backend_choice = Some((v, first));
                self.mode = Mode::Backend;
            }
            Action::ConsoleAtFailure => return self.console_at_failure(),
            // A click needs its position: `handle` takes it to the view.
            Action::Click => return Update::NOTHING,
            // The editor's own keys reach it through `editor_key`.
            Action::Save
            | Action::SaveRender
            | Action::Undo
            | Action::Redo
            | Action::NextProblem
            | Action::PrevProblem
            | Action::PreviewDown
            | Action::PreviewUp
            | Action::CloseEditor
            | Action::QuitEditor => return Update::NOTHING,
            _ => {
                let view = self.view;
                let (mut cx, matrix, builds, cluster, tests) = self.cx();
                return match view {
                    View::Matrix => matrix.on_action(action, &mut cx),
                    View::Builds => builds.on_action(action, &mut cx),
                    View::Cluster => {
                        cx.variant = matrix.selected_variant();
                        cluster.on_action(action, &mut cx)
                    }
                    View::Tests => tests.on_action(action, &mut cx),
                };
            }
        }
        Update::REDRAW
    }

    /// Asks the engine for a build and shows the Builds view, following it.
    fn start_build(&mut self, variant: Variant, backend: Backend) -> Update {
        self.view = View::Builds;
        self.builds.log.paused = false;
        Update {
            redraw: true,
            request: Some(Request::Build(BuildCommand::Start(variant, backend))),
        }
    }

    /// Shows the failed node's console in the Cluster view, scrolled back to the line where
    /// the test stopped; says where the log is when the console is gone.
    fn console_at_failure(&mut self) -> Update {
        let Some(row) = self.tests.selected() else {
            return Update::NOTHING;
        };
        let Some(failure) = row.last.as_ref().and_then(|l| l.failure.clone()) else {
            return self.tell("the last run of this test did not fail", false);
        };
        let Some((log, line)) = failure.console_log.clone() else {
            let text = format!(
                "{} stopped at {} without a console ({})",
                failure.node, failure.stage, failure.hint
            );
            return self.tell(text, true);
        };
        let back = tests_view::lines_since(std::path::Path::new(&log), line);
        match self.cluster.show_console_at(&failure.node, back) {
            Some(back) => {
                self.view = View::Cluster;
                self.tell(
                    format!(
                        "{}'s console {back} lines back: where it stopped at {}",
                        failure.node, failure.stage
                    ),
                    false,
                )
            }
            None => self.tell(
                format!(
                    "{}'s console is no longer on screen; its log: {log} (line {line})",
                    failure.node
                ),
                false,
            ),
        }
    }

    fn tell(&mut self, text: impl Into<String>, error: bool) -> Update {
        self.message = Some(Message {
            text: text.into(),
            error,
        });
        Update::REDRAW
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::Pane;
    use crossterm::event::{MouseEvent, MouseEventKind};

    fn app() -> App {
        let p = Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
            .expect("the shipped profiles are valid");
        App::new(Arc::new(p), Theme::monochrome())
    }

    fn press(app: &mut App, code: KeyCode) -> Update {
        app.handle(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            press(app, KeyCode::Char(c));
        }
    }

    #[test]
    fn typing_a_filter_narrows_the_rows_and_esc_clears_it() {
        let mut a = app();
        press(&mut a, KeyCode::Char('/'));
        assert_eq!(a.mode, Mode::Filter);
        type_text(&mut a, "ARM");
        assert_eq!(a.matrix.filter(), "ARM");
        assert_eq!(a.matrix.shown().len(), 2);
        press(&mut a, KeyCode::Backspace);
        assert_eq!(a.matrix.filter(), "AR");
        press(&mut a, KeyCode::Char('m'));
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.mode, Mode::Normal);
        assert_eq!(a.matrix.shown().len(), 2, "Enter keeps the filter");
        // Keys are actions again, not filter text.
        press(&mut a, KeyCode::Char('j'));
        assert_eq!(a.matrix.filter(), "ARm");
        assert_eq!(
            a.matrix.selected_variant().unwrap().key(),
            "server@qemuarm64"
        );
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.matrix.filter(), "");
        assert_eq!(a.matrix.shown().len(), 16);
    }

    #[test]
    fn esc_while_typing_clears_the_filter_and_leaves_filter_mode() {
        let mut a = app();
        press(&mut a, KeyCode::Char('/'));
        type_text(&mut a, "qj");
        assert_eq!(a.matrix.filter(), "qj", "j is text while filtering");
        assert_eq!(a.matrix.shown().len(), 0);
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.mode, Mode::Normal);
        assert_eq!(a.matrix.shown().len(), 16);
    }

    #[test]
    fn views_switch_with_tab_shift_tab_and_digits() {
        let mut a = app();
        press(&mut a, KeyCode::Tab);
        assert_eq!(a.view, View::Builds);
        press(&mut a, KeyCode::BackTab);
        press(&mut a, KeyCode::BackTab);
        assert_eq!(a.view, View::Tests);
        press(&mut a, KeyCode::Tab);
        assert_eq!(a.view, View::Matrix);
        for (digit, view) in ['1', '2', '3', '4'].into_iter().zip(View::ALL) {
            press(&mut a, KeyCode::Char(digit));
            assert_eq!(a.view, view);
        }
        // Matrix keys do nothing elsewhere.
        assert_eq!(press(&mut a, KeyCode::Char('s')), Update::NOTHING);
    }

    #[test]
    fn q_quits_and_ctrl_c_quits_from_any_mode() {
        let mut a = app();
        assert_eq!(
            press(&mut a, KeyCode::Char('q')).request,
            Some(Request::Quit)
        );
        press(&mut a, KeyCode::Char('/'));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(a.handle(Msg::Key(ctrl_c)).request, Some(Request::Quit));
    }

    #[test]
    fn help_opens_and_closes_without_quitting() {
        let mut a = app();
        press(&mut a, KeyCode::Char('?'));
        assert_eq!(a.mode, Mode::Help);
        // j scrolls the help; it does not move the selection behind it.
        press(&mut a, KeyCode::Char('j'));
        assert_eq!(a.help_scroll, 1);
        assert_eq!(a.matrix.selected_index(), 0);
        assert_eq!(press(&mut a, KeyCode::Char('x')), Update::NOTHING);
        assert_eq!(press(&mut a, KeyCode::Char('q')).request, None);
        assert_eq!(a.mode, Mode::Normal);
    }

    #[test]
    fn the_palette_matches_fuzzily_and_runs_the_chosen_action() {
        let mut a = app();
        press(&mut a, KeyCode::Char(':'));
        assert_eq!(a.mode, Mode::Palette);
        let all = a.palette_entries().len();
        let here = keymap::bindings_here(a.context()).count();
        assert_eq!(all, here - 2, "all but the palette itself and the click");
        type_text(&mut a, "tstv");
        let names: Vec<&str> = a.palette_entries().iter().map(|b| b.description).collect();
        assert_eq!(names, ["Tests view"]);
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.mode, Mode::Normal);
        assert_eq!(a.view, View::Tests);

        press(&mut a, KeyCode::Char(':'));
        assert_eq!(a.palette.query, "", "a new palette starts empty");
        type_text(&mut a, "quit");
        assert_eq!(press(&mut a, KeyCode::Enter).request, Some(Request::Quit));
    }

    #[test]
    fn the_palette_selection_stays_within_the_matches() {
        let mut a = app();
        press(&mut a, KeyCode::Char(':'));
        type_text(&mut a, "view");
        let n = a.palette_entries().len();
        assert!(n >= 4);
        for _ in 0..n + 3 {
            press(&mut a, KeyCode::Down);
        }
        assert_eq!(a.palette.selected, n - 1);
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.mode, Mode::Normal);
        assert_eq!(a.view, View::Matrix, "Esc runs nothing");
    }

    #[test]
    fn moving_and_sorting_change_the_selection() {
        let mut a = app();
        press(&mut a, KeyCode::Down);
        press(&mut a, KeyCode::Char('j'));
        assert_eq!(a.matrix.selected_index(), 2);
        press(&mut a, KeyCode::End);
        assert_eq!(a.matrix.selected_index(), 15);
        a.matrix.page.set(5);
        press(&mut a, KeyCode::PageUp);
        assert_eq!(a.matrix.selected_index(), 10);
        press(&mut a, KeyCode::Home);
        assert_eq!(a.matrix.selected_index(), 0);
        press(&mut a, KeyCode::Char('s'));
        assert_eq!(
            a.matrix.sort(),
            Some(crate::tui::views::matrix::Column::Variant)
        );
        // Sorting keeps the selected variant; it moves to its sorted place (after the agents).
        assert_eq!(a.matrix.selected_variant().unwrap().key(), "base@qemuamd64");
        assert_eq!(a.matrix.selected_index(), 2);
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        assert!(a.handle(Msg::Mouse(wheel)).redraw);
        assert_eq!(a.matrix.selected_index(), 3);
    }

    fn key_of(a: &App) -> String {
        a.matrix.selected_variant().unwrap().key()
    }

    fn click(a: &mut App, column: u16, row: u16) -> Update {
        a.handle(Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(crossterm::event::MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    }

    fn draw(a: &mut App, width: u16, height: u16) -> String {
        crate::tui::screenshot::to_text(&crate::tui::screenshot::capture(a, width, height))
    }

    #[test]
    fn marking_two_variants_and_d_shows_their_diff_until_esc() {
        let mut a = app();
        press(&mut a, KeyCode::Char('d'));
        let m = a.message.clone().unwrap();
        assert!(
            m.text.contains("mark two variants with m, then d"),
            "{}",
            m.text
        );
        assert_eq!(a.matrix.pane, Pane::Table, "no diff without two marks");

        press(&mut a, KeyCode::Char('m'));
        let first = key_of(&a);
        assert!(a.message.clone().unwrap().text.contains("marked A"));
        press(&mut a, KeyCode::Char('d'));
        assert!(a.message.clone().unwrap().text.contains("(1 marked now)"));
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Char(' '));
        let second = key_of(&a);
        assert_eq!(a.matrix.marks(), [first.clone(), second.clone()]);

        press(&mut a, KeyCode::Char('d'));
        assert_eq!(a.matrix.pane, Pane::Diff);
        let diff = &a.matrix.diff.as_ref().unwrap().diff;
        assert_eq!(
            (diff.a.as_str(), diff.b.as_str()),
            (first.as_str(), second.as_str())
        );
        // j scrolls the diff, not the table.
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Char('j'));
        assert_eq!(a.matrix.diff.as_ref().unwrap().scroll.get().top, 2);
        assert_eq!(key_of(&a), second);
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.matrix.pane, Pane::Table);
        assert!(a.matrix.diff.is_none());
        // Marking the selected variant again unmarks it.
        press(&mut a, KeyCode::Char('m'));
        assert_eq!(a.matrix.marks(), [first]);
    }

    #[test]
    fn enter_previews_the_files_and_esc_goes_back_step_by_step() {
        let mut a = app();
        // A base image has no per-node files: Enter says so and stays in the table.
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.matrix.pane, Pane::Table);
        assert!(
            a.message
                .clone()
                .unwrap()
                .text
                .contains("no per-node files"),
            "{:?}",
            a.message
        );
        for _ in 0..5 {
            press(&mut a, KeyCode::Char('j'));
        }
        assert_eq!(key_of(&a), "server-vlans-server-1@qemuamd64");
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.matrix.pane, Pane::Files);
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Char('j'));
        assert_eq!(a.matrix.preview.file, 2);
        assert_eq!(
            key_of(&a),
            "server-vlans-server-1@qemuamd64",
            "j moved the file"
        );
        press(&mut a, KeyCode::Char('G'));
        let files = crate::tui::views::matrix::preview::files(
            a.profiles(),
            a.matrix.selected_variant().unwrap(),
        )
        .unwrap();
        assert_eq!(a.matrix.preview.file, files.len() - 1);
        press(&mut a, KeyCode::Char('g'));
        assert_eq!(files[a.matrix.preview.file].path, "k3s-flags.txt");

        press(&mut a, KeyCode::Enter);
        assert_eq!(a.matrix.pane, Pane::Preview);
        draw(&mut a, 80, 24);
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Char('j'));
        assert_eq!(a.matrix.preview.scroll.get().top, 2);
        press(&mut a, KeyCode::Char('G'));
        let screen = draw(&mut a, 80, 24);
        let last_flag = files[0].contents.lines().last().unwrap();
        assert!(screen.contains(last_flag), "G shows the end:\n{screen}");
        press(&mut a, KeyCode::Char('g'));
        assert_eq!(a.matrix.preview.scroll.get().top, 0);

        press(&mut a, KeyCode::Esc);
        assert_eq!(a.matrix.pane, Pane::Files);
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.matrix.pane, Pane::Table);
        assert_eq!(
            a.matrix.filter(),
            "",
            "Esc in the preview is not the filter's"
        );
    }

    #[test]
    fn clicks_select_a_row_and_a_file() {
        let mut a = app();
        let screen = draw(&mut a, 120, 40);
        let row = screen
            .lines()
            .position(|l| l.contains("server-dhcp-simple-server-1"))
            .unwrap();
        assert_eq!(click(&mut a, 10, row as u16), Update::REDRAW);
        assert_eq!(key_of(&a), "server-dhcp-simple-server-1@qemuamd64");
        // Below the last row, on the header or on the borders: nothing.
        assert_eq!(click(&mut a, 10, 38), Update::NOTHING);
        assert_eq!(click(&mut a, 10, 2), Update::NOTHING);
        assert_eq!(key_of(&a), "server-dhcp-simple-server-1@qemuamd64");

        press(&mut a, KeyCode::Enter);
        let screen = draw(&mut a, 120, 40);
        let row = screen
            .lines()
            .position(|l| l.contains("rootfs/etc/hostname"))
            .unwrap();
        click(&mut a, 5, row as u16);
        assert_eq!(a.matrix.pane, Pane::Files);
        let files = crate::tui::views::matrix::preview::files(
            a.profiles(),
            a.matrix.selected_variant().unwrap(),
        )
        .unwrap();
        assert_eq!(files[a.matrix.preview.file].path, "rootfs/etc/hostname");
        // A click on the content focuses it; the wheel then scrolls it.
        click(&mut a, 100, 10);
        assert_eq!(a.matrix.pane, Pane::Preview);
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        a.handle(Msg::Mouse(wheel));
        assert_eq!(a.matrix.preview.scroll.get().top, 1);
        // A click on another view's screen does nothing.
        press(&mut a, KeyCode::Char('2'));
        assert_eq!(click(&mut a, 5, row as u16), Update::NOTHING);
    }

    #[test]
    fn reloading_keeps_the_old_profiles_when_the_new_ones_are_broken() {
        let mut a = app();
        assert_eq!(
            press(&mut a, KeyCode::Char('r')).request,
            Some(Request::ReloadProfiles)
        );
        a.handle(Msg::ProfilesReloaded(Err(
            "error: profiles/cluster.yaml:3:1: bad\n  fix: …".into(),
        )));
        let m = a.message.clone().unwrap();
        assert!(m.error);
        assert!(m.text.contains("cluster.yaml:3:1"), "{}", m.text);
        assert_eq!(a.matrix.shown().len(), 16);
        let fresh = Arc::new(a.profiles().clone());
        a.handle(Msg::ProfilesReloaded(Ok(fresh)));
        assert_eq!(
            a.message.clone().unwrap().text,
            "profiles reloaded: 16 variants"
        );
        // The next key clears the message.
        press(&mut a, KeyCode::Char('x'));
        assert!(a.message.is_none());
    }

    #[test]
    fn e_edits_the_variants_profile_where_keys_are_text_until_esc() {
        let mut a = app();
        for _ in 0..5 {
            press(&mut a, KeyCode::Char('j'));
        }
        assert_eq!(
            a.matrix.selected_variant().unwrap().key(),
            "server-vlans-server-1@qemuamd64"
        );
        press(&mut a, KeyCode::Char('e'));
        assert_eq!(a.mode, Mode::Edit);
        let editor = a.editor.as_ref().unwrap();
        assert!(editor.path().ends_with("profiles/network/vlans.yaml"));
        assert!(a.context().editing);
        // `q` is text here, not quit.
        assert_eq!(press(&mut a, KeyCode::Char('q')).request, None);
        assert!(a.editor.as_ref().unwrap().is_modified());
        // Ctrl-C asks first; `d` discards and quits.
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(a.handle(Msg::Key(ctrl_c)).request, None);
        assert!(a.editor.as_ref().unwrap().prompt.is_some());
        assert_eq!(
            press(&mut a, KeyCode::Char('d')).request,
            Some(Request::Quit)
        );
    }

    #[test]
    fn f1_shows_the_editors_keys_and_esc_returns_to_the_text() {
        let mut a = app();
        press(&mut a, KeyCode::Char('e'));
        assert!(
            a.editor
                .as_ref()
                .unwrap()
                .path()
                .ends_with("profiles/machines.yaml"),
            "a base image has no network profile: its machine's file opens"
        );
        press(&mut a, KeyCode::F(1));
        assert_eq!(a.mode, Mode::Help);
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.mode, Mode::Edit);
        // Unmodified, Esc closes at once.
        press(&mut a, KeyCode::Esc);
        assert_eq!(a.mode, Mode::Normal);
        assert!(a.editor.is_none());
    }

    #[test]
    fn the_chooser_narrows_the_profile_files_and_opens_one() {
        let mut a = app();
        press(&mut a, KeyCode::Char('E'));
        assert_eq!(a.mode, Mode::Choose);
        assert_eq!(a.chooser.matches().len(), 8, "{:?}", a.chooser.files);
        type_text(&mut a, "clus");
        assert_eq!(a.chooser.matches().len(), 1);
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.mode, Mode::Edit);
        assert!(
            a.editor
                .as_ref()
                .unwrap()
                .path()
                .ends_with("profiles/cluster.yaml")
        );
    }
}
