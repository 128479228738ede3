// Matmul body for CPU adapters without subgroups (see matmul_common.wgsl).
//
// A CPU driver runs a workgroup's invocations as SIMD lanes of one thread. This kernel uses no
// workgroup memory and no barrier: every invocation keeps a 4-row x 2-column block of outputs
// in registers, the 4 rows shared by the whole workgroup and the columns its own. The loads of
// x have the same address in every lane (a driver that sees this loads them once), and each
// lane reads whole words of its own two weight rows, decoding them in registers.

// Invocations per workgroup; each owns columns `base + lane` and `base + lane + LANES`.
const LANES: u32 = 64u;

// x[rows, k] for the four rows whose first elements are at `xb`.
fn x4(xb: vec4<u32>, k: u32) -> vec4<f32> {
    return vec4<f32>(x[xb.x + k], x[xb.y + k], x[xb.z + k], x[xb.w + k]);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32) {
    let m_total = row_count();
    let m0 = wg.y * 4u;
    if (m0 >= m_total) {
        return;
    }
    let xb = x_starts(m0, m_total);
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
                acc0 = fma(xv, vec4<f32>(w_value(a, e, s0)), acc0);
                acc1 = fma(xv, vec4<f32>(w_value(c, e, s1)), acc1);
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
            acc0 = fma(xv, vec4<f32>(w_value(a, e, s0)), acc0);
            acc1 = fma(xv, vec4<f32>(w_value(c, e, s1)), acc1);
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
