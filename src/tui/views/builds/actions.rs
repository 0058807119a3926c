//! What the Builds view's keys do (the shell starts builds from the Matrix view, with the
//! backend chooser these backends fill).

use crossterm::event::KeyEvent;

use super::{BuildsState, Phase};
use crate::build::engine::Command;
use crate::build::plan::Backend;
use crate::tui::app::{Cx, Request, Update};
use crate::tui::keymap::Action;

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

impl BuildsState {
    /// Does what a Builds view `action` means.
    pub fn on_action(&mut self, action: Action, cx: &mut Cx) -> Update {
        match action {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            a if a.is_log_pane() => {
                let (log, lines) = self.log_and_lines();
                let outcome = log.action(lines, action);
                return cx.log_outcome(outcome);
            }
            Action::CancelBuild => {
                let Some(b) = self.selected() else {
                    return Update::NOTHING;
                };
                if !matches!(b.phase, Phase::Queued | Phase::Running) {
                    return cx.tell(format!("build {} has ended already", b.no), false);
                }
                let no = b.no;
                cx.tell(format!("cancelling build {no}…"), false);
                return Update {
                    redraw: true,
                    request: Some(Request::Build(Command::Cancel(no))),
                };
            }
            Action::RetryBuild => {
                let Some(b) = self.selected() else {
                    return Update::NOTHING;
                };
                if b.past {
                    // A build of an earlier session: the engine does not know it; start anew.
                    let (key, backend) = (b.variant.clone(), b.backend);
                    let Some(v) = crate::matrix::variants(cx.profiles)
                        .into_iter()
                        .find(|v| v.key() == key)
                    else {
                        return cx.tell(format!("{key} is no longer in the matrix"), true);
                    };
                    self.log.paused = false;
                    return Update {
                        redraw: true,
                        request: Some(Request::Build(Command::Start(v, backend))),
                    };
                }
                return Update {
                    redraw: true,
                    request: Some(Request::Build(Command::Retry(b.no))),
                };
            }
            Action::OpenLog => {
                let Some(log) = self.selected().and_then(|b| b.log_file()) else {
                    return cx.tell("this build has no log yet", false);
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

    /// A key while the log's search is typed.
    pub fn search_key(&mut self, key: KeyEvent, cx: &mut Cx) -> Update {
        let (log, lines) = self.log_and_lines();
        let outcome = log.search_key(lines, &key);
        cx.log_outcome(outcome)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::build::engine::BuildUpdate;
    use crate::profile::Profiles;
    use crate::tui::app::{App, Mode, View};
    use crate::tui::msg::Msg;
    use crate::tui::theme::Theme;
    use crossterm::event::{KeyCode, KeyModifiers};

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
