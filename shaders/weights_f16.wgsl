// f16 weights: two elements per u32 word, lowest half first.

// Whether blocks have a minimum (value = code * scale + min).
const W_HAS_MIN: bool = false;

// Elements per stored u32 word.
const W_PER_WORD: u32 = 2u;

// (scale, min) of a block: f16 weights are stored as they are.
fn w_block(block: u32) -> vec2<f32> {
    return vec2<f32>(1.0, 0.0);
}

// Element `e` of a stored word.
fn w_code(word: u32, e: u32) -> f32 {
    return unpack2x16float(word)[e];
}
