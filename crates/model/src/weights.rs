//! The learned tensors as plain data, and their names in the file.
//!
//! Layouts follow PyTorch/burn: a conv weight is `[out, in, K]` row-major, a dense weight
//! `[out, in]`. The names are listed in the crate docs; [`tensor_layout`] is their one
//! definition in code.

use crate::arch::{Architecture, NormType, N_INPUTS};

/// The values of one weight tensor: plain f32, or int8 with one f32 scale per output channel
/// (value = `values[i] · scales[i / row_len]`).
#[derive(Clone, Debug, PartialEq)]
pub enum WeightData {
    /// Plain f32, row-major.
    F32(Vec<f32>),
    /// Symmetric per-output-channel int8.
    Int8 {
        /// Quantized values in `−127..=127`, row-major.
        values: Vec<i8>,
        /// One scale per output channel (row).
        scales: Vec<f32>,
    },
}

impl WeightData {
    /// Number of weights.
    pub fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::Int8 { values, .. } => values.len(),
        }
    }

    /// Whether there are no weights.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The weights as f32 (a copy; int8 values times their row's scale). Allocates.
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Self::F32(v) => v.clone(),
            Self::Int8 { values, scales } => {
                let row = values.len().checked_div(scales.len()).unwrap_or(0);
                values
                    .iter()
                    .enumerate()
                    .map(|(i, &q)| q as f32 * scales.get(i / row.max(1)).copied().unwrap_or(0.0))
                    .collect()
            }
        }
    }
}

/// A conv or dense layer: weight plus bias.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// `[out, in, K]` for a conv, `[out, in]` for the head.
    pub weight: WeightData,
    /// `[out]`.
    pub bias: Vec<f32>,
}

/// Learned gain and bias of a [`NormType::LayerChannels`] norm.
#[derive(Clone, Debug, PartialEq)]
pub struct Norm {
    /// `[C]`, multiplies the normalized channels.
    pub gain: Vec<f32>,
    /// `[C]`, added after the gain.
    pub bias: Vec<f32>,
}

/// One residual block.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The dilated causal conv, `C → C`.
    pub conv: Layer,
    /// Present exactly when the architecture's norm is not [`NormType::None`].
    pub norm: Option<Norm>,
}

/// Every tensor of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// Input conv, `2 → C`.
    pub input: Layer,
    /// The residual blocks, one per dilation.
    pub blocks: Vec<Block>,
    /// The dense head, `C → 1 + H + B`.
    pub head: Layer,
    /// The learned reverb impulse response at the metadata's `reverb_sample_rate_hz`; may be
    /// empty (no reverb). Always f32.
    pub reverb_ir: Vec<f32>,
    /// The body response in dB ([`crate::body`]): [`crate::body::BODY_BINS`] values when the
    /// architecture has one, else empty. Always f32.
    pub body_db: Vec<f32>,
}

/// What a tensor holds, for [`tensor_layout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorRole {
    /// A layer weight (quantizable).
    Weight,
    /// A bias, gain or other per-channel f32 vector.
    Vector,
    /// The reverb IR (any length).
    ReverbIr,
    /// The body response in dB (within ±[`crate::body::BODY_MAX_DB`]).
    Body,
}

/// Name of the input conv in the file.
pub const INPUT: &str = "input";
/// Name of the head in the file.
pub const HEAD: &str = "head";
/// Name of the reverb IR tensor.
pub const REVERB_IR: &str = "reverb.ir";
/// Name of the body response tensor (format 2, only with `body_response`).
pub const BODY_RESPONSE: &str = "body.response_db";

/// Prefix of block `i`'s conv: `blocks.{i}.conv`.
pub fn block_conv_name(i: usize) -> String {
    format!("blocks.{i}.conv")
}

/// Prefix of block `i`'s norm: `blocks.{i}.norm`.
pub fn block_norm_name(i: usize) -> String {
    format!("blocks.{i}.norm")
}

/// Every tensor an architecture needs, in network order (input, blocks, head, IR, body; not the
/// file's byte order): name, shape (`None` for the IR, whose length is free) and role.
/// Quantized weights add a `{name}_scale` tensor of shape `[out]` beside each `Weight` (see
/// [`crate::file`]).
pub fn tensor_layout(arch: &Architecture) -> Vec<(String, Option<Vec<usize>>, TensorRole)> {
    let (c, k) = (arch.channels, arch.kernel_size);
    let mut out = vec![
        (
            format!("{INPUT}.weight"),
            Some(vec![c, N_INPUTS, k]),
            TensorRole::Weight,
        ),
        (format!("{INPUT}.bias"), Some(vec![c]), TensorRole::Vector),
    ];
    for i in 0..arch.dilations.len() {
        let conv = block_conv_name(i);
        out.push((
            format!("{conv}.weight"),
            Some(vec![c, c, k]),
            TensorRole::Weight,
        ));
        out.push((format!("{conv}.bias"), Some(vec![c]), TensorRole::Vector));
        if arch.norm == NormType::LayerChannels {
            let norm = block_norm_name(i);
            out.push((format!("{norm}.gain"), Some(vec![c]), TensorRole::Vector));
            out.push((format!("{norm}.bias"), Some(vec![c]), TensorRole::Vector));
        }
    }
    let n = arch.n_outputs();
    out.push((
        format!("{HEAD}.weight"),
        Some(vec![n, c]),
        TensorRole::Weight,
    ));
    out.push((format!("{HEAD}.bias"), Some(vec![n]), TensorRole::Vector));
    out.push((REVERB_IR.to_string(), None, TensorRole::ReverbIr));
    if arch.body_response {
        out.push((
            BODY_RESPONSE.to_string(),
            Some(vec![crate::body::BODY_BINS]),
            TensorRole::Body,
        ));
    }
    out
}

impl Weights {
    /// Every tensor as `(name, values)` in [`tensor_layout`] order; weights appear as
    /// [`WeightData`], the rest as f32 slices.
    pub(crate) fn tensors(&self) -> Vec<(String, TensorRef<'_>)> {
        let mut out = vec![
            (
                format!("{INPUT}.weight"),
                TensorRef::Weight(&self.input.weight),
            ),
            (format!("{INPUT}.bias"), TensorRef::Vector(&self.input.bias)),
        ];
        for (i, b) in self.blocks.iter().enumerate() {
            let conv = block_conv_name(i);
            out.push((format!("{conv}.weight"), TensorRef::Weight(&b.conv.weight)));
            out.push((format!("{conv}.bias"), TensorRef::Vector(&b.conv.bias)));
            if let Some(n) = &b.norm {
                let norm = block_norm_name(i);
                out.push((format!("{norm}.gain"), TensorRef::Vector(&n.gain)));
                out.push((format!("{norm}.bias"), TensorRef::Vector(&n.bias)));
            }
        }
        out.push((
            format!("{HEAD}.weight"),
            TensorRef::Weight(&self.head.weight),
        ));
        out.push((format!("{HEAD}.bias"), TensorRef::Vector(&self.head.bias)));
        out.push((REVERB_IR.to_string(), TensorRef::Vector(&self.reverb_ir)));
        if !self.body_db.is_empty() {
            out.push((BODY_RESPONSE.to_string(), TensorRef::Vector(&self.body_db)));
        }
        out
    }

    /// The same weights with every [`WeightData`] as plain f32 (int8 dequantized). Allocates.
    pub fn to_f32(&self) -> Weights {
        self.map_weight_data(|data, _| WeightData::F32(data.to_f32()))
    }

    /// The same weights with each layer's [`WeightData`] replaced by `f(data, outputs)`, where
    /// `outputs` is the layer's number of output channels; biases, norms, the reverb IR and the
    /// body response are kept. Allocates.
    pub fn map_weight_data(&self, f: impl Fn(&WeightData, usize) -> WeightData) -> Weights {
        let layer = |l: &Layer| Layer {
            weight: f(&l.weight, l.bias.len()),
            bias: l.bias.clone(),
        };
        Weights {
            input: layer(&self.input),
            blocks: self
                .blocks
                .iter()
                .map(|b| Block {
                    conv: layer(&b.conv),
                    norm: b.norm.clone(),
                })
                .collect(),
            head: layer(&self.head),
            reverb_ir: self.reverb_ir.clone(),
            body_db: self.body_db.clone(),
        }
    }
}

/// A borrowed tensor, as [`Weights::tensors`] hands it out.
pub(crate) enum TensorRef<'a> {
    /// A layer weight.
    Weight(&'a WeightData),
    /// Any f32 vector.
    Vector(&'a [f32]),
}
