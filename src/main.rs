//! `twinvla-edge`: the command-line entry point of the runtime.
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use twinvla_edge::cli::{bench, bridge_bench, command, demo, infer, replay, run, status};

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
    /// Run the robot from a configuration file (the systemd service's command).
    Run(run::RunArgs),
    /// Run everything on this machine with a tiny model, synthetic cameras and simulated arms,
    /// then print latencies, rates and safety events.
    Demo(demo::DemoArgs),
    /// Rerun the policy on flight-recorder records and report any difference in actions.
    Replay(replay::ReplayArgs),
    /// Print a running runtime's status (through its status socket).
    Status(status::StatusArgs),
    /// Send a command to a running runtime: e-stop, clear-estop, pause, resume, instruction.
    #[command(name = "command")]
    Control(command::CommandArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Run(_) | Command::Demo(_) | Command::Replay(_)) {
        twinvla_edge::control::logger::init();
    }
    let result = match cli.command {
        Command::Infer(args) => infer::infer(&args),
        Command::Tokenize(args) => infer::tokenize(&args),
        Command::Bench(args) => bench::run(&args),
        Command::BridgeBench(args) => bridge_bench::bridge_bench(&args),
        Command::CameraProbe(args) => {
            twinvla_edge::camera::probe::run(args).map_err(|e| e.to_string())
        }
        Command::Run(args) => run::run(&args),
        Command::Demo(args) => demo::demo(&args),
        Command::Replay(args) => replay::replay(&args),
        Command::Status(args) => status::status(&args),
        Command::Control(args) => command::command(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
