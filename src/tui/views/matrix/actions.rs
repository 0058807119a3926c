//! What the Matrix view's keys and clicks do in each of its panes: moving through the table,
//! the file list, the previewed file or the diff; going into a pane and back out; marking
//! variants and opening their diff.

use ratatui::layout::{Position, Rect};

use crate::tui::app::{App, Message, Update};
use crate::tui::keymap::{self, Action, Pane};
use crate::tui::pane::Scroll;
use crate::tui::views::matrix::MarkChange;
use crate::tui::views::matrix::diff::{self, DiffState};
use crate::tui::views::matrix::preview::{self, PreviewState};

/// Lines `J`/`K` scroll the details or the previewed file by.
const DETAIL_STEP: isize = 3;

impl App {
    /// Does what a Matrix view `action` means in the focused pane.
    pub(crate) fn matrix_action(&mut self, action: Action) -> Update {
        let m = &mut self.matrix;
        match (m.pane, action) {
            (_, Action::Open) => return self.open(),
            (_, Action::Back) => self.back(),
            (_, Action::Mark) => return self.mark(),
            (_, Action::Diff) => return self.show_diff(),
            (Pane::Table, Action::Up) => m.move_by(-1),
            (Pane::Table, Action::Down) => m.move_by(1),
            (Pane::Table, Action::PageUp) => m.move_by(-page(m.page)),
            (Pane::Table, Action::PageDown) => m.move_by(page(m.page)),
            (Pane::Table, Action::First) => m.first(),
            (Pane::Table, Action::Last) => m.last(),
            (Pane::Table, Action::DetailDown) => {
                m.detail_scroll = m.detail_scroll.saturating_add(DETAIL_STEP as u16)
            }
            (Pane::Table, Action::DetailUp) => {
                m.detail_scroll = m.detail_scroll.saturating_sub(DETAIL_STEP as u16)
            }
            (Pane::Files, Action::Up | Action::Down | Action::First | Action::Last) => {
                let count = self.file_count();
                let p = &mut self.matrix.preview;
                match action {
                    Action::Up => p.move_by(-1, count),
                    Action::Down => p.move_by(1, count),
                    Action::First => p.select(0, count),
                    _ => p.select(count, count),
                }
            }
            (Pane::Files | Pane::Preview, Action::DetailDown) => m.preview.scroll.by(DETAIL_STEP),
            (Pane::Files | Pane::Preview, Action::DetailUp) => m.preview.scroll.by(-DETAIL_STEP),
            (Pane::Files | Pane::Preview, _) => scroll(&mut m.preview.scroll, action),
            (Pane::Diff, _) => {
                if let Some(d) = m.diff.as_mut() {
                    scroll(&mut d.scroll, action)
                }
            }
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    /// How many files the selected variant previews.
    fn file_count(&self) -> usize {
        self.matrix
            .selected_variant()
            .and_then(|v| preview::files(self.profiles(), v).ok())
            .map_or(0, |f| f.len())
    }

    fn say(&mut self, text: String, error: bool) {
        self.message = Some(Message { text, error });
    }

    fn open(&mut self) -> Update {
        match self.matrix.pane {
            Pane::Table => {
                let Some(v) = self.matrix.selected_variant() else {
                    return Update::NOTHING;
                };
                match preview::files(self.profiles(), v) {
                    Ok(files) if files.is_empty() => {
                        let text = preview::no_files_text(v);
                        self.say(text, false);
                    }
                    Ok(_) => {
                        self.matrix.preview = PreviewState::default();
                        self.matrix.pane = Pane::Files;
                    }
                    Err(problem) => self.say(problem, true),
                }
            }
            Pane::Files if self.file_count() > 0 => self.matrix.pane = Pane::Preview,
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    fn back(&mut self) {
        self.matrix.pane = match self.matrix.pane {
            Pane::Preview => Pane::Files,
            Pane::Diff => {
                self.matrix.diff = None;
                Pane::Table
            }
            Pane::Table | Pane::Files => Pane::Table,
        };
    }

    fn mark(&mut self) -> Update {
        let diff_key = key_of(Action::Diff);
        let mark_key = key_of(Action::Mark);
        let text = match self.matrix.toggle_mark() {
            None => return Update::NOTHING,
            Some(MarkChange::Unmarked(key)) => format!("unmarked {key}"),
            Some(MarkChange::Marked(key)) if self.matrix.marks().len() == 1 => {
                format!("marked A: {key}; mark B with {mark_key}, then press {diff_key}")
            }
            Some(MarkChange::Marked(key)) => {
                format!("marked B: {key}; {diff_key} shows the diff")
            }
            Some(MarkChange::Replaced(old)) => format!(
                "marked B: {}; unmarked {old} (two at most)",
                self.matrix.marks().last().cloned().unwrap_or_default()
            ),
        };
        self.say(text, false);
        Update::REDRAW
    }

    fn show_diff(&mut self) -> Update {
        let marked = self.matrix.marked_variants();
        let [a, b] = marked[..] else {
            let text = format!(
                "mark two variants with {}, then {} shows their diff ({} marked now)",
                key_of(Action::Mark),
                key_of(Action::Diff),
                marked.len()
            );
            self.say(text, false);
            return Update::REDRAW;
        };
        let diff = diff::build(self.profiles(), a, b);
        self.matrix.diff = Some(DiffState {
            diff,
            scroll: Scroll::default(),
        });
        self.matrix.pane = Pane::Diff;
        Update::REDRAW
    }

    /// After the profiles changed: the diff is built again from them, or closed when its
    /// variants are gone.
    pub(crate) fn refresh_diff(&mut self) {
        if self.matrix.diff.is_none() {
            return;
        }
        let marked = self.matrix.marked_variants();
        match marked[..] {
            [a, b] => {
                let fresh = diff::build(self.profiles(), a, b);
                if let Some(d) = self.matrix.diff.as_mut() {
                    d.diff = fresh;
                }
            }
            _ => {
                self.matrix.diff = None;
                if self.matrix.pane == Pane::Diff {
                    self.matrix.pane = Pane::Table;
                }
            }
        }
    }

    /// Selects what a left click at (`column`, `row`) hit: a variant in the table, a file in
    /// the preview's list; a click on the previewed content focuses it.
    pub(crate) fn click(&mut self, column: u16, row: u16) -> Update {
        let at = Position::new(column, row);
        let hit = |area: Option<Rect>| area.filter(|a| a.contains(at)).map(|a| row - a.y);
        let m = &self.matrix;
        match m.pane {
            Pane::Table => {
                let Some(line) = hit(m.table_area) else {
                    return Update::NOTHING;
                };
                let index = m.offset + usize::from(line);
                if index >= m.shown().len() {
                    return Update::NOTHING;
                }
                self.matrix.select_row(index);
            }
            Pane::Files | Pane::Preview => {
                if let Some(line) = hit(m.preview.list_area) {
                    let index = m.preview.list_offset + usize::from(line);
                    let count = self.file_count();
                    if index >= count {
                        return Update::NOTHING;
                    }
                    self.matrix.preview.select(index, count);
                    self.matrix.pane = Pane::Files;
                } else if hit(m.preview.content_area).is_some() {
                    self.matrix.pane = Pane::Preview;
                } else {
                    return Update::NOTHING;
                }
            }
            Pane::Diff => return Update::NOTHING,
        }
        Update::REDRAW
    }
}

/// Moves a scrolled pane as `action` says.
fn scroll(s: &mut Scroll, action: Action) {
    match action {
        Action::Up => s.by(-1),
        Action::Down => s.by(1),
        Action::PageUp => s.by_pages(-1),
        Action::PageDown => s.by_pages(1),
        Action::First => s.first(),
        Action::Last => s.last(),
        _ => {}
    }
}

fn page(rows: usize) -> isize {
    isize::try_from(rows.max(1)).unwrap_or(isize::MAX)
}

/// The key shown for `action` in the table of variants.
fn key_of(action: Action) -> String {
    keymap::all_bindings()
        .find(|b| b.action == action)
        .map(|b| b.key_label())
        .unwrap_or_default()
}
