//! The arm side: the state machine a microcontroller runs between its link and its motors.
//!
//! Everything here is `no_std`, allocation-free and clock-agnostic: every call takes the
//! arm's clock as a `u64` microsecond timestamp, so firmware passes its hardware timer and
//! tests pass whatever time they like. The firmware loop is:
//!
//! 1. for every received message, [`ArmController::handle`] and send the reply it returns;
//!    for every frame that failed its checks, [`ArmController::record_corrupt_frame`];
//! 2. every control period, [`ArmController::tick`] with the measured pose and drive the
//!    motors with the returned [`Command`];
//! 3. periodically, send [`ArmController::report`] as a state message.

mod acceptance;
mod controller;
mod motion;
mod trajectory;
mod watchdog;

pub use acceptance::{accept_chunk, clamp_to_limits};
pub use controller::{ArmConfig, ArmController, Command};
pub use motion::{brake, step_towards};
pub use trajectory::{sample_chunk, Trajectory};
pub use watchdog::Watchdog;
