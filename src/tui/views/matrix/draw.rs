//! Drawing the Matrix view: the table of variants and the selected one's details, or the file
//! preview, or the diff of the marked variants.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::{Column, MatrixState, diff, preview};
use crate::tui::keymap::{self, Action, Pane};
use crate::tui::theme::Theme;
use crate::tui::views::matrix;

/// The detail pane's narrowest width beside the table.
const DETAIL_MIN_WIDTH: u16 = 48;
/// Marks the selected row.
const SELECTED: &str = "▶";
/// Marks the header of the column the rows are sorted by.
const SORTED: &str = "▲";
/// Space between table columns.
const SPACING: u16 = 1;
/// Width of the first column: `▶` on the selected row, a marked variant's `A` or `B`
/// (which wins on a row both selected and marked: the highlight shows the selection).
const MARK_WIDTH: u16 = 1;
/// Columns given up first when the table does not fit (their content is also in the variant ID).
const DROP_ORDER: [Column; 3] = [Column::Role, Column::Node, Column::Profile];

/// Draws the Matrix view into `area`: the table of variants and the selected one's details,
/// beside it when there is room, below it otherwise; or, when the focus is there, the file
/// preview or the diff of the marked variants.
pub fn draw(frame: &mut Frame, m: &MatrixState, t: &Theme, area: Rect) {
    match m.pane {
        Pane::Table => {}
        Pane::Files | Pane::Preview => return preview::draw(frame, m, t, area),
        Pane::Diff => return diff::draw(frame, m, t, area),
    }
    let widths: Vec<u16> = Column::ALL
        .iter()
        .map(|c| {
            m.all_rows()
                .iter()
                .map(|r| Span::raw(r.cells[c.index()].as_str()).width())
                .chain([Span::raw(c.title()).width() + Span::raw(SORTED).width()])
                .max()
                .unwrap_or(0) as u16
        })
        .collect();
    let table_width = |cols: &[Column]| {
        let cells: u16 = cols.iter().map(|c| widths[c.index()]).sum();
        cells + MARK_WIDTH + SPACING * cols.len() as u16 + 2
    };
    let choices: Vec<Vec<Column>> = (0..=DROP_ORDER.len())
        .map(|n| {
            Column::ALL
                .into_iter()
                .filter(|c| !DROP_ORDER[..n].contains(c))
                .collect()
        })
        .collect();

    let beside = choices
        .iter()
        .find(|cols| table_width(cols) + DETAIL_MIN_WIDTH <= area.width);
    let (cols, table_area, detail_area) = match beside {
        Some(cols) => {
            let [t, d] =
                Layout::horizontal([Constraint::Length(table_width(cols)), Constraint::Min(0)])
                    .areas(area);
            (cols.clone(), t, d)
        }
        None => {
            let cols = choices
                .iter()
                .find(|cols| table_width(cols) <= area.width)
                .unwrap_or(&choices[DROP_ORDER.len()])
                .clone();
            let rows = u16::try_from(m.all_rows().len()).unwrap_or(u16::MAX);
            let needed = rows.saturating_add(3);
            let detail_min = (area.height / 5 * 2).max(9);
            let table_height = needed.min(area.height.saturating_sub(detail_min));
            let [t, d] = Layout::vertical([Constraint::Length(table_height), Constraint::Min(0)])
                .areas(area);
            (cols, t, d)
        }
    };
    table(frame, m, t, &cols, &widths, table_area);
    details(frame, m, t, detail_area);
}

fn table(
    frame: &mut Frame,
    m: &MatrixState,
    t: &Theme,
    cols: &[Column],
    widths: &[u16],
    area: Rect,
) {
    let sorted = m.sort();
    let header = Row::new(std::iter::once(Cell::from("")).chain(cols.iter().map(|c| {
        let mark = if sorted == Some(*c) { SORTED } else { "" };
        Cell::from(format!("{}{mark}", c.title()))
    })))
    .style(t.header);
    let selected = m.selected_index();
    let rows: Vec<Row> = m
        .shown()
        .enumerate()
        .map(|(i, r)| {
            let label = m.mark_label(&r.variant.key());
            let mark = match label {
                Some(l) => Span::styled(l.to_string(), t.marked),
                None if i == selected => Span::raw(SELECTED),
                None => Span::raw(""),
            };
            let mark = Cell::from(mark);
            Row::new(std::iter::once(mark).chain(cols.iter().map(|c| {
                let text = r.cells[c.index()].as_str();
                let style = match (label, text == matrix::NOTHING) {
                    (Some(_), _) => t.marked,
                    (None, true) => t.dim,
                    (None, false) => t.text,
                };
                Cell::from(Span::styled(text.to_string(), style))
            })))
        })
        .collect();
    let empty = rows.is_empty();
    let title = format!(" Variants {}/{} ", m.shown().len(), m.all_rows().len());
    let table = Table::new(
        rows,
        std::iter::once(Constraint::Length(MARK_WIDTH))
            .chain(cols.iter().map(|c| Constraint::Length(widths[c.index()]))),
    )
    .header(header)
    .column_spacing(SPACING)
    .block(
        Block::bordered()
            .title(Span::styled(title, t.heading))
            .border_style(t.border),
    )
    .row_highlight_style(t.selected);
    // Rows visible: the area minus borders and header.
    let page = area.height.saturating_sub(3) as usize;
    m.page.set(page.max(1));
    let mut state = TableState::new()
        .with_offset(m.offset.get())
        .with_selected((!empty).then_some(m.selected_index()));
    frame.render_stateful_widget(table, area, &mut state);
    m.offset.set(state.offset());
    // The rows: inside the borders, below the header.
    let inner = Block::bordered().inner(area);
    m.table_area.set(Some(Rect {
        y: inner.y.saturating_add(1),
        height: inner.height.saturating_sub(1),
        ..inner
    }));
    if empty && area.height > 4 && area.width > 4 {
        let hint = Paragraph::new(format!(
            "No variant matches \"{}\". Esc clears the filter.",
            m.filter()
        ))
        .style(t.dim)
        .wrap(Wrap { trim: true });
        let inner = Rect::new(area.x + 2, area.y + 2, area.width - 4, area.height - 3);
        frame.render_widget(hint, inner);
    }
}

fn details(frame: &mut Frame, m: &MatrixState, t: &Theme, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    let width = area.width.saturating_sub(2) as usize;
    let title = match m.selected_variant() {
        Some(v) => {
            for section in matrix::details(m.profiles(), v) {
                lines.push(Line::from(Span::styled(section.title, t.heading)));
                for line in &section.lines {
                    lines.extend(
                        wrap(line, width, 2, 4)
                            .into_iter()
                            .map(|l| Line::from(Span::styled(l, t.text))),
                    );
                }
            }
            format!(" {} ", v.key())
        }
        None => {
            lines.push(Line::from(Span::styled("No variant selected.", t.dim)));
            " Details ".to_string()
        }
    };
    let inner_height = area.height.saturating_sub(2);
    let max_scroll = (lines.len() as u16).saturating_sub(1);
    m.detail_scroll.set(m.detail_scroll.get().min(max_scroll));
    let mut block = Block::bordered()
        .title(Span::styled(title, t.heading))
        .border_style(t.border);
    if lines.len() as u16 > inner_height || m.detail_scroll.get() > 0 {
        let keys: Vec<String> = [Action::DetailDown, Action::DetailUp]
            .iter()
            .filter_map(|a| keymap::all_bindings().find(|b| b.action == *a))
            .map(|b| b.key_label())
            .collect();
        block = block.title_bottom(Line::from(Span::styled(
            format!(" {} scroll ", keys.join("/")),
            t.dim,
        )));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((m.detail_scroll.get(), 0)),
        area,
    );
}

/// Breaks `text` into lines of at most `width` columns: the first indented by `first`, the
/// rest by `rest`. Breaks after a space or `:` where it can, else after `/` or `-`, else
/// anywhere.
pub fn wrap(text: &str, width: usize, first: usize, rest: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars: Vec<char> = text.chars().collect();
    let mut indent = first;
    loop {
        let room = width.saturating_sub(indent).max(1);
        let mut used = 0;
        let mut fits = 0;
        for c in &chars {
            used += Span::raw(c.to_string()).width();
            if used > room {
                break;
            }
            fits += 1;
        }
        if fits == chars.len() {
            out.push(format!(
                "{}{}",
                " ".repeat(indent),
                chars.iter().collect::<String>()
            ));
            return out;
        }
        let after_last = |set: &[char]| {
            chars[..fits]
                .iter()
                .rposition(|c| set.contains(c))
                .map(|i| i + 1)
        };
        let cut = after_last(&[' ', ':'])
            .or_else(|| after_last(&['/', '-']))
            .unwrap_or(fits.max(1));
        let head: String = chars.drain(..cut).collect();
        out.push(format!("{}{}", " ".repeat(indent), head.trim_end()));
        indent = rest;
    }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_breaks_at_separators_and_indents_continuations() {
        assert_eq!(wrap("kas/a.yml", 40, 2, 4), ["  kas/a.yml"]);
        assert_eq!(
            wrap("kas-container build kas/a.yml:kas/b.yml", 20, 2, 4),
            ["  kas-container", "    build kas/a.yml:", "    kas/b.yml"]
        );
        assert_eq!(
            wrap("isar-server-1-qemuamd64-initrd.img", 20, 2, 4),
            ["  isar-server-1-", "    qemuamd64-", "    initrd.img"]
        );
        assert_eq!(wrap("abcdefgh", 6, 2, 2), ["  abcd", "  efgh"]);
        // Never loops or panics when there is no room at all.
        assert_eq!(wrap("ab", 0, 2, 2), ["  a", "  b"]);
        assert_eq!(wrap("", 10, 2, 4), ["  "]);
    }
}
