// Row-chunk gather: out[i * chunk + c] = x[map[i] * chunk + c]. With a map computed from the
// reference's pixel shuffle, this is the pixel shuffle.
struct Params {
    chunks: u32,
    chunk: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> map: array<u32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.x + gid.y * groups.x * 256u;
    if (e >= p.chunks * p.chunk) {
        return;
    }
    let i = e / p.chunk;
    let c = e % p.chunk;
    out[e] = x[map[i] * p.chunk + c];
}
