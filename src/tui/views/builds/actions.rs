//! What the Builds view's keys do, starting a build from the Matrix view, and the backend
//! chooser.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::build::engine::Command;
use crate::build::plan::Backend;
use crate::tui::app::{App, Message, Mode, Request, Update, View};
use crate::tui::keymap::Action;
use crate::tui::log_pane::Outcome;

/// The backends in the chooser's order, with the key that picks each.
pub const BACKENDS: [(Backend, char, &str); 3] = [
    (
        Backend::Quick,
        'q',
        "Debian test image from Debian's packages (qemuamd64; root)",
    ),
    (Backend::Isar, 'i', "ISAR image with kas-container"),
    (Backend::Nixos, 'n', "NixOS system with nix build"),
];

/// The backend the chooser offers first for a machine: quick where it can build, else isar.
pub fn default_backend(machine: &str) -> usize {
    if crate::build::quick::MACHINES.contains(&machine) {
        0
    } else {
        1
    }
}

impl App {
    pub(crate) fn builds_action(&mut self, action: Action) -> Update {
        match action {
            Action::Build => {
                let Some(v) = self.matrix.selected_variant().cloned() else {
                    return Update::NOTHING;
                };
                let backend = BACKENDS[default_backend(&v.machine)].0;
                return self.start_build(v, backend);
            }
            Action::BuildWith => {
                let Some(v) = self.matrix.selected_variant().cloned() else {
                    return Update::NOTHING;
                };
                let first = default_backend(&v.machine);
                self.backend_choice = Some((v, first));
                self.mode = Mode::Backend;
            }
            Action::Up => self.builds.move_by(-1),
            Action::Down => self.builds.move_by(1),
            a if a.is_log_pane() => {
                let (log, lines) = self.builds.log_and_lines();
                let outcome = log.action(lines, action);
                return self.log_outcome(outcome);
            }
            Action::CancelBuild => {
                let Some(b) = self.builds.selected() else {
                    return Update::NOTHING;
                };
                if !matches!(
                    b.phase,
                    crate::tui::views::builds::Phase::Queued
                        | crate::tui::views::builds::Phase::Running
                ) {
                    return self.tell(&format!("build {} has ended already", b.no), false);
                }
                let no = b.no;
                self.message = Some(Message {
                    text: format!("cancelling build {no}…"),
                    error: false,
                });
                return Update {
                    redraw: true,
                    request: Some(Request::Build(Command::Cancel(no))),
                };
            }
            Action::RetryBuild => {
                let Some(b) = self.builds.selected() else {
                    return Update::NOTHING;
                };
                if b.past {
                    // A build of an earlier session: the engine does not know it; start anew.
                    let (key, backend) = (b.variant.clone(), b.backend);
                    let Some(v) = self
                        .matrix
                        .all_rows()
                        .iter()
                        .map(|r| r.variant.clone())
                        .find(|v| v.key() == key)
                    else {
                        return self.tell(&format!("{key} is no longer in the matrix"), true);
                    };
                    return self.start_build(v, backend);
                }
                return Update {
                    redraw: true,
                    request: Some(Request::Build(Command::Retry(b.no))),
                };
            }
            Action::OpenLog => {
                let Some(log) = self.builds.selected().and_then(|b| b.log_file()) else {
                    return self.tell("this build has no log yet", false);
                };
                return Update {
                    redraw: true,
                    request: Some(Request::Page(log)),
                };
            }
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    fn tell(&mut self, text: &str, error: bool) -> Update {
        self.message = Some(Message {
            text: text.to_string(),
            error,
        });
        Update::REDRAW
    }

    pub(crate) fn backend_key(&mut self, key: KeyEvent) -> Update {
        let Some((variant, highlighted)) = self.backend_choice.clone() else {
            self.mode = Mode::Normal;
            return Update::REDRAW;
        };
        let chosen = match key.code {
            KeyCode::Esc => None,
            KeyCode::Enter => Some(BACKENDS[highlighted].0),
            KeyCode::Up | KeyCode::Char('k') => {
                self.backend_choice = Some((variant, highlighted.saturating_sub(1)));
                return Update::REDRAW;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.backend_choice = Some((variant, (highlighted + 1).min(BACKENDS.len() - 1)));
                return Update::REDRAW;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                match BACKENDS.iter().find(|(_, k, _)| *k == c) {
                    Some((b, _, _)) => Some(*b),
                    None => return Update::NOTHING,
                }
            }
            _ => return Update::NOTHING,
        };
        self.mode = Mode::Normal;
        self.backend_choice = None;
        let Some(backend) = chosen else {
            return Update::REDRAW;
        };
        self.start_build(variant, backend)
    }

    /// Asks the engine for a build and shows the Builds view, following it.
    fn start_build(&mut self, variant: crate::matrix::Variant, backend: Backend) -> Update {
        self.view = View::Builds;
        self.builds.log.paused = false;
        Update {
            redraw: true,
            request: Some(Request::Build(Command::Start(variant, backend))),
        }
    }

    /// A key while a log pane's search is typed (the Builds or the Cluster view's).
    pub(crate) fn search_key(&mut self, key: KeyEvent) -> Update {
        let outcome = if self.view == View::Cluster {
            let (log, lines) = self.cluster.log_and_lines();
            log.search_key(lines, &key)
        } else {
            let (log, lines) = self.builds.log_and_lines();
            log.search_key(lines, &key)
        };
        self.log_outcome(outcome)
    }

    /// What a log pane's key did, for the screen.
    pub(crate) fn log_outcome(&mut self, outcome: Outcome) -> Update {
        match outcome {
            Outcome::NotMine => return Update::NOTHING,
            Outcome::Done => {}
            Outcome::Searching => self.mode = Mode::Search,
            Outcome::SearchDone => self.mode = Mode::Normal,
            Outcome::Tell(text) => {
                if self.mode == Mode::Search {
                    self.mode = Mode::Normal;
                }
                return self.tell(&text, false);
            }
        }
        Update::REDRAW
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::build::engine::BuildUpdate;
    use crate::profile::Profiles;
    use crate::tui::msg::Msg;
    use crate::tui::theme::Theme;

    fn app() -> App {
        let p = Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
            .unwrap();
        App::new(Arc::new(p), Theme::monochrome())
    }

    fn press(a: &mut App, code: KeyCode) -> Update {
        a.handle(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn b_builds_with_the_default_backend_and_shift_b_asks() {
        let mut a = app();
        let update = press(&mut a, KeyCode::Char('b'));
        let Some(Request::Build(Command::Start(v, backend))) = update.request else {
            panic!("{update:?}")
        };
        assert_eq!(
            (v.key().as_str(), backend),
            ("base@qemuamd64", Backend::Quick)
        );
        press(&mut a, KeyCode::Char('1'));
        press(&mut a, KeyCode::Char('B'));
        assert_eq!(a.mode, Mode::Backend);
        assert_eq!(
            a.backend_choice.as_ref().unwrap().1,
            0,
            "quick first for qemuamd64"
        );
        let update = press(&mut a, KeyCode::Char('i'));
        let Some(Request::Build(Command::Start(v, backend))) = update.request else {
            panic!("{update:?}")
        };
        assert_eq!(v.key(), "base@qemuamd64");
        assert_eq!(backend, Backend::Isar);
        assert_eq!(a.view, View::Builds);
        assert_eq!(a.mode, Mode::Normal);
        // Esc builds nothing.
        press(&mut a, KeyCode::Char('1'));
        press(&mut a, KeyCode::Char('B'));
        assert_eq!(press(&mut a, KeyCode::Esc).request, None);
    }

    #[test]
    fn the_builds_view_searches_cancels_and_retries() {
        let mut a = app();
        a.handle(Msg::Build(
            7,
            BuildUpdate::Queued {
                variant: "base@qemuamd64".into(),
                backend: Backend::Quick,
                steps: vec![],
                estimate: None,
            },
        ));
        for i in 0..20 {
            a.handle(Msg::Build(7, BuildUpdate::Line(format!("line {i}"))));
        }
        press(&mut a, KeyCode::Char('2'));
        press(&mut a, KeyCode::Char('/'));
        assert_eq!(a.mode, Mode::Search);
        for c in "line 3".chars() {
            press(&mut a, KeyCode::Char(c));
        }
        press(&mut a, KeyCode::Enter);
        assert!(a.builds.log.paused);
        assert_eq!(a.builds.log.scroll, 16, "line 3 at the bottom");
        let cancel = press(&mut a, KeyCode::Char('c'));
        assert_eq!(cancel.request, Some(Request::Build(Command::Cancel(7))));
        let retry = press(&mut a, KeyCode::Char('R'));
        assert_eq!(retry.request, Some(Request::Build(Command::Retry(7))));
        assert_eq!(a.matrix.all_rows()[0].cells[5], "queued");
    }
}
