// Rotary position embedding (Qwen2 rotate-half), in place on rows of `x`:
// for i < d/2: (a, b) = (x[i], x[i + d/2]) -> (a cos - b sin, b cos + a sin), with the cos/sin
// table precomputed per token on the CPU (`table[t * d/2 + i]` = (cos, sin)).
struct Params {
    tokens: u32,
    heads: u32,
    head_dim: u32,
    row_stride: u32,
    col_offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<vec2<f32>>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let half = p.head_dim / 2u;
    let id = gid.x + gid.y * groups.x * 64u;
    if (id >= p.tokens * p.heads * half) {
        return;
    }
    let i = id % half;
    let h = (id / half) % p.heads;
    let t = id / (half * p.heads);
    let base = t * p.row_stride + p.col_offset + h * p.head_dim;
    let cs = table[t * half + i];
    let a = x[base + i];
    let b = x[base + i + half];
    x[base + i] = a * cs.x - b * cs.y;
    x[base + i + half] = b * cs.x + a * cs.y;
}
