//! Drawing the Builds view: the queue with state, progress, elapsed time and estimate; below
//! it the selected build's live pane (the program's own screen) or its log with the search.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use tui_term::widget::PseudoTerminal;

use super::{Build, BuildsState, Phase};
use crate::build::state::{Outcome, human};
use crate::tui::log_pane;
use crate::tui::theme::Theme;

/// Draws the Builds view into `area` (there is at least one build).
pub fn draw(frame: &mut Frame, state: &BuildsState, t: &Theme, area: Rect) {
    let rows = state.builds.len() as u16;
    let table_height = (rows + 3).min(area.height / 3).max(4);
    let [table, pane] =
        Layout::vertical([Constraint::Length(table_height), Constraint::Min(3)]).areas(area);
    draw_table(frame, state, t, table);
    draw_pane(frame, state, t, pane);
}

fn phase_style(t: &Theme, phase: Phase) -> Style {
    match phase {
        Phase::Queued => t.dim,
        Phase::Running => t.warn,
        Phase::Done(Outcome::Succeeded) => t.ok,
        Phase::Done(Outcome::Failed) => t.error,
        Phase::Done(_) => t.dim,
    }
}

/// A progress bar of `width` cells for `fraction`, with the percentage.
pub fn bar(fraction: Option<f64>, width: usize) -> String {
    match fraction {
        None => format!("{:width$}", "", width = width + 5),
        Some(f) => {
            let f = f.clamp(0.0, 1.0);
            let filled = (f * width as f64).round() as usize;
            format!(
                "{}{} {:>3}%",
                "█".repeat(filled),
                "░".repeat(width - filled),
                (f * 100.0).round() as u32
            )
        }
    }
}

fn draw_table(frame: &mut Frame, state: &BuildsState, t: &Theme, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(
                " Builds {} · {} active ",
                state.builds.len(),
                state.active()
            ),
            t.heading,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let variant_width = state
        .builds
        .iter()
        .map(|b| b.variant.len())
        .max()
        .unwrap_or(7)
        .clamp(7, 40);
    let bar_width = if inner.width > 110 { 20 } else { 10 };
    let mut lines = vec![Line::styled(
        format!(
            "  {:>3} {:<9} {:<variant_width$} {:<7} {:<w$} {}",
            "#",
            "STATE",
            "VARIANT",
            "BACKEND",
            "PROGRESS",
            "ELAPSED / EST",
            w = bar_width + 5
        ),
        t.header,
    )];
    let visible = inner.height.saturating_sub(1) as usize;
    let first = state.selected.saturating_sub(visible.saturating_sub(1));
    for (i, b) in state.builds.iter().enumerate().skip(first).take(visible) {
        let selected = i == state.selected;
        let elapsed = b.elapsed().map(human).unwrap_or_else(|| "-".into());
        let estimate = b
            .estimate
            .map(|e| format!(" / {}", human(e)))
            .unwrap_or_default();
        let spans = vec![
            Span::raw(if selected { "▶ " } else { "  " }),
            Span::raw(if b.past {
                "  · ".to_string()
            } else {
                format!("{:>3} ", b.no)
            }),
            Span::styled(format!("{:<9} ", b.phase.word()), phase_style(t, b.phase)),
            Span::raw(format!("{:<variant_width$} ", b.variant)),
            Span::raw(format!("{:<7} ", b.backend.name())),
            Span::styled(format!("{} ", bar(b.fraction(), bar_width)), t.key),
            Span::styled(format!("{elapsed}{estimate}"), t.dim),
        ];
        let line = Line::from(spans);
        lines.push(if selected {
            line.style(t.selected)
        } else {
            line
        });
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn pane_title(b: &Build) -> String {
    let step = match &b.step {
        Some((i, n, d)) => format!(" · step {}/{n}: {}", i + 1, d),
        None => String::new(),
    };
    format!(" {} ({}){step} ", b.variant, b.backend.name())
}

fn draw_pane(frame: &mut Frame, state: &BuildsState, t: &Theme, area: Rect) {
    let Some(b) = state.selected() else {
        return;
    };
    let mode = state.log.mode_hint();
    let mut title = pane_title(b);
    let max = usize::from(area.width.saturating_sub(4));
    if title.chars().count() > max {
        title = title
            .chars()
            .take(max.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(title, t.heading))
        .title_bottom(Line::styled(format!(" {mode} "), t.dim));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 {
        return;
    }
    let [body, footer] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    // The program's own screen while it runs and the user follows; the log otherwise.
    match (&b.child, state.log.paused) {
        (Some(child), false) => {
            let size = (body.height, body.width);
            let current = child.with_screen(|s| s.size());
            if size.0 > 0 && size.1 > 0 && current != size {
                // The program redraws for the pane's size (SIGWINCH).
                let _ = child.resize(size.0, size.1);
            }
            child.with_screen(|screen| {
                frame.render_widget(PseudoTerminal::new(screen), body);
            });
        }
        _ => draw_log(frame, state, t, body),
    }
    let footer_line = if state.log.searching {
        state.log.search_line(t)
    } else if let Some(e) = &b.error {
        Line::styled(format!(" {e}"), t.error)
    } else if let Some((line, _)) = &b.progress {
        Line::styled(format!(" {line}"), t.text)
    } else if !b.artifacts.is_empty() {
        Line::styled(
            format!(
                " {} artifacts: {}",
                b.artifacts.len(),
                b.artifacts
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            t.ok,
        )
    } else {
        Line::styled(
            format!(
                " {}",
                b.dir
                    .as_ref()
                    .map(|d| format!("logs: {}", d.display()))
                    .unwrap_or_else(|| "waiting for a free slot".into())
            ),
            t.dim,
        )
    };
    frame.render_widget(Paragraph::new(footer_line), footer);
}

fn draw_log(frame: &mut Frame, state: &BuildsState, t: &Theme, area: Rect) {
    let Some(b) = state.selected() else {
        return;
    };
    let first = (b.dropped > 0)
        .then(|| format!("… {} lines not kept here; o opens the full log", b.dropped));
    log_pane::draw(frame, area, &b.lines, &state.log, t, first, |line| {
        if line.starts_with("==> ") {
            t.heading
        } else if line.starts_with("n3x: ") {
            t.dim
        } else {
            t.text
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_the_fraction() {
        assert_eq!(bar(Some(0.5), 10), "█████░░░░░  50%");
        assert_eq!(bar(Some(1.5), 4), "████ 100%");
        assert_eq!(bar(None, 4), "         ");
    }
}
