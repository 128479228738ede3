// Matmul body for GPUs (see matmul_common.wgsl): a 64 x 64 output tile per workgroup, 4 x 4
// per thread, K in steps of 16, tiles staged in workgroup memory.

const TILE: u32 = 64u;
const TK: u32 = 16u;

// Tiles in workgroup memory as vec4s: xs[t * 16 + i] holds rows 4i..4i+3 of the x tile at
// k = t, ws[t * 16 + j] columns 4j..4j+3 of the weight tile; each thread keeps a 4 x 4 block of
// outputs in four vec4 registers.
var<workgroup> xs: array<vec4<f32>, 256>;
var<workgroup> ws: array<vec4<f32>, 256>;

// Elements k..k+3 of weight row n (k a multiple of 4, so all four share one block).
fn load_w4(n: u32, k: u32) -> vec4<f32> {
    let sm = w_block(n * p.w_blocks + k / 32u);
    var v: vec4<f32>;
    for (var e = 0u; e < 4u; e++) {
        let word = w[n * p.w_row_words + (k + e) / W_PER_WORD];
        v[e] = w_code(word, (k + e) % W_PER_WORD);
    }
    return v * sm.x + sm.y;
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let m_total = row_count();
    let m0 = wg.y * TILE;
    let n0 = wg.x * TILE;
    if (m0 >= m_total) {
        return;
    }
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    // Each thread loads four consecutive k of one row of the x tile and of the w tile.
    let load_row = li / 4u;        // 0..63
    let load_k = (li % 4u) * 4u;   // 0, 4, 8, 12
    let xm = m0 + load_row;
    let wn = n0 + load_row;
    var xbase = 0u;
    if (xm < m_total) {
        xbase = x_row(xm) * p.x_stride;
    }
    let slot = load_row / 4u;
    let lane = load_row % 4u;
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        let kk = k0 + load_k;
        var xv = vec4<f32>(0.0);
        if (xm < m_total) {
            if (kk + 3u < p.k) {
                xv = vec4<f32>(x[xbase + kk], x[xbase + kk + 1u], x[xbase + kk + 2u], x[xbase + kk + 3u]);
            } else {
                for (var e = 0u; e < 4u; e++) {
                    if (kk + e < p.k) {
                        xv[e] = x[xbase + kk + e];
                    }
                }
            }
        }
        var wv = vec4<f32>(0.0);
        if (wn < p.n) {
            wv = load_w4(wn, p.w_col_offset + kk);
        }
        xs[(load_k + 0u) * 16u + slot][lane] = xv.x;
        xs[(load_k + 1u) * 16u + slot][lane] = xv.y;
        xs[(load_k + 2u) * 16u + slot][lane] = xv.z;
        xs[(load_k + 3u) * 16u + slot][lane] = xv.w;
        ws[(load_k + 0u) * 16u + slot][lane] = wv.x;
        ws[(load_k + 1u) * 16u + slot][lane] = wv.y;
        ws[(load_k + 2u) * 16u + slot][lane] = wv.z;
        ws[(load_k + 3u) * 16u + slot][lane] = wv.w;
        workgroupBarrier();
        for (var t = 0u; t < TK; t++) {
            let a = xs[t * 16u + lid.y];
            let b = ws[t * 16u + lid.x];
            acc0 = fma(vec4<f32>(a.x), b, acc0);
            acc1 = fma(vec4<f32>(a.y), b, acc1);
            acc2 = fma(vec4<f32>(a.z), b, acc2);
            acc3 = fma(vec4<f32>(a.w), b, acc3);
        }
        workgroupBarrier();
    }
    var acc = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        let m = m0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j++) {
            let n = n0 + lid.x * 4u + j;
            if (m < m_total && n < p.n) {
                store(m, n, acc[i][j]);
            }
        }
    }
}
