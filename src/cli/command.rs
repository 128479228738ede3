//! `twinvla-edge command`: sends a command to a running runtime through the status socket
//! (e-stop, clear the e-stop, pause or resume inference, change the instruction).

use std::time::Duration;

use clap::{Args, Subcommand};

use super::status::SocketArgs;
use crate::control::command::{send, Request};

/// How long to wait for the runtime's reply (clearing an e-stop talks to both arms).
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Arguments of `command`.
#[derive(Args, Debug)]
pub struct CommandArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: Action,
    /// Where to find the socket.
    #[command(flatten)]
    pub socket: SocketArgs,
}

/// The commands.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Latch the e-stop: both arms brake and hold until it is cleared.
    Estop,
    /// Release the e-stop (refused while the e-stop line is asserted).
    ClearEstop,
    /// Stop starting inferences; the arms hold.
    Pause,
    /// Start inferences again.
    Resume,
    /// Replace the instruction.
    Instruction {
        /// The new instruction.
        text: String,
    },
}

/// Runs `command`.
pub fn command(args: &CommandArgs) -> Result<(), String> {
    let request = match &args.action {
        Action::Estop => Request::Estop,
        Action::ClearEstop => Request::ClearEstop,
        Action::Pause => Request::Pause,
        Action::Resume => Request::Resume,
        Action::Instruction { text } => Request::SetInstruction { text: text.clone() },
    };
    let path = args.socket.resolve()?;
    let reply = send(&path, &request, REPLY_TIMEOUT).map_err(|e| e.to_string())?;
    if reply.ok {
        println!("ok");
        Ok(())
    } else {
        Err(reply.error.unwrap_or_else(|| "refused".into()))
    }
}
