//! `bridge-bench`: the client and simulated arms over real pseudo-terminals, chunks at a
//! fixed rate; prints the report and exits 1 if anything was lost (2 if it could not run).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use firmware_bridge::host::bench::{run, BenchConfig};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Benchmark the arm bridge over pseudo-terminals with simulated arms")]
struct Args {
    /// Chunks per second per arm.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Duration in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Number of simulated arms (1 or 2).
    #[arg(long, default_value_t = 2)]
    arms: usize,
    /// Steps per chunk (1 to 32).
    #[arg(long, default_value_t = 20)]
    steps: usize,
    /// Acknowledgement timeout in milliseconds.
    #[arg(long, default_value_t = 100)]
    ack_timeout_ms: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = BenchConfig {
        rate_hz: args.rate,
        seconds: args.seconds,
        arms: args.arms,
        steps: args.steps,
        ack_timeout: Duration::from_millis(args.ack_timeout_ms),
    };
    match run(config) {
        Ok(report) => {
            println!("{report}");
            if report.lost_anything() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("bridge-bench: {e}");
            ExitCode::from(2)
        }
    }
}
