//! The policy: load a model file onto the GPU and turn observations into action chunks.
//!
//! ```no_run
//! # use twinvla_edge::policy::{Policy, LoadOptions, Observation, PredictOptions};
//! # fn demo(obs: &Observation) -> Result<(), Box<dyn std::error::Error>> {
//! let mut policy = Policy::load("model.gguf", &LoadOptions::default())?;
//! let chunk = policy.predict(obs, &PredictOptions::default())?;
//! println!("{} steps x {} values", chunk.steps, chunk.width);
//! # Ok(()) }
//! ```
//!
//! Only the images, the normalised proprio, the token embeddings and the initial noise go up
//! to the GPU; only the normalised action chunk comes back (then un-normalised in f64).

pub mod build;
pub mod flops;
pub mod program;
pub mod weights;

use std::path::Path;
use std::time::{Duration, Instant};

use rand::SeedableRng;

use crate::gpu::context::{GpuContext, GpuError};
use crate::gpu::set::KernelSet;
use crate::image::RgbImage;
use crate::model::config::ModelConfig;
use crate::model::file::{ModelFile, ModelFileError};
use crate::model::prompt::{modal, SequenceLayout};
use crate::model::stats::StatsError;
use crate::model::tokenizer::{Tokenizer, TokenizerError};
use build::{build, Io, ProgramKey, IMAGES};
use program::{Program, StageTime};
use weights::{DeviceWeights, UploadError};

/// Errors of loading or running the policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The model file.
    #[error(transparent)]
    File(#[from] ModelFileError),
    /// The GPU.
    #[error(transparent)]
    Gpu(#[from] GpuError),
    /// Uploading weights.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// The embedded tokenizer.
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] TokenizerError),
    /// Statistics.
    #[error(transparent)]
    Stats(#[from] StatsError),
    /// An observation or option that cannot be used.
    #[error("invalid input: {0}")]
    Input(String),
}

/// How to load.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Adapter name substring, `cpu` or `gpu` (see [`crate::gpu::context`]).
    pub adapter: Option<String>,
}

/// One observation: three camera images, the arms' raw proprio and the instruction.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// Head / ego camera.
    pub primary: RgbImage,
    /// Left wrist camera.
    pub wrist_left: RgbImage,
    /// Right wrist camera.
    pub wrist_right: RgbImage,
    /// `[left arm | right arm]`, each `xyz, rot6d, gripper`.
    pub proprio: Vec<f32>,
    /// Task instruction.
    pub instruction: String,
}

/// Where the initial flow-matching noise comes from.
#[derive(Clone, Debug)]
pub enum Noise {
    /// Standard normal noise from a seeded generator.
    Seed(u64),
    /// An explicit tensor `(4, T, A)` with guidance or `(2, T, A)` without; rows 0 and 1 are used.
    Explicit(Vec<f32>),
}

/// Per-call options.
#[derive(Clone, Debug)]
pub struct PredictOptions {
    /// Statistics key; the only key when `None` and the file has one.
    pub unnorm_key: Option<String>,
    /// Guidance scale (upstream default 1.5; `<= 1` disables the unconditional branch).
    pub cfg: f32,
    /// Denoising steps (`None`: the model's default).
    pub steps: Option<usize>,
    /// Initial noise.
    pub noise: Noise,
}

impl Default for PredictOptions {
    fn default() -> Self {
        Self { unnorm_key: None, cfg: 1.5, steps: None, noise: Noise::Seed(0) }
    }
}

/// A chunk of future end-effector targets.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionChunk {
    /// Time steps.
    pub steps: usize,
    /// Values per step: `[left arm | right arm]`.
    pub width: usize,
    /// Un-normalised targets, step-major.
    pub actions: Vec<f64>,
    /// The model's normalised output, same layout.
    pub normalized: Vec<f32>,
}

impl ActionChunk {
    /// Step `i`'s values.
    pub fn step(&self, i: usize) -> &[f64] {
        &self.actions[i * self.width..(i + 1) * self.width]
    }
}

/// Wall time of each part of the last prediction.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// CPU work before the GPU: tokenisation (when the instruction changed), embedding
    /// gather, normalisation, noise, uploads.
    pub host: Duration,
    /// GPU time from submit to the chunk read back.
    pub gpu: Duration,
    /// Whether the program was (re)built for this call.
    pub rebuilt: bool,
}

struct Prepared {
    key: ProgramKey,
    instruction: String,
    layout: SequenceLayout,
    /// Embedding rows of text and readout positions (image and proprio rows are zero).
    embeds: Vec<f32>,
    program: Program,
    io: Io,
}

/// A loaded policy.
pub struct Policy {
    file: ModelFile,
    ctx: GpuContext,
    kernels: KernelSet,
    weights: DeviceWeights,
    tokenizer: Tokenizer,
    prepared: Option<Prepared>,
    /// Load time of the model file, weights and pipelines.
    pub load_time: Duration,
    /// Timings of the last call.
    pub last_timings: Timings,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").field("file", &self.file).field("gpu", &self.ctx).finish()
    }
}

impl Policy {
    /// Opens and validates `path`, opens the GPU, uploads the weights and compiles every
    /// pipeline (saving the pipeline cache for the next start).
    pub fn load(path: impl AsRef<Path>, options: &LoadOptions) -> Result<Self, PolicyError> {
        let start = Instant::now();
        let file = ModelFile::open(path)?;
        let ctx = GpuContext::new(options.adapter.as_deref())?;
        let tokenizer = Tokenizer::from_json(file.tokenizer_json())?;
        let kernels = KernelSet::new(&ctx)?;
        let c = file.config();
        for head_dim in [c.vision.head_dim(), c.llm.head_dim(), c.dit.hidden_size / c.dit.num_heads]
        {
            kernels.attention(&ctx, head_dim);
        }
        let weights = DeviceWeights::upload(&ctx, &file, file.config())?;
        ctx.wait()?;
        ctx.save_pipeline_cache();
        Ok(Self {
            file,
            ctx,
            kernels,
            weights,
            tokenizer,
            prepared: None,
            load_time: start.elapsed(),
            last_timings: Timings::default(),
        })
    }

    /// The model configuration.
    pub fn config(&self) -> &ModelConfig {
        self.file.config()
    }

    /// The model file.
    pub fn file(&self) -> &ModelFile {
        &self.file
    }

    /// The GPU context.
    pub fn gpu(&self) -> &GpuContext {
        &self.ctx
    }

    /// Tokenizes `text` with the model's tokenizer (special tokens in the text are matched).
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, PolicyError> {
        Ok(self.tokenizer.encode(text)?)
    }

    /// Bytes of weights resident on the GPU.
    pub fn weight_bytes(&self) -> u64 {
        self.weights.bytes()
    }

    /// Dispatches in the current program (0 before the first prediction).
    pub fn dispatches(&self) -> usize {
        self.prepared.as_ref().map_or(0, |p| p.program.dispatches())
    }

    /// The layout of the current program.
    pub fn layout(&self) -> Option<&SequenceLayout> {
        self.prepared.as_ref().map(|p| &p.layout)
    }

    /// The device buffers of the current program (for tests and diagnostics).
    pub fn io(&self) -> Option<&Io> {
        self.prepared.as_ref().map(|p| &p.io)
    }

    /// The current program.
    pub fn program(&self) -> Option<&Program> {
        self.prepared.as_ref().map(|p| &p.program)
    }

    fn layout_for(&self, instruction: &str) -> Result<SequenceLayout, PolicyError> {
        let c = self.config();
        let tok = &self.tokenizer;
        let failure = std::cell::RefCell::new(None);
        let encode = |text: &str| match tok.encode(text) {
            Ok(ids) => ids,
            Err(e) => {
                failure.borrow_mut().get_or_insert(e);
                Vec::new()
            }
        };
        let layout = SequenceLayout::build(
            self.file.prompt(),
            &encode,
            instruction,
            c.image_tokens(),
            c.num_readouts,
        );
        if let Some(e) = failure.into_inner() {
            return Err(e.into());
        }
        Ok(layout)
    }

    /// Token and readout embedding rows for `layout`, gathered from the memory-mapped table.
    fn gather_embeds(&self, layout: &SequenceLayout) -> Result<Vec<f32>, PolicyError> {
        let c = self.config();
        let d = c.llm.hidden_size;
        let table = self.file.weight("embed_tokens_c.weight")?;
        let readouts = if c.readout_token_as_eos {
            None
        } else {
            Some([
                self.file.weight("action_token_l")?.to_f32(),
                self.file.weight("action_token_r")?.to_f32(),
            ])
        };
        let mut embeds = vec![0f32; layout.len() * d];
        let mut readout_index = 0;
        for (i, (&id, &m)) in layout.input_ids.iter().zip(&layout.modal_ids).enumerate() {
            let row = &mut embeds[i * d..(i + 1) * d];
            match (m, &readouts) {
                (modal::READOUT, Some(tokens)) => {
                    let arm = usize::from(readout_index >= c.num_readouts);
                    let j = readout_index % c.num_readouts;
                    row.copy_from_slice(&tokens[arm][j * d..(j + 1) * d]);
                    readout_index += 1;
                }
                (modal::TEXT, _) | (modal::READOUT, None) => {
                    let values = table.row_f32(id as usize).ok_or_else(|| {
                        PolicyError::Input(format!("token id {id} outside the vocabulary"))
                    })?;
                    row.copy_from_slice(&values);
                }
                _ => {}
            }
        }
        Ok(embeds)
    }

    fn prepare(&mut self, key: ProgramKey, instruction: &str) -> Result<bool, PolicyError> {
        let same_text = self.prepared.as_ref().is_some_and(|p| p.instruction == instruction);
        if same_text && self.prepared.as_ref().is_some_and(|p| p.key == key) {
            return Ok(false);
        }
        let (layout, embeds) = match self.prepared.take() {
            Some(p) if same_text => (p.layout, p.embeds),
            _ => {
                let layout = self.layout_for(instruction)?;
                let embeds = self.gather_embeds(&layout)?;
                (layout, embeds)
            }
        };
        let key = ProgramKey { tokens: layout.len(), ..key };
        let (program, io) =
            build(&self.ctx, &self.kernels, self.file.config(), &self.weights, &layout, &key)?;
        self.prepared = Some(Prepared {
            key,
            instruction: instruction.to_string(),
            layout,
            embeds,
            program,
            io,
        });
        Ok(true)
    }

    /// Computes the action chunk for `obs`.
    pub fn predict(
        &mut self,
        obs: &Observation,
        options: &PredictOptions,
    ) -> Result<ActionChunk, PolicyError> {
        self.run(obs, options, true)?
            .ok_or_else(|| PolicyError::Input("no chunk was computed".into()))
    }

    /// Validates `obs` and `options` and builds the program for them without running it
    /// (what `bench --plan-only` reports on).
    pub fn plan(&mut self, obs: &Observation, options: &PredictOptions) -> Result<(), PolicyError> {
        self.run(obs, options, false).map(|_| ())
    }

    /// Analytic work per stage of the current program, this runtime's and the reference's.
    pub fn stage_work(&self) -> Vec<flops::StageWork> {
        match &self.prepared {
            Some(p) => {
                let sequences = if p.key.guidance.is_some() { 4 } else { 2 };
                flops::stage_work(self.config(), &p.layout, p.key.steps, sequences)
            }
            None => Vec::new(),
        }
    }

    fn run(
        &mut self,
        obs: &Observation,
        options: &PredictOptions,
        submit: bool,
    ) -> Result<Option<ActionChunk>, PolicyError> {
        let start = Instant::now();
        let c = self.config().clone();
        let images = [&obs.primary, &obs.wrist_left, &obs.wrist_right];
        for (name, img) in ["primary", "wrist_left", "wrist_right"].iter().zip(images) {
            if img.data.len() != img.width * img.height * 3 || img.width == 0 || img.height == 0 {
                return Err(PolicyError::Input(format!(
                    "{name} image is not {}x{}x3",
                    img.width, img.height
                )));
            }
        }
        let s = c.state_dim;
        if obs.proprio.len() != 2 * s || obs.proprio.iter().any(|v| !v.is_finite()) {
            return Err(PolicyError::Input(format!(
                "proprio must be {} finite values, got {}",
                2 * s,
                obs.proprio.len()
            )));
        }
        let steps = options.steps.unwrap_or(c.denoising_steps);
        if steps == 0 || steps >= 1000 {
            return Err(PolicyError::Input(format!("denoising steps must be 1..999, got {steps}")));
        }
        if !options.cfg.is_finite() {
            return Err(PolicyError::Input("cfg must be finite".into()));
        }
        let guidance = (options.cfg > 1.0).then_some(options.cfg);
        if guidance.is_some() && !c.enable_cfg {
            return Err(PolicyError::Input(
                "this model has no unconditional embedding: use cfg <= 1".into(),
            ));
        }
        let key_name = match &options.unnorm_key {
            Some(k) => k.clone(),
            None => self.file.stats().single_key().map(str::to_string).ok_or_else(|| {
                PolicyError::Input(format!(
                    "the model has several statistics keys ({}): name one",
                    self.file.stats().keys.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?,
        };
        let stats = self.file.stats().get(&key_name)?.clone();
        let (ta, adim) = (c.action_len, c.action_dim);
        let rows = if guidance.is_some() { 4 } else { 2 };
        let noise = match &options.noise {
            Noise::Explicit(n) => {
                if n.len() != rows * ta * adim {
                    return Err(PolicyError::Input(format!(
                        "noise must have shape ({rows}, {ta}, {adim}), got {} values",
                        n.len()
                    )));
                }
                n[..2 * ta * adim].to_vec()
            }
            Noise::Seed(seed) => {
                let mut rng = rand::rngs::StdRng::seed_from_u64(*seed);
                let all: Vec<f32> = (0..rows * ta * adim)
                    .map(|_| rand::Rng::sample(&mut rng, rand_distr::StandardNormal))
                    .collect();
                all[..2 * ta * adim].to_vec()
            }
        };
        let proprio64: Vec<f64> = obs.proprio.iter().map(|&v| f64::from(v)).collect();
        let normalized: Vec<f32> = stats
            .normalize_proprio(c.normalization, &proprio64)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let key = ProgramKey {
            image_sizes: [
                (obs.primary.width, obs.primary.height),
                (obs.wrist_left.width, obs.wrist_left.height),
                (obs.wrist_right.width, obs.wrist_right.height),
            ],
            steps,
            guidance,
            tokens: 0,
        };
        let rebuilt = self.prepare(key, &obs.instruction)?;
        if !submit {
            return Ok(None);
        }
        let prepared =
            self.prepared.as_ref().ok_or_else(|| PolicyError::Input("no program".into()))?;
        let io = &prepared.io;
        let ctx = &self.ctx;
        for (plan, img) in io.resize.iter().zip(images) {
            plan.upload(ctx, &img.data);
        }
        io.hidden.write(ctx, 0, &prepared.embeds);
        io.proprio.write(ctx, 0, &normalized);
        let d = c.llm.hidden_size;
        for arm in 0..2 {
            io.combine_in.write(ctx, arm * (d + s) + d, &normalized[arm * s..(arm + 1) * s]);
        }
        io.actions.write(ctx, 0, &noise);
        let host = start.elapsed();
        let gpu_start = Instant::now();
        prepared.program.submit(ctx);
        let out = io.actions.read(ctx, 0, 2 * ta * adim)?;
        let gpu = gpu_start.elapsed();
        self.last_timings = Timings { host, gpu, rebuilt };
        if out.iter().any(|v| !v.is_finite()) {
            return Err(PolicyError::Gpu(GpuError::Failed(
                "the action head produced NaN or infinite values".into(),
            )));
        }
        // The (2, T, A) result read in memory order as (T, 2A): step-major [left | right].
        let width = 2 * adim;
        let out64: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
        let actions = stats.unnormalize_actions(c.normalization, &out64, width);
        let _ = IMAGES;
        Ok(Some(ActionChunk { steps: ta, width, actions, normalized: out }))
    }

    /// Time per kernel of the current program (see [`Program::profile_kernels`]).
    pub fn profile_kernels(&self) -> Result<Vec<(String, usize, Duration)>, PolicyError> {
        let p = self
            .prepared
            .as_ref()
            .ok_or_else(|| PolicyError::Input("predict once before profiling".into()))?;
        Ok(p.program.profile_kernels(&self.ctx)?)
    }

    /// Runs the current program stage by stage (after a [`Policy::predict`]), returning each
    /// stage's wall time: the per-stage figures of the benchmark.
    pub fn time_stages(&self) -> Result<Vec<StageTime>, PolicyError> {
        let p = self
            .prepared
            .as_ref()
            .ok_or_else(|| PolicyError::Input("predict once before timing stages".into()))?;
        Ok(p.program.run_timed(&self.ctx)?)
    }
}
