// RMSNorm over rows: y = x * inverseSqrt(mean(x^2) + eps) * weight (Qwen2).
// One invocation per row: no barriers, which keeps CPU Vulkan drivers fast; rows are short
// enough (at most a few thousand values) that a GPU is not limited by this either.
struct Params {
    rows: u32,
    cols: u32,
    first_row: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let r = gid.x + gid.y * groups.x * 64u;
    if (r >= p.rows) {
        return;
    }
    let base = (p.first_row + r) * p.cols;
    var s = 0.0;
    for (var c = 0u; c < p.cols; c++) {
        let v = x[base + c];
        s = fma(v, v, s);
    }
    let inv = inverseSqrt(s / f32(p.cols) + p.eps);
    for (var c = 0u; c < p.cols; c++) {
        y[base + c] = x[base + c] * inv * weight[c];
    }
}
