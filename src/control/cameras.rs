//! What the control loop needs from the cameras: the age of each camera's newest frame (checked
//! every tick for stalls), the newest images (taken for each inference) and health figures for
//! the status report. The [`CameraRig`] implements it; tests can put anything behind it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::camera::{CameraRig, CameraRole, SourceSpec};
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
    spec.parse::<SourceSpec>().map(|_| ()).map_err(|e| e.to_string())
}

impl CameraFeed for CameraRig {
    fn ages(&self) -> Result<[Duration; 3], String> {
        let set = self.latest().map_err(|e| e.to_string())?;
        Ok(CameraRole::ALL.map(|role| set.age(role)))
    }

    fn images(&self) -> Result<[RgbImage; 3], String> {
        let set = self.latest().map_err(|e| e.to_string())?;
        Ok(CameraRole::ALL.map(|role| set.get(role).image.clone()))
    }

    fn health(&self) -> [CameraStatus; 3] {
        let sources = self.descriptions();
        let mut out: [CameraStatus; 3] = Default::default();
        for (((status, name), source), health) in
            out.iter_mut().zip(CAMERA_NAMES).zip(sources).zip(CameraRig::health(self))
        {
            *status = CameraStatus {
                name: name.to_owned(),
                source,
                state: health.state.to_string(),
                fps: health.fps,
                frames: health.frames,
                drops: health.drops,
                age_ms: health.newest_frame_age.map(|a| a.as_secs_f64() * 1000.0),
                last_error: health.last_error,
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::reopen::Backoff;
    use crate::camera::RigConfig;

    #[test]
    fn specs_are_checked_by_the_camera_parser() {
        assert!(check_spec("synthetic:64x48").is_ok());
        assert!(check_spec("v4l:/dev/twinvla/cam-primary?width=640&height=480").is_ok());
        assert!(check_spec("").is_err());
        assert!(check_spec("usb:0").is_err());
    }

    #[test]
    fn the_rig_feeds_ages_images_and_health() {
        let spec: SourceSpec = "synthetic:32x24?fps=100".parse().expect("spec");
        let rig = CameraRig::open(
            &[spec.clone(), spec.clone(), spec],
            RigConfig::default(),
            Backoff::default(),
        )
        .expect("rig");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while rig.ages().is_err() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let ages = rig.ages().expect("frames");
        assert!(ages.iter().all(|a| *a < Duration::from_secs(1)));
        let images = rig.images().expect("images");
        assert!(images.iter().all(|i| (i.width, i.height) == (32, 24)));
        let health = CameraFeed::health(&rig);
        assert_eq!(health[2].name, "wrist_right");
        assert!(health[0].source.contains("synthetic"));
    }
}
