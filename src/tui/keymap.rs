//! The one table of actions and their keys.
//!
//! Key handling, the `?` help overlay, the `:` palette and the status-bar hints all read
//! [`BINDINGS`], so what the screen says a key does is what the key does. A binding applies
//! everywhere, in one view, or in one [`Pane`] of the Matrix view; [`Context`] says where the
//! keys go right now.

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use crate::tui::app::View;

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

const NONE: KeyModifiers = KeyModifiers::NONE;

const fn ch(c: char) -> Trigger {
    Trigger::Key(KeyCode::Char(c), NONE)
}

const fn key(code: KeyCode) -> Trigger {
    Trigger::Key(code, NONE)
}

const TABLE: Scope = Scope::Pane(Pane::Table);
const FILES: Scope = Scope::Pane(Pane::Files);
const PREVIEW: Scope = Scope::Pane(Pane::Preview);
const DIFF: Scope = Scope::Pane(Pane::Diff);
const BUILDS: Scope = Scope::View(View::Builds);
const CLUSTER: Scope = Scope::View(View::Cluster);
const TESTS: Scope = Scope::View(View::Tests);

/// Every binding of the workbench.
pub const BINDINGS: &[Binding] = &[
    Binding {
        action: Action::Quit,
        scope: Scope::Global,
        triggers: &[
            ch('q'),
            Trigger::Key(KeyCode::Char('c'), KeyModifiers::CONTROL),
        ],
        description: "Quit n3x",
        hint: Some("quit"),
    },
    Binding {
        action: Action::Help,
        scope: Scope::Global,
        triggers: &[ch('?')],
        description: "This help",
        hint: Some("help"),
    },
    Binding {
        action: Action::Palette,
        scope: Scope::Global,
        triggers: &[ch(':')],
        description: "Command palette",
        hint: Some("commands"),
    },
    Binding {
        action: Action::NextView,
        scope: Scope::Global,
        triggers: &[key(KeyCode::Tab)],
        description: "Next view",
        hint: Some("view"),
    },
    Binding {
        action: Action::PrevView,
        scope: Scope::Global,
        triggers: &[key(KeyCode::BackTab)],
        description: "Previous view",
        hint: None,
    },
    Binding {
        action: Action::Show(View::Matrix),
        scope: Scope::Global,
        triggers: &[ch('1')],
        description: "Matrix view",
        hint: None,
    },
    Binding {
        action: Action::Show(View::Builds),
        scope: Scope::Global,
        triggers: &[ch('2')],
        description: "Builds view",
        hint: None,
    },
    Binding {
        action: Action::Show(View::Cluster),
        scope: Scope::Global,
        triggers: &[ch('3')],
        description: "Cluster view",
        hint: None,
    },
    Binding {
        action: Action::Show(View::Tests),
        scope: Scope::Global,
        triggers: &[ch('4')],
        description: "Tests view",
        hint: None,
    },
    Binding {
        action: Action::Reload,
        scope: Scope::Global,
        triggers: &[ch('r')],
        description: "Reload the profiles",
        hint: None,
    },
    Binding {
        action: Action::Up,
        scope: TABLE,
        triggers: &[ch('k'), key(KeyCode::Up), Trigger::WheelUp],
        description: "Previous variant",
        hint: None,
    },
    Binding {
        action: Action::Down,
        scope: TABLE,
        triggers: &[ch('j'), key(KeyCode::Down), Trigger::WheelDown],
        description: "Next variant",
        hint: None,
    },
    Binding {
        action: Action::PageUp,
        scope: TABLE,
        triggers: &[key(KeyCode::PageUp)],
        description: "One page up",
        hint: None,
    },
    Binding {
        action: Action::PageDown,
        scope: TABLE,
        triggers: &[key(KeyCode::PageDown)],
        description: "One page down",
        hint: None,
    },
    Binding {
        action: Action::First,
        scope: TABLE,
        triggers: &[key(KeyCode::Home), ch('g')],
        description: "First variant",
        hint: None,
    },
    Binding {
        action: Action::Last,
        scope: TABLE,
        triggers: &[key(KeyCode::End), ch('G')],
        description: "Last variant",
        hint: None,
    },
    Binding {
        action: Action::Filter,
        scope: TABLE,
        triggers: &[ch('/')],
        description: "Filter the variants",
        hint: Some("filter"),
    },
    Binding {
        action: Action::ClearFilter,
        scope: TABLE,
        triggers: &[key(KeyCode::Esc)],
        description: "Clear the filter",
        hint: None,
    },
    Binding {
        action: Action::Sort,
        scope: TABLE,
        triggers: &[ch('s')],
        description: "Sort by next column",
        hint: Some("sort"),
    },
    Binding {
        action: Action::DetailDown,
        scope: TABLE,
        triggers: &[ch('J')],
        description: "Scroll details down",
        hint: None,
    },
    Binding {
        action: Action::DetailUp,
        scope: TABLE,
        triggers: &[ch('K')],
        description: "Scroll details up",
        hint: None,
    },
    Binding {
        action: Action::Open,
        scope: TABLE,
        triggers: &[key(KeyCode::Enter)],
        description: "Preview rendered files",
        hint: Some("files"),
    },
    Binding {
        action: Action::Mark,
        scope: TABLE,
        triggers: &[ch('m'), ch(' ')],
        description: "Mark/unmark for diff",
        hint: Some("mark"),
    },
    Binding {
        action: Action::Diff,
        scope: TABLE,
        triggers: &[ch('d')],
        description: "Diff the two marked",
        hint: Some("diff"),
    },
    Binding {
        action: Action::Edit,
        scope: TABLE,
        triggers: &[ch('e')],
        description: "Edit variant's profile",
        hint: Some("edit"),
    },
    Binding {
        action: Action::Build,
        scope: TABLE,
        triggers: &[ch('b')],
        description: "Build (default backend)",
        hint: Some("build"),
    },
    Binding {
        action: Action::BuildWith,
        scope: TABLE,
        triggers: &[ch('B')],
        description: "Build with a backend…",
        hint: None,
    },
    Binding {
        action: Action::EditFile,
        scope: TABLE,
        triggers: &[ch('E')],
        description: "Edit a profile file…",
        hint: None,
    },
    Binding {
        action: Action::Click,
        scope: TABLE,
        triggers: &[Trigger::Click],
        description: "Select clicked variant",
        hint: None,
    },
    Binding {
        action: Action::Up,
        scope: FILES,
        triggers: &[ch('k'), key(KeyCode::Up), Trigger::WheelUp],
        description: "Previous file",
        hint: None,
    },
    Binding {
        action: Action::Down,
        scope: FILES,
        triggers: &[ch('j'), key(KeyCode::Down), Trigger::WheelDown],
        description: "Next file",
        hint: None,
    },
    Binding {
        action: Action::First,
        scope: FILES,
        triggers: &[key(KeyCode::Home), ch('g')],
        description: "First file",
        hint: None,
    },
    Binding {
        action: Action::Last,
        scope: FILES,
        triggers: &[key(KeyCode::End), ch('G')],
        description: "Last file",
        hint: None,
    },
    Binding {
        action: Action::Open,
        scope: FILES,
        triggers: &[key(KeyCode::Enter)],
        description: "Read the file",
        hint: Some("read"),
    },
    Binding {
        action: Action::DetailDown,
        scope: FILES,
        triggers: &[ch('J')],
        description: "Scroll the file down",
        hint: None,
    },
    Binding {
        action: Action::DetailUp,
        scope: FILES,
        triggers: &[ch('K')],
        description: "Scroll the file up",
        hint: None,
    },
    Binding {
        action: Action::PageDown,
        scope: FILES,
        triggers: &[key(KeyCode::PageDown)],
        description: "One page down the file",
        hint: None,
    },
    Binding {
        action: Action::PageUp,
        scope: FILES,
        triggers: &[key(KeyCode::PageUp)],
        description: "One page up the file",
        hint: None,
    },
    Binding {
        action: Action::Back,
        scope: FILES,
        triggers: &[key(KeyCode::Esc)],
        description: "Back to the variants",
        hint: Some("back"),
    },
    Binding {
        action: Action::Click,
        scope: FILES,
        triggers: &[Trigger::Click],
        description: "Pick clicked file/pane",
        hint: None,
    },
    Binding {
        action: Action::Up,
        scope: PREVIEW,
        triggers: &[ch('k'), key(KeyCode::Up), Trigger::WheelUp],
        description: "Scroll the file up",
        hint: None,
    },
    Binding {
        action: Action::Down,
        scope: PREVIEW,
        triggers: &[ch('j'), key(KeyCode::Down), Trigger::WheelDown],
        description: "Scroll the file down",
        hint: None,
    },
    Binding {
        action: Action::PageUp,
        scope: PREVIEW,
        triggers: &[key(KeyCode::PageUp)],
        description: "One page up the file",
        hint: None,
    },
    Binding {
        action: Action::PageDown,
        scope: PREVIEW,
        triggers: &[key(KeyCode::PageDown)],
        description: "One page down the file",
        hint: None,
    },
    Binding {
        action: Action::First,
        scope: PREVIEW,
        triggers: &[key(KeyCode::Home), ch('g')],
        description: "Top of the file",
        hint: None,
    },
    Binding {
        action: Action::Last,
        scope: PREVIEW,
        triggers: &[key(KeyCode::End), ch('G')],
        description: "End of the file",
        hint: None,
    },
    Binding {
        action: Action::Back,
        scope: PREVIEW,
        triggers: &[key(KeyCode::Esc)],
        description: "Back to the file list",
        hint: Some("back"),
    },
    Binding {
        action: Action::Click,
        scope: PREVIEW,
        triggers: &[Trigger::Click],
        description: "Pick clicked file/pane",
        hint: None,
    },
    Binding {
        action: Action::Up,
        scope: DIFF,
        triggers: &[ch('k'), key(KeyCode::Up), Trigger::WheelUp],
        description: "Scroll the diff up",
        hint: None,
    },
    Binding {
        action: Action::Down,
        scope: DIFF,
        triggers: &[ch('j'), key(KeyCode::Down), Trigger::WheelDown],
        description: "Scroll the diff down",
        hint: None,
    },
    Binding {
        action: Action::PageUp,
        scope: DIFF,
        triggers: &[key(KeyCode::PageUp)],
        description: "One page up the diff",
        hint: None,
    },
    Binding {
        action: Action::PageDown,
        scope: DIFF,
        triggers: &[key(KeyCode::PageDown)],
        description: "One page down the diff",
        hint: None,
    },
    Binding {
        action: Action::First,
        scope: DIFF,
        triggers: &[key(KeyCode::Home), ch('g')],
        description: "Top of the diff",
        hint: None,
    },
    Binding {
        action: Action::Last,
        scope: DIFF,
        triggers: &[key(KeyCode::End), ch('G')],
        description: "End of the diff",
        hint: None,
    },
    Binding {
        action: Action::Back,
        scope: DIFF,
        triggers: &[key(KeyCode::Esc)],
        description: "Back to the variants",
        hint: Some("back"),
    },
    Binding {
        action: Action::Up,
        scope: BUILDS,
        triggers: &[ch('k'), key(KeyCode::Up)],
        description: "Previous build",
        hint: None,
    },
    Binding {
        action: Action::Down,
        scope: BUILDS,
        triggers: &[ch('j'), key(KeyCode::Down)],
        description: "Next build",
        hint: None,
    },
    Binding {
        action: Action::DetailUp,
        scope: BUILDS,
        triggers: &[ch('K'), key(KeyCode::PageUp), Trigger::WheelUp],
        description: "Scroll log up, pause",
        hint: None,
    },
    Binding {
        action: Action::DetailDown,
        scope: BUILDS,
        triggers: &[ch('J'), key(KeyCode::PageDown), Trigger::WheelDown],
        description: "Scroll log down",
        hint: None,
    },
    Binding {
        action: Action::Follow,
        scope: BUILDS,
        triggers: &[ch('f')],
        description: "Follow/pause output",
        hint: Some("follow"),
    },
    Binding {
        action: Action::Search,
        scope: BUILDS,
        triggers: &[ch('/')],
        description: "Search the log",
        hint: Some("search"),
    },
    Binding {
        action: Action::NextMatch,
        scope: BUILDS,
        triggers: &[ch('n')],
        description: "Newer match",
        hint: None,
    },
    Binding {
        action: Action::PrevMatch,
        scope: BUILDS,
        triggers: &[ch('N')],
        description: "Older match",
        hint: None,
    },
    Binding {
        action: Action::CancelBuild,
        scope: BUILDS,
        triggers: &[ch('c')],
        description: "Cancel the build",
        hint: Some("cancel"),
    },
    Binding {
        action: Action::RetryBuild,
        scope: BUILDS,
        triggers: &[ch('R')],
        description: "Build it again",
        hint: Some("retry"),
    },
    Binding {
        action: Action::OpenLog,
        scope: BUILDS,
        triggers: &[ch('o')],
        description: "Full log in a pager",
        hint: Some("log"),
    },
    Binding {
        action: Action::ClusterUp,
        scope: CLUSTER,
        triggers: &[ch('u')],
        description: "Boot the cluster",
        hint: Some("up"),
    },
    Binding {
        action: Action::ClusterDown,
        scope: CLUSTER,
        triggers: &[ch('D')],
        description: "Tear the cluster down",
        hint: Some("down"),
    },
    Binding {
        action: Action::Up,
        scope: CLUSTER,
        triggers: &[ch('k'), key(KeyCode::Up)],
        description: "Previous node",
        hint: None,
    },
    Binding {
        action: Action::Down,
        scope: CLUSTER,
        triggers: &[ch('j'), key(KeyCode::Down)],
        description: "Next node",
        hint: None,
    },
    Binding {
        action: Action::Attach,
        scope: CLUSTER,
        triggers: &[ch('a'), key(KeyCode::Enter)],
        description: "Attach, Ctrl-] leaves",
        hint: Some("attach"),
    },
    Binding {
        action: Action::LinkEth1,
        scope: CLUSTER,
        triggers: &[ch('l')],
        description: "eth1 link down/up",
        hint: Some("eth1 link"),
    },
    Binding {
        action: Action::LinkEth2,
        scope: CLUSTER,
        triggers: &[ch('L')],
        description: "eth2 link down/up",
        hint: None,
    },
    Binding {
        action: Action::Topology,
        scope: CLUSTER,
        triggers: &[ch('t')],
        description: "Topology / console",
        hint: Some("topology"),
    },
    Binding {
        action: Action::DetailUp,
        scope: CLUSTER,
        triggers: &[ch('K'), key(KeyCode::PageUp), Trigger::WheelUp],
        description: "Scroll up, pause",
        hint: None,
    },
    Binding {
        action: Action::DetailDown,
        scope: CLUSTER,
        triggers: &[ch('J'), key(KeyCode::PageDown), Trigger::WheelDown],
        description: "Scroll down",
        hint: None,
    },
    Binding {
        action: Action::Follow,
        scope: CLUSTER,
        triggers: &[ch('f')],
        description: "Follow/pause console",
        hint: Some("follow"),
    },
    Binding {
        action: Action::Search,
        scope: CLUSTER,
        triggers: &[ch('/')],
        description: "Search the console",
        hint: Some("search"),
    },
    Binding {
        action: Action::NextMatch,
        scope: CLUSTER,
        triggers: &[ch('n')],
        description: "Newer match",
        hint: None,
    },
    Binding {
        action: Action::PrevMatch,
        scope: CLUSTER,
        triggers: &[ch('N')],
        description: "Older match",
        hint: None,
    },
    Binding {
        action: Action::RestartNode,
        scope: CLUSTER,
        triggers: &[ch('R')],
        description: "Restart the node",
        hint: Some("restart"),
    },
    Binding {
        action: Action::RestartAll,
        scope: CLUSTER,
        triggers: &[Trigger::Key(KeyCode::Char('r'), KeyModifiers::CONTROL)],
        description: "Restart every node",
        hint: None,
    },
    Binding {
        action: Action::ResetNode,
        scope: CLUSTER,
        triggers: &[ch('x')],
        description: "Reset the node",
        hint: None,
    },
    Binding {
        action: Action::KillNode,
        scope: CLUSTER,
        triggers: &[ch('X')],
        description: "Kill the node's QEMU",
        hint: None,
    },
    Binding {
        action: Action::Up,
        scope: TESTS,
        triggers: &[ch('k'), key(KeyCode::Up)],
        description: "Previous test",
        hint: None,
    },
    Binding {
        action: Action::Down,
        scope: TESTS,
        triggers: &[ch('j'), key(KeyCode::Down)],
        description: "Next test",
        hint: None,
    },
    Binding {
        action: Action::RunTest,
        scope: TESTS,
        triggers: &[ch('R')],
        description: "Run the selected test",
        hint: Some("run"),
    },
    Binding {
        action: Action::ConsoleAtFailure,
        scope: TESTS,
        triggers: &[ch('c'), key(KeyCode::Enter)],
        description: "Console where it failed",
        hint: Some("console"),
    },
];

const CTRL: KeyModifiers = KeyModifiers::CONTROL;
const ALT: KeyModifiers = KeyModifiers::ALT;

/// The profile editor's keys (every other key edits the text).
const EDITOR_BINDINGS: &[Binding] = &[
    Binding {
        action: Action::Save,
        scope: Scope::Editor,
        triggers: &[Trigger::Key(KeyCode::Char('s'), CTRL)],
        description: "Save (asks when it has problems)",
        hint: Some("save"),
    },
    Binding {
        action: Action::SaveRender,
        scope: Scope::Editor,
        triggers: &[Trigger::Key(KeyCode::Char('r'), CTRL)],
        description: "Save and write kas/ and nixos/",
        hint: Some("save+render"),
    },
    Binding {
        action: Action::Undo,
        scope: Scope::Editor,
        triggers: &[Trigger::Key(KeyCode::Char('z'), CTRL)],
        description: "Undo",
        hint: Some("undo"),
    },
    Binding {
        action: Action::Redo,
        scope: Scope::Editor,
        triggers: &[Trigger::Key(KeyCode::Char('y'), CTRL)],
        description: "Redo",
        hint: Some("redo"),
    },
    Binding {
        action: Action::NextProblem,
        scope: Scope::Editor,
        triggers: &[key(KeyCode::F(8)), Trigger::Key(KeyCode::Char('n'), ALT)],
        description: "Next problem line",
        hint: Some("next problem"),
    },
    Binding {
        action: Action::PrevProblem,
        scope: Scope::Editor,
        triggers: &[
            Trigger::Key(KeyCode::F(8), KeyModifiers::SHIFT),
            Trigger::Key(KeyCode::Char('p'), ALT),
        ],
        description: "Previous problem line",
        hint: None,
    },
    Binding {
        action: Action::PreviewDown,
        scope: Scope::Editor,
        triggers: &[
            Trigger::Key(KeyCode::Down, ALT),
            Trigger::Key(KeyCode::Char('j'), ALT),
        ],
        description: "Scroll problems/changes down",
        hint: None,
    },
    Binding {
        action: Action::PreviewUp,
        scope: Scope::Editor,
        triggers: &[
            Trigger::Key(KeyCode::Up, ALT),
            Trigger::Key(KeyCode::Char('k'), ALT),
        ],
        description: "Scroll problems/changes up",
        hint: None,
    },
    Binding {
        action: Action::Help,
        scope: Scope::Editor,
        triggers: &[key(KeyCode::F(1))],
        description: "These keys",
        hint: Some("keys"),
    },
    Binding {
        action: Action::CloseEditor,
        scope: Scope::Editor,
        triggers: &[key(KeyCode::Esc), Trigger::Key(KeyCode::Char('q'), CTRL)],
        description: "Close (asks when unsaved)",
        hint: Some("close"),
    },
    Binding {
        action: Action::QuitEditor,
        scope: Scope::Editor,
        triggers: &[Trigger::Key(KeyCode::Char('c'), CTRL)],
        description: "Quit n3x (asks when unsaved)",
        hint: None,
    },
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

/// Every binding, the editor's last.
pub fn all_bindings() -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().chain(EDITOR_BINDINGS)
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
        let quit = BINDINGS.iter().find(|b| b.action == Action::Quit).unwrap();
        assert_eq!(quit.keys_label(), "q Ctrl-c");
        assert_eq!(quit.key_label(), "q");
        let up = BINDINGS.iter().find(|b| b.action == Action::Up).unwrap();
        assert_eq!(up.keys_label(), "k ↑ wheel↑");
        let mark = BINDINGS.iter().find(|b| b.action == Action::Mark).unwrap();
        assert_eq!(mark.keys_label(), "m Space");
        let click = BINDINGS.iter().find(|b| b.action == Action::Click).unwrap();
        assert_eq!(click.keys_label(), "click");
    }
}
