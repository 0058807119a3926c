//! Bounded update streams. An engine publishes its updates on a [`Publisher`] it is given and
//! never waits for the reader: the channel behind it is bounded, updates a reader may miss (a
//! console's lines) only take a slot while plenty are free, and what could not be delivered is
//! counted. Updates that must arrive (a node's state, a stage) keep [`RESERVE`] slots for
//! themselves, so a flood of lines never pushes them out.
//!
//! A publisher can be [mapped](Publisher::map): the session hands the cluster engine a publisher
//! of cluster updates that wraps each one into a session update on the session's channel, and
//! a test run hands the session one that wraps each into a test update. One channel, no
//! forwarding tasks.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

/// How many updates a stream holds before its publishers start counting drops.
pub const CAPACITY: usize = 2048;

/// Slots that only updates that must arrive may take: [`Publisher::offer`] leaves them free.
pub const RESERVE: usize = 256;

/// Where a publisher's updates go: the channel, or another publisher through a mapping.
trait Sink<T>: Send + Sync {
    /// Delivers `item` unless the channel is full (or, for `lossy` items, has fewer than
    /// [`RESERVE`] free slots) or closed; whether it was delivered.
    fn deliver(&self, item: T, lossy: bool) -> bool;
    /// What could not be delivered so far.
    fn dropped(&self) -> u64;
    /// Whether the reader has gone.
    fn is_closed(&self) -> bool;
}

/// The channel itself and its drop counter.
struct Channel<T> {
    tx: mpsc::Sender<T>,
    dropped: AtomicU64,
}

impl<T: Send> Sink<T> for Channel<T> {
    fn deliver(&self, item: T, lossy: bool) -> bool {
        if lossy && self.tx.capacity() <= RESERVE.min(self.tx.max_capacity() / 2) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
            // Nobody reads any more: nothing was lost that anyone would have seen.
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Another publisher's sink, with each update turned into its kind first.
struct Mapped<T, U> {
    inner: Arc<dyn Sink<U>>,
    map: Box<dyn Fn(T) -> U + Send + Sync>,
}

impl<T, U> Sink<T> for Mapped<T, U> {
    fn deliver(&self, item: T, lossy: bool) -> bool {
        self.inner.deliver((self.map)(item), lossy)
    }

    fn dropped(&self) -> u64 {
        self.inner.dropped()
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// The sending side of a bounded update stream. Cloning shares it.
pub struct Publisher<T> {
    sink: Arc<dyn Sink<T>>,
}

impl<T> Clone for Publisher<T> {
    fn clone(&self) -> Self {
        Publisher {
            sink: Arc::clone(&self.sink),
        }
    }
}

impl<T> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("dropped", &self.sink.dropped())
            .field("closed", &self.sink.is_closed())
            .finish()
    }
}

/// A new bounded stream of `capacity` updates (at least twice [`RESERVE`] is sensible).
pub fn channel<T: Send + 'static>(capacity: usize) -> (Publisher<T>, mpsc::Receiver<T>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let sink: Arc<dyn Sink<T>> = Arc::new(Channel {
        tx,
        dropped: AtomicU64::new(0),
    });
    (Publisher { sink }, rx)
}

impl<T: Send + 'static> Publisher<T> {
    /// Publishes an update that must arrive (a state, a stage, a note). It never waits: when
    /// even the reserved slots are taken the reader has stalled, and the update is counted as
    /// dropped. Returns whether it was delivered.
    pub fn send(&self, update: T) -> bool {
        self.sink.deliver(update, false)
    }

    /// Publishes an update a reader may miss (a console line): only while more than
    /// [`RESERVE`] slots are free; otherwise it is counted as dropped. Returns whether it was
    /// delivered.
    pub fn offer(&self, update: T) -> bool {
        self.sink.deliver(update, true)
    }

    /// How many updates of this stream (through any publisher of it) could not be delivered.
    pub fn dropped(&self) -> u64 {
        self.sink.dropped()
    }

    /// Whether the reader has gone (publishing is pointless then).
    pub fn is_closed(&self) -> bool {
        self.sink.is_closed()
    }

    /// A publisher of `U`s that become `T`s on this stream.
    pub fn map<U: 'static>(&self, map: impl Fn(U) -> T + Send + Sync + 'static) -> Publisher<U> {
        let sink: Arc<dyn Sink<U>> = Arc::new(Mapped {
            inner: Arc::clone(&self.sink),
            map: Box::new(map),
        });
        Publisher { sink }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_leave_the_reserve_to_updates_that_must_arrive_and_drops_are_counted() {
        let (tx, mut rx) = channel::<u32>(4 * RESERVE);
        let mut offered = 0;
        while tx.offer(1) {
            offered += 1;
        }
        assert_eq!(
            offered,
            3 * RESERVE,
            "a lossy update leaves the reserve free"
        );
        assert_eq!(tx.dropped(), 1);
        for _ in 0..RESERVE {
            assert!(tx.send(2), "the reserve takes updates that must arrive");
        }
        assert!(!tx.send(3), "a full stream drops, it does not wait");
        assert_eq!(tx.dropped(), 2);
        let mut got = Vec::new();
        while let Ok(n) = rx.try_recv() {
            got.push(n);
        }
        assert_eq!(got.len(), 4 * RESERVE);
        assert_eq!(got.last(), Some(&2), "in the order they were published");
    }

    #[test]
    fn a_mapped_publisher_wraps_its_updates_into_the_streams_kind() {
        let (tx, mut rx) = channel::<String>(CAPACITY);
        let numbers = tx.map(|n: u32| format!("n={n}"));
        assert!(numbers.send(7));
        assert!(numbers.offer(8));
        assert_eq!(rx.try_recv().unwrap(), "n=7");
        assert_eq!(rx.try_recv().unwrap(), "n=8");
        drop(rx);
        assert!(numbers.is_closed());
        assert!(!numbers.send(9));
        assert_eq!(numbers.dropped(), 0, "nobody would have seen it");
    }
}
