// Top-1 routing of the common tokens between the two experts (the arms' MLPs), and the row
// lists each expert's matmuls run on. Gate logits [n0, 2]: token i goes to the right expert
// when logit 1 > logit 0 (ties: left). Lists: [count, rows...], common tokens first, then the
// expert's own arm segment: left = routed-left common tokens + rows n0..n0+n1,
// right = routed-right common tokens + rows n0+n1..n0+2*n1. `experts[i]` keeps each choice.
struct Params {
    n0: u32,
    n1: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> left: array<u32>;
@group(0) @binding(3) var<storage, read_write> right: array<u32>;
@group(0) @binding(4) var<storage, read_write> experts: array<u32>;

@compute @workgroup_size(1, 1, 1)
fn main() {
    var nl = 0u;
    var nr = 0u;
    for (var i = 0u; i < p.n0; i++) {
        if (logits[2u * i + 1u] > logits[2u * i]) {
            right[1u + nr] = i;
            nr++;
            experts[i] = 1u;
        } else {
            left[1u + nl] = i;
            nl++;
            experts[i] = 0u;
        }
    }
    for (var j = 0u; j < p.n1; j++) {
        left[1u + nl + j] = p.n0 + j;
        right[1u + nr + j] = p.n0 + p.n1 + j;
    }
    left[0] = nl + p.n1;
    right[0] = nr + p.n1;
}
