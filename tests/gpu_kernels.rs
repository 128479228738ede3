//! Every WGSL kernel against its plain CPU twin in `reference`, on random inputs of several
//! shapes (awkward ones included), on the Vulkan adapter (lavapipe in CI).

use std::sync::OnceLock;

use half::f16;
use rand::{Rng, SeedableRng};
use twinvla_edge::gpu::attention::{attention, AttentionLayout, Mask};
use twinvla_edge::gpu::buffer::{upload_bytes, GpuTensor};
use twinvla_edge::gpu::context::GpuContext;
use twinvla_edge::gpu::elementwise::{activation, gather_rows, im2col, silu_mul, Activation};
use twinvla_edge::gpu::flow::flow_step;
use twinvla_edge::gpu::kernel::Dispatch;
use twinvla_edge::gpu::matmul::{matmul, GpuWeight, MatmulKernels, MatmulOp, MatmulStrategy, Rows};
use twinvla_edge::gpu::moe::moe_route;
use twinvla_edge::gpu::norm::{layer_norm, rms_norm};
use twinvla_edge::gpu::resize::ResizePlan;
use twinvla_edge::gpu::rope::{rope, rope_table};
use twinvla_edge::gpu::set::KernelSet;
use twinvla_edge::image::RgbImage;
use twinvla_edge::model::file::Weight;
use twinvla_edge::model::quant::{self, WeightFormat};
use twinvla_edge::reference;
use twinvla_edge::reference::attention::AttentionShape;

fn gpu() -> &'static (GpuContext, KernelSet) {
    static GPU: OnceLock<(GpuContext, KernelSet)> = OnceLock::new();
    GPU.get_or_init(|| {
        let ctx = GpuContext::new(None).unwrap_or_else(|e| {
            panic!("no Vulkan adapter for the GPU tests: {e}\nRun tools/setup.sh (installs Mesa's lavapipe)")
        });
        let k = KernelSet::new(&ctx).expect("kernels");
        (ctx, k)
    })
}

/// The kernel set of every family the adapter can run, whatever it would pick. On x86-64
/// lavapipe (CI) that is all three: a missing one fails here rather than going untested. (A CPU
/// driver on a narrower SIMD unit, such as lavapipe on a 128-bit ARM core, has subgroups of 4
/// and runs the register family instead; the families it cannot run are named on stderr.)
fn families() -> &'static [KernelSet] {
    static FAMILIES: OnceLock<Vec<KernelSet>> = OnceLock::new();
    FAMILIES.get_or_init(|| {
        let ctx = &gpu().0;
        let all = [MatmulStrategy::Tiled, MatmulStrategy::Register, MatmulStrategy::Subgroup];
        if ctx.info.device_type == wgpu::DeviceType::Cpu && cfg!(target_arch = "x86_64") {
            assert!(
                MatmulStrategy::Subgroup.runs_on(ctx),
                "{} has no subgroups of 8, so the subgroup matmul would go untested; \
                 install a newer lavapipe (tools/setup.sh takes Mesa 25 from bookworm-backports)",
                ctx.info.name
            );
        }
        for s in all.iter().filter(|s| !s.runs_on(ctx)) {
            eprintln!("{} cannot run the {s:?} kernel family: not tested here", ctx.info.name);
        }
        all.into_iter().filter(|s| s.runs_on(ctx)).map(|s| KernelSet::with_family(ctx, s)).collect()
    })
}

/// The matmul kernels of every family the adapter can run.
fn matmul_families() -> impl Iterator<Item = &'static MatmulKernels> {
    families().iter().map(|set| &set.matmul)
}

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.sample::<f32, _>(rand_distr::StandardNormal)).collect()
}

fn run(d: Result<Dispatch, twinvla_edge::gpu::context::GpuError>) {
    let (ctx, _) = gpu();
    Dispatch::run_all(ctx, &[&d.expect("dispatch")]).expect("run");
}

fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = 0f32;
    for (g, w) in got.iter().zip(want) {
        let err = (g - w).abs() / (1.0 + w.abs());
        worst = worst.max(err);
    }
    assert!(worst <= tol, "{what}: max relative error {worst:.3e} > {tol:.1e}");
}

fn dummy() -> wgpu::Buffer {
    upload_bytes(&gpu().0, "dummy", &[0; 16], wgpu::BufferUsages::STORAGE).unwrap()
}

struct Encoded {
    format: WeightFormat,
    rows: usize,
    cols: usize,
    values: Vec<u8>,
    scales: Vec<u8>,
    mins: Vec<u8>,
    dense: Vec<f32>,
}

fn encode(format: WeightFormat, data: &[f32], rows: usize, cols: usize) -> Encoded {
    let (values, scales, mins) = quant::encode_matrix(format, data, cols);
    let dense = quant::decode_matrix(format, &values, &scales, &mins, rows, cols);
    let bytes = |v: &[f16]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    Encoded { format, rows, cols, values, scales: bytes(&scales), mins: bytes(&mins), dense }
}

fn upload(e: &Encoded, bias: Option<&[f32]>) -> GpuWeight {
    let w = Weight {
        format: e.format,
        rows: e.rows,
        cols: e.cols,
        padded_cols: quant::padded_cols(e.cols),
        values: &e.values,
        scales: &e.scales,
        mins: &e.mins,
    };
    GpuWeight::upload(&gpu().0, "test", &w, bias).unwrap()
}

#[test]
fn matmul_matches_reference_for_every_format_and_shape() {
    let (ctx, _) = gpu();
    let dummy = dummy();
    for family in matmul_families() {
        for (i, &(m, n, kk)) in
            [(1, 10, 64), (3, 7, 5), (65, 130, 96), (70, 33, 4304 / 8), (128, 64, 37)]
                .iter()
                .enumerate()
        {
            for format in [WeightFormat::F32, WeightFormat::F16, WeightFormat::Q8, WeightFormat::Q4]
            {
                let x = random(m * kk, i as u64);
                let w = random(n * kk, 100 + i as u64);
                let bias = random(n, 200 + i as u64);
                let e = encode(format, &w, n, kk);
                let gw = upload(&e, Some(&bias));
                let gx = GpuTensor::from_slice(ctx, "x", &x).unwrap();
                let init = random(m * n, 300 + i as u64);
                let gy = GpuTensor::from_slice(ctx, "y", &init).unwrap();
                let op = MatmulOp {
                    weight: &gw,
                    x: &gx,
                    x_stride: kk,
                    y: &gy,
                    y_stride: n,
                    rows: Rows::Direct { count: m, x_first: 0, y_first: 0 },
                    accumulate: true,
                    columns: None,
                    y_column: 0,
                };
                run(matmul(ctx, family, &op, &dummy));
                let mut want = reference::linear::linear(&x, m, &e.dense, n, kk, Some(&bias));
                for (w, i0) in want.iter_mut().zip(&init) {
                    *w += i0;
                }
                assert_close(
                    &format!("matmul {:?} {format:?} {m}x{n}x{kk}", family.strategy),
                    &gy.read_all(ctx).unwrap(),
                    &want,
                    1e-4,
                );
            }
        }
    }
}

#[test]
fn matmul_gathers_and_scatters_rows_through_a_list() {
    for family in matmul_families() {
        gather_and_scatter(family);
    }
}

fn gather_and_scatter(family: &MatmulKernels) {
    let (ctx, _) = gpu();
    let dummy = dummy();
    let (rows, n, kk) = (40, 24, 48);
    let x = random(rows * kk, 1);
    let e = encode(WeightFormat::Q8, &random(n * kk, 2), n, kk);
    let gw = upload(&e, None);
    let picked: Vec<u32> = vec![3, 39, 0, 17, 18, 5];
    let mut list = vec![picked.len() as u32];
    list.extend(&picked);
    list.extend([7u32; 10]);
    let list_buf =
        upload_bytes(ctx, "list", bytemuck::cast_slice(&list), wgpu::BufferUsages::STORAGE)
            .unwrap();
    let gx = GpuTensor::from_slice(ctx, "x", &x).unwrap();
    let compact = GpuTensor::zeros(ctx, "compact", 16 * n).unwrap();
    let gather = MatmulOp {
        weight: &gw,
        x: &gx,
        x_stride: kk,
        y: &compact,
        y_stride: n,
        rows: Rows::Indexed {
            list: &list_buf,
            first: 0,
            max: 16,
            gather_x: true,
            scatter_y: false,
        },
        accumulate: false,
        columns: None,
        y_column: 0,
    };
    run(matmul(ctx, family, &gather, &dummy));
    let got = compact.read(ctx, 0, picked.len() * n).unwrap();
    let want: Vec<f32> = picked
        .iter()
        .flat_map(|&r| {
            reference::linear::linear(
                &x[r as usize * kk..(r as usize + 1) * kk],
                1,
                &e.dense,
                n,
                kk,
                None,
            )
        })
        .collect();
    assert_close("gather", &got, &want, 1e-4);
    // Scatter: y rows picked[i] get row i of a compact input; other rows stay untouched.
    let e2 = encode(WeightFormat::Q4, &random(kk * n, 3), kk, n);
    let gw2 = upload(&e2, None);
    let out = GpuTensor::from_slice(ctx, "out", &vec![1.0; rows * kk]).unwrap();
    let scatter = MatmulOp {
        weight: &gw2,
        x: &compact,
        x_stride: n,
        y: &out,
        y_stride: kk,
        rows: Rows::Indexed {
            list: &list_buf,
            first: 0,
            max: 16,
            gather_x: false,
            scatter_y: true,
        },
        accumulate: true,
        columns: None,
        y_column: 0,
    };
    run(matmul(ctx, family, &scatter, &dummy));
    let result = out.read_all(ctx).unwrap();
    for r in 0..rows {
        let row = &result[r * kk..(r + 1) * kk];
        match picked.iter().position(|&p| p as usize == r) {
            None => assert!(row.iter().all(|&v| v == 1.0), "row {r} was written"),
            Some(i) => {
                let mut want =
                    reference::linear::linear(&got[i * n..(i + 1) * n], 1, &e2.dense, kk, n, None);
                want.iter_mut().for_each(|v| *v += 1.0);
                assert_close(&format!("scatter row {r}"), row, &want, 1e-4);
            }
        }
    }
}

#[test]
fn norms_match_reference() {
    let (ctx, k) = gpu();
    for (rows, cols) in [(1, 5), (7, 64), (33, 1152), (3, 4608)] {
        let x = random(rows * cols, 4);
        let w = random(cols, 5);
        let b = random(cols, 6);
        let gx = GpuTensor::from_slice(ctx, "x", &x).unwrap();
        let gy = GpuTensor::zeros(ctx, "y", rows * cols).unwrap();
        let gw = GpuTensor::from_slice(ctx, "w", &w).unwrap();
        let gb = GpuTensor::from_slice(ctx, "b", &b).unwrap();
        // RMSNorm on rows 1.. only: row 0 stays zero.
        run(rms_norm(ctx, k, &gx, &gy, &gw, (1, rows - 1, cols), 1e-6));
        let mut want = vec![0.0; cols];
        want.extend(reference::norm::rms_norm(&x[cols..], cols, &w, 1e-6));
        assert_close(&format!("rms_norm {rows}x{cols}"), &gy.read_all(ctx).unwrap(), &want, 1e-5);
        run(layer_norm(ctx, k, &gx, &gy, Some((&gw, &gb)), (rows, cols), 1e-6));
        let want = reference::norm::layer_norm(&x, cols, Some(&w), Some(&b), 1e-6);
        assert_close(&format!("layer_norm {rows}x{cols}"), &gy.read_all(ctx).unwrap(), &want, 1e-5);
        run(layer_norm(ctx, k, &gx, &gy, None, (rows, cols), 1e-5));
        let want = reference::norm::layer_norm(&x, cols, None, None, 1e-5);
        assert_close(
            &format!("layer_norm plain {rows}x{cols}"),
            &gy.read_all(ctx).unwrap(),
            &want,
            1e-5,
        );
    }
}

#[test]
fn rope_matches_reference() {
    let (ctx, k) = gpu();
    for (tokens, heads, hd) in [(5, 2, 16), (300, 14, 64), (17, 3, 72)] {
        let x = random(tokens * heads * hd, 7);
        let positions: Vec<u32> = (0..tokens as u32).map(|p| (p * 7) % 900).collect();
        let table = GpuTensor::from_slice(ctx, "table", &rope_table(&positions, hd, 1e6)).unwrap();
        let gx = GpuTensor::from_slice(ctx, "x", &x).unwrap();
        run(rope(ctx, k, &gx, &table, tokens, heads, hd, (heads * hd, 0)));
        let mut want = x.clone();
        reference::rope::rope(&mut want, tokens, heads, hd, &positions, 1e6);
        assert_close(
            &format!("rope {tokens}x{heads}x{hd}"),
            &gx.read_all(ctx).unwrap(),
            &want,
            1e-5,
        );
    }
}

fn attention_case(tokens: usize, heads: usize, kv_heads: usize, hd: usize, mask: Mask, seed: u64) {
    for k in families() {
        attention_family(k, tokens, heads, kv_heads, hd, mask, seed);
    }
}

fn attention_family(
    k: &KernelSet,
    tokens: usize,
    heads: usize,
    kv_heads: usize,
    hd: usize,
    mask: Mask,
    seed: u64,
) {
    let (ctx, _) = gpu();
    let q = random(tokens * heads * hd, seed);
    let kk = random(tokens * kv_heads * hd, seed + 1);
    let v = random(tokens * kv_heads * hd, seed + 2);
    let kvw = kv_heads * hd;
    let mut kv = Vec::with_capacity(tokens * 2 * kvw);
    for t in 0..tokens {
        kv.extend_from_slice(&kk[t * kvw..(t + 1) * kvw]);
        kv.extend_from_slice(&v[t * kvw..(t + 1) * kvw]);
    }
    let gq = GpuTensor::from_slice(ctx, "q", &q).unwrap();
    let gkv = GpuTensor::from_slice(ctx, "kv", &kv).unwrap();
    let go = GpuTensor::zeros(ctx, "o", tokens * heads * hd).unwrap();
    let layout = AttentionLayout {
        tokens,
        heads,
        kv_heads,
        head_dim: hd,
        q: (heads * hd, 0),
        kv: (2 * kvw, 0, kvw),
    };
    let scale = (hd as f32).powf(-0.5);
    run(attention(ctx, k, [&gq, &gkv, &go], layout, mask, scale));
    let shape =
        AttentionShape { q_tokens: tokens, k_tokens: tokens, heads, kv_heads, head_dim: hd };
    let want = match mask {
        Mask::Blocks { block } => {
            reference::attention::attention(&q, &kk, &v, shape, scale, &|a, b| {
                (a / block == b / block).then_some(0.0)
            })
        }
        Mask::Twin { n0, n1, common_bias } => {
            let mut ci = vec![0u8; n0];
            ci.extend(std::iter::repeat_n(1u8, n1));
            ci.extend(std::iter::repeat_n(2u8, n1));
            let twin = reference::twin_mask::TwinMask::new(&ci, common_bias != 0.0).unwrap();
            reference::attention::attention(&q, &kk, &v, shape, scale, &|a, b| twin.bias(a, b))
        }
    };
    assert_close(
        &format!(
            "{:?} attention {tokens} tokens {heads}/{kv_heads} heads d{hd} {mask:?}",
            k.matmul.strategy
        ),
        &go.read_all(ctx).unwrap(),
        &want,
        2e-5,
    );
}

#[test]
fn attention_matches_reference_with_every_mask() {
    attention_case(21 * 4, 4, 4, 16, Mask::Blocks { block: 21 }, 10);
    attention_case(3 * 70, 2, 2, 72, Mask::Blocks { block: 70 }, 11);
    attention_case(
        31 + 2 * 29,
        4,
        2,
        16,
        Mask::Twin { n0: 31, n1: 29, common_bias: std::f32::consts::LN_2 },
        12,
    );
    attention_case(100 + 2 * 65, 14, 2, 64, Mask::Twin { n0: 100, n1: 65, common_bias: 0.0 }, 13);
}

#[test]
fn elementwise_kernels_match_reference() {
    let (ctx, k) = gpu();
    let n = 1000;
    let x: Vec<f32> = random(n, 20).iter().map(|v| v * 4.0).collect();
    for (act, f) in [
        (Activation::GeluTanh, reference::activation::gelu_tanh as fn(f32) -> f32),
        (Activation::GeluErf, reference::activation::gelu_erf),
        (Activation::Silu, reference::activation::silu),
    ] {
        let g = GpuTensor::from_slice(ctx, "x", &x).unwrap();
        run(activation(ctx, k, act, &g, n));
        let want: Vec<f32> = x.iter().map(|&v| f(v)).collect();
        assert_close(&format!("{act:?}"), &g.read_all(ctx).unwrap(), &want, 1e-6);
    }
    // Rows of [gate | up]: the gate half becomes silu(gate) * up, the up half stays.
    let (rows, width) = (7, n / 7);
    let up = random(rows * width, 21);
    let gate = &x[..rows * width];
    let mut stacked = Vec::new();
    for r in 0..rows {
        stacked.extend_from_slice(&gate[r * width..(r + 1) * width]);
        stacked.extend_from_slice(&up[r * width..(r + 1) * width]);
    }
    let g = GpuTensor::from_slice(ctx, "gate_up", &stacked).unwrap();
    run(silu_mul(ctx, k, &g, rows, width));
    let got = g.read_all(ctx).unwrap();
    let want = reference::swiglu::swiglu(gate, &up);
    for r in 0..rows {
        let row = &got[r * 2 * width..(r + 1) * 2 * width];
        assert_close("silu_mul", &row[..width], &want[r * width..(r + 1) * width], 1e-6);
        assert_eq!(&row[width..], &up[r * width..(r + 1) * width], "up half changed");
    }
}

#[test]
fn pixel_shuffle_and_im2col_match_reference() {
    let (ctx, k) = gpu();
    let (grid, c) = (8, 5);
    let x = random(grid * grid * c, 30);
    let ids: Vec<f32> = (0..grid * grid).map(|i| i as f32).collect();
    let map: Vec<u32> =
        reference::pixel_shuffle::pixel_shuffle(&ids, grid, 1).iter().map(|&v| v as u32).collect();
    let map_buf =
        upload_bytes(ctx, "map", bytemuck::cast_slice(&map), wgpu::BufferUsages::STORAGE).unwrap();
    let gx = GpuTensor::from_slice(ctx, "x", &x).unwrap();
    let out = GpuTensor::zeros(ctx, "out", x.len()).unwrap();
    run(gather_rows(ctx, k, &gx, &out, &map_buf, (map.len(), c)));
    assert_eq!(out.read_all(ctx).unwrap(), reference::pixel_shuffle::pixel_shuffle(&x, grid, c));
    let (n, size, patch) = (2, 28, 14);
    let img = random(n * 3 * size * size, 31);
    let gi = GpuTensor::from_slice(ctx, "img", &img).unwrap();
    let cols = GpuTensor::zeros(ctx, "cols", n * 4 * 3 * patch * patch).unwrap();
    run(im2col(ctx, k, &gi, &cols, (n, size, patch)));
    let want: Vec<f32> = (0..n)
        .flat_map(|i| {
            reference::patch_embed::im2col(
                &img[i * 3 * size * size..(i + 1) * 3 * size * size],
                3,
                size,
                size,
                patch,
            )
        })
        .collect();
    assert_eq!(cols.read_all(ctx).unwrap(), want);
}

#[test]
fn resize_matches_reference_for_awkward_sizes() {
    let (ctx, k) = gpu();
    let out = 56;
    for (w, h) in [(640, 480), (33, 17), (56, 56), (100, 300)] {
        let mut rng = rand::rngs::StdRng::seed_from_u64((w * h) as u64);
        let data: Vec<u8> = (0..w * h * 3).map(|_| rng.random()).collect();
        let img = RgbImage::new(w, h, data).unwrap();
        let pixels = GpuTensor::zeros(ctx, "pixels", 2 * 3 * out * out).unwrap();
        let plan = ResizePlan::new(ctx, k, (w, h), out, &pixels, 1).unwrap();
        plan.upload(ctx, &img.data);
        Dispatch::run_all(ctx, &[&plan.dispatches[0], &plan.dispatches[1]]).unwrap();
        let mut want = reference::resize::resize_bicubic_aa(&img, out, out);
        reference::resize::normalize_siglip(&mut want);
        let got = pixels.read(ctx, 3 * out * out, 3 * out * out).unwrap();
        assert_close(&format!("resize {w}x{h}"), &got, &want, 2e-6);
    }
}

#[test]
fn routing_and_flow_step_follow_their_definitions() {
    let (ctx, k) = gpu();
    let (n0, n1) = (9, 4);
    let logits: Vec<f32> = vec![
        1.0, 2.0, 3.0, 0.0, 0.5, 0.5, -1.0, -0.5, 2.0, 2.5, 0.0, -1.0, 7.0, 7.0, 1.0, 1.1, 0.3, 0.2,
    ];
    let gl = GpuTensor::from_slice(ctx, "logits", &logits).unwrap();
    let bytes = ((1 + n0 + n1) * 4) as u64;
    let mk = |l: &str| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(l),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    };
    let (left, right, experts) = (mk("l"), mk("r"), mk("e"));
    run(moe_route(ctx, k, &gl, (&left, &right), &experts, (n0, n1)));
    let read = |b: &wgpu::Buffer| -> Vec<u32> {
        bytemuck::cast_slice(&twinvla_edge::gpu::buffer::read_bytes(ctx, b, 0, bytes).unwrap())
            .to_vec()
    };
    let choice: Vec<usize> = logits.chunks(2).map(reference::moe::top1).collect();
    let want_left: Vec<u32> = (0..n0)
        .filter(|&i| choice[i] == 0)
        .map(|i| i as u32)
        .chain((n0..n0 + n1).map(|i| i as u32))
        .collect();
    let want_right: Vec<u32> = (0..n0)
        .filter(|&i| choice[i] == 1)
        .map(|i| i as u32)
        .chain((n0 + n1..n0 + 2 * n1).map(|i| i as u32))
        .collect();
    let l = read(&left);
    let r = read(&right);
    assert_eq!(&l[1..1 + l[0] as usize], want_left.as_slice());
    assert_eq!(&r[1..1 + r[0] as usize], want_right.as_slice());
    // Flow step with guidance: a += dt * (u + cfg (c - u)), clamped.
    let (t, a) = (3, 2);
    let out = random(4 * (t + 1) * a, 40);
    let acts: Vec<f32> = random(2 * t * a, 41).iter().map(|v| v * 3.0).collect();
    let go = GpuTensor::from_slice(ctx, "out", &out).unwrap();
    let ga = GpuTensor::from_slice(ctx, "a", &acts).unwrap();
    run(flow_step(ctx, k, &go, &ga, (t, a), Some(1.5), -0.5));
    let mut want = acts.clone();
    for s in 0..2 {
        for i in 0..t * a {
            let c = out[(s * (t + 1) + 1) * a + i];
            let u = out[((s + 2) * (t + 1) + 1) * a + i];
            want[s * t * a + i] =
                (acts[s * t * a + i] + -0.5 * (u + 1.5 * (c - u))).clamp(-5.0, 5.0);
        }
    }
    assert_close("flow_step", &ga.read_all(ctx).unwrap(), &want, 1e-6);
}

#[test]
fn matmul_reads_a_column_range_and_writes_at_a_column_offset() {
    let (ctx, _) = gpu();
    let dummy = dummy();
    let (m, n, cols, first, k) = (9, 70, 128, 32, 75);
    let (x_stride, y_stride, y_column) = (k + 3, n + 11, 6);
    let x = random(m * x_stride, 41);
    for family in matmul_families() {
        for format in [WeightFormat::F32, WeightFormat::F16, WeightFormat::Q8, WeightFormat::Q4] {
            let e = encode(format, &random(n * cols, 42), n, cols);
            let gw = upload(&e, None);
            let gx = GpuTensor::from_slice(ctx, "x", &x).unwrap();
            let gy = GpuTensor::from_slice(ctx, "y", &vec![0.5; m * y_stride]).unwrap();
            let op = MatmulOp {
                weight: &gw,
                x: &gx,
                x_stride,
                y: &gy,
                y_stride,
                rows: Rows::Direct { count: m, x_first: 0, y_first: 0 },
                accumulate: false,
                columns: Some((first, k)),
                y_column,
            };
            run(matmul(ctx, family, &op, &dummy));
            let got = gy.read_all(ctx).unwrap();
            let dense: Vec<f32> = (0..n)
                .flat_map(|r| e.dense[r * cols + first..r * cols + first + k].to_vec())
                .collect();
            for r in 0..m {
                let want = reference::linear::linear(
                    &x[r * x_stride..r * x_stride + k],
                    1,
                    &dense,
                    n,
                    k,
                    None,
                );
                let row = &got[r * y_stride..(r + 1) * y_stride];
                let what = format!("{:?} {format:?} row {r}", family.strategy);
                assert_close(&what, &row[y_column..y_column + n], &want, 1e-4);
                let untouched = row[..y_column].iter().chain(&row[y_column + n..]);
                assert!(untouched.into_iter().all(|&v| v == 0.5), "{what}: wrote outside");
            }
        }
    }
}
