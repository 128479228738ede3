// Second pass of the antialiased bicubic resize (see resize.wgsl): [3, H_in, W_out] ->
// [3, H_out, W_out] written at `out_offset`, normalised to (v - 0.5) / 0.5.
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
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
@group(0) @binding(3) var<storage, read> taps: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.x + gid.y * groups.x * 256u;
    if (e >= 3u * p.out_h * p.out_w) {
        return;
    }
    let ox = e % p.out_w;
    let oy = (e / p.out_w) % p.out_h;
    let ch = e / (p.out_w * p.out_h);
    let tap = taps[oy];
    var s = 0.0;
    for (var j = 0u; j < tap.y; j++) {
        let v = src[(ch * p.in_h + tap.x + j) * p.out_w + ox];
        s = fma(v, weights[oy * p.max_taps + j], s);
    }
    dst[p.out_offset + e] = (s - 0.5) / 0.5;
}
