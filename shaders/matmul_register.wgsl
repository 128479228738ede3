// Matrix multiply with a stored weight, for CPU adapters (lavapipe and the like):
// y[m, n] (+)= sum_k x[m, k] * W[n, k] + bias[n], same parameters and bindings as matmul.wgsl.
//
// A CPU driver runs a workgroup's invocations as SIMD lanes of one thread. This kernel uses no
// workgroup memory and no barrier: every invocation keeps a 4-row x 2-column block of outputs
// in registers, the 4 rows shared by the whole workgroup and the columns its own. So the loads
// of x are the same address in every lane (one scalar load, broadcast), and each lane reads
// whole words of its own two weight rows (one gather per word for the SIMD group), decoding
// them in registers with the weights_*.wgsl snippet appended to this body (`W_PER_WORD`,
// `w_block`, `w_code`).

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

// Invocations per workgroup; each owns columns `base + lane` and `base + lane + LANES`.
const LANES: u32 = 64u;

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

// x[rows, k] for the four rows whose first elements are at `xb`.
fn x4(xb: vec4<u32>, k: u32) -> vec4<f32> {
    return vec4<f32>(x[xb.x + k], x[xb.y + k], x[xb.z + k], x[xb.w + k]);
}

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

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let m_total = row_count();
    let m0 = wg.y * 4u;
    if (m0 >= m_total) {
        return;
    }
    // Rows past the end repeat the last row; their results are not stored.
    let last = m_total - 1u;
    let xb = vec4<u32>(x_row(min(m0, last)), x_row(min(m0 + 1u, last)),
                       x_row(min(m0 + 2u, last)), x_row(min(m0 + 3u, last))) * p.x_stride;
    let n0 = wg.x * 2u * LANES + lane;
    let n1 = n0 + LANES;
    // Columns past the end read the last weight row; their results are not stored.
    let r0 = min(n0, p.n - 1u);
    let r1 = min(n1, p.n - 1u);
    let words_per_block = 32u / W_PER_WORD;
    let word0 = r0 * p.w_row_words + p.w_col_offset / W_PER_WORD;
    let word1 = r1 * p.w_row_words + p.w_col_offset / W_PER_WORD;
    let block0 = r0 * p.w_blocks + p.w_col_offset / 32u;
    let block1 = r1 * p.w_blocks + p.w_col_offset / 32u;

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    let full_blocks = p.k / 32u;
    for (var b = 0u; b < full_blocks; b++) {
        let s0 = w_block(block0 + b);
        let s1 = w_block(block1 + b);
        for (var i = 0u; i < words_per_block; i++) {
            let a = w[word0 + b * words_per_block + i];
            let c = w[word1 + b * words_per_block + i];
            let k = b * 32u + i * W_PER_WORD;
            for (var e = 0u; e < W_PER_WORD; e++) {
                let xv = x4(xb, k + e);
                acc0 = fma(xv, vec4<f32>(fma(w_code(a, e), s0.x, s0.y)), acc0);
                acc1 = fma(xv, vec4<f32>(fma(w_code(c, e), s1.x, s1.y)), acc1);
            }
        }
    }
    // The last, partial block (the stored row is padded to whole blocks; x is not).
    let k_tail = full_blocks * 32u;
    if (k_tail < p.k) {
        let s0 = w_block(block0 + full_blocks);
        let s1 = w_block(block1 + full_blocks);
        for (var k = k_tail; k < p.k; k++) {
            let a = w[word0 + k / W_PER_WORD];
            let c = w[word1 + k / W_PER_WORD];
            let e = k % W_PER_WORD;
            let xv = x4(xb, k);
            acc0 = fma(xv, vec4<f32>(fma(w_code(a, e), s0.x, s0.y)), acc0);
            acc1 = fma(xv, vec4<f32>(fma(w_code(c, e), s1.x, s1.y)), acc1);
        }
    }

    for (var i = 0u; i < 4u; i++) {
        let m = m0 + i;
        if (m < m_total) {
            if (n0 < p.n) {
                store(m, n0, acc0[i]);
            }
            if (n1 < p.n) {
                store(m, n1, acc1[i]);
            }
        }
    }
}
