//! `twinvla-edge bridge-bench --sim`: the host side of the arm bridge against simulated arms
//! over real pseudo-terminals; exits non-zero if anything was lost on the clean link.

use clap::Args;
use firmware_bridge::host::bench::{run, BenchConfig};

/// Arguments of `bridge-bench`.
#[derive(Args, Debug)]
pub struct BridgeBenchArgs {
    /// Run against simulated arms on pseudo-terminals (the only mode without hardware).
    #[arg(long, required = true)]
    pub sim: bool,
    /// Chunks per second per arm.
    #[arg(long, default_value_t = 200.0)]
    pub rate: f64,
    /// Duration in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Simulated arms (1 or 2).
    #[arg(long, default_value_t = 2)]
    pub arms: usize,
}

/// Runs the benchmark and prints its report; an error when anything was lost.
pub fn bridge_bench(args: &BridgeBenchArgs) -> Result<(), String> {
    if !(args.rate > 0.0 && args.rate.is_finite() && args.seconds > 0.0 && args.seconds.is_finite())
    {
        return Err("--rate and --seconds must be positive".into());
    }
    let config = BenchConfig {
        rate_hz: args.rate,
        seconds: args.seconds,
        arms: args.arms,
        ..BenchConfig::default()
    };
    let report = run(config).map_err(|e| e.to_string())?;
    println!("{report}");
    if report.lost_anything() {
        return Err("chunks were lost on a clean link".into());
    }
    Ok(())
}
