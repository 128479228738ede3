//! The error type of the reference implementation: every failure names the tensor, file or
//! input at fault.

use std::path::PathBuf;

use crate::model::file::ModelFileError;

/// Why the reference model could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The checkpoint file could not be read.
    #[error("cannot read checkpoint {path}: {source}")]
    CheckpointIo {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The checkpoint file is not a readable safetensors file.
    #[error("checkpoint {path} is not a valid safetensors file: {reason}")]
    CheckpointFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tensor is absent from the weight source.
    #[error("weight '{name}' is missing from {source_name}")]
    MissingWeight {
        /// Tensor name.
        name: String,
        /// The file or source that lacks it.
        source_name: String,
    },
    /// A tensor is stored in a type the reference cannot widen to f32.
    #[error("weight '{name}' has unsupported dtype {dtype}")]
    UnsupportedDtype {
        /// Tensor name.
        name: String,
        /// The stored dtype.
        dtype: String,
    },
    /// A tensor has a different element count than the configuration implies.
    #[error("weight '{name}' has {found} elements, the configuration implies {expected}")]
    WeightShape {
        /// Tensor name.
        name: String,
        /// Elements the configuration implies.
        expected: usize,
        /// Elements found.
        found: usize,
    },
    /// The model file refused a tensor request.
    #[error(transparent)]
    ModelFile(#[from] ModelFileError),
    /// An input (image, proprio, noise, layout, step count) does not fit the model.
    #[error("invalid input: {0}")]
    Input(String),
}
