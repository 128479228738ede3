//! The model: file format, configuration, tokenizer and prompt layout.

pub mod config;
pub mod file;
pub mod gguf;
pub mod quant;
pub mod stats;
pub mod tensors;
pub mod prompt;
pub mod tokenizer;
