// Matrix multiply with a stored weight: y[m, n] (+)= sum_k x[m, k] * W[n, k] + bias[n].
//
// W is [N, K] row-major (PyTorch's Linear layout), rows padded to a multiple of 32 columns and
// stored in one of the weight formats, decoded by the weights_*.wgsl snippet (`W_PER_WORD`,
// `W_HAS_MIN`, `w_block`, `w_code`). Rows of x and y are addressed either directly (row offset
// + i) or through an index list (gather / scatter), which is how the decoder runs each expert
// MLP on exactly the tokens routed to it.
//
// This file holds what the three kernel families share: parameters, bindings, row addressing
// and the output store. A kernel is this file, then its body (matmul_tiled.wgsl for GPUs,
// matmul_subgroup.wgsl or matmul_register.wgsl for CPU adapters), then a weights snippet.

struct Params {
    m: u32,            // rows (direct mode); with an index list, the count is read from it
    n: u32,            // output features
    k: u32,            // input features (logical)
    x_stride: u32,     // elements between rows of x
    y_stride: u32,     // elements between rows of y
    x_offset: u32,     // first row of x (direct) or first entry of the index list (gather)
    y_offset: u32,     // first row of y (direct) or first entry of the index list (scatter)
    flags: u32,        // bit 0: bias, 1: accumulate into y, 2: gather x rows, 3: scatter y rows
    w_row_words: u32,  // u32 words per stored weight row
    w_blocks: u32,     // 32-element blocks per stored weight row
    w_col_offset: u32, // first weight column used (multiple of 32)
    y_col_offset: u32, // first column of y written
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
// rows[0] = number of rows, rows[1..] = row indices (used when gathering or scattering)
@group(0) @binding(5) var<storage, read> rows: array<u32>;

fn row_count() -> u32 {
    if ((p.flags & 12u) != 0u) {
        return rows[0];
    }
    return p.m;
}

fn x_row(i: u32) -> u32 {
    if ((p.flags & 4u) != 0u) {
        return rows[1u + p.x_offset + i];
    }
    return p.x_offset + i;
}

fn y_row(i: u32) -> u32 {
    if ((p.flags & 8u) != 0u) {
        return rows[1u + p.y_offset + i];
    }
    return p.y_offset + i;
}

// Where rows m0..m0+3 of x start (of `m_total` rows; rows past the end repeat the last one,
// and their results are not stored).
fn x_starts(m0: u32, m_total: u32) -> vec4<u32> {
    let last = m_total - 1u;
    return vec4<u32>(x_row(min(m0, last)), x_row(min(m0 + 1u, last)),
                     x_row(min(m0 + 2u, last)), x_row(min(m0 + 3u, last))) * p.x_stride;
}

// Writes output (m, n): the bias and the old value of y added when the flags ask for them.
fn store(m: u32, n: u32, v: f32) {
    let at = y_row(m) * p.y_stride + p.y_col_offset + n;
    var out = v;
    if ((p.flags & 1u) != 0u) {
        out += bias[n];
    }
    if ((p.flags & 2u) != 0u) {
        out += y[at];
    }
    y[at] = out;
}

// The value of a stored element: its code, scaled (scale, min in `sm`).
fn w_value(word: u32, e: u32, sm: vec2<f32>) -> f32 {
    return fma(w_code(word, e), sm.x, sm.y);
}
