//! Image resizing as torchvision's tensor `resize(..., BICUBIC, antialias=True)` does it
//! (PyTorch's `_upsample_bicubic2d_aa` on float CPU tensors), and the SigLIP input
//! normalisation.
//!
//! The resize is separable: every row is resampled horizontally first, then every column
//! vertically, each pass rounded to f32. Each output sample `i` of an axis of `in` → `out`
//! samples takes a weighted sum of the contiguous input samples `start[i] .. start[i] +
//! len[i]`:
//! - `scale = in / out` (f32); `support = 2 * scale` when downscaling, `2` otherwise;
//! - `center = scale * (i + 0.5)`; `start = max(trunc(center - support + 0.5), 0)`,
//!   `end = min(trunc(center + support + 0.5), in)`;
//! - weight `j` is the Keys cubic (`a = -0.5`) at `(start + j - center + 0.5) / max(scale, 1)`,
//!   and the weights are divided by their sum.
//!
//! The values are not clamped: bicubic overshoot may leave `[0, 1]`. An axis whose size does
//! not change is copied, as PyTorch skips it.

use crate::image::RgbImage;

/// The Keys cubic convolution kernel with `a = -0.5` (PIL's and PyTorch's antialiased
/// bicubic), evaluated in f32.
fn keys_cubic(x: f32) -> f32 {
    const A: f32 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
    } else {
        0.0
    }
}

/// The resampling taps of one axis from `in_size` to `out_size` samples: per output sample
/// its first input sample and tap count, and the weights, `taps = weights.len() / out_size`
/// per output sample, zero-padded past the count.
///
/// The arithmetic follows PyTorch's float path exactly, including where it rounds to f32 and
/// where C++ promotes to f64.
pub fn resize_weights(in_size: usize, out_size: usize) -> (Vec<usize>, Vec<usize>, Vec<f32>) {
    if in_size == 0 || out_size == 0 {
        return (vec![0; out_size], vec![0; out_size], Vec::new());
    }
    let scale = in_size as f32 / out_size as f32;
    let support = if scale >= 1.0 { (2.0 * scale as f64) as f32 } else { 2.0f32 };
    let taps = support.ceil() as usize * 2 + 1;
    let inv_scale = if scale >= 1.0 { (1.0 / scale as f64) as f32 } else { 1.0f32 };
    let mut starts = Vec::with_capacity(out_size);
    let mut lens = Vec::with_capacity(out_size);
    let mut weights = vec![0.0f32; out_size * taps];
    for (i, row) in weights.chunks_exact_mut(taps).enumerate() {
        let center = (scale as f64 * (i as f64 + 0.5)) as f32;
        let start = (((center - support) as f64 + 0.5) as i64).max(0);
        let end = (((center + support) as f64 + 0.5) as i64).min(in_size as i64);
        let len = (end - start).clamp(0, taps as i64) as usize;
        let start = start as usize;
        let mut total = 0.0f32;
        for (j, w) in row.iter_mut().take(len).enumerate() {
            let offset = (start + j) as f32 - center;
            *w = keys_cubic(((offset as f64 + 0.5) * inv_scale as f64) as f32);
            total += *w;
        }
        if total != 0.0 {
            for w in row.iter_mut().take(len) {
                *w /= total;
            }
        }
        starts.push(start);
        lens.push(len);
    }
    (starts, lens, weights)
}

/// Resamples `lines` lines of `in_size` samples along one axis. `at(line, index)` reads the
/// input; the result is `[lines, out_size]`.
fn resample_axis(
    in_size: usize,
    out_size: usize,
    lines: usize,
    at: impl Fn(usize, usize) -> f32,
) -> Vec<f32> {
    let (starts, lens, weights) = resize_weights(in_size, out_size);
    let taps = weights.len() / out_size.max(1);
    let mut out = Vec::with_capacity(lines * out_size);
    for line in 0..lines {
        for i in 0..out_size {
            let w = &weights[i * taps..][..lens[i]];
            let mut acc = 0.0f32;
            for (j, wj) in w.iter().enumerate() {
                acc += at(line, starts[i] + j) * wj;
            }
            out.push(acc);
        }
    }
    out
}

/// Resizes `image` to `out_h x out_w` after scaling its bytes to `x / 255`. Returns CHW f32
/// (`[3, out_h, out_w]`).
pub fn resize_bicubic_aa(image: &RgbImage, out_h: usize, out_w: usize) -> Vec<f32> {
    let (h, w) = (image.height, image.width);
    let mut out = Vec::with_capacity(3 * out_h * out_w);
    for c in 0..3 {
        let pixel = |y: usize, x: usize| image.data[(y * w + x) * 3 + c] as f32 / 255.0;
        // Horizontal pass: [h, out_w].
        let rows = if out_w == w {
            (0..h * w).map(|i| pixel(i / w, i % w)).collect()
        } else {
            resample_axis(w, out_w, h, pixel)
        };
        // Vertical pass, one column at a time: [out_w, out_h], then transposed.
        if out_h == h {
            out.extend_from_slice(&rows);
        } else {
            let cols = resample_axis(h, out_h, out_w, |x, y| rows[y * out_w + x]);
            for y in 0..out_h {
                out.extend((0..out_w).map(|x| cols[x * out_h + y]));
            }
        }
    }
    out
}

/// SigLIP's input normalisation `(x - 0.5) / 0.5`, in place.
pub fn normalize_siglip(x: &mut [f32]) {
    for v in x {
        *v = (*v - 0.5) / 0.5;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_normalised_and_cover_the_support() {
        for (inp, out) in [(480, 448), (640, 448), (100, 448), (448, 448), (7, 3), (1, 5)] {
            let (starts, lens, w) = resize_weights(inp, out);
            let taps = w.len() / out;
            for i in 0..out {
                assert!(lens[i] >= 1 && lens[i] <= taps && starts[i] + lens[i] <= inp);
                let sum: f32 = w[i * taps..][..lens[i]].iter().sum();
                assert!((sum - 1.0).abs() < 1e-5, "{inp}->{out} sample {i}: {sum}");
                assert!(w[i * taps + lens[i]..(i + 1) * taps].iter().all(|&x| x == 0.0));
            }
        }
        // 640 -> 448 downscales by 10/7: support 2.857, 7 taps.
        let (starts, lens, w) = resize_weights(640, 448);
        assert_eq!(w.len(), 448 * 7);
        assert_eq!((starts[0], lens[0]), (0, 4));
        assert_eq!((starts[200], lens[200]), (284, 5));
    }

    #[test]
    fn same_size_is_the_identity_and_constants_stay_constant() {
        let data: Vec<u8> = (0..5 * 4 * 3).map(|i| (i * 17 % 256) as u8).collect();
        let img = RgbImage::new(4, 5, data.clone()).unwrap();
        let out = resize_bicubic_aa(&img, 5, 4);
        for c in 0..3 {
            for y in 0..5 {
                for x in 0..4 {
                    let want = data[(y * 4 + x) * 3 + c] as f32 / 255.0;
                    assert_eq!(out[(c * 5 + y) * 4 + x], want);
                }
            }
        }
        let flat = RgbImage::new(9, 7, vec![200; 9 * 7 * 3]).unwrap();
        for (h, w) in [(3, 4), (14, 20)] {
            let out = resize_bicubic_aa(&flat, h, w);
            assert_eq!(out.len(), 3 * h * w);
            assert!(out.iter().all(|v| (v - 200.0 / 255.0).abs() < 1e-6));
        }
    }

    #[test]
    fn overshoot_is_not_clamped() {
        // A hard edge upscaled with a cubic kernel rings past the input range.
        let mut data = vec![0u8; 8 * 3];
        for px in data.chunks_mut(3).skip(4) {
            px.copy_from_slice(&[255, 255, 255]);
        }
        let img = RgbImage::new(8, 1, data).unwrap();
        let out = resize_bicubic_aa(&img, 1, 32);
        assert!(out.iter().any(|&v| v > 1.0) && out.iter().any(|&v| v < 0.0));
        let mut x = vec![0.0, 0.5, 1.0];
        normalize_siglip(&mut x);
        assert_eq!(x, vec![-1.0, 0.0, 1.0]);
    }
}
