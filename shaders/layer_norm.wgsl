// LayerNorm over rows (biased variance): y = (x - mean) / sqrt(var + eps) * weight + bias.
// `flags` bit 0: apply weight and bias (SigLIP, mlp1); clear: no affine (DiT).
// One workgroup per row; two-pass mean then variance, like PyTorch.
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

var<workgroup> partial: array<f32, 256>;

fn reduce(li: u32, v: f32) -> f32 {
    partial[li] = v;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if (li < stride) {
            partial[li] += partial[li + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
    let r = wg.x + wg.y * groups.x;
    if (r >= p.rows) {
        return;
    }
    let base = r * p.cols;
    var s = 0.0;
    for (var c = li; c < p.cols; c += 256u) {
        s += x[base + c];
    }
    let mean = reduce(li, s) / f32(p.cols);
    var q = 0.0;
    for (var c = li; c < p.cols; c += 256u) {
        let d = x[base + c] - mean;
        q = fma(d, d, q);
    }
    let inv = inverseSqrt(reduce(li, q) / f32(p.cols) + p.eps);
    for (var c = li; c < p.cols; c += 256u) {
        var v = (x[base + c] - mean) * inv;
        if ((p.flags & 1u) != 0u) {
            v = v * weight[c] + bias[c];
        }
        y[base + c] = v;
    }
}
