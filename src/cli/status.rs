//! `twinvla-edge status`: asks a running runtime for its status report through the status
//! socket and prints it (as JSON with `--json`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use crate::control::command::{send, Request};
use crate::control::config::default_socket_path;
use crate::control::status::StatusReport;
use crate::control::Config;

/// The configuration file looked at when neither `--socket` nor `--config` is given.
const DEFAULT_CONFIG: &str = "/etc/twinvla-edge/config.toml";

/// How long to wait for the runtime's reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Where to find the socket.
#[derive(Args, Debug, Clone)]
pub struct SocketArgs {
    /// The status socket.
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Take the socket path from this configuration file.
    #[arg(long, conflicts_with = "socket")]
    pub config: Option<PathBuf>,
}

impl SocketArgs {
    /// `--socket`, else the configuration's socket (`--config`, or the default configuration
    /// file when readable), else the default path (`$XDG_RUNTIME_DIR/twinvla-edge/…`, then
    /// `/run/twinvla-edge/…`, the first that exists).
    pub fn resolve(&self) -> Result<PathBuf, String> {
        if let Some(socket) = &self.socket {
            return Ok(socket.clone());
        }
        if let Some(config) = &self.config {
            return Ok(Config::load(config).map_err(|e| e.to_string())?.socket_path());
        }
        if let Ok(config) = Config::load(Path::new(DEFAULT_CONFIG)) {
            return Ok(config.socket_path());
        }
        let system = PathBuf::from("/run/twinvla-edge/control.sock");
        let user = default_socket_path();
        Ok(if !user.exists() && system.exists() { system } else { user })
    }
}

/// Arguments of `status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Where to find the socket.
    #[command(flatten)]
    pub socket: SocketArgs,
    /// Print the whole report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `status`.
pub fn status(args: &StatusArgs) -> Result<(), String> {
    let path = args.socket.resolve()?;
    let reply = send(&path, &Request::Status, REPLY_TIMEOUT).map_err(|e| e.to_string())?;
    let report = match (reply.ok, reply.status, reply.error) {
        (true, Some(report), _) => report,
        (_, _, Some(error)) => return Err(format!("{}: {error}", path.display())),
        _ => return Err(format!("{}: empty reply", path.display())),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    } else {
        print!("{}", summary(&report));
    }
    Ok(())
}

/// The report as a few lines of text.
pub fn summary(r: &StatusReport) -> String {
    let mut out = format!("state        {:?}", r.state);
    if !r.hold_causes.is_empty() {
        out += &format!(" ({})", r.hold_causes.join("; "));
    }
    if let Some(cause) = &r.estop_cause {
        out += &format!(" (e-stop: {cause})");
    }
    out += &format!("\ninstruction  {:?}\nuptime       {:.1} s\n", r.instruction, r.uptime_s);
    out += &format!(
        "control      {:.1} Hz, {} ticks, {} overruns, {} chunks accepted, {} refused\n",
        r.control.rate_hz,
        r.control.ticks,
        r.control.overruns,
        r.control.chunks_accepted,
        r.control.chunks_refused
    );
    let l = &r.latency;
    out += &format!(
        "inference    {:.2} Hz, {} done, p50 {:.1} ms, p99 {:.1} ms{}\n",
        r.inference.rate_hz,
        r.inference.completed,
        l.inference.p50_ms,
        l.inference.p99_ms,
        if r.inference.paused { " (paused)" } else { "" }
    );
    for c in &r.cameras {
        out += &format!(
            "camera       {:<11} {:>5.1} fps  {:<12} {}\n",
            c.name, c.fps, c.state, c.source
        );
    }
    for a in &r.arms {
        out += &format!(
            "arm          {:<11} {:<9} connected={} chunks={} last_chunk={:?}\n",
            a.name,
            a.mode.as_deref().unwrap_or("?"),
            a.connected,
            a.chunks_sent,
            a.last_chunk_seq
        );
    }
    let events: Vec<String> =
        r.safety_events.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{k}={n}")).collect();
    out += &format!(
        "safety       {}\n",
        if events.is_empty() { "no events".to_owned() } else { events.join(", ") }
    );
    out
}
