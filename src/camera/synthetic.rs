//! A synthetic camera: a moving test pattern of known content at any size and frame rate, for
//! tests, benchmarks and running the runtime without cameras.
//!
//! Frame `n`'s pixel at column `x`, row `y` is [`pattern_pixel`]`(x, y, n)`: red ramps along
//! the row and moves 3 columns per frame, green ramps down the columns and moves 2 rows per
//! frame, blue is an 8x8 checkerboard whose level steps with the frame number. A frame's
//! content therefore identifies the frame.

use std::time::Duration;

use super::clock::MonotonicTime;
use super::error::CameraError;
use super::frame::{Frame, PixelFormat, TimestampSource};
use super::health::HealthCounters;
use super::source::{wait_until_due, FrameSource};
use super::spec::{SyntheticFormat, SyntheticSpec};
use crate::image::RgbImage;

/// The pattern's colour at column `x`, row `y` of frame `n` (see the module doc).
pub fn pattern_pixel(x: usize, y: usize, n: u64) -> [u8; 3] {
    let n = n as usize;
    let checker = ((x / 8) + (y / 8)) % 2;
    [
        (x.wrapping_add(n.wrapping_mul(3)) & 0xFF) as u8,
        (y.wrapping_add(n.wrapping_mul(2)) & 0xFF) as u8,
        ((checker * 128).wrapping_add(n) & 0xFF) as u8,
    ]
}

/// Frame `n` of the pattern as an RGB image.
pub fn pattern_image(width: usize, height: usize, n: u64) -> RgbImage {
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            data.extend_from_slice(&pattern_pixel(x, y, n));
        }
    }
    RgbImage { width, height, data }
}

/// BT.601 limited-range YUYV for the pattern (chroma averaged over each pixel pair), so that
/// the YUYV path can be exercised without a camera.
fn pattern_yuyv(width: usize, height: usize, n: u64) -> Vec<u8> {
    let luma = |[r, g, b]: [u8; 3]| {
        16.0 + (65.481 * f64::from(r) + 128.553 * f64::from(g) + 24.966 * f64::from(b)) / 255.0
    };
    let cb = |[r, g, b]: [u8; 3]| {
        128.0 + (-37.797 * f64::from(r) - 74.203 * f64::from(g) + 112.0 * f64::from(b)) / 255.0
    };
    let cr = |[r, g, b]: [u8; 3]| {
        128.0 + (112.0 * f64::from(r) - 93.786 * f64::from(g) - 18.214 * f64::from(b)) / 255.0
    };
    let byte = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    let mut data = Vec::with_capacity(width * height * 2);
    for y in 0..height {
        for x in (0..width).step_by(2) {
            let a = pattern_pixel(x, y, n);
            let b = pattern_pixel(x + 1, y, n);
            data.extend_from_slice(&[
                byte(luma(a)),
                byte((cb(a) + cb(b)) / 2.0),
                byte(luma(b)),
                byte((cr(a) + cr(b)) / 2.0),
            ]);
        }
    }
    data
}

/// A [`FrameSource`] producing the test pattern, paced at the spec's frame rate.
pub struct SyntheticSource {
    spec: SyntheticSpec,
    description: String,
    started_at: Option<MonotonicTime>,
    next_index: u64,
    health: HealthCounters,
}

impl SyntheticSource {
    /// A source for `spec`; the first frame is due as soon as it is asked for.
    pub fn new(spec: SyntheticSpec) -> Self {
        let description = format!(
            "synthetic:{}x{} {} @ {} fps",
            spec.width,
            spec.height,
            spec.format,
            if spec.fps > 0.0 { spec.fps.to_string() } else { "unpaced".to_owned() }
        );
        Self { spec, description, started_at: None, next_index: 0, health: HealthCounters::new() }
    }

    /// When frame `index` is due, if the source is paced.
    fn due_time(&self, started_at: MonotonicTime, index: u64) -> Option<MonotonicTime> {
        (self.spec.fps > 0.0).then(|| {
            started_at.saturating_add(Duration::from_secs_f64(index as f64 / self.spec.fps))
        })
    }
}

impl FrameSource for SyntheticSource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Frame, CameraError> {
        let now = MonotonicTime::now();
        let started_at = *self.started_at.get_or_insert(now);
        if let Some(due) = self.due_time(started_at, self.next_index) {
            wait_until_due(due, now, timeout, &mut self.health, &self.description)?;
        }
        let index = self.next_index;
        self.next_index += 1;
        let (width, height) = (self.spec.width, self.spec.height);
        let (format, data) = match self.spec.format {
            SyntheticFormat::Yuyv => (PixelFormat::Yuyv, pattern_yuyv(width, height, index)),
            SyntheticFormat::Rgb => (PixelFormat::Rgb24, pattern_image(width, height, index).data),
        };
        let captured_at = MonotonicTime::now();
        self.health.record_frame(index, captured_at);
        Ok(Frame {
            format,
            width,
            height,
            data,
            sequence: index,
            captured_at,
            timestamp_source: TimestampSource::Host,
            received_at: captured_at,
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
    use crate::camera::decode::FrameDecoder;

    fn spec(width: usize, height: usize, fps: f64, format: SyntheticFormat) -> SyntheticSpec {
        SyntheticSpec { width, height, fps, format }
    }

    #[test]
    fn frames_carry_the_pattern_and_count_up() {
        let mut source = SyntheticSource::new(spec(20, 10, 0.0, SyntheticFormat::Rgb));
        for n in 0..3 {
            let frame = source.next_frame(Duration::from_millis(10)).unwrap();
            assert_eq!(frame.sequence, n);
            assert_eq!(frame.format, PixelFormat::Rgb24);
            assert_eq!(frame.data, pattern_image(20, 10, n).data);
        }
        assert_eq!(pattern_pixel(9, 1, 2), [15, 5, 130]);
        assert_eq!(
            source.health().snapshot(MonotonicTime::now(), Duration::from_secs(1)).frames,
            3
        );
    }

    #[test]
    fn yuyv_frames_decode_close_to_the_pattern() {
        let mut source = SyntheticSource::new(spec(32, 16, 0.0, SyntheticFormat::Yuyv));
        let frame = source.next_frame(Duration::from_millis(10)).unwrap();
        let image = FrameDecoder::new().decode(&frame).unwrap();
        let expected = pattern_image(32, 16, 0);
        // Chroma is shared by pixel pairs and the conversion sits ~1.3 levels low: compare the
        // luma-weighted sum, which survives both.
        for (got, want) in image.data.chunks(3).zip(expected.data.chunks(3)) {
            let y = |p: &[u8]| {
                0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
            };
            assert!((y(got) - y(want)).abs() < 4.0, "got {got:?} want {want:?}");
        }
    }

    #[test]
    fn paced_source_times_out_when_the_next_frame_is_not_due() {
        let mut source = SyntheticSource::new(spec(8, 8, 2.0, SyntheticFormat::Rgb));
        source.next_frame(Duration::from_millis(10)).unwrap();
        // The next frame is due 500 ms after the first.
        let err = source.next_frame(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(err, CameraError::Timeout { .. }), "{err}");
        assert_eq!(
            source.health().snapshot(MonotonicTime::now(), Duration::from_secs(1)).timeouts,
            1
        );
    }
}
