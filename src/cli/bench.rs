//! `twinvla-edge bench`: load time, time to first chunk, per-stage wall time, dispatches and
//! submits for a model file, on synthetic camera images, with an optional JSON report.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::image::RgbImage;
use crate::policy::{LoadOptions, Noise, Observation, Policy, PredictOptions};

/// Arguments of `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Model file (the end-to-end benchmark).
    #[arg(long, required_unless_present = "kernels")]
    pub model: Option<PathBuf>,
    /// Time the matmul kernel on the model's real shapes beside a CPU GEMM.
    #[arg(long)]
    pub kernels: bool,
    /// With `--kernels`: only these shapes (siglip_mlp, decoder_mlp, dit_mlp).
    #[arg(long, value_delimiter = ',')]
    pub shapes: Vec<String>,
    /// Timed iterations after the first (warm-up) prediction.
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Camera image size `WxH` of the synthetic observation.
    #[arg(long, default_value = "640x480")]
    pub image: String,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Vulkan adapter (name substring, `cpu` or `gpu`).
    #[arg(long)]
    pub adapter: Option<String>,
    /// Also time every kernel on its own and print where the time goes.
    #[arg(long)]
    pub profile: bool,
    /// Load the model and build the program, report load time, dispatches and analytic work,
    /// but run nothing (for models too large to run on the adapter at hand).
    #[arg(long = "plan-only")]
    pub plan_only: bool,
}

/// One stage's figures.
#[derive(Serialize, Debug, Clone)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Median wall time in milliseconds.
    pub ms_median: f64,
    /// 90th percentile wall time in milliseconds.
    pub ms_p90: f64,
    /// Median GPU time from timestamp queries in milliseconds; `null` where the adapter has
    /// none.
    pub gpu_ms_median: Option<f64>,
    /// Dispatches in the stage.
    pub dispatches: usize,
    /// Analytic FLOPs of the stage (0 where not counted, e.g. preprocessing).
    pub gflop: f64,
    /// Analytic FLOPs the reference implementation spends on the stage.
    pub reference_gflop: f64,
    /// Achieved GFLOP/s at the median time.
    pub gflops: f64,
    /// Weight bytes the stage reads, MB (10^6 bytes).
    pub weight_mb: f64,
    /// Achieved weight GB/s at the median time.
    pub weight_gbps: f64,
}

/// The whole report.
#[derive(Serialize, Debug)]
pub struct BenchReport {
    /// Adapter description.
    pub adapter: String,
    /// Model file.
    pub model: String,
    /// Quantization recipe.
    pub recipe: String,
    /// Load to ready (file validated, weights uploaded, pipelines built), seconds.
    pub load_s: f64,
    /// First prediction including program build, seconds.
    pub first_chunk_s: f64,
    /// Per-stage figures (each stage submitted and awaited on its own).
    pub stages: Vec<StageReport>,
    /// End-to-end prediction (one submit), median milliseconds.
    pub total_ms_median: f64,
    /// End-to-end prediction, 90th percentile milliseconds.
    pub total_ms_p90: f64,
    /// Dispatches per inference.
    pub dispatches: usize,
    /// Queue submits per inference (uploads ride on the same submission).
    pub submits: usize,
    /// Weight bytes resident on the GPU.
    pub weight_bytes: u64,
    /// Peak resident set size of this process, MiB.
    pub peak_rss_mib: f64,
}

/// A synthetic camera image with smooth gradients and texture.
pub fn test_image(width: usize, height: usize, seed: u8) -> RgbImage {
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            data.push((x * 255 / width.max(1)) as u8 ^ seed);
            data.push((y * 255 / height.max(1)) as u8);
            data.push(((x / 8 + y / 8) % 2 * 200) as u8 ^ seed.wrapping_mul(3));
        }
    }
    RgbImage { width, height, data }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Peak resident set size in MiB (Linux), NaN elsewhere.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// Everything a `bench` run measured (the JSON report).
#[derive(Serialize, Debug, Default)]
pub struct Report {
    /// Kernel figures (`--kernels`).
    pub kernels: Vec<super::bench_kernels::KernelReport>,
    /// With `--kernels`: GFLOP/s of a kernel of nothing but multiply-adds, the adapter's
    /// arithmetic ceiling.
    pub fma_peak_gflops: Option<f64>,
    /// End-to-end figures (`--model`).
    pub model: Option<BenchReport>,
    /// Per-stage figures of the model run (the same as `model.stages`).
    pub stages: Vec<StageReport>,
}

/// Runs the requested benchmarks, prints tables and writes the JSON report when asked.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let mut report = Report::default();
    if args.kernels {
        let ctx = crate::gpu::context::GpuContext::new(args.adapter.as_deref())
            .map_err(|e| e.to_string())?;
        println!("adapter {}", ctx.describe());
        let formats = [
            crate::model::quant::WeightFormat::F16,
            crate::model::quant::WeightFormat::Q8,
            crate::model::quant::WeightFormat::Q4,
        ];
        report.kernels = super::bench_kernels::bench_kernels(
            &ctx,
            args.iters.clamp(1, 5),
            &formats,
            &args.shapes,
        )?;
        super::bench_kernels::print(&report.kernels);
        let peak = super::bench_kernels::fma_peak(&ctx, args.iters.clamp(1, 5))?;
        let best_cpu = report.kernels.iter().map(|r| r.cpu_gflops).fold(0.0, f64::max);
        println!(
            "adapter ceiling (multiply-adds only): {peak:.2} GFLOP/s = {:.3} x the fastest CPU GEMM above",
            peak / best_cpu
        );
        report.fma_peak_gflops = Some(peak);
    }
    if let Some(model) = &args.model {
        let m = bench(args, model)?;
        report.stages =
            m.stages.iter().map(|s| StageReport { name: s.name.clone(), ..*s }).collect();
        report.model = Some(m);
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Runs the end-to-end benchmark of `model` and prints its table.
pub fn bench(args: &BenchArgs, model: &std::path::Path) -> Result<BenchReport, String> {
    let (w, h) = args
        .image
        .split_once('x')
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
        .filter(|&(a, b)| a > 0 && b > 0)
        .ok_or_else(|| format!("--image '{}' is not WxH", args.image))?;
    let start = Instant::now();
    let mut policy = Policy::load(model, &LoadOptions { adapter: args.adapter.clone() })
        .map_err(|e| e.to_string())?;
    let load_s = start.elapsed().as_secs_f64();
    let c = policy.config().clone();
    let obs = Observation {
        primary: test_image(w, h, 0),
        wrist_left: test_image(w, h, 85),
        wrist_right: test_image(w, h, 170),
        proprio: vec![0.1; 2 * c.state_dim],
        instruction: "hand over the box to the other arm".into(),
    };
    let key = policy.file().stats().keys.keys().next().cloned();
    let options =
        PredictOptions { unnorm_key: key, noise: Noise::Seed(0), ..PredictOptions::default() };
    let first = Instant::now();
    if args.plan_only {
        policy.plan(&obs, &options).map_err(|e| e.to_string())?;
    } else {
        policy.predict(&obs, &options).map_err(|e| e.to_string())?;
    }
    let first_chunk_s = first.elapsed().as_secs_f64();
    let iters = if args.plan_only { 0 } else { args.iters };
    let work = policy.stage_work();
    let mut totals = Vec::with_capacity(iters);
    let mut per_stage: Vec<Vec<Duration>> = Vec::new();
    let mut per_stage_gpu: Vec<Vec<Duration>> = Vec::new();
    for _ in 0..iters {
        let t = Instant::now();
        policy.predict(&obs, &options).map_err(|e| e.to_string())?;
        totals.push(t.elapsed());
        let stages = policy.time_stages().map_err(|e| e.to_string())?;
        if per_stage.is_empty() {
            per_stage = vec![Vec::new(); stages.len()];
        }
        for (slot, t) in per_stage.iter_mut().zip(&stages) {
            slot.push(t.wall);
        }
        if per_stage_gpu.is_empty() {
            per_stage_gpu = vec![Vec::new(); stages.len()];
        }
        for (slot, t) in per_stage_gpu.iter_mut().zip(&stages) {
            slot.extend(t.gpu);
        }
    }
    totals.sort();
    let program = policy.program().ok_or("no program")?;
    let stages = program
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut times = per_stage.get(i).cloned().unwrap_or_default();
            times.sort();
            let w = work.iter().find(|w| w.name == s.name);
            let gflop = w.map_or(0.0, |w| w.flops / 1e9);
            let ms = percentile(&times, 0.5);
            let mut gpu_times = per_stage_gpu.get(i).cloned().unwrap_or_default();
            gpu_times.sort();
            let weight_mb = s.weight_bytes() as f64 / 1e6;
            StageReport {
                name: s.name.clone(),
                ms_median: ms,
                ms_p90: percentile(&times, 0.9),
                gpu_ms_median: (!gpu_times.is_empty()).then(|| percentile(&gpu_times, 0.5)),
                weight_mb,
                weight_gbps: weight_mb / 1e3 / (ms / 1e3),
                dispatches: s.dispatches(),
                gflop,
                reference_gflop: w.map_or(0.0, |w| w.reference_flops / 1e9),
                gflops: gflop / (ms / 1e3),
            }
        })
        .collect();
    let report = BenchReport {
        adapter: policy.gpu().describe(),
        model: model.display().to_string(),
        recipe: policy.file().recipe().name().into(),
        load_s,
        first_chunk_s,
        stages,
        total_ms_median: percentile(&totals, 0.5),
        total_ms_p90: percentile(&totals, 0.9),
        dispatches: policy.dispatches(),
        submits: 1,
        weight_bytes: policy.weight_bytes(),
        peak_rss_mib: peak_rss_mib(),
    };
    println!("adapter {}\nmodel {} ({})", report.adapter, report.model, report.recipe);
    println!(
        "load to ready {:.2} s, first chunk {:.2} s, peak RSS {:.0} MiB",
        report.load_s, report.first_chunk_s, report.peak_rss_mib
    );
    println!(
        "{:<14} {:>10} {:>10} {:>10} {:>11} {:>10} {:>15} {:>9} {:>10} {:>8}",
        "stage",
        "median ms",
        "p90 ms",
        "GPU ms",
        "dispatches",
        "GFLOP",
        "reference GFLOP",
        "GFLOP/s",
        "weight MB",
        "GB/s"
    );
    for s in &report.stages {
        let gpu = s.gpu_ms_median.map_or("-".to_string(), |g| format!("{g:.1}"));
        println!(
            "{:<14} {:>10.1} {:>10.1} {:>10} {:>11} {:>10.2} {:>15.2} {:>9.2} {:>10.1} {:>8.2}",
            s.name,
            s.ms_median,
            s.ms_p90,
            gpu,
            s.dispatches,
            s.gflop,
            s.reference_gflop,
            s.gflops,
            s.weight_mb,
            s.weight_gbps
        );
    }
    println!(
        "{:<14} {:>10.1} {:>10.1} {:>11}  ({} submit per inference)",
        "total", report.total_ms_median, report.total_ms_p90, report.dispatches, report.submits
    );
    if args.profile {
        println!("\n{:<40} {:>6} {:>10}", "kernel (each dispatch awaited)", "count", "total ms");
        for (name, count, total) in policy.profile_kernels().map_err(|e| e.to_string())? {
            println!("{name:<40} {count:>6} {:>10.1}", total.as_secs_f64() * 1e3);
        }
    }
    Ok(report)
}
