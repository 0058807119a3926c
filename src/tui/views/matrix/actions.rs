//! What the Matrix view's keys and clicks do in each of its panes: moving through the table,
//! the file list, the previewed file or the diff; going into a pane and back out; marking
//! variants and opening their diff; typing the filter.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};

use super::diff::{self, DiffState};
use super::preview::{self, PreviewState};
use super::{MarkChange, MatrixState};
use crate::tui::app::{Cx, Mode, Update};
use crate::tui::keymap::{self, Action, Pane};
use crate::tui::pane::Scroll;

/// Lines `J`/`K` scroll the details or the previewed file by.
const DETAIL_STEP: isize = 3;

impl MatrixState {
    /// Does what a Matrix view `action` means in the focused pane.
    pub fn on_action(&mut self, action: Action, cx: &mut Cx) -> Update {
        match (self.pane, action) {
            (_, Action::Open) => return self.open(cx),
            (_, Action::Back) => self.back(),
            (_, Action::Mark) => return self.mark(cx),
            (_, Action::Diff) => return self.show_diff(cx),
            (_, Action::Filter) => *cx.mode = Mode::Filter,
            (_, Action::ClearFilter) => self.set_filter(""),
            (_, Action::Sort) => self.cycle_sort(),
            (Pane::Table, Action::Up) => self.move_by(-1),
            (Pane::Table, Action::Down) => self.move_by(1),
            (Pane::Table, Action::PageUp) => self.move_by(-page(self.page.get())),
            (Pane::Table, Action::PageDown) => self.move_by(page(self.page.get())),
            (Pane::Table, Action::First) => self.first(),
            (Pane::Table, Action::Last) => self.last(),
            (Pane::Table, Action::DetailDown) => self
                .detail_scroll
                .set(self.detail_scroll.get().saturating_add(DETAIL_STEP as u16)),
            (Pane::Table, Action::DetailUp) => self
                .detail_scroll
                .set(self.detail_scroll.get().saturating_sub(DETAIL_STEP as u16)),
            (Pane::Files, Action::Up | Action::Down | Action::First | Action::Last) => {
                let count = self.file_count();
                let p = &mut self.preview;
                match action {
                    Action::Up => p.move_by(-1, count),
                    Action::Down => p.move_by(1, count),
                    Action::First => p.select(0, count),
                    _ => p.select(count, count),
                }
            }
            (Pane::Files | Pane::Preview, Action::DetailDown) => {
                Scroll::change(&self.preview.scroll, |s| s.by(DETAIL_STEP))
            }
            (Pane::Files | Pane::Preview, Action::DetailUp) => {
                Scroll::change(&self.preview.scroll, |s| s.by(-DETAIL_STEP))
            }
            (Pane::Files | Pane::Preview, _) => scroll(&self.preview.scroll, action),
            (Pane::Diff, _) => {
                if let Some(d) = &self.diff {
                    scroll(&d.scroll, action)
                }
            }
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    /// A key while the filter is typed.
    pub fn filter_key(&mut self, key: KeyEvent, cx: &mut Cx) -> Update {
        match key.code {
            KeyCode::Esc => {
                self.set_filter("");
                *cx.mode = Mode::Normal;
            }
            KeyCode::Enter => *cx.mode = Mode::Normal,
            KeyCode::Backspace => {
                let mut f = self.filter().to_string();
                f.pop();
                self.set_filter(&f);
            }
            KeyCode::Up => self.move_by(-1),
            KeyCode::Down => self.move_by(1),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let f = format!("{}{c}", self.filter());
                self.set_filter(&f);
            }
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    fn open(&mut self, cx: &mut Cx) -> Update {
        match self.pane {
            Pane::Table => {
                let Some(v) = self.selected_variant() else {
                    return Update::NOTHING;
                };
                let text = preview::no_files_text(v);
                match self.files().as_deref() {
                    Some(Ok(files)) if files.is_empty() => {
                        cx.tell(text, false);
                    }
                    Some(Ok(_)) => {
                        self.preview = PreviewState::default();
                        self.pane = Pane::Files;
                    }
                    Some(Err(problem)) => {
                        cx.tell(problem.clone(), true);
                    }
                    None => return Update::NOTHING,
                }
            }
            Pane::Files if self.file_count() > 0 => self.pane = Pane::Preview,
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    fn back(&mut self) {
        self.pane = match self.pane {
            Pane::Preview => Pane::Files,
            Pane::Diff => {
                self.diff = None;
                Pane::Table
            }
            Pane::Table | Pane::Files => Pane::Table,
        };
    }

    fn mark(&mut self, cx: &mut Cx) -> Update {
        let diff_key = key_of(Action::Diff);
        let mark_key = key_of(Action::Mark);
        let text = match self.toggle_mark() {
            None => return Update::NOTHING,
            Some(MarkChange::Unmarked(key)) => format!("unmarked {key}"),
            Some(MarkChange::Marked(key)) if self.marks().len() == 1 => {
                format!("marked A: {key}; mark B with {mark_key}, then press {diff_key}")
            }
            Some(MarkChange::Marked(key)) => {
                format!("marked B: {key}; {diff_key} shows the diff")
            }
            Some(MarkChange::Replaced(old)) => format!(
                "marked B: {}; unmarked {old} (two at most)",
                self.marks().last().cloned().unwrap_or_default()
            ),
        };
        cx.tell(text, false)
    }

    fn show_diff(&mut self, cx: &mut Cx) -> Update {
        let marked = self.marked_variants();
        let [a, b] = marked[..] else {
            let text = format!(
                "mark two variants with {}, then {} shows their diff ({} marked now)",
                key_of(Action::Mark),
                key_of(Action::Diff),
                marked.len()
            );
            return cx.tell(text, false);
        };
        let diff = diff::build(self.profiles(), a, b);
        self.diff = Some(DiffState {
            diff,
            scroll: Default::default(),
        });
        self.pane = Pane::Diff;
        Update::REDRAW
    }

    /// After the profiles changed: the diff is built again from them, or closed when its
    /// variants are gone.
    pub(super) fn refresh_diff(&mut self) {
        if self.diff.is_none() {
            return;
        }
        let marked = self.marked_variants();
        match marked[..] {
            [a, b] => {
                let fresh = diff::build(self.profiles(), a, b);
                if let Some(d) = self.diff.as_mut() {
                    d.diff = fresh;
                }
            }
            _ => {
                self.diff = None;
                if self.pane == Pane::Diff {
                    self.pane = Pane::Table;
                }
            }
        }
    }

    /// Selects what a left click at (`column`, `row`) hit: a variant in the table, a file in
    /// the preview's list; a click on the previewed content focuses it.
    pub fn click(&mut self, column: u16, row: u16) -> Update {
        let at = Position::new(column, row);
        let hit = |area: Option<Rect>| area.filter(|a| a.contains(at)).map(|a| row - a.y);
        match self.pane {
            Pane::Table => {
                let Some(line) = hit(self.table_area.get()) else {
                    return Update::NOTHING;
                };
                let index = self.offset.get() + usize::from(line);
                if index >= self.shown().len() {
                    return Update::NOTHING;
                }
                self.select_row(index);
            }
            Pane::Files | Pane::Preview => {
                if let Some(line) = hit(self.preview.list_area.get()) {
                    let index = self.preview.list_offset.get() + usize::from(line);
                    let count = self.file_count();
                    if index >= count {
                        return Update::NOTHING;
                    }
                    self.preview.select(index, count);
                    self.pane = Pane::Files;
                } else if hit(self.preview.content_area.get()).is_some() {
                    self.pane = Pane::Preview;
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
fn scroll(cell: &std::cell::Cell<Scroll>, action: Action) {
    Scroll::change(cell, |s| match action {
        Action::Up => s.by(-1),
        Action::Down => s.by(1),
        Action::PageUp => s.by_pages(-1),
        Action::PageDown => s.by_pages(1),
        Action::First => s.first(),
        Action::Last => s.last(),
        _ => {}
    })
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
