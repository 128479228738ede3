//! Fuzz target: the `.npy` reader must never panic, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = twinvla_edge::npy::parse_f32(data);
});
