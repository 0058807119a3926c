//! The views of the workbench, a folder each (modelled on `tui/editor/`): the view's state,
//! which owns what its actions (`on_action`) and its engine's updates (`on_update`) do to it;
//! its drawing (`draw.rs`, from `&State` and the theme); its keys (`keys.rs`, its slice of the
//! one keymap). Here: what a view says while it has nothing to show.

pub mod builds;
pub mod cluster;
pub mod matrix;
pub mod tests;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::tui::app::View;
use crate::tui::theme::Theme;

/// What a view says while it has nothing to show: a headline, what will appear there, and how
/// to get it headless. `None` for the Matrix view, which always has its data.
pub fn empty_text(view: View) -> Option<[&'static str; 3]> {
    match view {
        View::Matrix => None,
        View::Builds => Some([
            "No builds yet.",
            "Select a variant in the Matrix view and press b to build it: quick makes a bootable \
             Debian test image from Debian's packages (qemuamd64), isar runs kas-container, \
             nixos runs nix build. Each build shows its exact commands, its live output and its \
             progress here, and keeps every byte of its log.",
            "Headless: `n3x build --variant ID --backend quick` (add --dry-run to see the \
             commands first); `n3x build --list` shows past builds.",
        ]),
        View::Cluster => Some([
            "No cluster running.",
            "Press u to boot the cluster of the profile of the variant selected in the Matrix \
             view: a vde switch per segment and a QEMU per node from the quick image (built \
             once, about a minute), each node's serial console here; a attaches to it.",
            "Headless: `n3x cluster up --profile vlans` (Ctrl-C tears it down); then \
             `n3x exec NODE -- CMD`, `n3x console NODE`, `n3x link NODE eth1 down`.",
        ]),
        View::Tests => Some([
            "No tests in the catalog.",
            "The catalog is made from the network profiles: cluster-<profile> for simple, vlans, \
             bonding-vlans and dhcp-simple, network-<profile> for each profile, bond-failover and \
             vlan-negative. These profiles have none of them.",
            "Headless: `n3x test --list` shows the catalog; `n3x test NAME --batch --junit \
             report.xml` runs a test.",
        ]),
    }
}

/// Draws the empty state of `view` (nothing for a view that has its data).
pub fn empty(frame: &mut Frame, t: &Theme, view: View, area: Rect) {
    let Some([headline, coming, today]) = empty_text(view) else {
        return;
    };
    let text = vec![
        Line::from(Span::styled(headline, t.heading)),
        Line::raw(""),
        Line::from(Span::styled(coming, t.text)),
        Line::raw(""),
        Line::from(Span::styled(today, t.dim)),
    ];
    let block = Block::bordered()
        .title(Span::styled(format!(" {} ", view.title()), t.heading))
        .border_style(t.border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width.min(72);
    let body = Rect::new(
        inner.x + (inner.width - width) / 2,
        inner.y + inner.height.min(2),
        width,
        inner.height.saturating_sub(2),
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), body);
}
