//! Splits a raw MJPEG stream (JPEG images back to back, as written by `ffmpeg -f mjpeg` or by
//! dumping a UVC camera's buffers) into its frames.

use std::ops::Range;

use super::error::DecodeError;
use super::jpeg_markers;

/// Finds the next `FF D8 FF` (start of image followed by a marker) at or after `from`.
fn find_start_of_image(data: &[u8], from: usize) -> Option<usize> {
    let rest = data.get(from..)?;
    rest.windows(3).position(|w| w == [0xFF, 0xD8, 0xFF]).map(|i| from + i)
}

/// The byte ranges of the frames in `data`, in order.
///
/// Each range starts at a start-of-image marker. A well-formed image ends after its
/// end-of-image marker; bytes between images (padding) are skipped. A broken image is kept as
/// a frame that runs up to the next start-of-image marker (or the end of the data) so that it
/// reaches the decoder and is counted as corrupt instead of silently vanishing.
pub fn split_frames(data: &[u8]) -> Vec<Range<usize>> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while let Some(start) = find_start_of_image(data, pos) {
        let image = data.get(start..).unwrap_or_default();
        let end = match jpeg_markers::scan(image) {
            Ok(layout) => start + layout.end,
            Err(DecodeError::Truncated { .. }) => data.len(),
            Err(_) => find_start_of_image(data, start + 2).unwrap_or(data.len()),
        };
        frames.push(start..end);
        pos = end;
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::jpeg_markers::tests::fake_jpeg;
    use proptest::prelude::*;

    #[test]
    fn keeps_broken_frames_as_frames() {
        let a = fake_jpeg(&[1], &[2; 10], true);
        let b = fake_jpeg(&[3], &[4; 10], true);
        let cut = &b[..b.len() - 5];
        // a, a frame cut short followed directly by a whole one, padding, b cut at the end.
        let mut data = a.clone();
        data.extend_from_slice(cut);
        data.extend_from_slice(&a);
        data.extend_from_slice(&[0, 0, 0, 0]);
        data.extend_from_slice(cut);
        let frames = split_frames(&data);
        let n = a.len();
        let c = cut.len();
        assert_eq!(frames, vec![0..n, n..n + c, n + c..2 * n + c, 2 * n + c + 4..data.len()]);
        assert!(split_frames(&[]).is_empty());
        assert!(split_frames(&[0xFF, 0xD8]).is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let frames = split_frames(&data);
            let mut last_end = 0;
            for range in frames {
                prop_assert!(range.start >= last_end && range.start < range.end && range.end <= data.len());
                last_end = range.end;
            }
        }

        #[test]
        fn concatenated_images_split_back(
            images in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..40),
                 proptest::collection::vec(any::<u8>(), 1..120),
                 any::<bool>()),
                0..6),
            padding in 0usize..4,
        ) {
            let mut data = Vec::new();
            let mut expected = Vec::new();
            for (app, entropy, dht) in &images {
                let jpeg = fake_jpeg(app, entropy, *dht);
                expected.push(data.len()..data.len() + jpeg.len());
                data.extend_from_slice(&jpeg);
                data.extend(std::iter::repeat_n(0u8, padding));
            }
            prop_assert_eq!(split_frames(&data), expected);
        }
    }
}
