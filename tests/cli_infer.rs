//! The `infer` and `tokenize` commands end to end: golden images written as PNG files, the
//! golden noise as `.npy`, the chunk read back from the printed JSON.

mod common;

use std::process::Command;

use safetensors::SafeTensors;
use twinvla_edge::image::RgbImage;
use twinvla_edge::model::tensors::Recipe;

fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_twinvla-edge")
}

#[test]
fn infer_prints_the_golden_chunk() {
    let bytes = std::fs::read(common::root().join("tests/fixtures/golden-tiny/golden.safetensors"))
        .unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let dir = common::scratch().join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let mut paths = Vec::new();
    for name in ["image_primary", "image_wrist_l", "image_wrist_r"] {
        let t = st.tensor(name).unwrap();
        let img = RgbImage::new(t.shape()[1], t.shape()[0], t.data().to_vec()).unwrap();
        let path = dir.join(format!("{name}.png"));
        twinvla_edge::camera::png_io::write_png(&path, &img).unwrap();
        paths.push(path);
    }
    let f32s = |name: &str| -> Vec<f32> {
        st.tensor(name)
            .unwrap()
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let noise = dir.join("noise.npy");
    std::fs::write(&noise, twinvla_edge::npy::write_f32(&[4, 20, 10], &f32s("initial_noise")))
        .unwrap();
    let proprio: Vec<String> = f32s("proprio").iter().map(|v| format!("{v:?}")).collect();
    let model = common::golden_model(Recipe::F32);
    let out = Command::new(exe())
        .arg("infer")
        .arg("--model")
        .arg(&model)
        .arg("--primary")
        .arg(&paths[0])
        .arg("--wrist-left")
        .arg(&paths[1])
        .arg("--wrist-right")
        .arg(&paths[2])
        .arg("--proprio")
        .arg(proprio.join(","))
        .args([
            "--instruction",
            "hand over the box to the other arm",
            "--unnorm-key",
            "aloha_handover_box",
            "--cfg",
            "1.5",
            "--steps",
            "10",
        ])
        .arg("--noise")
        .arg(&noise)
        .output()
        .unwrap();
    assert!(out.status.success(), "infer failed: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let rows = json["actions"].as_array().expect("actions");
    assert_eq!(rows.len(), 20);
    let golden: Vec<f64> = st
        .tensor("action_f64")
        .unwrap()
        .data()
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut worst = 0f64;
    for (i, row) in rows.iter().enumerate() {
        let row = row.as_array().unwrap();
        assert_eq!(row.len(), 20);
        for (j, v) in row.iter().enumerate() {
            worst = worst.max((v.as_f64().unwrap() - golden[i * 20 + j]).abs());
        }
    }
    assert!(worst < 1e-4, "max |error| {worst}");
    // A bad input is a clear error, not a panic.
    let bad = Command::new(exe())
        .args(["infer", "--model"])
        .arg(&model)
        .args([
            "--primary",
            "/nonexistent.png",
            "--wrist-left",
            "x",
            "--wrist-right",
            "y",
            "--proprio",
            "1,2",
            "--instruction",
            "t",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent.png"));
}

#[test]
fn tokenize_matches_the_parity_corpus() {
    let model = common::golden_model(Recipe::Q8);
    let corpus =
        std::fs::read_to_string(common::root().join("assets/tokenizer/qwen2/parity.jsonl"))
            .unwrap();
    for line in corpus.lines().step_by(40) {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let out = Command::new(exe())
            .args(["tokenize", "--model"])
            .arg(&model)
            .arg("--text")
            .arg(case["text"].as_str().unwrap())
            .output()
            .unwrap();
        assert!(out.status.success());
        let ids: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(ids, case["ids"], "{}", case["text"]);
    }
}

#[test]
fn infer_takes_frames_from_camera_sources() {
    // A synthetic camera and two recorded MJPEG streams (encoded by ffmpeg) drive inference.
    let fixtures = common::root().join("tests/fixtures/camera");
    let model = common::golden_model(Recipe::Q8);
    let out = Command::new(exe())
        .arg("infer")
        .arg("--model")
        .arg(&model)
        .args(["--primary", "synthetic:320x240"])
        .arg("--wrist-left")
        .arg(format!("file:{}", fixtures.join("testsrc2-640x480-422.mjpeg").display()))
        .arg("--wrist-right")
        .arg(format!("file:{}", fixtures.join("testsrc2-160x120-422.mjpeg").display()))
        .args([
            "--proprio",
            &vec!["0.1"; 20].join(","),
            "--instruction",
            "fold the towel",
            "--seed",
            "3",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "infer failed: {}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let rows = json["actions"].as_array().expect("actions");
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| r
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v.as_f64().unwrap().is_finite())));
}
