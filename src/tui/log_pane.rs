//! A pane of output lines that follows the end or stays where the user scrolled, with a
//! search: the Builds view's log and the Cluster view's console share it. `f` follows or
//! pauses, `K`/`J`/PgUp/PgDn scroll (and pause), `/` searches, `n`/`N` jump between matches.

use std::collections::VecDeque;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::keymap::Action;
use crate::tui::theme::Theme;

/// No lines (for a pane with nothing selected).
pub static NO_LINES: VecDeque<String> = VecDeque::new();

/// Lines a page scroll moves.
pub const PAGE: isize = 10;

/// Where a log pane reads: the end (following) or lines up from it (paused), and its search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogView {
    /// The pane stays where the user scrolled (else it follows the output).
    pub paused: bool,
    /// Lines scrolled up from the end, while paused.
    pub scroll: usize,
    /// The search text (matches are highlighted; `n`/`N` jump).
    pub search: String,
    /// The search is being typed.
    pub searching: bool,
}

/// What a key did to a log pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The action is not one of the pane's.
    NotMine,
    /// Done; redraw.
    Done,
    /// The search is being typed now (the caller switches to its search mode).
    Searching,
    /// The search ended (Enter or Esc).
    SearchDone,
    /// Something to tell the user.
    Tell(String),
}

impl LogView {
    /// Back to the end of the output (another build or node was selected).
    pub fn to_end(&mut self) {
        self.scroll = 0;
    }

    /// Scrolls up (positive) or down by `delta` lines of `len`; scrolling up pauses.
    pub fn scroll_by(&mut self, len: usize, delta: isize) {
        self.scroll = self
            .scroll
            .saturating_add_signed(delta)
            .min(len.saturating_sub(1));
        if delta > 0 {
            self.paused = true;
        }
    }

    /// The indexes of the lines that contain the search text (ignoring case).
    pub fn matches(&self, lines: &VecDeque<String>) -> Vec<usize> {
        if self.search.is_empty() {
            return Vec::new();
        }
        let needle = self.search.to_lowercase();
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.to_lowercase().contains(&needle))
            .map(|(i, _)| i)
            .collect()
    }

    /// Jumps to the next match above the view (`older`) or below it, pausing the follow.
    /// Returns false when there is none.
    pub fn jump(&mut self, lines: &VecDeque<String>, older: bool) -> bool {
        let len = lines.len();
        let bottom = len.saturating_sub(1 + self.scroll);
        let matches = self.matches(lines);
        let target = if older {
            matches.iter().rev().find(|i| **i < bottom)
        } else {
            matches.iter().find(|i| **i > bottom)
        };
        match target {
            Some(i) => {
                self.scroll = len.saturating_sub(1 + i);
                self.paused = true;
                true
            }
            None => false,
        }
    }

    /// What the bottom border says.
    pub fn mode_hint(&self) -> &'static str {
        if self.paused {
            "paused: f follows"
        } else {
            "following: f pauses"
        }
    }

    /// Carries out one of the pane's actions on `lines`.
    pub fn action(&mut self, lines: &VecDeque<String>, action: Action) -> Outcome {
        match action {
            Action::DetailUp => self.scroll_by(lines.len(), PAGE),
            Action::DetailDown => self.scroll_by(lines.len(), -PAGE),
            Action::Follow => {
                self.paused = !self.paused;
                if !self.paused {
                    self.scroll = 0;
                }
            }
            Action::Search => {
                self.search.clear();
                self.searching = true;
                return Outcome::Searching;
            }
            Action::NextMatch | Action::PrevMatch => {
                if self.search.is_empty() {
                    return Outcome::Tell("no search yet: / searches".into());
                }
                let older = action == Action::PrevMatch;
                if !self.jump(lines, older) {
                    return Outcome::Tell(format!(
                        "no {} match of \"{}\"",
                        if older { "older" } else { "newer" },
                        self.search
                    ));
                }
            }
            _ => return Outcome::NotMine,
        }
        Outcome::Done
    }

    /// A key while the search is typed.
    pub fn search_key(&mut self, lines: &VecDeque<String>, key: &KeyEvent) -> Outcome {
        match key.code {
            KeyCode::Esc => {
                self.search.clear();
                self.searching = false;
                return Outcome::SearchDone;
            }
            KeyCode::Enter => {
                self.searching = false;
                // The newest match: the line at the bottom of the pane, or one above it.
                let bottom = lines.len().checked_sub(1 + self.scroll);
                let at_bottom = bottom.is_some_and(|b| self.matches(lines).contains(&b));
                if at_bottom {
                    self.paused = true;
                } else if !self.search.is_empty() && !self.jump(lines, true) {
                    return Outcome::Tell(format!("\"{}\" is not in the kept lines", self.search));
                }
                return Outcome::SearchDone;
            }
            KeyCode::Backspace => {
                self.search.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.search.push(c)
            }
            _ => return Outcome::NotMine,
        }
        Outcome::Done
    }

    /// The footer line while the search is typed.
    pub fn search_line(&self, t: &Theme) -> Line<'static> {
        Line::from(vec![
            Span::styled(" /", t.key),
            Span::styled(self.search.clone(), t.text),
            Span::styled("▏", t.key),
            Span::styled("  Enter search · Esc cancel", t.dim),
        ])
    }
}

/// Draws the `lines` that fit `area`, ending `view.scroll` lines above the last; matches of
/// the search are marked; `first` (e.g. how many lines were not kept) heads the pane when its
/// start shows; `style` gives each other line its style.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    lines: &VecDeque<String>,
    view: &LogView,
    t: &Theme,
    first: Option<String>,
    style: impl Fn(&str) -> Style,
) {
    let height = usize::from(area.height);
    let end = lines.len().saturating_sub(view.scroll);
    let start = end.saturating_sub(height);
    let needle = view.search.to_lowercase();
    let mut out: Vec<Line> = Vec::new();
    if start == 0
        && let Some(first) = first
    {
        out.push(Line::styled(first, t.dim));
    }
    for line in lines.range(start..end) {
        if !needle.is_empty() && line.to_lowercase().contains(&needle) {
            out.push(Line::styled(line.clone(), t.marked));
        } else {
            out.push(Line::styled(line.clone(), style(line)));
        }
    }
    frame.render_widget(Paragraph::new(out), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> VecDeque<String> {
        (0..100)
            .map(|i| {
                let text = if i % 30 == 0 { "ERROR here" } else { "ok" };
                format!("{i} {text}")
            })
            .collect()
    }

    #[test]
    fn search_jumps_between_matches_and_pauses_following() {
        let lines = lines();
        let mut v = LogView {
            search: "error".into(),
            ..LogView::default()
        };
        assert_eq!(v.matches(&lines), [0, 30, 60, 90]);
        assert!(v.jump(&lines, true));
        assert!(v.paused);
        // Line 90 at the bottom of the view.
        assert_eq!(v.scroll, 9);
        assert!(v.jump(&lines, true));
        assert_eq!(v.scroll, 39);
        assert!(v.jump(&lines, false));
        assert_eq!(v.scroll, 9);
        assert!(!v.jump(&lines, false), "nothing newer");
    }

    #[test]
    fn keys_scroll_follow_and_search() {
        let lines = lines();
        let mut v = LogView::default();
        assert_eq!(v.action(&lines, Action::DetailUp), Outcome::Done);
        assert!(v.paused);
        assert_eq!(v.scroll, 10);
        assert_eq!(v.action(&lines, Action::Follow), Outcome::Done);
        assert_eq!(
            (v.paused, v.scroll),
            (false, 0),
            "following goes to the end"
        );
        assert_eq!(
            v.action(&lines, Action::NextMatch),
            Outcome::Tell("no search yet: / searches".into())
        );
        assert_eq!(v.action(&lines, Action::Search), Outcome::Searching);
        for c in "error".chars() {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            assert_eq!(v.search_key(&lines, &key), Outcome::Done);
        }
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(v.search_key(&lines, &enter), Outcome::SearchDone);
        assert_eq!(v.scroll, 9, "Enter jumps to the newest match");
        // A match on the bottom line itself: Enter pauses there.
        let mut at_end = lines.clone();
        at_end.push_back("the last ERROR".into());
        let mut v = LogView::default();
        v.action(&at_end, Action::Search);
        v.search = "last error".into();
        assert_eq!(v.search_key(&at_end, &enter), Outcome::SearchDone);
        assert_eq!((v.paused, v.scroll), (true, 0));
        assert_eq!(v.action(&lines, Action::Quit), Outcome::NotMine);
        v.search = "nowhere".into();
        assert_eq!(
            v.action(&lines, Action::PrevMatch),
            Outcome::Tell("no older match of \"nowhere\"".into())
        );
    }
}
