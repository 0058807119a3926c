//! What the Cluster view's keys do, and the attached console.

use crossterm::event::KeyEvent;

use crate::tui::app::{App, Message, Mode, Request, Update};
use crate::tui::keymap::Action;
use crate::tui::views::cluster::{self, Owner, Phase};

/// What the workbench asks of its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterRequest {
    /// Boot the cluster of a profile.
    Up(String),
    /// Tear it down.
    Down,
    /// Set a node's NIC link.
    Link {
        /// The node.
        node: String,
        /// The NIC.
        nic: String,
        /// Up or down.
        up: bool,
    },
    /// Reset a node.
    Reset(String),
    /// Kill a node's QEMU.
    Kill(String),
    /// Stop a node's QEMU and start it again (`None`: every node).
    Restart(Option<String>),
    /// Read the switches' ports and counters.
    Topology,
    /// Look for a cluster another `n3x` process owns, and follow it.
    Discover,
}

impl App {
    pub(crate) fn cluster_action(&mut self, action: Action) -> Update {
        let request = |r: ClusterRequest| Update {
            redraw: true,
            request: Some(Request::Cluster(r)),
        };
        match action {
            Action::ClusterUp => {
                if matches!(self.cluster.phase, Phase::Starting | Phase::Running) {
                    return self.cluster_says("a cluster runs already; D tears it down");
                }
                // The profile of the variant selected in the Matrix view, else the first.
                let profile = self
                    .matrix
                    .selected_variant()
                    .and_then(|v| v.profile.clone())
                    .or_else(|| self.profiles().networks.keys().next().cloned());
                let Some(profile) = profile else {
                    return self.cluster_says("no network profile to boot");
                };
                self.cluster.starting(&profile);
                request(ClusterRequest::Up(profile))
            }
            Action::ClusterDown => {
                if !matches!(self.cluster.phase, Phase::Running | Phase::Starting) {
                    return self.cluster_says("no cluster runs");
                }
                if let Owner::Other(pid) = self.cluster.owner
                    && self.mode != Mode::ConfirmDown
                {
                    // Not ours: ask first, it may be someone else's work.
                    self.mode = Mode::ConfirmDown;
                    return self.cluster_says(&format!(
                        "tear down the cluster of n3x pid {pid}? y tears it down, any other key keeps it"
                    ));
                }
                self.mode = Mode::Normal;
                self.cluster.phase = Phase::Stopping;
                self.cluster.attached = false;
                request(ClusterRequest::Down)
            }
            a if a.is_log_pane() => {
                let (log, lines) = self.cluster.log_and_lines();
                let outcome = log.action(lines, action);
                self.log_outcome(outcome)
            }
            Action::RestartNode | Action::RestartAll => {
                if !matches!(self.cluster.phase, Phase::Running) {
                    return self.cluster_says("no cluster runs");
                }
                let node = if action == Action::RestartNode {
                    match self.cluster.selected() {
                        Some(n) => Some(n.name.clone()),
                        None => return Update::NOTHING,
                    }
                } else {
                    None
                };
                self.cluster.log.to_end();
                request(ClusterRequest::Restart(node))
            }
            Action::Up => {
                self.cluster.move_by(-1);
                Update::REDRAW
            }
            Action::Down => {
                self.cluster.move_by(1);
                Update::REDRAW
            }
            Action::Attach => {
                let Some(node) = self.cluster.selected() else {
                    return self.cluster_says("no node to attach to; u boots the cluster");
                };
                if node.console.is_none() {
                    return self.cluster_says("this node has no console yet");
                }
                self.cluster.attached = true;
                self.mode = Mode::Attached;
                Update::REDRAW
            }
            Action::LinkEth1 | Action::LinkEth2 => {
                let nic = if action == Action::LinkEth1 {
                    "eth1"
                } else {
                    "eth2"
                };
                let Some(node) = self.cluster.nodes.get_mut(self.cluster.selected) else {
                    return Update::NOTHING;
                };
                let down = node.links_down.entry(nic.to_string()).or_insert(false);
                *down = !*down;
                let up = !*down;
                let name = node.name.clone();
                request(ClusterRequest::Link {
                    node: name,
                    nic: nic.into(),
                    up,
                })
            }
            Action::Topology => {
                self.cluster.show_topology = !self.cluster.show_topology;
                if self.cluster.show_topology {
                    return request(ClusterRequest::Topology);
                }
                Update::REDRAW
            }
            Action::ResetNode | Action::KillNode => {
                let Some(node) = self.cluster.selected() else {
                    return Update::NOTHING;
                };
                let name = node.name.clone();
                request(if action == Action::ResetNode {
                    ClusterRequest::Reset(name)
                } else {
                    ClusterRequest::Kill(name)
                })
            }
            _ => Update::NOTHING,
        }
    }

    fn cluster_says(&mut self, text: &str) -> Update {
        self.message = Some(Message {
            text: text.into(),
            error: false,
        });
        Update::REDRAW
    }

    /// A key while a console is attached: Ctrl-] leaves, everything else goes to the node.
    pub(crate) fn attached_key(&mut self, key: KeyEvent) -> Update {
        if cluster::is_detach(&key) {
            self.cluster.attached = false;
            self.mode = Mode::Normal;
            return Update::REDRAW;
        }
        let Some(child) = self.cluster.selected().and_then(|n| n.console.clone()) else {
            self.cluster.attached = false;
            self.mode = Mode::Normal;
            return Update::REDRAW;
        };
        let bytes = cluster::key_bytes(&key);
        if !bytes.is_empty() && child.write_input(&bytes).is_err() {
            self.cluster.attached = false;
            self.mode = Mode::Normal;
            return self.cluster_says("the console has ended; detached");
        }
        // The console's output redraws the pane.
        Update::NOTHING
    }

    /// The answer to "tear down the cluster of another process?".
    pub(crate) fn confirm_down_key(&mut self, key: KeyEvent) -> Update {
        self.message = None;
        if matches!(key.code, crossterm::event::KeyCode::Char('y')) {
            return self.cluster_action(Action::ClusterDown);
        }
        self.mode = Mode::Normal;
        self.cluster_says("the cluster keeps running")
    }
}
