//! `y (+)= x · Wᵀ + b` with a stored weight in any format (f32, f16, q8, q4), dequantized in
//! registers. The CPU twin is [`crate::reference::linear::linear`].
//!
//! Three kernel families compute the same thing: [`MatmulStrategy::Tiled`] stages 64 x 64
//! tiles in workgroup memory (what GPUs want); [`MatmulStrategy::Register`] and
//! [`MatmulStrategy::Subgroup`] keep everything in registers with no barrier (what CPU drivers
//! such as lavapipe want), the latter sharing x loads through subgroup shuffles. The adapter
//! picks one; `TWINVLA_KERNELS=tiled|register|subgroup` overrides it.

use bytemuck::{Pod, Zeroable};

use super::buffer::{upload_bytes, GpuTensor};
use super::context::{GpuContext, GpuError};
use super::kernel::{Dispatch, Kernel};
use crate::model::file::Weight;
use crate::model::quant::{WeightFormat, BLOCK};

const COMMON: &str = include_str!("../../shaders/matmul_common.wgsl");

/// The environment variable that overrides the device's choice of kernel family (matmul and
/// attention).
pub const STRATEGY_ENV: &str = "TWINVLA_KERNELS";

/// Which matmul kernel family runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulStrategy {
    /// 64 x 64 output tiles staged in workgroup memory, 4 x 4 per invocation: for GPUs.
    Tiled,
    /// 4 rows x 2 columns per invocation in registers, no workgroup memory or barrier, rows
    /// shared by the workgroup: for CPU adapters without subgroups.
    Register,
    /// 4 rows x 4 columns per invocation in registers, x read once per subgroup and shared by
    /// shuffles: for CPU adapters with subgroups of 8 or more invocations.
    Subgroup,
}

impl MatmulStrategy {
    /// The family for a device: on CPU adapters [`Self::Subgroup`] where it can run, else
    /// [`Self::Register`]; on GPUs [`Self::Tiled`]. `TWINVLA_KERNELS=tiled|register|subgroup`
    /// overrides the choice (an error if the device cannot run the family asked for).
    pub fn for_device(ctx: &GpuContext) -> Result<Self, GpuError> {
        let chosen = match std::env::var(STRATEGY_ENV) {
            Ok(v) => v.parse()?,
            Err(_) if ctx.info.device_type != wgpu::DeviceType::Cpu => Self::Tiled,
            Err(_) if Self::Subgroup.runs_on(ctx) => Self::Subgroup,
            Err(_) => Self::Register,
        };
        if !chosen.runs_on(ctx) {
            return Err(GpuError::Config(format!(
                "{STRATEGY_ENV}=subgroup needs subgroups of at least 8 invocations; {} has {}",
                ctx.info.name,
                if ctx.subgroups { "smaller ones" } else { "none" }
            )));
        }
        Ok(chosen)
    }

    /// Whether the device can run this family.
    pub fn runs_on(self, ctx: &GpuContext) -> bool {
        match self {
            Self::Tiled | Self::Register => true,
            Self::Subgroup => ctx.subgroups && ctx.info.subgroup_min_size >= 8,
        }
    }

    /// Output rows and columns one workgroup covers.
    fn tile(self) -> (usize, usize) {
        match self {
            Self::Tiled => (64, 64),
            Self::Register => (4, 128),
            Self::Subgroup => (4, 256),
        }
    }

    fn body(self) -> &'static str {
        match self {
            Self::Tiled => include_str!("../../shaders/matmul_tiled.wgsl"),
            Self::Register => include_str!("../../shaders/matmul_register.wgsl"),
            Self::Subgroup => include_str!("../../shaders/matmul_subgroup.wgsl"),
        }
    }
}

impl std::str::FromStr for MatmulStrategy {
    type Err = GpuError;

    fn from_str(s: &str) -> Result<Self, GpuError> {
        match s {
            "tiled" => Ok(Self::Tiled),
            "register" => Ok(Self::Register),
            "subgroup" => Ok(Self::Subgroup),
            other => Err(GpuError::Config(format!(
                "{STRATEGY_ENV}={other:?}: expected \"tiled\", \"register\" or \"subgroup\""
            ))),
        }
    }
}

/// The matmul pipelines of one family, one per weight format.
#[derive(Debug)]
pub struct MatmulKernels {
    /// The family these pipelines belong to.
    pub strategy: MatmulStrategy,
    f32: Kernel,
    f16: Kernel,
    q8: Kernel,
    q4: Kernel,
}

impl MatmulKernels {
    /// Compiles the four variants of `strategy` (which must [`MatmulStrategy::runs_on`] the
    /// device).
    pub fn with_strategy(ctx: &GpuContext, strategy: MatmulStrategy) -> Self {
        let build = |format: &str, snippet: &str| {
            // The common part declares `p` and `w`, which the snippet's functions use.
            let source = format!("{COMMON}\n{}\n{snippet}", strategy.body());
            let name = format!("matmul_{format}_{strategy:?}").to_lowercase();
            Kernel::new(ctx, &name, &source, "main")
        };
        Self {
            strategy,
            f32: build("f32", include_str!("../../shaders/weights_f32.wgsl")),
            f16: build("f16", include_str!("../../shaders/weights_f16.wgsl")),
            q8: build("q8", include_str!("../../shaders/weights_q8.wgsl")),
            q4: build("q4", include_str!("../../shaders/weights_q4.wgsl")),
        }
    }

    fn kernel(&self, format: WeightFormat) -> &Kernel {
        match format {
            WeightFormat::F32 => &self.f32,
            WeightFormat::F16 => &self.f16,
            WeightFormat::Q8 => &self.q8,
            WeightFormat::Q4 => &self.q4,
        }
    }
}

/// A weight matrix resident on the GPU, with its optional bias.
#[derive(Debug)]
pub struct GpuWeight {
    /// Name (for errors and reports).
    pub name: String,
    /// Storage format.
    pub format: WeightFormat,
    /// Output features.
    pub rows: usize,
    /// Input features (logical).
    pub cols: usize,
    /// Stored columns.
    pub padded_cols: usize,
    values: wgpu::Buffer,
    scales: Option<wgpu::Buffer>,
    mins: Option<wgpu::Buffer>,
    bias: Option<wgpu::Buffer>,
}

impl GpuWeight {
    /// Uploads `weight` (straight from the model file's bytes) and an optional f32 bias.
    pub fn upload(
        ctx: &GpuContext,
        name: &str,
        weight: &Weight<'_>,
        bias: Option<&[f32]>,
    ) -> Result<Self, GpuError> {
        if let Some(b) = bias {
            if b.len() != weight.rows {
                return Err(GpuError::Shape(format!(
                    "{name}: bias has {} values for {} rows",
                    b.len(),
                    weight.rows
                )));
            }
        }
        let ro = wgpu::BufferUsages::STORAGE;
        let opt = |bytes: &[u8], what: &str| -> Result<Option<wgpu::Buffer>, GpuError> {
            if bytes.is_empty() {
                Ok(None)
            } else {
                upload_bytes(ctx, &format!("{name}.{what}"), bytes, ro).map(Some)
            }
        };
        Ok(Self {
            name: name.into(),
            format: weight.format,
            rows: weight.rows,
            cols: weight.cols,
            padded_cols: weight.padded_cols,
            values: upload_bytes(ctx, name, weight.values, ro)?,
            scales: opt(weight.scales, "scales")?,
            mins: opt(weight.mins, "mins")?,
            bias: bias
                .map(|b| upload_bytes(ctx, &format!("{name}.bias"), bytemuck::cast_slice(b), ro))
                .transpose()?,
        })
    }

    /// Uploads several weights of one format and width as one, their rows stacked in order
    /// (q, k and v projections; gate and up projections): one dispatch then computes all of
    /// them. `biases` holds one bias per part, or none at all.
    pub fn upload_stacked(
        ctx: &GpuContext,
        name: &str,
        parts: &[Weight<'_>],
        biases: &[Vec<f32>],
    ) -> Result<Self, GpuError> {
        let Some(first) = parts.first() else {
            return Err(GpuError::Shape(format!("{name}: nothing to stack")));
        };
        if !biases.is_empty() && biases.len() != parts.len() {
            return Err(GpuError::Shape(format!(
                "{name}: {} biases for {} weights",
                biases.len(),
                parts.len()
            )));
        }
        let blocks = first.padded_cols / BLOCK;
        let mut values = Vec::new();
        let mut scales = Vec::new();
        let mut mins = Vec::new();
        for part in parts {
            if part.format != first.format
                || part.cols != first.cols
                || part.padded_cols != first.padded_cols
            {
                return Err(GpuError::Shape(format!(
                    "{name}: stacked weights differ in format or width"
                )));
            }
            // Each stream holds exactly `rows` stored rows; the file may pad the stream's end.
            let take = |stream: &[u8], bytes: usize| -> Result<Vec<u8>, GpuError> {
                stream.get(..bytes).map(<[u8]>::to_vec).ok_or_else(|| {
                    GpuError::Shape(format!("{name}: a stacked weight's stream is short"))
                })
            };
            let row_bytes = part.format.row_bytes(part.padded_cols);
            values.extend(take(part.values, part.rows * row_bytes)?);
            if !part.scales.is_empty() {
                scales.extend(take(part.scales, part.rows * blocks * 2)?);
            }
            if !part.mins.is_empty() {
                mins.extend(take(part.mins, part.rows * blocks * 2)?);
            }
        }
        let stacked = Weight {
            format: first.format,
            rows: parts.iter().map(|p| p.rows).sum(),
            cols: first.cols,
            padded_cols: first.padded_cols,
            values: &values,
            scales: &scales,
            mins: &mins,
        };
        let bias: Vec<f32> = biases.concat();
        Self::upload(ctx, name, &stacked, (!biases.is_empty()).then_some(bias.as_slice()))
    }

    /// Bytes of the weight streams on the GPU.
    pub fn bytes(&self) -> u64 {
        self.values.size()
            + self.scales.as_ref().map_or(0, |b| b.size())
            + self.mins.as_ref().map_or(0, |b| b.size())
    }
}

/// How rows of `x` and `y` are addressed.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    /// `count` consecutive rows starting at `x_first` in x and `y_first` in y.
    Direct {
        /// Rows.
        count: usize,
        /// First row of x.
        x_first: usize,
        /// First row of y.
        y_first: usize,
    },
    /// Rows listed in `list` (`list[0]` = count, then indices; at most `max` rows): x rows
    /// gathered through the list when `gather_x`, y rows scattered when `scatter_y`, others
    /// consecutive from 0.
    Indexed {
        /// The row list buffer.
        list: &'a wgpu::Buffer,
        /// First list entry used.
        first: usize,
        /// Upper bound on the count, for the grid size.
        max: usize,
        /// Gather x rows.
        gather_x: bool,
        /// Scatter y rows.
        scatter_y: bool,
    },
}

/// One matmul: which weight, which buffers, which rows.
pub struct MatmulOp<'a> {
    /// The weight.
    pub weight: &'a GpuWeight,
    /// Input activations, rows of `x_stride` elements.
    pub x: &'a GpuTensor,
    /// Elements between rows of x.
    pub x_stride: usize,
    /// Output, rows of `y_stride` elements.
    pub y: &'a GpuTensor,
    /// Elements between rows of y.
    pub y_stride: usize,
    /// Row addressing.
    pub rows: Rows<'a>,
    /// Add into y instead of overwriting it (fused residual).
    pub accumulate: bool,
    /// Use only weight columns `[col_offset, col_offset + k)` (multiple of 32); `k` defaults
    /// to all columns.
    pub columns: Option<(usize, usize)>,
    /// First column of y written (outputs go to `y_column..y_column + n` of each row).
    pub y_column: usize,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    x_stride: u32,
    y_stride: u32,
    x_offset: u32,
    y_offset: u32,
    flags: u32,
    w_row_words: u32,
    w_blocks: u32,
    w_col_offset: u32,
    y_col_offset: u32,
}

/// Checks the shapes of `op` and builds its dispatch.
pub fn matmul(
    ctx: &GpuContext,
    kernels: &MatmulKernels,
    op: &MatmulOp<'_>,
    dummy: &wgpu::Buffer,
) -> Result<Dispatch, GpuError> {
    let w = op.weight;
    let (col_offset, k) = op.columns.unwrap_or((0, w.cols));
    let err = |msg: String| Err(GpuError::Shape(format!("matmul {}: {msg}", w.name)));
    if col_offset % BLOCK != 0 || col_offset + k > w.cols {
        return err(format!(
            "columns {col_offset}..{} outside 0..{} or misaligned",
            col_offset + k,
            w.cols
        ));
    }
    if op.x_stride < k || op.y_stride < op.y_column + w.rows {
        return err(format!(
            "strides x {} / y {} too small for k {k} / n {}",
            op.x_stride, op.y_stride, w.rows
        ));
    }
    let (m, x_offset, y_offset, flags_rows, list, max_rows) = match op.rows {
        Rows::Direct { count, x_first, y_first } => {
            if (x_first + count) * op.x_stride > op.x.len
                || (y_first + count) * op.y_stride > op.y.len
            {
                return err(format!(
                    "rows {x_first}+{count} / {y_first}+{count} exceed the buffers"
                ));
            }
            (count, x_first, y_first, 0u32, dummy, count)
        }
        Rows::Indexed { list, first, max, gather_x, scatter_y } => {
            let flags = if gather_x { 4 } else { 0 } | if scatter_y { 8 } else { 0 };
            if flags == 0 {
                return err("an indexed matmul must gather or scatter".into());
            }
            (
                0,
                if gather_x { first } else { 0 },
                if scatter_y { first } else { 0 },
                flags,
                list,
                max,
            )
        }
    };
    let flags =
        flags_rows | if w.bias.is_some() { 1 } else { 0 } | if op.accumulate { 2 } else { 0 };
    let params = Params {
        m: m as u32,
        n: w.rows as u32,
        k: k as u32,
        x_stride: op.x_stride as u32,
        y_stride: op.y_stride as u32,
        x_offset: x_offset as u32,
        y_offset: y_offset as u32,
        flags,
        w_row_words: (w.format.row_bytes(w.padded_cols) / 4) as u32,
        w_blocks: (w.padded_cols / BLOCK) as u32,
        w_col_offset: col_offset as u32,
        y_col_offset: op.y_column as u32,
    };
    let bias = w.bias.as_ref().unwrap_or(dummy);
    let mut buffers = vec![&op.x.buffer, &op.y.buffer, &w.values, bias, list];
    if let Some(s) = &w.scales {
        buffers.push(s);
    }
    if let Some(m) = &w.mins {
        buffers.push(m);
    }
    let (tile_rows, tile_cols) = kernels.strategy.tile();
    let grid = [w.rows.div_ceil(tile_cols) as u32, max_rows.div_ceil(tile_rows).max(1) as u32, 1];
    let mut dispatch = kernels.kernel(w.format).dispatch(ctx, &params, &buffers, grid);
    dispatch.weight_bytes = w.bytes() * k as u64 / w.cols.max(1) as u64;
    Ok(dispatch)
}
