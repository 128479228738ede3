// f32 weights: one element per u32 word.

// Whether blocks have a minimum (value = code * scale + min).
const W_HAS_MIN: bool = false;

// Elements per stored u32 word.
const W_PER_WORD: u32 = 1u;

// (scale, min) of a block: f32 weights are stored as they are.
fn w_block(block: u32) -> vec2<f32> {
    return vec2<f32>(1.0, 0.0);
}

// The element in a stored word.
fn w_code(word: u32, e: u32) -> f32 {
    return bitcast<f32>(word);
}
