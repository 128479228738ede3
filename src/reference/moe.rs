//! Top-1 expert routing of the twin decoder's common tokens.
//!
//! Upstream takes the softmax of the gate logits and picks the expert with the largest
//! probability (the first on a tie); the straight-through estimator makes the chosen expert's
//! weight exactly 1.0 in the forward pass, so the token's MLP output is that expert's output.

/// The index of the expert that one token's gate `logits` select: the argmax of their f32
/// softmax, the lowest index on a tie.
///
/// # Panics
/// If `logits` is empty.
pub fn top1(logits: &[f32]) -> usize {
    assert!(!logits.is_empty(), "top1 needs at least one logit");
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    let mut best = 0;
    for (i, e) in exps.iter().enumerate() {
        if e / sum > exps[best] / sum {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_largest_and_breaks_ties_to_the_first() {
        assert_eq!(top1(&[0.1, 0.2]), 1);
        assert_eq!(top1(&[0.3, -5.0]), 0);
        assert_eq!(top1(&[1.0, 1.0]), 0);
        assert_eq!(top1(&[-1.0, 2.0, 2.0]), 1);
        // Logits too close to separate after the softmax count as a tie.
        assert_eq!(top1(&[1.0, 1.0 + f32::EPSILON / 4.0]), 0);
    }
}
