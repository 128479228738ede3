//! An in-memory CAN bus: every frame a node sends reaches every other node, in order.
//!
//! Used to test segmentation end to end without CAN hardware, with optional frame loss.

use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::can_link::{CanRx, CanTx};
use super::link::LinkError;
use crate::can::{CanFrame, CanFrameError, CanMode};

/// Decides whether the bus delivers a frame (false drops it, for fault tests).
pub type FrameFilter = Box<dyn FnMut(&CanFrame) -> bool + Send>;

/// Shared bus state.
struct Bus {
    /// Kind of frames the bus carries.
    mode: CanMode,
    /// Attached nodes: their number and inbox.
    nodes: Vec<(usize, Sender<CanFrame>)>,
    /// Number of the next node.
    next_node: usize,
    /// Optional loss injection.
    filter: Option<FrameFilter>,
}

/// Handle on an in-memory bus; clone it to attach nodes from several places.
#[derive(Clone)]
pub struct MemoryCanBus {
    /// The bus.
    bus: Arc<Mutex<Bus>>,
}

impl std::fmt::Debug for MemoryCanBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCanBus").finish_non_exhaustive()
    }
}

impl MemoryCanBus {
    /// A bus carrying frames of kind `mode` (a classic bus refuses FD frames).
    pub fn new(mode: CanMode) -> Self {
        Self {
            bus: Arc::new(Mutex::new(Bus { mode, nodes: Vec::new(), next_node: 0, filter: None })),
        }
    }

    /// Locks the bus; a poisoned lock is still consistent.
    fn lock(&self) -> MutexGuard<'_, Bus> {
        self.bus.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Attaches a node; returns its sending and receiving halves.
    pub fn attach(&self) -> (MemoryCanTx, MemoryCanRx) {
        let (sender, inbox) = channel();
        let mut bus = self.lock();
        let node = bus.next_node;
        bus.next_node += 1;
        bus.nodes.push((node, sender));
        (MemoryCanTx { bus: self.clone(), node }, MemoryCanRx { inbox })
    }

    /// Installs a filter that decides which frames are delivered.
    pub fn set_filter(&self, filter: FrameFilter) {
        self.lock().filter = Some(filter);
    }
}

/// Sending half of a node.
#[derive(Debug)]
pub struct MemoryCanTx {
    /// The bus.
    bus: MemoryCanBus,
    /// This node's number (frames are not echoed to it).
    node: usize,
}

/// Receiving half of a node.
#[derive(Debug)]
pub struct MemoryCanRx {
    /// Frames from other nodes.
    inbox: Receiver<CanFrame>,
}

impl CanTx for MemoryCanTx {
    fn send_frame(&mut self, frame: &CanFrame) -> Result<(), LinkError> {
        let mut bus = self.bus.lock();
        if bus.mode == CanMode::Classic && frame.mode() == CanMode::Fd {
            return Err(LinkError::CanFrame {
                device: "in-memory classic CAN bus".to_owned(),
                source: CanFrameError::BadLength {
                    len: frame.data().len(),
                    mode: CanMode::Classic,
                },
            });
        }
        if let Some(filter) = bus.filter.as_mut() {
            if !filter(frame) {
                return Ok(());
            }
        }
        let node = self.node;
        bus.nodes.retain(|(n, inbox)| *n == node || inbox.send(frame.clone()).is_ok());
        Ok(())
    }
}

impl CanRx for MemoryCanRx {
    fn recv_frame(&mut self, timeout: Duration) -> Result<Option<CanFrame>, LinkError> {
        match self.inbox.recv_timeout(timeout) {
            Ok(frame) => Ok(Some(frame)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                Err(LinkError::Closed { device: "in-memory CAN bus".to_owned() })
            }
        }
    }
}
