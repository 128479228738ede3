//! Builds the recorded inference for one sequence layout, image sizes, step count and
//! guidance: activation buffers sized once, and every stage's dispatches in the order of
//! `twinvla-spec.md` (preprocess, SigLIP, projector, twin decoder, DiT flow matching).

use crate::gpu::attention::{attention, AttentionLayout, Mask};
use crate::gpu::buffer::{upload_bytes, GpuTensor};
use crate::gpu::context::{GpuContext, GpuError};
use crate::gpu::elementwise::{activation, gather_rows, im2col, silu_mul, Activation};
use crate::gpu::flow::{dit_assemble, flow_step, AssembleInputs};
use crate::gpu::matmul::{matmul, GpuWeight, MatmulOp, Rows};
use crate::gpu::moe::moe_route;
use crate::gpu::norm::{layer_norm, rms_norm};
use crate::gpu::resize::ResizePlan;
use crate::gpu::rope::{rope, rope_table};
use crate::gpu::set::KernelSet;
use crate::model::config::ModelConfig;
use crate::model::prompt::SequenceLayout;
use crate::reference::pixel_shuffle::pixel_shuffle;

use super::program::{Program, Stage};
use super::weights::DeviceWeights;

/// Number of camera images per observation.
pub const IMAGES: usize = 3;

/// The fixed inputs of a program: what it was built for.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramKey {
    /// Sizes `(width, height)` of the three images.
    pub image_sizes: [(usize, usize); IMAGES],
    /// Denoising steps.
    pub steps: usize,
    /// Guidance scale when > 1 (four DiT sequences), else none (two).
    pub guidance: Option<f32>,
    /// Token count of the layout.
    pub tokens: usize,
}

/// The buffers the host writes before a run and reads after it.
#[derive(Debug)]
pub struct Io {
    /// Per-image resize passes with their upload buffers.
    pub resize: Vec<ResizePlan>,
    /// Input embeddings `[T, D]`, written by the host (text and readout rows).
    pub hidden: GpuTensor,
    /// Normalised proprio `[2, S]` (left, right).
    pub proprio: GpuTensor,
    /// The action-head input `[2, D + S]`; the host writes the proprio columns.
    pub combine_in: GpuTensor,
    /// Actions `[2, T_a, A]`: the host writes the initial noise; the result is read back.
    pub actions: GpuTensor,
    /// Final hidden states `[T, D]` (for tests and diagnostics).
    pub final_hidden: GpuTensor,
    /// Image embeddings `[3 * 256, D]` (for tests and diagnostics).
    pub image_embeds: GpuTensor,
    /// The three images after preprocessing `[3, 3, S, S]` (for tests).
    pub pixels: GpuTensor,
    /// Vision tower output `[3 * P, C]` (for tests).
    pub vision_out: GpuTensor,
}

struct Builder<'a> {
    ctx: &'a GpuContext,
    k: &'a KernelSet,
    dummy: wgpu::Buffer,
}

impl Builder<'_> {
    fn buf(&self, label: &str, len: usize) -> Result<GpuTensor, GpuError> {
        GpuTensor::zeros(self.ctx, label, len)
    }

    /// A direct matmul over `count` rows.
    #[allow(clippy::too_many_arguments)]
    fn linear(
        &self,
        w: &GpuWeight,
        x: &GpuTensor,
        y: &GpuTensor,
        (count, x_first, y_first): (usize, usize, usize),
        (x_stride, y_stride, y_column): (usize, usize, usize),
        accumulate: bool,
    ) -> Result<crate::gpu::kernel::Dispatch, GpuError> {
        matmul(
            self.ctx,
            &self.k.matmul,
            &MatmulOp {
                weight: w,
                x,
                x_stride,
                y,
                y_stride,
                rows: Rows::Direct { count, x_first, y_first },
                accumulate,
                columns: None,
                y_column,
            },
            &self.dummy,
        )
    }

    /// A dense matmul of all `rows` rows with natural strides.
    fn dense(
        &self,
        w: &GpuWeight,
        x: &GpuTensor,
        y: &GpuTensor,
        rows: usize,
        accumulate: bool,
    ) -> Result<crate::gpu::kernel::Dispatch, GpuError> {
        self.linear(w, x, y, (rows, 0, 0), (w.cols, w.rows, 0), accumulate)
    }
}

/// Builds the program and its IO buffers.
pub fn build(
    ctx: &GpuContext,
    k: &KernelSet,
    config: &ModelConfig,
    w: &DeviceWeights,
    layout: &SequenceLayout,
    key: &ProgramKey,
) -> Result<(Program, Io), GpuError> {
    let b = Builder {
        ctx,
        k,
        dummy: upload_bytes(ctx, "dummy", &[0; 16], wgpu::BufferUsages::STORAGE)?,
    };
    let v = &config.vision;
    let l = &config.llm;
    let (c, s, p) = (v.hidden_size, v.image_size, v.patch_size);
    let patches = v.num_patches();
    let vrows = IMAGES * patches;
    let d = l.hidden_size;
    let img_tokens = config.image_tokens();
    let sw = config.shuffled_width();
    let t = layout.len();
    let (n0, n1) = (layout.n_common, layout.n_left);
    if layout.n_right != n1 || n0 + 2 * n1 != t {
        return Err(GpuError::Shape(format!(
            "layout segments {n0}/{}/{} do not form the twin sequence",
            layout.n_left, layout.n_right
        )));
    }
    let mut program = Program::default();

    // Preprocess: resize and normalise each image into its slot.
    let pixels = b.buf("pixels", IMAGES * 3 * s * s)?;
    let mut pre = Stage::new("preprocess");
    let mut resize = Vec::with_capacity(IMAGES);
    for (slot, &(iw, ih)) in key.image_sizes.iter().enumerate() {
        let plan = ResizePlan::new(ctx, k, (iw, ih), s, &pixels, slot)?;
        for d in &plan.dispatches {
            pre.steps.push(super::program::Step::Dispatch(d.clone()));
        }
        resize.push(plan);
    }
    program.stages.push(pre);

    // SigLIP over the three images as one batch.
    let mut vis = Stage::new("vision");
    let cols = b.buf("im2col", vrows * 3 * p * p)?;
    let vh = b.buf("vision hidden", vrows * c)?;
    let vn = b.buf("vision normed", vrows * c)?;
    let vqkv = b.buf("vision qkv", vrows * 3 * c)?;
    let vattn = b.buf("vision attention", vrows * c)?;
    let vmlp = b.buf("vision mlp", vrows * v.intermediate_size)?;
    let vout = b.buf("vision out", vrows * c)?;
    vis.push(im2col(ctx, k, &pixels, &cols, (IMAGES, s, p)))?;
    for i in 0..IMAGES {
        vis.copy(&w.position, 0, &vh, i * patches * c, patches * c)?;
    }
    vis.push(b.dense(&w.patch, &cols, &vh, vrows, true))?;
    let vhead = v.head_dim();
    for layer in &w.vision_layers {
        vis.push(layer_norm(
            ctx,
            k,
            &vh,
            &vn,
            Some((&layer.ln1.0, &layer.ln1.1)),
            (vrows, c),
            v.layer_norm_eps,
        ))?;
        vis.push(b.dense(&layer.qkv, &vn, &vqkv, vrows, false))?;
        let att = AttentionLayout {
            tokens: vrows,
            heads: v.num_heads,
            kv_heads: v.num_heads,
            head_dim: vhead,
            q: (3 * c, 0),
            kv: (3 * c, c, 2 * c),
        };
        vis.push(attention(
            ctx,
            k,
            [&vqkv, &vqkv, &vattn],
            att,
            Mask::Blocks { block: patches },
            (vhead as f32).powf(-0.5),
        ))?;
        vis.push(b.dense(&layer.out, &vattn, &vh, vrows, true))?;
        vis.push(layer_norm(
            ctx,
            k,
            &vh,
            &vn,
            Some((&layer.ln2.0, &layer.ln2.1)),
            (vrows, c),
            v.layer_norm_eps,
        ))?;
        vis.push(b.dense(&layer.fc1, &vn, &vmlp, vrows, false))?;
        vis.push(activation(ctx, k, Activation::GeluTanh, &vmlp, vrows * v.intermediate_size))?;
        vis.push(b.dense(&layer.fc2, &vmlp, &vh, vrows, true))?;
    }
    vis.push(layer_norm(
        ctx,
        k,
        &vh,
        &vout,
        Some((&w.post_ln.0, &w.post_ln.1)),
        (vrows, c),
        v.layer_norm_eps,
    ))?;

    // Projector: pixel shuffle (a gather whose map comes from the reference shuffle), mlp1.
    let grid = v.grid();
    let token_ids: Vec<f32> = (0..grid * grid).map(|i| i as f32).collect();
    let shuffled_ids = pixel_shuffle(&token_ids, grid, 1);
    let mut map = Vec::with_capacity(IMAGES * shuffled_ids.len());
    for img in 0..IMAGES {
        map.extend(shuffled_ids.iter().map(|&id| (img * patches) as u32 + id as u32));
    }
    let map_buf = upload_bytes(
        ctx,
        "pixel shuffle map",
        bytemuck::cast_slice(&map),
        wgpu::BufferUsages::STORAGE,
    )?;
    let prows = IMAGES * img_tokens;
    let shuffled = b.buf("shuffled", prows * sw)?;
    let sn = b.buf("shuffled normed", prows * sw)?;
    let p1 = b.buf("mlp1 hidden", prows * d)?;
    let image_embeds = b.buf("image embeds", prows * d)?;
    vis.push(gather_rows(ctx, k, &vout, &shuffled, &map_buf, (map.len(), c)))?;
    vis.push(layer_norm(
        ctx,
        k,
        &shuffled,
        &sn,
        Some((&w.mlp1_ln.0, &w.mlp1_ln.1)),
        (prows, sw),
        1e-5,
    ))?;
    vis.push(b.dense(&w.mlp1[0], &sn, &p1, prows, false))?;
    vis.push(activation(ctx, k, Activation::GeluErf, &p1, prows * d))?;
    vis.push(b.dense(&w.mlp1[1], &p1, &image_embeds, prows, false))?;
    program.stages.push(vis);

    // Twin decoder.
    let mut dec = Stage::new("decoder");
    let hidden = b.buf("hidden", t * d)?;
    // Image rows: modal ids 1, 2, 3 are each one contiguous run of `img_tokens` positions.
    for (img, modal) in [1u8, 2, 3].into_iter().enumerate() {
        let first = layout
            .modal_ids
            .iter()
            .position(|&m| m == modal)
            .ok_or_else(|| GpuError::Shape(format!("layout has no image slot {modal}")))?;
        dec.copy(&image_embeds, img * img_tokens * d, &hidden, first * d, img_tokens * d)?;
    }
    let proprio = b.buf("proprio", 2 * config.state_dim)?;
    for (arm, &pos) in layout.proprio_positions.iter().enumerate() {
        dec.push(b.linear(
            &w.arm_state,
            &proprio,
            &hidden,
            (1, arm, pos),
            (config.state_dim, d, 0),
            false,
        ))?;
    }
    let hd = l.head_dim();
    let (qw, kvw) = (l.num_heads * hd, l.num_kv_heads * hd);
    let xn = b.buf("normed", t * d)?;
    // Rows of [q | k | v], written by one stacked projection per segment.
    let qkvw = qw + 2 * kvw;
    let qkv = b.buf("qkv", t * qkvw)?;
    let att = b.buf("attention", t * qw)?;
    let table = GpuTensor::from_slice(
        ctx,
        "rope table",
        &rope_table(&layout.position_ids, hd, l.rope_theta),
    )?;
    let logits = b.buf("gate logits", 2 * n0.max(1))?;
    let list_bytes = ((1 + n0 + n1) * 4) as u64;
    let list = |label: &str| {
        ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: list_bytes,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        })
    };
    let lists = [list("left rows"), list("right rows")];
    let experts = list("experts");
    let inter = l.intermediate_size;
    // Rows of [gate | up] for the tokens routed to one expert.
    let gate_up = b.buf("mlp gate and up", (n0 + n1) * 2 * inter)?;
    let segments = [(0, n0), (n0, n1), (n0 + n1, n1)];
    let bias = if config.attn_reweighting { std::f32::consts::LN_2 } else { 0.0 };
    for layer in &w.layers {
        for (seg, &(first, count)) in layer.segments.iter().zip(&segments) {
            dec.push(rms_norm(
                ctx,
                k,
                &hidden,
                &xn,
                &seg.input_norm,
                (first, count, d),
                l.rms_norm_eps,
            ))?;
            dec.push(b.linear(&seg.qkv, &xn, &qkv, (count, first, first), (d, qkvw, 0), false))?;
        }
        dec.push(rope(ctx, k, &qkv, &table, t, l.num_heads, hd, (qkvw, 0)))?;
        dec.push(rope(ctx, k, &qkv, &table, t, l.num_kv_heads, hd, (qkvw, qw)))?;
        let a = AttentionLayout {
            tokens: t,
            heads: l.num_heads,
            kv_heads: l.num_kv_heads,
            head_dim: hd,
            q: (qkvw, 0),
            kv: (qkvw, qw, qw + kvw),
        };
        dec.push(attention(
            ctx,
            k,
            [&qkv, &qkv, &att],
            a,
            Mask::Twin { n0, n1, common_bias: bias },
            (hd as f32).powf(-0.5),
        ))?;
        for (seg, &(first, count)) in layer.segments.iter().zip(&segments) {
            dec.push(b.linear(&seg.o, &att, &hidden, (count, first, first), (qw, d, 0), true))?;
            dec.push(rms_norm(
                ctx,
                k,
                &hidden,
                &xn,
                &seg.post_norm,
                (first, count, d),
                l.rms_norm_eps,
            ))?;
        }
        dec.push(b.linear(&layer.router, &xn, &logits, (n0, 0, 0), (d, 2, 0), false))?;
        dec.push(moe_route(ctx, k, &logits, (&lists[0], &lists[1]), &experts, (n0, n1)))?;
        for (mlp, rows) in layer.experts.iter().zip(&lists) {
            let gathered = |wt: &GpuWeight, y: &GpuTensor| {
                matmul(
                    ctx,
                    &k.matmul,
                    &MatmulOp {
                        weight: wt,
                        x: &xn,
                        x_stride: d,
                        y,
                        y_stride: 2 * inter,
                        rows: Rows::Indexed {
                            list: rows,
                            first: 0,
                            max: n0 + n1,
                            gather_x: true,
                            scatter_y: false,
                        },
                        accumulate: false,
                        columns: None,
                        y_column: 0,
                    },
                    &b.dummy,
                )
            };
            dec.push(gathered(&mlp.gate_up, &gate_up))?;
            dec.push(silu_mul(ctx, k, &gate_up, n0 + n1, inter))?;
            dec.push(matmul(
                ctx,
                &k.matmul,
                &MatmulOp {
                    weight: &mlp.down,
                    x: &gate_up,
                    x_stride: 2 * inter,
                    y: &hidden,
                    y_stride: d,
                    rows: Rows::Indexed {
                        list: rows,
                        first: 0,
                        max: n0 + n1,
                        gather_x: false,
                        scatter_y: true,
                    },
                    accumulate: true,
                    columns: None,
                    y_column: 0,
                },
                &b.dummy,
            ))?;
        }
    }
    let final_hidden = b.buf("final hidden", t * d)?;
    dec.push(rms_norm(ctx, k, &hidden, &final_hidden, &w.final_norm, (0, t, d), l.rms_norm_eps))?;
    program.stages.push(dec);

    // Action head: combine, condition and time embeddings, then the flow-matching loop.
    let mut head = Stage::new("action head");
    let sdim = config.state_dim;
    let adim = config.action_dim;
    let ta = config.action_len;
    let dh = config.dit.hidden_size;
    let seqs = if key.guidance.is_some() { 4 } else { 2 };
    let combine_in = b.buf("combine in", 2 * (d + sdim))?;
    for (arm, &pos) in layout.readout_positions.iter().take(2).enumerate() {
        head.copy(&final_hidden, pos * d, &combine_in, arm * (d + sdim), d)?;
    }
    let zrows = b.buf("z rows", seqs * d)?;
    head.push(b.dense(&w.combine, &combine_in, &zrows, 2, false))?;
    if key.guidance.is_some() {
        let u = w
            .uncondition
            .as_ref()
            .ok_or_else(|| GpuError::Shape("guidance needs z_embedder.uncondition".into()))?;
        head.copy(u, 0, &zrows, 2 * d, d)?;
        head.copy(u, 0, &zrows, 3 * d, d)?;
    }
    let zemb = b.buf("z embedding", seqs * dh)?;
    head.push(b.dense(&w.z_embedder, &zrows, &zemb, seqs, false))?;
    let freq_dim = config.dit.frequency_embedding_size;
    let freqs: Vec<f32> = (0..key.steps)
        .flat_map(|step| {
            crate::reference::timestep::timestep_embedding(
                1.0 - step as f32 / key.steps as f32,
                freq_dim,
                10_000.0,
            )
        })
        .collect();
    let tfreq = GpuTensor::from_slice(ctx, "time frequencies", &freqs)?;
    let t1 = b.buf("time hidden", key.steps * dh)?;
    let temb = b.buf("time embedding", key.steps * dh)?;
    head.push(b.dense(&w.t_embedder[0], &tfreq, &t1, key.steps, false))?;
    head.push(activation(ctx, k, Activation::Silu, &t1, key.steps * dh))?;
    head.push(b.dense(&w.t_embedder[1], &t1, &temb, key.steps, false))?;
    let actions = b.buf("actions", 2 * ta * adim)?;
    let xemb = b.buf("action embedding", 2 * ta * dh)?;
    let rows = seqs * (ta + 1);
    let x = b.buf("dit x", rows * dh)?;
    let xn2 = b.buf("dit normed", rows * dh)?;
    let qkv = b.buf("dit qkv", rows * 3 * dh)?;
    let datt = b.buf("dit attention", rows * dh)?;
    let dmlp = b.buf("dit mlp", rows * config.dit.mlp_hidden)?;
    let out = b.buf("dit out", rows * adim)?;
    let dhead = dh / config.dit.num_heads;
    let dt = (-1.0f64 / key.steps as f64) as f32;
    for step in 0..key.steps {
        head.push(b.dense(&w.x_embedder, &actions, &xemb, 2 * ta, false))?;
        let inputs = AssembleInputs {
            t_emb: &temb,
            z_emb: &zemb,
            x_emb: &xemb,
            pos: &w.dit_position,
            out: &x,
        };
        head.push(dit_assemble(ctx, k, &inputs, (seqs, ta + 1, dh, step)))?;
        for blk in &w.dit_blocks {
            head.push(layer_norm(ctx, k, &x, &xn2, None, (rows, dh), 1e-6))?;
            head.push(b.dense(&blk.qkv, &xn2, &qkv, rows, false))?;
            let a = AttentionLayout {
                tokens: rows,
                heads: config.dit.num_heads,
                kv_heads: config.dit.num_heads,
                head_dim: dhead,
                q: (3 * dh, 0),
                kv: (3 * dh, dh, 2 * dh),
            };
            head.push(attention(
                ctx,
                k,
                [&qkv, &qkv, &datt],
                a,
                Mask::Blocks { block: ta + 1 },
                (dhead as f32).powf(-0.5),
            ))?;
            head.push(b.dense(&blk.proj, &datt, &x, rows, true))?;
            head.push(layer_norm(ctx, k, &x, &xn2, None, (rows, dh), 1e-6))?;
            head.push(b.dense(&blk.fc1, &xn2, &dmlp, rows, false))?;
            head.push(activation(
                ctx,
                k,
                Activation::GeluTanh,
                &dmlp,
                rows * config.dit.mlp_hidden,
            ))?;
            head.push(b.dense(&blk.fc2, &dmlp, &x, rows, true))?;
        }
        head.push(layer_norm(ctx, k, &x, &xn2, None, (rows, dh), 1e-6))?;
        head.push(b.dense(&w.dit_final, &xn2, &out, rows, false))?;
        head.push(flow_step(ctx, k, &out, &actions, (ta, adim), key.guidance, dt))?;
    }
    program.stages.push(head);
    let io = Io {
        resize,
        hidden,
        proprio,
        combine_in,
        actions,
        final_hidden,
        image_embeds,
        pixels,
        vision_out: vout,
    };
    Ok((program, io))
}
