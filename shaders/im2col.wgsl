// Patch extraction for the SigLIP stem (a 14x14 stride-14 convolution as a matmul):
// images [n, 3, S, S] -> rows [n * G * G, 3 * P * P] in the conv weight's (c, ky, kx) order,
// row = image * G * G + py * G + px.
struct Params {
    images: u32,
    size: u32,
    patch_size: u32,
    grid: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> img: array<f32>;
@group(0) @binding(2) var<storage, read_write> cols: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.x + gid.y * groups.x * 256u;
    let width = 3u * p.patch_size * p.patch_size;
    let rows = p.images * p.grid * p.grid;
    if (e >= rows * width) {
        return;
    }
    let row = e / width;
    let j = e % width;
    let c = j / (p.patch_size * p.patch_size);
    let ky = (j / p.patch_size) % p.patch_size;
    let kx = j % p.patch_size;
    let n = row / (p.grid * p.grid);
    let py = (row / p.grid) % p.grid;
    let px = row % p.grid;
    let yy = py * p.patch_size + ky;
    let xx = px * p.patch_size + kx;
    cols[e] = img[((n * 3u + c) * p.size + yy) * p.size + xx];
}
