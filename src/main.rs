//! `twinvla-edge`: the command-line entry point of the runtime.
use clap::{Parser, Subcommand};

/// TwinVLA edge runtime.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() {
    let _cli = Cli::parse();
}
