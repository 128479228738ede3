//! Compute pipelines built from the WGSL files in `shaders/`, and dispatches whose bind
//! groups and parameter buffers are built once, at load time.

use wgpu::util::DeviceExt;

use super::context::GpuContext;

/// A compiled compute pipeline.
#[derive(Debug)]
pub struct Kernel {
    /// Name for labels and reports.
    pub name: String,
    pipeline: wgpu::ComputePipeline,
}

impl Kernel {
    /// Compiles `source` (already assembled from its snippets) with entry point `entry`.
    pub fn new(ctx: &GpuContext, name: &str, source: &str, entry: &str) -> Self {
        let module = ctx.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(name),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
        let pipeline = ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(name),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: ctx.pipeline_cache(),
        });
        Self { name: name.to_string(), pipeline }
    }

    /// Builds a dispatch of this kernel: `params` go to binding 0 as a uniform buffer, then
    /// `buffers` to bindings 1, 2, ... in order.
    pub fn dispatch<P: bytemuck::Pod>(
        &self,
        ctx: &GpuContext,
        params: &P,
        buffers: &[&wgpu::Buffer],
        workgroups: [u32; 3],
    ) -> Dispatch {
        let uniform = ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(&self.name),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        });
        let mut entries =
            vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: b.as_entire_binding(),
            });
        }
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&self.name),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        Dispatch {
            pipeline: self.pipeline.clone(),
            bind_group,
            workgroups,
            uniform,
            name: self.name.clone(),
            weight_bytes: 0,
        }
    }
}

/// A ready-to-record dispatch: pipeline, bind group, parameter buffer and grid size.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    /// Workgroups in x, y, z.
    pub workgroups: [u32; 3],
    /// The parameter buffer (rewritable with `queue.write_buffer` between submissions).
    pub uniform: wgpu::Buffer,
    /// Kernel name.
    pub name: String,
    /// Bytes of stored weights the dispatch reads (0 for kernels without weights).
    pub weight_bytes: u64,
}

impl Dispatch {
    /// Records the dispatch into `pass`.
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }

    /// Records the dispatches in one compute pass, submits them and waits.
    pub fn run_all(
        ctx: &GpuContext,
        dispatches: &[&Dispatch],
    ) -> Result<(), super::context::GpuError> {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            for d in dispatches {
                d.record(&mut pass);
            }
        }
        ctx.queue.submit([encoder.finish()]);
        ctx.wait()
    }
}

/// Workgroups needed to cover `n` items in groups of `size`, split over x and y so that no
/// dimension exceeds the device limit of 65535.
pub fn grid_1d(n: usize, size: usize) -> [u32; 3] {
    let groups = n.div_ceil(size).max(1);
    if groups <= 65_535 {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(65_535);
        [65_535, y as u32, 1]
    }
}
