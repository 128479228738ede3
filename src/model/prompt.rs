//! The token sequence of one inference: `[common | left arm | right arm]`, with each
//! position's token id, segment id, modality id and RoPE position.
//!
//! | segment | token ids | modal ids |
//! |---|---|---|
//! | common (0) | `prompt + img + ln` | text 0, image slot `[0, 1 x N, 0]`, 0 |
//! | left (1) | `arm + img + [0] + ln + ln + act + [0] x R` | 0, `[0, 2 x N, 0]`, 4, 0..., 5 x R |
//! | right (2) | same ids as left | as left with image modal 3 |
//!
//! `img = [<img>] + [0] x N + [</img>]`. Positions run `0..n_common` over the common segment
//! and `n_common..` over each arm's segment (the arms share positions).

use super::file::PromptPieces;

/// Modality ids: which embedding a position receives.
pub mod modal {
    /// A text token's embedding.
    pub const TEXT: u8 = 0;
    /// The primary camera's image embeddings.
    pub const PRIMARY_IMAGE: u8 = 1;
    /// The left wrist camera's image embeddings.
    pub const WRIST_L_IMAGE: u8 = 2;
    /// The right wrist camera's image embeddings.
    pub const WRIST_R_IMAGE: u8 = 3;
    /// The arm's embedded proprio state.
    pub const PROPRIO: u8 = 4;
    /// A readout (action) token; its final hidden state conditions the action head.
    pub const READOUT: u8 = 5;
}

/// Segment (`ci`) ids.
pub mod segment {
    /// Shared prompt and primary image.
    pub const COMMON: u8 = 0;
    /// Left arm.
    pub const LEFT: u8 = 1;
    /// Right arm.
    pub const RIGHT: u8 = 2;
}

/// The full input sequence layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceLayout {
    /// Token id per position (0 in image, proprio and readout slots).
    pub input_ids: Vec<u32>,
    /// Segment id per position ([`segment`]).
    pub ci_ids: Vec<u8>,
    /// Modality id per position ([`modal`]).
    pub modal_ids: Vec<u8>,
    /// RoPE position per position.
    pub position_ids: Vec<u32>,
    /// Positions in the common segment.
    pub n_common: usize,
    /// Positions in the left arm's segment.
    pub n_left: usize,
    /// Positions in the right arm's segment.
    pub n_right: usize,
    /// Readout positions: the left arm's, then the right arm's.
    pub readout_positions: Vec<usize>,
    /// The proprio position of the left arm and of the right arm.
    pub proprio_positions: [usize; 2],
}

/// The prompt text for `instruction`: `system + base` with `{task}` replaced.
pub fn prompt_text(pieces: &PromptPieces, instruction: &str) -> String {
    format!("{}{}", pieces.system, pieces.base.replace("{task}", instruction))
}

/// Token ids and modal ids of one segment under construction.
#[derive(Default)]
struct Segment {
    ids: Vec<u32>,
    modal: Vec<u8>,
}

impl Segment {
    fn push(&mut self, ids: &[u32], modal: u8) {
        self.ids.extend_from_slice(ids);
        self.modal.extend(std::iter::repeat_n(modal, ids.len()));
    }

    fn push_image(&mut self, pieces: &PromptPieces, image_tokens: usize, modal: u8) {
        self.push(&[pieces.image_start], modal::TEXT);
        self.push(&vec![0; image_tokens], modal);
        self.push(&[pieces.image_end], modal::TEXT);
    }
}

impl SequenceLayout {
    /// Lays out the sequence for `instruction`. `encode` tokenizes text without adding special
    /// tokens (special tokens written in the text are matched); it is called for the prompt
    /// text, the newline, the arm-state and the action separators.
    pub fn build(
        pieces: &PromptPieces,
        encode: &dyn Fn(&str) -> Vec<u32>,
        instruction: &str,
        image_tokens: usize,
        num_readouts: usize,
    ) -> SequenceLayout {
        let prompt = encode(&prompt_text(pieces, instruction));
        let ln = encode(&pieces.newline);
        let arm = encode(&pieces.arm_state);
        let act = encode(&pieces.action);

        let mut common = Segment::default();
        common.push(&prompt, modal::TEXT);
        common.push_image(pieces, image_tokens, modal::PRIMARY_IMAGE);
        common.push(&ln, modal::TEXT);

        let arm_segment = |image_modal: u8| {
            let mut s = Segment::default();
            s.push(&arm, modal::TEXT);
            s.push_image(pieces, image_tokens, image_modal);
            s.push(&[0], modal::PROPRIO);
            s.push(&ln, modal::TEXT);
            s.push(&ln, modal::TEXT);
            s.push(&act, modal::TEXT);
            s.push(&vec![0; num_readouts], modal::READOUT);
            s
        };
        let left = arm_segment(modal::WRIST_L_IMAGE);
        let right = arm_segment(modal::WRIST_R_IMAGE);

        let (n_common, n_left, n_right) = (common.ids.len(), left.ids.len(), right.ids.len());
        let mut ci_ids = vec![segment::COMMON; n_common];
        ci_ids.extend(std::iter::repeat_n(segment::LEFT, n_left));
        ci_ids.extend(std::iter::repeat_n(segment::RIGHT, n_right));
        let mut position_ids: Vec<u32> = (0..n_common as u32).collect();
        position_ids.extend((0..n_left as u32).map(|i| n_common as u32 + i));
        position_ids.extend((0..n_right as u32).map(|i| n_common as u32 + i));
        let input_ids = [common.ids, left.ids, right.ids].concat();
        let modal_ids = [common.modal, left.modal, right.modal].concat();
        let find = |m: u8| -> Vec<usize> {
            modal_ids.iter().enumerate().filter(|(_, &x)| x == m).map(|(i, _)| i).collect()
        };
        let readout_positions = find(modal::READOUT);
        // Each arm segment holds exactly one proprio slot, by construction above.
        let proprio = find(modal::PROPRIO);
        let proprio_positions = [proprio[0], proprio[1]];
        SequenceLayout {
            input_ids,
            ci_ids,
            modal_ids,
            position_ids,
            n_common,
            n_left,
            n_right,
            readout_positions,
            proprio_positions,
        }
    }

    /// Total positions.
    pub fn len(&self) -> usize {
        self.input_ids.len()
    }

    /// Whether the sequence is empty (never, for a built layout).
    pub fn is_empty(&self) -> bool {
        self.input_ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in tokenizer: one id per character (`1000 + byte`).
    fn by_char(text: &str) -> Vec<u32> {
        text.bytes().map(|b| 1000 + b as u32).collect()
    }

    #[test]
    fn structure_with_a_fake_encoder() {
        let pieces = PromptPieces::eagle2();
        let layout = SequenceLayout::build(&pieces, &by_char, "go", 4, 2);
        let prompt_len = prompt_text(&pieces, "go").len();
        assert!(prompt_text(&pieces, "go").contains("accomplish go?"));
        let arm_len = "Arm State: ".len();
        let act_len = "Action: ".len();
        assert_eq!(layout.n_common, prompt_len + 6 + 1);
        assert_eq!(layout.n_left, arm_len + 6 + 1 + 2 + act_len + 2);
        assert_eq!(layout.n_right, layout.n_left);
        assert_eq!(layout.len(), layout.n_common + 2 * layout.n_left);

        // The common image slot.
        let img = prompt_len;
        assert_eq!(layout.input_ids[img], pieces.image_start);
        assert_eq!(&layout.input_ids[img + 1..img + 5], &[0, 0, 0, 0]);
        assert_eq!(layout.input_ids[img + 5], pieces.image_end);
        assert_eq!(&layout.modal_ids[img..img + 6], &[0, 1, 1, 1, 1, 0]);

        // Arm segments: same ids, image modal 2 then 3, proprio and readouts.
        let (l0, r0) = (layout.n_common, layout.n_common + layout.n_left);
        assert_eq!(layout.input_ids[l0..r0], layout.input_ids[r0..]);
        assert_eq!(layout.modal_ids[l0 + arm_len + 1], modal::WRIST_L_IMAGE);
        assert_eq!(layout.modal_ids[r0 + arm_len + 1], modal::WRIST_R_IMAGE);
        assert_eq!(layout.proprio_positions, [l0 + arm_len + 6, r0 + arm_len + 6]);
        assert_eq!(
            layout.readout_positions,
            vec![r0 - 2, r0 - 1, layout.len() - 2, layout.len() - 1]
        );
        assert!(layout.readout_positions.iter().all(|&p| layout.input_ids[p] == 0));

        // Segment and position ids.
        assert!(layout.ci_ids[..l0].iter().all(|&c| c == 0));
        assert!(layout.ci_ids[l0..r0].iter().all(|&c| c == 1));
        assert!(layout.ci_ids[r0..].iter().all(|&c| c == 2));
        assert_eq!(layout.position_ids[l0 - 1], l0 as u32 - 1);
        assert_eq!(layout.position_ids[l0], l0 as u32);
        assert_eq!(layout.position_ids[r0], l0 as u32);
        assert_eq!(layout.position_ids[layout.len() - 1], (l0 + layout.n_left - 1) as u32);
    }
}
