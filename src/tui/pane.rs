//! A scrolled pane of styled text (the file preview, the diff): hard-wrapping styled lines to
//! the pane's width, the scroll position, and drawing the visible part with where it is.

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::tui::theme::Theme;

/// Where a scrolled pane is: its first line on screen and how many lines it showed last time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scroll {
    /// Index of the first line on screen (clamped when drawn).
    pub top: usize,
    /// Lines on screen at the last draw: the size of a page.
    pub page: usize,
}

impl Default for Scroll {
    fn default() -> Scroll {
        Scroll { top: 0, page: 10 }
    }
}

impl Scroll {
    /// Moves by `delta` lines (the bottom is found when drawn).
    pub fn by(&mut self, delta: isize) {
        self.top = self.top.saturating_add_signed(delta);
    }

    /// Moves by `pages` pages.
    pub fn by_pages(&mut self, pages: isize) {
        let page = isize::try_from(self.page.max(1)).unwrap_or(isize::MAX);
        self.by(pages.saturating_mul(page));
    }

    /// Goes to the top.
    pub fn first(&mut self) {
        self.top = 0;
    }

    /// Goes to the end (the last page, once drawn).
    pub fn last(&mut self) {
        self.top = usize::MAX;
    }

    /// Changes a scroll position kept in a cell (where drawing records it).
    pub fn change(cell: &Cell<Scroll>, f: impl FnOnce(&mut Scroll)) {
        let mut scroll = cell.get();
        f(&mut scroll);
        cell.set(scroll);
    }
}

fn char_width(c: char) -> usize {
    let mut buf = [0; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

/// Breaks a styled line into lines of at most `width` columns, keeping every span's style.
/// An empty line stays one empty line; a zero width is treated as one column.
pub fn wrap_line(line: &Line<'static>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    if line.width() <= width {
        return vec![line.clone()];
    }
    let mut out = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for span in &line.spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = char_width(c);
            if used + w > width && used > 0 {
                if !piece.is_empty() {
                    current.push(Span::styled(std::mem::take(&mut piece), span.style));
                }
                out.push(Line::from(std::mem::take(&mut current)).style(line.style));
                used = 0;
            }
            piece.push(c);
            used += w;
        }
        if !piece.is_empty() {
            current.push(Span::styled(piece, span.style));
        }
    }
    if !current.is_empty() || out.is_empty() {
        out.push(Line::from(current).style(line.style));
    }
    out
}

/// Shortens `text` to `width` columns by cutting its start (where paths say least), at a `/`
/// when one is left, marking the cut with `…`.
pub fn cut_start(text: &str, width: usize) -> String {
    if Span::raw(text).width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut kept = Vec::new();
    let mut used = 1;
    for c in text.chars().rev() {
        let w = char_width(c);
        if used + w > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    kept.reverse();
    if let Some(slash) = kept.iter().position(|c| *c == '/') {
        kept.drain(..slash);
    }
    std::iter::once('…').chain(kept).collect()
}

/// Draws `lines` (already as wide as the inside of `block`) in `block` at `area`, from
/// `scroll.top`, after clamping it so the last page is full; records the page size and the
/// clamped position in the cell, and shows where the view is in the bottom border when not
/// everything fits.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    block: Block<'static>,
    lines: Vec<Line<'static>>,
    cell: &Cell<Scroll>,
    theme: &Theme,
) {
    let height = block.inner(area).height as usize;
    let mut scroll = cell.get();
    scroll.page = height.max(1);
    scroll.top = scroll.top.min(lines.len().saturating_sub(height));
    cell.set(scroll);
    let total = lines.len();
    let block = if total > height && height > 0 {
        let last = (scroll.top + height).min(total);
        block.title_bottom(
            Line::from(Span::styled(
                format!(" {}–{last} of {total} ", scroll.top + 1),
                theme.dim,
            ))
            .right_aligned(),
        )
    } else {
        block
    };
    let visible: Vec<Line> = lines.into_iter().skip(scroll.top).take(height).collect();
    frame.render_widget(Paragraph::new(visible).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Style};

    #[test]
    fn wrapping_keeps_styles_and_every_character() {
        let red = Style::new().fg(Color::Red);
        let line = Line::from(vec![Span::raw("Name"), Span::styled("=eth1.200", red)]);
        let wrapped = wrap_line(&line, 6);
        let texts: Vec<String> = wrapped.iter().map(|l| l.to_string()).collect();
        assert_eq!(texts, ["Name=e", "th1.20", "0"]);
        assert_eq!(wrapped[0].spans[1].style, red);
        assert_eq!(wrapped[2].spans[0].style, red);
        assert_eq!(wrap_line(&Line::raw(""), 5).len(), 1);
        assert_eq!(
            wrap_line(&Line::raw("ab"), 0).len(),
            2,
            "zero width: one column"
        );
    }

    #[test]
    fn cutting_keeps_the_end_of_a_path() {
        assert_eq!(cut_start("rootfs/etc/hostname", 40), "rootfs/etc/hostname");
        assert_eq!(cut_start("rootfs/etc/hostname", 10), "…/hostname");
        assert_eq!(cut_start("rootfs/etc/hostname", 16), "…/etc/hostname");
        assert_eq!(cut_start("rootfs/etc/hostname", 6), "…tname");
        assert_eq!(cut_start("abc", 1), "…");
        assert_eq!(cut_start("abc", 0), "");
    }

    #[test]
    fn scrolling_stops_at_the_top() {
        let mut s = Scroll::default();
        s.by(-3);
        assert_eq!(s.top, 0);
        s.page = 20;
        s.by_pages(2);
        assert_eq!(s.top, 40);
        s.last();
        s.by(1);
        assert_eq!(s.top, usize::MAX, "the end is clamped when drawn");
        s.first();
        assert_eq!(s.top, 0);
    }
}
