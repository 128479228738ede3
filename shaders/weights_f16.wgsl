// f16 weights: two elements per u32 word, lowest half first.
fn load_w4(n: u32, k: u32) -> vec4<f32> {
    let base = n * p.w_row_words + k / 2u;
    let lo = unpack2x16float(w[base]);
    let hi = unpack2x16float(w[base + 1u]);
    return vec4<f32>(lo.x, lo.y, hi.x, hi.y);
}
