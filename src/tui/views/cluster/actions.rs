//! What the Cluster view's keys do, and the attached console.

use crossterm::event::{KeyCode, KeyEvent};

use super::{ClusterState, Owner, Phase, is_detach, key_bytes};
use crate::session::Command;
use crate::tui::app::{Cx, Mode, Request, Update};
use crate::tui::keymap::Action;

impl ClusterState {
    /// Does what a Cluster view `action` means.
    pub fn on_action(&mut self, action: Action, cx: &mut Cx) -> Update {
        let request = |r: Request| Update {
            redraw: true,
            request: Some(r),
        };
        let commands = |c: Vec<Command>| request(Request::Session(c));
        match action {
            Action::ClusterUp => {
                if matches!(self.phase, Phase::Starting | Phase::Running) {
                    return cx.tell("a cluster runs already; D tears it down", false);
                }
                // The profile of the variant selected in the Matrix view, else the first.
                let profile = cx
                    .variant
                    .and_then(|v| v.profile.clone())
                    .or_else(|| cx.profiles.networks.keys().next().cloned());
                let Some(profile) = profile else {
                    return cx.tell("no network profile to boot", false);
                };
                self.starting(&profile);
                request(Request::ClusterUp(profile))
            }
            Action::ClusterDown => self.down(cx),
            a if a.is_log_pane() => {
                let (log, lines) = self.log_and_lines();
                let outcome = log.action(lines, action);
                cx.log_outcome(outcome)
            }
            Action::RestartNode | Action::RestartAll => {
                if !matches!(self.phase, Phase::Running) {
                    return cx.tell("no cluster runs", false);
                }
                let nodes: Vec<String> = if action == Action::RestartNode {
                    match self.selected() {
                        Some(n) => vec![n.name.clone()],
                        None => return Update::NOTHING,
                    }
                } else {
                    self.nodes.iter().map(|n| n.name.clone()).collect()
                };
                self.log.to_end();
                commands(nodes.into_iter().map(Command::Restart).collect())
            }
            Action::Up => {
                self.move_by(-1);
                Update::REDRAW
            }
            Action::Down => {
                self.move_by(1);
                Update::REDRAW
            }
            Action::Attach => {
                let Some(node) = self.selected() else {
                    return cx.tell("no node to attach to; u boots the cluster", false);
                };
                if node.console.is_none() {
                    return cx.tell("this node has no console yet", false);
                }
                self.attached = true;
                *cx.mode = Mode::Attached;
                Update::REDRAW
            }
            Action::LinkEth1 | Action::LinkEth2 => {
                let nic = if action == Action::LinkEth1 {
                    "eth1"
                } else {
                    "eth2"
                };
                let Some(node) = self.nodes.get_mut(self.selected) else {
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
                self.show_topology = !self.show_topology;
                if self.show_topology {
                    return commands(vec![Command::Topology]);
                }
                Update::REDRAW
            }
            Action::ResetNode | Action::KillNode => {
                let Some(node) = self.selected() else {
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

    /// Tears the cluster down; one another process owns only once the user said yes.
    fn down(&mut self, cx: &mut Cx) -> Update {
        if !matches!(self.phase, Phase::Running | Phase::Starting) {
            return cx.tell("no cluster runs", false);
        }
        if let Owner::Other(pid) = self.owner
            && *cx.mode != Mode::ConfirmDown
        {
            // Not ours: ask first, it may be someone else's work.
            *cx.mode = Mode::ConfirmDown;
            return cx.tell(
                format!(
                    "tear down the cluster of n3x pid {pid}? y tears it down, any other key keeps it"
                ),
                false,
            );
        }
        *cx.mode = Mode::Normal;
        self.phase = Phase::Stopping;
        self.attached = false;
        Update {
            redraw: true,
            request: Some(Request::Session(vec![Command::Down])),
        }
    }

    /// A key while a console is attached: Ctrl-] leaves, everything else goes to the node.
    pub fn attached_key(&mut self, key: KeyEvent, cx: &mut Cx) -> Update {
        if is_detach(&key) {
            self.attached = false;
            *cx.mode = Mode::Normal;
            return Update::REDRAW;
        }
        let Some(child) = self.selected().and_then(|n| n.console.clone()) else {
            self.attached = false;
            *cx.mode = Mode::Normal;
            return Update::REDRAW;
        };
        let bytes = key_bytes(&key);
        if !bytes.is_empty() && child.write_input(&bytes).is_err() {
            self.attached = false;
            *cx.mode = Mode::Normal;
            return cx.tell("the console has ended; detached", false);
        }
        // The console's output redraws the pane.
        Update::NOTHING
    }

    /// The answer to "tear down the cluster of another process?".
    pub fn confirm_down_key(&mut self, key: KeyEvent, cx: &mut Cx) -> Update {
        *cx.message = None;
        if matches!(key.code, KeyCode::Char('y')) {
            return self.down(cx);
        }
        *cx.mode = Mode::Normal;
        cx.tell("the cluster keeps running", false)
    }

    /// A key while the console's search is typed.
    pub fn search_key(&mut self, key: KeyEvent, cx: &mut Cx) -> Update {
        let (log, lines) = self.log_and_lines();
        let outcome = log.search_key(lines, &key);
        cx.log_outcome(outcome)
    }
}
