//! The inference worker: a thread that owns the [`Policy`] and runs one prediction at a time
//! on the observations the control loop hands it, so that a slow prediction never holds up
//! the loop.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::policy::{ActionChunk, Observation, Policy, PredictOptions, Timings};

/// One prediction to run.
#[derive(Clone, Debug)]
pub struct InferenceRequest {
    /// The inference cycle (1 for the first).
    pub cycle: u64,
    /// What the policy sees.
    pub observation: Observation,
    /// When the observation was taken.
    pub observed_at: Instant,
    /// Age of the oldest camera frame when it was taken.
    pub frame_age: Duration,
    /// Options, noise seed included.
    pub options: PredictOptions,
}

/// A finished prediction.
#[derive(Debug)]
pub struct InferenceOutcome {
    /// The request, handed back (for the flight recorder).
    pub request: InferenceRequest,
    /// When the worker started on it.
    pub started: Instant,
    /// When it finished.
    pub finished: Instant,
    /// The chunk, or why there is none.
    pub result: Result<ActionChunk, String>,
    /// The policy's own timings.
    pub timings: Timings,
}

/// The worker thread and its two queues (one request in flight at most).
pub struct InferenceWorker {
    requests: Option<SyncSender<InferenceRequest>>,
    outcomes: Receiver<InferenceOutcome>,
    thread: Option<JoinHandle<Policy>>,
    in_flight: Option<(u64, Instant)>,
}

impl std::fmt::Debug for InferenceWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InferenceWorker")
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl InferenceWorker {
    /// Starts the thread with `policy`.
    pub fn start(mut policy: Policy) -> std::io::Result<Self> {
        let (requests, inbox) = sync_channel::<InferenceRequest>(1);
        let (outbox, outcomes) = sync_channel::<InferenceOutcome>(1);
        let thread = std::thread::Builder::new().name("inference".into()).spawn(move || {
            for request in inbox {
                let started = Instant::now();
                let result = policy
                    .predict(&request.observation, &request.options)
                    .map_err(|e| e.to_string());
                let finished = Instant::now();
                let outcome = InferenceOutcome {
                    request,
                    started,
                    finished,
                    result,
                    timings: policy.last_timings.clone(),
                };
                if outbox.send(outcome).is_err() {
                    break;
                }
            }
            policy
        })?;
        Ok(Self { requests: Some(requests), outcomes, thread: Some(thread), in_flight: None })
    }

    /// True while a prediction runs (or waits to be collected).
    pub fn is_busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The cycle and start time of the prediction in flight.
    pub fn in_flight(&self) -> Option<(u64, Instant)> {
        self.in_flight
    }

    /// Hands `request` to the worker; gives it back when one is already in flight or the
    /// worker has stopped.
    pub fn submit(&mut self, request: InferenceRequest) -> Result<(), Box<InferenceRequest>> {
        if self.in_flight.is_some() {
            return Err(Box::new(request));
        }
        let Some(requests) = &self.requests else { return Err(Box::new(request)) };
        let (cycle, observed_at) = (request.cycle, request.observed_at);
        match requests.try_send(request) {
            Ok(()) => {
                self.in_flight = Some((cycle, observed_at));
                Ok(())
            }
            Err(TrySendError::Full(r) | TrySendError::Disconnected(r)) => Err(Box::new(r)),
        }
    }

    /// The finished prediction, if there is one.
    pub fn try_outcome(&mut self) -> Option<InferenceOutcome> {
        match self.outcomes.try_recv() {
            Ok(outcome) => {
                self.in_flight = None;
                Some(outcome)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.in_flight = None;
                None
            }
        }
    }

    /// True when the worker thread has ended (it only ends when told to or if it panicked).
    pub fn has_died(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the worker. A prediction in flight cannot be interrupted: the worker is waited
    /// for at most `grace`, then left to finish on its own. Returns the policy when the
    /// thread ended in time.
    pub fn shutdown(mut self, grace: Duration) -> Option<Policy> {
        self.requests = None;
        let thread = self.thread.take()?;
        let deadline = Instant::now() + grace;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                log::info!("inference worker still busy at shutdown; leaving it to finish");
                return None;
            }
            // Let a finished prediction's outcome go so that the thread can end.
            let _ = self.outcomes.try_recv();
            std::thread::sleep(Duration::from_millis(5));
        }
        thread.join().ok()
    }
}
