//! TwinVLA edge runtime: runs the quantized TwinVLA bimanual policy with WGSL compute shaders
//! through wgpu, reads the robot's cameras and talks to the arm microcontrollers.
//!
//! The modules follow the data path of one control cycle:
//! - [`model`]: the model file (GGUF), its configuration, tokenizer and prompt layout;
//! - [`reference`]: plain f32 CPU implementations of every op, the oracle for the GPU kernels;
//! - [`image`]: the RGB image type shared by cameras and the policy;
//! - [`camera`]: camera sources (V4L2, replay, synthetic), decoding and the three-camera rig;
//! - [`control`]: the control loop that runs the robot (safety layer, e-stop, systemd, recorder).
#![deny(missing_docs)]

pub mod camera;
pub mod cli;
pub mod control;
pub mod convert;
pub mod gpu;
pub mod image;
pub mod model;
pub mod npy;
pub mod policy;
pub mod reference;
