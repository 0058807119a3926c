//! State of the Cluster view: the cluster the workbench runs, its nodes on their way up, the
//! selected node's console, and the attached console that receives the keys.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::cluster::engine::{ClusterUpdate, NodeState};
use crate::supervise::Child;

/// Progress lines kept for the view.
pub const KEPT_NOTES: usize = 200;

/// Where the cluster is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// No cluster.
    Idle,
    /// Image, switches and nodes are starting.
    Starting,
    /// Every QEMU runs (nodes may still be booting).
    Running,
    /// Being torn down.
    Stopping,
    /// It could not start: why.
    Failed(String),
}

/// One node as the view shows it.
#[derive(Debug, Clone)]
pub struct NodeView {
    /// Its name.
    pub name: String,
    /// Where it is.
    pub state: NodeState,
    /// Its QEMU (the serial console is its screen).
    pub child: Option<Child>,
    /// When its QEMU started.
    pub started: Instant,
    /// NICs whose link the user set down.
    pub links_down: BTreeMap<String, bool>,
}

/// The Cluster view's state.
#[derive(Debug, Clone)]
pub struct ClusterState {
    /// The profile of the cluster.
    pub profile: Option<String>,
    /// Where the cluster is.
    pub phase: Phase,
    /// The nodes in plan order.
    pub nodes: Vec<NodeView>,
    /// Progress lines (image, switches, teardown).
    pub notes: VecDeque<String>,
    /// The selected node.
    pub selected: usize,
    /// The selected node's console receives the keys.
    pub attached: bool,
    /// The topology (switch ports, VLANs, packet counters) shows instead of the console.
    pub show_topology: bool,
    /// The last topology read from the switches.
    pub topology: String,
}

impl Default for ClusterState {
    fn default() -> Self {
        ClusterState {
            profile: None,
            phase: Phase::Idle,
            nodes: Vec::new(),
            notes: VecDeque::new(),
            selected: 0,
            attached: false,
            show_topology: false,
            topology: String::new(),
        }
    }
}

impl ClusterState {
    /// A new cluster of `profile` is starting.
    pub fn starting(&mut self, profile: &str) {
        *self = ClusterState {
            profile: Some(profile.to_string()),
            phase: Phase::Starting,
            ..ClusterState::default()
        };
        self.note(format!("starting the {profile} cluster"));
    }

    /// Adds a progress line.
    pub fn note(&mut self, text: String) {
        if self.notes.len() == KEPT_NOTES {
            self.notes.pop_front();
        }
        self.notes.push_back(text);
    }

    /// Applies an engine update.
    pub fn apply(&mut self, update: ClusterUpdate) {
        match update {
            ClusterUpdate::Note(text) => self.note(text),
            ClusterUpdate::Console { node, child } => {
                self.nodes.retain(|n| n.name != node);
                self.nodes.push(NodeView {
                    name: node,
                    state: NodeState::Starting,
                    child: Some(child),
                    started: Instant::now(),
                    links_down: BTreeMap::new(),
                });
            }
            ClusterUpdate::Line { .. } => {}
            ClusterUpdate::Topology(text) => self.topology = text,
            ClusterUpdate::State { node, state } => {
                if let Some(n) = self.nodes.iter_mut().find(|n| n.name == node) {
                    n.state = state;
                }
            }
        }
    }

    /// The selected node.
    pub fn selected(&self) -> Option<&NodeView> {
        self.nodes.get(self.selected)
    }

    /// Moves the selection.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.nodes.len().saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
    }

    /// How many nodes are ready.
    pub fn ready(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| matches!(n.state, NodeState::Ready(_)))
            .count()
    }
}

/// The bytes a terminal sends for a key, for an attached console.
pub fn key_bytes(key: &KeyEvent) -> Vec<u8> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Char(c) if ctrl && c.is_ascii_alphabetic() => {
            vec![(c.to_ascii_lowercase() as u8) & 0x1f]
        }
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => b"\r".to_vec(),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Tab => b"\t".to_vec(),
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => b"\x1b[A".to_vec(),
        KeyCode::Down => b"\x1b[B".to_vec(),
        KeyCode::Right => b"\x1b[C".to_vec(),
        KeyCode::Left => b"\x1b[D".to_vec(),
        KeyCode::Home => b"\x1b[H".to_vec(),
        KeyCode::End => b"\x1b[F".to_vec(),
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        _ => Vec::new(),
    }
}

/// Whether `key` is the chord that leaves an attached console (Ctrl-]).
pub fn is_detach(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(key.code, KeyCode::Char(']') | KeyCode::Char('5'))
}

/// The resident memory of a process in MiB, from `/proc/<pid>/status`.
pub fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_the_bytes_a_terminal_sends() {
        let k = |code, mods| KeyEvent::new(code, mods);
        assert_eq!(key_bytes(&k(KeyCode::Char('a'), KeyModifiers::NONE)), b"a");
        assert_eq!(
            key_bytes(&k(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            [3]
        );
        assert_eq!(key_bytes(&k(KeyCode::Enter, KeyModifiers::NONE)), b"\r");
        assert_eq!(key_bytes(&k(KeyCode::Up, KeyModifiers::NONE)), b"\x1b[A");
        assert!(is_detach(&k(KeyCode::Char(']'), KeyModifiers::CONTROL)));
        assert!(!is_detach(&k(KeyCode::Char(']'), KeyModifiers::NONE)));
    }

    #[test]
    fn updates_fill_the_tiles() {
        let mut s = ClusterState::default();
        s.starting("simple");
        assert_eq!(s.phase, Phase::Starting);
        s.apply(ClusterUpdate::State {
            node: "ghost".into(),
            state: NodeState::Booting,
        });
        assert!(s.nodes.is_empty(), "states of unknown nodes are ignored");
        s.apply(ClusterUpdate::Note("switch sw-eth1".into()));
        assert_eq!(s.notes.back().unwrap(), "switch sw-eth1");
        assert_eq!(s.ready(), 0);
    }
}
