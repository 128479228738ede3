//! What the control loop needs from the cameras: the age of each camera's newest frame (checked
//! every tick for stalls), the newest images (taken for each inference) and health figures for
//! the status report. The camera rig implements it; tests can put anything behind it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::image::RgbImage;

/// The policy's camera names, in the order of its images.
pub const CAMERA_NAMES: [&str; 3] = ["primary", "wrist_left", "wrist_right"];

/// The three cameras as the control loop sees them.
pub trait CameraFeed: Send {
    /// How old each camera's newest frame is now, in the order of [`CAMERA_NAMES`]; an error
    /// naming the camera when one has not delivered any frame.
    fn ages(&self) -> Result<[Duration; 3], String>;

    /// The newest image of each camera, in the order of [`CAMERA_NAMES`].
    fn images(&self) -> Result<[RgbImage; 3], String>;

    /// Health figures of each camera, in the order of [`CAMERA_NAMES`].
    fn health(&self) -> [CameraStatus; 3];
}

/// One camera's health, as reported by `twinvla-edge status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CameraStatus {
    /// The camera's name ([`CAMERA_NAMES`]).
    pub name: String,
    /// Its source.
    pub source: String,
    /// `ok`, `stale`, `reconnecting`, … as the source reports it.
    pub state: String,
    /// Frames per second over the recent past.
    pub fps: f64,
    /// Frames delivered.
    pub frames: u64,
    /// Frames lost before they reached the process.
    pub drops: u64,
    /// Age of the newest frame (milliseconds), if any.
    pub age_ms: Option<f64>,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// Checks a camera source spec string as the config validator does.
pub fn check_spec(spec: &str) -> Result<(), String> {
    if spec.trim().is_empty() {
        Err("is empty".into())
    } else {
        Ok(())
    }
}
