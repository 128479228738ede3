//! Fuzz target: the GGUF header parser must never panic, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = twinvla_edge::model::gguf::parse_header(data);
});
