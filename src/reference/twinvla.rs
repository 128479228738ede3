//! The whole TwinVLA forward pass on the CPU, from three camera images, the normalised
//! proprio and a sequence layout to the normalised action chunk, keeping every intermediate.
//!
//! Stages: per image, resize and normalise ([`super::resize`]), the SigLIP tower
//! ([`Vision`]) and the projector ([`Projector`]); the input embeddings (token embeddings
//! with image, proprio and readout rows inserted by modality); the twin decoder
//! ([`TwinDecoder`]); the readout rows of the final hidden state; the action head
//! ([`ActionHead`]). Proprio normalisation and action un-normalisation (float64, with the
//! dataset statistics) happen outside, in [`crate::model::stats`].

use super::action_head::{ActionHead, ActionTrace};
use super::decoder::{DecoderTrace, TwinDecoder};
use super::error::ReferenceError;
use super::layers::Linear;
use super::projector::Projector;
use super::resize::{normalize_siglip, resize_bicubic_aa};
use super::vision::Vision;
use super::weights::{load, WeightSource};
use crate::image::RgbImage;
use crate::model::config::ModelConfig;
use crate::model::prompt::{modal, SequenceLayout};

/// One image's path to the decoder.
#[derive(Clone, Debug)]
pub struct ImageTrace {
    /// Resized, normalised pixels, CHW `[3, image_size, image_size]`.
    pub pixel_values: Vec<f32>,
    /// SigLIP's last hidden state `[num_patches, vision hidden]`.
    pub vision_hidden: Vec<f32>,
    /// Projected image tokens `[image_tokens, D]`.
    pub image_embeds: Vec<f32>,
}

/// Every intermediate of one prediction.
#[derive(Clone, Debug)]
pub struct Trace {
    /// The primary, left wrist and right wrist images, in that order.
    pub images: [ImageTrace; 3],
    /// The decoder's input `[tokens, D]`.
    pub input_embeds: Vec<f32>,
    /// The decoder's hidden states and routing.
    pub decoder: DecoderTrace,
    /// The readout rows of the final hidden state `[2, D]`: left arm's, then right's.
    pub readouts: Vec<f32>,
    /// The action head's sampling run, ending in the normalised action chunk.
    pub action: ActionTrace,
}

/// The reference TwinVLA model with all its weights in f32.
pub struct ReferenceModel {
    config: ModelConfig,
    vision: Vision,
    projector: Projector,
    embed_tokens: Vec<f32>,
    embed_arm_state: Linear,
    /// `action_token_l` and `action_token_r` (`[num_readouts, D]` each), unless the readout
    /// slots keep token 0's embedding.
    action_tokens: Option<[Vec<f32>; 2]>,
    decoder: TwinDecoder,
    action_head: ActionHead,
}

impl ReferenceModel {
    /// Loads every weight `config` implies from `weights`.
    pub fn new(weights: &dyn WeightSource, config: &ModelConfig) -> Result<Self, ReferenceError> {
        let d = config.llm.hidden_size;
        let action_tokens = if config.readout_token_as_eos {
            None
        } else {
            let n = config.num_readouts * d;
            Some([load(weights, "action_token_l", n)?, load(weights, "action_token_r", n)?])
        };
        Ok(Self {
            config: config.clone(),
            vision: Vision::new(weights, &config.vision)?,
            projector: Projector::new(weights, config)?,
            embed_tokens: load(weights, "embed_tokens_c.weight", config.llm.vocab_size * d)?,
            embed_arm_state: Linear::load(weights, "embed_arm_state", d, config.state_dim, true)?,
            action_tokens,
            decoder: TwinDecoder::new(weights, config)?,
            action_head: ActionHead::new(weights, config)?,
        })
    }

    /// The configuration the model was built for.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The vision tower, to run it on its own.
    pub fn vision(&self) -> &Vision {
        &self.vision
    }

    /// The projector, to run it on its own.
    pub fn projector(&self) -> &Projector {
        &self.projector
    }

    /// The twin decoder, to run it on its own.
    pub fn decoder(&self) -> &TwinDecoder {
        &self.decoder
    }

    /// The action head, to run it on its own.
    pub fn action_head(&self) -> &ActionHead {
        &self.action_head
    }

    /// Preprocesses one image and embeds it: pixels, vision hidden state, image tokens.
    pub fn image(&self, image: &RgbImage) -> Result<ImageTrace, ReferenceError> {
        let side = self.config.vision.image_size;
        let mut pixel_values = resize_bicubic_aa(image, side, side);
        normalize_siglip(&mut pixel_values);
        let vision_hidden = self.vision.forward(&pixel_values)?;
        let image_embeds = self.projector.forward(&vision_hidden)?;
        Ok(ImageTrace { pixel_values, vision_hidden, image_embeds })
    }

    /// The decoder input for `layout`: each position's token embedding, then the rows of
    /// modality 1, 2, 3 replaced by `image_embeds` (primary, left wrist, right wrist), the
    /// proprio rows by `embed_arm_state` of each arm's half of `proprio_normalized`, and the
    /// readout rows by the learned action tokens (left's, then right's).
    pub fn input_embeds(
        &self,
        layout: &SequenceLayout,
        image_embeds: [&[f32]; 3],
        proprio_normalized: &[f32],
    ) -> Result<Vec<f32>, ReferenceError> {
        let d = self.config.llm.hidden_size;
        let s = self.config.state_dim;
        let n = layout.len();
        if layout.modal_ids.len() != n || layout.ci_ids.len() != n || layout.position_ids.len() != n
        {
            return Err(ReferenceError::Input(format!(
                "layout has {n} token ids but {} modal, {} segment and {} position ids",
                layout.modal_ids.len(),
                layout.ci_ids.len(),
                layout.position_ids.len()
            )));
        }
        if proprio_normalized.len() != 2 * s {
            return Err(ReferenceError::Input(format!(
                "proprio has {} values, expected {}",
                proprio_normalized.len(),
                2 * s
            )));
        }
        let mut x = Vec::with_capacity(n * d);
        for (pos, &id) in layout.input_ids.iter().enumerate() {
            let row =
                self.embed_tokens.get(id as usize * d..(id as usize + 1) * d).ok_or_else(|| {
                    ReferenceError::Input(format!(
                        "token id {id} at position {pos} is outside the vocabulary of {}",
                        self.config.llm.vocab_size
                    ))
                })?;
            x.extend_from_slice(row);
        }
        let state = self.embed_arm_state.apply(proprio_normalized, 2);
        let mut inserts: Vec<(u8, &str, &[f32])> = vec![
            (modal::PRIMARY_IMAGE, "primary image", image_embeds[0]),
            (modal::WRIST_L_IMAGE, "left wrist image", image_embeds[1]),
            (modal::WRIST_R_IMAGE, "right wrist image", image_embeds[2]),
            (modal::PROPRIO, "proprio", &state),
        ];
        let readout_rows: Vec<f32>;
        if let Some([left, right]) = &self.action_tokens {
            readout_rows = [left.as_slice(), right.as_slice()].concat();
            inserts.push((modal::READOUT, "readout", &readout_rows));
        }
        for (m, what, rows) in inserts {
            let positions: Vec<usize> = (0..n).filter(|&p| layout.modal_ids[p] == m).collect();
            if positions.len() * d != rows.len() {
                return Err(ReferenceError::Input(format!(
                    "layout has {} {what} slots (modal id {m}) for {} rows of width {d}",
                    positions.len(),
                    rows.len() as f64 / d as f64
                )));
            }
            for (p, row) in positions.into_iter().zip(rows.chunks_exact(d)) {
                x[p * d..(p + 1) * d].copy_from_slice(row);
            }
        }
        Ok(x)
    }

    /// Runs the whole model. `images` are the primary, left wrist and right wrist cameras;
    /// `proprio_normalized` is `[left | right]`; `noise` the initial actions
    /// `[2, action_len, action_dim]`; `cfg` the guidance scale; `steps` the flow-matching
    /// steps.
    pub fn predict(
        &self,
        images: [&RgbImage; 3],
        proprio_normalized: &[f32],
        layout: &SequenceLayout,
        noise: &[f32],
        cfg: f32,
        steps: usize,
    ) -> Result<Trace, ReferenceError> {
        let [primary, wrist_l, wrist_r] = images;
        let images = [self.image(primary)?, self.image(wrist_l)?, self.image(wrist_r)?];
        let input_embeds = self.input_embeds(
            layout,
            [&images[0].image_embeds, &images[1].image_embeds, &images[2].image_embeds],
            proprio_normalized,
        )?;
        let decoder = self.decoder.forward(&input_embeds, &layout.ci_ids, &layout.position_ids)?;
        let d = self.config.llm.hidden_size;
        let readout_positions: Vec<usize> =
            (0..layout.len()).filter(|&p| layout.modal_ids[p] == modal::READOUT).collect();
        if readout_positions.len() != 2 {
            return Err(ReferenceError::Input(format!(
                "layout has {} readout slots, expected one per arm",
                readout_positions.len()
            )));
        }
        let readouts: Vec<f32> = readout_positions
            .iter()
            .flat_map(|&p| decoder.final_hidden[p * d..(p + 1) * d].to_vec())
            .collect();
        let action = self.action_head.sample(&readouts, proprio_normalized, noise, cfg, steps)?;
        Ok(Trace { images, input_embeds, decoder, readouts, action })
    }
}
