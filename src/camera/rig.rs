//! The camera rig: the robot's three cameras captured concurrently, one thread each, with
//! latest-frame semantics.
//!
//! Each capture thread reads its source, decodes every frame to RGB as it arrives (so a
//! consumer never waits for a decode) and replaces the camera's one slot with it. A consumer
//! asking for a [`FrameSet`] gets the newest image of each camera, never a backlog: frames it
//! did not ask for in time are simply overwritten. Each set reports when its images were
//! captured, the skew between cameras and each image's age, so the consumer can refuse stale
//! or badly skewed sets. Decoded buffers are recycled once the consumer drops an image.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::clock::MonotonicTime;
use super::decode::FrameDecoder;
use super::error::CameraError;
use super::frame::TimestampSource;
use super::health::{HealthCounters, HealthSnapshot};
use super::reopen::Backoff;
use super::source::FrameSource;
use super::spec::SourceSpec;
use crate::image::RgbImage;

/// Which of the robot's cameras (names as in the policy's inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CameraRole {
    /// The head (ego) camera, the policy's `primary` image.
    Primary,
    /// The left wrist camera, `wrist_l`.
    WristLeft,
    /// The right wrist camera, `wrist_r`.
    WristRight,
}

impl CameraRole {
    /// All roles, in the order of the policy's images.
    pub const ALL: [CameraRole; 3] =
        [CameraRole::Primary, CameraRole::WristLeft, CameraRole::WristRight];

    /// The policy's name for the camera: `primary`, `wrist_l`, `wrist_r`.
    pub fn name(self) -> &'static str {
        match self {
            CameraRole::Primary => "primary",
            CameraRole::WristLeft => "wrist_l",
            CameraRole::WristRight => "wrist_r",
        }
    }

    fn index(self) -> usize {
        match self {
            CameraRole::Primary => 0,
            CameraRole::WristLeft => 1,
            CameraRole::WristRight => 2,
        }
    }
}

/// Settings of a [`CameraRig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RigConfig {
    /// How long a capture thread waits for one frame before looking whether it should stop;
    /// bounds how long [`CameraRig::stop`] takes.
    pub read_timeout: Duration,
    /// A camera whose newest frame is older than this reports [`HealthState::Stale`](super::HealthState::Stale).
    pub stale_after: Duration,
}

impl Default for RigConfig {
    /// 100 ms reads; stale after 250 ms (more than 7 frame times at 30 fps).
    fn default() -> Self {
        Self { read_timeout: Duration::from_millis(100), stale_after: Duration::from_millis(250) }
    }
}

/// A decoded image from one camera, with the times that tell how fresh it is.
#[derive(Debug)]
pub struct CapturedImage {
    /// The RGB image.
    pub image: RgbImage,
    /// The source's sequence number for the frame.
    pub sequence: u64,
    /// Counts the images the rig published for this camera (1 for the first).
    pub generation: u64,
    /// When the frame was captured.
    pub captured_at: MonotonicTime,
    /// What `captured_at` is based on.
    pub timestamp_source: TimestampSource,
    /// When the frame reached the process.
    pub received_at: MonotonicTime,
    /// When decoding finished and the image was published.
    pub decoded_at: MonotonicTime,
}

/// The newest image of each camera at one moment.
#[derive(Clone, Debug)]
pub struct FrameSet {
    images: [Arc<CapturedImage>; 3],
    /// When the set was taken from the rig.
    pub taken_at: MonotonicTime,
}

impl FrameSet {
    /// The image of one camera.
    pub fn get(&self, role: CameraRole) -> &Arc<CapturedImage> {
        &self.images[role.index()]
    }

    /// The images in the order of [`CameraRole::ALL`].
    pub fn images(&self) -> &[Arc<CapturedImage>; 3] {
        &self.images
    }

    /// Time between the earliest and the latest capture in the set.
    pub fn skew(&self) -> Duration {
        let times = self.images.iter().map(|i| i.captured_at);
        let (Some(first), Some(last)) = (times.clone().min(), times.max()) else {
            return Duration::ZERO;
        };
        last.saturating_since(first)
    }

    /// How old one camera's image was when the set was taken.
    pub fn age(&self, role: CameraRole) -> Duration {
        self.taken_at.saturating_since(self.get(role).captured_at)
    }

    /// The age of the oldest image in the set.
    pub fn max_age(&self) -> Duration {
        CameraRole::ALL.iter().map(|r| self.age(*r)).max().unwrap_or_default()
    }

    /// Errors with [`CameraError::Stale`] for the first camera whose image was older than
    /// `limit` when the set was taken.
    pub fn check_fresh(&self, limit: Duration) -> Result<(), CameraError> {
        for role in CameraRole::ALL {
            let age = self.age(role);
            if age > limit {
                return Err(CameraError::Stale { camera: role.name().to_owned(), age, limit });
            }
        }
        Ok(())
    }
}

/// What the rig knows about one camera; written by its capture thread.
#[derive(Default)]
struct Slot {
    latest: Option<Arc<CapturedImage>>,
    generation: u64,
    description: String,
    source_health: HealthCounters,
    decode_errors: u64,
    last_error: Option<String>,
    ended: bool,
}

struct Shared {
    slots: Mutex<[Slot; 3]>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, [Slot; 3]> {
        // A capture thread never panics while holding the lock, but never turn one that did
        // into a second panic here.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Three cameras captured concurrently (see the module doc).
pub struct CameraRig {
    shared: Arc<Shared>,
    threads: Vec<(CameraRole, JoinHandle<()>)>,
    config: RigConfig,
}

impl CameraRig {
    /// Starts one capture thread per source; `sources` are in the order of [`CameraRole::ALL`].
    pub fn start(
        sources: [Box<dyn FrameSource>; 3],
        config: RigConfig,
    ) -> Result<Self, CameraError> {
        let shared = Arc::new(Shared {
            slots: Mutex::new(Default::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let mut rig = Self { shared: Arc::clone(&shared), threads: Vec::new(), config };
        for (role, source) in CameraRole::ALL.into_iter().zip(sources) {
            shared.lock()[role.index()].description = source.description().to_owned();
            let thread_shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("camera-{}", role.name()))
                .spawn(move || capture_loop(role, source, &thread_shared, config))
                .map_err(|e| CameraError::Worker {
                    camera: role.name().to_owned(),
                    reason: e.to_string(),
                })?;
            rig.threads.push((role, handle));
        }
        Ok(rig)
    }

    /// Opens the three specs as sources that reopen themselves with `backoff` (a camera that
    /// is missing at start is retried rather than failing the rig) and starts the rig.
    pub fn open(
        specs: &[SourceSpec; 3],
        config: RigConfig,
        backoff: Backoff,
    ) -> Result<Self, CameraError> {
        let sources = specs
            .clone()
            .map(|spec| Box::new(spec.open_resilient(backoff)) as Box<dyn FrameSource>);
        Self::start(sources, config)
    }

    /// The newest image of each camera, without waiting. Errors with
    /// [`CameraError::NoFrameYet`] while a camera has not delivered any image.
    pub fn latest(&self) -> Result<FrameSet, CameraError> {
        let slots = self.shared.lock();
        Self::frame_set(&slots, None).map_err(|role| CameraError::NoFrameYet {
            camera: format!("{} ({})", role.name(), slots[role.index()].description),
        })
    }

    /// Waits until every camera has an image newer than its image in `previous` (or any image,
    /// without `previous`) and returns the newest set. Errors with [`CameraError::Timeout`]
    /// naming the cameras that did not deliver in time, or [`CameraError::EndOfStream`] when
    /// one of them never will.
    pub fn wait_newer(
        &self,
        previous: Option<&FrameSet>,
        timeout: Duration,
    ) -> Result<FrameSet, CameraError> {
        let deadline = MonotonicTime::now().saturating_add(timeout);
        let mut slots = self.shared.lock();
        loop {
            let lagging = match Self::frame_set(&slots, previous) {
                Ok(set) => return Ok(set),
                Err(role) => role,
            };
            let slot = &slots[lagging.index()];
            if slot.ended {
                return Err(CameraError::EndOfStream {
                    camera: format!("{} ({})", lagging.name(), slot.description),
                    frames: slot.generation,
                });
            }
            let now = MonotonicTime::now();
            if now >= deadline {
                let late: Vec<&str> = CameraRole::ALL
                    .iter()
                    .filter(|r| !Self::is_newer(&slots[r.index()], **r, previous))
                    .map(|r| r.name())
                    .collect();
                return Err(CameraError::Timeout { camera: late.join(", "), waited: timeout });
            }
            slots = self
                .shared
                .changed
                .wait_timeout(slots, deadline.saturating_since(now))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn is_newer(slot: &Slot, role: CameraRole, previous: Option<&FrameSet>) -> bool {
        match (&slot.latest, previous) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(image), Some(previous)) => image.generation > previous.get(role).generation,
        }
    }

    /// The set of the slots' images if every camera has one newer than in `previous`,
    /// else the first camera that has not.
    fn frame_set(slots: &[Slot; 3], previous: Option<&FrameSet>) -> Result<FrameSet, CameraRole> {
        let taken_at = MonotonicTime::now();
        let image = |role: CameraRole| {
            let slot = &slots[role.index()];
            match &slot.latest {
                Some(image) if Self::is_newer(slot, role, previous) => Ok(Arc::clone(image)),
                _ => Err(role),
            }
        };
        Ok(FrameSet {
            images: [
                image(CameraRole::Primary)?,
                image(CameraRole::WristLeft)?,
                image(CameraRole::WristRight)?,
            ],
            taken_at,
        })
    }

    /// Health of each camera, in the order of [`CameraRole::ALL`]: the source's counters plus
    /// the rig's decode errors, with the staleness limit of the rig's config.
    pub fn health(&self) -> [HealthSnapshot; 3] {
        let now = MonotonicTime::now();
        let slots = self.shared.lock();
        CameraRole::ALL.map(|role| {
            let slot = &slots[role.index()];
            let mut counters = slot.source_health.clone();
            let thread_died = !self.shared.stop.load(Ordering::Acquire)
                && !slot.ended
                && self.threads.iter().any(|(r, handle)| *r == role && handle.is_finished());
            if thread_died {
                counters.record_failure("capture thread stopped unexpectedly");
            }
            let mut snapshot = counters.snapshot(now, self.config.stale_after);
            snapshot.decode_errors += slot.decode_errors;
            if !thread_died {
                if let Some(error) = &slot.last_error {
                    snapshot.last_error = Some(error.clone());
                }
            }
            snapshot
        })
    }

    /// What each camera's source is, in the order of [`CameraRole::ALL`].
    pub fn descriptions(&self) -> [String; 3] {
        let slots = self.shared.lock();
        CameraRole::ALL.map(|role| slots[role.index()].description.clone())
    }

    /// Stops the capture threads and waits for them (at most about one read timeout).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for (_, handle) in self.threads.drain(..) {
            // A thread that panicked has nothing left to clean up; its panic was reported.
            let _ = handle.join();
        }
    }
}

impl Drop for CameraRig {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The body of one capture thread: read, decode, publish, until told to stop or the source ends.
fn capture_loop(
    role: CameraRole,
    mut source: Box<dyn FrameSource>,
    shared: &Shared,
    config: RigConfig,
) {
    let mut decoder = FrameDecoder::new();
    let mut spare: Option<RgbImage> = None;
    while !shared.stop.load(Ordering::Acquire) {
        let mut published = None;
        let mut error = None;
        let mut decode_failed = false;
        let mut ended = false;
        // After a fault that returns at once (a broken device), wait before asking again
        // rather than spinning; reopening sources pace their own attempts on top of this.
        let mut pause = false;
        match source.next_frame(config.read_timeout) {
            Ok(frame) => {
                let mut image =
                    spare.take().unwrap_or(RgbImage { width: 0, height: 0, data: Vec::new() });
                match decoder.decode_into(&frame, &mut image) {
                    Ok(()) => {
                        published = Some(CapturedImage {
                            image,
                            sequence: frame.sequence,
                            generation: 0,
                            captured_at: frame.captured_at,
                            timestamp_source: frame.timestamp_source,
                            received_at: frame.received_at,
                            decoded_at: MonotonicTime::now(),
                        });
                    }
                    Err(source_error) => {
                        decode_failed = true;
                        error = Some(
                            CameraError::Decode {
                                camera: role.name().to_owned(),
                                sequence: frame.sequence,
                                source: source_error,
                            }
                            .to_string(),
                        );
                        spare = Some(image);
                    }
                }
            }
            Err(CameraError::EndOfStream { .. }) => ended = true,
            Err(CameraError::Timeout { .. }) => {}
            Err(corrupt @ CameraError::CorruptFrame { .. }) => error = Some(corrupt.to_string()),
            Err(other) => {
                error = Some(other.to_string());
                pause = true;
            }
        }
        let replaced = {
            let mut slots = shared.lock();
            let slot = &mut slots[role.index()];
            slot.source_health.clone_from(source.health());
            if slot.description != source.description() {
                slot.description = source.description().to_owned();
            }
            if decode_failed {
                slot.decode_errors += 1;
            }
            if error.is_some() {
                slot.last_error = error;
            }
            slot.ended = ended;
            match published {
                Some(mut image) => {
                    slot.generation += 1;
                    image.generation = slot.generation;
                    slot.latest.replace(Arc::new(image))
                }
                None => None,
            }
        };
        shared.changed.notify_all();
        // Recycle the previous image's buffer unless a consumer still holds it.
        if let Some(previous) = replaced.and_then(|old| Arc::try_unwrap(old).ok()) {
            spare = Some(previous.image);
        }
        if ended {
            break;
        }
        if pause {
            std::thread::sleep(config.read_timeout);
        }
    }
}
