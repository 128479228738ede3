//! Image preprocessing on the GPU: antialiased bicubic resize (torchvision semantics) and
//! SigLIP normalisation. CPU twin: [`crate::reference::resize`].

use bytemuck::{Pod, Zeroable};

use super::buffer::{upload_bytes, GpuTensor};
use super::context::{GpuContext, GpuError};
use super::kernel::{grid_1d, Dispatch};
use super::set::KernelSet;
use crate::reference::resize::resize_weights;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    in_h: u32,
    in_w: u32,
    out_h: u32,
    out_w: u32,
    max_taps: u32,
    out_offset: u32,
    pad: [u32; 2],
}

/// The taps of one axis on the GPU: `(start, count)` pairs and the weights.
#[derive(Debug)]
pub struct AxisTaps {
    taps: wgpu::Buffer,
    weights: wgpu::Buffer,
    max_taps: usize,
}

impl AxisTaps {
    /// Computes (on the CPU, exactly as the reference) and uploads the taps of `in_size` to
    /// `out_size`.
    pub fn new(ctx: &GpuContext, in_size: usize, out_size: usize) -> Result<Self, GpuError> {
        let (starts, lens, weights) = resize_weights(in_size, out_size);
        let max_taps = weights.len() / out_size.max(1);
        let pairs: Vec<u32> =
            starts.iter().zip(&lens).flat_map(|(&s, &l)| [s as u32, l as u32]).collect();
        let usage = wgpu::BufferUsages::STORAGE;
        Ok(Self {
            taps: upload_bytes(ctx, "resize taps", bytemuck::cast_slice(&pairs), usage)?,
            weights: upload_bytes(ctx, "resize weights", bytemuck::cast_slice(&weights), usage)?,
            max_taps,
        })
    }
}

/// Resize dispatches for one camera of a fixed input size into slot `slot` of the pixel
/// buffer `[images, 3, out, out]`.
#[derive(Debug)]
pub struct ResizePlan {
    /// Input width.
    pub in_w: usize,
    /// Input height.
    pub in_h: usize,
    /// The raw image upload buffer (packed RGB bytes).
    pub upload: wgpu::Buffer,
    /// The two passes.
    pub dispatches: [Dispatch; 2],
    _horizontal: AxisTaps,
    _vertical: AxisTaps,
    _scratch: GpuTensor,
}

impl ResizePlan {
    /// Builds the passes for a `in_w x in_h` image into `pixels` at image index `slot`.
    pub fn new(
        ctx: &GpuContext,
        k: &KernelSet,
        (in_w, in_h): (usize, usize),
        out: usize,
        pixels: &GpuTensor,
        slot: usize,
    ) -> Result<Self, GpuError> {
        if in_w == 0 || in_h == 0 {
            return Err(GpuError::Shape(format!("resize: empty {in_w}x{in_h} image")));
        }
        if (slot + 1) * 3 * out * out > pixels.len {
            return Err(GpuError::Shape(format!("resize: slot {slot} outside the pixel buffer")));
        }
        let bytes = (in_w * in_h * 3).div_ceil(4) * 4;
        ctx.check_binding("camera image", bytes as u64)?;
        let upload = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("camera image"),
            size: bytes as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let horizontal = AxisTaps::new(ctx, in_w, out)?;
        let vertical = AxisTaps::new(ctx, in_h, out)?;
        let scratch = GpuTensor::zeros(ctx, "resize scratch", 3 * in_h * out)?;
        let p = |taps: &AxisTaps| Params {
            in_h: in_h as u32,
            in_w: in_w as u32,
            out_h: out as u32,
            out_w: out as u32,
            max_taps: taps.max_taps as u32,
            out_offset: (slot * 3 * out * out) as u32,
            pad: [0; 2],
        };
        let h = k.resize_horizontal.dispatch(
            ctx,
            &p(&horizontal),
            &[&upload, &scratch.buffer, &horizontal.taps, &horizontal.weights],
            grid_1d(3 * in_h * out, 256),
        );
        let v = k.resize_vertical.dispatch(
            ctx,
            &p(&vertical),
            &[&scratch.buffer, &pixels.buffer, &vertical.taps, &vertical.weights],
            grid_1d(3 * out * out, 256),
        );
        Ok(Self {
            in_w,
            in_h,
            upload,
            dispatches: [h, v],
            _horizontal: horizontal,
            _vertical: vertical,
            _scratch: scratch,
        })
    }

    /// Queues the upload of an image's bytes (`in_h * in_w * 3`, HWC RGB).
    pub fn upload(&self, ctx: &GpuContext, rgb: &[u8]) {
        if rgb.len() % 4 == 0 {
            ctx.queue.write_buffer(&self.upload, 0, rgb);
        } else {
            let mut padded = rgb.to_vec();
            padded.resize(rgb.len().div_ceil(4) * 4, 0);
            ctx.queue.write_buffer(&self.upload, 0, &padded);
        }
    }
}
