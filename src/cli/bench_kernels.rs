//! `twinvla-edge bench --kernels`: the matmul kernel on the model's real shapes, for every
//! weight format, beside a CPU f32 GEMM (the `matrixmultiply` crate, all cores) measured in the
//! same run, so that the ratio holds on a noisy machine.

use std::time::Instant;

use serde::Serialize;

use crate::gpu::buffer::{upload_bytes, GpuTensor};
use crate::gpu::context::GpuContext;
use crate::gpu::kernel::Dispatch;
use crate::gpu::matmul::{matmul, GpuWeight, MatmulOp, Rows};
use crate::gpu::set::KernelSet;
use crate::model::file::Weight;
use crate::model::quant::{self, WeightFormat};

/// One measured kernel.
#[derive(Serialize, Debug)]
pub struct KernelReport {
    /// Shape name.
    pub name: String,
    /// Weight format.
    pub format: String,
    /// Rows, inner size, output features.
    pub m: usize,
    /// Inner size.
    pub k: usize,
    /// Output features.
    pub n: usize,
    /// Median milliseconds per matmul on the GPU.
    pub ms: f64,
    /// Achieved GFLOP/s on the GPU.
    pub gflops: f64,
    /// Achieved GB/s of weight traffic on the GPU.
    pub weight_gbps: f64,
    /// CPU f32 GEMM GFLOP/s on the same shape, same run.
    pub cpu_gflops: f64,
    /// `gflops / cpu_gflops`.
    pub ratio: f64,
}

/// The model's real matmul shapes `(name, m, k, n)`.
pub const SHAPES: [(&str, usize, usize, usize); 3] = [
    ("siglip_mlp", 3072, 1152, 4304),
    ("decoder_mlp", 900, 896, 4864),
    ("dit_mlp", 84, 1024, 4096),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cpu_gemm(m: usize, k: usize, n: usize, x: &[f32], w: &[f32], y: &mut [f32]) {
    // y[m, n] = x[m, k] · w[n, k]ᵀ: w is read transposed through its strides.
    // SAFETY: the pointers cover m*k, n*k and m*n elements with the strides given.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            x.as_ptr(),
            k as isize,
            1,
            w.as_ptr(),
            1,
            k as isize,
            0.0,
            y.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Median seconds of `iters` runs of one dispatch, each submitted and awaited alone, after a
/// warm-up run.
fn time_dispatch(ctx: &GpuContext, d: &Dispatch, iters: usize) -> Result<f64, String> {
    Dispatch::run_all(ctx, &[d]).map_err(|e| e.to_string())?;
    let times: Vec<f64> = (0..iters.max(1))
        .map(|_| {
            let t = Instant::now();
            Dispatch::run_all(ctx, &[d]).map(|_| t.elapsed().as_secs_f64())
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    Ok(median(times))
}

/// Measures every shape (or those named in `only`) and format; `iters` timed runs each
/// (after one warm-up).
pub fn bench_kernels(
    ctx: &GpuContext,
    iters: usize,
    formats: &[WeightFormat],
    only: &[String],
) -> Result<Vec<KernelReport>, String> {
    let k = KernelSet::new(ctx).map_err(|e| e.to_string())?;
    let dummy = upload_bytes(ctx, "dummy", &[0; 16], wgpu::BufferUsages::STORAGE)
        .map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    for &(name, m, kk, n) in
        SHAPES.iter().filter(|s| only.is_empty() || only.iter().any(|o| o == s.0))
    {
        let x: Vec<f32> = (0..m * kk).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
        let w: Vec<f32> = (0..n * kk).map(|i| ((i * 104_729) % 997) as f32 / 997.0 - 0.5).collect();
        let mut y = vec![0f32; m * n];
        let flops = 2.0 * (m * n * kk) as f64;
        cpu_gemm(m, kk, n, &x, &w, &mut y);
        let cpu: Vec<f64> = (0..iters.max(1))
            .map(|_| {
                let t = Instant::now();
                cpu_gemm(m, kk, n, &x, &w, &mut y);
                t.elapsed().as_secs_f64()
            })
            .collect();
        let cpu_gflops = flops / median(cpu) / 1e9;
        let gx = GpuTensor::from_slice(ctx, "x", &x).map_err(|e| e.to_string())?;
        let gy = GpuTensor::zeros(ctx, "y", m * n).map_err(|e| e.to_string())?;
        for &format in formats {
            let (values, scales, mins) = quant::encode_matrix(format, &w, kk);
            let bytes =
                |v: &[half::f16]| v.iter().flat_map(|h| h.to_le_bytes()).collect::<Vec<u8>>();
            let (sb, mb) = (bytes(&scales), bytes(&mins));
            let weight = Weight {
                format,
                rows: n,
                cols: kk,
                padded_cols: quant::padded_cols(kk),
                values: &values,
                scales: &sb,
                mins: &mb,
            };
            let gw = GpuWeight::upload(ctx, name, &weight, None).map_err(|e| e.to_string())?;
            let op = MatmulOp {
                weight: &gw,
                x: &gx,
                x_stride: kk,
                y: &gy,
                y_stride: n,
                rows: Rows::Direct { count: m, x_first: 0, y_first: 0 },
                accumulate: false,
                columns: None,
                y_column: 0,
            };
            let d = matmul(ctx, &k.matmul, &op, &dummy).map_err(|e| e.to_string())?;
            let s = time_dispatch(ctx, &d, iters)?;
            let gflops = flops / s / 1e9;
            reports.push(KernelReport {
                name: name.into(),
                format: format.name().into(),
                m,
                k: kk,
                n,
                ms: s * 1e3,
                gflops,
                weight_gbps: gw.bytes() as f64 / s / 1e9,
                cpu_gflops,
                ratio: gflops / cpu_gflops,
            });
        }
    }
    Ok(reports)
}

/// The adapter's arithmetic ceiling: GFLOP/s of a kernel that does nothing but independent
/// multiply-adds (`shaders/fma_peak.wgsl`), median of `iters` runs. No matmul can beat it on
/// the same adapter, so it tells how much of a low ratio is the driver's and how much the
/// kernel's.
pub fn fma_peak(ctx: &GpuContext, iters: usize) -> Result<f64, String> {
    let kernel = crate::gpu::kernel::Kernel::new(
        ctx,
        "fma_peak",
        include_str!("../../shaders/fma_peak.wgsl"),
        "main",
    );
    let (groups, iterations) = (4096u32, 1024u32);
    let invocations = groups as usize * 64;
    let out = GpuTensor::zeros(ctx, "fma peak", invocations).map_err(|e| e.to_string())?;
    let d = kernel.dispatch(ctx, &[iterations, 0, 0, 0], &[&out.buffer], [groups, 1, 1]);
    let flops = invocations as f64 * 2.0 * 32.0 * f64::from(iterations);
    Ok(flops / time_dispatch(ctx, &d, iters)? / 1e9)
}

/// Prints the kernel table.
pub fn print(reports: &[KernelReport]) {
    println!(
        "{:<12} {:>6} {:>16} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "shape", "format", "m x k x n", "ms", "GFLOP/s", "weight GB/s", "CPU GFLOP/s", "ratio"
    );
    for r in reports {
        println!(
            "{:<12} {:>6} {:>16} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>7.3}",
            r.name,
            r.format,
            format!("{}x{}x{}", r.m, r.k, r.n),
            r.ms,
            r.gflops,
            r.weight_gbps,
            r.cpu_gflops,
            r.ratio
        );
    }
}
