//! What the Tests view's keys do (the console where a test failed is the shell's: it goes to
//! the Cluster view).

use super::TestsState;
use crate::tui::app::{Cx, Request, Update};
use crate::tui::keymap::Action;

impl TestsState {
    /// Does what a Tests view `action` means.
    pub fn on_action(&mut self, action: Action, cx: &mut Cx) -> Update {
        match action {
            Action::Up => {
                self.move_by(-1);
                Update::REDRAW
            }
            Action::Down => {
                self.move_by(1);
                Update::REDRAW
            }
            Action::RunTest => {
                if let Some(running) = &self.running {
                    return cx.tell(format!("{running} runs; one test at a time"), true);
                }
                if cx.cluster_busy {
                    return cx.tell(
                        "a cluster runs in the Cluster view; D there tears it down first",
                        true,
                    );
                }
                let Some(row) = self.selected() else {
                    return Update::NOTHING;
                };
                let def = row.def.clone();
                cx.tell(
                    format!(
                        "{} starts: its nodes show in the Cluster view (3)",
                        def.name
                    ),
                    false,
                );
                Update {
                    redraw: true,
                    request: Some(Request::Test(def)),
                }
            }
            _ => Update::NOTHING,
        }
    }
}
