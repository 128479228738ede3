//! One captured frame as a source delivers it: still encoded (MJPEG, YUYV) or already RGB,
//! with its sequence number and the timestamps that say when it was taken and received.

use std::time::Duration;

use super::clock::MonotonicTime;

/// How a frame's bytes encode its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// One baseline JPEG image per frame (V4L2 `MJPG`); UVC cameras may omit the Huffman tables.
    Mjpeg,
    /// Packed YUV 4:2:2, bytes `Y0 U Y1 V` per pixel pair (V4L2 `YUYV`), BT.601 limited range.
    Yuyv,
    /// Interleaved 8-bit `R G B`, rows top to bottom (already decoded).
    Rgb24,
}

impl PixelFormat {
    /// The short lower-case name used in specs and messages (`mjpeg`, `yuyv`, `rgb`).
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Mjpeg => "mjpeg",
            PixelFormat::Yuyv => "yuyv",
            PixelFormat::Rgb24 => "rgb",
        }
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a frame's [`Frame::captured_at`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimestampSource {
    /// The driver's buffer timestamp on `CLOCK_MONOTONIC` (for `uvcvideo`: taken when the first
    /// USB packet of the frame arrived, or from the camera's clock where it reports one).
    Driver,
    /// Read from the host clock when the process obtained the frame (the driver gave no usable
    /// timestamp, or the source is synthetic).
    Host,
    /// The time a recording is played back at: the recording's own timestamps, shifted so the
    /// first frame falls at the moment playback started.
    Replay,
}

/// One frame from a [`FrameSource`](super::source::FrameSource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// How [`Frame::data`] encodes the pixels.
    pub format: PixelFormat,
    /// Width in pixels; for MJPEG, the size the source announced (the JPEG header decides).
    pub width: usize,
    /// Height in pixels; for MJPEG, as for the width.
    pub height: usize,
    /// The encoded bytes, exactly the bytes the driver marked as used.
    pub data: Vec<u8>,
    /// The source's frame counter; gaps mean frames were dropped before they reached us.
    pub sequence: u64,
    /// When the frame was captured, on `CLOCK_MONOTONIC`.
    pub captured_at: MonotonicTime,
    /// What [`Frame::captured_at`] is based on.
    pub timestamp_source: TimestampSource,
    /// When the process received the frame, on `CLOCK_MONOTONIC`.
    pub received_at: MonotonicTime,
}

impl Frame {
    /// How old the frame is at `now`.
    pub fn age(&self, now: MonotonicTime) -> Duration {
        now.saturating_since(self.captured_at)
    }

    /// The delay between capture and reception (driver and USB latency).
    pub fn delivery_latency(&self) -> Duration {
        self.received_at.saturating_since(self.captured_at)
    }
}
