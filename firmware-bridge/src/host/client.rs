//! The host's handle on one arm: requests matched to their replies, heartbeats, clock sync,
//! state, and reconnection.
//!
//! [`ArmClient::connect`] opens the link through a *connector* (a function that opens the
//! device, so it can be called again), says hello, refuses an incompatible arm, synchronises
//! clocks and starts two background threads: a reader that matches replies to requests by
//! number and keeps the latest state, and a supervisor that sends heartbeats (unless the
//! caller sends them, see [`ClientConfig::heartbeat_interval`]), refreshes the
//! clock estimate, and on a dead link (I/O error, closed device, or several heartbeats in a
//! row unanswered) reconnects through the connector and says hello again. Requests made
//! while disconnected fail at once with [`ClientError::Disconnected`]; the arm's own watchdog
//! holds it meanwhile. Every method takes `&self` and may be called from any thread.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::clock::{ClockSample, ClockSync};
use super::link::{Link, LinkError, PacketRx, PacketTx, RxEvent};
use super::serial::open_serial;
use crate::body::{self, MAX_BODY_LEN};
use crate::protocol::{
    check_compatible, AckCode, ActionChunk, ArmId, ArmInfo, ArmMessage, ArmPose, ArmState,
    ChunkError, HostFrame, HostHello, HostMessage, Incompatible, LimitsError, PROTOCOL_VERSION,
    SCHEMA_HASH,
};

/// Opens (or reopens) the link to an arm.
pub type Connector = Box<dyn FnMut() -> Result<Link, LinkError> + Send>;

/// Timing of requests, heartbeats, clock sync and reconnection.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// How long to wait for each reply.
    pub request_timeout: Duration,
    /// How many times to resend an unanswered request (same number, so the arm can tell).
    pub retries: u32,
    /// Interval between automatic heartbeats; keep it well under the arm's watchdog
    /// timeout. With automatic heartbeats the watchdog catches a dead link or a dead host
    /// process, while a stalled control loop only lets the current chunk run out (the arm
    /// then holds its last step). `None` leaves heartbeats to the caller
    /// ([`ArmClient::heartbeat`]), so that the watchdog also catches a stalled control loop.
    pub heartbeat_interval: Option<Duration>,
    /// Consecutive unanswered heartbeats after which the link is considered dead.
    pub max_missed_heartbeats: u32,
    /// Interval between clock probes.
    pub time_sync_interval: Duration,
    /// Clock probes at connection.
    pub initial_time_syncs: u32,
    /// Wait between reconnection attempts.
    pub reconnect_interval: Duration,
    /// Refuse an arm that is not this one (catches swapped cables).
    pub expect_arm: Option<ArmId>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_millis(50),
            retries: 2,
            heartbeat_interval: Some(Duration::from_millis(25)),
            max_missed_heartbeats: 3,
            time_sync_interval: Duration::from_secs(1),
            initial_time_syncs: 8,
            reconnect_interval: Duration::from_millis(200),
            expect_arm: None,
        }
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The transport failed.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The arm speaks another protocol version or schema.
    #[error("{device}: arm refused: {source}")]
    Incompatible {
        /// Link description.
        device: String,
        /// Which mismatch.
        #[source]
        source: Incompatible,
    },
    /// The arm is not the one expected.
    #[error("{device}: expected the {expected:?} arm, found the {found:?} arm")]
    WrongArm {
        /// Link description.
        device: String,
        /// Expected arm.
        expected: ArmId,
        /// Arm that answered.
        found: ArmId,
    },
    /// The arm announced unusable limits.
    #[error("{device}: arm announced invalid limits: {source}")]
    BadLimits {
        /// Link description.
        device: String,
        /// What is wrong.
        #[source]
        source: LimitsError,
    },
    /// The arm answered with an error code.
    #[error("{device}: arm refused {request}: {code:?}")]
    Rejected {
        /// Link description.
        device: String,
        /// Request kind.
        request: &'static str,
        /// The arm's code.
        code: AckCode,
    },
    /// No reply arrived.
    #[error("{device}: no reply to {request} after {attempts} attempts of {timeout:?} each")]
    Timeout {
        /// Link description.
        device: String,
        /// Request kind.
        request: &'static str,
        /// Attempts made.
        attempts: u32,
        /// Wait per attempt.
        timeout: Duration,
    },
    /// The link is down (a reconnection is under way).
    #[error("{device}: not connected")]
    Disconnected {
        /// Link description.
        device: String,
    },
    /// The arm's clock is not known yet.
    #[error("{device}: arm clock not synchronised")]
    NotSynced {
        /// Link description.
        device: String,
    },
    /// The arm answered with a reply of the wrong kind.
    #[error("{device}: unexpected reply to {request}: {reply}")]
    UnexpectedReply {
        /// Link description.
        device: String,
        /// Request kind.
        request: &'static str,
        /// The reply, printed.
        reply: String,
    },
    /// The chunk could not be built.
    #[error(transparent)]
    Chunk(#[from] ChunkError),
    /// A background thread could not be started.
    #[error("could not start the {name} thread: {source}")]
    Thread {
        /// Thread name.
        name: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The latest state report and when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSample {
    /// The report.
    pub state: ArmState,
    /// Host time of arrival.
    pub received_at: Instant,
}

/// The arm's answer to a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkReceipt {
    /// The chunk's number.
    pub chunk_seq: u32,
    /// `Ok`, `Clamped` or `Duplicate`.
    pub code: AckCode,
    /// From the first send to the acknowledgement.
    pub round_trip: Duration,
}

/// Counters since the client was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientStats {
    /// Requests made.
    pub requests: u64,
    /// Replies matched to a request.
    pub replies: u64,
    /// Resends after a reply timeout.
    pub retries: u64,
    /// Requests that got no reply at all.
    pub timeouts: u64,
    /// Frames or messages received that failed their checks.
    pub corrupt_frames: u64,
    /// State reports received.
    pub states: u64,
    /// Successful reconnections (the first connection not counted).
    pub reconnects: u64,
}

/// Atomic counters behind [`ClientStats`].
#[derive(Debug, Default)]
struct Counters {
    /// See [`ClientStats`].
    requests: AtomicU64,
    /// See [`ClientStats`].
    replies: AtomicU64,
    /// See [`ClientStats`].
    retries: AtomicU64,
    /// See [`ClientStats`].
    timeouts: AtomicU64,
    /// See [`ClientStats`].
    corrupt_frames: AtomicU64,
    /// See [`ClientStats`].
    states: AtomicU64,
    /// See [`ClientStats`].
    reconnects: AtomicU64,
}

/// Adds one to a counter.
fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Locks a mutex, carrying on with the data of a poisoned one (every critical section
/// leaves it consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A reply and its arrival time.
type Reply = (ArmMessage, Instant);

/// State shared by the client handle and its threads.
struct Shared {
    /// Timing.
    config: ClientConfig,
    /// Description of the current link.
    device: Mutex<String>,
    /// Sending half of the current link; `None` while disconnected.
    tx: Mutex<Option<Box<dyn PacketTx>>>,
    /// Number of the current connection.
    generation: AtomicU64,
    /// Requests waiting for their reply, by request number.
    pending: Mutex<HashMap<u32, SyncSender<Reply>>>,
    /// Latest state report.
    state: Mutex<Option<StateSample>>,
    /// Signalled on every state report.
    state_arrived: Condvar,
    /// Arm clock estimate.
    clock: Mutex<ClockSync>,
    /// What the arm said at the last hello.
    info: Mutex<Option<ArmInfo>>,
    /// Next request number.
    next_seq: AtomicU32,
    /// Next chunk number.
    next_chunk_seq: AtomicU32,
    /// Set when the client is dropped.
    shutdown: AtomicBool,
    /// Reader threads (one per connection).
    readers: Mutex<Vec<JoinHandle<()>>>,
    /// Counters.
    counters: Counters,
    /// Last connection or link error, for diagnostics.
    last_error: Mutex<Option<String>>,
}

/// Name of a request kind for messages.
fn request_name(message: &HostMessage) -> &'static str {
    match message {
        HostMessage::Hello(_) => "hello",
        HostMessage::Heartbeat => "heartbeat",
        HostMessage::Chunk(_) => "chunk",
        HostMessage::Enable => "enable",
        HostMessage::Disable => "disable",
        HostMessage::EStop => "e-stop",
        HostMessage::ClearEStop => "e-stop clear",
        HostMessage::TimeSync { .. } => "time sync",
    }
}

impl Shared {
    /// Current link description.
    fn device(&self) -> String {
        lock(&self.device).clone()
    }

    /// Drops connection `generation` (if still current): no more sends, pending requests
    /// fail at once.
    fn disconnect(&self, generation: u64, reason: String) {
        let mut tx = lock(&self.tx);
        if self.generation.load(Ordering::SeqCst) == generation && tx.is_some() {
            *tx = None;
            lock(&self.pending).clear();
            *lock(&self.last_error) = Some(reason);
        }
    }

    /// Sends a request and waits for its reply, resending on timeout.
    fn request(&self, message: HostMessage) -> Result<(Reply, Instant), ClientError> {
        let request = request_name(&message);
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let frame = HostFrame { seq, message };
        let mut body = [0u8; MAX_BODY_LEN];
        let len = body::encode(&frame, &mut body)
            .map_err(|source| LinkError::Encode { device: self.device(), source })?;
        let (reply_tx, reply_rx) = sync_channel(1);
        lock(&self.pending).insert(seq, reply_tx);
        bump(&self.counters.requests);
        let attempts = self.config.retries + 1;
        let mut first_sent = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                bump(&self.counters.retries);
            }
            let generation = self.generation.load(Ordering::SeqCst);
            let sent = {
                let mut tx = lock(&self.tx);
                match tx.as_mut() {
                    Some(tx) => tx.send_body(&body[..len]),
                    None => {
                        lock(&self.pending).remove(&seq);
                        return Err(ClientError::Disconnected { device: self.device() });
                    }
                }
            };
            let sent_at = Instant::now();
            first_sent.get_or_insert(sent_at);
            if let Err(e) = sent {
                self.disconnect(generation, e.to_string());
                lock(&self.pending).remove(&seq);
                return Err(e.into());
            }
            match reply_rx.recv_timeout(self.config.request_timeout) {
                Ok(reply) => {
                    bump(&self.counters.replies);
                    return Ok((reply, first_sent.unwrap_or(sent_at)));
                }
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(ClientError::Disconnected { device: self.device() })
                }
            }
        }
        lock(&self.pending).remove(&seq);
        bump(&self.counters.timeouts);
        Err(ClientError::Timeout {
            device: self.device(),
            request,
            attempts,
            timeout: self.config.request_timeout,
        })
    }

    /// Sends a request that is answered by an acknowledgement; success codes only.
    fn command(&self, message: HostMessage) -> Result<(AckCode, Duration), ClientError> {
        let request = request_name(&message);
        let ((reply, arrived), sent) = self.request(message)?;
        match reply {
            ArmMessage::Ack { code, .. } if code.is_success() => {
                Ok((code, arrived.saturating_duration_since(sent)))
            }
            ArmMessage::Ack { code, .. } => {
                Err(ClientError::Rejected { device: self.device(), request, code })
            }
            other => Err(ClientError::UnexpectedReply {
                device: self.device(),
                request,
                reply: format!("{other:?}"),
            }),
        }
    }

    /// One clock probe.
    fn time_sync(&self) -> Result<ClockSample, ClientError> {
        let host_send_us = lock(&self.clock).host_us(Instant::now());
        let ((reply, arrived), _) = self.request(HostMessage::TimeSync { host_send_us })?;
        match reply {
            ArmMessage::TimeSync { reply, .. } => {
                let mut clock = lock(&self.clock);
                let sample = ClockSample::from_reply(&reply, clock.host_us(arrived));
                clock.add(sample);
                Ok(sample)
            }
            other => Err(ClientError::UnexpectedReply {
                device: self.device(),
                request: "time sync",
                reply: format!("{other:?}"),
            }),
        }
    }

    /// Handles one received event of connection `generation`.
    fn dispatch(&self, event: RxEvent) {
        let bytes = match event {
            RxEvent::Message(bytes) => bytes,
            RxEvent::Corrupt(_) => return bump(&self.counters.corrupt_frames),
            RxEvent::Idle => return,
        };
        let arrived = Instant::now();
        match body::parse::<ArmMessage>(&bytes) {
            Ok(ArmMessage::State(state)) => {
                bump(&self.counters.states);
                *lock(&self.state) = Some(StateSample { state, received_at: arrived });
                self.state_arrived.notify_all();
            }
            Ok(reply) => {
                let waiter = reply.reply_to().and_then(|seq| lock(&self.pending).remove(&seq));
                if let Some(waiter) = waiter {
                    // The waiter may have given up; nothing to do then.
                    let _ = waiter.try_send((reply, arrived));
                }
            }
            Err(_) => bump(&self.counters.corrupt_frames),
        }
    }

    /// Starts using `link`: reader thread, hello, clock sync.
    fn establish(self: &Arc<Self>, link: Link) -> Result<ArmInfo, ClientError> {
        let Link { tx, rx, description } = link;
        let generation = {
            let mut current = lock(&self.tx);
            *lock(&self.device) = description.clone();
            *current = Some(tx);
            self.generation.fetch_add(1, Ordering::SeqCst) + 1
        };
        let shared = Arc::clone(self);
        let reader = std::thread::Builder::new()
            .name(format!("arm-reader {description}"))
            .spawn(move || shared.read_loop(rx, generation))
            .map_err(|source| ClientError::Thread { name: "reader", source })?;
        lock(&self.readers).push(reader);
        let result = self.greet();
        if let Err(e) = &result {
            self.disconnect(generation, e.to_string());
        }
        result
    }

    /// Hello and initial clock sync on the current link.
    fn greet(&self) -> Result<ArmInfo, ClientError> {
        let hello = HostHello { protocol_version: PROTOCOL_VERSION, schema_hash: SCHEMA_HASH };
        let ((reply, _), _) = self.request(HostMessage::Hello(hello))?;
        let device = self.device();
        let ArmMessage::Hello { result, info, .. } = reply else {
            return Err(ClientError::UnexpectedReply {
                device,
                request: "hello",
                reply: format!("{reply:?}"),
            });
        };
        check_compatible(info.protocol_version, info.schema_hash)
            .map_err(|source| ClientError::Incompatible { device: device.clone(), source })?;
        if result != AckCode::Ok {
            return Err(ClientError::Rejected { device, request: "hello", code: result });
        }
        info.limits
            .validate()
            .map_err(|source| ClientError::BadLimits { device: device.clone(), source })?;
        let expected = self.config.expect_arm.or(lock(&self.info).map(|i| i.arm_id));
        if let Some(expected) = expected.filter(|&e| e != info.arm_id) {
            return Err(ClientError::WrongArm { device, expected, found: info.arm_id });
        }
        lock(&self.clock).reset();
        for _ in 0..self.config.initial_time_syncs.max(1) {
            self.time_sync()?;
        }
        *lock(&self.info) = Some(info);
        Ok(info)
    }

    /// Reader thread body: dispatch events until shutdown or the connection is replaced.
    fn read_loop(&self, mut rx: Box<dyn PacketRx>, generation: u64) {
        while !self.shutdown.load(Ordering::SeqCst)
            && self.generation.load(Ordering::SeqCst) == generation
            && lock(&self.tx).is_some()
        {
            match rx.recv(Duration::from_millis(20)) {
                Ok(event) => self.dispatch(event),
                Err(e) => {
                    self.disconnect(generation, e.to_string());
                    return;
                }
            }
        }
    }

    /// Supervisor thread body: heartbeats, clock sync, reconnection.
    fn supervise(self: &Arc<Self>, mut connector: Connector) {
        let mut missed = 0;
        let mut next_heartbeat = Instant::now();
        let mut next_sync = Instant::now() + self.config.time_sync_interval;
        let mut next_reconnect = Instant::now();
        while !self.shutdown.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(2));
            let now = Instant::now();
            if lock(&self.tx).is_none() {
                if now < next_reconnect {
                    continue;
                }
                next_reconnect = now + self.config.reconnect_interval;
                self.reap_readers();
                let outcome =
                    connector().map_err(ClientError::from).and_then(|l| self.establish(l));
                match outcome {
                    Ok(_) => {
                        bump(&self.counters.reconnects);
                        missed = 0;
                    }
                    Err(e) => *lock(&self.last_error) = Some(e.to_string()),
                }
                continue;
            }
            if let Some(interval) = self.config.heartbeat_interval.filter(|_| now >= next_heartbeat)
            {
                next_heartbeat = now + interval;
                let generation = self.generation.load(Ordering::SeqCst);
                match self.command(HostMessage::Heartbeat) {
                    Ok(_) => missed = 0,
                    Err(ClientError::Timeout { .. }) => {
                        missed += 1;
                        if missed >= self.config.max_missed_heartbeats {
                            self.disconnect(generation, format!("{missed} heartbeats unanswered"));
                        }
                    }
                    // The arm restarted and lost the session: say hello again.
                    Err(ClientError::Rejected { code: AckCode::NotGreeted, .. }) => {
                        self.disconnect(generation, "arm lost the session".to_owned());
                    }
                    Err(e) => *lock(&self.last_error) = Some(e.to_string()),
                }
            }
            if now >= next_sync {
                next_sync = now + self.config.time_sync_interval;
                if let Err(e) = self.time_sync() {
                    *lock(&self.last_error) = Some(e.to_string());
                }
            }
        }
    }

    /// Joins reader threads that have finished.
    fn reap_readers(&self) {
        let mut readers = lock(&self.readers);
        let (done, running): (Vec<_>, Vec<_>) = readers.drain(..).partition(|h| h.is_finished());
        *readers = running;
        for handle in done {
            // A reader that panicked has nothing left to clean up.
            let _ = handle.join();
        }
    }
}

/// The host's handle on one arm. See the module documentation.
pub struct ArmClient {
    /// State shared with the threads.
    shared: Arc<Shared>,
    /// The supervisor thread.
    supervisor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient").field("device", &self.shared.device()).finish_non_exhaustive()
    }
}

impl ArmClient {
    /// Connects through `connector` (called again on every reconnection), says hello and
    /// synchronises clocks. Fails if the first connection fails or the arm is incompatible.
    pub fn connect<F>(connector: F, config: ClientConfig) -> Result<Self, ClientError>
    where
        F: FnMut() -> Result<Link, LinkError> + Send + 'static,
    {
        let mut connector: Connector = Box::new(connector);
        let shared = Arc::new(Shared {
            config,
            device: Mutex::new(String::new()),
            tx: Mutex::new(None),
            generation: AtomicU64::new(0),
            pending: Mutex::new(HashMap::new()),
            state: Mutex::new(None),
            state_arrived: Condvar::new(),
            clock: Mutex::new(ClockSync::new()),
            info: Mutex::new(None),
            next_seq: AtomicU32::new(1),
            next_chunk_seq: AtomicU32::new(1),
            shutdown: AtomicBool::new(false),
            readers: Mutex::new(Vec::new()),
            counters: Counters::default(),
            last_error: Mutex::new(None),
        });
        let link = connector()?;
        let mut client = Self { shared, supervisor: None };
        client.shared.establish(link)?;
        let shared = Arc::clone(&client.shared);
        let supervisor = std::thread::Builder::new()
            .name(format!("arm-supervisor {}", client.shared.device()))
            .spawn(move || shared.supervise(connector))
            .map_err(|source| ClientError::Thread { name: "supervisor", source })?;
        client.supervisor = Some(supervisor);
        Ok(client)
    }

    /// Connects to an arm on a serial device (reopened by path on reconnection).
    pub fn open_serial(
        path: impl AsRef<Path>,
        baud: u32,
        config: ClientConfig,
    ) -> Result<Self, ClientError> {
        let path: PathBuf = path.as_ref().to_owned();
        Self::connect(move || open_serial(&path, baud), config)
    }

    /// What the arm said at the last hello.
    pub fn info(&self) -> Option<ArmInfo> {
        *lock(&self.shared.info)
    }

    /// Description of the current link.
    pub fn device(&self) -> String {
        self.shared.device()
    }

    /// True while the link is up.
    pub fn is_connected(&self) -> bool {
        lock(&self.shared.tx).is_some()
    }

    /// The last connection or link error, if any (for diagnostics).
    pub fn last_error(&self) -> Option<String> {
        lock(&self.shared.last_error).clone()
    }

    /// Counters since creation.
    pub fn stats(&self) -> ClientStats {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientStats {
            requests: get(&c.requests),
            replies: get(&c.replies),
            retries: get(&c.retries),
            timeouts: get(&c.timeouts),
            corrupt_frames: get(&c.corrupt_frames),
            states: get(&c.states),
            reconnects: get(&c.reconnects),
        }
    }

    /// Feeds the arm's watchdog (needed only when automatic heartbeats are off).
    pub fn heartbeat(&self) -> Result<(), ClientError> {
        self.shared.command(HostMessage::Heartbeat).map(|_| ())
    }

    /// Powers the motors and starts tracking from the measured pose.
    pub fn enable(&self) -> Result<(), ClientError> {
        self.shared.command(HostMessage::Enable).map(|_| ())
    }

    /// Stops tracking and unpowers the motors.
    pub fn disable(&self) -> Result<(), ClientError> {
        self.shared.command(HostMessage::Disable).map(|_| ())
    }

    /// Latches the arm's e-stop (brake and hold) until [`ArmClient::clear_estop`].
    pub fn estop(&self) -> Result<(), ClientError> {
        self.shared.command(HostMessage::EStop).map(|_| ())
    }

    /// Releases a latched e-stop; the arm comes back disabled.
    pub fn clear_estop(&self) -> Result<(), ClientError> {
        self.shared.command(HostMessage::ClearEStop).map(|_| ())
    }

    /// Sends targets starting at host instant `start`, `step_period` apart; the chunk is
    /// numbered automatically and its start converted to the arm's clock.
    pub fn send_chunk(
        &self,
        start: Instant,
        step_period: Duration,
        steps: &[ArmPose],
    ) -> Result<ChunkReceipt, ClientError> {
        let start_time_us = self.arm_time_us(start)?;
        let step_period_us = u32::try_from(step_period.as_micros()).unwrap_or(u32::MAX);
        let chunk_seq = self.shared.next_chunk_seq.fetch_add(1, Ordering::Relaxed);
        let chunk = ActionChunk::new(chunk_seq, start_time_us, step_period_us, steps)?;
        self.send_action_chunk(chunk)
    }

    /// Sends a fully built chunk (its number and arm-clock start time chosen by the caller).
    pub fn send_action_chunk(&self, chunk: ActionChunk) -> Result<ChunkReceipt, ClientError> {
        let chunk_seq = chunk.chunk_seq;
        let (code, round_trip) = self.shared.command(HostMessage::Chunk(chunk))?;
        Ok(ChunkReceipt { chunk_seq, code, round_trip })
    }

    /// The most recent state report.
    pub fn latest_state(&self) -> Option<StateSample> {
        lock(&self.shared.state).clone()
    }

    /// Waits up to `timeout` for a state report (the latest one included) that satisfies
    /// `accept`.
    pub fn wait_for_state(
        &self,
        timeout: Duration,
        mut accept: impl FnMut(&ArmState) -> bool,
    ) -> Option<StateSample> {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.shared.state);
        loop {
            if let Some(sample) = state.as_ref().filter(|s| accept(&s.state)) {
                return Some(sample.clone());
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return None;
            }
            state = self
                .shared
                .state_arrived
                .wait_timeout(state, remaining)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// The arm's clock at host instant `at`.
    pub fn arm_time_us(&self, at: Instant) -> Result<u64, ClientError> {
        lock(&self.shared.clock)
            .arm_us(at)
            .ok_or_else(|| ClientError::NotSynced { device: self.shared.device() })
    }

    /// The current clock estimate (offset and its round trip).
    pub fn clock(&self) -> Option<ClockSample> {
        lock(&self.shared.clock).best()
    }
}

impl Drop for ArmClient {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        if let Some(supervisor) = self.supervisor.take() {
            // A supervisor that panicked has nothing left to clean up.
            let _ = supervisor.join();
        }
        let readers: Vec<_> = lock(&self.shared.readers).drain(..).collect();
        for reader in readers {
            // Same for readers.
            let _ = reader.join();
        }
    }
}
