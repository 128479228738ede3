// Builds the DiT input of one flow-matching step: for sequence s and row r of T + 1,
// row 0 = t_emb[step] + z_emb[s] (the condition token) and row r > 0 = x_emb[s % 2][r - 1]
// (the action embedding; the unconditional rows reuse the conditional rows' actions), plus
// the learned positional embedding pos[r].
struct Params {
    sequences: u32,
    rows: u32,     // T + 1
    hidden: u32,
    step_index: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> t_emb: array<f32>;
@group(0) @binding(2) var<storage, read> z_emb: array<f32>;
@group(0) @binding(3) var<storage, read> x_emb: array<f32>;
@group(0) @binding(4) var<storage, read> pos: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.x + gid.y * groups.x * 256u;
    if (e >= p.sequences * p.rows * p.hidden) {
        return;
    }
    let c = e % p.hidden;
    let r = (e / p.hidden) % p.rows;
    let s = e / (p.hidden * p.rows);
    var v: f32;
    if (r == 0u) {
        v = t_emb[p.step_index * p.hidden + c] + z_emb[s * p.hidden + c];
    } else {
        v = x_emb[((s % 2u) * (p.rows - 1u) + r - 1u) * p.hidden + c];
    }
    out[e] = v + pos[r * p.hidden + c];
}
