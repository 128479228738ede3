//! The 0.5 pixel shuffle between the vision tower and the projector: each 2 x 2 block of
//! vision tokens becomes one token four times as wide.
//!
//! Input tokens form a `grid x grid` raster (row-major). Output token `(r, s)` of the
//! `grid/2 x grid/2` raster is the concatenation of input tokens `(2r + dr, 2s + ds)` for
//! `(dr, ds)` = `(0, 0), (0, 1), (1, 0), (1, 1)` (`dr`-major), as upstream's
//! view/permute sequence produces.

/// Shuffles `x` (`[grid * grid, channels]`) into `[(grid / 2)², 4 * channels]`.
///
/// # Panics
/// If `grid` is odd or `x` is not `[grid * grid, channels]`.
pub fn pixel_shuffle(x: &[f32], grid: usize, channels: usize) -> Vec<f32> {
    assert!(grid % 2 == 0, "pixel_shuffle needs an even grid");
    assert_eq!(x.len(), grid * grid * channels, "pixel_shuffle input is not [grid², channels]");
    let half = grid / 2;
    let mut out = Vec::with_capacity(x.len());
    for r in 0..half {
        for s in 0..half {
            for dr in 0..2 {
                for ds in 0..2 {
                    let token = (2 * r + dr) * grid + 2 * s + ds;
                    out.extend_from_slice(&x[token * channels..(token + 1) * channels]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_two_by_two_blocks_row_major() {
        // 4x4 grid of 1-channel tokens numbered by raster index.
        let x: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let y = pixel_shuffle(&x, 4, 1);
        assert_eq!(
            y,
            vec![
                0.0, 1.0, 4.0, 5.0, // (0, 0)
                2.0, 3.0, 6.0, 7.0, // (0, 1)
                8.0, 9.0, 12.0, 13.0, // (1, 0)
                10.0, 11.0, 14.0, 15.0, // (1, 1)
            ]
        );
        // Channels stay together.
        let x2: Vec<f32> = (0..8).map(|i| i as f32).collect();
        assert_eq!(pixel_shuffle(&x2, 2, 2), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
    }
}
