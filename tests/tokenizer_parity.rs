//! Parity of the Qwen2 tokenizer with the Hugging Face `tokenizers` library: every line of
//! `assets/tokenizer/qwen2/parity.jsonl` holds a text and the ids the library gives for it with
//! `add_special_tokens=False`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use twinvla_edge::model::tokenizer::Tokenizer;
use unicode_normalization::UnicodeNormalization;

fn asset(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/tokenizer/qwen2").join(name)
}

fn load_tokenizer() -> Tokenizer {
    let path = asset("tokenizer.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    Tokenizer::from_json(&text).unwrap_or_else(|e| panic!("cannot load {}: {e}", path.display()))
}

/// The parity corpus as (line number, text, expected ids).
fn parity_cases() -> Vec<(usize, String, Vec<u32>)> {
    let path = asset("parity.jsonl");
    let corpus = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    corpus
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            let case: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("parity.jsonl line {}: {e}", index + 1));
            let text = case["text"].as_str().unwrap_or_else(|| {
                panic!("parity.jsonl line {}: `text` is not a string", index + 1)
            });
            let ids = case["ids"]
                .as_array()
                .unwrap_or_else(|| panic!("parity.jsonl line {}: `ids` is not a list", index + 1))
                .iter()
                .map(|id| {
                    id.as_u64()
                        .and_then(|id| u32::try_from(id).ok())
                        .unwrap_or_else(|| panic!("parity.jsonl line {}: bad id {id}", index + 1))
                })
                .collect();
            (index + 1, text.to_owned(), ids)
        })
        .collect()
}

#[test]
fn encode_matches_hugging_face_on_the_parity_corpus() {
    let tokenizer = load_tokenizer();
    let cases = parity_cases();
    assert_eq!(cases.len(), 200, "parity.jsonl should hold 200 cases");
    let mismatches: Vec<String> = cases
        .iter()
        .filter_map(|(line, text, expected)| {
            let got = tokenizer.encode(text).unwrap_or_else(|e| panic!("line {line}: {e}"));
            (&got != expected).then(|| {
                format!("line {line} {text:?}:\n  expected {expected:?}\n  got      {got:?}")
            })
        })
        .collect();
    assert!(mismatches.is_empty(), "{} mismatches:\n{}", mismatches.len(), mismatches.join("\n"));
}

#[test]
fn decode_inverts_the_parity_ids() {
    let tokenizer = load_tokenizer();
    for (line, text, ids) in parity_cases() {
        let expected: String = text.nfc().collect();
        let decoded = tokenizer.decode(&ids).unwrap_or_else(|e| panic!("line {line}: {e}"));
        assert_eq!(decoded, expected, "line {line}");
    }
}

/// Load and encode timings. Run with
/// `cargo test --release --test tokenizer_parity -- --ignored --nocapture bench`.
#[test]
#[ignore = "timing run, not a check; see the doc comment for the command"]
fn bench_load_and_encode() {
    let text = std::fs::read_to_string(asset("tokenizer.json")).expect("read tokenizer.json");
    let mut loads = Vec::new();
    let mut tokenizer = None;
    for _ in 0..5 {
        let start = Instant::now();
        tokenizer = Some(Tokenizer::from_json(&text).expect("load tokenizer.json"));
        loads.push(start.elapsed());
    }
    let tokenizer = tokenizer.expect("loaded at least once");
    println!("from_json (11 MB): min {:?}, max {:?}", min(&loads), max(&loads));

    for (_, prompt, expected) in parity_cases().into_iter().filter(|(_, t, _)| t.len() > 300) {
        let rounds = 200;
        let start = Instant::now();
        for _ in 0..rounds {
            let ids = tokenizer.encode(&prompt).expect("encode");
            assert_eq!(ids, expected);
        }
        let each = start.elapsed() / rounds;
        println!("encode {} chars -> {} ids: {each:?}", prompt.chars().count(), expected.len());
    }
}

fn min(times: &[Duration]) -> Duration {
    times.iter().copied().min().unwrap_or_default()
}

fn max(times: &[Duration]) -> Duration {
    times.iter().copied().max().unwrap_or_default()
}
