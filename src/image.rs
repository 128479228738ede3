//! The RGB image type shared by the cameras and the policy.

/// An 8-bit RGB image, rows top to bottom, pixels interleaved `R, G, B` (HWC layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height * width * 3` bytes.
    pub data: Vec<u8>,
}

/// Why an [`RgbImage`] could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    /// The byte count does not match the dimensions.
    #[error("image of {width}x{height} needs {expected} bytes, got {actual}")]
    WrongSize {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// `width * height * 3`.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A dimension is zero.
    #[error("image has an empty dimension ({width}x{height})")]
    Empty {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
}

impl RgbImage {
    /// Wraps `data` (HWC, RGB) after checking its length against the dimensions.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::Empty { width, height });
        }
        let expected = width * height * 3;
        if data.len() != expected {
            return Err(ImageError::WrongSize { width, height, expected, actual: data.len() });
        }
        Ok(Self { width, height, data })
    }
}
