//! Records MJPEG frames in the form [`replay`](super::replay) plays: the JPEG images back to back
//! in `NAME.mjpeg`, their capture times in `NAME.mjpeg.timestamps`
//! ([`timestamps::sidecar_path`]).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::CameraError;
use super::frame::{Frame, PixelFormat};
use super::timestamps;

/// Writes a recording frame by frame; [`MjpegRecorder::finish`] writes the timestamps file.
pub struct MjpegRecorder {
    path: PathBuf,
    writer: BufWriter<File>,
    capture_micros: Vec<u64>,
}

impl MjpegRecorder {
    /// Creates (or truncates) the stream file at `path`.
    pub fn create(path: &Path) -> Result<Self, CameraError> {
        let file = File::create(path).map_err(|e| Self::error(path, e))?;
        Ok(Self { path: path.to_owned(), writer: BufWriter::new(file), capture_micros: Vec::new() })
    }

    fn error(path: &Path, error: impl std::fmt::Display) -> CameraError {
        CameraError::ImageFile { path: path.to_owned(), reason: format!("recording: {error}") }
    }

    /// Appends one MJPEG frame and remembers its capture time.
    pub fn append(&mut self, frame: &Frame) -> Result<(), CameraError> {
        if frame.format != PixelFormat::Mjpeg {
            return Err(Self::error(
                &self.path,
                format!("can only record MJPEG frames, got {}", frame.format),
            ));
        }
        self.writer.write_all(&frame.data).map_err(|e| Self::error(&self.path, e))?;
        let micros =
            u64::try_from(frame.captured_at.since_origin().as_micros()).unwrap_or(u64::MAX);
        self.capture_micros.push(micros);
        Ok(())
    }

    /// Flushes the stream and writes the timestamps file; returns the number of frames.
    pub fn finish(mut self) -> Result<usize, CameraError> {
        self.writer.flush().map_err(|e| Self::error(&self.path, e))?;
        let timestamps_path = timestamps::sidecar_path(&self.path);
        std::fs::write(&timestamps_path, timestamps::format_timestamps(&self.capture_micros))
            .map_err(|e| Self::error(&timestamps_path, e))?;
        Ok(self.capture_micros.len())
    }
}
