//! A recorded inference: stages of dispatches and buffer copies, built once for a sequence
//! layout and replayed for every observation. Only the uploads change between runs.

use std::time::{Duration, Instant};

use crate::gpu::buffer::{read_bytes, GpuTensor};
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

impl Step {
    /// Records a [`Step::Copy`] into `encoder` (a dispatch records nothing here: it needs a
    /// compute pass).
    fn record_copy(&self, encoder: &mut wgpu::CommandEncoder) {
        if let Step::Copy { src, src_offset, dst, dst_offset, len } = self {
            encoder.copy_buffer_to_buffer(
                src,
                (*src_offset * 4) as u64,
                dst,
                (*dst_offset * 4) as u64,
                (*len * 4) as u64,
            );
        }
    }
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

    /// Weight bytes the stage's dispatches read (a weight used twice counts twice).
    pub fn weight_bytes(&self) -> u64 {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Dispatch(d) => d.weight_bytes,
                Step::Copy { .. } => 0,
            })
            .sum()
    }

    /// Compute passes the stage records (runs of dispatches between copies).
    fn passes(&self) -> usize {
        let mut passes = 0;
        let mut in_pass = false;
        for step in &self.steps {
            let dispatch = matches!(step, Step::Dispatch(_));
            if dispatch && !in_pass {
                passes += 1;
            }
            in_pass = dispatch;
        }
        passes
    }

    /// Records the stage.
    fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        self.record_timed(encoder, None);
    }

    /// Records the stage; with `timer`, compute pass i writes a begin and an end timestamp
    /// into queries 2i and 2i + 1 of the set.
    fn record_timed(&self, encoder: &mut wgpu::CommandEncoder, timer: Option<&wgpu::QuerySet>) {
        let mut pass_index = 0u32;
        let mut i = 0;
        while i < self.steps.len() {
            match &self.steps[i] {
                copy @ Step::Copy { .. } => {
                    copy.record_copy(encoder);
                    i += 1;
                }
                Step::Dispatch(_) => {
                    let timestamp_writes =
                        timer.map(|query_set| wgpu::ComputePassTimestampWrites {
                            query_set,
                            beginning_of_pass_write_index: Some(2 * pass_index),
                            end_of_pass_write_index: Some(2 * pass_index + 1),
                        });
                    pass_index += 1;
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some(&self.name),
                        timestamp_writes,
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
                    copy @ Step::Copy { .. } => {
                        copy.record_copy(&mut encoder);
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
    /// benchmarks (slower than [`Program::submit`], which the runtime uses), and the GPU's own
    /// time from timestamp queries where the adapter has them.
    pub fn run_timed(&self, ctx: &GpuContext) -> Result<Vec<StageTime>, GpuError> {
        let mut times = Vec::with_capacity(self.stages.len());
        for stage in &self.stages {
            let passes = stage.passes();
            let timer = (ctx.timestamps && passes > 0).then(|| {
                ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("stage timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2 * passes as u32,
                })
            });
            let resolved = timer.as_ref().map(|_| {
                ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("stage timestamps"),
                    size: 16 * passes as u64,
                    usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                })
            });
            let start = Instant::now();
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            stage.record_timed(&mut encoder, timer.as_ref());
            if let (Some(set), Some(buffer)) = (&timer, &resolved) {
                encoder.resolve_query_set(set, 0..2 * passes as u32, buffer, 0);
            }
            ctx.queue.submit([encoder.finish()]);
            ctx.wait()?;
            let wall = start.elapsed();
            let gpu = match &resolved {
                Some(buffer) => {
                    let bytes = read_bytes(ctx, buffer, 0, buffer.size())?;
                    let ticks: &[u64] = bytemuck::cast_slice(&bytes);
                    let total: u64 = ticks.chunks_exact(2).map(|t| t[1].saturating_sub(t[0])).sum();
                    let ns = total as f64 * f64::from(ctx.queue.get_timestamp_period());
                    Some(Duration::from_nanos(ns as u64))
                }
                None => None,
            };
            times.push(StageTime { name: stage.name.clone(), wall, gpu });
        }
        Ok(times)
    }
}

/// One stage's measured time.
#[derive(Clone, Debug)]
pub struct StageTime {
    /// Stage name.
    pub name: String,
    /// Wall time from submit to completion.
    pub wall: Duration,
    /// Sum of the stage's compute passes as the GPU's timestamps measure them (copies between
    /// passes excluded); `None` where the adapter has no timestamp queries.
    pub gpu: Option<Duration>,
}
