//! Decoding camera frames to [`RgbImage`]: MJPEG ([`jpeg`]), YUYV ([`yuyv`]) and frames that
//! are RGB already, through one [`FrameDecoder`] that keeps its buffers between frames.

pub mod huffman;
pub mod jpeg;
pub mod yuyv;

pub use jpeg::decode_mjpeg_into;
pub use yuyv::yuyv_to_rgb_into;

use crate::camera::error::DecodeError;
use crate::camera::frame::{Frame, PixelFormat};
use crate::image::RgbImage;

/// Decodes frames of any [`PixelFormat`], reusing its scratch space from frame to frame.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    jpeg_scratch: Vec<u8>,
}

impl FrameDecoder {
    /// A decoder with empty scratch space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `frame` into `out`, resizing `out` to the frame and reusing its buffer.
    /// On error, `out`'s pixels are unspecified.
    pub fn decode_into(&mut self, frame: &Frame, out: &mut RgbImage) -> Result<(), DecodeError> {
        match frame.format {
            PixelFormat::Mjpeg => decode_mjpeg_into(&frame.data, out, &mut self.jpeg_scratch),
            PixelFormat::Yuyv => yuyv_to_rgb_into(&frame.data, frame.width, frame.height, out),
            PixelFormat::Rgb24 => copy_rgb_into(&frame.data, frame.width, frame.height, out),
        }
    }

    /// Decodes `frame` into a new image.
    pub fn decode(&mut self, frame: &Frame) -> Result<RgbImage, DecodeError> {
        let mut out = RgbImage { width: 0, height: 0, data: Vec::new() };
        self.decode_into(frame, &mut out)?;
        Ok(out)
    }
}

fn copy_rgb_into(
    rgb: &[u8],
    width: usize,
    height: usize,
    out: &mut RgbImage,
) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        return Err(DecodeError::BadDimensions {
            format: "rgb",
            width,
            height,
            reason: "a dimension is zero",
        });
    }
    let expected = width.checked_mul(height).and_then(|p| p.checked_mul(3));
    if expected != Some(rgb.len()) {
        return Err(DecodeError::WrongSize {
            format: "rgb",
            width,
            height,
            expected: expected.unwrap_or(usize::MAX),
            actual: rgb.len(),
        });
    }
    out.width = width;
    out.height = height;
    out.data.clear();
    out.data.extend_from_slice(rgb);
    Ok(())
}
