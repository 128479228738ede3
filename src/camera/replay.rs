//! Replays recordings and image files as a camera.
//!
//! What `file:PATH` accepts:
//! - `NAME.mjpeg` or `NAME.mjpg`: a raw MJPEG stream, JPEG images back to back (what
//!   `ffmpeg -f mjpeg` writes and what `twinvla-edge camera-probe --record` writes), read into
//!   memory whole. An optional `NAME.mjpeg.timestamps` next to it gives each frame's capture
//!   time (format in the [`timestamps`] module); without it frames are `1/fps` apart.
//! - a directory: its `*.jpg`, `*.jpeg` and `*.png` files in file-name order, one frame each,
//!   with an optional `timestamps.txt` in the same format;
//! - a single `*.jpg`, `*.jpeg` or `*.png` file: a one-frame recording (loop it to get a
//!   steady stream).
//!
//! JPEG frames are delivered as MJPEG (decoded by the consumer, as camera frames are); PNG
//! frames are decoded here and delivered as RGB. A frame's `captured_at` is the moment it is
//! due in playback (`speed=recorded`) or the moment it is read (`speed=max`). When looping, each
//! pass lasts the recording's span plus one frame interval, and sequence numbers keep counting.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::clock::MonotonicTime;
use super::error::CameraError;
use super::frame::{Frame, PixelFormat, TimestampSource};
use super::health::HealthCounters;
use super::jpeg_markers;
use super::mjpeg_stream;
use super::png_io;
use super::source::{wait_until_due, FrameSource};
use super::spec::{ReplaySpec, ReplaySpeed};
use super::timestamps;

/// Where the frames of a recording are.
enum Media {
    /// A raw MJPEG stream in memory and the byte range of each frame.
    Stream { data: Vec<u8>, frames: Vec<Range<usize>> },
    /// One image file per frame.
    Files(Vec<PathBuf>),
}

impl Media {
    fn len(&self) -> usize {
        match self {
            Media::Stream { frames, .. } => frames.len(),
            Media::Files(paths) => paths.len(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ImageKind {
    Jpeg,
    Png,
}

fn image_kind(path: &Path) -> Option<ImageKind> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    match extension.as_str() {
        "jpg" | "jpeg" => Some(ImageKind::Jpeg),
        "png" => Some(ImageKind::Png),
        _ => None,
    }
}

fn is_mjpeg_stream(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mjpeg") || e.eq_ignore_ascii_case("mjpg"))
}

/// A [`FrameSource`] playing a recording (see the module doc).
pub struct ReplaySource {
    spec: ReplaySpec,
    description: String,
    media: Media,
    /// Each frame's time from the start of one pass.
    times: Vec<Duration>,
    /// Length of one pass when looping.
    period: Duration,
    position: usize,
    pass: u32,
    delivered: u64,
    started_at: Option<MonotonicTime>,
    health: HealthCounters,
}

impl ReplaySource {
    /// Opens the recording or image `spec` names and reads its timestamps, if any.
    pub fn open(spec: &ReplaySpec) -> Result<Self, CameraError> {
        let camera = format!("file:{}", spec.path.display());
        let io_error =
            |action: String, source| CameraError::Io { camera: camera.clone(), action, source };
        let metadata = std::fs::metadata(&spec.path)
            .map_err(|e| io_error(format!("open {}", spec.path.display()), e))?;
        let (media, timestamps_path) = if metadata.is_dir() {
            let entries = std::fs::read_dir(&spec.path)
                .map_err(|e| io_error(format!("list {}", spec.path.display()), e))?;
            let mut paths = Vec::new();
            for entry in entries {
                let path =
                    entry.map_err(|e| io_error(format!("list {}", spec.path.display()), e))?.path();
                if image_kind(&path).is_some() {
                    paths.push(path);
                }
            }
            paths.sort();
            (Media::Files(paths), Some(spec.path.join("timestamps.txt")))
        } else if is_mjpeg_stream(&spec.path) {
            let data = std::fs::read(&spec.path)
                .map_err(|e| io_error(format!("read {}", spec.path.display()), e))?;
            let frames = mjpeg_stream::split_frames(&data);
            (Media::Stream { data, frames }, Some(timestamps::sidecar_path(&spec.path)))
        } else if image_kind(&spec.path).is_some() {
            (Media::Files(vec![spec.path.clone()]), None)
        } else {
            return Err(CameraError::Recording {
                camera,
                reason:
                    "expected a .mjpeg/.mjpg stream, a .jpg/.jpeg/.png image or a directory of them"
                        .to_owned(),
            });
        };
        let count = media.len();
        if count == 0 {
            return Err(CameraError::Recording { camera, reason: "contains no frames".to_owned() });
        }
        let interval = Duration::from_secs_f64(1.0 / spec.fps);
        let recorded = match timestamps_path.filter(|p| p.is_file()) {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| io_error(format!("read {}", path.display()), e))?;
                let times = timestamps::parse_timestamps(&text).map_err(|e| {
                    CameraError::Timestamps { path: path.clone(), line: e.line, reason: e.reason }
                })?;
                if times.len() != count {
                    return Err(CameraError::Recording {
                        camera,
                        reason: format!(
                            "{} has {} timestamps for {count} frames",
                            path.display(),
                            times.len()
                        ),
                    });
                }
                Some(times)
            }
            None => None,
        };
        let description = format!(
            "{camera} ({count} frames, {})",
            if recorded.is_some() {
                "recorded timestamps".to_owned()
            } else {
                format!("{} fps", spec.fps)
            }
        );
        let times = recorded.unwrap_or_else(|| {
            (0..count).map(|i| Duration::from_secs_f64(i as f64 / spec.fps)).collect()
        });
        let span = times.last().copied().unwrap_or_default();
        let mean_interval = if count > 1 { span.div_f64((count - 1) as f64) } else { interval };
        Ok(Self {
            spec: spec.clone(),
            description,
            media,
            times,
            period: span.saturating_add(mean_interval.max(Duration::from_micros(1))),
            position: 0,
            pass: 0,
            delivered: 0,
            started_at: None,
            health: HealthCounters::new(),
        })
    }

    /// The frame at `position`: its format, size and bytes.
    fn load(
        &self,
        position: usize,
        sequence: u64,
    ) -> Result<(PixelFormat, usize, usize, Vec<u8>), CameraError> {
        let corrupt = |reason: String| CameraError::CorruptFrame {
            camera: self.description.clone(),
            sequence,
            reason,
        };
        let jpeg_frame = |bytes: Vec<u8>| {
            let (width, height) = jpeg_markers::scan(&bytes)
                .ok()
                .and_then(|layout| layout.size)
                .map_or((0, 0), |(w, h)| (usize::from(w), usize::from(h)));
            (PixelFormat::Mjpeg, width, height, bytes)
        };
        match &self.media {
            Media::Stream { data, frames } => {
                let bytes = frames
                    .get(position)
                    .and_then(|range| data.get(range.clone()))
                    .ok_or_else(|| corrupt(format!("frame {position} is outside the stream")))?;
                Ok(jpeg_frame(bytes.to_vec()))
            }
            Media::Files(paths) => {
                let path = paths
                    .get(position)
                    .ok_or_else(|| corrupt(format!("frame {position} is outside the recording")))?;
                let bytes = std::fs::read(path).map_err(|source| CameraError::Io {
                    camera: self.description.clone(),
                    action: format!("read {}", path.display()),
                    source,
                })?;
                match image_kind(path) {
                    Some(ImageKind::Png) => {
                        let image = png_io::decode_png(&bytes)
                            .map_err(|reason| corrupt(format!("{}: {reason}", path.display())))?;
                        Ok((PixelFormat::Rgb24, image.width, image.height, image.data))
                    }
                    _ => Ok(jpeg_frame(bytes)),
                }
            }
        }
    }
}

impl FrameSource for ReplaySource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        if self.position >= self.times.len() {
            if !self.spec.looping {
                self.health.record_end();
                return Err(CameraError::EndOfStream {
                    camera: self.description.clone(),
                    frames: self.delivered,
                });
            }
            self.position = 0;
            self.pass = self.pass.saturating_add(1);
        }
        let now = MonotonicTime::now();
        let started_at = *self.started_at.get_or_insert(now);
        let captured_at = match self.spec.speed {
            ReplaySpeed::Max => now,
            ReplaySpeed::Recorded => {
                let offset = self.times.get(self.position).copied().unwrap_or_default();
                let due = started_at
                    .saturating_add(self.period.saturating_mul(self.pass))
                    .saturating_add(offset);
                wait_until_due(due, now, timeout, &mut self.health, &self.description)?;
                due
            }
        };
        let sequence = self.delivered;
        let position = self.position;
        self.position += 1;
        self.delivered += 1;
        let (format, width, height, data) = match self.load(position, sequence) {
            Ok(loaded) => loaded,
            Err(error) => {
                if let CameraError::CorruptFrame { .. } = error {
                    self.health.record_corrupt_frame(&error);
                }
                return Err(error);
            }
        };
        self.health.record_frame(sequence, captured_at);
        Ok(Frame {
            format,
            width,
            height,
            data,
            sequence,
            captured_at,
            timestamp_source: TimestampSource::Replay,
            received_at: MonotonicTime::now(),
        })
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn health(&self) -> &HealthCounters {
        &self.health
    }
}
