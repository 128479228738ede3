//! Cameras: capture frames from the robot's three cameras (or a recording, or a test pattern),
//! decode them to the [`RgbImage`](crate::image::RgbImage)s the policy takes, and keep the
//! newest frame of each camera with honest timestamps and health counters.
//!
//! The pieces, in the order a frame meets them:
//! - [`spec`]: source specs such as `v4l:/dev/v4l/by-id/…?width=640&height=480`, `file:run.mjpeg`
//!   or `synthetic:640x480`, parsed from config and the command line;
//! - [`source`]: the [`FrameSource`] trait, implemented by [`v4l2`] (USB UVC
//!   cameras), [`replay`] (image files and recorded MJPEG streams) and [`synthetic`] (a moving
//!   test pattern), and wrapped by [`reopen`] to survive unplugs and stalls;
//! - [`frame`]: one captured, still encoded frame with its timestamps; [`clock`] is the clock
//!   they are on;
//! - [`decode`]: MJPEG and YUYV to RGB;
//! - [`rig`]: three cameras captured concurrently, latest-frame semantics, skew and age;
//! - [`health`]: fps, drops, decode errors, age of the newest frame;
//! - [`recorder`]: writes MJPEG recordings that [`replay`] plays;
//! - [`probe`]: the `camera-probe` command.
//!
//! `docs/cameras.md` describes the hardware side (udev rules, what runs on real devices).

pub mod clock;
pub mod decode;
pub mod error;
pub mod frame;
pub mod health;
pub mod jpeg_markers;
pub mod mjpeg_stream;
pub mod png_io;
pub mod probe;
pub mod recorder;
pub mod reopen;
pub mod replay;
pub mod rig;
pub mod source;
pub mod spec;
pub mod synthetic;
pub mod timestamps;
pub mod v4l2;

pub use error::{CameraError, DecodeError};
pub use frame::{Frame, PixelFormat, TimestampSource};
pub use health::{HealthCounters, HealthSnapshot, HealthState};
pub use rig::{CameraRig, CameraRole, CapturedImage, FrameSet, RigConfig};
pub use source::FrameSource;
pub use spec::SourceSpec;
