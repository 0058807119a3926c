//! Styles of the workbench, in one place. The shipped themes are files under `themes/`
//! (read by [`crate::tui::theme_file`], found by [`crate::tui::themes`]); `themes/dark.yaml` is
//! [`Theme::dark`], written out.

use ratatui::style::{Color, Modifier, Style};

/// Every style the views use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Plain text.
    pub text: Style,
    /// Secondary text: hints, empty cells, explanations.
    pub dim: Style,
    /// Pane titles and section headings.
    pub heading: Style,
    /// Pane borders.
    pub border: Style,
    /// The tab of the current view.
    pub tab_active: Style,
    /// The tabs of the other views.
    pub tab_inactive: Style,
    /// Table column headers.
    pub header: Style,
    /// The selected row or palette entry.
    pub selected: Style,
    /// Key names in hints, help and palette.
    pub key: Style,
    /// The status bar's background.
    pub status: Style,
    /// Problems the user should see.
    pub error: Style,
    /// Things that went well (a finished build, a Ready node).
    pub ok: Style,
    /// Things that need attention but are not failures.
    pub warn: Style,
    /// Rows the user marked (e.g. two variants to compare).
    pub marked: Style,
    /// File previews: section headers (`[Network]`) and top-level keys.
    pub code_section: Style,
    /// File previews: keys.
    pub code_key: Style,
    /// File previews: values and strings.
    pub code_value: Style,
    /// File previews: comments.
    pub code_comment: Style,
    /// Diffs: added lines.
    pub diff_added: Style,
    /// Diffs: removed lines.
    pub diff_removed: Style,
    /// Diffs: hunk and file headers.
    pub diff_header: Style,
}

impl Theme {
    /// The default dark theme.
    pub fn dark() -> Theme {
        Theme {
            text: Style::new().fg(Color::Gray),
            dim: Style::new().fg(Color::DarkGray),
            heading: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            tab_active: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            tab_inactive: Style::new().fg(Color::Gray),
            header: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            selected: Style::new()
                .fg(Color::Black)
                .bg(Color::LightBlue)
                .add_modifier(Modifier::BOLD),
            key: Style::new()
                .fg(Color::LightYellow)
                .add_modifier(Modifier::BOLD),
            status: Style::new().bg(Color::Black),
            error: Style::new()
                .fg(Color::LightRed)
                .add_modifier(Modifier::BOLD),
            ok: Style::new().fg(Color::LightGreen),
            warn: Style::new().fg(Color::Yellow),
            marked: Style::new()
                .fg(Color::LightMagenta)
                .add_modifier(Modifier::BOLD),
            code_section: Style::new()
                .fg(Color::LightBlue)
                .add_modifier(Modifier::BOLD),
            code_key: Style::new().fg(Color::Cyan),
            code_value: Style::new().fg(Color::Gray),
            code_comment: Style::new().fg(Color::DarkGray),
            diff_added: Style::new().fg(Color::LightGreen),
            diff_removed: Style::new().fg(Color::LightRed),
            diff_header: Style::new().fg(Color::LightBlue),
        }
    }

    /// No colours at all, only bold, reverse and underline (for `NO_COLOR`).
    pub fn monochrome() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            text: Style::new(),
            dim: Style::new(),
            heading: bold,
            border: Style::new(),
            tab_active: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            tab_inactive: Style::new(),
            header: bold.add_modifier(Modifier::UNDERLINED),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            key: bold,
            status: Style::new(),
            error: bold,
            ok: Style::new(),
            warn: bold,
            marked: bold.add_modifier(Modifier::UNDERLINED),
            code_section: bold,
            code_key: Style::new(),
            code_value: Style::new(),
            code_comment: Style::new().add_modifier(Modifier::ITALIC),
            diff_added: Style::new(),
            diff_removed: Style::new(),
            diff_header: bold,
        }
    }

    /// [`Theme::monochrome`] when `NO_COLOR` holds a non-empty value (see no-color.org),
    /// [`Theme::dark`] otherwise.
    pub fn for_no_color(no_color: Option<&std::ffi::OsStr>) -> Theme {
        Theme::dark().unless_no_color(no_color)
    }

    /// This theme, or [`Theme::monochrome`] when `NO_COLOR` holds a non-empty value: no
    /// colours then, whatever theme was chosen.
    pub fn unless_no_color(self, no_color: Option<&std::ffi::OsStr>) -> Theme {
        match no_color {
            Some(v) if !v.is_empty() => Theme::monochrome(),
            _ => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn colours(t: &Theme) -> Vec<Option<Color>> {
        [
            t.text,
            t.dim,
            t.heading,
            t.border,
            t.tab_active,
            t.tab_inactive,
            t.header,
            t.selected,
            t.key,
            t.status,
            t.error,
            t.ok,
            t.warn,
            t.marked,
            t.code_section,
            t.code_key,
            t.code_value,
            t.code_comment,
            t.diff_added,
            t.diff_removed,
            t.diff_header,
        ]
        .iter()
        .flat_map(|s| [s.fg, s.bg])
        .collect()
    }

    #[test]
    fn no_color_means_no_colours() {
        let t = Theme::for_no_color(Some(OsStr::new("1")));
        assert!(colours(&t).iter().all(Option::is_none));
        assert_eq!(Theme::for_no_color(Some(OsStr::new(""))), Theme::dark());
        assert_eq!(Theme::for_no_color(None), Theme::dark());
        assert!(colours(&Theme::dark()).iter().any(Option::is_some));
    }
}
