//! MJPEG frames to RGB with `zune-jpeg`, decoding straight into the caller's buffer.
//!
//! Before decoding, the frame's marker structure is walked: a frame without its end-of-image
//! marker (cut short on the wire) is rejected as truncated instead of being decoded into a
//! half-grey image, and a frame without Huffman tables (normal for UVC cameras) gets the
//! standard tables inserted. The decoder runs in strict mode so that damaged entropy-coded
//! data is an error where the decoder can tell.
//!
//! Colour: the decoder's JFIF conversion (BT.601, full range) with libjpeg-style "fancy"
//! chroma upsampling (linear interpolation between chroma samples centred between pixels). It
//! matches ffmpeg's MJPEG decode when ffmpeg is told to interpolate chroma linearly
//! (`-sws_flags bilinear+accurate_rnd+full_chroma_int`, via 4:4:4); ffmpeg's own default
//! repeats each chroma sample instead, which differs at sharp colour edges. See
//! `docs/cameras.md` for the measured differences.

use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::huffman;
use crate::camera::error::DecodeError;
use crate::camera::jpeg_markers;
use crate::image::RgbImage;

/// The largest frame width and height accepted (8K UHD).
pub const MAX_DIMENSION: usize = 8192;

fn decoder_error(error: zune_jpeg::errors::DecodeErrors) -> DecodeError {
    DecodeError::Jpeg { reason: error.to_string() }
}

/// Decodes one MJPEG frame into `out`, resizing it to the image's size and reusing its
/// buffer. `scratch` holds the frame with Huffman tables inserted when it lacks them; keep it
/// between calls to avoid reallocating. On error, `out`'s pixels are unspecified.
pub fn decode_mjpeg_into(
    jpeg: &[u8],
    out: &mut RgbImage,
    scratch: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    let layout = jpeg_markers::scan(jpeg)?;
    let complete: &[u8] = if layout.has_huffman_tables {
        jpeg.get(..layout.end).unwrap_or(jpeg)
    } else {
        huffman::insert_standard_tables(jpeg, &layout, scratch);
        scratch
    };
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_strict_mode(true)
        .set_max_width(MAX_DIMENSION)
        .set_max_height(MAX_DIMENSION);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(complete), options);
    decoder.decode_headers().map_err(decoder_error)?;
    let (width, height) = decoder.dimensions().ok_or_else(|| DecodeError::Malformed {
        reason: "decoder reported no dimensions after reading the headers".to_owned(),
    })?;
    if width == 0 || height == 0 {
        return Err(DecodeError::BadDimensions {
            format: "mjpeg",
            width,
            height,
            reason: "a dimension is zero",
        });
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(DecodeError::TooLarge {
            width,
            height,
            max_width: MAX_DIMENSION,
            max_height: MAX_DIMENSION,
        });
    }
    if decoder.output_colorspace() != Some(ColorSpace::RGB) {
        return Err(DecodeError::Jpeg {
            reason: format!("decoder cannot produce RGB from {:?}", decoder.input_colorspace()),
        });
    }
    out.width = width;
    out.height = height;
    out.data.resize(width * height * 3, 0);
    decoder.decode_into(&mut out.data).map_err(decoder_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(jpeg: &[u8]) -> Result<RgbImage, DecodeError> {
        let mut out = RgbImage { width: 0, height: 0, data: Vec::new() };
        decode_mjpeg_into(jpeg, &mut out, &mut Vec::new()).map(|()| out)
    }

    #[test]
    fn rejects_what_is_not_a_whole_jpeg() {
        assert_eq!(decode(b"not a jpeg"), Err(DecodeError::NotJpeg));
        assert_eq!(decode(&[]), Err(DecodeError::NotJpeg));
        assert!(matches!(decode(&[0xFF, 0xD8, 0xFF]), Err(DecodeError::Truncated { .. })));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&data);
            let mut with_soi = vec![0xFF, 0xD8, 0xFF];
            with_soi.extend_from_slice(&data);
            let _ = decode(&with_soi);
        }

        #[test]
        fn structurally_valid_garbage_never_panics(
            app in proptest::collection::vec(any::<u8>(), 0..32),
            entropy in proptest::collection::vec(any::<u8>(), 1..200),
            dht in any::<bool>(),
        ) {
            let jpeg = crate::camera::jpeg_markers::tests::fake_jpeg(&app, &entropy, dht);
            let _ = decode(&jpeg);
        }
    }
}
