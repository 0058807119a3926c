//! Drawing the Cluster view: a tile per node (state, addresses, uptime, QEMU memory) and the
//! selected node's serial console, with a badge while it is attached.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tui_term::widget::PseudoTerminal;

use super::app::App;
use super::cluster::{Phase, rss_mib};
use super::theme::Theme;
use crate::build::state::human;
use crate::cluster::engine::NodeState;

fn state_style(t: &Theme, state: &NodeState) -> Style {
    match state {
        NodeState::Ready(_) => t.ok,
        NodeState::Failed(_) => t.error,
        NodeState::Stopped => t.dim,
        _ => t.warn,
    }
}

/// Draws the Cluster view (there is or was a cluster).
pub fn draw(frame: &mut Frame, app: &mut App, area: Rect) {
    let t = app.theme;
    let c = &app.cluster;
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
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.border)
        .title(Span::styled(
            format!(
                " Cluster {} · {phase} ",
                c.profile.as_deref().unwrap_or("-")
            ),
            t.heading,
        ));
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
            .child
            .as_ref()
            .and_then(|c| rss_mib(c.pid()))
            .map(|m| format!("{m} MiB"))
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
            Span::styled(
                format!("{:<10} ", n.state.word()),
                state_style(&t, &n.state),
            ),
            Span::styled(format!("{:>6} ", human(n.started.elapsed())), t.dim),
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
        (format!(" console of {} · a attaches ", node.name), t.border)
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(
            title,
            if c.attached { t.warn } else { t.heading },
        ));
    let inner = block.inner(pane);
    frame.render_widget(block, pane);
    if let Some(child) = &node.child {
        let size = (inner.height, inner.width);
        if size.0 > 0 && size.1 > 0 && child.with_screen(|s| s.size()) != size {
            let _ = child.resize(size.0, size.1);
        }
        child.with_screen(|screen| frame.render_widget(PseudoTerminal::new(screen), inner));
    }
}
