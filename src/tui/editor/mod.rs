//! The profile editor: one profile file in a text area, checked as you type, with a preview of
//! what the edit does to the rendered files, atomic saves, undo and redo, and a question before
//! unsaved work is thrown away.
//!
//! [`Editor::key`] takes the keys while the editor is open and says what the workbench must do;
//! [`draw`] draws it.

pub mod check;
pub mod draw;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::app::View;
use crate::tui::keymap::{self, Action, Context};
use ratatui::style::Style;
use ratatui_textarea::{CursorMove, TextArea};

use crate::profile::{Profiles, display_path};
use crate::render::{self, output};
use check::{Check, check, rendered};
pub use draw::draw;

/// A question the editor is waiting for an answer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// The user wants to close the editor (or, with `quit`, the workbench) but the file has
    /// unsaved changes: save, discard, or keep editing?
    Unsaved {
        /// Quit the workbench after answering.
        quit: bool,
    },
    /// The user saves a file that has problems: save anyway?
    SaveInvalid {
        /// Close the editor after saving.
        close: bool,
        /// Quit the workbench after saving.
        quit: bool,
        /// Render the trees after saving (they are not rendered from broken profiles).
        render: bool,
    },
}

/// What the workbench must do after a key in the editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing changed.
    Nothing,
    /// Draw again.
    Redraw,
    /// Close the editor. `saved` says whether the profiles on disk changed during the session
    /// (so the workbench reloads them).
    Close {
        /// The file was saved at least once.
        saved: bool,
    },
    /// Quit the workbench; nothing unsaved is left.
    Quit,
    /// The file was saved; the editor stays open.
    Saved,
    /// Show the editor's keys.
    Help,
}

/// A line for the editor's own status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text.
    pub text: String,
    /// Whether it reports a problem.
    pub error: bool,
}

/// The open profile file and everything the editor knows about it.
#[derive(Debug, Clone)]
pub struct Editor {
    root: PathBuf,
    path: PathBuf,
    /// The text area with the file's lines.
    pub textarea: TextArea<'static>,
    saved_text: String,
    trailing_newline: bool,
    baseline: BTreeMap<String, String>,
    /// The verdict on the text as it stands.
    pub check: Check,
    /// How far the preview pane is scrolled (lines).
    pub preview_scroll: u16,
    /// The question being asked, if any.
    pub prompt: Option<Prompt>,
    /// What the last save or command did.
    pub note: Option<Note>,
    saved_once: bool,
}

impl Editor {
    /// Opens `path`, a profile file under the profiles directory `root`.
    pub fn open(root: &Path, path: &Path) -> io::Result<Editor> {
        let text = std::fs::read_to_string(path)?;
        // The baseline is what the saved profiles render to; when they are broken there is
        // nothing rendered to compare with, and every rendered file counts as new.
        let baseline = Profiles::load(root)
            .map(|p| rendered(&p))
            .unwrap_or_default();
        let mut editor = Editor {
            root: root.to_path_buf(),
            path: path.to_path_buf(),
            textarea: textarea(&text),
            trailing_newline: text.ends_with('\n') || text.is_empty(),
            saved_text: text,
            baseline,
            check: Check::Valid(Vec::new()),
            preview_scroll: 0,
            prompt: None,
            note: None,
            saved_once: false,
        };
        editor.recheck();
        Ok(editor)
    }

    /// The file being edited.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file as the user should read its name.
    pub fn shown_path(&self) -> PathBuf {
        display_path(&self.path)
    }

    /// The text as it stands, as it would be saved.
    pub fn text(&self) -> String {
        let mut text = self.textarea.lines().join("\n");
        if self.trailing_newline && !text.is_empty() {
            text.push('\n');
        }
        text
    }

    /// True when the text differs from the file on disk.
    pub fn is_modified(&self) -> bool {
        self.text() != self.saved_text
    }

    /// Handles one key.
    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        if let Some(prompt) = self.prompt {
            return self.answer(prompt, key);
        }
        self.note = None;
        match keymap::action_for_key(Context::editor(View::Matrix), &key) {
            Some(Action::Save) => self.save(false, false, false),
            Some(Action::SaveRender) => self.save(false, false, true),
            Some(Action::Undo) => self.edit(|t| t.undo()),
            Some(Action::Redo) => self.edit(|t| t.redo()),
            Some(Action::NextProblem) => self.jump_to_problem(true),
            Some(Action::PrevProblem) => self.jump_to_problem(false),
            Some(Action::PreviewDown) => self.scroll_preview(3),
            Some(Action::PreviewUp) => self.scroll_preview(-3),
            Some(Action::CloseEditor) => self.close(false),
            Some(Action::QuitEditor) => self.close(true),
            Some(Action::Help) => Outcome::Help,
            _ => {
                // The text area's own keys: typing, movement, selection, cut/copy/paste.
                let before = self.textarea.lines().to_vec();
                self.textarea.input(key);
                if self.textarea.lines() != before.as_slice() {
                    self.recheck();
                }
                Outcome::Redraw
            }
        }
    }

    /// Asks to close (or quit, with `quit`) when there are unsaved changes; closes otherwise.
    pub fn close(&mut self, quit: bool) -> Outcome {
        if self.is_modified() {
            self.prompt = Some(Prompt::Unsaved { quit });
            return Outcome::Redraw;
        }
        self.closed(quit)
    }

    fn closed(&self, quit: bool) -> Outcome {
        if quit {
            Outcome::Quit
        } else {
            Outcome::Close {
                saved: self.saved_once,
            }
        }
    }

    fn answer(&mut self, prompt: Prompt, key: KeyEvent) -> Outcome {
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        match (prompt, key.code) {
            (_, KeyCode::Esc) | (_, KeyCode::Char('n')) if !ctrl_c => {
                self.prompt = None;
                Outcome::Redraw
            }
            (Prompt::Unsaved { quit }, KeyCode::Char('s') | KeyCode::Char('y')) => {
                self.prompt = None;
                self.save(true, quit, false)
            }
            (Prompt::Unsaved { quit }, KeyCode::Char('d')) => {
                self.prompt = None;
                self.closed(quit)
            }
            (
                Prompt::SaveInvalid {
                    close,
                    quit,
                    render,
                },
                KeyCode::Char('y') | KeyCode::Char('s'),
            ) => {
                self.prompt = None;
                self.write(close, quit, render)
            }
            _ => Outcome::Nothing,
        }
    }

    /// Saves; asks first when the text has problems.
    fn save(&mut self, close: bool, quit: bool, render: bool) -> Outcome {
        if matches!(self.check, Check::Invalid { .. }) {
            self.prompt = Some(Prompt::SaveInvalid {
                close,
                quit,
                render,
            });
            return Outcome::Redraw;
        }
        self.write(close, quit, render)
    }

    fn write(&mut self, close: bool, quit: bool, render: bool) -> Outcome {
        let text = self.text();
        if let Err(e) = output::write_file_atomic(&self.path, &text) {
            self.note = Some(Note {
                text: format!(
                    "not saved: cannot write {}: {e}",
                    self.shown_path().display()
                ),
                error: true,
            });
            return Outcome::Redraw;
        }
        self.saved_text = text;
        self.saved_once = true;
        let mut note = format!("saved {}", self.shown_path().display());
        let mut error = false;
        match Profiles::load(&self.root) {
            Ok(profiles) => {
                let files = render::render_all(&profiles);
                if render {
                    let repo = self.root.parent().unwrap_or(Path::new("."));
                    match output::write(repo, &files, render::OWNED_DIRS) {
                        Ok(s) => note.push_str(&format!(
                            "; rendered: {} written, {} unchanged, {} stale removed",
                            s.written.len(),
                            s.unchanged,
                            s.removed.len()
                        )),
                        Err(e) => {
                            note.push_str(&format!("; not rendered: {e}"));
                            error = true;
                        }
                    }
                } else {
                    let behind = check::changes(&self.baseline, &rendered(&profiles)).len();
                    if behind > 0 {
                        note.push_str(&format!(
                            "; {behind} rendered files differ: Ctrl-R or `n3x render --all` writes them"
                        ));
                    }
                }
                if render {
                    self.baseline = files.into_iter().map(|f| (f.path, f.contents)).collect();
                }
            }
            Err(_) => {
                note.push_str(" with problems; nothing rendered (`n3x validate` lists them)");
                error = true;
            }
        }
        self.note = Some(Note { text: note, error });
        self.recheck();
        if quit || close {
            return self.closed(quit);
        }
        Outcome::Saved
    }

    fn edit(&mut self, f: impl FnOnce(&mut TextArea<'static>) -> bool) -> Outcome {
        if f(&mut self.textarea) {
            self.recheck();
            Outcome::Redraw
        } else {
            Outcome::Nothing
        }
    }

    fn recheck(&mut self) {
        self.check = check(&self.root, &self.path, &self.text(), &self.baseline);
    }

    fn scroll_preview(&mut self, by: i32) -> Outcome {
        let next = (i32::from(self.preview_scroll) + by).clamp(0, i32::from(u16::MAX));
        self.preview_scroll = u16::try_from(next).unwrap_or(0);
        Outcome::Redraw
    }

    /// Moves the cursor to the next (or previous) line with a problem, wrapping around.
    fn jump_to_problem(&mut self, forward: bool) -> Outcome {
        let lines = self.check.problem_lines();
        let here = self.textarea.cursor().0 + 1;
        let target = if forward {
            lines.iter().find(|l| **l > here).or(lines.first())
        } else {
            lines.iter().rev().find(|l| **l < here).or(lines.last())
        };
        let Some(line) = target else {
            self.note = Some(Note {
                text: "no problem with a line in this file".into(),
                error: false,
            });
            return Outcome::Redraw;
        };
        let row = u16::try_from(line - 1).unwrap_or(u16::MAX);
        self.textarea.move_cursor(CursorMove::Jump(row, 0));
        Outcome::Redraw
    }

    /// Styles the text area for `theme`.
    pub fn style(&mut self, text: Style, dim: Style, cursor_line: Style) {
        self.textarea.set_style(text);
        self.textarea.set_line_number_style(dim);
        self.textarea.set_cursor_line_style(cursor_line);
    }
}

/// Where unsaved text is kept when the workbench is ended by a signal: `<file>.n3x-unsaved`.
pub fn unsaved_copy_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".n3x-unsaved");
    file.with_file_name(name)
}

fn textarea(text: &str) -> TextArea<'static> {
    let mut area = TextArea::new(text.lines().map(str::to_string).collect());
    area.set_max_histories(1000);
    area.set_tab_length(2);
    area
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the shipped profiles in a temporary directory, so saves don't touch the repo.
    fn scratch() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&repo.join("profiles"), &dir.path().join("profiles"));
        let root = dir.path().join("profiles");
        (dir, root)
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy_dir(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn type_text(e: &mut Editor, text: &str) {
        for c in text.chars() {
            e.key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn opening_changes_nothing_and_closing_an_unmodified_file_asks_nothing() {
        let (_dir, root) = scratch();
        let mut e = Editor::open(&root, &root.join("network/simple.yaml")).unwrap();
        assert!(!e.is_modified());
        assert_eq!(e.check, Check::Valid(vec![]));
        assert_eq!(
            e.text(),
            std::fs::read_to_string(root.join("network/simple.yaml")).unwrap()
        );
        assert_eq!(e.key(key(KeyCode::Esc)), Outcome::Close { saved: false });
    }

    #[test]
    fn a_typo_is_reported_at_its_line_and_undo_takes_it_back() {
        let (_dir, root) = scratch();
        let mut e = Editor::open(&root, &root.join("network/simple.yaml")).unwrap();
        // Line 3 is `mode: static`; make it `mode: staticx`.
        e.textarea.move_cursor(CursorMove::Jump(2, 0));
        e.textarea.move_cursor(CursorMove::End);
        type_text(&mut e, "x");
        assert!(e.is_modified());
        assert_eq!(e.check.problem_lines(), vec![3], "{:?}", e.check);
        e.key(ctrl('z'));
        assert!(!e.is_modified());
        assert_eq!(e.check, Check::Valid(vec![]));
        e.key(ctrl('y'));
        assert_eq!(e.check.problem_lines(), vec![3]);
    }

    #[test]
    fn unsaved_changes_are_never_dropped_without_asking() {
        let (_dir, root) = scratch();
        let file = root.join("network/simple.yaml");
        let before = std::fs::read_to_string(&file).unwrap();
        let mut e = Editor::open(&root, &file).unwrap();
        type_text(&mut e, "# note\n");
        assert_eq!(e.key(key(KeyCode::Esc)), Outcome::Redraw);
        assert_eq!(e.prompt, Some(Prompt::Unsaved { quit: false }));
        // Esc keeps editing.
        assert_eq!(e.key(key(KeyCode::Esc)), Outcome::Redraw);
        assert_eq!(e.prompt, None);
        // Ctrl-C asks too, and `d` discards and quits.
        e.key(ctrl('c'));
        assert_eq!(e.prompt, Some(Prompt::Unsaved { quit: true }));
        assert_eq!(e.key(key(KeyCode::Char('d'))), Outcome::Quit);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    }

    #[test]
    fn saving_writes_the_file_whole_and_says_what_else_differs() {
        let (_dir, root) = scratch();
        let file = root.join("network/simple.yaml");
        let mut e = Editor::open(&root, &file).unwrap();
        let edited = e.text().replacen("192.168.1.1 }", "192.168.1.9 }", 1);
        e.textarea = textarea(&edited);
        e.recheck();
        let Check::Valid(changes) = &e.check else {
            panic!("{:?}", e.check)
        };
        assert!(!changes.is_empty());
        assert_eq!(e.key(ctrl('s')), Outcome::Saved);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);
        assert!(!e.is_modified());
        let note = e.note.clone().unwrap();
        assert!(!note.error, "{note:?}");
        assert!(note.text.contains("rendered files differ"), "{}", note.text);
        // No temporary file is left beside it.
        let leftovers: Vec<_> = std::fs::read_dir(root.join("network"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("n3x-tmp"))
            .collect();
        assert!(leftovers.is_empty());
        // Ctrl-R renders the trees next to the profiles.
        assert_eq!(e.key(ctrl('r')), Outcome::Saved);
        let rendered = root
            .parent()
            .unwrap()
            .join("nixos/rendered/simple/server-1.json");
        let json = std::fs::read_to_string(rendered).unwrap();
        assert!(json.contains("192.168.1.9/24"), "{json}");
        assert_eq!(e.key(key(KeyCode::Esc)), Outcome::Close { saved: true });
    }

    #[test]
    fn saving_a_broken_file_asks_first() {
        let (_dir, root) = scratch();
        let file = root.join("network/simple.yaml");
        let before = std::fs::read_to_string(&file).unwrap();
        let mut e = Editor::open(&root, &file).unwrap();
        type_text(&mut e, "nodes: [\n");
        assert!(matches!(e.check, Check::Invalid { .. }));
        e.key(ctrl('s'));
        assert!(matches!(e.prompt, Some(Prompt::SaveInvalid { .. })));
        e.key(key(KeyCode::Char('n')));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
        e.key(ctrl('s'));
        assert_eq!(e.key(key(KeyCode::Char('y'))), Outcome::Saved);
        assert_ne!(std::fs::read_to_string(&file).unwrap(), before);
        assert!(e.note.clone().unwrap().error);
    }

    #[test]
    fn f8_jumps_between_problem_lines() {
        let (_dir, root) = scratch();
        let mut e = Editor::open(&root, &root.join("network/simple.yaml")).unwrap();
        e.textarea.move_cursor(CursorMove::Jump(2, 0));
        e.textarea.move_cursor(CursorMove::End);
        type_text(&mut e, "x");
        e.textarea.move_cursor(CursorMove::Top);
        e.key(key(KeyCode::F(8)));
        assert_eq!(e.textarea.cursor().0, 2);
    }
}
