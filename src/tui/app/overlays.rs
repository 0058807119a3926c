//! The overlays' keys: the command palette, the profile file chooser, the backend chooser and
//! the profile editor, which take the keys while they are open.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Message, Mode, Request, Update};
use crate::profile;
use crate::tui::editor::{Editor, Outcome as EditorOutcome};
use crate::tui::views::builds;

impl App {
    pub(super) fn palette_key(&mut self, key: KeyEvent) -> Update {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let count = self.palette_entries().len();
        match key.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                let chosen = self.palette_entries().get(self.palette.selected).copied();
                self.mode = Mode::Normal;
                if let Some(binding) = chosen {
                    let update = self.perform(binding.action);
                    return Update {
                        redraw: true,
                        ..update
                    };
                }
            }
            KeyCode::Up => self.palette.selected = self.palette.selected.saturating_sub(1),
            KeyCode::Char('p') if ctrl => {
                self.palette.selected = self.palette.selected.saturating_sub(1)
            }
            KeyCode::Down => {
                self.palette.selected = (self.palette.selected + 1).min(count.saturating_sub(1))
            }
            KeyCode::Char('n') if ctrl => {
                self.palette.selected = (self.palette.selected + 1).min(count.saturating_sub(1))
            }
            KeyCode::Backspace => {
                self.palette.query.pop();
                self.palette.selected = 0;
            }
            KeyCode::Char(c) if !ctrl => {
                self.palette.query.push(c);
                self.palette.selected = 0;
            }
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }

    /// A key while the backend chooser is open.
    pub(super) fn backend_key(&mut self, key: KeyEvent) -> Update {
        let Some((variant, highlighted)) = self.backend_choice.clone() else {
            self.mode = Mode::Normal;
            return Update::REDRAW;
        };
        let chosen = match key.code {
            KeyCode::Esc => None,
            KeyCode::Enter => Some(builds::BACKENDS[highlighted].0),
            KeyCode::Up | KeyCode::Char('k') => {
                self.backend_choice = Some((variant, highlighted.saturating_sub(1)));
                return Update::REDRAW;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                let last = builds::BACKENDS.len() - 1;
                self.backend_choice = Some((variant, (highlighted + 1).min(last)));
                return Update::REDRAW;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                match builds::BACKENDS.iter().find(|(_, k, _)| *k == c) {
                    Some((b, _, _)) => Some(*b),
                    None => return Update::NOTHING,
                }
            }
            _ => return Update::NOTHING,
        };
        self.mode = Mode::Normal;
        self.backend_choice = None;
        let Some(backend) = chosen else {
            return Update::REDRAW;
        };
        self.start_build(variant, backend)
    }

    /// Opens the network profile of the selected variant (its machine's file for variants
    /// without one) in the editor.
    pub(super) fn edit_selected(&mut self) -> Update {
        let Some(v) = self.matrix.selected_variant() else {
            return Update::NOTHING;
        };
        let root = self.profiles.root.clone();
        let file = match &v.profile {
            Some(name) => profile::profile_files(&root)
                .into_iter()
                .find(|f| f.file_stem().is_some_and(|s| s == name.as_str()))
                .unwrap_or_else(|| self.profiles.network_file(name)),
            None => root.join(profile::MACHINES_FILE),
        };
        self.open_editor(&file)
    }

    /// Opens `file` in the editor.
    pub fn open_editor(&mut self, file: &std::path::Path) -> Update {
        let root = self.profiles.root.clone();
        let file = if file.is_absolute() {
            file.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|d| d.join(file))
                .unwrap_or_else(|_| file.to_path_buf())
        };
        // The editor compares paths with the ones profile loading builds from the root.
        let file = profile::profile_files(&root)
            .into_iter()
            .find(|f| same_file(f, &file))
            .unwrap_or(file);
        match Editor::open(&root, &file) {
            Ok(editor) => {
                self.editor = Some(editor);
                self.mode = Mode::Edit;
            }
            Err(e) => {
                self.message = Some(Message {
                    text: format!(
                        "cannot open {}: {e}",
                        profile::display_path(&file).display()
                    ),
                    error: true,
                });
            }
        }
        Update::REDRAW
    }

    pub(super) fn editor_key(&mut self, key: KeyEvent) -> Update {
        let Some(editor) = self.editor.as_mut() else {
            self.mode = Mode::Normal;
            return Update::REDRAW;
        };
        let reload = Update {
            redraw: true,
            request: Some(Request::ReloadProfiles),
        };
        match editor.key(key) {
            EditorOutcome::Nothing => Update::NOTHING,
            EditorOutcome::Redraw => Update::REDRAW,
            EditorOutcome::Help => {
                self.help_scroll = 0;
                self.mode = Mode::Help;
                Update::REDRAW
            }
            EditorOutcome::Saved => reload,
            EditorOutcome::Close { saved } => {
                let shown = editor.shown_path();
                self.editor = None;
                self.mode = Mode::Normal;
                self.message = Some(Message {
                    text: format!("closed {}", shown.display()),
                    error: false,
                });
                if saved { reload } else { Update::REDRAW }
            }
            EditorOutcome::Quit => Update {
                redraw: false,
                request: Some(Request::Quit),
            },
        }
    }

    pub(super) fn choose_key(&mut self, key: KeyEvent) -> Update {
        let count = self.chooser.matches().len();
        match key.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                self.mode = Mode::Normal;
                if let Some(file) = self.chooser.matches().get(self.chooser.selected) {
                    let file = (*file).clone();
                    return self.open_editor(&file);
                }
            }
            KeyCode::Up => self.chooser.selected = self.chooser.selected.saturating_sub(1),
            KeyCode::Down => {
                self.chooser.selected = (self.chooser.selected + 1).min(count.saturating_sub(1))
            }
            KeyCode::Backspace => {
                self.chooser.query.pop();
                self.chooser.selected = 0;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.chooser.query.push(c);
                self.chooser.selected = 0;
            }
            _ => return Update::NOTHING,
        }
        Update::REDRAW
    }
}

/// Whether two paths name the same file (comparing canonical paths when both exist).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
