//! Plain f32 CPU implementations of every op and of the whole TwinVLA forward pass: the
//! oracle the GPU kernels are tested against.
//!
//! Clarity over speed: each op is a loop nest over contiguous row-major slices, one op per
//! file, computed in f32 in the order PyTorch computes it where that matters (softmax with
//! max subtraction, RoPE and timestep frequencies, the antialiased resize's weights).
//!
//! Ops: [`linear`], [`norm`], [`activation`], [`swiglu`], [`rope`], [`attention`],
//! [`twin_mask`], [`moe`], [`resize`], [`patch_embed`], [`pixel_shuffle`], [`timestep`].
//! Model parts: [`vision`], [`projector`], [`decoder`], [`dit`], [`action_head`], tied together
//! by [`twinvla::ReferenceModel`]. Weights come from a [`weights::WeightSource`].

pub mod action_head;
pub mod activation;
pub mod attention;
pub mod decoder;
pub mod dit;
pub mod error;
pub mod layers;
pub mod linear;
pub mod moe;
pub mod norm;
pub mod patch_embed;
pub mod pixel_shuffle;
pub mod projector;
pub mod resize;
pub mod rope;
pub mod swiglu;
pub mod timestep;
pub mod twin_mask;
pub mod twinvla;
pub mod vision;
pub mod weights;

pub use error::ReferenceError;
