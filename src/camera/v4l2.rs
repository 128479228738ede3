//! V4L2 capture devices (USB UVC cameras) through the `v4l` crate: format, size and frame-rate
//! negotiation, mmap streaming, the driver's timestamps and sequence numbers.
//!
//! This file is the only code that needs a real device. How a frame is taken:
//! 1. at start, all mmap buffers but one are queued and streaming is switched on; the one
//!    buffer kept back is the buffer "held" by us;
//! 2. each [`FrameSource::next_frame`] polls the device for at most the timeout, and only when
//!    a buffer is ready gives the held buffer back to the driver and dequeues the ready one
//!    (the `v4l` stream's `next`), so a timeout leaves the queue as it was;
//! 3. the frame is copied out of the mmap buffer, cut to the driver's `bytesused`, and the
//!    buffer is held until the next frame.
//!
//! Faults: a poll timeout is [`CameraError::Timeout`]; a buffer flagged `V4L2_BUF_FLAG_ERROR`
//! or of the wrong size is [`CameraError::CorruptFrame`]; any failed ioctl marks the stream
//! broken and is [`CameraError::Disconnected`] (an unplug gives `ENODEV`), after which the
//! source must be opened again ([`ReopeningSource`](super::reopen::ReopeningSource) does).
//!
//! The `v4l` crate panics where a driver reports a colorspace, field order or name it cannot
//! represent; negotiation calls run under [`std::panic::catch_unwind`] so that such a device is
//! an error, not a crash. `docs/cameras.md` says what has and has not run on hardware.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::Duration;

use v4l::buffer::Type;
use v4l::format::FourCC;
use v4l::frameinterval::FrameIntervalEnum;
use v4l::framesize::FrameSizeEnum;
use v4l::io::mmap::Stream as MmapStream;
use v4l::io::traits::{CaptureStream, Stream as _};
use v4l::video::capture::Parameters;
use v4l::video::Capture;
use v4l::{Device, Format};

use super::clock::MonotonicTime;
use super::error::CameraError;
use super::frame::{Frame, PixelFormat, TimestampSource};
use super::health::HealthCounters;
use super::source::FrameSource;
use super::spec::{CaptureFormat, V4l2Spec};

const MJPG: FourCC = FourCC { repr: *b"MJPG" };
const YUYV: FourCC = FourCC { repr: *b"YUYV" };

/// `V4L2_BUF_FLAG_ERROR`: the driver filled the buffer but the data is damaged.
const BUF_FLAG_ERROR: u32 = 0x0000_0040;
/// `V4L2_BUF_FLAG_TIMESTAMP_MASK` and `V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC`.
const BUF_FLAG_TIMESTAMP_MASK: u32 = 0x0000_e000;
const BUF_FLAG_TIMESTAMP_MONOTONIC: u32 = 0x0000_2000;

/// One pixel format a device offers, with its frame sizes and rates, for `camera-probe`.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatInfo {
    /// The four-character code, e.g. `MJPG`.
    pub fourcc: String,
    /// The driver's description, e.g. `Motion-JPEG`.
    pub description: String,
    /// Frame sizes: `WxH` for discrete sizes, a range for stepwise ones.
    pub sizes: Vec<SizeInfo>,
}

/// One frame size of a [`FormatInfo`].
#[derive(Clone, Debug, PartialEq)]
pub struct SizeInfo {
    /// `WxH`, or `min..max step` for a stepwise range.
    pub size: String,
    /// Frame rates offered at this size (discrete sizes only), frames per second.
    pub fps: Vec<f64>,
}

fn fourcc_name(fourcc: FourCC) -> String {
    fourcc.repr.iter().map(|b| if b.is_ascii_graphic() { *b as char } else { '?' }).collect()
}

/// Runs a `v4l` call, turning both its I/O errors and its panics into [`CameraError`]s.
fn device_call<T>(
    camera: &str,
    action: &str,
    call: impl FnOnce() -> std::io::Result<T>,
) -> Result<T, CameraError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(source)) => {
            Err(CameraError::Io { camera: camera.to_owned(), action: action.to_owned(), source })
        }
        Err(_) => Err(CameraError::Negotiation {
            camera: camera.to_owned(),
            reason: format!("{action}: the driver reported a value the v4l crate cannot represent"),
        }),
    }
}

fn open_device(camera: &str, path: &Path) -> Result<Device, CameraError> {
    device_call(camera, "open the device", || Device::with_path(path))
}

/// Lists the formats, sizes and frame rates of the capture device at `path`.
pub fn list_formats(path: &Path) -> Result<Vec<FormatInfo>, CameraError> {
    let camera = format!("v4l:{}", path.display());
    let device = open_device(&camera, path)?;
    let formats = device_call(&camera, "list formats", || device.enum_formats())?;
    let mut out = Vec::new();
    for format in formats {
        let sizes =
            device_call(&camera, "list frame sizes", || device.enum_framesizes(format.fourcc))
                .unwrap_or_default();
        let mut size_infos = Vec::new();
        for size in sizes {
            match size.size {
                FrameSizeEnum::Discrete(d) => {
                    let intervals = device_call(&camera, "list frame intervals", || {
                        device.enum_frameintervals(format.fourcc, d.width, d.height)
                    })
                    .unwrap_or_default();
                    let fps = intervals
                        .iter()
                        .filter_map(|i| match &i.interval {
                            FrameIntervalEnum::Discrete(f) if f.numerator > 0 => {
                                Some(f64::from(f.denominator) / f64::from(f.numerator))
                            }
                            _ => None,
                        })
                        .collect();
                    size_infos.push(SizeInfo { size: format!("{}x{}", d.width, d.height), fps });
                }
                FrameSizeEnum::Stepwise(s) => size_infos.push(SizeInfo {
                    size: format!(
                        "{}x{}..{}x{} step {}x{}",
                        s.min_width,
                        s.min_height,
                        s.max_width,
                        s.max_height,
                        s.step_width,
                        s.step_height
                    ),
                    fps: Vec::new(),
                }),
            }
        }
        out.push(FormatInfo {
            fourcc: fourcc_name(format.fourcc),
            description: format.description,
            sizes: size_infos,
        });
    }
    Ok(out)
}

/// Extends the driver's 32-bit frame sequence numbers to 64 bits, counting across wraps.
#[derive(Debug, Default)]
struct SequenceCounter {
    epoch: u64,
    last: Option<u32>,
}

impl SequenceCounter {
    fn extend(&mut self, raw: u32) -> u64 {
        if let Some(last) = self.last {
            if raw < last && last - raw > u32::MAX / 2 {
                self.epoch += 1 << 32;
            }
        }
        self.last = Some(raw);
        self.epoch + u64::from(raw)
    }
}

/// A `struct timeval` from a buffer as a time on `CLOCK_MONOTONIC`.
#[allow(clippy::useless_conversion)] // time_t is 32 bits wide on some targets
fn timeval_time(timestamp: v4l::timestamp::Timestamp) -> Option<MonotonicTime> {
    MonotonicTime::from_secs_micros(i64::from(timestamp.sec), i64::from(timestamp.usec))
}

/// A V4L2 capture device streaming through mmap buffers (see the module doc).
pub struct V4l2Source {
    camera: String,
    description: String,
    // Declared before `_device` so that streaming stops before the device handle is released.
    stream: Option<MmapStream<'static>>,
    _device: Device,
    buffers: u32,
    started: bool,
    format: PixelFormat,
    width: usize,
    height: usize,
    sequences: SequenceCounter,
    health: HealthCounters,
}

impl V4l2Source {
    /// Opens the device, negotiates format, size and frame rate, and maps the buffers.
    /// Streaming starts with the first [`FrameSource::next_frame`].
    pub fn open(spec: &V4l2Spec) -> Result<Self, CameraError> {
        let camera = format!("v4l:{}", spec.path.display());
        let negotiation =
            |reason: String| CameraError::Negotiation { camera: camera.clone(), reason };
        let device = open_device(&camera, &spec.path)?;

        let offered = device_call(&camera, "list formats", || device.enum_formats())?;
        let offered: Vec<FourCC> = offered.iter().map(|f| f.fourcc).collect();
        let offered_names =
            || offered.iter().map(|f| fourcc_name(*f)).collect::<Vec<_>>().join(", ");
        let fourcc = match spec.format {
            Some(CaptureFormat::Mjpeg) => MJPG,
            Some(CaptureFormat::Yuyv) => YUYV,
            None if offered.contains(&MJPG) => MJPG,
            None => YUYV,
        };
        if !offered.contains(&fourcc) {
            return Err(negotiation(format!(
                "does not offer {}; it offers: {}",
                fourcc_name(fourcc),
                offered_names()
            )));
        }
        let pixel_format = if fourcc == MJPG { PixelFormat::Mjpeg } else { PixelFormat::Yuyv };

        let current = device_call(&camera, "read the format", || device.format())?;
        let (width, height) = spec.size.unwrap_or((current.width, current.height));
        let applied = device_call(&camera, "set the format", || {
            device.set_format(&Format::new(width, height, fourcc))
        })?;
        if applied.fourcc != fourcc
            || (spec.size.is_some() && (applied.width, applied.height) != (width, height))
        {
            let sizes = device_call(&camera, "list frame sizes", || device.enum_framesizes(fourcc))
                .unwrap_or_default()
                .iter()
                .map(|s| s.size.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(negotiation(format!(
                "asked for {} {width}x{height}, the driver chose {} {}x{}; sizes offered: {sizes}",
                fourcc_name(fourcc),
                fourcc_name(applied.fourcc),
                applied.width,
                applied.height
            )));
        }
        if pixel_format == PixelFormat::Yuyv && applied.stride != applied.width * 2 {
            return Err(negotiation(format!(
                "YUYV rows of {} bytes for width {} (padded rows are not supported)",
                applied.stride, applied.width
            )));
        }

        let interval = match spec.fps {
            Some(fps) => {
                let params = device_call(&camera, "set the frame rate", || {
                    device.set_params(&Parameters::with_fps(fps))
                })?;
                let actual = params.interval;
                let matches = actual.numerator > 0
                    && (f64::from(actual.denominator) / f64::from(actual.numerator)
                        - f64::from(fps))
                    .abs()
                        <= f64::from(fps) * 0.01;
                if !matches {
                    return Err(negotiation(format!(
                        "asked for {fps} fps, the driver chose a frame interval of {}/{} s",
                        actual.numerator, actual.denominator
                    )));
                }
                actual
            }
            None => device_call(&camera, "read the frame rate", || device.params())?.interval,
        };
        let fps_text = if interval.numerator > 0 {
            format!("{:.2} fps", f64::from(interval.denominator) / f64::from(interval.numerator))
        } else {
            "unknown fps".to_owned()
        };

        let stream = device_call(&camera, "map capture buffers", || {
            MmapStream::with_buffers(&device, Type::VideoCapture, spec.buffers)
        })?;
        let description = format!(
            "{camera} {} {}x{} {fps_text}",
            fourcc_name(applied.fourcc),
            applied.width,
            applied.height
        );
        Ok(Self {
            camera,
            description,
            stream: Some(stream),
            _device: device,
            buffers: spec.buffers,
            started: false,
            format: pixel_format,
            width: applied.width as usize,
            height: applied.height as usize,
            sequences: SequenceCounter::default(),
            health: HealthCounters::new(),
        })
    }

    /// Marks the stream broken after a failed ioctl and returns the error to report.
    fn broken(&mut self, action: &str, error: std::io::Error) -> CameraError {
        self.stream = None;
        let error = CameraError::Disconnected {
            camera: self.camera.clone(),
            reason: format!("{action}: {error}"),
        };
        self.health.record_disconnect(&error);
        error
    }

    /// Queues every buffer but the first (the one we hold) and switches streaming on.
    fn start(&mut self) -> Result<(), CameraError> {
        let Some(stream) = self.stream.as_mut() else { return Ok(()) };
        let mut result = Ok(());
        for index in 1..self.buffers as usize {
            if let Err(error) = CaptureStream::queue(stream, index) {
                // The driver may have allocated fewer buffers than asked; two are enough.
                if index < 2 {
                    result = Err(("queue a buffer", error));
                }
                break;
            }
        }
        if result.is_ok() {
            result = stream.start().map_err(|e| ("start streaming", e));
        }
        match result {
            Ok(()) => {
                self.started = true;
                Ok(())
            }
            Err((action, error)) => Err(self.broken(action, error)),
        }
    }
}

impl FrameSource for V4l2Source {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        if self.stream.is_none() {
            return Err(CameraError::Disconnected {
                camera: self.camera.clone(),
                reason: "the stream broke earlier; open the device again".to_owned(),
            });
        }
        if !self.started {
            self.start()?;
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(CameraError::Disconnected {
                camera: self.camera.clone(),
                reason: "the stream broke while starting".to_owned(),
            });
        };
        // Round up so that a sub-millisecond timeout still waits; cap at poll's i32 range.
        let millis = i32::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
        match stream.handle().poll(libc::POLLIN, millis) {
            Ok(0) => {
                self.health.record_timeout();
                return Err(CameraError::Timeout { camera: self.camera.clone(), waited: timeout });
            }
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {
                self.health.record_timeout();
                return Err(CameraError::Timeout { camera: self.camera.clone(), waited: timeout });
            }
            Err(error) => return Err(self.broken("poll", error)),
        }
        // Ready: dequeueing cannot block, but bound it anyway.
        stream.set_timeout(Duration::from_millis(100));
        let dequeued = CaptureStream::next(stream).map(|(buffer, meta)| {
            let used = meta.bytesused as usize;
            let flags: u32 = meta.flags.into();
            let bytes = buffer.get(..used).map(<[u8]>::to_vec);
            (bytes, used, buffer.len(), flags, meta.sequence, meta.timestamp)
        });
        let (bytes, used, capacity, flags, raw_sequence, timestamp) = match dequeued {
            Ok(parts) => parts,
            Err(error) => return Err(self.broken("dequeue a buffer", error)),
        };
        let received_at = MonotonicTime::now();
        let sequence = self.sequences.extend(raw_sequence);
        let corrupt = |reason: String| CameraError::CorruptFrame {
            camera: self.camera.clone(),
            sequence,
            reason,
        };
        let problem = if flags & BUF_FLAG_ERROR != 0 {
            Some(corrupt("the driver flagged the buffer as damaged".to_owned()))
        } else if used == 0 {
            Some(corrupt("the buffer is empty".to_owned()))
        } else if self.format == PixelFormat::Yuyv && used != self.width * self.height * 2 {
            Some(corrupt(format!("{used} bytes for a {}x{} YUYV frame", self.width, self.height)))
        } else {
            None
        };
        let Some(data) = bytes.filter(|_| problem.is_none()) else {
            let error = problem.unwrap_or_else(|| {
                corrupt(format!("bytesused {used} exceeds the buffer's {capacity} bytes"))
            });
            self.health.record_corrupt_frame(&error);
            return Err(error);
        };
        let driver_time = (flags & BUF_FLAG_TIMESTAMP_MASK == BUF_FLAG_TIMESTAMP_MONOTONIC)
            .then(|| timeval_time(timestamp))
            .flatten();
        let (captured_at, timestamp_source) = match driver_time {
            Some(t) => (t, TimestampSource::Driver),
            None => (received_at, TimestampSource::Host),
        };
        self.health.record_frame(sequence, captured_at);
        Ok(Frame {
            format: self.format,
            width: self.width,
            height: self.height,
            data,
            sequence,
            captured_at,
            timestamp_source,
            received_at,
        })
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn health(&self) -> &HealthCounters {
        &self.health
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn missing_device_is_an_error_naming_it() {
        let spec = V4l2Spec {
            path: PathBuf::from("/dev/v4l/by-id/no-such-camera"),
            size: None,
            fps: None,
            format: None,
            buffers: 4,
        };
        let err = V4l2Source::open(&spec).err().expect("opening a missing device must fail");
        assert!(err.needs_reopen(), "{err}");
        assert!(err.to_string().contains("/dev/v4l/by-id/no-such-camera"), "{err}");
        assert!(list_formats(&spec.path).is_err());
    }

    #[test]
    fn a_file_that_is_not_a_device_is_refused() {
        // /dev/null opens fine but is no V4L2 device: listing formats fails with an ioctl error.
        let spec = V4l2Spec {
            path: PathBuf::from("/dev/null"),
            size: None,
            fps: None,
            format: None,
            buffers: 4,
        };
        let err = V4l2Source::open(&spec).err().expect("/dev/null is not a camera");
        assert!(err.to_string().contains("/dev/null"), "{err}");
    }

    #[test]
    fn sequence_numbers_survive_the_32_bit_wrap() {
        let mut counter = SequenceCounter::default();
        assert_eq!(counter.extend(u32::MAX - 1), u64::from(u32::MAX - 1));
        assert_eq!(counter.extend(u32::MAX), u64::from(u32::MAX));
        assert_eq!(counter.extend(0), 1 << 32);
        assert_eq!(counter.extend(1), (1 << 32) + 1);
        // A small step back (a driver restart) is not a wrap.
        assert_eq!(counter.extend(0), 1 << 32);
    }
}
