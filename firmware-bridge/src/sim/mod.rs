//! A simulated arm (feature `std`): the real arm-side state machine driving a first-order
//! model of an arm, on any link, in a thread. Used by the `arm-sim` binary, the bridge
//! benchmark, the runtime's demo and tests.

mod arm;
mod dynamics;

pub use arm::{ArmSim, PtySim, SimConfig, SimError, SimHandle, SimReport, SimSnapshot};
pub use dynamics::FirstOrderArm;
