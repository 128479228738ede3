//! `twinvla-edge replay`: runs the policy again on flight-recorder records and reports any
//! difference from the recorded actions; fails when a difference exceeds the tolerance
//! (bit-exact by default, as expected on the adapter that recorded them).

use std::path::PathBuf;

use clap::Args;

use crate::control::replay::{replay as run_replay, ReplayOptions};

/// Arguments of `replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A record directory, or a directory of records.
    pub dir: PathBuf,
    /// The model file (default: the one named in the first record).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Vulkan adapter (name substring, `cpu` or `gpu`).
    #[arg(long)]
    pub adapter: Option<String>,
    /// Largest absolute difference accepted (0: bit-exact).
    #[arg(long, default_value_t = 0.0)]
    pub tolerance: f64,
    /// Replay at most this many records, oldest first.
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Runs `replay`.
pub fn replay(args: &ReplayArgs) -> Result<(), String> {
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        return Err("--tolerance must be a finite number, 0 or more".into());
    }
    let options = ReplayOptions {
        model: args.model.clone(),
        adapter: args.adapter.clone(),
        limit: args.limit,
    };
    let report = run_replay(&args.dir, &options).map_err(|e| e.to_string())?;
    println!("model    {}", report.model.display());
    println!("adapter  {} (recorded on {})", report.adapter, report.recorded_adapter);
    println!(
        "{:<40} {:>6} {:>10} {:>14} {:>12}",
        "record", "cycle", "differing", "max |diff|", "predict ms"
    );
    for r in &report.records {
        let name =
            r.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        println!(
            "{:<40} {:>6} {:>4}/{:<5} {:>14.3e} {:>12.1}",
            name, r.cycle, r.differing, r.values, r.max_abs_diff, r.inference_ms
        );
    }
    if report.within(args.tolerance) {
        let how = if args.tolerance == 0.0 {
            "bit-exact".to_owned()
        } else {
            format!("within {}", args.tolerance)
        };
        println!("{} records reproduced, {how}", report.records.len());
        Ok(())
    } else {
        Err(format!(
            "actions differ from the recording: max |diff| {:.3e} (tolerance {})",
            report.max_abs_diff(),
            args.tolerance
        ))
    }
}
