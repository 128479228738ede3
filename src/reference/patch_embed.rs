//! SigLIP's patch embedding: the `p x p`, stride-`p` convolution written as im2col followed by
//! a linear layer.
//!
//! Patch `(py, px)` becomes row `py * grid_w + px` of the column matrix, its values ordered
//! `(channel, ky, kx)` like the flattened convolution weight `[C_out, C_in, p, p]`.

use super::linear::linear;

/// Cuts CHW `pixels` (`[channels, height, width]`) into non-overlapping `patch x patch` tiles.
/// Returns `[(height / patch) * (width / patch), channels * patch * patch]`.
///
/// # Panics
/// If `pixels` is not `[channels, height, width]` or a side is not a multiple of `patch`.
pub fn im2col(
    pixels: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    patch: usize,
) -> Vec<f32> {
    assert_eq!(pixels.len(), channels * height * width, "pixels are not [C, H, W]");
    assert!(patch > 0 && height % patch == 0 && width % patch == 0, "sides not multiples of patch");
    let (grid_h, grid_w) = (height / patch, width / patch);
    let mut cols = Vec::with_capacity(pixels.len());
    for py in 0..grid_h {
        for px in 0..grid_w {
            for c in 0..channels {
                for ky in 0..patch {
                    let row = (c * height + py * patch + ky) * width + px * patch;
                    cols.extend_from_slice(&pixels[row..row + patch]);
                }
            }
        }
    }
    cols
}

/// The convolution `weight` (`[out_channels, channels, patch, patch]`) plus `bias` applied to
/// every patch of `pixels` (`[channels, height, width]`). Returns `[patches, out_channels]`.
///
/// # Panics
/// As [`im2col`] and [`linear`].
#[allow(clippy::too_many_arguments)]
pub fn patch_embed(
    pixels: &[f32],
    channels: usize,
    height: usize,
    width: usize,
    patch: usize,
    weight: &[f32],
    bias: &[f32],
    out_channels: usize,
) -> Vec<f32> {
    let cols = im2col(pixels, channels, height, width, patch);
    let patches = (height / patch) * (width / patch);
    linear(&cols, patches, weight, out_channels, channels * patch * patch, Some(bias))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn im2col_orders_channel_then_row_then_column() {
        // 2 channels of 2x4, patch 2: two patches.
        let pixels: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let cols = im2col(&pixels, 2, 2, 4, 2);
        assert_eq!(
            cols,
            vec![
                0.0, 1.0, 4.0, 5.0, 8.0, 9.0, 12.0, 13.0, // patch (0, 0)
                2.0, 3.0, 6.0, 7.0, 10.0, 11.0, 14.0, 15.0, // patch (0, 1)
            ]
        );
    }

    #[test]
    fn matches_a_direct_convolution() {
        let (c, h, w, p, o) = (3, 6, 4, 2, 5);
        let pixels: Vec<f32> = (0..c * h * w).map(|i| ((i * 31 % 17) as f32 - 8.0) / 8.0).collect();
        let weight: Vec<f32> =
            (0..o * c * p * p).map(|i| ((i * 13 % 11) as f32 - 5.0) / 5.0).collect();
        let bias: Vec<f32> = (0..o).map(|i| i as f32 * 0.1).collect();
        let y = patch_embed(&pixels, c, h, w, p, &weight, &bias, o);
        let (gh, gw) = (h / p, w / p);
        for py in 0..gh {
            for px in 0..gw {
                for oc in 0..o {
                    let mut acc = bias[oc] as f64;
                    for ic in 0..c {
                        for ky in 0..p {
                            for kx in 0..p {
                                acc += weight[((oc * c + ic) * p + ky) * p + kx] as f64
                                    * pixels[(ic * h + py * p + ky) * w + px * p + kx] as f64;
                            }
                        }
                    }
                    assert!((y[(py * gw + px) * o + oc] as f64 - acc).abs() < 1e-5);
                }
            }
        }
    }
}
