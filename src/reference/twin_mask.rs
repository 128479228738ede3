//! The twin decoder's attention mask and re-weighting bias, derived from the segment ids
//! (`ci`: 0 common, 1 left arm, 2 right arm).
//!
//! A query sees the keys at or before it in sequence order (so common queries see only
//! earlier common keys), except across the arms: the left→right and right→left blocks are a
//! lower-triangular `n x n` block in segment order (the `i`-th left token sees right tokens
//! `0..=i`, and the reverse). With attention re-weighting, the softmax weights on common keys
//! are doubled and renormalised, which is the same as adding `ln 2` to their logits.

use super::error::ReferenceError;

/// The mask of one sequence, queried pair by pair.
#[derive(Clone, Debug)]
pub struct TwinMask {
    /// Segment id of each position.
    ci: Vec<u8>,
    /// Index of each position within its own segment.
    ordinal: Vec<usize>,
    /// Whether common keys get the `ln 2` bias.
    reweight: bool,
}

impl TwinMask {
    /// Builds the mask for `ci_ids`. The two arm segments must have the same length (the
    /// cross-arm block is square).
    pub fn new(ci_ids: &[u8], attn_reweighting: bool) -> Result<Self, ReferenceError> {
        let mut counts = [0usize; 3];
        let mut ordinal = Vec::with_capacity(ci_ids.len());
        for (pos, &c) in ci_ids.iter().enumerate() {
            let count = counts.get_mut(c as usize).ok_or_else(|| {
                ReferenceError::Input(format!("segment id {c} at position {pos} is not 0, 1 or 2"))
            })?;
            ordinal.push(*count);
            *count += 1;
        }
        if counts[1] != counts[2] {
            return Err(ReferenceError::Input(format!(
                "left and right segments differ in length ({} vs {})",
                counts[1], counts[2]
            )));
        }
        Ok(Self { ci: ci_ids.to_vec(), ordinal, reweight: attn_reweighting })
    }

    /// Sequence length.
    pub fn len(&self) -> usize {
        self.ci.len()
    }

    /// Whether the sequence is empty.
    pub fn is_empty(&self) -> bool {
        self.ci.is_empty()
    }

    /// Whether query `q` attends to key `k`.
    pub fn allowed(&self, q: usize, k: usize) -> bool {
        match (self.ci[q], self.ci[k]) {
            (1, 2) | (2, 1) => self.ordinal[k] <= self.ordinal[q],
            _ => k <= q,
        }
    }

    /// The attention bias of the pair: `None` if masked, `Some(ln 2)` on a common key with
    /// re-weighting, `Some(0)` otherwise. Fits [`super::attention::attention`]'s `bias`.
    pub fn bias(&self, q: usize, k: usize) -> Option<f32> {
        if !self.allowed(q, k) {
            None
        } else if self.reweight && self.ci[k] == 0 {
            Some(std::f32::consts::LN_2)
        } else {
            Some(0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_layout_by_hand() {
        // common c0 c1 | left l0 l1 | right r0 r1
        let m = TwinMask::new(&[0, 0, 1, 1, 2, 2], true).unwrap();
        let rows: Vec<String> = (0..6)
            .map(|q| (0..6).map(|k| if m.allowed(q, k) { '1' } else { '0' }).collect())
            .collect();
        assert_eq!(rows, ["100000", "110000", "111010", "111111", "111010", "111111"]);
        assert_eq!(m.bias(3, 0), Some(std::f32::consts::LN_2));
        assert_eq!(m.bias(3, 2), Some(0.0));
        assert_eq!(m.bias(0, 1), None);
        let plain = TwinMask::new(&[0, 0, 1, 1, 2, 2], false).unwrap();
        assert_eq!(plain.bias(3, 0), Some(0.0));
    }

    #[test]
    fn refuses_bad_segments() {
        assert!(TwinMask::new(&[0, 1, 2, 2], false).is_err());
        assert!(TwinMask::new(&[0, 3], false).unwrap_err().to_string().contains("segment id 3"));
    }
}
