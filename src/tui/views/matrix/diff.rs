//! The diff of two marked variants: their kas chains, kas-container commands and Nix
//! attributes as small text diffs, then a unified diff (3 lines of context) of every rendered
//! file either of them has, with a summary of how many files differ. Building it is pure;
//! [`styled`] and [`draw`] turn it into lines and a pane.

use std::collections::BTreeMap;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Block;
use similar::{ChangeTag, TextDiff};

use super::MatrixState;
use crate::matrix::{self, Variant};
use crate::profile::Profiles;
use crate::render;
use crate::tui::pane::{self, Scroll};
use crate::tui::theme::Theme;

/// Lines of context around each change in a file's diff.
pub const CONTEXT: usize = 3;
/// Starts the rest of a line too long for the pane.
const CONTINUED: &str = "↪";

/// One line of a diff, by what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// A section's title, a file's `---`/`+++` line or a hunk's `@@` line.
    Header(String),
    /// A line only B has, with its `+`.
    Added(String),
    /// A line only A has, with its `-`.
    Removed(String),
    /// A line both have, with its leading space.
    Context(String),
    /// An explanation ("identical", an empty separator line).
    Note(String),
}

/// How the rendered files of two variants compare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files both have, with different contents.
    pub differ: usize,
    /// Files only A has.
    pub only_a: usize,
    /// Files only B has.
    pub only_b: usize,
    /// Files both have with the same contents.
    pub identical: usize,
}

impl Summary {
    /// The summary in words, e.g. `3 files differ · 1 only in A · 0 only in B · 8 identical`.
    pub fn text(&self) -> String {
        let files = if self.differ == 1 { "file" } else { "files" };
        format!(
            "{} {files} differ · {} only in A · {} only in B · {} identical",
            self.differ, self.only_a, self.only_b, self.identical
        )
    }
}

/// The diff of variant A (marked first) and variant B (marked second).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantDiff {
    /// A's key, `<id>@<machine>`.
    pub a: String,
    /// B's key.
    pub b: String,
    /// How their rendered files compare.
    pub summary: Summary,
    /// The small diffs, then every file's diff, then the identical files.
    pub lines: Vec<DiffLine>,
}

/// The rendered files of `v` by path (none for a variant without a node), or why not.
fn files(p: &Profiles, v: &Variant) -> Result<BTreeMap<String, String>, String> {
    match (&v.profile, &v.node) {
        (Some(profile), Some(node)) => render::render_node(p, profile, node)
            .map(|files| files.into_iter().map(|f| (f.path, f.contents)).collect())
            .map_err(|e| format!("cannot render {}: {e}", v.key())),
        _ => Ok(BTreeMap::new()),
    }
}

/// Compares `a` and `b`.
pub fn build(p: &Profiles, a: &Variant, b: &Variant) -> VariantDiff {
    let mut lines = Vec::new();
    lines.extend(small(
        "kas chain",
        &matrix::overlay_chain(p, a),
        &matrix::overlay_chain(p, b),
    ));
    lines.extend(small(
        "kas-container command (one line per overlay)",
        &command_lines(p, a),
        &command_lines(p, b),
    ));
    lines.extend(small(
        "Nix attribute",
        &[matrix::nix_attr_path(a)],
        &[matrix::nix_attr_path(b)],
    ));
    let mut summary = Summary::default();
    let (files_a, files_b) = match (files(p, a), files(p, b)) {
        (Ok(fa), Ok(fb)) => (fa, fb),
        (fa, fb) => {
            for problem in [fa.err(), fb.err()].into_iter().flatten() {
                lines.push(DiffLine::Note(problem));
            }
            return VariantDiff {
                a: a.key(),
                b: b.key(),
                summary,
                lines,
            };
        }
    };
    lines.push(DiffLine::Header("rendered files".into()));
    if files_a.is_empty() && files_b.is_empty() {
        lines.push(DiffLine::Note(
            "  neither variant has per-node files (no network profile or node)".into(),
        ));
    }
    let mut paths: Vec<&String> = files_a.keys().chain(files_b.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut identical = Vec::new();
    for path in paths {
        let (old, new) = (files_a.get(path), files_b.get(path));
        match (old, new) {
            (Some(x), Some(y)) if x == y => {
                identical.push(path.clone());
                continue;
            }
            (Some(_), Some(_)) => summary.differ += 1,
            (Some(_), None) => summary.only_a += 1,
            _ => summary.only_b += 1,
        }
        let label = |side: &str, has: bool| {
            if has {
                format!("{side}/{path}")
            } else {
                "/dev/null".to_string()
            }
        };
        if summary.differ + summary.only_a + summary.only_b > 1 {
            lines.push(DiffLine::Note(String::new()));
        }
        lines.extend(unified(
            old.map_or("", String::as_str),
            new.map_or("", String::as_str),
            &label("a", old.is_some()),
            &label("b", new.is_some()),
        ));
    }
    summary.identical = identical.len();
    if !identical.is_empty() {
        lines.push(DiffLine::Note(String::new()));
        lines.push(DiffLine::Header("identical files".into()));
        lines.extend(
            identical
                .into_iter()
                .map(|p| DiffLine::Note(format!("  {p}"))),
        );
    }
    VariantDiff {
        a: a.key(),
        b: b.key(),
        summary,
        lines,
    }
}

/// The kas-container command broken after each `:`, so a diff shows the overlays that differ
/// rather than two whole commands.
fn command_lines(p: &Profiles, v: &Variant) -> Vec<String> {
    matrix::kas_container_argv(p, v)
        .join(" ")
        .split_inclusive(':')
        .map(str::to_string)
        .collect()
}

/// A titled diff of two short lists of lines, every line shown; the title says when they are
/// identical.
fn small(title: &str, a: &[String], b: &[String]) -> Vec<DiffLine> {
    if a == b {
        let mut out = vec![DiffLine::Header(format!("{title}: identical"))];
        out.extend(a.iter().map(|l| DiffLine::Context(format!(" {l}"))));
        return out;
    }
    let mut out = vec![DiffLine::Header(title.to_string())];
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    let diff = TextDiff::from_slices(&a, &b);
    out.extend(diff.iter_all_changes().map(|c| change(c.tag(), c.value())));
    out
}

fn change(tag: ChangeTag, value: &str) -> DiffLine {
    let value = value.trim_end_matches(['\n', '\r']);
    match tag {
        ChangeTag::Delete => DiffLine::Removed(format!("-{value}")),
        ChangeTag::Insert => DiffLine::Added(format!("+{value}")),
        ChangeTag::Equal => DiffLine::Context(format!(" {value}")),
    }
}

/// The unified diff of two texts with [`CONTEXT`] lines of context, as lines.
pub fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(old, new);
    let mut out = vec![
        DiffLine::Header(format!("--- {old_label}")),
        DiffLine::Header(format!("+++ {new_label}")),
    ];
    for hunk in diff.unified_diff().context_radius(CONTEXT).iter_hunks() {
        out.push(DiffLine::Header(hunk.header().to_string()));
        out.extend(hunk.iter_changes().map(|c| change(c.tag(), c.value())));
    }
    out
}

/// The diff as styled lines: the summary first, then every line in its style.
pub fn styled(diff: &VariantDiff, t: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![
        Line::from(Span::styled(diff.summary.text(), t.heading)),
        Line::from(vec![
            Span::styled("A ", t.marked),
            Span::styled(diff.a.clone(), t.text),
            Span::styled("   B ", t.marked),
            Span::styled(diff.b.clone(), t.text),
        ]),
        Line::raw(""),
    ];
    out.extend(diff.lines.iter().map(|l| l.styled(t)));
    out
}

impl DiffLine {
    /// The line's text, with its `+`, `-` or space.
    pub fn text(&self) -> &str {
        match self {
            DiffLine::Header(s)
            | DiffLine::Added(s)
            | DiffLine::Removed(s)
            | DiffLine::Context(s)
            | DiffLine::Note(s) => s,
        }
    }

    /// The line in the theme's diff styles.
    pub fn styled(&self, t: &Theme) -> Line<'static> {
        let style = match self {
            DiffLine::Header(_) => t.diff_header,
            DiffLine::Added(_) => t.diff_added,
            DiffLine::Removed(_) => t.diff_removed,
            DiffLine::Context(_) => t.text,
            DiffLine::Note(_) => t.dim,
        };
        Line::from(Span::styled(self.text().to_string(), style))
    }
}

/// The diff pane's state: the diff and where it is scrolled to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffState {
    /// The diff on screen.
    pub diff: VariantDiff,
    /// The scroll position (clamped and recorded when drawn).
    pub scroll: std::cell::Cell<Scroll>,
}

/// Draws the diff of the two marked variants over the whole of `area`.
pub fn draw(frame: &mut Frame, m: &MatrixState, t: &Theme, area: Rect) {
    let Some(state) = m.diff.as_ref() else {
        return;
    };
    let block = Block::bordered()
        .title(Span::styled(" Diff of the marked variants ", t.heading))
        .border_style(t.heading);
    // Continued lines start with a dim `↪` where a diff line has its `-`, `+` or space.
    let width = (block.inner(area).width as usize).saturating_sub(1);
    let lines: Vec<Line<'static>> = styled(&state.diff, t)
        .iter()
        .flat_map(|l| {
            pane::wrap_line(l, width)
                .into_iter()
                .enumerate()
                .map(|(i, mut piece)| {
                    if i > 0 {
                        piece.spans.insert(0, Span::styled(CONTINUED, t.dim));
                    }
                    piece
                })
        })
        .collect();
    pane::draw(frame, area, block, lines, &state.scroll, t);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> Profiles {
        Profiles::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles"))
            .expect("the shipped profiles are valid")
    }

    fn variant(p: &Profiles, key: &str) -> Variant {
        matrix::variants(p)
            .into_iter()
            .find(|v| v.key() == key)
            .unwrap()
    }

    #[test]
    fn a_unified_diff_has_headers_hunks_and_three_lines_of_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        let lines = unified(old, new, "a/f", "b/f");
        use DiffLine::*;
        assert_eq!(
            lines,
            [
                Header("--- a/f".into()),
                Header("+++ b/f".into()),
                Header("@@ -2,7 +2,7 @@".into()),
                Context(" 2".into()),
                Context(" 3".into()),
                Context(" 4".into()),
                Removed("-5".into()),
                Added("+five".into()),
                Context(" 6".into()),
                Context(" 7".into()),
                Context(" 8".into()),
            ]
        );
        assert_eq!(unified("same\n", "same\n", "a", "b").len(), 2, "no hunks");
    }

    #[test]
    fn two_nodes_of_one_profile_differ_in_their_files_and_chains() {
        let p = shipped();
        let a = variant(&p, "server-vlans-server-1@qemuamd64");
        let b = variant(&p, "server-vlans-server-2@qemuamd64");
        let d = build(&p, &a, &b);
        let count = render::render_node(&p, "vlans", "server-1").unwrap().len();
        let s = d.summary;
        assert_eq!(s.only_a + s.only_b, 0, "same profile, same file names");
        assert_eq!(s.differ + s.identical, count);
        assert!(s.differ > 0 && s.identical > 0, "{s:?}");
        assert!(
            d.lines
                .contains(&DiffLine::Removed("-kas/node/server-1.yml".into()))
        );
        assert!(
            d.lines
                .contains(&DiffLine::Added("+kas/node/server-2.yml".into()))
        );
        assert!(d.lines.contains(&DiffLine::Context(" kas/base.yml".into())));
        // The command shows the overlay that differs, on its own line.
        assert!(d.lines.contains(&DiffLine::Context(
            " kas-container --isar build kas/base.yml:".into()
        )));
        assert!(
            d.lines
                .contains(&DiffLine::Added("+kas/node/server-2.yml".into()))
        );
        assert!(d.lines.contains(&DiffLine::Added(
            "+qemuamd64.server.vlans.\"server-2\"".into()
        )));
        assert!(
            d.lines
                .contains(&DiffLine::Header("--- a/rootfs/etc/hostname".into()))
        );
        assert!(d.lines.contains(&DiffLine::Removed("-server-1".into())));
        assert!(d.lines.contains(&DiffLine::Added("+server-2".into())));
        assert_eq!(
            d.summary.text(),
            format!(
                "{} files differ · 0 only in A · 0 only in B · {} identical",
                s.differ, s.identical
            )
        );
    }

    #[test]
    fn files_only_one_variant_has_are_diffed_against_nothing() {
        let p = shipped();
        let base = variant(&p, "base@qemuamd64");
        let server = variant(&p, "server-simple-server-1@qemuamd64");
        let d = build(&p, &base, &server);
        let count = render::render_node(&p, "simple", "server-1").unwrap().len();
        assert_eq!(
            d.summary,
            Summary {
                differ: 0,
                only_a: 0,
                only_b: count,
                identical: 0
            }
        );
        assert!(d.lines.contains(&DiffLine::Header("--- /dev/null".into())));
        assert!(
            d.lines
                .contains(&DiffLine::Header("+++ b/rootfs/etc/hostname".into()))
        );
        assert!(d.lines.contains(&DiffLine::Added("+server-1".into())));
        // Two base images: nothing to compare, and the diff says so.
        let arm = variant(&p, "base@qemuarm64");
        let d = build(&p, &base, &arm);
        assert_eq!(d.summary, Summary::default());
        assert!(
            d.lines
                .iter()
                .any(|l| matches!(l, DiffLine::Note(n) if n.contains("neither variant")))
        );
        assert!(
            d.lines
                .contains(&DiffLine::Removed("-kas/machine/qemu-amd64.yml".into()))
        );
    }

    #[test]
    fn styles_follow_the_kind_of_line() {
        let p = shipped();
        let t = Theme::dark();
        let a = variant(&p, "server-vlans-server-1@qemuamd64");
        let b = variant(&p, "server-vlans-server-2@qemuamd64");
        let lines = styled(&build(&p, &a, &b), &t);
        let style_of = |text: &str| {
            lines
                .iter()
                .find(|l| l.to_string() == text)
                .map(|l| l.spans[0].style)
        };
        assert!(lines[0].to_string().contains("files differ"));
        assert_eq!(style_of("-server-1"), Some(t.diff_removed));
        assert_eq!(style_of("+server-2"), Some(t.diff_added));
        assert_eq!(style_of("--- a/rootfs/etc/hostname"), Some(t.diff_header));
        assert_eq!(style_of(" kas/base.yml"), Some(t.text));
    }
}
