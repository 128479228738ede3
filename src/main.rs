//! `twinvla-edge`: the command-line entry point of the runtime.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use twinvla_edge::cli::{bench, bridge_bench, infer};

/// TwinVLA edge runtime.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Predict one action chunk from three image files, print it as JSON.
    Infer(infer::InferArgs),
    /// Print the token ids of a text, as the model's tokenizer encodes it.
    Tokenize(infer::TokenizeArgs),
    /// Benchmark a model file (load time, per-stage latency, dispatches) and/or the matmul kernels.
    Bench(bench::BenchArgs),
    /// Open one camera source, list its formats, print per-frame timestamps and rates, and
    /// optionally dump decoded frames as PNG.
    CameraProbe(twinvla_edge::camera::probe::ProbeArgs),
    /// Host and simulated arms over real pseudo-terminals: chunks sent, acknowledged, lost,
    /// corrupt frames and round-trip latency.
    BridgeBench(bridge_bench::BridgeBenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Infer(args) => infer::infer(&args),
        Command::Tokenize(args) => infer::tokenize(&args),
        Command::Bench(args) => bench::run(&args),
        Command::BridgeBench(args) => bridge_bench::bridge_bench(&args),
        Command::CameraProbe(args) => {
            twinvla_edge::camera::probe::run(args).map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
