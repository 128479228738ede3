//! The linear layer `y = x Wᵀ + b` (PyTorch's `nn.Linear`), the workhorse of every model
//! part, and the dot product it is built on.
//!
//! `W` is `[out_features, in_features]` row-major as PyTorch stores it, so each output is a
//! dot product of two contiguous rows.

/// `Σ a[i] * b[i]`, accumulated in f32 from the first element to the last.
///
/// # Panics
/// If the slices have different lengths.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot of slices of different lengths");
    let mut acc = 0.0f32;
    for (x, y) in a.iter().zip(b) {
        acc += x * y;
    }
    acc
}

/// `y = x Wᵀ + b` for `rows` rows of `x` (`[rows, in_features]`), `weight`
/// `[out_features, in_features]` and an optional `bias` `[out_features]`.
/// Returns `[rows, out_features]`.
///
/// # Panics
/// If a slice length does not match the sizes.
pub fn linear(
    x: &[f32],
    rows: usize,
    weight: &[f32],
    out_features: usize,
    in_features: usize,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    assert_eq!(x.len(), rows * in_features, "linear input is not [rows, in_features]");
    assert_eq!(weight.len(), out_features * in_features, "linear weight is not [out, in]");
    if let Some(b) = bias {
        assert_eq!(b.len(), out_features, "linear bias is not [out_features]");
    }
    let mut y = Vec::with_capacity(rows * out_features);
    for r in 0..rows {
        let x_row = &x[r * in_features..(r + 1) * in_features];
        for o in 0..out_features {
            let w_row = &weight[o * in_features..(o + 1) * in_features];
            y.push(dot(x_row, w_row) + bias.map_or(0.0, |b| b[o]));
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_product() {
        // x = [[1, 2], [3, 4]], W = [[1, 0], [0, 1], [1, 1]], b = [0.5, -1, 0]
        let x = [1.0, 2.0, 3.0, 4.0];
        let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let b = [0.5, -1.0, 0.0];
        assert_eq!(linear(&x, 2, &w, 3, 2, Some(&b)), vec![1.5, 1.0, 3.0, 3.5, 3.0, 7.0]);
        assert_eq!(linear(&x, 2, &w, 3, 2, None), vec![1.0, 2.0, 3.0, 3.0, 4.0, 7.0]);
    }

    #[test]
    fn agrees_with_an_f64_product_on_random_data() {
        let (rows, out, inp) = (5, 7, 33);
        let x: Vec<f32> = (0..rows * inp).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
        let w: Vec<f32> = (0..out * inp).map(|i| ((i * 53 % 97) as f32 - 48.0) / 40.0).collect();
        let y = linear(&x, rows, &w, out, inp, None);
        for r in 0..rows {
            for o in 0..out {
                let exact: f64 =
                    (0..inp).map(|i| x[r * inp + i] as f64 * w[o * inp + i] as f64).sum();
                assert!((y[r * out + o] as f64 - exact).abs() < 1e-4, "{r} {o}");
            }
        }
    }

    #[test]
    fn zero_rows_and_zero_inputs() {
        assert!(linear(&[], 0, &[1.0, 2.0], 1, 2, None).is_empty());
        assert_eq!(linear(&[], 2, &[], 2, 0, Some(&[1.0, 2.0])), vec![1.0, 2.0, 1.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "linear weight")]
    fn refuses_a_misshapen_weight() {
        linear(&[1.0, 2.0], 1, &[1.0, 2.0, 3.0], 2, 2, None);
    }
}
