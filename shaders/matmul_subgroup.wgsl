// Matmul body for CPU adapters with subgroup operations, such as lavapipe (see
// matmul_common.wgsl).
//
// Like matmul_register.wgsl, every invocation keeps a block of outputs in registers (here
// 4 rows x 4 columns: the rows shared by the workgroup, the columns its own) and there is no
// workgroup memory or barrier. The difference is how x is read: a CPU driver turns a load
// into a loop over the SIMD lanes unless its address is a compile-time constant, so instead
// of every lane loading the same x value, lane i of each subgroup loads element k + i of a
// run of 8 and the others take it with a subgroup shuffle. Each stored word of a weight row is
// decoded once per lane and used for all 4 rows. Within a 32-element block the products are
// summed on the raw codes and scaled once (sum x*(c*s + m) = s * sum x*c + m * sum x).
// Needs subgroups of at least 8 invocations.

// Invocations per workgroup; each owns columns `base + lane + j * LANES`, j = 0..3.
const LANES: u32 = 64u;

// Per-block sums of one invocation: x * code for each of its columns, and x alone.
struct Sums {
    c0: vec4<f32>,
    c1: vec4<f32>,
    c2: vec4<f32>,
    c3: vec4<f32>,
    x: vec4<f32>,
}

// Adds element e of a run of 8 of the four rows (`xv`) times the codes of the four columns'
// weights; `run_word` is the run's first word in a weight row.
fn step(sums: ptr<function, Sums>, word: vec4<u32>, run_word: u32, e: u32, xv: vec4<f32>) {
    let at = run_word + e / W_PER_WORD;
    let i = e % W_PER_WORD;
    if (W_HAS_MIN) {
        (*sums).x += xv;
    }
    (*sums).c0 = fma(xv, vec4<f32>(w_code(w[word.x + at], i)), (*sums).c0);
    (*sums).c1 = fma(xv, vec4<f32>(w_code(w[word.y + at], i)), (*sums).c1);
    (*sums).c2 = fma(xv, vec4<f32>(w_code(w[word.z + at], i)), (*sums).c2);
    (*sums).c3 = fma(xv, vec4<f32>(w_code(w[word.w + at], i)), (*sums).c3);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lane: u32,
        @builtin(subgroup_invocation_id) sub_lane: u32) {
    let m_total = row_count();
    let m0 = wg.y * 4u;
    if (m0 >= m_total) {
        return;
    }
    let xb = x_starts(m0, m_total);
    // This lane's element in every run of 8 that the subgroup loads together.
    let xl = xb + vec4<u32>(sub_lane & 7u);
    // Columns past the end read the last weight row; their results are not stored.
    let n0 = wg.x * 4u * LANES + lane;
    let n = vec4<u32>(n0, n0 + LANES, n0 + 2u * LANES, n0 + 3u * LANES);
    let r = min(n, vec4<u32>(p.n - 1u));
    let word = r * p.w_row_words + vec4<u32>(p.w_col_offset / W_PER_WORD);
    let block = r * p.w_blocks + vec4<u32>(p.w_col_offset / 32u);

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    let full_blocks = p.k / 32u;
    for (var b = 0u; b < full_blocks; b++) {
        var sums = Sums(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0),
                        vec4<f32>(0.0));
        for (var run = 0u; run < 4u; run++) {
            let k8 = b * 32u + run * 8u;
            let xr = vec4<f32>(x[xl.x + k8], x[xl.y + k8], x[xl.z + k8], x[xl.w + k8]);
            let run_word = k8 / W_PER_WORD;
            // Written out so that every shuffle source is a constant (a loop here is not
            // unrolled by the CPU driver and runs several times slower).
            step(&sums, word, run_word, 0u, vec4<f32>(subgroupBroadcast(xr.x, 0u),
                 subgroupBroadcast(xr.y, 0u), subgroupBroadcast(xr.z, 0u), subgroupBroadcast(xr.w, 0u)));
            step(&sums, word, run_word, 1u, vec4<f32>(subgroupBroadcast(xr.x, 1u),
                 subgroupBroadcast(xr.y, 1u), subgroupBroadcast(xr.z, 1u), subgroupBroadcast(xr.w, 1u)));
            step(&sums, word, run_word, 2u, vec4<f32>(subgroupBroadcast(xr.x, 2u),
                 subgroupBroadcast(xr.y, 2u), subgroupBroadcast(xr.z, 2u), subgroupBroadcast(xr.w, 2u)));
            step(&sums, word, run_word, 3u, vec4<f32>(subgroupBroadcast(xr.x, 3u),
                 subgroupBroadcast(xr.y, 3u), subgroupBroadcast(xr.z, 3u), subgroupBroadcast(xr.w, 3u)));
            step(&sums, word, run_word, 4u, vec4<f32>(subgroupBroadcast(xr.x, 4u),
                 subgroupBroadcast(xr.y, 4u), subgroupBroadcast(xr.z, 4u), subgroupBroadcast(xr.w, 4u)));
            step(&sums, word, run_word, 5u, vec4<f32>(subgroupBroadcast(xr.x, 5u),
                 subgroupBroadcast(xr.y, 5u), subgroupBroadcast(xr.z, 5u), subgroupBroadcast(xr.w, 5u)));
            step(&sums, word, run_word, 6u, vec4<f32>(subgroupBroadcast(xr.x, 6u),
                 subgroupBroadcast(xr.y, 6u), subgroupBroadcast(xr.z, 6u), subgroupBroadcast(xr.w, 6u)));
            step(&sums, word, run_word, 7u, vec4<f32>(subgroupBroadcast(xr.x, 7u),
                 subgroupBroadcast(xr.y, 7u), subgroupBroadcast(xr.z, 7u), subgroupBroadcast(xr.w, 7u)));
        }
        let s0 = w_block(block.x + b);
        let s1 = w_block(block.y + b);
        let s2 = w_block(block.z + b);
        let s3 = w_block(block.w + b);
        acc0 += sums.c0 * s0.x;
        acc1 += sums.c1 * s1.x;
        acc2 += sums.c2 * s2.x;
        acc3 += sums.c3 * s3.x;
        if (W_HAS_MIN) {
            acc0 += sums.x * s0.y;
            acc1 += sums.x * s1.y;
            acc2 += sums.x * s2.y;
            acc3 += sums.x * s3.y;
        }
    }
    // The last, partial block (the stored row is padded to whole blocks; x is not), one
    // element at a time.
    let k_tail = full_blocks * 32u;
    if (k_tail < p.k) {
        let s0 = w_block(block.x + full_blocks);
        let s1 = w_block(block.y + full_blocks);
        let s2 = w_block(block.z + full_blocks);
        let s3 = w_block(block.w + full_blocks);
        for (var k = k_tail; k < p.k; k++) {
            let xv = vec4<f32>(x[xb.x + k], x[xb.y + k], x[xb.z + k], x[xb.w + k]);
            let at = k / W_PER_WORD;
            let e = k % W_PER_WORD;
            acc0 = fma(xv, vec4<f32>(w_value(w[word.x + at], e, s0)), acc0);
            acc1 = fma(xv, vec4<f32>(w_value(w[word.y + at], e, s1)), acc1);
            acc2 = fma(xv, vec4<f32>(w_value(w[word.z + at], e, s2)), acc2);
            acc3 = fma(xv, vec4<f32>(w_value(w[word.w + at], e, s3)), acc3);
        }
    }

    for (var i = 0u; i < 4u; i++) {
        let m = m0 + i;
        if (m < m_total) {
            if (n.x < p.n) {
                store(m, n.x, acc0[i]);
            }
            if (n.y < p.n) {
                store(m, n.y, acc1[i]);
            }
            if (n.z < p.n) {
                store(m, n.z, acc2[i]);
            }
            if (n.w < p.n) {
                store(m, n.w, acc3[i]);
            }
        }
    }
}
