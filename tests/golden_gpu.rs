//! The whole model on the GPU (Vulkan; lavapipe in CI) against the reference's golden data:
//! every intermediate the runtime can expose, and the final chunk, for each recipe.

mod common;

use safetensors::SafeTensors;
use twinvla_edge::image::RgbImage;
use twinvla_edge::model::tensors::Recipe;
use twinvla_edge::policy::{LoadOptions, Noise, Observation, Policy, PredictOptions};

struct Golden {
    bytes: Vec<u8>,
}

impl Golden {
    fn load() -> Self {
        let path = common::root().join("tests/fixtures/golden-tiny/golden.safetensors");
        Self { bytes: std::fs::read(path).expect("golden.safetensors") }
    }

    fn st(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("parse golden")
    }

    fn f32(&self, name: &str) -> Vec<f32> {
        let st = self.st();
        let t = st.tensor(name).expect(name);
        t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    fn f64(&self, name: &str) -> Vec<f64> {
        let st = self.st();
        let t = st.tensor(name).expect(name);
        t.data().chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
    }

    fn image(&self, name: &str) -> RgbImage {
        let st = self.st();
        let t = st.tensor(name).expect(name);
        let shape = t.shape();
        RgbImage::new(shape[1], shape[0], t.data().to_vec()).unwrap()
    }

    /// The three images' embeddings, in the runtime's order.
    fn image_embeds(&self) -> Vec<f32> {
        ["image_embeds_primary", "image_embeds_wrist_l", "image_embeds_wrist_r"]
            .iter()
            .flat_map(|n| self.f32(n))
            .collect()
    }

    fn observation(&self) -> Observation {
        Observation {
            primary: self.image("image_primary"),
            wrist_left: self.image("image_wrist_l"),
            wrist_right: self.image("image_wrist_r"),
            proprio: self.f32("proprio"),
            instruction: "hand over the box to the other arm".into(),
        }
    }
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn gpu_policy(recipe: Recipe) -> Policy {
    let path = common::golden_model(recipe);
    Policy::load(&path, &LoadOptions::default()).unwrap_or_else(|e| {
        panic!("cannot load the policy on a Vulkan adapter: {e}\nInstall lavapipe with tools/setup.sh (mesa-vulkan-drivers)")
    })
}

fn options(g: &Golden) -> PredictOptions {
    PredictOptions {
        unnorm_key: Some("aloha_handover_box".into()),
        cfg: 1.5,
        steps: Some(10),
        noise: Noise::Explicit(g.f32("initial_noise")),
    }
}

#[test]
fn f32_model_matches_every_golden_stage() {
    let g = Golden::load();
    let mut policy = gpu_policy(Recipe::F32);
    eprintln!("adapter: {}", policy.gpu().describe());
    let chunk = policy.predict(&g.observation(), &options(&g)).unwrap();
    let ctx = policy.gpu().clone();
    let io = policy.io().unwrap();
    let layout = policy.layout().unwrap();
    let ids: Vec<u32> = g.f64_free_ids("input_ids");
    assert_eq!(layout.input_ids, ids, "token ids differ from the reference's");
    let pixels = io.pixels.read(&ctx, 0, 3 * 448 * 448).unwrap();
    let e_pix = max_abs(&pixels, &g.f32("pixel_values_primary"));
    let vision = io.vision_out.read(&ctx, 0, 1024 * 32).unwrap();
    let e_vis = max_abs(&vision, &g.f32("vision_hidden_primary"));
    let embeds = io.image_embeds.read_all(&ctx).unwrap();
    let golden_embeds = g.image_embeds();
    let e_img = max_abs(&embeds, &golden_embeds);
    let hidden = io.final_hidden.read_all(&ctx).unwrap();
    let e_hidden = max_abs(&hidden, &g.f32("final_hidden"));
    let e_norm = max_abs(&chunk.normalized, &g.f32("normalized_action"));
    let golden_action = g.f64("action_f64");
    let stats = policy.file().stats().get("aloha_handover_box").unwrap().clone();
    let mut e_action = 0f64;
    for (i, (a, b)) in chunk.actions.iter().zip(&golden_action).enumerate() {
        e_action = e_action.max((a - b).abs() / stats.action.scale(i % 20));
    }
    eprintln!(
        "max |error|: pixels {e_pix:.2e}, vision {e_vis:.2e}, image embeds {e_img:.2e}, final hidden {e_hidden:.2e}, normalized actions {e_norm:.2e}, actions (relative to scale) {e_action:.2e}"
    );
    assert!(e_pix <= 1e-5, "pixels {e_pix}");
    assert!(e_vis <= 1e-4, "vision {e_vis}");
    assert!(e_img <= 1e-4, "image embeds {e_img}");
    assert!(e_hidden <= 1e-3, "final hidden {e_hidden}");
    assert!(e_norm <= 1e-4, "normalized actions {e_norm}");
    assert!(e_action <= 1e-4, "actions {e_action}");
}

trait Ids {
    fn f64_free_ids(&self, name: &str) -> Vec<u32>;
}

impl Ids for Golden {
    fn f64_free_ids(&self, name: &str) -> Vec<u32> {
        let st = self.st();
        let t = st.tensor(name).expect(name);
        t.data().chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as u32).collect()
    }
}

/// Max |error| of the normalised chunk, relative RMS error of the normalised chunk, and max
/// |error| of the final chunk relative to the statistics' scale, for `recipe`.
fn recipe_errors(recipe: Recipe) -> (f32, f64, f64) {
    let g = Golden::load();
    let mut policy = gpu_policy(recipe);
    let chunk = policy.predict(&g.observation(), &options(&g)).unwrap();
    // How the error grows through the stages (relative RMS against the reference).
    let ctx = policy.gpu().clone();
    let io = policy.io().unwrap();
    let rel = |got: &[f32], want: &[f32]| twinvla_edge::model::quant::relative_rmse(want, got);
    let vision = io.vision_out.read(&ctx, 0, 1024 * 32).unwrap();
    let embeds = io.image_embeds.read_all(&ctx).unwrap();
    let golden_embeds = g.image_embeds();
    let hidden = io.final_hidden.read_all(&ctx).unwrap();
    eprintln!(
        "{recipe:?} relative RMS by stage: vision {:.2e}, image embeds {:.2e}, final hidden {:.2e}, normalized chunk {:.2e}",
        rel(&vision, &g.f32("vision_hidden_primary")),
        rel(&embeds, &golden_embeds),
        rel(&hidden, &g.f32("final_hidden")),
        rel(&chunk.normalized, &g.f32("normalized_action")),
    );
    let want = g.f32("normalized_action");
    let max = max_abs(&chunk.normalized, &want);
    let rel = twinvla_edge::model::quant::relative_rmse(&want, &chunk.normalized);
    let stats = policy.file().stats().get("aloha_handover_box").unwrap().clone();
    let golden_action = g.f64("action_f64");
    let scaled = chunk
        .actions
        .iter()
        .zip(&golden_action)
        .enumerate()
        .map(|(i, (a, b))| (a - b).abs() / stats.action.scale(i % 20))
        .fold(0.0, f64::max);
    eprintln!("{recipe:?}: normalized max |err| {max:.2e}, relative RMS {rel:.2e}; final chunk max |err| / scale {scaled:.2e}");
    (max, rel, scaled)
}

#[test]
fn f16_model_is_within_1e_2() {
    let (max, _, scaled) = recipe_errors(Recipe::F16);
    assert!(max <= 1e-2 && scaled <= 1e-2, "f16: {max} / {scaled}");
}

#[test]
fn quantized_models_stay_close_to_the_reference() {
    // Targets: q8 within 1e-2 relative RMS of the normalised chunk, q4 within 5e-2.
    let (_, q8, _) = recipe_errors(Recipe::Q8);
    assert!(q8 <= 1e-2, "q8 relative RMS {q8}");
    let (_, q4, _) = recipe_errors(Recipe::Q4);
    assert!(q4 <= 5e-2, "q4 relative RMS {q4}");
}

#[test]
fn seeds_are_reproducible_and_options_are_checked() {
    let g = Golden::load();
    let mut policy = gpu_policy(Recipe::Q8);
    let obs = g.observation();
    let seeded = PredictOptions { noise: Noise::Seed(7), ..options(&g) };
    let a = policy.predict(&obs, &seeded).unwrap();
    let b = policy.predict(&obs, &seeded).unwrap();
    assert_eq!(a, b, "same seed, same adapter: identical chunks");
    let c = policy.predict(&obs, &PredictOptions { noise: Noise::Seed(8), ..options(&g) }).unwrap();
    assert_ne!(a.normalized, c.normalized);
    // No guidance: two noise rows, any step count.
    let plain = PredictOptions {
        cfg: 1.0,
        steps: Some(3),
        noise: Noise::Explicit(g.f32("initial_noise")[..400].to_vec()),
        ..options(&g)
    };
    let d = policy.predict(&obs, &plain).unwrap();
    assert_eq!(d.actions.len(), 400);
    let bad = PredictOptions { noise: Noise::Explicit(vec![0.0; 3]), ..options(&g) };
    assert!(policy.predict(&obs, &bad).unwrap_err().to_string().contains("noise must have shape"));
    let mut short = obs.clone();
    short.proprio.pop();
    assert!(policy.predict(&short, &options(&g)).is_err());
    let unknown = PredictOptions { unnorm_key: Some("nope".into()), ..options(&g) };
    assert!(policy.predict(&obs, &unknown).unwrap_err().to_string().contains("aloha_handover_box"));
}
