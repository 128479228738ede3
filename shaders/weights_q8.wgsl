// q8 weights: four signed bytes per u32 word; one f16 scale per block of 32 elements.
@group(0) @binding(6) var<storage, read> scales: array<u32>;

fn f16_at(buf_index: u32, packed: u32) -> f32 {
    return unpack2x16float(packed)[buf_index & 1u];
}

fn load_w4(n: u32, k: u32) -> vec4<f32> {
    let word = w[n * p.w_row_words + k / 4u];
    let s_index = n * p.w_blocks + k / 32u;
    let s = f16_at(s_index, scales[s_index / 2u]);
    let q = vec4<i32>(
        (bitcast<i32>(word << 24u)) >> 24u,
        (bitcast<i32>(word << 16u)) >> 24u,
        (bitcast<i32>(word << 8u)) >> 24u,
        bitcast<i32>(word) >> 24u);
    return vec4<f32>(q) * s;
}
