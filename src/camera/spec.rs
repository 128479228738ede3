//! Source specs: one string names a camera source, in config files and on the command line.
//!
//! ```text
//! v4l:PATH[?width=W&height=H&fps=N&format=mjpeg|yuyv&buffers=N]
//! file:PATH[?speed=recorded|max&fps=F&loop=true|false]
//! synthetic[:WxH][?fps=F&format=rgb|yuyv]
//! ```
//!
//! - `v4l:` a V4L2 capture device, best named by a stable path such as
//!   `/dev/v4l/by-id/usb-…-video-index0` or a udev symlink (`docs/cameras.md`). Without options
//!   the driver's current size and frame rate are kept and MJPEG is preferred over YUYV.
//!   `width` and `height` go together; `buffers` (2 to 32, default 4) is the number of mmap
//!   buffers.
//! - `file:` a recording or still image (see [`replay`](super::replay)): played at the recorded
//!   pace (`speed=recorded`, the default) or as fast as it is read (`speed=max`); `fps`
//!   (default 30) paces recordings without a timestamps file; `loop=true` starts over at the
//!   end instead of ending the stream.
//! - `synthetic` the moving test pattern of [`synthetic`](super::synthetic), 640x480 RGB at 30
//!   fps unless told otherwise; `fps=0` delivers frames as fast as they are asked for.
//!
//! The path runs up to the first `?`. Options are `key=value` pairs joined by `&`; unknown,
//! repeated or malformed options are errors that quote the whole spec.

use std::path::PathBuf;
use std::str::FromStr;

use super::error::CameraError;
use super::reopen::{Backoff, ReopeningSource};
use super::replay::ReplaySource;
use super::source::FrameSource;
use super::synthetic::SyntheticSource;
use super::v4l2::V4l2Source;

/// The largest width or height a spec may ask for.
pub const MAX_DIMENSION: usize = 8192;

/// A parsed source spec.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceSpec {
    /// A V4L2 capture device.
    V4l2(V4l2Spec),
    /// A recording or image file.
    File(ReplaySpec),
    /// The synthetic test pattern.
    Synthetic(SyntheticSpec),
}

/// The pixel formats a V4L2 device can be asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CaptureFormat {
    /// Motion JPEG (`MJPG`).
    Mjpeg,
    /// Packed YUV 4:2:2 (`YUYV`).
    Yuyv,
}

/// What to open on a V4L2 device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V4l2Spec {
    /// The device node or a symlink to it.
    pub path: PathBuf,
    /// Requested width and height; `None` keeps the driver's current size.
    pub size: Option<(u32, u32)>,
    /// Requested frames per second; `None` keeps the driver's current rate.
    pub fps: Option<u32>,
    /// Requested format; `None` prefers MJPEG, then YUYV.
    pub format: Option<CaptureFormat>,
    /// Number of mmap buffers to request.
    pub buffers: u32,
}

/// How fast a recording is played.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplaySpeed {
    /// At the pace it was recorded (its timestamps, or the spec's `fps`).
    Recorded,
    /// Each frame as soon as it is asked for.
    Max,
}

/// What to play from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplaySpec {
    /// The file or directory.
    pub path: PathBuf,
    /// Playback pace.
    pub speed: ReplaySpeed,
    /// Frame rate for recordings without timestamps.
    pub fps: f64,
    /// Start over at the end instead of ending the stream.
    pub looping: bool,
}

/// The synthetic pattern's pixel formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyntheticFormat {
    /// RGB frames, exactly the pattern.
    Rgb,
    /// YUYV frames, the pattern converted to BT.601 limited range.
    Yuyv,
}

impl std::fmt::Display for SyntheticFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SyntheticFormat::Rgb => "rgb",
            SyntheticFormat::Yuyv => "yuyv",
        })
    }
}

/// The synthetic pattern's size, pace and format.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSpec {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Frames per second; 0 delivers frames as fast as they are asked for.
    pub fps: f64,
    /// Pixel format of the frames.
    pub format: SyntheticFormat,
}

const DEFAULT_BUFFERS: u32 = 4;
const DEFAULT_REPLAY_FPS: f64 = 30.0;
const DEFAULT_SYNTHETIC: SyntheticSpec =
    SyntheticSpec { width: 640, height: 480, fps: 30.0, format: SyntheticFormat::Rgb };

/// The `key=value` options after `?`, consumed one by one so leftovers can be reported.
struct Options {
    pairs: Vec<(String, String)>,
}

impl Options {
    fn parse(query: Option<&str>) -> Result<Self, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let Some(query) = query else { return Ok(Self { pairs }) };
        for item in query.split('&') {
            let Some((key, value)) = item.split_once('=') else {
                return Err(format!("option `{item}` is not key=value"));
            };
            if key.is_empty() || value.is_empty() {
                return Err(format!("option `{item}` has an empty key or value"));
            }
            if pairs.iter().any(|(k, _)| k == key) {
                return Err(format!("option `{key}` is given twice"));
            }
            pairs.push((key.to_owned(), value.to_owned()));
        }
        Ok(Self { pairs })
    }

    fn take(&mut self, key: &str) -> Option<String> {
        let index = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(index).1)
    }

    fn take_parsed<T: FromStr>(&mut self, key: &str, what: &str) -> Result<Option<T>, String> {
        self.take(key)
            .map(|value| value.parse().map_err(|_| format!("`{key}={value}`: expected {what}")))
            .transpose()
    }

    fn finish(self, allowed: &str) -> Result<(), String> {
        match self.pairs.first() {
            None => Ok(()),
            Some((key, _)) => Err(format!("unknown option `{key}` (allowed: {allowed})")),
        }
    }
}

fn check_dimension(name: &str, value: usize) -> Result<(), String> {
    if value == 0 || value > MAX_DIMENSION {
        return Err(format!("{name} {value} is outside 1..={MAX_DIMENSION}"));
    }
    Ok(())
}

fn check_fps(value: f64, allow_zero: bool) -> Result<f64, String> {
    let lowest_ok = if allow_zero { value >= 0.0 } else { value > 0.0 };
    if !value.is_finite() || !lowest_ok || value > 1000.0 {
        let range = if allow_zero { "0..=1000" } else { "above 0, at most 1000" };
        return Err(format!("fps {value} is outside {range}"));
    }
    Ok(value)
}

fn parse_path(path: &str) -> Result<PathBuf, String> {
    if path.is_empty() {
        return Err("the path is empty".to_owned());
    }
    Ok(PathBuf::from(path))
}

fn parse_v4l2(path: &str, mut options: Options) -> Result<V4l2Spec, String> {
    let path = parse_path(path)?;
    let width: Option<u32> = options.take_parsed("width", "a whole number")?;
    let height: Option<u32> = options.take_parsed("height", "a whole number")?;
    let size = match (width, height) {
        (None, None) => None,
        (Some(w), Some(h)) => {
            check_dimension("width", w as usize)?;
            check_dimension("height", h as usize)?;
            Some((w, h))
        }
        _ => return Err("`width` and `height` must be given together".to_owned()),
    };
    let fps: Option<u32> = options.take_parsed("fps", "a whole number of frames per second")?;
    if let Some(fps) = fps {
        if !(1..=1000).contains(&fps) {
            return Err(format!("fps {fps} is outside 1..=1000"));
        }
    }
    let format = match options.take("format").as_deref() {
        None => None,
        Some("mjpeg") => Some(CaptureFormat::Mjpeg),
        Some("yuyv") => Some(CaptureFormat::Yuyv),
        Some(other) => return Err(format!("format `{other}`: expected mjpeg or yuyv")),
    };
    let buffers = options.take_parsed("buffers", "a whole number")?.unwrap_or(DEFAULT_BUFFERS);
    if !(2..=32).contains(&buffers) {
        return Err(format!("buffers {buffers} is outside 2..=32"));
    }
    options.finish("width, height, fps, format, buffers")?;
    Ok(V4l2Spec { path, size, fps, format, buffers })
}

fn parse_file(path: &str, mut options: Options) -> Result<ReplaySpec, String> {
    let path = parse_path(path)?;
    let speed = match options.take("speed").as_deref() {
        None | Some("recorded") => ReplaySpeed::Recorded,
        Some("max") => ReplaySpeed::Max,
        Some(other) => return Err(format!("speed `{other}`: expected recorded or max")),
    };
    let fps = options.take_parsed("fps", "a number")?.unwrap_or(DEFAULT_REPLAY_FPS);
    let fps = check_fps(fps, false)?;
    let looping = match options.take("loop").as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => return Err(format!("loop `{other}`: expected true or false")),
    };
    options.finish("speed, fps, loop")?;
    Ok(ReplaySpec { path, speed, fps, looping })
}

fn parse_synthetic(size: Option<&str>, mut options: Options) -> Result<SyntheticSpec, String> {
    let mut spec = DEFAULT_SYNTHETIC;
    if let Some(size) = size {
        let parsed = size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse::<usize>().ok()?, h.parse::<usize>().ok()?)));
        let Some((width, height)) = parsed else {
            return Err(format!("size `{size}`: expected WIDTHxHEIGHT, e.g. 640x480"));
        };
        check_dimension("width", width)?;
        check_dimension("height", height)?;
        (spec.width, spec.height) = (width, height);
    }
    if let Some(fps) = options.take_parsed("fps", "a number")? {
        spec.fps = check_fps(fps, true)?;
    }
    spec.format = match options.take("format").as_deref() {
        None | Some("rgb") => SyntheticFormat::Rgb,
        Some("yuyv") => SyntheticFormat::Yuyv,
        Some(other) => return Err(format!("format `{other}`: expected rgb or yuyv")),
    };
    if spec.format == SyntheticFormat::Yuyv && spec.width % 2 != 0 {
        return Err(format!("yuyv needs an even width, got {}", spec.width));
    }
    options.finish("fps, format")?;
    Ok(spec)
}

impl FromStr for SourceSpec {
    type Err = CameraError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let parse = || -> Result<SourceSpec, String> {
            if spec.contains('\0') {
                return Err("contains a NUL byte".to_owned());
            }
            let (head, query) = match spec.split_once('?') {
                Some((head, query)) => (head, Some(query)),
                None => (spec, None),
            };
            let options = Options::parse(query)?;
            if let Some(path) = head.strip_prefix("v4l:") {
                Ok(SourceSpec::V4l2(parse_v4l2(path, options)?))
            } else if let Some(path) = head.strip_prefix("file:") {
                Ok(SourceSpec::File(parse_file(path, options)?))
            } else if head == "synthetic" {
                Ok(SourceSpec::Synthetic(parse_synthetic(None, options)?))
            } else if let Some(size) = head.strip_prefix("synthetic:") {
                Ok(SourceSpec::Synthetic(parse_synthetic(Some(size), options)?))
            } else {
                Err("unknown source kind: expected v4l:PATH, file:PATH or synthetic[:WxH]"
                    .to_owned())
            }
        };
        parse().map_err(|reason| CameraError::Spec { spec: spec.to_owned(), reason })
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut options: Vec<String> = Vec::new();
        match self {
            SourceSpec::V4l2(s) => {
                write!(f, "v4l:{}", s.path.display())?;
                if let Some((w, h)) = s.size {
                    options.extend([format!("width={w}"), format!("height={h}")]);
                }
                if let Some(fps) = s.fps {
                    options.push(format!("fps={fps}"));
                }
                match s.format {
                    Some(CaptureFormat::Mjpeg) => options.push("format=mjpeg".to_owned()),
                    Some(CaptureFormat::Yuyv) => options.push("format=yuyv".to_owned()),
                    None => {}
                }
                if s.buffers != DEFAULT_BUFFERS {
                    options.push(format!("buffers={}", s.buffers));
                }
            }
            SourceSpec::File(s) => {
                write!(f, "file:{}", s.path.display())?;
                if s.speed == ReplaySpeed::Max {
                    options.push("speed=max".to_owned());
                }
                if s.fps != DEFAULT_REPLAY_FPS {
                    options.push(format!("fps={}", s.fps));
                }
                if s.looping {
                    options.push("loop=true".to_owned());
                }
            }
            SourceSpec::Synthetic(s) => {
                write!(f, "synthetic:{}x{}", s.width, s.height)?;
                if s.fps != DEFAULT_SYNTHETIC.fps {
                    options.push(format!("fps={}", s.fps));
                }
                if s.format != SyntheticFormat::Rgb {
                    options.push(format!("format={}", s.format));
                }
            }
        }
        if !options.is_empty() {
            write!(f, "?{}", options.join("&"))?;
        }
        Ok(())
    }
}

impl serde::Serialize for SourceSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for SourceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl SourceSpec {
    /// Opens the source now; errors if the device or file cannot be opened.
    pub fn open(&self) -> Result<Box<dyn FrameSource>, CameraError> {
        Ok(match self {
            SourceSpec::V4l2(spec) => Box::new(V4l2Source::open(spec)?),
            SourceSpec::File(spec) => Box::new(ReplaySource::open(spec)?),
            SourceSpec::Synthetic(spec) => Box::new(SyntheticSource::new(spec.clone())),
        })
    }

    /// A source that opens this spec on first use and opens it again, with `backoff`, whenever
    /// it disconnects, fails to open or stalls (see [`ReopeningSource`]).
    pub fn open_resilient(&self, backoff: Backoff) -> ReopeningSource {
        let spec = self.clone();
        ReopeningSource::new(self.to_string(), Box::new(move || spec.open()), backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(spec: &str) -> Result<SourceSpec, String> {
        spec.parse::<SourceSpec>().map_err(|e| e.to_string())
    }

    #[test]
    fn parses_each_kind_with_options() {
        assert_eq!(
            parse(
                "v4l:/dev/v4l/by-id/usb-cam-video-index0?width=640&height=480&fps=30&format=mjpeg"
            )
            .unwrap(),
            SourceSpec::V4l2(V4l2Spec {
                path: PathBuf::from("/dev/v4l/by-id/usb-cam-video-index0"),
                size: Some((640, 480)),
                fps: Some(30),
                format: Some(CaptureFormat::Mjpeg),
                buffers: 4,
            })
        );
        assert_eq!(
            parse("file:run/head.mjpeg?speed=max&loop=true").unwrap(),
            SourceSpec::File(ReplaySpec {
                path: PathBuf::from("run/head.mjpeg"),
                speed: ReplaySpeed::Max,
                fps: 30.0,
                looping: true,
            })
        );
        assert_eq!(parse("synthetic").unwrap(), SourceSpec::Synthetic(DEFAULT_SYNTHETIC));
        assert_eq!(
            parse("synthetic:320x240?fps=0&format=yuyv").unwrap(),
            SourceSpec::Synthetic(SyntheticSpec {
                width: 320,
                height: 240,
                fps: 0.0,
                format: SyntheticFormat::Yuyv
            })
        );
    }

    #[test]
    fn errors_quote_the_spec_and_say_what_is_wrong() {
        for (spec, needle) in [
            ("v4l:", "path is empty"),
            ("v4l:/dev/video0?width=640", "together"),
            ("v4l:/dev/video0?width=640&height=480&width=320", "twice"),
            ("v4l:/dev/video0?format=h264", "mjpeg or yuyv"),
            ("v4l:/dev/video0?fps=0", "1..=1000"),
            ("v4l:/dev/video0?exposure=3", "unknown option `exposure`"),
            ("v4l:/dev/video0?buffers=1", "2..=32"),
            ("file:x.mjpeg?speed=slow", "recorded or max"),
            ("file:x.mjpeg?fps=NaN", "outside"),
            ("file:x.mjpeg?loop", "key=value"),
            ("synthetic:640", "WIDTHxHEIGHT"),
            ("synthetic:0x480", "outside"),
            ("synthetic:641x480?format=yuyv", "even width"),
            ("rtsp://camera", "unknown source kind"),
            ("v4l:/dev/vid\0eo0", "NUL"),
        ] {
            let err = parse(spec).unwrap_err();
            assert!(err.contains(&format!("`{spec}`")), "{err}");
            assert!(err.contains(needle), "{spec}: {err}");
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let spec = parse("synthetic:64x48?fps=10").unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(json, "\"synthetic:64x48?fps=10\"");
        assert_eq!(serde_json::from_str::<SourceSpec>(&json).unwrap(), spec);
        let err = serde_json::from_str::<SourceSpec>("\"usb:0\"").unwrap_err();
        assert!(err.to_string().contains("usb:0"), "{err}");
    }

    fn path_strategy() -> impl Strategy<Value = String> {
        "/[a-zA-Z0-9_./:-]{1,40}"
    }

    fn spec_strategy() -> impl Strategy<Value = SourceSpec> {
        let v4l2 = (
            path_strategy(),
            proptest::option::of((1u32..=8192, 1u32..=8192)),
            proptest::option::of(1u32..=1000),
            proptest::option::of(prop_oneof![
                Just(CaptureFormat::Mjpeg),
                Just(CaptureFormat::Yuyv)
            ]),
            2u32..=32,
        )
            .prop_map(|(path, size, fps, format, buffers)| {
                SourceSpec::V4l2(V4l2Spec { path: PathBuf::from(path), size, fps, format, buffers })
            });
        let file = (path_strategy(), any::<bool>(), 0.001f64..1000.0, any::<bool>()).prop_map(
            |(path, max, fps, looping)| {
                SourceSpec::File(ReplaySpec {
                    path: PathBuf::from(path),
                    speed: if max { ReplaySpeed::Max } else { ReplaySpeed::Recorded },
                    fps,
                    looping,
                })
            },
        );
        let synthetic = (1usize..=4096, 1usize..=8192, 0.0f64..1000.0, any::<bool>()).prop_map(
            |(half_width, height, fps, yuyv)| {
                SourceSpec::Synthetic(SyntheticSpec {
                    width: half_width * 2,
                    height,
                    fps,
                    format: if yuyv { SyntheticFormat::Yuyv } else { SyntheticFormat::Rgb },
                })
            },
        );
        prop_oneof![v4l2, file, synthetic]
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(text in "\\PC{0,80}") {
            let _ = text.parse::<SourceSpec>();
        }

        #[test]
        fn near_miss_strings_never_panic(
            kind in prop_oneof![Just("v4l:"), Just("file:"), Just("synthetic:"), Just("synthetic")],
            rest in "[a-z0-9/=&?x.:-]{0,40}",
        ) {
            let _ = format!("{kind}{rest}").parse::<SourceSpec>();
        }

        #[test]
        fn display_parses_back(spec in spec_strategy()) {
            let text = spec.to_string();
            prop_assert_eq!(text.parse::<SourceSpec>().unwrap(), spec);
        }
    }
}
