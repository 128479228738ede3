//! One thread per arm that sends what the control loop posts: the loop never waits for an
//! arm's acknowledgement, and the two arms are driven in parallel.
//!
//! The loop posts one [`Feed`] per tick into a single slot: a chunk, or a heartbeat to feed the
//! arm's watchdog. The newest post wins, except that a pending chunk is never displaced by a
//! heartbeat (a chunk feeds the watchdog too). When the loop stops posting (paused, faulted,
//! stalled), the driver sends nothing and the arm's watchdog brakes it to a hold; the loop
//! also [`ArmDriver::discard`]s whatever is still pending when it decides to hold.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use firmware_bridge::host::{ArmClient, ChunkReceipt, ClientError};
use firmware_bridge::protocol::ArmPose;

/// How often an idle driver looks at its stop flag.
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// What to send.
#[derive(Clone, Debug, PartialEq)]
pub enum Feed {
    /// Feed the watchdog only.
    Heartbeat,
    /// New targets, `period` apart from host instant `start`.
    Chunk {
        /// Time of the first step.
        start: Instant,
        /// Time between steps.
        period: Duration,
        /// The steps.
        steps: Vec<ArmPose>,
    },
}

/// The outcome of a chunk send.
#[derive(Debug)]
pub struct ChunkResult {
    /// The acknowledgement, or why there is none.
    pub result: Result<ChunkReceipt, ClientError>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The slot between the loop and the driver thread.
#[derive(Default)]
struct Slot {
    pending: Mutex<Option<Feed>>,
    posted: Condvar,
}

/// A driver thread for one arm. Dropping it stops the thread.
pub struct ArmDriver {
    slot: Arc<Slot>,
    results: Receiver<ChunkResult>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ArmDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmDriver").finish_non_exhaustive()
    }
}

impl ArmDriver {
    /// Starts a driver for `arm`, named `name` in logs.
    pub fn start(arm: Arc<ArmClient>, name: &str) -> std::io::Result<Self> {
        let slot = Arc::new(Slot::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (report, results) = channel();
        let (thread_slot, thread_stop) = (Arc::clone(&slot), Arc::clone(&stop));
        let thread =
            std::thread::Builder::new().name(format!("arm-driver {name}")).spawn(move || {
                while !thread_stop.load(Ordering::SeqCst) {
                    let feed = {
                        let mut pending = lock(&thread_slot.pending);
                        if pending.is_none() {
                            pending = thread_slot
                                .posted
                                .wait_timeout(pending, IDLE_WAIT)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0;
                        }
                        pending.take()
                    };
                    match feed {
                        None => {}
                        Some(Feed::Heartbeat) => {
                            // A failing link shows up as stale state reports in the loop.
                            if let Err(e) = arm.heartbeat() {
                                log::debug!("heartbeat: {e}");
                            }
                        }
                        Some(Feed::Chunk { start, period, steps }) => {
                            let result = arm.send_chunk(start, period, &steps);
                            if report.send(ChunkResult { result }).is_err() {
                                return;
                            }
                        }
                    }
                }
            })?;
        Ok(Self { slot, results, stop, thread: Some(thread) })
    }

    /// Posts `feed` (see the module documentation for which post wins).
    pub fn post(&self, feed: Feed) {
        let mut pending = lock(&self.slot.pending);
        let keep_chunk =
            matches!(feed, Feed::Heartbeat) && matches!(*pending, Some(Feed::Chunk { .. }));
        if !keep_chunk {
            *pending = Some(feed);
        }
        self.slot.posted.notify_one();
    }

    /// Drops whatever is pending (a request already on its way cannot be called back).
    pub fn discard(&self) {
        lock(&self.slot.pending).take();
    }

    /// Outcomes of the chunks sent since the last call.
    pub fn results(&self) -> Vec<ChunkResult> {
        self.results.try_iter().collect()
    }
}

impl Drop for ArmDriver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.slot.posted.notify_one();
        if let Some(thread) = self.thread.take() {
            // A driver that panicked has nothing to clean up.
            let _ = thread.join();
        }
    }
}
