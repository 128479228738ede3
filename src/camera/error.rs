//! The errors of the camera module: [`CameraError`] for opening and reading sources,
//! [`DecodeError`] for turning one encoded frame into RGB.

use std::path::PathBuf;
use std::time::Duration;

/// Why one encoded frame could not be turned into RGB.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes do not start with a JPEG start-of-image marker.
    #[error("not a JPEG image (no start-of-image marker)")]
    NotJpeg,
    /// The JPEG data ends before its end-of-image marker (a frame cut short on the wire).
    #[error("JPEG data is truncated: {reason}")]
    Truncated {
        /// Where the structure stopped making sense.
        reason: String,
    },
    /// The JPEG structure (markers, segment lengths) is broken.
    #[error("malformed JPEG: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// The JPEG decoder rejected the data.
    #[error("JPEG decoder: {reason}")]
    Jpeg {
        /// The decoder's message.
        reason: String,
    },
    /// The image is larger than the decoder accepts.
    #[error("image of {width}x{height} exceeds the {max_width}x{max_height} limit")]
    TooLarge {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Largest accepted width.
        max_width: usize,
        /// Largest accepted height.
        max_height: usize,
    },
    /// A raw frame's byte count does not match its dimensions.
    #[error("{format} frame of {width}x{height} needs {expected} bytes, got {actual}")]
    WrongSize {
        /// The pixel format's name.
        format: &'static str,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Bytes the dimensions call for.
        expected: usize,
        /// Bytes present.
        actual: usize,
    },
    /// A dimension is zero, or odd where the format needs it even.
    #[error("invalid {format} dimensions {width}x{height}: {reason}")]
    BadDimensions {
        /// The pixel format's name.
        format: &'static str,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Which rule they break.
        reason: &'static str,
    },
}

/// Why a camera source could not be opened or could not deliver a frame.
///
/// `camera` fields hold the source's description (its spec), so a message names the device or
/// file at fault.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// A source spec string could not be parsed.
    #[error("camera source spec `{spec}`: {reason}")]
    Spec {
        /// The whole spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A device or file could not be opened or queried.
    #[error("{camera}: cannot {action}: {source}")]
    Io {
        /// The source.
        camera: String,
        /// What was being done, e.g. `open the device`.
        action: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The device cannot capture in the requested way.
    #[error("{camera}: {reason}")]
    Negotiation {
        /// The source.
        camera: String,
        /// What the device does not support, and what it offers.
        reason: String,
    },
    /// No frame arrived within the timeout (a stalled camera, or simply a slow one).
    #[error("{camera}: no frame within {waited:?}")]
    Timeout {
        /// The source.
        camera: String,
        /// How long the call waited.
        waited: Duration,
    },
    /// The device went away (unplugged, USB reset) or is being reopened.
    #[error("{camera}: disconnected: {reason}")]
    Disconnected {
        /// The source.
        camera: String,
        /// The underlying error.
        reason: String,
    },
    /// A finite source (a recording without looping) has delivered all its frames.
    #[error("{camera}: end of stream after {frames} frames")]
    EndOfStream {
        /// The source.
        camera: String,
        /// Frames delivered before the end.
        frames: u64,
    },
    /// The driver flagged a frame as corrupt or delivered one of the wrong size.
    #[error("{camera}: frame {sequence} is corrupt: {reason}")]
    CorruptFrame {
        /// The source.
        camera: String,
        /// The frame's sequence number.
        sequence: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A frame could not be decoded to RGB.
    #[error("{camera}: frame {sequence}: {source}")]
    Decode {
        /// The source.
        camera: String,
        /// The frame's sequence number.
        sequence: u64,
        /// The decoder's error.
        #[source]
        source: DecodeError,
    },
    /// A recording's timestamps file is malformed.
    #[error("{}: line {line}: {reason}", path.display())]
    Timestamps {
        /// The timestamps file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// A recording's content is unusable (no frames, timestamps not matching the frames).
    #[error("{camera}: {reason}")]
    Recording {
        /// The source.
        camera: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An image file could not be read or written.
    #[error("{}: {reason}", path.display())]
    ImageFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A camera of the rig has not delivered any frame yet.
    #[error("{camera}: no frame yet")]
    NoFrameYet {
        /// The camera.
        camera: String,
    },
    /// A frame is older than the caller accepts.
    #[error("{camera}: newest frame is {age:?} old (limit {limit:?})")]
    Stale {
        /// The camera.
        camera: String,
        /// The frame's age.
        age: Duration,
        /// The accepted age.
        limit: Duration,
    },
    /// A capture thread could not be started, or stopped unexpectedly.
    #[error("{camera}: capture thread: {reason}")]
    Worker {
        /// The camera.
        camera: String,
        /// What happened.
        reason: String,
    },
}

impl CameraError {
    /// True for errors after which the source should be closed and opened again (the device is
    /// gone or its stream is broken), as opposed to per-frame trouble or a finished recording.
    pub fn needs_reopen(&self) -> bool {
        matches!(self, CameraError::Io { .. } | CameraError::Disconnected { .. })
    }
}
