//! Weight formats: row-wise block quantization and its exact inverse.
//!
//! A matrix of `rows x cols` (PyTorch's `[out_features, in_features]`) is stored row by row with
//! each row padded with zeros to a multiple of [`BLOCK`] columns. Quantized formats keep a
//! values stream and separate f16 streams for the per-block parameters, so that a shader reads
//! each stream with plain aligned loads:
//! - `q8`: `x ≈ code * scale`, `code` a signed byte in `[-127, 127]`, `scale = absmax / 127`;
//! - `q4`: `x ≈ code * scale + min`, `code` 4 bits in `[0, 15]` (eight per little-endian `u32`,
//!   lowest nibble first), `scale = (max - min) / 15`.

use half::f16;

/// Number of consecutive row elements that share one scale (and one minimum for q4).
pub const BLOCK: usize = 32;

/// How a tensor's values are stored in the model file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// 32-bit floats, exact.
    F32,
    /// IEEE half floats.
    F16,
    /// 8-bit symmetric blocks of 32 with an f16 scale.
    Q8,
    /// 4-bit affine blocks of 32 with an f16 scale and an f16 minimum.
    Q4,
}

impl WeightFormat {
    /// Lower-case name used in recipes, file metadata and reports.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::F16 => "f16",
            WeightFormat::Q8 => "q8",
            WeightFormat::Q4 => "q4",
        }
    }

    /// Bytes of the values stream for one padded row of `padded_cols` elements.
    pub fn row_bytes(self, padded_cols: usize) -> usize {
        match self {
            WeightFormat::F32 => padded_cols * 4,
            WeightFormat::F16 => padded_cols * 2,
            WeightFormat::Q8 => padded_cols,
            WeightFormat::Q4 => padded_cols / 2,
        }
    }

    /// Whether the format has per-block scales (and, for q4, minimums).
    pub fn is_quantized(self) -> bool {
        matches!(self, WeightFormat::Q8 | WeightFormat::Q4)
    }
}

/// `cols` rounded up to a whole number of blocks.
pub fn padded_cols(cols: usize) -> usize {
    cols.div_ceil(BLOCK) * BLOCK
}

/// One quantized row: values plus per-block parameters, appended to caller-owned streams.
pub struct RowStreams<'a> {
    /// The values stream (codes or floats as little-endian bytes).
    pub values: &'a mut Vec<u8>,
    /// One f16 scale per block (quantized formats only).
    pub scales: &'a mut Vec<f16>,
    /// One f16 minimum per block (q4 only).
    pub mins: &'a mut Vec<f16>,
}

/// Appends the encoding of `row` (logical length `row.len()`, padded with zeros to
/// [`padded_cols`]) in `format` to the streams.
pub fn encode_row(format: WeightFormat, row: &[f32], out: &mut RowStreams<'_>) {
    let padded = padded_cols(row.len());
    let value = |i: usize| row.get(i).copied().unwrap_or(0.0);
    match format {
        WeightFormat::F32 => {
            for i in 0..padded {
                out.values.extend_from_slice(&value(i).to_le_bytes());
            }
        }
        WeightFormat::F16 => {
            for i in 0..padded {
                out.values.extend_from_slice(&f16::from_f32(value(i)).to_le_bytes());
            }
        }
        WeightFormat::Q8 => {
            for block in 0..padded / BLOCK {
                let xs: Vec<f32> = (0..BLOCK).map(|j| value(block * BLOCK + j)).collect();
                let absmax = xs.iter().fold(0f32, |m, x| m.max(x.abs()));
                let scale = f16::from_f32(absmax / 127.0);
                out.scales.push(scale);
                let s = scale.to_f32();
                for x in xs {
                    let code = if s > 0.0 { (x / s).round().clamp(-127.0, 127.0) } else { 0.0 };
                    out.values.push(code as i8 as u8);
                }
            }
        }
        WeightFormat::Q4 => {
            for block in 0..padded / BLOCK {
                let xs: Vec<f32> = (0..BLOCK).map(|j| value(block * BLOCK + j)).collect();
                let lo = xs.iter().fold(f32::INFINITY, |m, &x| m.min(x));
                let hi = xs.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
                let min = f16::from_f32(lo);
                let scale = f16::from_f32((hi - min.to_f32()).max(0.0) / 15.0);
                out.scales.push(scale);
                out.mins.push(min);
                let (s, m) = (scale.to_f32(), min.to_f32());
                let codes: Vec<u8> = xs
                    .iter()
                    .map(
                        |&x| if s > 0.0 { ((x - m) / s).round().clamp(0.0, 15.0) as u8 } else { 0 },
                    )
                    .collect();
                for pair in codes.chunks_exact(2) {
                    out.values.push(pair[0] | (pair[1] << 4));
                }
            }
        }
    }
}

/// Decodes element `i` of a row from its streams (the scalar reference of every shader).
pub fn decode_element(
    format: WeightFormat,
    values: &[u8],
    scales: &[f16],
    mins: &[f16],
    i: usize,
) -> f32 {
    match format {
        WeightFormat::F32 => f32::from_le_bytes([
            values[4 * i],
            values[4 * i + 1],
            values[4 * i + 2],
            values[4 * i + 3],
        ]),
        WeightFormat::F16 => f16::from_le_bytes([values[2 * i], values[2 * i + 1]]).to_f32(),
        WeightFormat::Q8 => f32::from(values[i] as i8) * scales[i / BLOCK].to_f32(),
        WeightFormat::Q4 => {
            let byte = values[i / 2];
            let code = if i % 2 == 0 { byte & 0x0f } else { byte >> 4 };
            f32::from(code) * scales[i / BLOCK].to_f32() + mins[i / BLOCK].to_f32()
        }
    }
}

/// Decodes a whole row of logical length `cols` from its streams.
pub fn decode_row(
    format: WeightFormat,
    values: &[u8],
    scales: &[f16],
    mins: &[f16],
    cols: usize,
) -> Vec<f32> {
    (0..cols).map(|i| decode_element(format, values, scales, mins, i)).collect()
}

/// Quantizes a whole `rows x cols` matrix, returning `(values, scales, mins)`.
pub fn encode_matrix(
    format: WeightFormat,
    data: &[f32],
    cols: usize,
) -> (Vec<u8>, Vec<f16>, Vec<f16>) {
    let (mut values, mut scales, mut mins) = (Vec::new(), Vec::new(), Vec::new());
    for row in data.chunks(cols) {
        encode_row(
            format,
            row,
            &mut RowStreams { values: &mut values, scales: &mut scales, mins: &mut mins },
        );
    }
    (values, scales, mins)
}

/// Decodes a whole `rows x cols` matrix from its streams.
pub fn decode_matrix(
    format: WeightFormat,
    values: &[u8],
    scales: &[f16],
    mins: &[f16],
    rows: usize,
    cols: usize,
) -> Vec<f32> {
    let padded = padded_cols(cols);
    let row_bytes = format.row_bytes(padded);
    let blocks = padded / BLOCK;
    let mut out = Vec::with_capacity(rows * cols);
    for r in 0..rows {
        let v = &values[r * row_bytes..(r + 1) * row_bytes];
        let (s, m) = match format {
            WeightFormat::Q8 => (&scales[r * blocks..(r + 1) * blocks], &mins[..0]),
            WeightFormat::Q4 => {
                (&scales[r * blocks..(r + 1) * blocks], &mins[r * blocks..(r + 1) * blocks])
            }
            _ => (&scales[..0], &mins[..0]),
        };
        out.extend(decode_row(format, v, s, m, cols));
    }
    out
}

/// Relative RMS error `||a - b|| / ||a||` (0 when both are zero).
pub fn relative_rmse(reference: &[f32], approx: &[f32]) -> f64 {
    let (mut num, mut den) = (0f64, 0f64);
    for (&a, &b) in reference.iter().zip(approx) {
        num += f64::from(a - b).powi(2);
        den += f64::from(a).powi(2);
    }
    if den == 0.0 {
        num.sqrt()
    } else {
        (num / den).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gaussian(n: usize, seed: u64) -> Vec<f32> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal) * 0.02).collect()
    }

    #[test]
    fn f32_is_exact_and_padded() {
        let data = gaussian(3 * 45, 1);
        let (v, s, m) = encode_matrix(WeightFormat::F32, &data, 45);
        assert_eq!(v.len(), 3 * 64 * 4);
        assert_eq!(decode_matrix(WeightFormat::F32, &v, &s, &m, 3, 45), data);
    }

    #[test]
    fn stated_error_bounds_hold_on_gaussian_weights() {
        // Bounds stated in the README: q8 <= 1%, q4 <= 12% relative RMSE, f16 <= 0.1%.
        let data = gaussian(64 * 4304, 2);
        for (format, bound) in
            [(WeightFormat::F16, 1e-3), (WeightFormat::Q8, 1e-2), (WeightFormat::Q4, 0.12)]
        {
            let (v, s, m) = encode_matrix(format, &data, 4304);
            let back = decode_matrix(format, &v, &s, &m, 64, 4304);
            let err = relative_rmse(&data, &back);
            assert!(err <= bound, "{format:?}: relative RMSE {err} > {bound}");
        }
    }

    proptest! {
        #[test]
        fn per_element_error_is_within_half_a_step(
            row in proptest::collection::vec(-100f32..100f32, 1..100)
        ) {
            for format in [WeightFormat::Q8, WeightFormat::Q4] {
                let (v, s, m) = encode_matrix(format, &row, row.len());
                let back = decode_row(format, &v, &s, &m, row.len());
                for (i, (&a, &b)) in row.iter().zip(&back).enumerate() {
                    let block = &row[(i / BLOCK) * BLOCK..((i / BLOCK + 1) * BLOCK).min(row.len())];
                    let absmax = block.iter().fold(0f32, |acc, x| acc.max(x.abs()));
                    // A step is at most 2 * absmax / 15 (q4) or absmax / 127 (q8); f16 rounding
                    // of the block parameters adds a relative 2^-11 of absmax per term.
                    let step = if format == WeightFormat::Q4 { 2.0 * absmax / 15.0 } else { absmax / 127.0 };
                    let tol = 0.5 * step + absmax * 4e-3 + 1e-6;
                    prop_assert!((a - b).abs() <= tol, "{:?} elem {}: {} vs {}", format, i, a, b);
                }
            }
        }
    }
}
