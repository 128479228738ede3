//! The GPU side: wgpu context, buffers, and one Rust wrapper per WGSL kernel family. Each
//! wrapper checks shapes and builds a dispatch; each is tested against its twin in
//! [`crate::reference`].

pub mod attention;
pub mod buffer;
pub mod context;
pub mod elementwise;
pub mod flow;
pub mod kernel;
pub mod matmul;
pub mod moe;
pub mod norm;
pub mod resize;
pub mod rope;
pub mod set;
