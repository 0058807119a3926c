//! The workbench drawn on ratatui's TestBackend: snapshots of the views at two sizes, the help
//! overlay against the keymap, every size without a panic, NO_COLOR, and the refusal to start
//! without a terminal.

mod common;

use std::sync::Arc;

use assert_cmd::Command;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use n3x::event::Event;
use n3x::tui::app::{App, Mode, View};
use n3x::tui::keymap;
use n3x::tui::theme::Theme;
use n3x::tui::ui;

fn app() -> App {
    App::new(Arc::new(common::shipped()), Theme::monochrome())
}

fn press(app: &mut App, code: KeyCode) {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn draw(app: &mut App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::draw(frame, app)).unwrap();
    terminal
}

/// The screen as lines of text.
fn screen(terminal: &Terminal<TestBackend>) -> Vec<String> {
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect()
        })
        .collect()
}

#[test]
fn matrix_view_80x24() {
    let mut a = app();
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn matrix_view_120x40() {
    let mut a = app();
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    press(&mut a, KeyCode::Down);
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn matrix_view_filtered_and_sorted_120x40() {
    let mut a = app();
    press(&mut a, KeyCode::Char('/'));
    for c in "server-1".chars() {
        press(&mut a, KeyCode::Char(c));
    }
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char('s'));
    press(&mut a, KeyCode::Char('s'));
    press(&mut a, KeyCode::End);
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn builds_view_80x24() {
    let mut a = app();
    press(&mut a, KeyCode::Char('2'));
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn builds_view_120x40() {
    let mut a = app();
    press(&mut a, KeyCode::Char('2'));
    insta::assert_snapshot!(draw(&mut a, 120, 40).backend());
}

#[test]
fn help_overlay_80x24() {
    let mut a = app();
    press(&mut a, KeyCode::Char('?'));
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn palette_80x24() {
    let mut a = app();
    press(&mut a, KeyCode::Char(':'));
    press(&mut a, KeyCode::Char('v'));
    press(&mut a, KeyCode::Char('i'));
    insta::assert_snapshot!(draw(&mut a, 80, 24).backend());
}

#[test]
fn the_help_overlay_lists_every_key_of_the_view() {
    for view in View::ALL {
        for (w, h) in [(80, 24), (120, 40)] {
            let mut a = app();
            a.view = view;
            press(&mut a, KeyCode::Char('?'));
            assert_eq!(a.mode, Mode::Help);
            let lines = screen(&draw(&mut a, w, h));
            let text = lines.join("\n");
            for b in keymap::bindings_for(view) {
                let keys = b.keys_label();
                assert!(
                    lines
                        .iter()
                        .any(|l| l.contains(&keys) && l.contains(b.description)),
                    "{view:?} at {w}x{h}: help lacks {:?} {:?}:\n{text}",
                    b.keys_label(),
                    b.description
                );
            }
            // And nothing of another view.
            for b in keymap::BINDINGS.iter().filter(|b| !b.applies_in(view)) {
                assert!(
                    !text.contains(b.description),
                    "{view:?}: help shows {:?}",
                    b.description
                );
            }
        }
    }
}

#[test]
fn no_size_panics_or_draws_outside_the_screen() {
    let setups: [fn(&mut App); 6] = [
        |_| {},
        |a| press(a, KeyCode::Char('?')),
        |a| press(a, KeyCode::Char(':')),
        |a| {
            press(a, KeyCode::Char('/'));
            press(a, KeyCode::Char('#'));
        },
        |a| {
            for _ in 0..40 {
                press(a, KeyCode::Char('J'));
            }
            press(a, KeyCode::End);
        },
        |a| press(a, KeyCode::Char('3')),
    ];
    for setup in setups {
        for width in (1..=140).step_by(9) {
            for height in (1..=50).step_by(7) {
                let mut a = app();
                setup(&mut a);
                draw(&mut a, width, height);
            }
        }
    }
}

#[test]
fn below_80x24_the_screen_says_so() {
    for (w, h) in [(79, 24), (80, 23), (40, 10)] {
        let text = screen(&draw(&mut app(), w, h)).join("");
        assert!(text.contains("at least 80x24"), "{w}x{h}: {text}");
    }
    let text = screen(&draw(&mut app(), 80, 24)).join("");
    assert!(!text.contains("at least 80x24"));
}

#[test]
fn no_color_draws_without_colours() {
    for view in ['1', '2'] {
        let mut a = app();
        press(&mut a, KeyCode::Char(view));
        let terminal = draw(&mut a, 120, 40);
        for cell in terminal.backend().buffer().content() {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset));
        }
    }
    let mut a = App::new(Arc::new(common::shipped()), Theme::dark());
    let terminal = draw(&mut a, 120, 40);
    assert!(
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg != Color::Reset)
    );
}

#[test]
fn without_a_terminal_n3x_names_the_commands_to_use_instead() {
    let out = Command::cargo_bin("n3x")
        .unwrap()
        .current_dir(common::repo())
        .env_remove("N3X_PROFILES")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing on stdout: {:?}", out.stdout);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("`n3x list`"), "{err}");
    assert!(err.contains("`n3x list --json`"), "{err}");
}
