//! The model: file format, configuration, tokenizer and prompt layout.

pub mod config;
pub mod file;
pub mod gguf;
pub mod prompt;
pub mod quant;
pub mod stats;
pub mod tensors;
