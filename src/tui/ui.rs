//! Drawing the whole screen: view tabs, the current view, the status bar and the overlays.
//! Pure apart from the frame: the same state gives the same screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::views::{self, builds, cluster, matrix, tests};
use super::{editor, overlay};
use crate::tui::app::{App, Mode, View};
use crate::tui::keymap::{self, Action};
use crate::tui::views::matrix::MAX_MARKS;

/// The smallest terminal the workbench lays out for; below it, it says so instead.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Draws the whole screen for `app`. The views record what their keys and the mouse need to
/// know of the layout (the table's page size and scroll offset, where things were drawn).
pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    // Where things are is learnt anew by drawing them; nothing drawn, nothing to click.
    app.matrix.forget_areas();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(frame, app, area);
        return;
    }
    let [tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(frame, app, tabs);
    let theme = app.theme;
    let t = &theme;
    match (&mut app.editor, app.view) {
        (Some(editor), _) => editor::draw(frame, editor, t, body),
        (None, View::Matrix) => matrix::draw::draw(frame, &app.matrix, t, body),
        (None, View::Builds) if !app.builds.builds.is_empty() => {
            builds::draw::draw(frame, &app.builds, t, body)
        }
        (None, View::Cluster)
            if app.cluster.phase != cluster::Phase::Idle || !app.cluster.nodes.is_empty() =>
        {
            cluster::draw::draw(frame, &app.cluster, t, body)
        }
        (None, View::Tests) if !app.tests.rows.is_empty() => {
            tests::draw::draw(frame, &app.tests, t, body)
        }
        (None, other) => views::empty(frame, t, other, body),
    }
    draw_status(frame, app, status);
    match app.mode {
        Mode::Help => overlay::help(frame, app, body),
        Mode::Palette => overlay::palette(frame, app, body),
        Mode::Choose => overlay::chooser(frame, app, body),
        Mode::Backend => overlay::backends(frame, app, body),
        Mode::ConfirmQuit => overlay::confirm_quit(frame, app, body),
        Mode::Normal
        | Mode::Filter
        | Mode::Edit
        | Mode::Search
        | Mode::Attached
        | Mode::ConfirmDown => {}
    }
}

fn too_small(frame: &mut Frame, app: &App, area: Rect) {
    let text = format!(
        "n3x needs a terminal of at least {}x{}; this one is {}x{}. Enlarge it, or press q to quit and use `n3x list`.",
        MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
    );
    frame.render_widget(
        Paragraph::new(text)
            .style(app.theme.text)
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut spans = vec![Span::styled(" n3x ", t.heading), Span::raw(" ")];
    for view in View::ALL {
        let key = keymap::bindings_for(view)
            .find(|b| b.action == Action::Show(view))
            .map(|b| b.key_label())
            .unwrap_or_default();
        let style = if view == app.view {
            t.tab_active
        } else {
            t.tab_inactive
        };
        spans.push(Span::styled(format!(" {key} {} ", view.title()), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Line::from(spans), area);
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut parts = Vec::new();
    if app.cluster.attached
        && let Some(node) = app.cluster.selected()
    {
        parts.push(format!("⌨ {} · Ctrl-] detaches", node.name));
    }
    let active = app.builds.active();
    if active > 0 {
        parts.push(format!(
            "{active} build{} active",
            if active == 1 { "" } else { "s" }
        ));
    }
    if app.view == View::Matrix {
        let m = &app.matrix;
        if !m.filter().is_empty() && app.mode != Mode::Filter {
            parts.push(format!("filter \"{}\"", m.filter()));
        }
        if let Some(col) = m.sort() {
            parts.push(format!("sorted by {}", col.title().to_lowercase()));
        }
        if !m.marks().is_empty() {
            parts.push(format!("{}/{MAX_MARKS} marked", m.marks().len()));
        }
    }
    let right = if parts.is_empty() {
        String::new()
    } else {
        format!("{} ", parts.join(" · "))
    };
    let right_width = Span::raw(right.as_str()).width() as u16;
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right_width)]).areas(area);

    let editor_note = app.editor.as_ref().and_then(|e| e.note.as_ref());
    let left = match (app.mode, &app.message) {
        (_, _) if editor_note.is_some() => {
            let note = editor_note.expect("checked");
            Line::from(Span::styled(
                format!(" {}", note.text),
                if note.error { t.error } else { t.text },
            ))
        }
        (Mode::Filter, _) => Line::from(vec![
            Span::styled(" /", t.key),
            Span::styled(app.matrix.filter().to_string(), t.text),
            Span::styled("▏", t.key),
            Span::styled("  Enter keep · Esc clear", t.dim),
        ]),
        (_, Some(msg)) => Line::from(Span::styled(
            format!(" {}", msg.text),
            if msg.error { t.error } else { t.text },
        )),
        _ => {
            // Whole hints only, as many as fit beside the right-hand text.
            let room = left_area.width.saturating_sub(1) as usize;
            let mut spans = vec![Span::raw(" ")];
            let mut used = 1;
            for b in keymap::bindings_here(app.context()) {
                if let Some(word) = b.hint {
                    let key = Span::styled(b.key_label(), t.key);
                    let text = Span::styled(format!(" {word}  "), t.dim);
                    used += key.width() + text.width();
                    if used > room + 2 {
                        break;
                    }
                    spans.extend([key, text]);
                }
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(left).style(t.status), left_area);
    frame.render_widget(
        Paragraph::new(right).style(t.status.patch(t.dim)),
        right_area,
    );
}
