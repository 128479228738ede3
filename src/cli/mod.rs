//! The subcommands of the `twinvla-edge` binary, one file each.

pub mod bench;
pub mod bench_kernels;
pub mod bridge_bench;
pub mod command;
pub mod demo;
pub mod infer;
pub mod replay;
pub mod run;
pub mod status;
