// q8 weights: four signed bytes per u32 word, lowest byte first; one f16 scale per block of 32
// elements: value = code * scale.
@group(0) @binding(6) var<storage, read> scales: array<u32>;

// Whether blocks have a minimum (value = code * scale + min).
const W_HAS_MIN: bool = false;

// Elements per stored u32 word.
const W_PER_WORD: u32 = 4u;

// (scale, min) of block `block` (counted over the whole stored weight).
fn w_block(block: u32) -> vec2<f32> {
    return vec2<f32>(unpack2x16float(scales[block / 2u])[block & 1u], 0.0);
}

// The raw code of element `e` of a stored word.
fn w_code(word: u32, e: u32) -> f32 {
    return f32(bitcast<i32>(word << (24u - 8u * e)) >> 24u);
}
