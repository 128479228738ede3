// q4 weights: eight 4-bit codes per u32 word, lowest nibble first; per block of 32 elements
// an f16 scale and an f16 minimum: value = code * scale + min.
@group(0) @binding(6) var<storage, read> scales: array<u32>;
@group(0) @binding(7) var<storage, read> mins: array<u32>;

// Whether blocks have a minimum (value = code * scale + min).
const W_HAS_MIN: bool = true;

// Elements per stored u32 word.
const W_PER_WORD: u32 = 8u;

fn f16_at(index: u32, packed: u32) -> f32 {
    return unpack2x16float(packed)[index & 1u];
}

// (scale, min) of block `block` (counted over the whole stored weight).
fn w_block(block: u32) -> vec2<f32> {
    return vec2<f32>(f16_at(block, scales[block / 2u]), f16_at(block, mins[block / 2u]));
}

// The raw code of element `e` of a stored word.
fn w_code(word: u32, e: u32) -> f32 {
    return f32((word >> (4u * e)) & 15u);
}
