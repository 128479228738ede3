//! The reference implementation against the golden example computed by upstream's PyTorch
//! code in float32 (`tests/fixtures/golden-tiny`): every stored intermediate, stage by stage
//! (each stage fed the golden input) and end to end (each stage fed our own output).
//!
//! Run with `cargo test --test golden_reference -- --nocapture` to see the error table.

use std::sync::OnceLock;

use safetensors::tensor::Dtype;
use safetensors::SafeTensors;
use twinvla_edge::image::RgbImage;
use twinvla_edge::model::config::ModelConfig;
use twinvla_edge::model::file::PromptPieces;
use twinvla_edge::model::prompt::{prompt_text, SequenceLayout};
use twinvla_edge::model::stats::{DatasetStats, KeyStats};
use twinvla_edge::reference::resize::{normalize_siglip, resize_bicubic_aa};
use twinvla_edge::reference::twin_mask::TwinMask;
use twinvla_edge::reference::twinvla::{ReferenceModel, Trace};
use twinvla_edge::reference::weights::CheckpointWeights;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden-tiny");
const UNNORM_KEY: &str = "aloha_handover_box";
const CFG: f32 = 1.5;
const STEPS: usize = 10;

/// The golden tensors, decoded.
struct Golden {
    bytes: Vec<u8>,
}

impl Golden {
    fn view(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("golden.safetensors parses")
    }

    fn raw(&self, name: &str, dtype: Dtype) -> (Vec<u8>, Vec<usize>) {
        let view = self.view();
        let t = view.tensor(name).unwrap_or_else(|e| panic!("golden lacks {name}: {e}"));
        assert_eq!(t.dtype(), dtype, "{name}");
        (t.data().to_vec(), t.shape().to_vec())
    }

    fn f32(&self, name: &str) -> Vec<f32> {
        let (b, _) = self.raw(name, Dtype::F32);
        b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    fn f64(&self, name: &str) -> Vec<f64> {
        let (b, _) = self.raw(name, Dtype::F64);
        b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
    }

    fn i64(&self, name: &str) -> Vec<i64> {
        let (b, _) = self.raw(name, Dtype::I64);
        b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()
    }

    fn u8(&self, name: &str) -> Vec<u8> {
        self.raw(name, Dtype::U8).0
    }

    fn image(&self, name: &str) -> RgbImage {
        let (data, shape) = self.raw(name, Dtype::U8);
        RgbImage::new(shape[1], shape[0], data).unwrap()
    }

    fn images(&self) -> [RgbImage; 3] {
        [self.image("image_primary"), self.image("image_wrist_l"), self.image("image_wrist_r")]
    }

    /// The golden layout as [`SequenceLayout`] fields.
    fn ids_u32(&self, name: &str) -> Vec<u32> {
        self.i64(name).into_iter().map(|v| v as u32).collect()
    }

    fn ids_u8(&self, name: &str) -> Vec<u8> {
        self.i64(name).into_iter().map(|v| v as u8).collect()
    }
}

struct Fixture {
    golden: Golden,
    config: ModelConfig,
    model: ReferenceModel,
    stats: KeyStats,
    layout: SequenceLayout,
}

/// Encodes the pieces of the prompt as the Qwen2 tokenizer does, for this example only: the
/// prompt text maps to the golden sequence's prefix, the separators to their known ids.
fn golden_encoder(golden_ids: &[u32], pieces: &PromptPieces) -> impl Fn(&str) -> Vec<u32> {
    let prefix_len = golden_ids.iter().position(|&id| id == pieces.image_start).unwrap();
    let prompt: Vec<u32> = golden_ids[..prefix_len].to_vec();
    let text = prompt_text(pieces, "hand over the box to the other arm");
    move |s: &str| match s {
        "\n" => vec![198],
        "Arm State: " => vec![32913, 3234, 25, 220],
        "Action: " => vec![2512, 25, 220],
        _ if s == text => prompt.clone(),
        other => panic!("unexpected text to encode: {other:?}"),
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let golden = Golden { bytes: std::fs::read(format!("{DIR}/golden.safetensors")).unwrap() };
        let twin = std::fs::read_to_string(format!("{DIR}/checkpoint/config.json")).unwrap();
        let single =
            std::fs::read_to_string(format!("{DIR}/checkpoint/singlevla_config/config.json"))
                .unwrap();
        let config = ModelConfig::from_hf(&twin, Some(&single)).unwrap();
        let weights = CheckpointWeights::open(format!("{DIR}/checkpoint")).unwrap();
        let model = ReferenceModel::new(&weights, &config).unwrap();
        let stats_text =
            std::fs::read_to_string(format!("{DIR}/checkpoint/dataset_statistics.json")).unwrap();
        let stats = DatasetStats::from_json(&stats_text, config.state_dim, config.action_dim)
            .unwrap()
            .get(UNNORM_KEY)
            .unwrap()
            .clone();
        let pieces = PromptPieces::eagle2();
        let encode = golden_encoder(&golden.ids_u32("input_ids"), &pieces);
        let layout = SequenceLayout::build(
            &pieces,
            &encode,
            "hand over the box to the other arm",
            config.image_tokens(),
            config.num_readouts,
        );
        Fixture { golden, config, model, stats, layout }
    })
}

/// The end-to-end trace, computed once.
fn trace() -> &'static Trace {
    static TRACE: OnceLock<Trace> = OnceLock::new();
    TRACE.get_or_init(|| {
        let f = fixture();
        let images = f.golden.images();
        let noise = f.golden.f32("initial_noise");
        let chunk = f.config.action_len * f.config.action_dim;
        f.model
            .predict(
                [&images[0], &images[1], &images[2]],
                &f.golden.f32("proprio_normalized"),
                &f.layout,
                &noise[..2 * chunk],
                CFG,
                STEPS,
            )
            .unwrap()
    })
}

fn max_abs_err(ours: &[f32], golden: &[f32]) -> f32 {
    assert_eq!(ours.len(), golden.len(), "length");
    ours.iter().zip(golden).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

fn max_abs(x: &[f32]) -> f32 {
    x.iter().map(|v| v.abs()).fold(0.0, f32::max)
}

/// Asserts `max |ours - golden| <= tol` and prints the error.
fn check(stage: &str, ours: &[f32], golden: &[f32], tol: f32) {
    let err = max_abs_err(ours, golden);
    println!("{stage:<40} max|err| {err:.3e}  (max|golden| {:.3})", max_abs(golden));
    assert!(err <= tol, "{stage}: max |err| {err:e} > {tol:e}");
}

#[test]
fn layout_matches_golden() {
    let f = fixture();
    let g = &f.golden;
    let l = &f.layout;
    assert_eq!((l.n_common, l.n_left, l.n_right), (324, 269, 269));
    assert_eq!(l.input_ids, g.ids_u32("input_ids"));
    assert_eq!(l.ci_ids, g.ids_u8("ci_ids"));
    assert_eq!(l.modal_ids, g.ids_u8("modal_ids"));
    assert_eq!(l.position_ids, g.ids_u32("position_ids"));
    assert_eq!(l.readout_positions, vec![592, 861]);
    assert_eq!(l.proprio_positions, [586, 855]);
}

#[test]
fn twin_mask_matches_golden_attention_mask() {
    let f = fixture();
    let golden = f.golden.u8("attention_mask");
    let n = f.layout.len();
    assert_eq!(golden.len(), n * n);
    let mask = TwinMask::new(&f.layout.ci_ids, f.config.attn_reweighting).unwrap();
    for q in 0..n {
        for k in 0..n {
            assert_eq!(mask.allowed(q, k), golden[q * n + k] == 1, "query {q} key {k}");
        }
    }
}

#[test]
fn proprio_normalisation_matches_golden() {
    let f = fixture();
    let raw: Vec<f64> = f.golden.f32("proprio").iter().map(|&v| v as f64).collect();
    let ours: Vec<f32> = f
        .stats
        .normalize_proprio(f.config.normalization, &raw)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    check("proprio_normalized", &ours, &f.golden.f32("proprio_normalized"), 0.0);
}

#[test]
fn preprocessing_matches_golden_pixel_values() {
    let f = fixture();
    let image = f.golden.image("image_primary");
    let side = f.config.vision.image_size;
    let mut pixels = resize_bicubic_aa(&image, side, side);
    normalize_siglip(&mut pixels);
    check("pixel_values_primary", &pixels, &f.golden.f32("pixel_values_primary"), 2e-6);
}

/// The golden values of the decoder's layers that the file stores.
const GOLDEN_LAYERS: [usize; 4] = [0, 1, 11, 23];

/// Compares a decoder trace with the golden hidden states, routing and final hidden state.
fn check_decoder(label: &str, trace: &twinvla_edge::reference::decoder::DecoderTrace, tol: f32) {
    let g = &fixture().golden;
    for layer in GOLDEN_LAYERS {
        check(
            &format!("{label} hidden_layer{layer}"),
            &trace.hidden[layer],
            &g.f32(&format!("hidden_layer{layer}")),
            tol,
        );
    }
    check(&format!("{label} final_hidden"), &trace.final_hidden, &g.f32("final_hidden"), tol);
    let logits: Vec<f32> = trace.gate_logits.concat();
    check(&format!("{label} moe_gate_logits"), &logits, &g.f32("moe_gate_logits"), tol);
    let experts: Vec<i64> = trace.experts.concat().into_iter().map(i64::from).collect();
    assert_eq!(experts, g.i64("moe_expert"), "{label} moe_expert");
}

/// Compares an action-head trace with the golden conditions, DiT inputs/outputs and chunk.
fn check_action(label: &str, trace: &twinvla_edge::reference::action_head::ActionTrace, tol: f32) {
    let g = &fixture().golden;
    check(&format!("{label} z"), &trace.z, &g.f32("z"), tol);
    check(&format!("{label} dit_z"), &trace.dit_z, &g.f32("dit_z"), tol);
    assert_eq!(trace.dit_t, g.f32("dit_t"), "{label} dit_t");
    check(&format!("{label} dit_x"), &trace.dit_x.concat(), &g.f32("dit_x"), tol);
    check(&format!("{label} dit_out"), &trace.dit_out.concat(), &g.f32("dit_out"), tol);
    check(
        &format!("{label} normalized_action"),
        &trace.normalized_action,
        &g.f32("normalized_action"),
        1e-4,
    );
}

#[test]
fn each_stage_matches_golden_from_golden_inputs() {
    let f = fixture();
    let g = &f.golden;
    let m = &f.model;

    let hidden = m.vision().forward(&g.f32("pixel_values_primary")).unwrap();
    check("stage vision_hidden_primary", &hidden, &g.f32("vision_hidden_primary"), 2e-5);
    let embeds: Vec<Vec<f32>> = ["primary", "wrist_l", "wrist_r"]
        .iter()
        .map(|name| {
            let ours = m.projector().forward(&g.f32(&format!("vision_hidden_{name}"))).unwrap();
            let golden = g.f32(&format!("image_embeds_{name}"));
            check(&format!("stage image_embeds_{name}"), &ours, &golden, 2e-5);
            golden
        })
        .collect();

    let input_embeds = m
        .input_embeds(&f.layout, [&embeds[0], &embeds[1], &embeds[2]], &g.f32("proprio_normalized"))
        .unwrap();
    check("stage input_embeds", &input_embeds, &g.f32("input_embeds"), 1e-6);

    let decoder = m
        .decoder()
        .forward(&g.f32("input_embeds"), &f.layout.ci_ids, &f.layout.position_ids)
        .unwrap();
    check_decoder("stage", &decoder, 5e-4);

    let d = f.config.llm.hidden_size;
    let ours: Vec<f32> = f
        .layout
        .readout_positions
        .iter()
        .flat_map(|&p| decoder.final_hidden[p * d..(p + 1) * d].to_vec())
        .collect();
    let readouts = g.f32("action_token");
    check("stage action_token", &ours, &readouts, 5e-4);
    let chunk = f.config.action_len * f.config.action_dim;
    let noise = g.f32("initial_noise");
    let action = m
        .action_head()
        .sample(&readouts, &g.f32("decoder_states"), &noise[..2 * chunk], CFG, STEPS)
        .unwrap();
    check_action("stage", &action, 5e-5);
}

#[test]
fn end_to_end_matches_golden() {
    let f = fixture();
    let g = &f.golden;
    let t = trace();
    check(
        "e2e pixel_values_primary",
        &t.images[0].pixel_values,
        &g.f32("pixel_values_primary"),
        2e-6,
    );
    for (i, name) in ["primary", "wrist_l", "wrist_r"].iter().enumerate() {
        check(
            &format!("e2e vision_hidden_{name}"),
            &t.images[i].vision_hidden,
            &g.f32(&format!("vision_hidden_{name}")),
            2e-5,
        );
        check(
            &format!("e2e image_embeds_{name}"),
            &t.images[i].image_embeds,
            &g.f32(&format!("image_embeds_{name}")),
            2e-5,
        );
    }
    check("e2e input_embeds", &t.input_embeds, &g.f32("input_embeds"), 2e-5);
    check_decoder("e2e", &t.decoder, 5e-4);
    check("e2e action_token", &t.readouts, &g.f32("action_token"), 5e-4);
    check_action("e2e", &t.action, 5e-5);

    // Un-normalised chunk, relative to each element's statistics scale.
    let row = 2 * f.config.action_dim;
    let normalized: Vec<f64> = t.action.normalized_action.iter().map(|&v| v as f64).collect();
    let action = f.stats.unnormalize_actions(f.config.normalization, &normalized, row);
    let golden = g.f64("action_f64");
    let mut worst = 0.0f64;
    for (i, (a, b)) in action.iter().zip(&golden).enumerate() {
        worst = worst.max((a - b).abs() / f.stats.action.scale(i % row));
    }
    println!("{:<40} max|err|/scale {worst:.3e}", "e2e action (un-normalised)");
    assert!(worst <= 1e-4, "action error {worst:e} of the statistics' scale");
    let as_f32: Vec<f32> = action.iter().map(|&v| v as f32).collect();
    check("e2e action (f32)", &as_f32, &g.f32("action"), 1e-4);
}

/// Writes the checkpoint as an f32 model file (the layout the converter produces) and checks
/// that the model file serves every catalogue tensor, the fused means included, exactly as the
/// checkpoint does.
#[test]
fn model_file_serves_the_checkpoint_weights() {
    use twinvla_edge::model::file::{keys, storage, ModelFile, FORMAT_VERSION};
    use twinvla_edge::model::gguf::{GgufWriter, Value};
    use twinvla_edge::model::tensors::{model_file_tensors, Recipe};
    use twinvla_edge::reference::weights::WeightSource;

    let f = fixture();
    let checkpoint = CheckpointWeights::open(format!("{DIR}/checkpoint")).unwrap();
    let defs = model_file_tensors(&f.config);
    let pieces = PromptPieces::eagle2();
    let text = |s: &str| Value::String(s.to_string());
    let mut meta = vec![
        (keys::ARCHITECTURE.to_string(), text("twinvla")),
        (keys::FORMAT_VERSION.to_string(), Value::U32(FORMAT_VERSION)),
        (keys::CONFIG.to_string(), text(&serde_json::to_string(&f.config).unwrap())),
        (keys::RECIPE.to_string(), text("f32")),
        (
            keys::DATASET_STATISTICS.to_string(),
            text(
                &std::fs::read_to_string(format!("{DIR}/checkpoint/dataset_statistics.json"))
                    .unwrap(),
            ),
        ),
        (keys::TOKENIZER_JSON.to_string(), text("{}")),
        (keys::PROMPT_SYSTEM.to_string(), text(&pieces.system)),
        (keys::PROMPT_BASE.to_string(), text(&pieces.base)),
        (keys::PROMPT_ARM_STATE.to_string(), text(&pieces.arm_state)),
        (keys::PROMPT_ACTION.to_string(), text(&pieces.action)),
        (keys::PROMPT_NEWLINE.to_string(), text(&pieces.newline)),
        (keys::IMAGE_START.to_string(), Value::U32(pieces.image_start)),
        (keys::IMAGE_END.to_string(), Value::U32(pieces.image_end)),
    ];
    let stored: Vec<_> = defs.iter().map(|d| storage(d, Recipe::F32)).collect();
    for (def, s) in defs.iter().zip(&stored) {
        if s.padded_cols != s.cols {
            meta.push((
                format!("{}{}", keys::LOGICAL_COLS_PREFIX, def.name),
                Value::U32(s.cols as u32),
            ));
        }
    }
    let specs = stored.iter().flat_map(|s| s.streams.clone()).collect();
    let path = std::env::temp_dir().join(format!("twinvla-ref-{}.gguf", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = GgufWriter::new(std::io::BufWriter::new(file), &meta, specs).unwrap();
    let mut expected = Vec::new();
    for (def, s) in defs.iter().zip(&stored) {
        let dense = checkpoint.dense(&def.name).unwrap();
        let mut bytes = Vec::with_capacity(s.rows * s.padded_cols * 4);
        for row in dense.chunks(s.cols) {
            bytes.extend(row.iter().flat_map(|v| v.to_le_bytes()));
            bytes.extend(std::iter::repeat_n(0u8, (s.padded_cols - s.cols) * 4));
        }
        writer.write(&bytes).unwrap();
        expected.push(dense);
    }
    writer.finish().unwrap();
    let model_file = ModelFile::open(&path);
    std::fs::remove_file(&path).unwrap();
    let model_file = model_file.unwrap();
    for (def, want) in defs.iter().zip(&expected) {
        assert_eq!(&model_file.dense(&def.name).unwrap(), want, "{}", def.name);
    }
}

/// The unguided path (`cfg <= 1`), other step counts and the sampler's update rule.
#[test]
fn sampler_paths_and_step_counts() {
    let f = fixture();
    let g = &f.golden;
    let head = f.model.action_head();
    let readouts = g.f32("action_token");
    let states = g.f32("decoder_states");
    let chunk = f.config.action_len * f.config.action_dim;
    let noise = &g.f32("initial_noise")[..2 * chunk];

    // cfg <= 1: two rows, no unconditional branch. Guidance just above 1 agrees closely.
    let plain = head.sample(&readouts, &states, noise, 1.0, 10).unwrap();
    assert_eq!(plain.dit_z.len(), 2 * f.config.llm.hidden_size);
    assert!(plain.dit_x.iter().all(|x| x.len() == 2 * chunk));
    let barely = head.sample(&readouts, &states, noise, 1.0 + f32::EPSILON, 10).unwrap();
    assert!(barely.dit_x.iter().all(|x| x.len() == 4 * chunk));
    let err = max_abs_err(&plain.normalized_action, &barely.normalized_action);
    assert!(err < 1e-4, "unguided vs guidance 1+eps: {err}");

    // Three guided steps: t = 1, 2/3, 1/3 and a += f32(-1/3) * e, clamped, step by step.
    let three = head.sample(&readouts, &states, noise, CFG, 3).unwrap();
    assert_eq!(three.dit_t, vec![1.0, (2.0f64 / 3.0) as f32, (1.0f64 / 3.0) as f32]);
    let d = (-1.0f64 / 3.0) as f32;
    let mut a = noise.to_vec();
    for k in 0..3 {
        assert_eq!(three.dit_x[k], [a.clone(), a.clone()].concat(), "step {k} input");
        let (cond, uncond) = three.dit_out[k].split_at(2 * chunk);
        for ((ai, c), u) in a.iter_mut().zip(cond).zip(uncond) {
            *ai = (*ai + d * (u + CFG * (c - u))).clamp(-5.0, 5.0);
        }
    }
    assert_eq!(three.normalized_action, a);

    // Bad inputs are errors, not panics.
    assert!(head.sample(&readouts, &states, noise, CFG, 0).is_err());
    assert!(head.sample(&readouts, &states, &noise[1..], CFG, 10).is_err());
    assert!(head.sample(&readouts[1..], &states, noise, CFG, 10).is_err());
    assert!(head.sample(&readouts, &states[..10], noise, CFG, 10).is_err());
}

/// Inputs that do not fit the model are reported, naming what is wrong.
#[test]
fn mismatched_inputs_are_errors() {
    let f = fixture();
    let g = &f.golden;
    let m = &f.model;
    let embeds: Vec<Vec<f32>> = ["primary", "wrist_l", "wrist_r"]
        .iter()
        .map(|n| g.f32(&format!("image_embeds_{n}")))
        .collect();
    let embeds = [embeds[0].as_slice(), embeds[1].as_slice(), embeds[2].as_slice()];
    let proprio = g.f32("proprio_normalized");

    let err = m.input_embeds(&f.layout, embeds, &proprio[..19]).unwrap_err().to_string();
    assert!(err.contains("proprio has 19 values"), "{err}");
    let mut bad = f.layout.clone();
    bad.input_ids[3] = f.config.llm.vocab_size as u32;
    let err = m.input_embeds(&bad, embeds, &proprio).unwrap_err().to_string();
    assert!(err.contains("token id") && err.contains("position 3"), "{err}");
    let mut bad = f.layout.clone();
    bad.modal_ids[100] = 0;
    let err = m.input_embeds(&bad, embeds, &proprio).unwrap_err().to_string();
    assert!(err.contains("primary image"), "{err}");

    let x = g.f32("input_embeds");
    let mut ci = f.layout.ci_ids.clone();
    ci.swap(0, 400);
    assert!(m.decoder().forward(&x, &ci, &f.layout.position_ids).is_err());
    assert!(m.decoder().forward(&x[1..], &f.layout.ci_ids, &f.layout.position_ids).is_err());
    assert!(m.vision().forward(&[0.0; 12]).is_err());
    assert!(m.projector().forward(&[0.0; 12]).is_err());
}
