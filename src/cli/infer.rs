//! `twinvla-edge infer` and `twinvla-edge tokenize`: one prediction from image files, and
//! the tokenizer's ids for a text (parity checks).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::image::RgbImage;
use crate::model::file::ModelFile;
use crate::model::tokenizer::Tokenizer;
use crate::policy::{LoadOptions, Noise, Observation, Policy, PredictOptions};

/// Arguments of `infer`.
#[derive(Args, Debug)]
pub struct InferArgs {
    /// Model file written by tools/quantize.
    #[arg(long)]
    pub model: PathBuf,
    /// Head camera: an image file (PNG or JPEG) or a camera source spec (`synthetic[:WxH]`,
    /// `file:recording.mjpeg`, `v4l:/dev/...`), whose first frame is used.
    #[arg(long)]
    pub primary: String,
    /// Left wrist camera: an image file or a camera source spec.
    #[arg(long = "wrist-left")]
    pub wrist_left: String,
    /// Right wrist camera: an image file or a camera source spec.
    #[arg(long = "wrist-right")]
    pub wrist_right: String,
    /// Raw proprio, comma-separated: left arm then right arm (xyz, rot6d, gripper each).
    #[arg(long, allow_hyphen_values = true)]
    pub proprio: String,
    /// Task instruction.
    #[arg(long)]
    pub instruction: String,
    /// Dataset statistics key (default: the only key).
    #[arg(long = "unnorm-key")]
    pub unnorm_key: Option<String>,
    /// Noise seed.
    #[arg(long, conflicts_with = "noise")]
    pub seed: Option<u64>,
    /// Initial noise as a float32 .npy of shape (4, T, A), or (2, T, A) without guidance.
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Classifier-free guidance scale (<= 1 disables guidance).
    #[arg(long, default_value_t = 1.5)]
    pub cfg: f32,
    /// Denoising steps (default: the model's).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Vulkan adapter (name substring, `cpu` or `gpu`).
    #[arg(long)]
    pub adapter: Option<String>,
}

/// Arguments of `tokenize`.
#[derive(Args, Debug)]
pub struct TokenizeArgs {
    /// Model file (its embedded tokenizer is used).
    #[arg(long)]
    pub model: PathBuf,
    /// Text to encode.
    #[arg(long)]
    pub text: String,
}

/// Decodes a PNG or JPEG file (told apart by their signatures) into an RGB image.
pub fn read_image(path: &Path) -> Result<RgbImage, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    if bytes.starts_with(b"\x89PNG") {
        crate::camera::png_io::decode_png(&bytes).map_err(|e| fail(&e))
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        let mut image = RgbImage { width: 0, height: 0, data: Vec::new() };
        crate::camera::decode::jpeg::decode_mjpeg_into(&bytes, &mut image, &mut Vec::new())
            .map_err(|e| fail(&e))?;
        Ok(image)
    } else {
        Err(fail(&"not a PNG or JPEG file"))
    }
}

/// An image from a file path, or the first frame of a camera source spec
/// (`synthetic[:WxH]`, `file:...`, `v4l:...`), decoded to RGB.
pub fn read_input(arg: &str) -> Result<RgbImage, String> {
    let is_spec = ["synthetic", "file:", "v4l:"].iter().any(|p| arg.starts_with(p));
    if !is_spec {
        return read_image(Path::new(arg));
    }
    let spec: crate::camera::spec::SourceSpec = arg.parse().map_err(|e| format!("{arg}: {e}"))?;
    let mut source = spec.open().map_err(|e| format!("{arg}: {e}"))?;
    let frame =
        source.next_frame(std::time::Duration::from_secs(5)).map_err(|e| format!("{arg}: {e}"))?;
    crate::camera::decode::FrameDecoder::default().decode(&frame).map_err(|e| format!("{arg}: {e}"))
}

/// Parses comma-separated floats.
pub fn parse_floats(text: &str) -> Result<Vec<f32>, String> {
    text.split(',')
        .map(|s| s.trim().parse::<f32>().map_err(|_| format!("'{s}' is not a number")))
        .collect()
}

/// Reads a little-endian float32 `.npy` file (format 1.0 to 3.0, C order).
pub fn read_npy_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::npy::parse_f32(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `infer`, printing `{"actions": [[...] x T]}`.
pub fn infer(args: &InferArgs) -> Result<(), String> {
    let obs = Observation {
        primary: read_input(&args.primary)?,
        wrist_left: read_input(&args.wrist_left)?,
        wrist_right: read_input(&args.wrist_right)?,
        proprio: parse_floats(&args.proprio).map_err(|e| format!("--proprio: {e}"))?,
        instruction: args.instruction.clone(),
    };
    let noise = match (&args.noise, args.seed) {
        (Some(path), _) => Noise::Explicit(read_npy_f32(path)?.1),
        (None, seed) => Noise::Seed(seed.unwrap_or(0)),
    };
    let mut policy = Policy::load(&args.model, &LoadOptions { adapter: args.adapter.clone() })
        .map_err(|e| e.to_string())?;
    let options = PredictOptions {
        unnorm_key: args.unnorm_key.clone(),
        cfg: args.cfg,
        steps: args.steps,
        noise,
    };
    let chunk = policy.predict(&obs, &options).map_err(|e| e.to_string())?;
    let rows: Vec<Vec<f64>> = (0..chunk.steps).map(|i| chunk.step(i).to_vec()).collect();
    println!("{}", serde_json::json!({ "actions": rows }));
    Ok(())
}

/// Runs `tokenize`, printing the ids as a JSON array.
pub fn tokenize(args: &TokenizeArgs) -> Result<(), String> {
    let file = ModelFile::open(&args.model).map_err(|e| e.to_string())?;
    let tok = Tokenizer::from_json(file.tokenizer_json()).map_err(|e| e.to_string())?;
    let ids = tok.encode(&args.text).map_err(|e| e.to_string())?;
    println!("{}", serde_json::json!(ids));
    Ok(())
}
