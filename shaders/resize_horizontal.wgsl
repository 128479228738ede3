// Antialiased bicubic resize with precomputed per-output taps (torchvision's tensor resize,
// computed on the CPU by `reference::resize::resize_weights`), as two separable passes:
// this pass: u8 HWC image (packed in u32 words) -> f32 [3, H_in, W_out], values x / 255;
// resize_vertical.wgsl does the second pass.
// taps[o] = (first input index, count) and weights[o * max_taps + j].
struct Params {
    in_h: u32,
    in_w: u32,
    out_h: u32,
    out_w: u32,
    max_taps: u32,
    out_offset: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src_u8: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> taps: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;

fn byte_at(i: u32) -> f32 {
    return f32((src_u8[i / 4u] >> ((i % 4u) * 8u)) & 255u);
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.x + gid.y * groups.x * 256u;
    if (e >= 3u * p.in_h * p.out_w) {
        return;
    }
    let ox = e % p.out_w;
    let yy = (e / p.out_w) % p.in_h;
    let ch = e / (p.out_w * p.in_h);
    let tap = taps[ox];
    var s = 0.0;
    for (var j = 0u; j < tap.y; j++) {
        let v = byte_at((yy * p.in_w + tap.x + j) * 3u + ch) / 255.0;
        s = fma(v, weights[ox * p.max_taps + j], s);
    }
    dst[e] = s;
}
