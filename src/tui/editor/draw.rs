//! Drawing the profile editor: the text with a gutter marking problem lines, the problems,
//! the preview of the rendered changes, the key line, and the open question.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::check::{ChangeKind, Check};
use super::{Editor, Prompt};
use crate::tui::theme::Theme;

/// Draws the editor into `area`.
pub fn draw(frame: &mut Frame, editor: &mut Editor, theme: &Theme, area: Rect) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    let body = area;
    // Side by side where there is room for both; stacked otherwise.
    let direction = if body.width >= 100 {
        Direction::Horizontal
    } else {
        Direction::Vertical
    };
    let [text_area, side] = Layout::default()
        .direction(direction)
        .constraints([Constraint::Percentage(58), Constraint::Percentage(42)])
        .areas(body);
    draw_text(frame, editor, theme, text_area);
    draw_side(frame, editor, theme, side);
    if let Some(prompt) = editor.prompt {
        draw_prompt(frame, editor, theme, prompt, area);
    }
}

fn draw_text(frame: &mut Frame, editor: &mut Editor, theme: &Theme, area: Rect) {
    let modified = if editor.is_modified() {
        " ● modified"
    } else {
        ""
    };
    let title = Line::from(vec![
        Span::styled(format!(" {}", editor.shown_path().display()), theme.heading),
        Span::styled(format!("{modified} "), theme.warn),
    ]);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.width < 3 || inner.height == 0 {
        return;
    }
    let [gutter, text] =
        Layout::horizontal([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    editor.style(theme.text, theme.dim, Style::new());
    frame.render_widget(&editor.textarea, text);
    // The text area records its scroll position while drawing; mark the problem lines in view.
    let top = usize::from(editor.textarea.scroll_offset().0);
    let marks: Vec<Line> = (0..usize::from(gutter.height))
        .map(|row| {
            let line = top + row + 1;
            if editor.check.problem_lines().contains(&line) {
                Line::styled("▶", theme.error)
            } else {
                Line::raw("")
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(marks), gutter);
}

fn draw_side(frame: &mut Frame, editor: &Editor, theme: &Theme, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border);
    let (title, lines) = match &editor.check {
        Check::Valid(changes) if changes.is_empty() => (
            Line::from(vec![
                Span::styled(" ✓ valid ", theme.ok),
                Span::styled("· no rendered file changes ", theme.dim),
            ]),
            vec![Line::styled(
                "Edit the file: the rendered files it changes appear here as a diff.",
                theme.dim,
            )],
        ),
        Check::Valid(changes) => (
            Line::from(vec![
                Span::styled(" ✓ valid ", theme.ok),
                Span::styled(
                    format!(
                        "· {} rendered file{} change ",
                        changes.len(),
                        if changes.len() == 1 { "" } else { "s" }
                    ),
                    theme.heading,
                ),
            ]),
            changes
                .iter()
                .flat_map(|c| {
                    let label = match c.kind {
                        ChangeKind::Added => "added",
                        ChangeKind::Removed => "removed",
                        ChangeKind::Modified => "changed",
                    };
                    std::iter::once(Line::styled(
                        format!("{label}: {}", short_path(&c.path)),
                        theme.heading,
                    ))
                    // The file is named above; the diff's own ---/+++ headers repeat it.
                    .chain(
                        c.diff
                            .iter()
                            .filter(|l| {
                                !l.text().starts_with("--- ") && !l.text().starts_with("+++ ")
                            })
                            .map(|l| l.styled(theme)),
                    )
                    .chain(std::iter::once(Line::raw("")))
                })
                .collect(),
        ),
        Check::Invalid { here, elsewhere } => {
            let n = here.len() + elsewhere.len();
            let mut lines = Vec::new();
            for p in here.iter().chain(elsewhere) {
                let at = match (p.position, here.contains(p)) {
                    (Some((l, c)), true) => format!("{l}:{c} "),
                    (Some((l, c)), false) => format!("{}:{l}:{c} ", p.file.display()),
                    (None, false) => format!("{} ", p.file.display()),
                    (None, true) => String::new(),
                };
                let field = p
                    .field
                    .as_deref()
                    .map(|f| format!("{f}: "))
                    .unwrap_or_default();
                lines.push(Line::from(vec![
                    Span::styled(at, theme.error),
                    Span::styled(format!("{field}{}", p.message), theme.text),
                ]));
                lines.push(Line::styled(format!("  fix: {}", p.fix), theme.dim));
            }
            (
                Line::styled(
                    format!(" ✗ {n} problem{} ", if n == 1 { "" } else { "s" }),
                    theme.error,
                ),
                lines,
            )
        }
    };
    let paragraph = Paragraph::new(lines)
        .block(block.title(title))
        .wrap(Wrap { trim: false })
        .scroll((editor.preview_scroll, 0));
    frame.render_widget(paragraph, area);
}

/// A rendered path without the directories every kas node file shares.
fn short_path(path: &str) -> String {
    path.replace(
        "kas/meta-n3x/recipes-support/n3x-node-config/files/",
        "kas/…/files/",
    )
}

fn draw_prompt(frame: &mut Frame, editor: &Editor, theme: &Theme, prompt: Prompt, area: Rect) {
    let file = editor.shown_path().display().to_string();
    let (title, question, choices): (&str, String, &[(&str, &str)]) = match prompt {
        Prompt::Unsaved { quit } => (
            " unsaved changes ",
            format!(
                "{file} has unsaved changes. Save them before {}?",
                if quit { "quitting" } else { "closing" }
            ),
            &[("s", "save"), ("d", "discard"), ("Esc", "keep editing")],
        ),
        Prompt::SaveInvalid { .. } => (
            " save with problems? ",
            format!(
                "{file} has problems; n3x will not render from it until they are fixed. Save anyway?"
            ),
            &[("y", "save anyway"), ("n/Esc", "keep editing")],
        ),
    };
    let width = area.width.clamp(4, 64);
    let height = area.height.clamp(3, 7);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let mut choice_spans = Vec::new();
    for (key, what) in choices {
        choice_spans.push(Span::styled(format!(" {key}"), theme.key));
        choice_spans.push(Span::styled(format!(" {what} "), theme.text));
    }
    let text = vec![
        Line::styled(question, theme.text),
        Line::raw(""),
        Line::from(choice_spans),
    ];
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.warn)
                    .title(Span::styled(title, theme.warn)),
            )
            .style(theme.text),
        rect,
    );
}
