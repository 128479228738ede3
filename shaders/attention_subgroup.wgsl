// Attention kernel for CPU adapters with subgroup operations (lavapipe), appended to
// attention_common.wgsl: the same function as attention.wgsl without workgroup memory or
// barriers.
// One invocation per (query, head), as there; keys and values go through in runs of 8: lane i
// of each subgroup loads key k0 + i (a CPU driver turns a load that every lane makes from the
// same address into a loop over the lanes, so each lane loads a different one) and the others
// take it with subgroup broadcasts. Each run updates the online softmax once: the 8 scores,
// their maximum, one rescale of the accumulator, 8 weighted values. Masked keys weigh 0.
// Needs subgroups of at least 8 invocations; the head width must be a multiple of 4.
// Logit of a key that is not seen.
const HIDDEN: f32 = -3.0e38;

// Chunk `kc` of the keys of a run (lane j holds key j's) dotted with this query's chunk `qc`.
fn run_dots(qc: vec4<f32>, kc: vec4<f32>) -> array<f32, 8> {
    return array<f32, 8>(
        dot(qc, vec4<f32>(subgroupBroadcast(kc.x, 0u), subgroupBroadcast(kc.y, 0u), subgroupBroadcast(kc.z, 0u), subgroupBroadcast(kc.w, 0u))),
        dot(qc, vec4<f32>(subgroupBroadcast(kc.x, 1u), subgroupBroadcast(kc.y, 1u), subgroupBroadcast(kc.z, 1u), subgroupBroadcast(kc.w, 1u))),
        dot(qc, vec4<f32>(subgroupBroadcast(kc.x, 2u), subgroupBroadcast(kc.y, 2u), subgroupBroadcast(kc.z, 2u), subgroupBroadcast(kc.w, 2u))),
        dot(qc, vec4<f32>(subgroupBroadcast(kc.x, 3u), subgroupBroadcast(kc.y, 3u), subgroupBroadcast(kc.z, 3u), subgroupBroadcast(kc.w, 3u))),
        dot(qc, vec4<f32>(subgroupBroadcast(kc.x, 4u), subgroupBroadcast(kc.y, 4u), subgroupBroadcast(kc.z, 4u), subgroupBroadcast(kc.w, 4u))),
        dot(qc, vec4<f32>(subgroupBroadcast(kc.x, 5u), subgroupBroadcast(kc.y, 5u), subgroupBroadcast(kc.z, 5u), subgroupBroadcast(kc.w, 5u))),
        dot(qc, vec4<f32>(subgroupBroadcast(kc.x, 6u), subgroupBroadcast(kc.y, 6u), subgroupBroadcast(kc.z, 6u), subgroupBroadcast(kc.w, 6u))),
        dot(qc, vec4<f32>(subgroupBroadcast(kc.x, 7u), subgroupBroadcast(kc.y, 7u), subgroupBroadcast(kc.z, 7u), subgroupBroadcast(kc.w, 7u))));
}

// Chunk `vc` of the values of a run (lane j holds value j's), weighted by `w` and summed.
fn run_weighted(vc: vec4<f32>, w: array<f32, 8>) -> vec4<f32> {
    return w[0] * vec4<f32>(subgroupBroadcast(vc.x, 0u), subgroupBroadcast(vc.y, 0u), subgroupBroadcast(vc.z, 0u), subgroupBroadcast(vc.w, 0u))
        + w[1] * vec4<f32>(subgroupBroadcast(vc.x, 1u), subgroupBroadcast(vc.y, 1u), subgroupBroadcast(vc.z, 1u), subgroupBroadcast(vc.w, 1u))
        + w[2] * vec4<f32>(subgroupBroadcast(vc.x, 2u), subgroupBroadcast(vc.y, 2u), subgroupBroadcast(vc.z, 2u), subgroupBroadcast(vc.w, 2u))
        + w[3] * vec4<f32>(subgroupBroadcast(vc.x, 3u), subgroupBroadcast(vc.y, 3u), subgroupBroadcast(vc.z, 3u), subgroupBroadcast(vc.w, 3u))
        + w[4] * vec4<f32>(subgroupBroadcast(vc.x, 4u), subgroupBroadcast(vc.y, 4u), subgroupBroadcast(vc.z, 4u), subgroupBroadcast(vc.w, 4u))
        + w[5] * vec4<f32>(subgroupBroadcast(vc.x, 5u), subgroupBroadcast(vc.y, 5u), subgroupBroadcast(vc.z, 5u), subgroupBroadcast(vc.w, 5u))
        + w[6] * vec4<f32>(subgroupBroadcast(vc.x, 6u), subgroupBroadcast(vc.y, 6u), subgroupBroadcast(vc.z, 6u), subgroupBroadcast(vc.w, 6u))
        + w[7] * vec4<f32>(subgroupBroadcast(vc.x, 7u), subgroupBroadcast(vc.y, 7u), subgroupBroadcast(vc.z, 7u), subgroupBroadcast(vc.w, 7u));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) sub_lane: u32) {
    let h = wg.y;
    let kvh = h / (p.heads / p.kv_heads);
    let t0 = wg.x * 64u;
    let t = t0 + li;
    // Lanes past the last token compute for the last one and store nothing: every lane has to
    // take part in the broadcasts.
    let tq = min(t, p.tokens - 1u);
    let d = D4 * 4u;
    let qv = load_query(tq, h);
    var acc: array<vec4<f32>, D4>;
    // The key range of the whole workgroup: union of its queries' ranges.
    let last = min(t0 + 63u, p.tokens - 1u);
    let lo = key_range(t0).x;
    let hi = key_range(last).y;
    var m = HIDDEN;
    var l = 0.0;
    let mine = key_range(tq);
    // Twin mode: arm queries check keys one by one against their local index.
    let arm_query = p.mode == 1u && tq >= p.n0;
    var local = 0u;
    if (arm_query) {
        local = tq - p.n0;
        if (local >= p.n1) {
            local -= p.n1;
        }
    }
    for (var k0 = lo; k0 < hi; k0 += 8u) {
        // This lane's key of the run (past the end: the last key, masked below).
        let key_base = min(k0 + (sub_lane & 7u), hi - 1u) * p.kv_stride + kvh * d;
        var s = array<f32, 8>(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for (var c = 0u; c < D4; c++) {
            let kb = key_base + p.k_offset + 4u * c;
            let ds = run_dots(qv[c], vec4<f32>(kv[kb], kv[kb + 1u], kv[kb + 2u], kv[kb + 3u]));
            for (var j = 0u; j < 8u; j++) {
                s[j] += ds[j];
            }
        }
        var run_max = m;
        for (var j = 0u; j < 8u; j++) {
            let key = k0 + j;
            let seen = key < hi && key >= mine.x && key < mine.y
                && !(arm_query && !arm_sees(local, key));
            var logit = s[j];
            if (p.mode == 1u && key < p.n0) {
                logit += p.common_bias;
            }
            s[j] = select(HIDDEN, logit, seen);
            run_max = max(run_max, s[j]);
        }
        let f = exp(m - run_max);
        var w: array<f32, 8>;
        var w_sum = 0.0;
        for (var j = 0u; j < 8u; j++) {
            w[j] = select(0.0, exp(s[j] - run_max), s[j] > HIDDEN);
            w_sum += w[j];
        }
        l = l * f + w_sum;
        m = run_max;
        for (var c = 0u; c < D4; c++) {
            let vb = key_base + p.v_offset + 4u * c;
            let vc = vec4<f32>(kv[vb], kv[vb + 1u], kv[vb + 2u], kv[vb + 3u]);
            acc[c] = acc[c] * f + run_weighted(vc, w);
        }
    }
    if (t < p.tokens) {
        store_output(t, h, acc, l);
    }
}
