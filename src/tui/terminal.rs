//! The terminal while the workbench owns it: raw mode, the alternate screen and mouse capture
//! on the way in; all of it undone on the way out — on a normal exit, on a panic (before the
//! panic message is printed) and when a signal ends the workbench (the runner returns normally
//! then, so the guard's `Drop` runs).

use std::io::{self, Stdout};
use std::sync::Once;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal in full-screen mode; dropping it gives the terminal back as it was.
pub struct Session {
    /// The ratatui terminal to draw on.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

/// Takes over the terminal. Installs (once) a panic hook that restores the terminal first.
pub fn enter() -> io::Result<Session> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(stdout)) {
        Ok(terminal) => Ok(Session { terminal }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Takes the terminal again after [`restore`] (e.g. when a pager it ran has ended) and has
/// the next frame drawn whole.
pub fn resume(session: &mut Session) -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    // ratatui draws only what changed since its last frame, which the pager has wiped: an
    // empty frame makes the next one draw every cell. (`Terminal::clear` would ask the
    // terminal for the cursor position, and the answer can be lost while input restarts.)
    session
        .terminal
        .draw(|frame| frame.render_widget(ratatui::widgets::Clear, frame.area()))?;
    Ok(())
}

/// Gives the terminal back: mouse capture off, main screen, cursor shown, raw mode off.
/// Safe to call more than once and when the terminal was never taken.
pub fn restore() {
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
}

impl Drop for Session {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
