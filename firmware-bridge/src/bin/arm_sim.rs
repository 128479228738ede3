//! `arm-sim`: a simulated arm (the real arm-side state machine driving a first-order arm
//! model) on a new pseudo-terminal, whose path it prints, or on a SocketCAN interface.
//! Runs until interrupted.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use clap::{Parser, ValueEnum};
use firmware_bridge::host::pty::Pty;
use firmware_bridge::host::Link;
use firmware_bridge::protocol::ArmId;
use firmware_bridge::sim::{ArmSim, SimConfig};

/// Which arm to simulate.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Arm {
    /// The left arm.
    Left,
    /// The right arm.
    Right,
}

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Simulated arm microcontroller on a pseudo-terminal or a CAN interface")]
struct Args {
    /// Which arm to simulate.
    #[arg(long, value_enum, default_value_t = Arm::Left)]
    arm: Arm,
    /// Use this SocketCAN interface (e.g. vcan0) instead of a pseudo-terminal.
    #[arg(long)]
    can: Option<String>,
    /// With --can: use CAN FD frames (64 bytes) instead of classic frames.
    #[arg(long, requires = "can")]
    fd: bool,
    /// Tracking time constant in milliseconds.
    #[arg(long, default_value_t = 30)]
    time_constant_ms: u64,
}

/// Opens the requested transport, printing where a host can reach the arm.
fn open(args: &Args, arm_id: ArmId) -> Result<Link, String> {
    match &args.can {
        None => {
            let pty = Pty::open().map_err(|e| e.to_string())?;
            println!("arm-sim: {} arm on {}", arm_id.name(), pty.slave_path().display());
            let period = SimConfig::new(arm_id).arm.limits.control_period_us;
            let write_timeout = std::time::Duration::from_micros(u64::from(period));
            pty.into_master_link(write_timeout).map_err(|e| e.to_string())
        }
        Some(iface) => open_can(iface, arm_id, args.fd),
    }
}

#[cfg(feature = "socketcan")]
/// Opens the arm's side of a SocketCAN interface.
fn open_can(iface: &str, arm_id: ArmId, fd: bool) -> Result<Link, String> {
    use firmware_bridge::can::{ArmCanIds, CanMode};
    let mode = if fd { CanMode::Fd } else { CanMode::Classic };
    let ids = ArmCanIds::for_arm(arm_id);
    let link = firmware_bridge::host::socketcan::open_arm_socketcan(iface, ids, mode)
        .map_err(|e| e.to_string())?;
    println!("arm-sim: {} arm on {iface} ({mode:?}, ids {ids:?})", arm_id.name());
    Ok(link)
}

#[cfg(not(feature = "socketcan"))]
/// Without the `socketcan` feature there is no CAN transport.
fn open_can(_iface: &str, _arm_id: ArmId, _fd: bool) -> Result<Link, String> {
    Err("built without the `socketcan` feature; rebuild with --features socketcan".to_owned())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let arm_id = match args.arm {
        Arm::Left => ArmId::Left,
        Arm::Right => ArmId::Right,
    };
    let link = match open(&args, arm_id) {
        Ok(link) => link,
        Err(e) => {
            eprintln!("arm-sim: {e}");
            return ExitCode::from(2);
        }
    };
    // The path must reach whoever started us before we block.
    if std::io::stdout().flush().is_err() {
        return ExitCode::from(2);
    }
    let mut config = SimConfig::new(arm_id);
    config.time_constant = std::time::Duration::from_millis(args.time_constant_ms);
    let never = AtomicBool::new(false);
    let result = ArmSim::new(config).and_then(|mut sim| sim.run(link, &never));
    match result {
        Ok(report) => {
            println!("arm-sim: link closed after {} requests", report.requests);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("arm-sim: {e}");
            ExitCode::from(1)
        }
    }
}
