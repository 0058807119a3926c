//! The one table of actions and their keys.
//!
//! Key handling, the `?` help overlay, the `:` palette and the status-bar hints all read
//! [`TABLE_OF_KEYS`], so what the screen says a key does is what the key does. Each view
//! contributes its slice (`views/<view>/keys.rs`), written one line per binding with
//! [`bindings!`]. A binding applies everywhere, in one view, or in one [`Pane`] of the Matrix
//! view; [`Context`] says where the keys go right now.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::tui::app::View;
use crate::tui::views;

/// Everything a user can ask the workbench to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the workbench.
    Quit,
    /// Open or close the help overlay.
    Help,
    /// Open the command palette.
    Palette,
    /// Show the next view.
    NextView,
    /// Show the previous view.
    PrevView,
    /// Show one view.
    Show(View),
    /// Read the profiles from disk again.
    Reload,
    /// Select the previous row.
    Up,
    /// Select the next row.
    Down,
    /// Move the selection one page up.
    PageUp,
    /// Move the selection one page down.
    PageDown,
    /// Select the first row.
    First,
    /// Select the last row.
    Last,
    /// Start typing a filter.
    Filter,
    /// Drop the filter.
    ClearFilter,
    /// Sort by the next column.
    Sort,
    /// Scroll the detail pane down.
    DetailDown,
    /// Scroll the detail pane up.
    DetailUp,
    /// Go into what is selected: the variant's files, or the highlighted file's content.
    Open,
    /// Go back one step: from a file to the file list, from the list or the diff to the table.
    Back,
    /// Mark or unmark the selected variant for the diff.
    Mark,
    /// Show the diff of the two marked variants.
    Diff,
    /// Select what the mouse clicked (a variant, a file) or focus the pane it clicked.
    Click,
    /// Edit the profile file behind the selected variant (its network profile).
    Edit,
    /// Choose any profile file to edit.
    EditFile,
    /// Editor: save the file.
    Save,
    /// Editor: save the file and write the rendered kas/ and nixos/ trees.
    SaveRender,
    /// Editor: take back the last change.
    Undo,
    /// Editor: redo what was taken back.
    Redo,
    /// Editor: go to the next line with a problem.
    NextProblem,
    /// Editor: go to the previous line with a problem.
    PrevProblem,
    /// Editor: scroll the problems and rendered changes down.
    PreviewDown,
    /// Editor: scroll the problems and rendered changes up.
    PreviewUp,
    /// Editor: close the file (asks when there are unsaved changes).
    CloseEditor,
    /// Editor: quit n3x (asks when there are unsaved changes).
    QuitEditor,
    /// Build the selected variant with its default backend (quick for qemuamd64, else isar).
    Build,
    /// Build the selected variant with a backend the user picks.
    BuildWith,
    /// Builds: follow the output, or pause to scroll.
    Follow,
    /// Builds: search the log.
    Search,
    /// Builds: go to the next (newer) match.
    NextMatch,
    /// Builds: go to the previous (older) match.
    PrevMatch,
    /// Builds: cancel the selected build.
    CancelBuild,
    /// Builds: build the selected build's variant again.
    RetryBuild,
    /// Builds: open the full log of the selected build in a pager.
    OpenLog,
    /// Cluster: boot the cluster of the selected variant's profile.
    ClusterUp,
    /// Cluster: tear the cluster down.
    ClusterDown,
    /// Cluster: attach to the selected node's console.
    Attach,
    /// Cluster: set eth1's link down, or up again.
    LinkEth1,
    /// Cluster: set eth2's link down, or up again (the second bond member).
    LinkEth2,
    /// Cluster: reset the selected node (QMP).
    ResetNode,
    /// Cluster: kill the selected node's QEMU (QMP quit).
    KillNode,
    /// Cluster: show the topology (switch ports, VLANs, packets) or the console again.
    Topology,
    /// Cluster: stop the selected node's QEMU and start it again.
    RestartNode,
    /// Cluster: restart every node.
    RestartAll,
    /// Tests: run the selected test (its cluster shows in the Cluster view).
    RunTest,
    /// Tests: the failed node's console in the Cluster view, scrolled to the failure.
    ConsoleAtFailure,
}

impl Action {
    /// Whether the action belongs to the log pane under the list (scroll, follow, search).
    pub fn is_log_pane(self) -> bool {
        matches!(
            self,
            Action::DetailUp
                | Action::DetailDown
                | Action::Follow
                | Action::Search
                | Action::NextMatch
                | Action::PrevMatch
        )
    }
}

/// The parts of the Matrix view that take the keys in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    /// The table of variants, the selected one's details beside it.
    #[default]
    Table,
    /// The list of the selected variant's rendered files; the highlighted one is previewed.
    Files,
    /// The previewed file's content.
    Preview,
    /// The diff of the two marked variants.
    Diff,
}

impl Pane {
    /// Every pane, in the order a user goes into them.
    pub const ALL: [Pane; 4] = [Pane::Table, Pane::Files, Pane::Preview, Pane::Diff];

    /// What the pane is called in the help overlay.
    pub fn title(self) -> &'static str {
        match self {
            Pane::Table => "variants",
            Pane::Files => "file list",
            Pane::Preview => "file",
            Pane::Diff => "diff",
        }
    }
}

/// Where the keys go: the view on screen and, in the Matrix view, the pane in focus; or the
/// profile editor, which takes every key while it is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    /// The view on screen.
    pub view: View,
    /// The focused pane, in the view that has panes (the Matrix view).
    pub pane: Option<Pane>,
    /// The profile editor is open and has the keys.
    pub editing: bool,
}

impl Context {
    /// `view` with `pane` in focus (the pane only counts in the Matrix view).
    pub fn new(view: View, pane: Pane) -> Context {
        Context {
            view,
            pane: (view == View::Matrix).then_some(pane),
            editing: false,
        }
    }

    /// The profile editor, open over `view`.
    pub fn editor(view: View) -> Context {
        Context {
            view,
            pane: None,
            editing: true,
        }
    }

    /// Every place the keys can go.
    pub fn all() -> Vec<Context> {
        View::ALL
            .into_iter()
            .flat_map(|view| match view {
                View::Matrix => Pane::ALL.map(|p| Context::new(view, p)).to_vec(),
                _ => vec![Context::new(view, Pane::Table)],
            })
            .chain(std::iter::once(Context::editor(View::Matrix)))
            .collect()
    }

    /// The name of the place, e.g. `Matrix view · file list`.
    pub fn title(self) -> String {
        if self.editing {
            return "Profile editor".into();
        }
        match self.pane {
            Some(Pane::Table) | None => format!("{} view", self.view.title()),
            Some(pane) => format!("{} view · {}", self.view.title(), pane.title()),
        }
    }
}

/// What sets off an action: a key (with modifiers) or the mouse wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A key press.
    Key(KeyCode, KeyModifiers),
    /// The mouse wheel turned up.
    WheelUp,
    /// The mouse wheel turned down.
    WheelDown,
    /// A click with the left mouse button.
    Click,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In every view.
    Global,
    /// Only in this view.
    View(View),
    /// Only while this pane of the Matrix view has the focus.
    Pane(Pane),
    /// Only in the profile editor (where no other binding applies: keys are text there).
    Editor,
}

/// One row of the keymap: an action, what triggers it, and what it does in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The action.
    pub action: Action,
    /// Where it applies.
    pub scope: Scope,
    /// What triggers it; the first is the one shown in hints and the palette.
    pub triggers: &'static [Trigger],
    /// What it does, for the help overlay and the palette.
    pub description: &'static str,
    /// Shown in the status bar's hints (with this short word).
    pub hint: Option<&'static str>,
}

/// The bindings of one part of the workbench, one line each:
/// `SCOPE, Action, [triggers], "description"` and, for the status bar's hints, `, "hint"`.
///
/// ```text
/// bindings![
///     TABLE, Up, [ch('k'), UP, WHEEL_UP], "Previous variant";
///     TABLE, Filter, [ch('/')], "Filter the variants", "filter";
/// ];
/// ```
macro_rules! bindings {
    ($($scope:expr, $action:ident $(($($arg:tt)*))?, [$($trigger:expr),+ $(,)?], $description:literal $(, $hint:literal)?;)*) => {
        &[$($crate::tui::keymap::Binding {
            action: $crate::tui::keymap::Action::$action $(($($arg)*))?,
            scope: $scope,
            triggers: &[$($trigger),+],
            description: $description,
            hint: $crate::tui::keymap::bindings!(@hint $($hint)?),
        }),*]
    };
    (@hint) => { None };
    (@hint $hint:literal) => { Some($hint) };
}
pub(crate) use bindings;

/// A character key without modifiers (Shift is part of the character: `G`, `?`).
pub const fn ch(c: char) -> Trigger {
    Trigger::Key(KeyCode::Char(c), KeyModifiers::NONE)
}

/// A character key with Ctrl.
pub const fn ctrl(c: char) -> Trigger {
    Trigger::Key(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// A character key with Alt.
pub const fn alt(c: char) -> Trigger {
    Trigger::Key(KeyCode::Char(c), KeyModifiers::ALT)
}

const fn key(code: KeyCode) -> Trigger {
    Trigger::Key(code, KeyModifiers::NONE)
}

/// ↑.
pub const UP: Trigger = key(KeyCode::Up);
/// ↓.
pub const DOWN: Trigger = key(KeyCode::Down);
/// Page Up.
pub const PAGE_UP: Trigger = key(KeyCode::PageUp);
/// Page Down.
pub const PAGE_DOWN: Trigger = key(KeyCode::PageDown);
/// Home.
pub const HOME: Trigger = key(KeyCode::Home);
/// End.
pub const END: Trigger = key(KeyCode::End);
/// Esc.
pub const ESC: Trigger = key(KeyCode::Esc);
/// Enter.
pub const ENTER: Trigger = key(KeyCode::Enter);
/// Tab.
pub const TAB: Trigger = key(KeyCode::Tab);
/// Shift-Tab.
pub const BACK_TAB: Trigger = key(KeyCode::BackTab);
/// F1.
pub const F1: Trigger = key(KeyCode::F(1));
/// F8.
pub const F8: Trigger = key(KeyCode::F(8));
/// Shift-F8.
pub const SHIFT_F8: Trigger = Trigger::Key(KeyCode::F(8), KeyModifiers::SHIFT);
/// Alt-↑.
pub const ALT_UP: Trigger = Trigger::Key(KeyCode::Up, KeyModifiers::ALT);
/// Alt-↓.
pub const ALT_DOWN: Trigger = Trigger::Key(KeyCode::Down, KeyModifiers::ALT);
/// The mouse wheel turned up.
pub const WHEEL_UP: Trigger = Trigger::WheelUp;
/// The mouse wheel turned down.
pub const WHEEL_DOWN: Trigger = Trigger::WheelDown;
/// A left click.
pub const CLICK: Trigger = Trigger::Click;

/// In every view.
pub const GLOBAL: Scope = Scope::Global;
/// The Matrix view's table of variants.
pub const TABLE: Scope = Scope::Pane(Pane::Table);
/// The Matrix view's list of rendered files.
pub const FILES: Scope = Scope::Pane(Pane::Files);
/// The Matrix view's previewed file.
pub const PREVIEW: Scope = Scope::Pane(Pane::Preview);
/// The Matrix view's diff.
pub const DIFF: Scope = Scope::Pane(Pane::Diff);
/// The Builds view.
pub const BUILDS: Scope = Scope::View(View::Builds);
/// The Cluster view.
pub const CLUSTER: Scope = Scope::View(View::Cluster);
/// The Tests view.
pub const TESTS: Scope = Scope::View(View::Tests);
/// The profile editor.
pub const EDITOR: Scope = Scope::Editor;

/// The keys of every view.
const SHELL: &[Binding] = bindings![
    GLOBAL, Quit, [ch('q'), ctrl('c')], "Quit n3x", "quit";
    GLOBAL, Help, [ch('?')], "This help", "help";
    GLOBAL, Palette, [ch(':')], "Command palette", "commands";
    GLOBAL, NextView, [TAB], "Next view", "view";
    GLOBAL, PrevView, [BACK_TAB], "Previous view";
    GLOBAL, Show(View::Matrix), [ch('1')], "Matrix view";
    GLOBAL, Show(View::Builds), [ch('2')], "Builds view";
    GLOBAL, Show(View::Cluster), [ch('3')], "Cluster view";
    GLOBAL, Show(View::Tests), [ch('4')], "Tests view";
    GLOBAL, Reload, [ch('r')], "Reload the profiles";
];

/// The profile editor's keys (every other key edits the text).
const EDITOR_KEYS: &[Binding] = bindings![
    EDITOR, Save, [ctrl('s')], "Save (asks when it has problems)", "save";
    EDITOR, SaveRender, [ctrl('r')], "Save and write kas/ and nixos/", "save+render";
    EDITOR, Undo, [ctrl('z')], "Undo", "undo";
    EDITOR, Redo, [ctrl('y')], "Redo", "redo";
    EDITOR, NextProblem, [F8, alt('n')], "Next problem line", "next problem";
    EDITOR, PrevProblem, [SHIFT_F8, alt('p')], "Previous problem line";
    EDITOR, PreviewDown, [ALT_DOWN, alt('j')], "Scroll problems/changes down";
    EDITOR, PreviewUp, [ALT_UP, alt('k')], "Scroll problems/changes up";
    EDITOR, Help, [F1], "These keys", "keys";
    EDITOR, CloseEditor, [ESC, ctrl('q')], "Close (asks when unsaved)", "close";
    EDITOR, QuitEditor, [ctrl('c')], "Quit n3x (asks when unsaved)";
];

/// The one table: the shell's keys, each view's (in tab order), the editor's last. Key
/// handling, the help overlay, the palette and the status-bar hints all read it.
pub const TABLE_OF_KEYS: &[&[Binding]] = &[
    SHELL,
    views::matrix::keys::BINDINGS,
    views::builds::keys::BINDINGS,
    views::cluster::keys::BINDINGS,
    views::tests::keys::BINDINGS,
    EDITOR_KEYS,
];

impl Binding {
    /// Whether the binding applies anywhere in `view` (in any of its panes).
    pub fn applies_in(&self, view: View) -> bool {
        match self.scope {
            Scope::Global => true,
            Scope::View(v) => v == view,
            Scope::Pane(_) => view == View::Matrix,
            Scope::Editor => false,
        }
    }

    /// Whether the binding applies right now, in `here`.
    pub fn applies_here(&self, here: Context) -> bool {
        if here.editing {
            return self.scope == Scope::Editor;
        }
        match self.scope {
            Scope::Editor => false,
            Scope::Global => true,
            Scope::View(v) => v == here.view,
            Scope::Pane(p) => here.pane == Some(p),
        }
    }

    /// Every trigger as text, e.g. `k ↑ wheel↑`.
    pub fn keys_label(&self) -> String {
        self.triggers
            .iter()
            .map(|t| trigger_label(*t))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The first trigger as text, e.g. `k`.
    pub fn key_label(&self) -> String {
        self.triggers
            .first()
            .map(|t| trigger_label(*t))
            .unwrap_or_default()
    }
}

/// The bindings that apply anywhere in `view`, global ones first, in table order.
pub fn bindings_for(view: View) -> impl Iterator<Item = &'static Binding> {
    all_bindings().filter(move |b| b.applies_in(view))
}

/// Every binding, in table order (the editor's last).
pub fn all_bindings() -> impl Iterator<Item = &'static Binding> {
    TABLE_OF_KEYS.iter().flat_map(|part| part.iter())
}

/// The bindings that apply in `here`, global ones first, in table order.
pub fn bindings_here(here: Context) -> impl Iterator<Item = &'static Binding> {
    all_bindings().filter(move |b| b.applies_here(here))
}

/// The action a key press sets off in `here`, if any.
pub fn action_for_key(here: Context, event: &KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let pressed = normalize(event.code, event.modifiers);
    bindings_here(here)
        .find(|b| {
            b.triggers
                .iter()
                .any(|t| matches!(*t, Trigger::Key(c, m) if (c, m) == pressed))
        })
        .map(|b| b.action)
}

/// The action a mouse event sets off in `here`, if any (a click's target is the caller's to
/// find out from the event's position).
pub fn action_for_mouse(here: Context, event: &MouseEvent) -> Option<Action> {
    let trigger = match event.kind {
        MouseEventKind::ScrollUp => Trigger::WheelUp,
        MouseEventKind::ScrollDown => Trigger::WheelDown,
        MouseEventKind::Down(MouseButton::Left) => Trigger::Click,
        _ => return None,
    };
    bindings_here(here)
        .find(|b| b.triggers.contains(&trigger))
        .map(|b| b.action)
}

/// Terminals differ in whether a shifted character also reports SHIFT (`?`, `G`) and whether
/// Shift-Tab is `BackTab` with or without SHIFT; the table lists them without.
fn normalize(code: KeyCode, mods: KeyModifiers) -> (KeyCode, KeyModifiers) {
    match code {
        KeyCode::Char(_) | KeyCode::BackTab => (code, mods.difference(KeyModifiers::SHIFT)),
        _ => (code, mods),
    }
}

fn trigger_label(t: Trigger) -> String {
    match t {
        Trigger::WheelUp => "wheel↑".into(),
        Trigger::WheelDown => "wheel↓".into(),
        Trigger::Click => "click".into(),
        Trigger::Key(code, mods) => {
            let name = match code {
                KeyCode::Char(' ') => "Space".into(),
                KeyCode::Char(c) => c.to_string(),
                KeyCode::Tab => "Tab".into(),
                KeyCode::BackTab => "Shift-Tab".into(),
                KeyCode::Up => "↑".into(),
                KeyCode::Down => "↓".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::Home => "Home".into(),
                KeyCode::End => "End".into(),
                KeyCode::Esc => "Esc".into(),
                KeyCode::Enter => "Enter".into(),
                other => other.to_string(),
            };
            if mods.contains(KeyModifiers::CONTROL) {
                format!("Ctrl-{name}")
            } else if mods.contains(KeyModifiers::ALT) {
                format!("Alt-{name}")
            } else if mods.contains(KeyModifiers::SHIFT) {
                format!("Shift-{name}")
            } else {
                name
            }
        }
    }
}

/// How well `query` matches `text` as a subsequence, ignoring case: `None` when it does not;
/// otherwise smaller is better: a substring at a word's start, then any substring, then a
/// scattered match with a tighter span.
pub fn fuzzy_score(query: &str, text: &str) -> Option<usize> {
    let query = query.to_lowercase();
    let text = text.to_lowercase();
    if query.is_empty() {
        return Some(0);
    }
    let at_word_start = |at: usize| at == 0 || text[..at].ends_with(' ');
    let mut substrings = text.match_indices(&query).map(|(at, _)| at);
    if let Some(first) = substrings.next() {
        let word = std::iter::once(first)
            .chain(substrings)
            .find(|&at| at_word_start(at));
        return Some(word.unwrap_or(500 + first));
    }
    let mut chars = text.char_indices();
    let mut first = None;
    let mut last = 0;
    for q in query.chars() {
        let (at, _) = chars.by_ref().find(|&(_, c)| c == q)?;
        first.get_or_insert(at);
        last = at;
    }
    Some(1000 + last - first.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: KeyModifiers = KeyModifiers::NONE;

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn matrix(pane: Pane) -> Context {
        Context::new(View::Matrix, pane)
    }

    fn view(view: View) -> Context {
        Context::new(view, Pane::Table)
    }

    #[test]
    fn every_trigger_is_unique_within_a_context() {
        for here in Context::all() {
            let triggers: Vec<Trigger> = bindings_here(here)
                .flat_map(|b| b.triggers.iter().copied())
                .collect();
            for (i, t) in triggers.iter().enumerate() {
                assert!(
                    !triggers[i + 1..].contains(t),
                    "{t:?} bound twice in {here:?}"
                );
            }
        }
    }

    #[test]
    fn every_pane_can_be_left_with_esc_and_scrolled_with_the_wheel() {
        let esc = press(KeyCode::Esc, NONE);
        for pane in [Pane::Files, Pane::Preview, Pane::Diff] {
            assert_eq!(action_for_key(matrix(pane), &esc), Some(Action::Back));
            for (kind, action) in [
                (MouseEventKind::ScrollUp, Action::Up),
                (MouseEventKind::ScrollDown, Action::Down),
            ] {
                let wheel = MouseEvent {
                    kind,
                    column: 0,
                    row: 0,
                    modifiers: NONE,
                };
                assert_eq!(action_for_mouse(matrix(pane), &wheel), Some(action));
            }
        }
        // In the table Esc clears the filter, and the table's keys work nowhere else.
        assert_eq!(
            action_for_key(matrix(Pane::Table), &esc),
            Some(Action::ClearFilter)
        );
        let m = press(KeyCode::Char('m'), NONE);
        assert_eq!(action_for_key(matrix(Pane::Table), &m), Some(Action::Mark));
        assert_eq!(action_for_key(matrix(Pane::Diff), &m), None);
        let click = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 3,
            row: 4,
            modifiers: NONE,
        };
        assert_eq!(
            action_for_mouse(matrix(Pane::Table), &click),
            Some(Action::Click)
        );
        assert_eq!(action_for_mouse(view(View::Builds), &click), None);
    }

    #[test]
    fn shifted_characters_match_with_or_without_shift() {
        let q = press(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(action_for_key(matrix(Pane::Table), &q), Some(Action::Help));
        let g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(action_for_key(matrix(Pane::Table), &g), Some(Action::Last));
        let back = press(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            action_for_key(view(View::Builds), &back),
            Some(Action::PrevView)
        );
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            action_for_key(view(View::Tests), &ctrl_c),
            Some(Action::Quit)
        );
        let plain_c = press(KeyCode::Char('c'), NONE);
        assert_eq!(
            action_for_key(view(View::Tests), &plain_c),
            Some(Action::ConsoleAtFailure)
        );
        assert_eq!(action_for_key(view(View::Cluster), &plain_c), None);
    }

    #[test]
    fn view_keys_only_work_in_their_view() {
        let s = press(KeyCode::Char('s'), NONE);
        assert_eq!(action_for_key(matrix(Pane::Table), &s), Some(Action::Sort));
        assert_eq!(action_for_key(view(View::Builds), &s), None);
        let f = press(KeyCode::Char('f'), NONE);
        assert_eq!(action_for_key(view(View::Builds), &f), Some(Action::Follow));
        assert_eq!(action_for_key(matrix(Pane::Table), &f), None);
    }

    #[test]
    fn fuzzy_prefers_substrings_and_tight_spans() {
        assert_eq!(fuzzy_score("", "Quit n3x"), Some(0));
        assert_eq!(fuzzy_score("QUIT", "Quit n3x"), Some(0));
        assert!(fuzzy_score("qn", "Quit n3x").is_some());
        assert_eq!(fuzzy_score("xq", "Quit n3x"), None);
        let tight = fuzzy_score("nv", "Next view").unwrap();
        let loose = fuzzy_score("nv", "Not the very best").unwrap();
        assert!(fuzzy_score("view", "Next view").unwrap() < tight);
        let word = fuzzy_score("vi", "Previous view").unwrap();
        let inside = fuzzy_score("vi", "Previous variant").unwrap();
        assert!(word < inside);
        assert!(tight < loose);
    }

    #[test]
    fn labels_name_every_trigger() {
        let find = |a: Action| all_bindings().find(|b| b.action == a).unwrap();
        let quit = find(Action::Quit);
        assert_eq!(quit.keys_label(), "q Ctrl-c");
        assert_eq!(quit.key_label(), "q");
        let up = find(Action::Up);
        assert_eq!(up.keys_label(), "k ↑ wheel↑");
        let mark = find(Action::Mark);
        assert_eq!(mark.keys_label(), "m Space");
        let click = find(Action::Click);
        assert_eq!(click.keys_label(), "click");
    }
}
