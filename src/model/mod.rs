//! The model: file format, configuration, tokenizer and prompt layout.

pub mod tokenizer;
