//! The union of everything the workbench consumes: the terminal's input and each engine's own
//! updates. The engines know nothing of it; the event loop ([`super::run`]) `select!`s over
//! the terminal and every engine's bounded receiver and wraps what arrives into a [`Msg`] for
//! [`super::app::App::handle`].

use std::sync::Arc;

use crossterm::event::{KeyEvent, MouseEvent};

use crate::build::engine::{BuildNo, BuildUpdate};
use crate::profile::Profiles;
use crate::scenario::TestUpdate;
use crate::session::SessionUpdate;

/// Something that happened and may change what a view shows.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key was pressed in the terminal.
    Key(KeyEvent),
    /// The mouse was used in the terminal.
    Mouse(MouseEvent),
    /// The terminal changed size (columns, rows).
    Resize(u16, u16),
    /// The profiles were read again from disk: the new set, or what is wrong with them.
    ProfilesReloaded(Result<Arc<Profiles>, String>),
    /// Something happened to a build (its number in this session, and what).
    Build(BuildNo, BuildUpdate),
    /// Something happened to the cluster on screen (the workbench's, or one it follows).
    Session(SessionUpdate),
    /// Something happened in a test run (its stages, checks, result).
    Test(TestUpdate),
}
