// SwiGLU's gating over rows laid out [gate | up] (2 x width values each), in place:
// gate[r, c] = silu(gate[r, c]) * up[r, c]. The gate half then feeds the down projection.
struct Params {
    rows: u32,
    width: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> gate_up: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.x + gid.y * groups.x * 256u;
    if (i >= p.rows * p.width) {
        return;
    }
    let at = (i / p.width) * 2u * p.width + i % p.width;
    let g = gate_up[at];
    gate_up[at] = g / (1.0 + exp(-g)) * gate_up[at + p.width];
}
