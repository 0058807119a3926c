//! What the Cluster view's keys do, and the attached console.

use crossterm::event::KeyEvent;

use crate::session::Command;
use crate::tui::app::{App, Message, Mode, Request, Update};
use crate::tui::keymap::Action;
use crate::tui::views::cluster::{self, Owner, Phase};

impl App {
    pub(crate) fn cluster_action(&mut self, action: Action) -> Update {
        let request = |r: Request| Update {
            redraw: true,
            request: Some(r),
        };
        let commands = |c: Vec<Command>| request(Request::Session(c));
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
                request(Request::ClusterUp(profile))
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
                commands(vec![Command::Down])
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
                let nodes: Vec<String> = if action == Action::RestartNode {
                    match self.cluster.selected() {
                        Some(n) => vec![n.name.clone()],
                        None => return Update::NOTHING,
                    }
                } else {
                    self.cluster.nodes.iter().map(|n| n.name.clone()).collect()
                };
                self.cluster.log.to_end();
                commands(nodes.into_iter().map(Command::Restart).collect())
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
                commands(vec![Command::Link {
                    node: name,
                    nic: nic.into(),
                    up,
                }])
            }
            Action::Topology => {
                self.cluster.show_topology = !self.cluster.show_topology;
                if self.cluster.show_topology {
                    return commands(vec![Command::Topology]);
                }
                Update::REDRAW
            }
            Action::ResetNode | Action::KillNode => {
                let Some(node) = self.cluster.selected() else {
                    return Update::NOTHING;
                };
                let name = node.name.clone();
                commands(vec![if action == Action::ResetNode {
                    Command::Reset(name)
                } else {
                    Command::Kill(name)
                }])
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
