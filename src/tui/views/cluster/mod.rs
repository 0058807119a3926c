//! The Cluster view: the cluster the workbench runs (or one another `n3x` process owns, seen
//! through its sockets, or a test run's), its nodes on their way up, the selected node's
//! console with its scrollback, and the attached console that receives the keys (this file);
//! what its keys do ([`actions`]), its drawing ([`draw`]), its keys ([`keys`]).

pub mod actions;
pub mod draw;
pub mod keys;

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::cluster::engine::{ClusterUpdate, NodeState};
use crate::cluster::procstat::CpuMeter;
use crate::cluster::remote::RemoteConsole;
use crate::readiness::ReadinessUpdate;
use crate::readiness::{CLUSTER, Outcome, StageEvent};
use crate::scenario::TestUpdate;
use crate::session::SessionUpdate;
use crate::supervise::Child;
use crate::tui::log_pane::{LogView, NO_LINES};

/// Progress lines kept for the view.
pub const KEPT_NOTES: usize = 200;

/// Console lines each node keeps for the scrollback and the search (the console log keeps
/// all).
pub const KEPT_LINES: usize = 5000;

/// A node's serial console: this process's PTY, or the owner's through its relay.
#[derive(Debug, Clone)]
pub enum Console {
    /// The workbench runs the QEMU.
    Local(Child),
    /// Another `n3x` process does.
    Remote(RemoteConsole),
}

impl Console {
    /// The QEMU's pid.
    pub fn pid(&self) -> u32 {
        match self {
            Console::Local(c) => c.pid(),
            Console::Remote(r) => r.pid(),
        }
    }

    /// Runs `f` on the console's screen.
    pub fn with_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        match self {
            Console::Local(c) => c.with_screen(f),
            Console::Remote(r) => r.with_screen(f),
        }
    }

    /// Sends keys.
    pub fn write_input(&self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Console::Local(c) => c.write_input(bytes).map_err(|e| e.to_string()),
            Console::Remote(r) => r.write_input(bytes).map_err(|e| e.to_string()),
        }
    }

    /// Fits the console to the pane: a local PTY is resized (the guest sees a new size); a
    /// remote one only resizes its screen here.
    pub fn fit(&self, rows: u16, cols: u16) {
        match self {
            Console::Local(c) => {
                if rows > 0 && cols > 0 && c.with_screen(|s| s.size()) != (rows, cols) {
                    let _ = c.resize(rows, cols);
                }
            }
            Console::Remote(r) => r.fit(rows, cols),
        }
    }
}

/// Who owns the cluster on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This workbench: quitting tears it down.
    Here,
    /// Another `n3x` process (its pid): quitting leaves the cluster running.
    Other(u32),
}

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
    /// Its serial console.
    pub console: Option<Console>,
    /// When its QEMU started.
    pub started: Instant,
    /// NICs whose link the user set down.
    pub links_down: BTreeMap<String, bool>,
    /// The console's recent lines (without escape codes).
    pub lines: VecDeque<String>,
    /// Its QEMU's CPU use.
    pub cpu: CpuMeter,
    /// Its latest readiness stage.
    pub stage: Option<StageEvent>,
    /// Its k3s is the n3x test stand-in, not k3s.
    pub standin: bool,
    /// Console lines that never reached the view (the console log has them).
    pub dropped: u64,
}

impl NodeView {
    fn new(name: String, console: Option<Console>) -> NodeView {
        NodeView {
            name,
            state: NodeState::Starting,
            console,
            started: Instant::now(),
            links_down: BTreeMap::new(),
            lines: VecDeque::new(),
            cpu: CpuMeter::default(),
            stage: None,
            standin: false,
            dropped: 0,
        }
    }
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
    /// Who owns the cluster.
    pub owner: Owner,
    /// The console pane: following or paused, and its search.
    pub log: LogView,
    /// The cluster on screen is a test run's (the Tests view started it).
    pub shows_test: bool,
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
            owner: Owner::Here,
            log: LogView::default(),
            shows_test: false,
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

    /// A cluster another process owns, found through its runtime directory: its nodes, whose
    /// consoles and states arrive as updates.
    pub fn following(&mut self, info: &crate::cluster::info::ClusterInfo) {
        *self = ClusterState {
            profile: Some(info.profile.clone()),
            phase: Phase::Running,
            owner: Owner::Other(info.owner),
            nodes: info
                .nodes
                .iter()
                .map(|n| NodeView::new(n.name.clone(), None))
                .collect(),
            ..ClusterState::default()
        };
        self.note(format!(
            "the {} cluster of n3x pid {} (console logs in {}): quitting leaves it running, D tears it down",
            info.profile,
            info.owner,
            info.logs.display()
        ));
    }

    /// The console pane and the selected node's lines.
    pub fn log_and_lines(&mut self) -> (&mut LogView, &VecDeque<String>) {
        let lines = self
            .nodes
            .get(self.selected)
            .map_or(&NO_LINES, |n| &n.lines);
        (&mut self.log, lines)
    }

    /// Adds a progress line.
    pub fn note(&mut self, text: String) {
        if self.notes.len() == KEPT_NOTES {
            self.notes.pop_front();
        }
        self.notes.push_back(text);
    }

    /// Whether a cluster is on screen and runs (starting or running).
    pub fn runs(&self) -> bool {
        matches!(self.phase, Phase::Starting | Phase::Running)
    }

    /// Applies what happened to the session of the cluster on screen.
    pub fn on_update(&mut self, update: SessionUpdate) {
        match update {
            SessionUpdate::Cluster(update) => self.apply(update),
            SessionUpdate::Readiness(update) => self.readiness(update),
            SessionUpdate::Report(_) | SessionUpdate::Stopping => {}
            SessionUpdate::Started(Ok(info)) => {
                if info.owner == std::process::id() {
                    self.phase = Phase::Running;
                } else {
                    // Another process owns it: the view shows its nodes as they come.
                    self.following(&info);
                }
            }
            SessionUpdate::Started(Err(why)) => {
                let why = why.to_string();
                self.note(format!("failed: {why}"));
                self.phase = Phase::Failed(why);
            }
            SessionUpdate::Stopped => {
                self.phase = Phase::Idle;
                self.attached = false;
                self.note("the cluster is down: every VM and switch stopped".into());
                for node in &mut self.nodes {
                    node.state = NodeState::Stopped;
                    node.console = None;
                }
            }
        }
    }

    /// Applies a test run's update: its cluster shows here while no other cluster runs here.
    /// Says what the status line should tell when the test ends.
    pub fn on_test_update(&mut self, update: &TestUpdate) -> Option<String> {
        match update {
            TestUpdate::Started { profile, .. } if !self.runs() || self.shows_test => {
                self.starting(profile);
                self.shows_test = true;
            }
            TestUpdate::Session { update, .. } if self.shows_test => match update {
                SessionUpdate::Cluster(update) => {
                    if matches!(update, ClusterUpdate::Console { .. }) {
                        self.phase = Phase::Running;
                    }
                    self.apply(update.clone());
                }
                SessionUpdate::Readiness(update) => self.readiness(update.clone()),
                // The test says when its cluster is down; its consoles stay readable.
                SessionUpdate::Report(_)
                | SessionUpdate::Started(_)
                | SessionUpdate::Stopping
                | SessionUpdate::Stopped => {}
            },
            TestUpdate::Finished(result) if self.shows_test => {
                self.phase = Phase::Idle;
                self.note(format!(
                    "{} {}: its cluster is down",
                    result.name,
                    result.verdict.word()
                ));
                return Some(format!(
                    "{} {} in {}{}",
                    result.name,
                    result.verdict.word(),
                    crate::scenario::result::secs(result.duration),
                    result
                        .failure
                        .as_ref()
                        .map(|f| format!(": {} stopped at {}", f.node, f.stage))
                        .unwrap_or_default()
                ));
            }
            _ => {}
        }
        None
    }

    /// Selects `node`'s console (of a test's cluster still on screen) and pauses it `back`
    /// lines up from its end (at most its kept lines); how far back it went, or `None` when
    /// the console is no longer here.
    pub fn show_console_at(&mut self, node: &str, back: usize) -> Option<usize> {
        let i = self
            .nodes
            .iter()
            .position(|n| n.name == node && n.console.is_some())
            .filter(|_| self.shows_test)?;
        let back = back.min(self.nodes[i].lines.len());
        self.log.paused = true;
        self.log.scroll = back;
        self.selected = i;
        self.show_topology = false;
        Some(back)
    }

    /// Applies what the readiness engine found.
    pub fn readiness(&mut self, update: ReadinessUpdate) {
        match update {
            ReadinessUpdate::Stage(event) => {
                if matches!(
                    event.outcome,
                    Outcome::Failed { .. } | Outcome::Undecided { .. }
                ) || event.node == CLUSTER
                {
                    self.note(event.line());
                }
                if let Some(n) = self.nodes.iter_mut().find(|n| n.name == event.node) {
                    n.standin |= event.marks_standin();
                    n.stage = Some(event);
                }
            }
            ReadinessUpdate::Signature(hit) => self.note(hit.lines()),
        }
    }

    /// Applies a cluster engine update.
    pub fn apply(&mut self, update: ClusterUpdate) {
        match update {
            ClusterUpdate::Note(text) => self.note(text),
            ClusterUpdate::Console { node, child } => self.console(node, Console::Local(child)),
            ClusterUpdate::Remote { node, console } => self.console(node, Console::Remote(console)),
            ClusterUpdate::Line { node, text } => {
                if let Some(n) = self.nodes.iter_mut().find(|n| n.name == node) {
                    if n.lines.len() == KEPT_LINES {
                        n.lines.pop_front();
                    }
                    n.lines.push_back(text);
                }
            }
            ClusterUpdate::Topology(text) => self.topology = text,
            ClusterUpdate::State { node, state } => {
                if let Some(n) = self.nodes.iter_mut().find(|n| n.name == node) {
                    n.state = state;
                }
            }
            ClusterUpdate::Dropped { node, lines } => {
                if let Some(n) = self.nodes.iter_mut().find(|n| n.name == node) {
                    n.dropped += lines;
                }
            }
        }
    }

    /// A node's QEMU (re)started: its tile starts over, keeping its place and its lines.
    fn console(&mut self, node: String, console: Console) {
        match self.nodes.iter_mut().find(|n| n.name == node) {
            Some(n) => {
                n.console = Some(console);
                n.state = NodeState::Starting;
                n.started = Instant::now();
                n.links_down.clear();
                n.cpu = CpuMeter::default();
            }
            None => self.nodes.push(NodeView::new(node, Some(console))),
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
        self.log.to_end();
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

    #[test]
    fn a_cluster_of_another_process_keeps_its_lines_across_a_restart() {
        let mut s = ClusterState::default();
        let info = crate::cluster::info::ClusterInfo {
            profile: "simple".into(),
            owner: 4242,
            accel: "tcg".into(),
            nodes: vec![crate::cluster::info::NodeInfo {
                name: "server-1".into(),
                role: "server".into(),
                pid: 1,
                control: "/r/c".into(),
                qmp: "/r/q".into(),
                console: "/r/s".into(),
                console_log: "/l/server-1.console.log".into(),
                nics: vec![],
            }],
            logs: "/l".into(),
            switches: vec![],
            owner_socket: None,
        };
        s.following(&info);
        assert_eq!(s.owner, Owner::Other(4242));
        assert_eq!(s.phase, Phase::Running);
        assert!(
            s.notes
                .back()
                .unwrap()
                .contains("quitting leaves it running")
        );
        for i in 0..3 {
            s.apply(ClusterUpdate::Line {
                node: "server-1".into(),
                text: format!("line {i}"),
            });
        }
        s.apply(ClusterUpdate::State {
            node: "server-1".into(),
            state: NodeState::Ready(vec![]),
        });
        assert_eq!(s.ready(), 1);
        // The owner restarted it: a new console; the tile starts over, the lines stay.
        let rt = tokio::runtime::Runtime::new().unwrap();
        let _enter = rt.enter();
        s.apply(ClusterUpdate::Remote {
            node: "server-1".into(),
            console: RemoteConsole::connect("/nonexistent/s".into(), 77),
        });
        assert_eq!(s.nodes.len(), 1);
        assert_eq!(s.nodes[0].state, NodeState::Starting);
        assert_eq!(s.nodes[0].console.as_ref().unwrap().pid(), 77);
        assert_eq!(s.log_and_lines().1.len(), 3);
    }
}
