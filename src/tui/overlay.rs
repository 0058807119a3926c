//! The overlays: the `?` help and the `:` command palette, both read from the keymap.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::tui::app::App;
use crate::tui::keymap::{self, Binding, Scope};
use crate::tui::theme::Theme;

/// Space between the key column and the description.
const GAP: usize = 2;

/// A rectangle of at most `width`×`height`, centred in `area`.
fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

fn column<'a>(app: &App, title: String, bindings: &[&Binding], key_width: usize) -> Vec<Line<'a>> {
    let t = &app.theme;
    let mut lines = vec![Line::from(Span::styled(title, t.heading))];
    for b in bindings {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<key_width$}", b.keys_label()), t.key),
            Span::raw(" ".repeat(GAP)),
            Span::styled(b.description, t.text),
        ]));
    }
    lines
}

/// Draws the help overlay: every binding that works where the keys go now (the view, and in
/// the Matrix view the focused pane), global ones in their own column.
pub fn help(frame: &mut Frame, app: &mut App, area: Rect) {
    // Rows that do not fit scroll (j/k); the offset is kept within the list.
    let rows_fit = area.height.saturating_sub(4);
    let rows_needed = {
        let here = app.context();
        let all: Vec<&Binding> = keymap::bindings_here(here).collect();
        let global = all.iter().filter(|b| b.scope == Scope::Global).count();
        (global.max(all.len() - global) + 1 + usize::from(here.editing)) as u16
    };
    app.help_scroll = app.help_scroll.min(rows_needed.saturating_sub(rows_fit));
    let scroll = app.help_scroll;
    let more = rows_needed > rows_fit;
    let app: &App = app;
    let t = &app.theme;
    let here = app.context();
    let all: Vec<&Binding> = keymap::bindings_here(here).collect();
    let global: Vec<&Binding> = all
        .iter()
        .copied()
        .filter(|b| b.scope == Scope::Global)
        .collect();
    let local: Vec<&Binding> = all
        .iter()
        .copied()
        .filter(|b| b.scope != Scope::Global)
        .collect();
    let key_width = all
        .iter()
        .map(|b| Span::raw(b.keys_label()).width())
        .max()
        .unwrap_or(0);
    let desc_width = all.iter().map(|b| b.description.len()).max().unwrap_or(0);
    let col_width = (key_width + GAP + desc_width) as u16;
    let columns = if local.is_empty() || global.is_empty() {
        1
    } else {
        2
    };
    let rows = global.len().max(local.len()) as u16 + 1 + u16::from(here.editing);
    let width = col_width * columns + 3 * (columns - 1) + 4;
    let height = rows + 4;
    let rect = centred(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Keys · {} ", here.title()),
            t.heading,
        ))
        .title_bottom(Line::from(Span::styled(
            match (here.editing, more) {
                (true, false) => " F1 or Esc closes ",
                (true, true) => " j/k scroll · F1 or Esc closes ",
                (false, false) => " ? or Esc closes ",
                (false, true) => " j/k scroll · ? or Esc closes ",
            },
            t.dim,
        )))
        .border_style(t.border);
    let inner = block.inner(rect).inner(ratatui::layout::Margin::new(1, 1));
    frame.render_widget(block, rect);
    let global_lines = column(app, "Everywhere".into(), &global, key_width);
    if local.is_empty() {
        frame.render_widget(Paragraph::new(global_lines).scroll((scroll, 0)), inner);
    } else if global.is_empty() {
        let mut lines = column(app, here.title(), &local, key_width);
        lines.push(Line::styled("Every other key edits the text.", t.dim));
        frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
    } else {
        let [left, _, right] = Layout::horizontal([
            Constraint::Length(col_width),
            Constraint::Length(3),
            Constraint::Min(0),
        ])
        .areas(inner);
        let local_lines = column(app, here.title(), &local, key_width);
        frame.render_widget(Paragraph::new(global_lines).scroll((scroll, 0)), left);
        frame.render_widget(Paragraph::new(local_lines).scroll((scroll, 0)), right);
    }
}

/// A popup list that narrows as the user types: the palette and the file chooser.
struct Picker<'a> {
    title: &'a str,
    hint: &'a str,
    /// What stands before the typed text (`: `, `> `).
    prompt: &'a str,
    query: &'a str,
    /// What the list says when nothing matches.
    empty: &'a str,
    selected: usize,
    count: usize,
}

impl Picker<'_> {
    /// Draws the picker in `rect`; `item(i, width)` is the text of entry `i` for a list
    /// `width` cells wide.
    fn draw(
        &self,
        frame: &mut Frame,
        t: &Theme,
        rect: Rect,
        item: impl Fn(usize, usize) -> String,
    ) {
        frame.render_widget(Clear, rect);
        let block = Block::bordered()
            .title(Span::styled(self.title, t.heading))
            .title_bottom(Line::from(Span::styled(self.hint, t.dim)))
            .border_style(t.border);
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        let [query, _, list] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(inner);
        frame.render_widget(
            Line::from(vec![
                Span::styled(self.prompt, t.key),
                Span::styled(self.query, t.text),
                Span::styled("▏", t.key),
            ]),
            query,
        );
        if self.count == 0 {
            frame.render_widget(Paragraph::new(Span::styled(self.empty, t.dim)), list);
            return;
        }
        let visible = list.height.max(1) as usize;
        let first = self.selected.saturating_sub(visible - 1);
        let width = list.width as usize;
        let lines: Vec<Line> = (first..self.count.min(first + visible))
            .map(|i| {
                let style = if i == self.selected {
                    t.selected
                } else {
                    t.text
                };
                Line::from(Span::styled(item(i, width), style))
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), list);
    }
}

/// Draws the command palette: the query, the matching actions with their keys, the selection.
pub fn palette(frame: &mut Frame, app: &App, area: Rect) {
    let entries = app.palette_entries();
    let list_height = area.height.saturating_sub(6).clamp(1, 12);
    let picker = Picker {
        title: " Commands ",
        hint: " ↑↓ choose · Enter run · Esc close ",
        prompt: ": ",
        query: &app.palette.query,
        empty: " No action matches.",
        selected: app.palette.selected,
        count: entries.len(),
    };
    picker.draw(
        frame,
        &app.theme,
        centred(area, 56, list_height + 4),
        |i, width| {
            let b = entries[i];
            let key = b.key_label();
            let room = width.saturating_sub(Span::raw(key.as_str()).width() + 2);
            format!(" {:<room$}{key} ", b.description)
        },
    );
}

/// Draws the profile file chooser: the typed filter and the matching files.
pub fn chooser(frame: &mut Frame, app: &App, area: Rect) {
    let files = app.chooser.matches();
    let picker = Picker {
        title: " Edit a profile file ",
        hint: " type to narrow · ↑↓ choose · Enter edit · Esc close ",
        prompt: "> ",
        query: &app.chooser.query,
        empty: " No profile file matches.",
        selected: app.chooser.selected,
        count: files.len(),
    };
    let height = (files.len() as u16).clamp(1, 14) + 4;
    picker.draw(frame, &app.theme, centred(area, 56, height), |i, width| {
        format!(" {:<w$}", files[i].display(), w = width.saturating_sub(1))
    });
}

/// Draws the backend chooser for a build of the variant in [`App::backend_choice`].
pub fn backends(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let Some((variant, highlighted)) = &app.backend_choice else {
        return;
    };
    let choices = crate::tui::views::builds::actions::BACKENDS;
    let rect = centred(area, 70, choices.len() as u16 + 4);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Build {} with ", variant.key()),
            t.heading,
        ))
        .title_bottom(Line::from(Span::styled(
            " letter or ↑↓ Enter builds · Esc cancels ",
            t.dim,
        )))
        .border_style(t.border);
    let inner = block.inner(rect).inner(ratatui::layout::Margin::new(1, 1));
    frame.render_widget(block, rect);
    let lines: Vec<Line> = choices
        .iter()
        .enumerate()
        .map(|(i, (backend, key, what))| {
            let style = if i == *highlighted {
                t.selected
            } else {
                t.text
            };
            Line::from(vec![
                Span::styled(format!("{key} "), t.key),
                Span::styled(format!("{:<6} {what}", backend.name()), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Asks whether to quit while builds are queued or running (quitting cancels them).
pub fn confirm_quit(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let n = app.builds.active();
    let rect = centred(area, 64, 8);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(Span::styled(" Quit? ", t.warn))
        .border_style(t.warn);
    let inner = block.inner(rect).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, rect);
    let mut text = Vec::new();
    if n > 0 {
        text.push(Line::styled(
            format!(
                "{n} build{} still queued or running; quitting cancels {}.",
                if n == 1 { " is" } else { "s are" },
                if n == 1 { "it" } else { "them" }
            ),
            t.text,
        ));
    }
    if app.cluster_runs() {
        let profile = app.cluster.profile.as_deref().unwrap_or("-");
        text.push(Line::styled(
            match app.cluster.owner {
                crate::tui::views::cluster::Owner::Here => {
                    format!("The {profile} cluster runs here; quitting tears it down.")
                }
                crate::tui::views::cluster::Owner::Other(pid) => format!(
                    "The {profile} cluster belongs to n3x pid {pid}; it keeps running after you quit."
                ),
            },
            t.text,
        ));
    }
    text.push(Line::raw(""));
    text.push(Line::from(vec![
        Span::styled("y", t.key),
        Span::styled(" quit   ", t.text),
        Span::styled("any other key", t.key),
        Span::styled(" stay", t.text),
    ]));
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
}
