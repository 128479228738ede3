// Attention with an online softmax (no materialised score matrix), GQA, and two masks:
// mode 0: block-diagonal, every query sees all keys of its block of `block` tokens (SigLIP per
//         image, DiT per sequence);
// mode 1: the twin decoder's mask over [common n0 | left n1 | right n1]: common queries see
//         earlier common keys; an arm's query i sees all common keys and keys 0..i of both arm
//         segments. With `common_bias` != 0 it is added to the logits of common keys (ln 2 for
//         the reference's attention re-weighting).
// This file holds what both attention kernels share (attention.wgsl for GPUs,
// attention_subgroup.wgsl for CPU adapters), the kernel body is appended to it.
struct Params {
    tokens: u32,
    heads: u32,
    kv_heads: u32,
    head_dim: u32,
    q_stride: u32,
    q_offset: u32,
    kv_stride: u32,
    k_offset: u32,
    v_offset: u32,
    o_stride: u32,
    mode: u32,
    block: u32,
    n0: u32,
    n1: u32,
    scale: f32,
    common_bias: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kv: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;

// First and one-past-last key a query may see, and whether keys must be checked one by one.
fn key_range(t: u32) -> vec2<u32> {
    if (p.mode == 0u) {
        let b = t / p.block;
        return vec2<u32>(b * p.block, min((b + 1u) * p.block, p.tokens));
    }
    if (t < p.n0) {
        return vec2<u32>(0u, t + 1u);
    }
    return vec2<u32>(0u, p.tokens);
}

// Whether an arm query with local index `i` (0-based within its segment) sees `key`.
// Only comparisons and subtractions: integer division per key is slow on CPU drivers.
fn arm_sees(i: u32, key: u32) -> bool {
    if (key < p.n0) {
        return true;
    }
    if (key < p.n0 + p.n1) {
        return key - p.n0 <= i;
    }
    return key - p.n0 - p.n1 <= i;
}

// D4 = head_dim / 4 is substituted when the pipeline is built, so that the per-thread query
// and accumulator live in registers (constant trip counts) rather than in indexed memory.
const D4: u32 = {{D4}}u;

// Query t of head h, times the logit scale.
fn load_query(t: u32, h: u32) -> array<vec4<f32>, D4> {
    var qv: array<vec4<f32>, D4>;
    let qb = t * p.q_stride + p.q_offset + h * D4 * 4u;
    for (var c = 0u; c < D4; c++) {
        let b = qb + 4u * c;
        qv[c] = vec4<f32>(q[b], q[b + 1u], q[b + 2u], q[b + 3u]) * p.scale;
    }
    return qv;
}

// Writes the output of query t, head h: the weighted value sum `acc` over the weight sum `l`.
fn store_output(t: u32, h: u32, acc: array<vec4<f32>, D4>, l: f32) {
    let ob = t * p.o_stride + h * D4 * 4u;
    let inv = 1.0 / l;
    for (var c = 0u; c < D4; c++) {
        let v = acc[c] * inv;
        o[ob + 4u * c] = v.x;
        o[ob + 4u * c + 1u] = v.y;
        o[ob + 4u * c + 2u] = v.z;
        o[ob + 4u * c + 3u] = v.w;
    }
}
