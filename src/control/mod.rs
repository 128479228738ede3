//! The program that runs the robot: cameras and arm states in, the policy on the GPU, action
//! chunks out to the arms, with a host-side safety layer, watchdogs, an e-stop, a status and
//! command socket, systemd integration and a flight recorder.
//!
//! ```text
//!  cameras ─► CameraFeed ──┐                          ┌─► ArmClient (left)  ─► arm MCU
//!  arm states ─────────────┼─► ControlLoop ─► safety ─┤
//!  instruction (cmd/file) ─┘     │  ▲                 └─► ArmClient (right) ─► arm MCU
//!                                ▼  │ chunks
//!                         InferenceWorker (Policy)     e-stop line ─► EStopMonitor ─► EStop
//! ```
//!
//! - [`config`]: the TOML configuration and its validation;
//! - [`runtime`]: assembles the pieces and starts the [`control_loop`];
//! - [`plan`], [`executor`], [`blend`]: chunks aligned to their observation and blended;
//! - [`safety`], [`events`], [`estop`], [`estop_line`]: the safety layer and the e-stop;
//! - [`inference`]: the worker thread that owns the policy;
//! - [`cameras`], [`arms`], [`instruction`]: the inputs; [`arm_driver`]: the arms' senders;
//! - [`notify`]: systemd's `sd_notify` protocol; [`socket`], [`command`], [`status`]: the status
//!   and command socket; [`latency`], [`metrics`]: the figures it reports;
//! - [`record`], [`recorder`], [`replay`]: the flight recorder and its replay;
//! - [`logger`]: the binary's log output; [`demo`]: the setup of `twinvla-edge demo`.
//!
//! `docs/runtime.md` describes running it on a robot.

pub mod arm_driver;
pub mod arms;
pub mod blend;
pub mod cameras;
pub mod command;
pub mod config;
pub mod control_loop;
pub mod demo;
pub mod estop;
pub mod estop_line;
pub mod events;
pub mod executor;
pub mod inference;
pub mod instruction;
pub mod latency;
pub mod logger;
pub mod metrics;
pub mod notify;
pub mod plan;
pub mod record;
pub mod recorder;
pub mod replay;
pub mod runtime;
pub mod safety;
pub mod socket;
pub mod status;

pub use config::Config;
pub use runtime::{Parts, Runtime, RuntimeError, RuntimeHandle};
