// f32 weights: one u32 word per element.
fn load_w4(n: u32, k: u32) -> vec4<f32> {
    let base = n * p.w_row_words + k;
    return vec4<f32>(bitcast<f32>(w[base]), bitcast<f32>(w[base + 1u]), bitcast<f32>(w[base + 2u]), bitcast<f32>(w[base + 3u]));
}
