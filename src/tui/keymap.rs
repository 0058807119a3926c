//! The one table of actions and their keys.
//!
//! Key handling, the `?` help overlay, the `:` palette and the status-bar hints all read
//! [`BINDINGS`], so what the screen says a key does is what the key does.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use super::app::View;

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
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In every view.
    Global,
    /// Only in this view.
    View(View),
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

const MATRIX: Scope = Scope::View(View::Matrix);

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
        scope: MATRIX,
        triggers: &[ch('k'), key(KeyCode::Up), Trigger::WheelUp],
        description: "Previous variant",
        hint: None,
    },
    Binding {
        action: Action::Down,
        scope: MATRIX,
        triggers: &[ch('j'), key(KeyCode::Down), Trigger::WheelDown],
        description: "Next variant",
        hint: None,
    },
    Binding {
        action: Action::PageUp,
        scope: MATRIX,
        triggers: &[key(KeyCode::PageUp)],
        description: "One page up",
        hint: None,
    },
    Binding {
        action: Action::PageDown,
        scope: MATRIX,
        triggers: &[key(KeyCode::PageDown)],
        description: "One page down",
        hint: None,
    },
    Binding {
        action: Action::First,
        scope: MATRIX,
        triggers: &[key(KeyCode::Home), ch('g')],
        description: "First variant",
        hint: None,
    },
    Binding {
        action: Action::Last,
        scope: MATRIX,
        triggers: &[key(KeyCode::End), ch('G')],
        description: "Last variant",
        hint: None,
    },
    Binding {
        action: Action::Filter,
        scope: MATRIX,
        triggers: &[ch('/')],
        description: "Filter the variants",
        hint: Some("filter"),
    },
    Binding {
        action: Action::ClearFilter,
        scope: MATRIX,
        triggers: &[key(KeyCode::Esc)],
        description: "Clear the filter",
        hint: None,
    },
    Binding {
        action: Action::Sort,
        scope: MATRIX,
        triggers: &[ch('s')],
        description: "Sort by next column",
        hint: Some("sort"),
    },
    Binding {
        action: Action::DetailDown,
        scope: MATRIX,
        triggers: &[ch('J')],
        description: "Scroll details down",
        hint: None,
    },
    Binding {
        action: Action::DetailUp,
        scope: MATRIX,
        triggers: &[ch('K')],
        description: "Scroll details up",
        hint: None,
    },
];

impl Binding {
    /// Whether the binding applies in `view`.
    pub fn applies_in(&self, view: View) -> bool {
        match self.scope {
            Scope::Global => true,
            Scope::View(v) => v == view,
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

/// The bindings that apply in `view`, global ones first, in table order.
pub fn bindings_for(view: View) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.applies_in(view))
}

/// The action a key press sets off in `view`, if any.
pub fn action_for_key(view: View, event: &KeyEvent) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    let pressed = normalize(event.code, event.modifiers);
    bindings_for(view)
        .find(|b| {
            b.triggers
                .iter()
                .any(|t| matches!(*t, Trigger::Key(c, m) if (c, m) == pressed))
        })
        .map(|b| b.action)
}

/// The action a mouse event sets off in `view`, if any.
pub fn action_for_mouse(view: View, event: &MouseEvent) -> Option<Action> {
    let trigger = match event.kind {
        MouseEventKind::ScrollUp => Trigger::WheelUp,
        MouseEventKind::ScrollDown => Trigger::WheelDown,
        _ => return None,
    };
    bindings_for(view)
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
        Trigger::Key(code, mods) => {
            let name = match code {
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

    #[test]
    fn every_trigger_is_unique_within_a_view() {
        for view in View::ALL {
            let triggers: Vec<Trigger> = bindings_for(view)
                .flat_map(|b| b.triggers.iter().copied())
                .collect();
            for (i, t) in triggers.iter().enumerate() {
                assert!(
                    !triggers[i + 1..].contains(t),
                    "{t:?} bound twice in {view:?}"
                );
            }
        }
    }

    #[test]
    fn shifted_characters_match_with_or_without_shift() {
        let q = press(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(action_for_key(View::Matrix, &q), Some(Action::Help));
        let g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(action_for_key(View::Matrix, &g), Some(Action::Last));
        let back = press(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(action_for_key(View::Builds, &back), Some(Action::PrevView));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for_key(View::Tests, &ctrl_c), Some(Action::Quit));
        let plain_c = press(KeyCode::Char('c'), NONE);
        assert_eq!(action_for_key(View::Tests, &plain_c), None);
    }

    #[test]
    fn view_keys_only_work_in_their_view() {
        let j = press(KeyCode::Char('j'), NONE);
        assert_eq!(action_for_key(View::Matrix, &j), Some(Action::Down));
        assert_eq!(action_for_key(View::Builds, &j), None);
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
    }
}
