//! `quantize`: converts a TwinVLA Hugging Face checkpoint into the runtime's model file,
//! inspects model files, and writes synthetic checkpoints.
//!
//! ```text
//! quantize convert CHECKPOINT_DIR --tokenizer tokenizer.json --recipe q8 -o model.gguf
//! quantize inspect model.gguf
//! quantize synth --preset tiny|full --seed N -o DIR
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use twinvla_edge::convert::{self, synth, ConvertOptions};
use twinvla_edge::model::file::ModelFile;
use twinvla_edge::model::gguf::Value;
use twinvla_edge::model::tensors::Recipe;

/// Offline converter for TwinVLA checkpoints.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert a checkpoint directory into a model file.
    Convert {
        /// Checkpoint directory (config.json, singlevla_config/, model*.safetensors, dataset_statistics.json).
        checkpoint: PathBuf,
        /// The backbone's tokenizer.json.
        #[arg(long)]
        tokenizer: PathBuf,
        /// Quantization recipe: f32, f16, q8 or q4.
        #[arg(long, default_value = "q8")]
        recipe: String,
        /// Output model file.
        #[arg(short, long)]
        output: PathBuf,
        /// Print every tensor's row (default: a summary per format and the 10 worst errors).
        #[arg(long)]
        all: bool,
    },
    /// Validate a model file and print its metadata and tensors.
    Inspect {
        /// Model file.
        model: PathBuf,
        /// List every tensor.
        #[arg(long)]
        tensors: bool,
    },
    /// Write a random checkpoint in the upstream layout.
    Synth {
        /// `tiny` (the golden fixture's sizes) or `full` (Eagle2-1B sizes, DiT-L).
        #[arg(long, default_value = "tiny")]
        preset: String,
        /// Random seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output directory.
        #[arg(short, long)]
        output: PathBuf,
    },
}

/// Peak resident set size of this process in MiB (from /proc/self/status).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Convert { checkpoint, tokenizer, recipe, output, all } => {
            let recipe = Recipe::parse(&recipe)
                .ok_or_else(|| format!("unknown recipe '{recipe}' (use f32, f16, q8 or q4)"))?;
            let options = ConvertOptions { checkpoint, tokenizer, recipe, output: output.clone() };
            let mut progress = |i: usize, n: usize, name: &str| {
                eprint!("\r\x1b[2K[{i:>4}/{n}] {name}");
                let _ = std::io::stderr().flush();
            };
            let report = convert::convert(&options, &mut progress).map_err(|e| e.to_string())?;
            eprintln!();
            let mut rows = report.tensors.clone();
            println!(
                "{:<72} {:>6} {:>18} {:>10} {:>10}",
                "tensor", "format", "shape", "KiB", "rel RMSE"
            );
            if !all {
                rows.sort_by(|a, b| b.rel_rmse.total_cmp(&a.rel_rmse));
                rows.truncate(10);
                println!("(the 10 largest errors; --all lists every tensor)");
            }
            for t in &rows {
                println!(
                    "{:<72} {:>6} {:>18} {:>10.1} {:>10.2e}",
                    t.name,
                    t.format.name(),
                    format!("{:?}", t.shape),
                    t.bytes as f64 / 1024.0,
                    t.rel_rmse
                );
            }
            println!("\nper format:");
            for format in ["f32", "f16", "q8", "q4"] {
                let of: Vec<_> =
                    report.tensors.iter().filter(|t| t.format.name() == format).collect();
                if of.is_empty() {
                    continue;
                }
                let bytes: u64 = of.iter().map(|t| t.bytes).sum();
                let worst = of.iter().map(|t| t.rel_rmse).fold(0.0, f64::max);
                let mean = of.iter().map(|t| t.rel_rmse).sum::<f64>() / of.len() as f64;
                println!(
                    "  {format:<4} {:>5} tensors {:>10.1} MiB  rel RMSE mean {mean:.2e} max {worst:.2e}",
                    of.len(),
                    mib(bytes)
                );
            }
            println!(
                "total: {} tensors, file {:.1} MiB, source sha256 {}, {:.1} s, peak RSS {:.0} MiB",
                report.tensors.len(),
                mib(report.file_bytes),
                report.source_sha256,
                report.seconds,
                peak_rss_mib().unwrap_or(f64::NAN)
            );
            println!("wrote {}", output.display());
            Ok(())
        }
        Command::Inspect { model, tensors } => {
            let start = std::time::Instant::now();
            let file = ModelFile::open(&model).map_err(|e| e.to_string())?;
            let h = file.header();
            println!(
                "{}: valid (opened and verified in {:.2} s)",
                model.display(),
                start.elapsed().as_secs_f64()
            );
            println!(
                "  file size   {:.1} MiB, {} tensors, data at offset {}, alignment {}",
                mib(file.len() as u64),
                h.tensors.len(),
                h.data_offset,
                h.alignment
            );
            for (key, value) in &h.metadata {
                let shown = match value {
                    Value::String(s) if s.len() > 96 => format!("<{} bytes of text>", s.len()),
                    Value::String(s) => format!("{s:?}"),
                    Value::ArrayU32(v) => format!("[{} x u32]", v.len()),
                    Value::ArrayString(v) => format!("[{} strings]", v.len()),
                    other => format!("{other:?}"),
                };
                if key.starts_with("twinvla.logical_cols.") && !tensors {
                    continue;
                }
                println!("  {key:<40} {shown}");
            }
            let c = file.config();
            println!(
                "  model: vision {}x{} ({} layers), llm {} x2 ({} layers, {}q/{}kv heads), {} ({} blocks), recipe {}",
                c.vision.hidden_size, c.vision.intermediate_size, c.vision.num_layers, c.llm.hidden_size,
                c.llm.num_layers, c.llm.num_heads, c.llm.num_kv_heads, c.dit.size_name, c.dit.depth, file.recipe().name()
            );
            println!(
                "  statistics keys: {}",
                file.stats().keys.keys().cloned().collect::<Vec<_>>().join(", ")
            );
            if tensors {
                for t in &h.tensors {
                    println!("  {:<80} {:?} {:?} @{}", t.name, t.ggml_type, t.dims, t.offset);
                }
            }
            Ok(())
        }
        Command::Synth { preset, seed, output } => {
            let p = synth::Preset::parse(&preset)
                .ok_or_else(|| format!("unknown preset '{preset}' (use tiny or full)"))?;
            let start = std::time::Instant::now();
            let config = synth::synthesize(p, seed, &output).map_err(|e| e.to_string())?;
            let params: usize = twinvla_edge::model::tensors::checkpoint_tensors(&config)
                .iter()
                .map(|d| d.elements())
                .sum();
            println!(
                "wrote {} ({} preset, seed {seed}): {:.3} B parameters in {:.1} s, peak RSS {:.0} MiB",
                output.display(),
                preset,
                params as f64 / 1e9,
                start.elapsed().as_secs_f64(),
                peak_rss_mib().unwrap_or(f64::NAN)
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
