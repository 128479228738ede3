//! The flight recorder: writes each inference cycle as a [`Record`] from a background thread,
//! keeping the recording directory under a disk budget by deleting the oldest records first.
//!
//! The control loop hands records over through a short queue and never waits: a cycle that
//! finds the queue full is counted as dropped. Record names are `RUN-CYCLE` with both numbers
//! zero-padded (`RUN` is the start time in Unix seconds), so names sort oldest first across
//! restarts.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use super::record::{dir_bytes, list_records, Record, RecordError};
use super::status::RecorderStatus;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records kept on disk, oldest first, with their sizes.
#[derive(Debug, Default)]
struct Kept {
    records: VecDeque<(PathBuf, u64)>,
    bytes: u64,
}

impl Kept {
    /// Deletes the oldest records until at most `budget` bytes are kept (the newest record is
    /// always kept).
    fn enforce(&mut self, budget: u64) {
        while self.bytes > budget && self.records.len() > 1 {
            let Some((path, bytes)) = self.records.pop_front() else { break };
            if let Err(e) = std::fs::remove_dir_all(&path) {
                log::warn!("recorder: could not delete {}: {e}", path.display());
            }
            self.bytes = self.bytes.saturating_sub(bytes);
        }
    }
}

/// Shared counters.
#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
}

/// The recorder. Dropping it writes what is queued and stops the thread.
pub struct FlightRecorder {
    dir: PathBuf,
    run: u64,
    sender: Option<SyncSender<Record>>,
    thread: Option<JoinHandle<()>>,
    kept: Arc<Mutex<Kept>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for FlightRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlightRecorder").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl FlightRecorder {
    /// Starts recording into `dir` (created if missing) within `max_bytes`, with a queue of
    /// `queue` records. Leftover incomplete records are deleted; complete ones count against
    /// the budget.
    pub fn start(dir: &Path, max_bytes: u64, queue: usize) -> Result<Self, RecordError> {
        let io = |source| RecordError::Io { path: dir.to_owned(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        for entry in std::fs::read_dir(dir).map_err(io)?.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "tmp") && path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(io)?;
            }
        }
        let mut kept = Kept::default();
        for path in list_records(dir)? {
            let bytes = dir_bytes(&path);
            kept.bytes += bytes;
            kept.records.push_back((path, bytes));
        }
        kept.enforce(max_bytes);
        let kept = Arc::new(Mutex::new(kept));
        let counters = Arc::new(Counters::default());
        let run = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (sender, receiver) = sync_channel::<Record>(queue.max(1));
        let thread_dir = dir.to_owned();
        let thread_kept = Arc::clone(&kept);
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("flight-recorder".into())
            .spawn(move || {
                for record in receiver {
                    let name = record_name(run, record.meta.cycle);
                    match record.write(&thread_dir, &name) {
                        Ok(bytes) => {
                            thread_counters.written.fetch_add(1, Ordering::Relaxed);
                            let mut kept = lock(&thread_kept);
                            kept.records.push_back((thread_dir.join(&name), bytes));
                            kept.bytes += bytes;
                            kept.enforce(max_bytes);
                        }
                        Err(e) => {
                            thread_counters.errors.fetch_add(1, Ordering::Relaxed);
                            log::warn!("recorder: {e}");
                        }
                    }
                }
            })
            .map_err(io)?;
        Ok(Self {
            dir: dir.to_owned(),
            run,
            sender: Some(sender),
            thread: Some(thread),
            kept,
            counters,
        })
    }

    /// Queues a record; returns false (and counts a drop) when the queue is full.
    pub fn record(&self, record: Record) -> bool {
        let Some(sender) = &self.sender else { return false };
        match sender.try_send(record) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// The name of this run's record of `cycle`.
    pub fn name_of(&self, cycle: u64) -> String {
        record_name(self.run, cycle)
    }

    /// Counters and disk use.
    pub fn status(&self) -> RecorderStatus {
        let kept = lock(&self.kept);
        RecorderStatus {
            dir: self.dir.display().to_string(),
            written: self.counters.written.load(Ordering::Relaxed),
            kept: kept.records.len(),
            bytes: kept.bytes,
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
        }
    }

    /// Writes what is queued and stops.
    pub fn finish(mut self) -> RecorderStatus {
        self.stop();
        self.status()
    }

    fn stop(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            // A writer that panicked has nothing left to write.
            let _ = thread.join();
        }
    }
}

impl Drop for FlightRecorder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `RUN-CYCLE`, zero-padded so that names sort in time order.
fn record_name(run: u64, cycle: u64) -> String {
    format!("{run:012}-{cycle:08}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::record::tests::sample_record;

    #[test]
    fn keeps_the_newest_records_within_the_budget() {
        let dir = std::env::temp_dir().join(format!("recorder-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let one = {
            let probe = dir.join("probe");
            std::fs::create_dir_all(&probe).expect("dir");
            sample_record(0).write(&probe, "x").expect("write")
        };
        std::fs::remove_dir_all(dir.join("probe")).expect("clean");
        // Room for two records and a half.
        let recorder = FlightRecorder::start(&dir, one * 5 / 2, 8).expect("start");
        for cycle in 1..=5 {
            assert!(recorder.record(sample_record(cycle)));
        }
        let names: Vec<String> = (4..=5).map(|c| recorder.name_of(c)).collect();
        let status = recorder.finish();
        assert_eq!((status.written, status.kept, status.dropped), (5, 2, 0));
        assert!(status.bytes <= one * 5 / 2);
        let listed: Vec<String> = list_records(&dir)
            .expect("list")
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(listed, names, "the oldest went first");
        // A restart counts what is on disk and cleans up incomplete records.
        std::fs::create_dir_all(dir.join("999-1.tmp")).expect("partial");
        let again = FlightRecorder::start(&dir, one, 1).expect("restart");
        assert!(!dir.join("999-1.tmp").exists());
        assert_eq!(again.status().kept, 1, "over budget at start: trimmed to the newest");
        drop(again);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
