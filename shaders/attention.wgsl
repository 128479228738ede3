// Attention kernel for GPUs (appended to attention_common.wgsl): one thread per (query,
// head); keys stream through workgroup memory in tiles of 16. The head width must be a
// multiple of 4.

const KT: u32 = 16u;
var<workgroup> ks: array<array<vec4<f32>, D4>, KT>;
var<workgroup> vs: array<array<vec4<f32>, D4>, KT>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
    let h = wg.y;
    let kvh = h / (p.heads / p.kv_heads);
    let t0 = wg.x * 64u;
    let t = t0 + li;
    let live = t < p.tokens;
    let d = D4 * 4u;
    var qv: array<vec4<f32>, D4>;
    var acc: array<vec4<f32>, D4>;
    if (live) {
        qv = load_query(t, h);
    }
    // The key range of the whole workgroup: union of its queries' ranges.
    let last = min(t0 + 63u, p.tokens - 1u);
    let lo = key_range(t0).x;
    let hi = key_range(last).y;
    var m = -3.0e38;
    var l = 0.0;
    var mine = vec2<u32>(0u, 0u);
    if (live) {
        mine = key_range(t);
    }
    // Twin mode: arm queries check keys one by one against their local index.
    let arm_query = p.mode == 1u && t >= p.n0;
    var local = 0u;
    if (arm_query) {
        local = t - p.n0;
        if (local >= p.n1) {
            local -= p.n1;
        }
    }
    for (var k0 = lo; k0 < hi; k0 += KT) {
        // Cooperative load of KT keys and values of head kvh, four floats at a time.
        for (var e = li; e < KT * D4; e += 64u) {
            let kk = k0 + e / D4;
            let c = e % D4;
            if (kk < hi) {
                let base = kk * p.kv_stride + kvh * d + 4u * c;
                let kb = base + p.k_offset;
                let vb = base + p.v_offset;
                ks[e / D4][c] = vec4<f32>(kv[kb], kv[kb + 1u], kv[kb + 2u], kv[kb + 3u]);
                vs[e / D4][c] = vec4<f32>(kv[vb], kv[vb + 1u], kv[vb + 2u], kv[vb + 3u]);
            }
        }
        workgroupBarrier();
        if (live) {
            let n = min(KT, hi - k0);
            for (var j = 0u; j < n; j++) {
                let key = k0 + j;
                if (key < mine.x || key >= mine.y || (arm_query && !arm_sees(local, key))) {
                    continue;
                }
                var s = 0.0;
                for (var c = 0u; c < D4; c++) {
                    s += dot(qv[c], ks[j][c]);
                }
                if (p.mode == 1u && key < p.n0) {
                    s += p.common_bias;
                }
                if (s > m) {
                    let f = exp(m - s);
                    l *= f;
                    for (var c = 0u; c < D4; c++) {
                        acc[c] *= f;
                    }
                    m = s;
                }
                let w = exp(s - m);
                l += w;
                for (var c = 0u; c < D4; c++) {
                    acc[c] = fma(vec4<f32>(w), vs[j][c], acc[c]);
                }
            }
        }
        workgroupBarrier();
    }
    if (live) {
        store_output(t, h, acc, l);
    }
}
