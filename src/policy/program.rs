//! A recorded inference: stages of dispatches and buffer copies, built once for a sequence
//! layout and replayed for every observation. Only the uploads change between runs.

use std::time::{Duration, Instant};

use crate::gpu::buffer::GpuTensor;
use crate::gpu::context::{GpuContext, GpuError};
use crate::gpu::kernel::Dispatch;

/// One step of a stage.
#[derive(Debug)]
pub enum Step {
    /// A compute dispatch.
    Dispatch(Dispatch),
    /// A buffer-to-buffer copy of f32 elements.
    Copy {
        /// Source buffer.
        src: wgpu::Buffer,
        /// First source element.
        src_offset: usize,
        /// Destination buffer.
        dst: wgpu::Buffer,
        /// First destination element.
        dst_offset: usize,
        /// Elements.
        len: usize,
    },
}

/// A named group of steps (preprocess, vision, decoder, action head).
#[derive(Debug, Default)]
pub struct Stage {
    /// Stage name.
    pub name: String,
    /// Steps in order.
    pub steps: Vec<Step>,
}

impl Stage {
    /// An empty stage.
    pub fn new(name: &str) -> Self {
        Self { name: name.into(), steps: Vec::new() }
    }

    /// Appends a dispatch.
    pub fn push(&mut self, d: Result<Dispatch, GpuError>) -> Result<(), GpuError> {
        self.steps.push(Step::Dispatch(d?));
        Ok(())
    }

    /// Appends a copy of `len` elements.
    pub fn copy(
        &mut self,
        src: &GpuTensor,
        src_offset: usize,
        dst: &GpuTensor,
        dst_offset: usize,
        len: usize,
    ) -> Result<(), GpuError> {
        if src_offset + len > src.len || dst_offset + len > dst.len {
            return Err(GpuError::Shape(format!(
                "{}: copy of {len} elements out of range",
                self.name
            )));
        }
        self.steps.push(Step::Copy {
            src: src.buffer.clone(),
            src_offset,
            dst: dst.buffer.clone(),
            dst_offset,
            len,
        });
        Ok(())
    }

    /// Dispatches in this stage.
    pub fn dispatches(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Dispatch(_))).count()
    }

    fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut i = 0;
        while i < self.steps.len() {
            match &self.steps[i] {
                Step::Copy { src, src_offset, dst, dst_offset, len } => {
                    encoder.copy_buffer_to_buffer(
                        src,
                        (*src_offset * 4) as u64,
                        dst,
                        (*dst_offset * 4) as u64,
                        (*len * 4) as u64,
                    );
                    i += 1;
                }
                Step::Dispatch(_) => {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some(&self.name),
                        timestamp_writes: None,
                    });
                    while let Some(Step::Dispatch(d)) = self.steps.get(i) {
                        d.record(&mut pass);
                        i += 1;
                    }
                }
            }
        }
    }
}

/// The whole recorded inference.
#[derive(Debug, Default)]
pub struct Program {
    /// Stages in order.
    pub stages: Vec<Stage>,
}

impl Program {
    /// Total dispatches.
    pub fn dispatches(&self) -> usize {
        self.stages.iter().map(Stage::dispatches).sum()
    }

    /// Records every stage into one command buffer and submits it (one submit per inference).
    pub fn submit(&self, ctx: &GpuContext) {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("inference") });
        for stage in &self.stages {
            stage.record(&mut encoder);
        }
        ctx.queue.submit([encoder.finish()]);
    }

    /// Runs every dispatch as its own submission and waits for it, summing wall time per
    /// kernel name: where the time goes (`bench --profile`). Copies run untimed.
    pub fn profile_kernels(
        &self,
        ctx: &GpuContext,
    ) -> Result<Vec<(String, usize, Duration)>, GpuError> {
        let mut totals: Vec<(String, usize, Duration)> = Vec::new();
        for stage in &self.stages {
            for step in &stage.steps {
                let mut encoder = ctx.device.create_command_encoder(&Default::default());
                let name = match step {
                    Step::Dispatch(d) => {
                        let mut pass = encoder.begin_compute_pass(&Default::default());
                        d.record(&mut pass);
                        Some(format!("{}/{}", stage.name, d.name))
                    }
                    Step::Copy { src, src_offset, dst, dst_offset, len } => {
                        encoder.copy_buffer_to_buffer(
                            src,
                            (*src_offset * 4) as u64,
                            dst,
                            (*dst_offset * 4) as u64,
                            (*len * 4) as u64,
                        );
                        None
                    }
                };
                let start = Instant::now();
                ctx.queue.submit([encoder.finish()]);
                ctx.wait()?;
                if let Some(name) = name {
                    let elapsed = start.elapsed();
                    match totals.iter_mut().find(|(n, _, _)| *n == name) {
                        Some(entry) => {
                            entry.1 += 1;
                            entry.2 += elapsed;
                        }
                        None => totals.push((name, 1, elapsed)),
                    }
                }
            }
        }
        totals.sort_by_key(|entry| std::cmp::Reverse(entry.2));
        Ok(totals)
    }

    /// Runs each stage as its own submission and waits for it: per-stage wall times for
    /// benchmarks (slower than [`Program::submit`], which the runtime uses).
    pub fn run_timed(&self, ctx: &GpuContext) -> Result<Vec<(String, Duration)>, GpuError> {
        let mut times = Vec::with_capacity(self.stages.len());
        for stage in &self.stages {
            let start = Instant::now();
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            stage.record(&mut encoder);
            ctx.queue.submit([encoder.finish()]);
            ctx.wait()?;
            times.push((stage.name.clone(), start.elapsed()));
        }
        Ok(times)
    }
}
