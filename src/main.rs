//! `twinvla-edge`: the command-line entry point of the runtime.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// TwinVLA edge runtime.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open one camera source, list its formats, print per-frame timestamps and rates, and
    /// optionally dump decoded frames as PNG.
    CameraProbe(twinvla_edge::camera::probe::ProbeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), Box<dyn std::error::Error>> = match cli.command {
        Command::CameraProbe(args) => twinvla_edge::camera::probe::run(args).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
