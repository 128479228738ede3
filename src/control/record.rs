//! One flight-recorder record on disk: everything one inference saw and produced, enough to
//! run it again bit for bit.
//!
//! A record is a directory:
//!
//! | file | contents |
//! |---|---|
//! | `record.json` | cycle, model identity, instruction, predict options (statistics key, guidance, steps, noise seed), timings, image sizes |
//! | `primary.rgb`, `wrist_left.rgb`, `wrist_right.rgb` | the camera images, 8-bit RGB, rows top to bottom (or `.png`, lossless, as `image_format` says) |
//! | `proprio.npy` | the raw proprio (float32, 20 values: left then right arm) |
//! | `actions.npy` | the chunk (float64, steps × 20) |
//! | `normalized.npy` | the model's normalised output (float32, steps × 20) |
//!
//! Arrays are NumPy `.npy` files so that a record can be inspected with NumPy as it is.
//! A record is written into `NAME.tmp` and renamed to `NAME` when complete.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cameras::CAMERA_NAMES;
use super::config::ImageFormat;
use crate::camera::png_io;
use crate::image::RgbImage;
use crate::npy;
use crate::policy::{ActionChunk, Noise, Observation, PredictOptions};

/// Version of the record layout, stored in `record.json`.
pub const RECORD_FORMAT: u32 = 1;

/// Why a record could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file's contents are not what a record holds.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Which model produced a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelIdentity {
    /// The model file's path when recorded.
    pub path: PathBuf,
    /// SHA-256 of the checkpoint it was converted from (from the file's metadata).
    pub source_sha256: Option<String>,
    /// Quantization recipe.
    pub recipe: String,
    /// The GPU adapter it ran on.
    pub adapter: String,
}

/// The scalar part of a record (`record.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordMeta {
    /// [`RECORD_FORMAT`].
    pub format: u32,
    /// The inference cycle (1 for the first of a run).
    pub cycle: u64,
    /// The model.
    pub model: ModelIdentity,
    /// The instruction.
    pub instruction: String,
    /// Statistics key.
    pub unnorm_key: Option<String>,
    /// Guidance scale.
    pub cfg: f32,
    /// Denoising steps (`None`: the model's default).
    pub denoising_steps: Option<usize>,
    /// Noise seed.
    pub seed: u64,
    /// `(width, height)` of each camera image, in the order of [`CAMERA_NAMES`].
    pub image_sizes: [(usize, usize); 3],
    /// How the images are stored.
    pub image_format: ImageFormat,
    /// Action steps and values per step of the chunk.
    pub chunk_shape: (usize, usize),
    /// Prediction wall time (milliseconds).
    pub inference_ms: f64,
    /// Age of the oldest camera frame at observation (milliseconds).
    pub frame_age_ms: f64,
}

/// A whole record.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Scalars.
    pub meta: RecordMeta,
    /// The observation the policy got.
    pub observation: Observation,
    /// The chunk it returned.
    pub chunk: ActionChunk,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordError + '_ {
    move |source| RecordError::Io { path: path.to_owned(), source }
}

fn invalid(path: &Path, reason: impl Into<String>) -> RecordError {
    RecordError::Invalid { path: path.to_owned(), reason: reason.into() }
}

impl Record {
    /// The predict options the record was made with.
    pub fn options(&self) -> PredictOptions {
        PredictOptions {
            unnorm_key: self.meta.unnorm_key.clone(),
            cfg: self.meta.cfg,
            steps: self.meta.denoising_steps,
            noise: Noise::Seed(self.meta.seed),
        }
    }

    /// Writes the record as `dir/name` (through `dir/name.tmp`); returns the bytes written.
    pub fn write(&self, dir: &Path, name: &str) -> Result<u64, RecordError> {
        let tmp = dir.join(format!("{name}.tmp"));
        let done = dir.join(name);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        let mut bytes = 0u64;
        let put = |file: &str, data: &[u8], bytes: &mut u64| -> Result<(), RecordError> {
            let path = tmp.join(file);
            std::fs::write(&path, data).map_err(io(&path))?;
            *bytes += data.len() as u64;
            Ok(())
        };
        let meta = serde_json::to_vec_pretty(&self.meta)
            .map_err(|e| invalid(&tmp.join("record.json"), e.to_string()))?;
        put("record.json", &meta, &mut bytes)?;
        let o = &self.observation;
        let extension = self.meta.image_format.extension();
        for (name, image) in CAMERA_NAMES.iter().zip([&o.primary, &o.wrist_left, &o.wrist_right]) {
            let file = format!("{name}.{extension}");
            match self.meta.image_format {
                ImageFormat::Raw => put(&file, &image.data, &mut bytes)?,
                ImageFormat::Png => {
                    let path = tmp.join(&file);
                    png_io::write_png(&path, image).map_err(|e| invalid(&path, e.to_string()))?;
                    bytes += std::fs::metadata(&path).map_err(io(&path))?.len();
                }
            }
        }
        put("proprio.npy", &npy::write_f32(&[o.proprio.len()], &o.proprio), &mut bytes)?;
        let shape = [self.chunk.steps, self.chunk.width];
        put("actions.npy", &npy::write_f64(&shape, &self.chunk.actions), &mut bytes)?;
        put("normalized.npy", &npy::write_f32(&shape, &self.chunk.normalized), &mut bytes)?;
        std::fs::rename(&tmp, &done).map_err(io(&done))?;
        Ok(bytes)
    }

    /// Reads the record in `dir`.
    pub fn read(dir: &Path) -> Result<Self, RecordError> {
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read(&path).map_err(io(&path)).map(|b| (path, b))
        };
        let (path, text) = read("record.json")?;
        let meta: RecordMeta =
            serde_json::from_slice(&text).map_err(|e| invalid(&path, e.to_string()))?;
        if meta.format != RECORD_FORMAT {
            return Err(invalid(
                &path,
                format!("record format {} (expected {RECORD_FORMAT})", meta.format),
            ));
        }
        let mut images = Vec::with_capacity(3);
        let extension = meta.image_format.extension();
        for (name, &(width, height)) in CAMERA_NAMES.iter().zip(&meta.image_sizes) {
            let (path, data) = read(&format!("{name}.{extension}"))?;
            let image = match meta.image_format {
                ImageFormat::Raw => {
                    RgbImage::new(width, height, data).map_err(|e| invalid(&path, e.to_string()))?
                }
                ImageFormat::Png => png_io::decode_png(&data).map_err(|e| invalid(&path, e))?,
            };
            if (image.width, image.height) != (width, height) {
                let found = format!("{}x{}", image.width, image.height);
                return Err(invalid(&path, format!("{found}, record.json says {width}x{height}")));
            }
            images.push(image);
        }
        let [primary, wrist_left, wrist_right]: [RgbImage; 3] =
            images.try_into().map_err(|_| invalid(dir, "three images expected"))?;
        let (path, bytes) = read("proprio.npy")?;
        let (_, proprio) = npy::parse_f32(&bytes).map_err(|e| invalid(&path, e.to_string()))?;
        let (steps, width) = meta.chunk_shape;
        let (path, bytes) = read("actions.npy")?;
        let (shape, actions) = npy::parse_f64(&bytes).map_err(|e| invalid(&path, e.to_string()))?;
        if shape != [steps, width] {
            return Err(invalid(
                &path,
                format!("shape {shape:?}, record.json says ({steps}, {width})"),
            ));
        }
        let (path, bytes) = read("normalized.npy")?;
        let (shape, normalized) =
            npy::parse_f32(&bytes).map_err(|e| invalid(&path, e.to_string()))?;
        if shape != [steps, width] {
            return Err(invalid(
                &path,
                format!("shape {shape:?}, record.json says ({steps}, {width})"),
            ));
        }
        let observation = Observation {
            primary,
            wrist_left,
            wrist_right,
            proprio,
            instruction: meta.instruction.clone(),
        };
        Ok(Self { meta, observation, chunk: ActionChunk { steps, width, actions, normalized } })
    }
}

/// The records under `path`, oldest first: `path` itself if it is a record, else its
/// complete record directories (incomplete `.tmp` ones are skipped).
pub fn list_records(path: &Path) -> Result<Vec<PathBuf>, RecordError> {
    if path.join("record.json").is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io(path))? {
        let entry = entry.map_err(io(path))?;
        let p = entry.path();
        let is_tmp = p.extension().is_some_and(|e| e == "tmp");
        if !is_tmp && p.join("record.json").is_file() {
            dirs.push(p);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// Bytes used by the files directly inside `dir`.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_record(cycle: u64) -> Record {
        let image =
            |w: usize, h: usize, v: u8| RgbImage::new(w, h, vec![v; w * h * 3]).expect("image");
        Record {
            meta: RecordMeta {
                format: RECORD_FORMAT,
                cycle,
                model: ModelIdentity {
                    path: "/models/tiny.gguf".into(),
                    source_sha256: Some("abc".into()),
                    recipe: "q8".into(),
                    adapter: "llvmpipe".into(),
                },
                instruction: "fold".into(),
                unnorm_key: None,
                cfg: 1.5,
                denoising_steps: Some(3),
                seed: 42,
                image_sizes: [(4, 2), (2, 2), (3, 1)],
                image_format: ImageFormat::Raw,
                chunk_shape: (2, 20),
                inference_ms: 12.5,
                frame_age_ms: 3.0,
            },
            observation: Observation {
                primary: image(4, 2, 1),
                wrist_left: image(2, 2, 2),
                wrist_right: image(3, 1, 3),
                proprio: (0..20).map(|i| i as f32 * 0.1).collect(),
                instruction: "fold".into(),
            },
            chunk: ActionChunk {
                steps: 2,
                width: 20,
                actions: (0..40).map(|i| f64::from(i) / 7.0).collect(),
                normalized: (0..40).map(|i| i as f32 / 9.0).collect(),
            },
        }
    }

    #[test]
    fn round_trips_exactly_and_lists_only_complete_records() {
        let dir = std::env::temp_dir().join(format!("record-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let record = sample_record(7);
        let bytes = record.write(&dir, "run-00000007").expect("write");
        assert_eq!(bytes, dir_bytes(&dir.join("run-00000007")));
        let back = Record::read(&dir.join("run-00000007")).expect("read");
        assert_eq!(back, record);
        assert!(matches!(back.options().noise, Noise::Seed(42)));
        std::fs::create_dir_all(dir.join("run-00000008.tmp")).expect("partial");
        std::fs::write(dir.join("run-00000008.tmp/record.json"), "{}").expect("partial");
        assert_eq!(list_records(&dir).expect("list"), vec![dir.join("run-00000007")]);
        assert_eq!(list_records(&dir.join("run-00000007")).expect("one").len(), 1);
        let mut png = sample_record(8);
        png.meta.image_format = ImageFormat::Png;
        png.observation.primary.data[5] = 200;
        png.write(&dir, "png").expect("write png");
        assert!(dir.join("png/primary.png").is_file());
        assert_eq!(Record::read(&dir.join("png")).expect("read png"), png);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn damaged_records_are_errors_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("record-damage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        sample_record(1).write(&dir, "r").expect("write");
        std::fs::write(dir.join("r/wrist_left.rgb"), [0u8; 5]).expect("truncate");
        let err = Record::read(&dir.join("r")).expect_err("damaged");
        assert!(err.to_string().contains("wrist_left.rgb"), "{err}");
        std::fs::write(dir.join("r/record.json"), "{\"format\": 1}").expect("damage");
        let err = Record::read(&dir.join("r")).expect_err("damaged");
        assert!(err.to_string().contains("record.json"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
