// q4 weights: eight 4-bit codes per u32 word, lowest nibble first; per block of 32 elements
// an f16 scale and an f16 minimum: value = code * scale + min.
@group(0) @binding(6) var<storage, read> scales: array<u32>;
@group(0) @binding(7) var<storage, read> mins: array<u32>;

fn f16_at(buf_index: u32, packed: u32) -> f32 {
    return unpack2x16float(packed)[buf_index & 1u];
}

fn load_w4(n: u32, k: u32) -> vec4<f32> {
    let word = w[n * p.w_row_words + k / 8u];
    let shift = (k % 8u) * 4u;
    let b_index = n * p.w_blocks + k / 32u;
    let s = f16_at(b_index, scales[b_index / 2u]);
    let lo = f16_at(b_index, mins[b_index / 2u]);
    let codes = vec4<u32>(
        (word >> shift) & 15u,
        (word >> (shift + 4u)) & 15u,
        (word >> (shift + 8u)) & 15u,
        (word >> (shift + 12u)) & 15u);
    return vec4<f32>(codes) * s + lo;
}
