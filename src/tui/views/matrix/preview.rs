//! The file preview of the Matrix view: the selected variant's rendered files in a list beside
//! the highlighted file's content, tinted by its syntax, with line numbers, scrollable.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};

use super::MatrixState;
use crate::matrix::Variant;
use crate::profile::Profiles;
use crate::render::{self, RenderedFile};
use crate::tui::keymap::Pane;
use crate::tui::pane::{self, Scroll};
use crate::tui::theme::Theme;
use crate::tui::tint::tint;

/// Marks the highlighted file.
const SELECTED: &str = "▶ ";
/// The file list's narrowest width.
const LIST_MIN_WIDTH: u16 = 24;

/// The preview's state: which file is highlighted, where its content is scrolled to, and where
/// the list and the content were drawn last (for mouse clicks; the drawing records them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreviewState {
    /// Index of the highlighted file.
    pub file: usize,
    /// The content's scroll position.
    pub scroll: Cell<Scroll>,
    /// First file of the list on screen.
    pub list_offset: Cell<usize>,
    /// The list's rows on screen at the last draw.
    pub list_area: Cell<Option<Rect>>,
    /// The content pane on screen at the last draw.
    pub content_area: Cell<Option<Rect>>,
}

impl PreviewState {
    /// Highlights file `index` of `count` (clamped), from the top of its content.
    pub fn select(&mut self, index: usize, count: usize) {
        let index = index.min(count.saturating_sub(1));
        if index != self.file {
            self.file = index;
            Scroll::change(&self.scroll, |s| s.top = 0);
        }
    }

    /// Moves the highlight by `delta` files of `count`, stopping at the ends.
    pub fn move_by(&mut self, delta: isize, count: usize) {
        self.select(self.file.saturating_add_signed(delta), count);
    }
}

/// The per-node files rendered for `v`, sorted by path: none for a variant without a network
/// profile and node (the base images); an error in words when rendering fails.
pub fn files(p: &Profiles, v: &Variant) -> Result<Vec<RenderedFile>, String> {
    match (&v.profile, &v.node) {
        (Some(profile), Some(node)) => {
            render::render_node(p, profile, node).map_err(|e| format!("cannot render: {e}"))
        }
        _ => Ok(Vec::new()),
    }
}

/// What the preview says for a variant without per-node files.
pub fn no_files_text(v: &Variant) -> String {
    format!(
        "{} has no per-node files: it carries no network profile and no node. Variants with a node (server-… and agent-… with a profile) have networkd units, a k3s config and NixOS data.",
        v.key()
    )
}

/// The lines of a file's content: line numbers in a gutter, the text tinted, wrapped to
/// `width` columns.
pub fn content_lines(t: &Theme, file: &RenderedFile, width: usize) -> Vec<Line<'static>> {
    let tinted = tint(&file.path, &file.contents, t);
    let digits = tinted.len().max(1).to_string().len();
    let gutter = digits + 1;
    let room = width.saturating_sub(gutter).max(1);
    let mut out = Vec::new();
    for (n, line) in tinted.iter().enumerate() {
        for (i, mut piece) in pane::wrap_line(line, room).into_iter().enumerate() {
            let number = if i == 0 {
                format!("{:>digits$} ", n + 1)
            } else {
                " ".repeat(gutter)
            };
            piece.spans.insert(0, Span::styled(number, t.dim));
            out.push(piece);
        }
    }
    out
}

/// Draws the preview over the whole of `area`: the file list at the left, the highlighted
/// file's content at the right; the focused one has a bright border.
pub fn draw(frame: &mut Frame, m: &MatrixState, t: &Theme, area: Rect) {
    let (Some(variant), Some(files)) = (m.selected_variant(), m.files()) else {
        let text = Paragraph::new(Span::styled("No variant selected. Esc goes back.", t.dim))
            .block(Block::bordered().border_style(t.border));
        frame.render_widget(text, area);
        return;
    };
    let files = files.as_ref();
    let names: Vec<&str> = match files {
        Ok(files) => files.iter().map(|f| f.path.as_str()).collect(),
        Err(_) => Vec::new(),
    };
    let longest = names
        .iter()
        .map(|n| Span::raw(*n).width() as u16)
        .max()
        .unwrap_or(0);
    let list_width = (longest + 4)
        .max(LIST_MIN_WIDTH)
        .min(area.width / 5 * 2)
        .max(area.width.min(LIST_MIN_WIDTH));
    let [list_area, content_area] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(area);
    let focus = m.pane;
    let border = |pane: Pane| if focus == pane { t.heading } else { t.border };

    let list_block = Block::bordered()
        .title(Span::styled(format!(" {} ", variant.key()), t.heading))
        .border_style(border(Pane::Files));
    let inner = list_block.inner(list_area);
    let count = names.len();
    let file = m.preview.file.min(count.saturating_sub(1));
    let room = (inner.width as usize).saturating_sub(Span::raw(SELECTED).width());
    let items: Vec<ListItem> = names
        .iter()
        .map(|n| ListItem::new(Span::styled(pane::cut_start(n, room), t.text)))
        .collect();
    let mut state = ListState::default()
        .with_offset(m.preview.list_offset.get())
        .with_selected((count > 0).then_some(file));
    let list = List::new(items)
        .block(list_block)
        .highlight_style(t.selected)
        .highlight_symbol(SELECTED);
    frame.render_stateful_widget(list, list_area, &mut state);
    m.preview.list_offset.set(state.offset());
    m.preview.list_area.set(Some(inner));
    m.preview.content_area.set(Some(content_area));

    let content_block = Block::bordered().border_style(border(Pane::Preview));
    let width = content_block.inner(content_area).width as usize;
    let chosen = files.as_ref().ok().and_then(|f| f.get(file));
    match (files, chosen) {
        (_, Some(file)) => {
            let lines = content_lines(t, file, width);
            let block = content_block.title(Span::styled(format!(" {} ", file.path), t.heading));
            pane::draw(frame, content_area, block, lines, &m.preview.scroll, t);
        }
        (Err(problem), None) => frame.render_widget(
            Paragraph::new(Span::styled(problem.clone(), t.error))
                .wrap(Wrap { trim: true })
                .block(content_block),
            content_area,
        ),
        (Ok(_), None) => frame.render_widget(
            Paragraph::new(Span::styled(no_files_text(variant), t.dim))
                .wrap(Wrap { trim: true })
                .block(content_block),
            content_area,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix;

    fn shipped() -> Profiles {
        Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
            .expect("the shipped profiles are valid")
    }

    #[test]
    fn variants_with_a_node_preview_every_rendered_file_and_base_images_none() {
        let p = shipped();
        for v in matrix::variants(&p) {
            let got = files(&p, &v).unwrap();
            match (&v.profile, &v.node) {
                (Some(profile), Some(node)) => {
                    assert_eq!(got, render::render_node(&p, profile, node).unwrap());
                    let paths: Vec<&str> = got.iter().map(|f| f.path.as_str()).collect();
                    assert!(paths.contains(&"rootfs/etc/rancher/k3s/config.yaml"));
                    assert!(paths.contains(&"nixos.json"));
                    assert!(paths.iter().any(|p| p.ends_with(".network")));
                }
                _ => assert!(got.is_empty(), "{}", v.key()),
            }
        }
    }

    #[test]
    fn no_previewed_file_holds_a_token() {
        // The token is never rendered: files name the token file on the node, never a token.
        let p = shipped();
        for v in matrix::variants(&p) {
            for f in files(&p, &v).unwrap() {
                for line in f.contents.lines() {
                    let l = line.to_lowercase();
                    let names_token = ["token:", "token=", "k3s_token", "--token "]
                        .iter()
                        .any(|t| l.contains(t));
                    assert!(!names_token, "{} {}: {line}", v.key(), f.path);
                }
            }
        }
    }

    #[test]
    fn the_highlight_stays_within_the_files() {
        let mut s = PreviewState::default();
        Scroll::change(&s.scroll, |s| s.top = 7);
        s.move_by(3, 5);
        assert_eq!(
            (s.file, s.scroll.get().top),
            (3, 0),
            "a new file starts at its top"
        );
        s.move_by(10, 5);
        assert_eq!(s.file, 4);
        s.move_by(-10, 5);
        assert_eq!(s.file, 0);
        s.move_by(1, 0);
        assert_eq!(s.file, 0);
    }
}
