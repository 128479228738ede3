//! GPU buffers: creation, upload from host slices (or straight from the model file's memory
//! map), and read-back.

use wgpu::util::DeviceExt;

use super::context::{GpuContext, GpuError};

/// Usage of every activation buffer: read and written by kernels, copied, read back.
pub const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A storage buffer holding `len` f32 values.
#[derive(Clone, Debug)]
pub struct GpuTensor {
    /// The buffer.
    pub buffer: wgpu::Buffer,
    /// Number of f32 elements.
    pub len: usize,
}

impl GpuTensor {
    /// An uninitialised (zeroed by wgpu) buffer of `len` f32 values.
    pub fn zeros(ctx: &GpuContext, label: &str, len: usize) -> Result<Self, GpuError> {
        let bytes = (len.max(1) * 4) as u64;
        ctx.check_binding(label, bytes)?;
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: STORAGE,
            mapped_at_creation: false,
        });
        Ok(Self { buffer, len })
    }

    /// A buffer initialised with `data`.
    pub fn from_slice(ctx: &GpuContext, label: &str, data: &[f32]) -> Result<Self, GpuError> {
        let buffer = upload_bytes(ctx, label, bytemuck::cast_slice(data), STORAGE)?;
        Ok(Self { buffer, len: data.len() })
    }

    /// Overwrites elements starting at `offset` with `data` (queued, ordered before the next
    /// submission).
    pub fn write(&self, ctx: &GpuContext, offset: usize, data: &[f32]) {
        ctx.queue.write_buffer(&self.buffer, (offset * 4) as u64, bytemuck::cast_slice(data));
    }

    /// Reads elements `[offset, offset + len)` back to the host (waits for the GPU).
    pub fn read(&self, ctx: &GpuContext, offset: usize, len: usize) -> Result<Vec<f32>, GpuError> {
        let bytes = read_bytes(ctx, &self.buffer, (offset * 4) as u64, (len * 4) as u64)?;
        Ok(bytemuck::cast_slice(&bytes).to_vec())
    }

    /// Reads the whole buffer back.
    pub fn read_all(&self, ctx: &GpuContext) -> Result<Vec<f32>, GpuError> {
        self.read(ctx, 0, self.len)
    }
}

/// A read-only storage buffer initialised with `bytes`, padded with zeros to a multiple of 4.
pub fn upload_bytes(
    ctx: &GpuContext,
    label: &str,
    bytes: &[u8],
    usage: wgpu::BufferUsages,
) -> Result<wgpu::Buffer, GpuError> {
    let padded = bytes.len().div_ceil(4).max(1) * 4;
    ctx.check_binding(label, padded as u64)?;
    if padded == bytes.len() {
        return Ok(ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage,
        }));
    }
    let mut owned = bytes.to_vec();
    owned.resize(padded, 0);
    Ok(ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: &owned,
        usage,
    }))
}

/// Copies `[offset, offset + len)` bytes of `buffer` to the host through a staging buffer.
pub fn read_bytes(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, GpuError> {
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: len.max(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buffer, offset, &staging, 0, len);
    ctx.queue.submit([encoder.finish()]);
    let slice = staging.slice(..len);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.wait()?;
    rx.recv()
        .map_err(|e| GpuError::Readback(e.to_string()))?
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let data = slice.get_mapped_range().map_err(|e| GpuError::Readback(e.to_string()))?.to_vec();
    staging.unmap();
    Ok(data)
}
