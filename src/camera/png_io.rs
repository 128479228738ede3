//! PNG files in and out: still images replayed as camera frames, and decoded frames dumped for
//! inspection.

use std::io::{BufWriter, Cursor};
use std::path::Path;

use super::error::CameraError;
use crate::image::RgbImage;

fn image_file_error(path: &Path, reason: impl std::fmt::Display) -> CameraError {
    CameraError::ImageFile { path: path.to_owned(), reason: reason.to_string() }
}

/// Decodes a PNG held in memory to 8-bit RGB. Grey is replicated to the three channels, 16-bit
/// samples keep their high byte, palettes are expanded, and alpha is dropped (not composited).
pub fn decode_png(bytes: &[u8]) -> Result<RgbImage, String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader.output_buffer_size().ok_or("PNG dimensions overflow")?;
    let mut buffer = vec![0u8; size];
    let info = reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
    let pixels = buffer.get(..info.buffer_size()).ok_or("PNG frame larger than its buffer")?;
    let channels = match info.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("palette PNG was not expanded".to_owned()),
    };
    if info.bit_depth != png::BitDepth::Eight {
        return Err(format!("unexpected bit depth {:?} after expansion", info.bit_depth));
    }
    let width = info.width as usize;
    let height = info.height as usize;
    let mut rgb = Vec::with_capacity(width * height * 3);
    for row in pixels.chunks_exact(info.line_size).take(height) {
        for pixel in row.chunks_exact(channels).take(width) {
            match pixel {
                [g] | [g, _] => rgb.extend_from_slice(&[*g, *g, *g]),
                [r, g, b] | [r, g, b, _] => rgb.extend_from_slice(&[*r, *g, *b]),
                _ => return Err("PNG pixel of unexpected size".to_owned()),
            }
        }
    }
    RgbImage::new(width, height, rgb).map_err(|e| e.to_string())
}

/// Reads a PNG file as an 8-bit RGB image (see [`decode_png`]).
pub fn read_png(path: &Path) -> Result<RgbImage, CameraError> {
    let bytes = std::fs::read(path).map_err(|e| image_file_error(path, e))?;
    decode_png(&bytes).map_err(|reason| image_file_error(path, reason))
}

/// Writes `image` to `path` as an 8-bit RGB PNG.
pub fn write_png(path: &Path, image: &RgbImage) -> Result<(), CameraError> {
    let width = u32::try_from(image.width).map_err(|e| image_file_error(path, e))?;
    let height = u32::try_from(image.height).map_err(|e| image_file_error(path, e))?;
    let file = std::fs::File::create(path).map_err(|e| image_file_error(path, e))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| image_file_error(path, e))?;
    writer.write_image_data(&image.data).map_err(|e| image_file_error(path, e))?;
    writer.finish().map_err(|e| image_file_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_through_a_file() {
        let dir = std::env::temp_dir().join(format!("twinvla-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("roundtrip.png");
        let data: Vec<u8> = (0..5 * 3 * 3).map(|i| (i * 7) as u8).collect();
        let image = RgbImage::new(5, 3, data).unwrap();
        write_png(&path, &image).unwrap();
        assert_eq!(read_png(&path).unwrap(), image);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = read_png(Path::new("/nonexistent/frame.png")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/frame.png"), "{err}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
            png.extend_from_slice(&data);
            let _ = decode_png(&png);
            let _ = decode_png(&data);
        }
    }
}
