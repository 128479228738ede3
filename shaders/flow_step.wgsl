// One flow-matching Euler step on the two conditional rows' actions a [2, T, A]:
// e = uncond + cfg * (cond - uncond) (with classifier-free guidance; else e = cond),
// a += dt * e, then clamp to [-5, 5] with guidance. The DiT output is [S, T + 1, A]; its
// row 0 of each sequence (the condition token) is dropped.
struct Params {
    len: u32,      // 2 * T * A
    steps_t: u32,  // T
    dim: u32,      // A
    guided: u32,   // 1 with classifier-free guidance (4 sequences), 0 without (2)
    cfg: f32,
    dt: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> a: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= p.len) {
        return;
    }
    let per_seq = p.steps_t * p.dim;
    let s = i / per_seq;
    let rest = i % per_seq;
    let row = (s * (p.steps_t + 1u) + 1u) * p.dim + rest;
    var e = out[row];
    if (p.guided == 1u) {
        let u = out[row + 2u * (p.steps_t + 1u) * p.dim];
        e = u + p.cfg * (e - u);
    }
    var v = a[i] + p.dt * e;
    if (p.guided == 1u) {
        v = clamp(v, -5.0, 5.0);
    }
    a[i] = v;
}
