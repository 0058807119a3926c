//! Typed events shared by every engine and every view.
//!
//! Terminal input, engine results and profile changes all arrive as one [`Event`] stream. The TUI
//! consumes it today; the `--batch` view and the build, cluster and test engines publish into and
//! read from the same type, so a new engine adds variants here and nothing else has to change shape.

use std::sync::Arc;

use crossterm::event::{KeyEvent, MouseEvent};
use tokio::sync::mpsc;

use crate::build::engine::{BuildNo, BuildUpdate};
use crate::cluster::engine::ClusterUpdate;
use crate::profile::Profiles;

/// How many events may wait in the bus before a publisher has to wait.
pub const BUS_CAPACITY: usize = 256;

/// Something that happened and may change what a view shows.
#[derive(Debug, Clone)]
pub enum Event {
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
    /// Something happened to the workbench's cluster.
    Cluster(ClusterUpdate),
    /// The cluster started (every QEMU runs), or could not start (why).
    ClusterStarted(Result<(), String>),
    /// The cluster is down: every VM and switch has stopped.
    ClusterStopped,
    /// Something happened in a test run (its stages, checks, result).
    Test(crate::scenario::TestUpdate),
}

/// The sending side of the event bus; engines get a clone and publish on it.
pub type Publisher = mpsc::Sender<Event>;

/// The receiving side of the event bus; a view consumes it.
pub type Subscriber = mpsc::Receiver<Event>;

/// A new, bounded event bus.
pub fn bus() -> (Publisher, Subscriber) {
    mpsc::channel(BUS_CAPACITY)
}
