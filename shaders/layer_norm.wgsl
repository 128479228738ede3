// LayerNorm over rows (biased variance): y = (x - mean) / sqrt(var + eps) * weight + bias.
// `flags` bit 0: apply weight and bias (SigLIP, mlp1); clear: no affine (DiT).
// One invocation per row, two passes (mean, then variance) like PyTorch.
struct Params {
    rows: u32,
    cols: u32,
    flags: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = gid.x + gid.y * groups.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.cols;
    var s = 0.0;
    for (var c = 0u; c < p.cols; c++) {
        s += x[base + c];
    }
    let mean = s / f32(p.cols);
    var q = 0.0;
    for (var c = 0u; c < p.cols; c++) {
        let d = x[base + c] - mean;
        q = fma(d, d, q);
    }
    let inv = inverseSqrt(q / f32(p.cols) + p.eps);
    for (var c = 0u; c < p.cols; c++) {
        var v = (x[base + c] - mean) * inv;
        if ((p.flags & 1u) != 0u) {
            v = v * weight[c] + bias[c];
        }
        y[base + c] = v;
    }
}
