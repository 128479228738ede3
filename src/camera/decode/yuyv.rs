//! YUYV (packed YUV 4:2:2) to RGB, reproducing what `ffmpeg -pix_fmt rgb24` (libswscale's
//! default conversion) produces, bit for bit.
//!
//! Matrix and range: ITU-R BT.601, limited ("TV") range: Y in 16..=235 maps to 0..=255, U and V
//! are centred on 128 with 224 steps spanning the full chroma range. This is what UVC cameras
//! send and what libswscale assumes for YUYV without colour metadata. In real numbers:
//!
//! ```text
//! R = 255/219·(Y−16)                       + 255/224·1.402·(V−128)
//! G = 255/219·(Y−16) − 255/224·0.344136·(U−128) − 255/224·0.714136·(V−128)
//! B = 255/219·(Y−16) + 255/224·1.772·(U−128)
//! ```
//!
//! Chroma: both pixels of a pair use the pair's U and V (no interpolation), as libswscale does
//! for packed RGB output.
//!
//! Rounding: integer arithmetic in the shape of libswscale's lookup tables. Each chroma term is
//! first expressed in luma steps and floored, then the sum is scaled by the luma gain:
//!
//! ```text
//! cy = ⌊2^16·255/219⌋ = 76309                     luma gain, Q16
//! k  = trunc((c·2^16 + 2^15) / cy)                chroma coefficient in luma steps, Q16, for
//!      c = 104597 (V→R), 132201 (U→B), −25675 (U→G), −53279 (V→G)  (BT.601, libswscale's Q16)
//! d  = ⌊x·k / 2^16⌋ − ⌊128·k / 2^16⌋              per chroma term, x = U or V
//! out = clamp(⌊((Y − 16 + d)·cy − 83954) / 2^16⌋, 0, 255)      (G sums its two terms)
//! ```
//!
//! The last step is a 1024-entry table indexed by `Y − 16 + d`, built at compile time.
//!
//! The constant −83954 is libswscale's: its table origin sits 1.5 entries from the exact one,
//! which makes its output (and so ours) on average 1.3 levels darker than the real-number
//! formula above. It is kept on purpose: policies are trained on frames that went through
//! ffmpeg, so matching ffmpeg matters more than matching the textbook. The conversion equals
//! ffmpeg 5.1's output for all 2^24 (Y, U, V) triples (checked once against a full sweep) and
//! is tested against ffmpeg on a test pattern in `tests/camera_decode_ffmpeg.rs`.

use crate::camera::error::DecodeError;
use crate::image::RgbImage;

/// Luma gain 255/219 in Q16.
const CY: i32 = (255 << 16) / 219;
/// `(Y − 16 + d)·cy` plus this, shifted right by 16, is the output level (see the module doc).
const OUTPUT_OFFSET: i32 = 342 * CY - (400 << 16) + (1 << 15);

/// A chroma coefficient (BT.601 in libswscale's Q16) expressed in luma steps, Q16.
const fn in_luma_steps(coefficient_q16: i64) -> i32 {
    (((coefficient_q16 << 16) + 0x8000) / CY as i64) as i32
}

const V_TO_R: i32 = in_luma_steps(104_597);
const U_TO_B: i32 = in_luma_steps(132_201);
const U_TO_G: i32 = in_luma_steps(-25_675);
const V_TO_G: i32 = in_luma_steps(-53_279);

/// One chroma term in luma steps, relative to the neutral value 128.
const fn chroma_term(x: i32, k: i32) -> i32 {
    ((x * k) >> 16) - ((128 * k) >> 16)
}

/// Offset added to `Y − 16 + d` to index [`LEVELS`]; `Y − 16 + d` lies in −238..=478.
const LEVEL_BIAS: i32 = 256;
const LEVELS_LEN: usize = 1024;

/// Output level for every `Y − 16 + d + LEVEL_BIAS`: the clamped, scaled luma of the module doc.
static LEVELS: [u8; LEVELS_LEN] = {
    let mut table = [0u8; LEVELS_LEN];
    let mut i = 0;
    while i < LEVELS_LEN {
        let level = ((i as i32 - LEVEL_BIAS) * CY + OUTPUT_OFFSET) >> 16;
        table[i] = if level < 0 {
            0
        } else if level > 255 {
            255
        } else {
            level as u8
        };
        i += 1;
    }
    table
};

/// The output level for luma `y` and a chroma offset `biased_d` = `d + LEVEL_BIAS − 16`.
#[inline(always)]
fn level(y: u8, biased_d: i32) -> u8 {
    // The index is always in range (see LEVEL_BIAS); the mask lets the compiler drop the
    // bounds check and can never make an out-of-range index.
    LEVELS[(i32::from(y) + biased_d) as usize & (LEVELS_LEN - 1)]
}

/// Converts a YUYV frame of `width`x`height` (even width, `width·height·2` bytes) into `out`,
/// reusing its buffer.
pub fn yuyv_to_rgb_into(
    yuyv: &[u8],
    width: usize,
    height: usize,
    out: &mut RgbImage,
) -> Result<(), DecodeError> {
    let bad = |reason| DecodeError::BadDimensions { format: "yuyv", width, height, reason };
    if width == 0 || height == 0 {
        return Err(bad("a dimension is zero"));
    }
    if width % 2 != 0 {
        return Err(bad("the width must be even (pixels come in pairs)"));
    }
    let pixels = width.checked_mul(height).ok_or_else(|| bad("too large"))?;
    let expected = pixels.checked_mul(2).ok_or_else(|| bad("too large"))?;
    if yuyv.len() != expected {
        return Err(DecodeError::WrongSize {
            format: "yuyv",
            width,
            height,
            expected,
            actual: yuyv.len(),
        });
    }
    out.width = width;
    out.height = height;
    out.data.resize(pixels * 3, 0);
    for (pair, rgb) in yuyv.chunks_exact(4).zip(out.data.chunks_exact_mut(6)) {
        let &[y0, u, y1, v] = pair else { continue };
        let (u, v) = (i32::from(u), i32::from(v));
        let bias = LEVEL_BIAS - 16;
        let dr = chroma_term(v, V_TO_R) + bias;
        let dg = chroma_term(u, U_TO_G) + chroma_term(v, V_TO_G) + bias;
        let db = chroma_term(u, U_TO_B) + bias;
        rgb.copy_from_slice(&[
            level(y0, dr),
            level(y0, dg),
            level(y0, db),
            level(y1, dr),
            level(y1, dg),
            level(y1, db),
        ]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn convert(yuyv: &[u8], width: usize, height: usize) -> Result<RgbImage, DecodeError> {
        let mut out = RgbImage { width: 0, height: 0, data: Vec::new() };
        yuyv_to_rgb_into(yuyv, width, height, &mut out).map(|()| out)
    }

    #[test]
    fn constants_are_libswscales() {
        assert_eq!((CY, V_TO_R, U_TO_B, U_TO_G, V_TO_G), (76309, 89830, 113537, -22049, -45756));
        assert_eq!(OUTPUT_OFFSET, -83954);
    }

    #[test]
    fn level_table_covers_every_input() {
        let terms = |k: i32| (0..=255).map(move |x| chroma_term(x, k));
        let min_d = [
            terms(V_TO_R).min(),
            terms(U_TO_B).min(),
            Some(terms(U_TO_G).min().unwrap() + terms(V_TO_G).min().unwrap()),
        ];
        let max_d = [
            terms(V_TO_R).max(),
            terms(U_TO_B).max(),
            Some(terms(U_TO_G).max().unwrap() + terms(V_TO_G).max().unwrap()),
        ];
        let lowest = min_d.iter().flatten().min().unwrap() - 16 + LEVEL_BIAS;
        let highest = max_d.iter().flatten().max().unwrap() + 255 - 16 + LEVEL_BIAS;
        assert!(lowest >= 0 && (highest as usize) < LEVELS_LEN, "{lowest}..={highest}");
    }

    #[test]
    fn known_levels() {
        // Values read from `ffmpeg -f rawvideo -pix_fmt yuyv422 ... -pix_fmt rgb24` (5.1).
        let grey =
            convert(&[16, 128, 24, 128, 128, 128, 232, 128, 235, 128, 240, 128], 6, 1).unwrap();
        assert_eq!(
            grey.data,
            [0, 0, 0, 8, 8, 8, 129, 129, 129, 250, 250, 250, 253, 253, 253, 255, 255, 255]
        );
        // Saturated red in limited range (Y 81, U 90, V 240) and blue (Y 41, U 240, V 110).
        let colours = convert(&[81, 90, 81, 240, 41, 240, 41, 110], 4, 1).unwrap();
        assert!(
            colours.data[0] > 240 && colours.data[1] < 10 && colours.data[2] < 10,
            "{:?}",
            &colours.data[..3]
        );
        assert!(colours.data[8] > 240 && colours.data[6] < 10, "{:?}", &colours.data[6..9]);
    }

    #[test]
    fn rejects_wrong_sizes() {
        assert!(matches!(
            convert(&[0; 8], 2, 1),
            Err(DecodeError::WrongSize { expected: 4, actual: 8, .. })
        ));
        assert!(matches!(convert(&[0; 6], 3, 1), Err(DecodeError::BadDimensions { .. })));
        assert!(matches!(convert(&[], 0, 4), Err(DecodeError::BadDimensions { .. })));
        assert!(matches!(convert(&[], usize::MAX, 2), Err(DecodeError::BadDimensions { .. })));
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            data in proptest::collection::vec(any::<u8>(), 0..256),
            width in 0usize..40,
            height in 0usize..10,
        ) {
            if let Ok(image) = convert(&data, width, height) {
                prop_assert_eq!(image.data.len(), width * height * 3);
            }
        }
    }
}
