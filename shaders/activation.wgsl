// Elementwise activations, in place. Entry points: `gelu_tanh` (SigLIP, DiT), `gelu_erf`
// (mlp1's nn.GELU), `silu` (the DiT time embedding).
struct Params {
    len: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return gid.x + gid.y * groups.x * 256u;
}

// erf with |error| < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit).
fn erf_approx(v: f32) -> f32 {
    let z = abs(v);
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
        t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
        t * (-0.82215223 + t * 0.17087277))))))));
    let r = 1.0 - t * exp(poly);
    return select(-r, r, v >= 0.0);
}

@compute @workgroup_size(256, 1, 1)
fn gelu_tanh(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.len) {
        return;
    }
    let v = x[i];
    let inner = 0.7978845608028654 * (v + 0.044715 * v * v * v);
    x[i] = 0.5 * v * (1.0 + tanh(inner));
}

@compute @workgroup_size(256, 1, 1)
fn gelu_erf(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.len) {
        return;
    }
    let v = x[i];
    x[i] = 0.5 * v * (1.0 + erf_approx(v * 0.7071067811865476));
}

@compute @workgroup_size(256, 1, 1)
fn silu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = index(gid, groups);
    if (i >= p.len) {
        return;
    }
    let v = x[i];
    x[i] = v / (1.0 + exp(-v));
}
