//! Drawing the Cluster view: a tile per node (state, addresses, uptime, QEMU CPU and memory)
//! and the selected node's serial console — live while following, its kept lines with the
//! search while paused — with a badge while it is attached.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tui_term::widget::PseudoTerminal;

use super::{ClusterState, NodeView, Owner, Phase};
use crate::build::state::human;
use crate::cluster::engine::NodeState;
use crate::cluster::procstat::rss_mib;
use crate::tui::log_pane;
use crate::tui::theme::Theme;

fn state_style(t: &Theme, state: &NodeState) -> Style {
    match state {
        NodeState::Ready(_) => t.ok,
        NodeState::Failed(_) => t.error,
        NodeState::Stopped => t.dim,
        _ => t.warn,
    }
}

/// The node's readiness stage (`k3s-service running`, `ready passed`) and a stand-in badge.
fn stage_span(t: &Theme, n: &NodeView) -> Span<'static> {
    use crate::readiness::Outcome;
    let Some(e) = &n.stage else {
        return Span::styled(format!("{:<22} ", ""), t.dim);
    };
    let style = match e.outcome {
        Outcome::Passed => t.ok,
        Outcome::Failed { .. } => t.error,
        Outcome::Running | Outcome::Waiting => t.warn,
        _ => t.dim,
    };
    let badge = if n.standin { " k3s STAND-IN" } else { "" };
    Span::styled(
        format!(
            "{:<22} ",
            format!("{} {}{badge}", e.stage.label(), e.outcome.word())
        ),
        style,
    )
}

/// Draws the Cluster view (there is or was a cluster).
pub fn draw(frame: &mut Frame, c: &ClusterState, t: &Theme, area: Rect) {
    // CPU use since the last frame (a reading less than half a second old keeps its figure).
    let cpu: Vec<Option<f64>> = c
        .nodes
        .iter()
        .map(|n| {
            let pid = n.console.as_ref()?.pid();
            n.cpu.sample(pid)
        })
        .collect();
    let rows = c.nodes.len().max(1) as u16;
    let tiles_height = (rows + 2).min(area.height / 2).max(3);
    let [tiles, pane] =
        Layout::vertical([Constraint::Length(tiles_height), Constraint::Min(3)]).areas(area);
    let phase = match &c.phase {
        Phase::Idle => "no cluster".to_string(),
        Phase::Starting => "starting".into(),
        Phase::Running => format!("{}/{} ready", c.ready(), c.nodes.len()),
        Phase::Stopping => "stopping".into(),
        Phase::Failed(_) => "failed".into(),
    };
    let owner = match c.owner {
        Owner::Here => String::new(),
        Owner::Other(pid) => format!(" · owned by n3x pid {pid}"),
    };
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(
                " Cluster {} · {phase}{owner} ",
                c.profile.as_deref().unwrap_or("-")
            ),
            t.heading,
        ));
    // The last note (a restart, a link, an error) on the left; the host's capacity, as the
    // engine found it before the launch, on the right in what the note leaves free.
    let border = usize::from(tiles.width.saturating_sub(2));
    let mut free = border;
    if let Some(last) = c.notes.back() {
        let style = if last.starts_with("warning:") {
            t.warn
        } else {
            t.dim
        };
        let text = fit(&format!(" {last} "), border);
        free = border.saturating_sub(text.chars().count() + 1);
        block = block.title_bottom(Line::styled(text, style));
    }
    if let Some(capacity) = c
        .notes
        .iter()
        .rev()
        .find(|n| n.starts_with("warning: CPU") || n.starts_with("warning: memory"))
        .or_else(|| c.notes.iter().rev().find(|n| n.starts_with("capacity:")))
        .filter(|n| Some(*n) != c.notes.back())
        .filter(|_| free >= MIN_CAPACITY_WIDTH)
    {
        let style = if capacity.starts_with("warning:") {
            t.warn
        } else {
            t.dim
        };
        block = block
            .title_bottom(Line::styled(fit(&format!(" {capacity} "), free), style).right_aligned());
    }
    let inner = block.inner(tiles);
    frame.render_widget(block, tiles);
    let mut lines = Vec::new();
    for (i, n) in c.nodes.iter().enumerate() {
        let addresses = match &n.state {
            NodeState::NetworkUp(a) | NodeState::Ready(a) => a.join(" "),
            NodeState::Failed(why) => why.clone(),
            _ => String::new(),
        };
        let memory = n
            .console
            .as_ref()
            .and_then(|c| rss_mib(c.pid()))
            .map(|m| format!("{m} MiB"))
            .unwrap_or_else(|| "-".into());
        let cpu = cpu[i]
            .map(|p| format!("{p:.0}% CPU"))
            .unwrap_or_else(|| "-".into());
        let links: Vec<String> = n
            .links_down
            .iter()
            .filter(|(_, down)| **down)
            .map(|(nic, _)| format!("{nic} down"))
            .collect();
        let line = Line::from(vec![
            Span::raw(if i == c.selected { "▶ " } else { "  " }),
            Span::styled(format!("{:<12} ", n.name), t.text),
            Span::styled(format!("{:<10} ", n.state.word()), state_style(t, &n.state)),
            Span::styled(format!("{:>6} ", human(n.started.elapsed())), t.dim),
            Span::styled(format!("{cpu:>9} "), t.dim),
            stage_span(t, n),
            Span::styled(format!("{memory:>8}  "), t.dim),
            Span::styled(
                format!(
                    "{}{}",
                    links.join(" "),
                    if links.is_empty() { "" } else { "  " }
                ),
                t.error,
            ),
            Span::styled(addresses, t.text),
        ]);
        lines.push(if i == c.selected && !c.attached {
            line.style(t.selected)
        } else {
            line
        });
    }
    if c.nodes.is_empty() {
        lines.push(Line::styled(
            c.notes.back().cloned().unwrap_or_default(),
            t.dim,
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);

    let Some(node) = c.selected() else {
        // No node yet: the progress of the image and the switches.
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border)
            .title(Span::styled(" Progress ", t.heading));
        let height = usize::from(pane.height.saturating_sub(2));
        let notes: Vec<Line> = c
            .notes
            .iter()
            .skip(c.notes.len().saturating_sub(height))
            .map(|n| Line::styled(n.clone(), t.text))
            .collect();
        let mut para = Paragraph::new(notes)
            .block(block)
            .wrap(Wrap { trim: false });
        if let Phase::Failed(why) = &c.phase {
            para = Paragraph::new(Line::styled(why.clone(), t.error))
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .border_style(t.error)
                        .title(Span::styled(" The cluster did not start ", t.error)),
                )
                .wrap(Wrap { trim: false });
        }
        frame.render_widget(para, pane);
        return;
    };
    if c.show_topology {
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(t.border)
            .title(Span::styled(
                " topology: switch ports, VLANs, packets (read every second) · t: console ",
                t.heading,
            ));
        let text = if c.topology.is_empty() {
            "reading the switches…".to_string()
        } else {
            c.topology.trim_start().to_string()
        };
        frame.render_widget(Paragraph::new(text).style(t.text).block(block), pane);
        return;
    }
    let (title, border) = if c.attached {
        (
            format!(" ⌨ {} receives the keys · Ctrl-] detaches ", node.name),
            t.warn,
        )
    } else {
        (
            format!(" console of {} · a attaches · R restarts ", node.name),
            t.border,
        )
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(
            title,
            if c.attached { t.warn } else { t.heading },
        ))
        .title_bottom(Line::styled(format!(" {} ", c.log.mode_hint()), t.dim));
    let inner = block.inner(pane);
    frame.render_widget(block, pane);
    if inner.height < 2 {
        return;
    }
    let [body, footer] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    // The console's screen while following (always while attached); its lines otherwise.
    match &node.console {
        Some(console) if !c.log.paused || c.attached => {
            console.fit(body.height, body.width);
            console.with_screen(|screen| frame.render_widget(PseudoTerminal::new(screen), body));
        }
        _ => {
            let first = (node.lines.len() == super::KEPT_LINES).then(|| {
                "… older lines are in the console log (n3x cluster status names it)".to_string()
            });
            log_pane::draw(frame, body, &node.lines, &c.log, t, first, |_| t.text);
        }
    }
    let footer_line = if c.log.searching {
        c.log.search_line(t)
    } else {
        let matches = c.log.matches(&node.lines).len();
        Line::styled(
            format!(
                " {} lines kept{}{} · f follow/pause · / search · K/J scroll",
                node.lines.len(),
                if node.dropped > 0 {
                    format!(" ({} fell behind: the console log has them)", node.dropped)
                } else {
                    String::new()
                },
                if c.log.search.is_empty() {
                    String::new()
                } else {
                    format!(" · {matches} match \"{}\" (n/N)", c.log.search)
                }
            ),
            t.dim,
        )
    };
    frame.render_widget(Paragraph::new(footer_line), footer);
}

/// Below this many free columns the capacity line is left out of the tiles' border.
const MIN_CAPACITY_WIDTH: usize = 16;

/// `text` in at most `width` columns, cut with `…` when longer.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width < 2 {
        return String::new();
    }
    let mut out: String = text.chars().take(width.saturating_sub(2)).collect();
    out.push_str("… ");
    out
}
