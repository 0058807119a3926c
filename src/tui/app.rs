//! The workbench's state and how events change it. No terminal here: [`App::handle`] takes an
//! [`Event`] and says whether the screen must be redrawn and what the runner should do.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::{self, Action, Binding};
use super::matrix::MatrixState;
use super::theme::Theme;
use crate::event::Event;
use crate::profile::Profiles;

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
}

/// What the runner must do after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Leave the workbench.
    Quit,
    /// Read the profiles again and publish [`Event::ProfilesReloaded`].
    ReloadProfiles,
}

/// The result of handling one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Update {
    /// The state changed: draw again.
    pub redraw: bool,
    /// Something for the runner to do.
    pub request: Option<Request>,
}

impl Update {
    const NOTHING: Update = Update {
        redraw: false,
        request: None,
    };
    const REDRAW: Update = Update {
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
    /// The Matrix view's state.
    pub matrix: MatrixState,
    /// The command palette's state.
    pub palette: Palette,
    /// The last thing worth telling the user, until the next key.
    pub message: Option<Message>,
}

impl App {
    /// A workbench on `profiles`, showing the Matrix view.
    pub fn new(profiles: Arc<Profiles>, theme: Theme) -> App {
        App {
            matrix: MatrixState::new(&profiles),
            profiles,
            theme,
            view: View::Matrix,
            mode: Mode::Normal,
            palette: Palette::default(),
            message: None,
        }
    }

    /// The profiles on screen.
    pub fn profiles(&self) -> &Profiles {
        &self.profiles
    }

    /// Applies one event.
    pub fn handle(&mut self, event: Event) -> Update {
        match event {
            Event::Key(key) => self.key(key),
            Event::Mouse(mouse) if self.mode == Mode::Normal => {
                match keymap::action_for_mouse(self.view, &mouse) {
                    Some(action) => self.perform(action),
                    None => Update::NOTHING,
                }
            }
            Event::Mouse(_) => Update::NOTHING,
            Event::Resize(..) => Update::REDRAW,
            Event::ProfilesReloaded(Ok(profiles)) => {
                self.matrix.set_profiles(&profiles);
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
            Event::ProfilesReloaded(Err(problem)) => {
                let first = problem.lines().next().unwrap_or_default();
                self.message = Some(Message {
                    text: format!("profiles not reloaded (`n3x validate` tells all): {first}"),
                    error: true,
                });
                Update::REDRAW
            }
        }
    }

    /// The palette entries matching the typed query, best first.
    pub fn palette_entries(&self) -> Vec<&'static Binding> {
        let mut scored: Vec<(usize, &'static Binding)> = keymap::bindings_for(self.view)
            .filter(|b| b.action != Action::Palette)
            .filter_map(|b| keymap::fuzzy_score(&self.palette.query, b.description).map(|s| (s, b)))
            .collect();
        scored.sort_by_key(|(score, _)| *score);
        scored.into_iter().map(|(_, b)| b).collect()
    }

    fn key(&mut self, key: KeyEvent) -> Update {
        if key.kind == KeyEventKind::Release {
            return Update::NOTHING;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            return self.perform(Action::Quit);
        }
        match self.mode {
            Mode::Normal => {
                let had_message = self.message.take().is_some();
                match keymap::action_for_key(self.view, &key) {
                    Some(action) => self.perform(action),
                    None => Update {
                        redraw: had_message,
                        request: None,
                    },
                }
            }
            Mode::Help => match key.code {
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') => {
                    self.mode = Mode::Normal;
                    Update::REDRAW
                }
                _ => Update::NOTHING,
            },
            Mode::Filter => self.filter_key(key),
            Mode::Palette => self.palette_key(key),
        }
    }

    fn filter_key(&mut self, key: KeyEvent) -> Update {
        match key.code {
            KeyCode::Esc => {
                self.matrix.set_filter("");
                self.mode = Mode::Normal;
            }
            KeyCode::Enter => self.mode = Mode::Normal,
            KeyCode::Backspace => {
                let mut f = self.matrix.filter().to_string();
                f.pop();
                self.matrix.set_filter(&f);
            }
            KeyCode::Up => self.matrix.move_by(-1),
            KeyCode::Down => self.matrix.move_by(1),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let f = format!("{}{c}", self.matrix.filter());
                self.matrix.set_filter(&f);
            }
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    fn palette_key(&mut self, key: KeyEvent) -> Update {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let count = self.palette_entries().len();
        match key.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                let chosen = self.palette_entries().get(self.palette.selected).copied();
                self.mode = Mode::Normal;
                if let Some(binding) = chosen {
                    let update = self.perform(binding.action);
                    return Update {
                        redraw: true,
                        ..update
                    };
                }
            }
            KeyCode::Up => self.palette.selected = self.palette.selected.saturating_sub(1),
            KeyCode::Char('p') if ctrl => {
                self.palette.selected = self.palette.selected.saturating_sub(1)
            }
            KeyCode::Down => {
                self.palette.selected = (self.palette.selected + 1).min(count.saturating_sub(1))
            }
            KeyCode::Char('n') if ctrl => {
                self.palette.selected = (self.palette.selected + 1).min(count.saturating_sub(1))
            }
            KeyCode::Backspace => {
                self.palette.query.pop();
                self.palette.selected = 0;
            }
            KeyCode::Char(c) if !ctrl => {
                self.palette.query.push(c);
                self.palette.selected = 0;
            }
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    /// Does what `action` says, in the current view.
    pub fn perform(&mut self, action: Action) -> Update {
        match action {
            Action::Quit => {
                return Update {
                    redraw: false,
                    request: Some(Request::Quit),
                };
            }
            Action::Help => self.mode = Mode::Help,
            Action::Palette => {
                self.palette = Palette::default();
                self.mode = Mode::Palette;
            }
            Action::NextView => self.view = self.view.offset(1),
            Action::PrevView => self.view = self.view.offset(View::ALL.len() - 1),
            Action::Show(view) => self.view = view,
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
            Action::Up => self.matrix.move_by(-1),
            Action::Down => self.matrix.move_by(1),
            Action::PageUp => self.matrix.move_by(-page(self.matrix.page)),
            Action::PageDown => self.matrix.move_by(page(self.matrix.page)),
            Action::First => self.matrix.first(),
            Action::Last => self.matrix.last(),
            Action::Filter => self.mode = Mode::Filter,
            Action::ClearFilter => self.matrix.set_filter(""),
            Action::Sort => self.matrix.cycle_sort(),
            Action::DetailDown => {
                self.matrix.detail_scroll = self.matrix.detail_scroll.saturating_add(3)
            }
            Action::DetailUp => {
                self.matrix.detail_scroll = self.matrix.detail_scroll.saturating_sub(3)
            }
        }
        Update::REDRAW
    }
}

fn page(rows: usize) -> isize {
    isize::try_from(rows.max(1)).unwrap_or(isize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{MouseEvent, MouseEventKind};

    fn app() -> App {
        let p = Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
            .expect("the shipped profiles are valid");
        App::new(Arc::new(p), Theme::monochrome())
    }

    fn press(app: &mut App, code: KeyCode) -> Update {
        app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
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
        assert_eq!(press(&mut a, KeyCode::Char('j')), Update::NOTHING);
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
        assert_eq!(a.handle(Event::Key(ctrl_c)).request, Some(Request::Quit));
    }

    #[test]
    fn help_opens_and_closes_without_quitting() {
        let mut a = app();
        press(&mut a, KeyCode::Char('?'));
        assert_eq!(a.mode, Mode::Help);
        assert_eq!(press(&mut a, KeyCode::Char('j')), Update::NOTHING);
        assert_eq!(press(&mut a, KeyCode::Char('q')).request, None);
        assert_eq!(a.mode, Mode::Normal);
    }

    #[test]
    fn the_palette_matches_fuzzily_and_runs_the_chosen_action() {
        let mut a = app();
        press(&mut a, KeyCode::Char(':'));
        assert_eq!(a.mode, Mode::Palette);
        let all = a.palette_entries().len();
        assert_eq!(all, keymap::bindings_for(View::Matrix).count() - 1);
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
        a.matrix.page = 5;
        press(&mut a, KeyCode::PageUp);
        assert_eq!(a.matrix.selected_index(), 10);
        press(&mut a, KeyCode::Home);
        assert_eq!(a.matrix.selected_index(), 0);
        press(&mut a, KeyCode::Char('s'));
        assert_eq!(a.matrix.sort(), Some(super::super::matrix::Column::Variant));
        // Sorting keeps the selected variant; it moves to its sorted place (after the agents).
        assert_eq!(a.matrix.selected_variant().unwrap().key(), "base@qemuamd64");
        assert_eq!(a.matrix.selected_index(), 2);
        let wheel = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        };
        assert!(a.handle(Event::Mouse(wheel)).redraw);
        assert_eq!(a.matrix.selected_index(), 3);
    }

    #[test]
    fn reloading_keeps_the_old_profiles_when_the_new_ones_are_broken() {
        let mut a = app();
        assert_eq!(
            press(&mut a, KeyCode::Char('r')).request,
            Some(Request::ReloadProfiles)
        );
        a.handle(Event::ProfilesReloaded(Err(
            "error: profiles/cluster.yaml:3:1: bad\n  fix: …".into(),
        )));
        let m = a.message.clone().unwrap();
        assert!(m.error);
        assert!(m.text.contains("cluster.yaml:3:1"), "{}", m.text);
        assert_eq!(a.matrix.shown().len(), 16);
        let fresh = Arc::new(a.profiles().clone());
        a.handle(Event::ProfilesReloaded(Ok(fresh)));
        assert_eq!(
            a.message.clone().unwrap().text,
            "profiles reloaded: 16 variants"
        );
        // The next key clears the message.
        press(&mut a, KeyCode::Char('x'));
        assert!(a.message.is_none());
    }
}
