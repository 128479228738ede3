//! Plain f32 CPU implementations of every op: the oracle the GPU kernels are tested against.
