//! `twinvla-edge demo`: the whole runtime on this machine with nothing attached. A tiny model
//! is made with the project's own tools (cached for the next run), three synthetic cameras
//! feed it, and two simulated arms answer on real pseudo-terminals through the real serial
//! path; after a number of inference cycles (or seconds) it prints per-stage latencies, rates
//! and safety events, and exits 0 when chunks reached both arms.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use firmware_bridge::protocol::ArmId;
use firmware_bridge::sim::{ArmSim, SimConfig};

use crate::control::demo::{cache_dir, demo_config, find_tokenizer, prepare_model};
use crate::control::latency::LatencySummary;
use crate::control::notify::Notifier;
use crate::control::status::StatusReport;
use crate::control::{Parts, Runtime};

/// Arguments of `demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Stop after this many inference cycles.
    #[arg(long, default_value_t = 3)]
    pub cycles: u64,
    /// Stop after this many seconds at most (counted from the start of the control loop).
    #[arg(long, default_value_t = 45.0)]
    pub seconds: f64,
    /// Use this model file instead of making the tiny one.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The tokenizer.json for making the tiny model (default: found next to the binary or in
    /// the source checkout).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Record every cycle into this directory (see `replay`).
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Serve the status socket here while running (try `status --socket PATH`).
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Print the demo's configuration and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// Runs `demo`.
pub fn demo(args: &DemoArgs) -> Result<(), String> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds < 86_400.0) {
        return Err("--seconds must be above 0 and below a day".into());
    }
    let setup = Instant::now();
    let model = match &args.model {
        Some(model) => model.clone(),
        None => {
            let tokenizer = find_tokenizer(args.tokenizer.as_deref()).map_err(|e| e.to_string())?;
            let dir = cache_dir();
            let (model, made) = prepare_model(&dir, &tokenizer).map_err(|e| e.to_string())?;
            let how = if made { "made" } else { "cached" };
            println!(
                "model     {} ({how}, {:.1} s)",
                model.display(),
                setup.elapsed().as_secs_f64()
            );
            model
        }
    };
    let sim = |arm| ArmSim::spawn_pty(SimConfig::new(arm)).map_err(|e| e.to_string());
    let (left, right) = (sim(ArmId::Left)?, sim(ArmId::Right)?);
    let (mut config, text) =
        demo_config(&model, [&left.path, &right.path]).map_err(|e| e.to_string())?;
    if args.print_config {
        print!("{text}");
        return Ok(());
    }
    if let Some(dir) = &args.record {
        config.recorder.enabled = true;
        config.recorder.dir = dir.clone();
    }
    println!(
        "arms      left on {}, right on {} (simulated)",
        left.path.display(),
        right.path.display()
    );
    let start_pose = [left.handle.snapshot().pose, right.handle.snapshot().pose];
    let notifier = Notifier::from_env().map_err(|e| e.to_string())?;
    let load = Instant::now();
    let parts = Parts::open(config, notifier, args.socket.clone()).map_err(|e| e.to_string())?;
    let load_s = load.elapsed().as_secs_f64();
    println!("loaded    in {load_s:.2} s (model, pipelines, cameras, arms)");
    let runtime = Runtime::start(parts).map_err(|e| e.to_string())?;
    let handle = runtime.handle();
    let started = Instant::now();
    let limit = Duration::from_secs_f64(args.seconds);
    let mut seen = 0;
    while started.elapsed() < limit && runtime.is_running() {
        std::thread::sleep(Duration::from_millis(100));
        let Some(status) = handle.status() else { continue };
        if status.inference.completed > seen {
            seen = status.inference.completed;
            println!(
                "cycle {seen:>3} at {:>6.1} s: prediction {:.0} ms, {} chunks in the plan, {} refused",
                started.elapsed().as_secs_f64(),
                status.inference.last_ms.unwrap_or_default(),
                status.control.chunks_accepted,
                status.control.chunks_refused,
            );
        }
        let both_sent = status.arms.iter().all(|a| a.chunks_sent > 0);
        if seen >= args.cycles && both_sent {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let outcome = runtime.stop().ok_or("the control loop failed")?;
    let moved: Vec<f32> = [left.handle.snapshot().pose, right.handle.snapshot().pose]
        .iter()
        .zip(start_pose)
        .map(|(now, start)| {
            let d: f32 = now.xyz.iter().zip(start.xyz).map(|(a, b)| (a - b) * (a - b)).sum();
            d.sqrt()
        })
        .collect();
    print!("{}", table(&outcome.status, elapsed, &moved));
    let reached = outcome.status.arms.iter().all(|a| a.chunks_sent > 0);
    if reached {
        Ok(())
    } else {
        Err(format!(
            "no chunk reached both arms in {elapsed:.1} s (a prediction may take longer here: try --seconds)"
        ))
    }
}

/// The final report as a table.
fn table(r: &StatusReport, elapsed: f64, moved: &[f32]) -> String {
    let l = &r.latency;
    let row = |name: &str, s: &LatencySummary| {
        format!(
            "{name:<22} {:>7} {:>10.2} {:>10.2} {:>10.2}\n",
            s.count, s.p50_ms, s.p99_ms, s.max_ms
        )
    };
    let mut out = format!(
        "\n{:<22} {:>7} {:>10} {:>10} {:>10}\n",
        "stage", "count", "p50 ms", "p99 ms", "max ms"
    );
    out += &row("camera frame age", &l.frame_age);
    out += &row("observation", &l.observe);
    out += &row("inference", &l.inference);
    out += &row("observation -> plan", &l.observation_to_plan);
    out += &row("chunk send + ack", &l.send);
    out += &row("control tick", &l.tick);
    out += &format!(
        "\nran {elapsed:.1} s: control {:.1} Hz ({} ticks, {} overruns), inference {:.3} Hz ({} done), {} chunks accepted, {} refused\n",
        r.control.rate_hz,
        r.control.ticks,
        r.control.overruns,
        r.inference.rate_hz,
        r.inference.completed,
        r.control.chunks_accepted,
        r.control.chunks_refused,
    );
    for c in &r.cameras {
        out += &format!(
            "camera {:<12} {:>5.1} fps, {} frames, {} dropped\n",
            c.name, c.fps, c.frames, c.drops
        );
    }
    for (a, m) in r.arms.iter().zip(moved) {
        out += &format!(
            "arm {:<6} {} chunks sent ({} clamped by the arm), last chunk {:?}, mode {}, moved {:.3} m\n",
            a.name,
            a.chunks_sent,
            a.chunks_clamped,
            a.last_chunk_seq,
            a.mode.as_deref().unwrap_or("?"),
            m
        );
    }
    let events: Vec<String> =
        r.safety_events.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{k} {n}")).collect();
    out += &format!(
        "safety events: {}\n",
        if events.is_empty() { "none".to_owned() } else { events.join(", ") }
    );
    out
}
