// RMSNorm over rows: y = x * inverseSqrt(mean(x^2) + eps) * weight (Qwen2). One workgroup per row.
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

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let r = wg.x + wg.y * groups.x;
    if (r >= p.rows) {
        return;
    }
    let base = (p.first_row + r) * p.cols;
    var s = 0.0;
    for (var c = li; c < p.cols; c += 256u) {
        let v = x[base + c];
        s = fma(v, v, s);
    }
    partial[li] = s;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (li < stride) {
            partial[li] += partial[li + stride];
        }
        workgroupBarrier();
    }
    let inv = inverseSqrt(partial[0] / f32(p.cols) + p.eps);
    for (var c = li; c < p.cols; c += 256u) {
        y[base + c] = x[base + c] * inv * weight[c];
    }
}
