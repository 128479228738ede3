//! The bridge benchmark: the real client and simulated arms over real pseudo-terminals,
//! chunks at a fixed rate, every chunk's acknowledgement timed.
//!
//! Requests are sent without retries, so a chunk whose frame or acknowledgement is lost
//! counts as lost instead of being hidden by a resend. Run it with the `bridge-bench`
//! binary (`cargo run --release -p firmware-bridge --bin bridge-bench -- --rate 200
//! --seconds 10`) or call [`run`].

use std::fmt;
use std::time::{Duration, Instant};

use super::client::{ArmClient, ClientConfig, ClientError};
use super::serial::DEFAULT_BAUD;
use crate::protocol::{ArmId, ArmPose, MAX_STEPS};
use crate::sim::{ArmSim, SimConfig, SimError};

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Chunks per second per arm.
    pub rate_hz: f64,
    /// Duration of the run.
    pub seconds: f64,
    /// Simulated arms (1: left only, 2: both), each on its own pseudo-terminal.
    pub arms: usize,
    /// Steps per chunk (the policy produces 20).
    pub steps: usize,
    /// Wait for each acknowledgement before counting the chunk lost.
    pub ack_timeout: Duration,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            rate_hz: 200.0,
            seconds: 10.0,
            arms: 2,
            steps: 20,
            ack_timeout: Duration::from_millis(100),
        }
    }
}

/// Why the benchmark could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The configuration is unusable.
    #[error("invalid bench configuration: {0}")]
    Config(String),
    /// A simulated arm failed.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// A client failed to connect or enable.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A sender thread panicked.
    #[error("a bench sender thread panicked")]
    Panicked,
}

/// Results of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// What was run.
    pub config: BenchConfig,
    /// Chunks sent (all arms).
    pub chunks_sent: u64,
    /// Chunks acknowledged as accepted.
    pub chunks_acked: u64,
    /// Chunks without an acknowledgement within the timeout.
    pub chunks_lost: u64,
    /// Chunks the arm refused.
    pub chunks_rejected: u64,
    /// Frames that failed their checks, on both ends.
    pub corrupt_frames: u64,
    /// Median chunk round trip (send to acknowledgement).
    pub round_trip_p50: Duration,
    /// 99th-percentile chunk round trip.
    pub round_trip_p99: Duration,
    /// Longest chunk round trip.
    pub round_trip_max: Duration,
    /// Sends that started more than one period late (the host fell behind the rate).
    pub late_sends: u64,
    /// Wall time of the sending phase.
    pub elapsed: Duration,
}

impl BenchReport {
    /// True when anything was lost, refused or corrupted.
    pub fn lost_anything(&self) -> bool {
        self.chunks_lost > 0
            || self.chunks_rejected > 0
            || self.corrupt_frames > 0
            || self.chunks_acked != self.chunks_sent
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "bridge bench: {} arm(s) on pseudo-terminals, {} Hz per arm, {} s, {} steps per chunk",
            c.arms, c.rate_hz, c.seconds, c.steps
        )?;
        writeln!(f, "  chunks sent      {}", self.chunks_sent)?;
        writeln!(f, "  acknowledged     {}", self.chunks_acked)?;
        writeln!(f, "  lost             {}", self.chunks_lost)?;
        writeln!(f, "  rejected         {}", self.chunks_rejected)?;
        writeln!(f, "  corrupt frames   {}", self.corrupt_frames)?;
        writeln!(f, "  late sends       {}", self.late_sends)?;
        writeln!(f, "  round trip p50   {:.1} us", self.round_trip_p50.as_secs_f64() * 1e6)?;
        writeln!(f, "  round trip p99   {:.1} us", self.round_trip_p99.as_secs_f64() * 1e6)?;
        writeln!(f, "  round trip max   {:.1} us", self.round_trip_max.as_secs_f64() * 1e6)?;
        write!(
            f,
            "  result           {}",
            if self.lost_anything() { "LOSSY" } else { "nothing lost" }
        )
    }
}

/// One arm's tallies.
#[derive(Debug, Default)]
struct Tally {
    /// Chunks sent.
    sent: u64,
    /// Accepted.
    acked: u64,
    /// Timed out or failed to send.
    lost: u64,
    /// Refused by the arm.
    rejected: u64,
    /// Started late.
    late: u64,
    /// Round trips of accepted chunks.
    round_trips: Vec<Duration>,
}

/// The `q` quantile of sorted durations (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Targets for chunk `k`: a slow 2 cm circle around `centre`, one step per `period`.
fn circle_chunk(
    centre: &ArmPose,
    k: u64,
    rate_hz: f64,
    steps: usize,
    period: Duration,
) -> Vec<ArmPose> {
    let t0 = k as f64 / rate_hz;
    (0..steps)
        .map(|i| {
            let t = t0 + i as f64 * period.as_secs_f64();
            let angle = (t * std::f64::consts::TAU * 0.25) as f32;
            let mut pose = *centre;
            pose.xyz[0] += 0.02 * angle.cos();
            pose.xyz[1] += 0.02 * angle.sin();
            pose
        })
        .collect()
}

/// Sends chunks to one arm at the configured rate.
fn drive(client: &ArmClient, centre: ArmPose, config: &BenchConfig, start: Instant) -> Tally {
    let mut tally = Tally::default();
    let interval = Duration::from_secs_f64(1.0 / config.rate_hz);
    let count = (config.rate_hz * config.seconds).round() as u64;
    let step_period = Duration::from_millis(20);
    for k in 0..count {
        let due = start + interval.mul_f64(k as f64);
        let now = Instant::now();
        if now < due {
            std::thread::sleep(due - now);
        } else if now - due > interval {
            tally.late += 1;
        }
        let steps = circle_chunk(&centre, k, config.rate_hz, config.steps, step_period);
        tally.sent += 1;
        let begin = Instant::now() + Duration::from_millis(10);
        match client.send_chunk(begin, step_period, &steps) {
            Ok(receipt) => {
                tally.acked += 1;
                tally.round_trips.push(receipt.round_trip);
            }
            Err(ClientError::Rejected { .. }) => tally.rejected += 1,
            Err(_) => tally.lost += 1,
        }
    }
    tally
}

/// Runs the benchmark: starts the simulated arms on pseudo-terminals, connects, enables,
/// sends chunks for the configured time, then stops everything and reports.
pub fn run(config: BenchConfig) -> Result<BenchReport, BenchError> {
    if !(config.rate_hz.is_finite() && config.rate_hz > 0.0) {
        return Err(BenchError::Config(format!("rate {} Hz must be positive", config.rate_hz)));
    }
    if !(config.seconds.is_finite() && config.seconds > 0.0) {
        return Err(BenchError::Config(format!("duration {} s must be positive", config.seconds)));
    }
    if !(1..=2).contains(&config.arms) {
        return Err(BenchError::Config(format!("{} arms: must be 1 or 2", config.arms)));
    }
    if !(1..=MAX_STEPS).contains(&config.steps) {
        return Err(BenchError::Config(format!(
            "{} steps: must be 1 to {MAX_STEPS}",
            config.steps
        )));
    }
    let client_config =
        ClientConfig { request_timeout: config.ack_timeout, retries: 0, ..ClientConfig::default() };
    let mut arms = Vec::new();
    for &arm_id in ArmId::BOTH.iter().take(config.arms) {
        let sim_config = SimConfig::new(arm_id);
        let centre = sim_config.initial_pose;
        let sim = ArmSim::spawn_pty(sim_config)?;
        let client = ArmClient::open_serial(
            &sim.path,
            DEFAULT_BAUD,
            ClientConfig { expect_arm: Some(arm_id), ..client_config.clone() },
        )?;
        client.enable()?;
        arms.push((sim, client, centre));
    }

    let start = Instant::now() + Duration::from_millis(20);
    let tallies: Vec<std::thread::Result<Tally>> = std::thread::scope(|scope| {
        let workers: Vec<_> = arms
            .iter()
            .map(|(_, client, centre)| {
                let config = &config;
                scope.spawn(move || drive(client, *centre, config, start))
            })
            .collect();
        workers.into_iter().map(|w| w.join()).collect()
    });
    let elapsed = start.elapsed();

    let mut total = Tally::default();
    for tally in tallies {
        let tally = tally.map_err(|_| BenchError::Panicked)?;
        total.sent += tally.sent;
        total.acked += tally.acked;
        total.lost += tally.lost;
        total.rejected += tally.rejected;
        total.late += tally.late;
        total.round_trips.extend(tally.round_trips);
    }
    let mut corrupt_frames = 0;
    for (sim, client, _) in arms {
        corrupt_frames += client.stats().corrupt_frames;
        drop(client);
        corrupt_frames += sim.handle.stop()?.corrupt_frames;
    }
    total.round_trips.sort_unstable();
    Ok(BenchReport {
        round_trip_p50: quantile(&total.round_trips, 0.50),
        round_trip_p99: quantile(&total.round_trips, 0.99),
        round_trip_max: total.round_trips.last().copied().unwrap_or(Duration::ZERO),
        config,
        chunks_sent: total.sent,
        chunks_acked: total.acked,
        chunks_lost: total.lost,
        chunks_rejected: total.rejected,
        corrupt_frames,
        late_sends: total.late,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(quantile(&d, 0.5), Duration::from_micros(50));
        assert_eq!(quantile(&d, 0.99), Duration::from_micros(99));
        assert_eq!(quantile(&d, 1.0), Duration::from_micros(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let bad = |c: BenchConfig| matches!(run(c), Err(BenchError::Config(_)));
        assert!(bad(BenchConfig { rate_hz: 0.0, ..BenchConfig::default() }));
        assert!(bad(BenchConfig { seconds: f64::NAN, ..BenchConfig::default() }));
        assert!(bad(BenchConfig { arms: 3, ..BenchConfig::default() }));
        assert!(bad(BenchConfig { steps: 33, ..BenchConfig::default() }));
    }

    #[test]
    fn a_short_run_over_real_ptys_loses_nothing() {
        let report =
            run(BenchConfig { seconds: 1.0, ..BenchConfig::default() }).expect("bench ran");
        assert_eq!(report.chunks_sent, 400, "{report}");
        assert!(!report.lost_anything(), "{report}");
        assert!(report.round_trip_p99 < Duration::from_millis(100), "{report}");
    }
}
