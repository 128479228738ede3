//! `twinvla-edge run`: runs the robot from a configuration file until SIGTERM or SIGINT (the
//! systemd service's command).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::control::notify::Notifier;
use crate::control::{Config, Parts, Runtime};

/// Arguments of `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The configuration file.
    #[arg(long, default_value = "/etc/twinvla-edge/config.toml")]
    pub config: PathBuf,
    /// Check the configuration and exit.
    #[arg(long)]
    pub check: bool,
}

/// Runs `run`.
pub fn run(args: &RunArgs) -> Result<(), String> {
    let config = Config::load(&args.config).map_err(|e| e.to_string())?;
    if args.check {
        println!("{}: valid", args.config.display());
        return Ok(());
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        // A second signal while stopping ends the process at once.
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .map_err(|e| format!("installing the signal handler: {e}"))?;
    }
    log::info!("configuration {}", args.config.display());
    let notifier = Notifier::from_env().map_err(|e| e.to_string())?;
    let socket = Some(config.socket_path());
    let parts = Parts::open(config, notifier, socket).map_err(|e| e.to_string())?;
    let runtime = Runtime::start(parts).map_err(|e| e.to_string())?;
    if let Some(path) = runtime.socket() {
        log::info!("status socket {}", path.display());
    }
    while !stop.load(Ordering::SeqCst) && runtime.is_running() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let signalled = stop.load(Ordering::SeqCst);
    log::info!("stopping");
    let outcome = runtime.stop();
    match (signalled, outcome) {
        (true, Some(outcome)) => {
            log::info!("stopped: {}", outcome.status.log_line());
            Ok(())
        }
        (_, None) => Err("the control loop failed".into()),
        (false, Some(_)) => Err("the control loop stopped on its own".into()),
    }
}
