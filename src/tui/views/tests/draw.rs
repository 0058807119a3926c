//! Drawing the Tests view: the catalog with each test's last result on the left; on the right
//! the selected test's Boot-to-Ready swim-lane (live while it runs), where it stopped and why,
//! its checks, and each stage compared with the run before.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{TestRow, TestsState, maybe_secs};
use crate::scenario::history;
use crate::scenario::result::{Verdict, secs};
use crate::tui::theme::Theme;

/// Width of the catalog list.
const LIST_WIDTH: u16 = 46;

fn verdict_style(t: &Theme, v: Verdict) -> Style {
    match v {
        Verdict::Passed => t.ok,
        Verdict::Failed | Verdict::Error => t.error,
    }
}

fn outcome_style(t: &Theme, outcome: &str) -> Style {
    match outcome {
        "passed" => t.ok,
        "failed" => t.error,
        "running" => t.warn,
        _ => t.dim,
    }
}

/// Draws the Tests view into `area`.
pub fn draw(frame: &mut Frame, s: &TestsState, t: &Theme, area: Rect) {
    let [list, detail] =
        Layout::horizontal([Constraint::Length(LIST_WIDTH), Constraint::Min(20)]).areas(area);
    draw_list(frame, s, t, list);
    draw_detail(frame, s, t, detail);
}

fn draw_list(frame: &mut Frame, s: &TestsState, t: &Theme, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(format!(" Tests {} ", s.rows.len()), t.heading))
        .title_bottom(Line::from(Span::styled(
            " R run · c console at failure ",
            t.dim,
        )));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let height = inner.height as usize;
    let offset = s.selected.saturating_sub(height.saturating_sub(1));
    let lines: Vec<Line> = s
        .rows
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, r)| {
            let (word, style) = match (&r.live, &r.last) {
                (Some(_), _) => ("running".to_string(), t.warn),
                (None, Some(l)) => (l.verdict.word().to_string(), verdict_style(t, l.verdict)),
                (None, None) => ("never run".to_string(), t.dim),
            };
            let line = Line::from(vec![
                Span::raw(if i == s.selected { "▶ " } else { "  " }),
                Span::styled(format!("{:<23} ", r.def.name), t.text),
                Span::styled(format!("{word:<9} "), style),
                Span::styled(
                    r.last
                        .as_ref()
                        .filter(|_| r.live.is_none())
                        .map(|l| secs(l.duration))
                        .unwrap_or_default(),
                    t.dim,
                ),
            ]);
            if i == s.selected {
                line.style(t.selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_detail(frame: &mut Frame, s: &TestsState, t: &Theme, area: Rect) {
    let Some(row) = s.selected() else {
        return;
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(" {} · {} ", row.def.name, row.def.profile),
            t.heading,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![
        Line::from(Span::styled(row.def.summary.clone(), t.text)),
        Line::from(Span::styled(
            format!("nodes: {}", row.def.nodes.join(", ")),
            t.dim,
        )),
        Line::raw(""),
    ];
    status_lines(&mut lines, t, row);
    let width = (inner.width as usize).saturating_sub(16).max(10);
    swim_lane(&mut lines, t, row, width);
    checks_lines(&mut lines, t, row);
    comparison_lines(&mut lines, t, row);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn status_lines(lines: &mut Vec<Line<'static>>, t: &Theme, row: &TestRow) {
    if let Some(live) = &row.live {
        lines.push(Line::from(vec![
            Span::styled("running ", t.warn),
            Span::styled(live.note.clone(), t.dim),
        ]));
    } else if let Some(last) = &row.last {
        lines.push(Line::from(vec![
            Span::styled(
                last.verdict.word().to_string(),
                verdict_style(t, last.verdict),
            ),
            Span::styled(
                format!(
                    " in {} · {} · {}",
                    secs(last.duration),
                    last.backend,
                    last.started
                ),
                t.dim,
            ),
        ]));
        if let Some(f) = &last.failure {
            lines.push(Line::from(Span::styled(
                format!("{} stopped at {}", f.node, f.stage),
                t.error,
            )));
            lines.push(Line::from(Span::styled(
                format!("hint: {}", f.hint),
                t.text,
            )));
            for s in &f.signatures {
                lines.push(Line::from(Span::styled(
                    format!("signature {}: {} — fix: {}", s.id, s.title, s.fix),
                    t.warn,
                )));
            }
            if let Some((log, line)) = &f.console_log {
                lines.push(Line::from(Span::styled(
                    format!("console: {log} (line {line}); c shows it in the Cluster view"),
                    t.dim,
                )));
            }
        }
    } else {
        lines.push(Line::from(Span::styled(
            "never run here; R runs it (its cluster shows in the Cluster view)",
            t.dim,
        )));
    }
    lines.push(Line::raw(""));
}

fn swim_lane(lines: &mut Vec<Line<'static>>, t: &Theme, row: &TestRow, width: usize) {
    let timeline = TestsState::timeline(row);
    if timeline.is_empty() {
        return;
    }
    let (end, lanes) = history::lanes(timeline, width);
    lines.push(Line::from(Span::styled(
        format!("Boot to Ready (0 … {})", secs(end)),
        t.heading,
    )));
    for (node, spans) in lanes {
        let lane = timeline.iter().find(|n| n.node == node);
        let mut cells: Vec<(char, Style)> = vec![(' ', t.dim); width];
        for (a, b, stage) in &spans {
            let outcome = lane
                .and_then(|n| n.stages.iter().find(|s| &s.stage == stage))
                .map(|s| s.outcome.as_str())
                .unwrap_or("");
            for c in &mut cells[*a..=*b] {
                *c = (history::letter(stage), outcome_style(t, outcome));
            }
        }
        let mut out = vec![Span::styled(format!("{node:<12} "), t.text)];
        out.push(Span::styled("|", t.dim));
        out.extend(
            cells
                .into_iter()
                .map(|(c, s)| Span::styled(c.to_string(), s)),
        );
        out.push(Span::styled("|", t.dim));
        if lane.is_some_and(|n| n.standin) {
            out.push(Span::styled(" k3s stand-in", t.dim));
        }
        lines.push(Line::from(out));
    }
    lines.push(Line::from(Span::styled(
        history::LETTERS
            .iter()
            .map(|(l, c)| format!("{c}={l}"))
            .collect::<Vec<_>>()
            .join(" "),
        t.dim,
    )));
    lines.push(Line::raw(""));
}

fn checks_lines(lines: &mut Vec<Line<'static>>, t: &Theme, row: &TestRow) {
    let checks = match (&row.live, &row.last) {
        (Some(l), _) => &l.checks,
        (None, Some(r)) => &r.checks,
        _ => return,
    };
    if checks.is_empty() {
        return;
    }
    lines.push(Line::from(Span::styled("Checks", t.heading)));
    for c in checks {
        lines.push(Line::from(vec![
            Span::styled(
                if c.passed { "passed " } else { "FAILED " },
                if c.passed { t.ok } else { t.error },
            ),
            Span::styled(format!("{}: {}", c.name, c.detail), t.text),
        ]));
    }
    lines.push(Line::raw(""));
}

fn comparison_lines(lines: &mut Vec<Line<'static>>, t: &Theme, row: &TestRow) {
    let (Some(last), Some(before)) = (&row.last, &row.before) else {
        return;
    };
    if row.live.is_some() {
        return;
    }
    lines.push(Line::from(Span::styled(
        format!("Compared with the run of {}", before.started),
        t.heading,
    )));
    lines.push(Line::from(Span::styled(
        format!(
            "{:<12} {:<12} {:>8} {:>8} {:>8}",
            "NODE", "STAGE", "THIS", "LAST", "DELTA"
        ),
        t.header,
    )));
    for c in history::compare(last, Some(before)) {
        lines.push(Line::from(Span::styled(
            format!(
                "{:<12} {:<12} {:>8} {:>8} {:>8}{}",
                c.node,
                c.stage,
                maybe_secs(c.this),
                maybe_secs(c.last),
                c.delta(),
                if c.slower { "  slower" } else { "" }
            ),
            if c.slower { t.warn } else { t.text },
        )));
    }
}
