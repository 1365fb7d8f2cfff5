//! DDSP-CNN-Tiny in burn, built from the shared [`Architecture`], and its conversion to and
//! from the model file's [`Weights`].
//!
//! The forward pass is the one `timbre_model::Architecture` documents, on whole sequences:
//! ```text
//! x = input_conv([f0, loudness])                 [B, 2, T] → [B, C, T], causal, kernel K
//! x = x + conv_d(relu6(norm(x)))                 per block, dilation d, causal
//! y = head(relu6(x))                             [B, T, C] → [B, T, 1 + H + B]
//! ```
//! A causal conv is burn's `conv1d` with padding `((K − 1) · d, 0)`: output `t` sees inputs
//! `t − (K − 1 − j) · d` for tap `j`, the file's convention, so the weights copy across
//! unchanged (`[out, in, K]`); `tests/export.rs` checks it against the streaming decoder.
//! The head is stored `[1 + H + B, C]` as in the file.
//!
//! The learned reverb IR lives beside the network ([`DdspModel::reverb_ir`]), with its first
//! sample forced to 0 (the dry path is added separately; see [`crate::synth`]).

use burn::module::{Module, Param};
use burn::tensor::activation::{log_sigmoid, relu6};
use burn::tensor::module::{conv1d, linear};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use timbre_model::arch::{LAYER_NORM_EPSILON, N_INPUTS};
use timbre_model::body::{BODY_BINS, BODY_MAX_DB};
use timbre_model::math::NOISE_LOGIT_OFFSET;
use timbre_model::weights::{Block, Layer, Norm, WeightData, Weights};
use timbre_model::{Architecture, NormType};

use crate::rng::Rng;
use crate::synth::{body_taps, minimum_phase_body};

/// A causal dilated 1-D convolution.
#[derive(Module, Debug)]
pub struct CausalConv {
    /// `[out, in, K]`.
    pub weight: Param<Tensor<3>>,
    /// `[out]`.
    pub bias: Param<Tensor<1>>,
    /// Dilation.
    pub dilation: usize,
}

impl CausalConv {
    /// `[B, in, T]` → `[B, out, T]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let k = self.weight.val().dims()[2];
        let options =
            ConvOptions::new_with_padding([1], [((k - 1) * self.dilation, 0)], [self.dilation], 1);
        conv1d(x, self.weight.val(), Some(self.bias.val()), options)
    }
}

/// LayerNorm over the channels of each frame.
#[derive(Module, Debug)]
pub struct ChannelNorm {
    /// `[C]`.
    pub gain: Param<Tensor<1>>,
    /// `[C]`.
    pub bias: Param<Tensor<1>>,
}

impl ChannelNorm {
    /// `[B, C, T]` → `[B, C, T]`, normalized over C.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let c = x.dims()[1];
        let mean = x.clone().mean_dim(1);
        let centered = x - mean;
        let var = centered.clone().square().mean_dim(1);
        let normed = centered / (var + LAYER_NORM_EPSILON as f64).sqrt();
        normed * self.gain.val().reshape([1, c, 1]) + self.bias.val().reshape([1, c, 1])
    }
}

/// One residual block: `x + conv(relu6(norm(x)))`.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// The dilated conv.
    pub conv: CausalConv,
    /// The optional per-frame norm.
    pub norm: Option<ChannelNorm>,
}

/// The decoder network plus the learned reverb IR.
#[derive(Module, Debug)]
pub struct DdspModel {
    /// Input conv, 2 → C.
    pub input: CausalConv,
    /// Residual blocks.
    pub blocks: Vec<ResBlock>,
    /// `[1 + H + B, C]`.
    pub head_weight: Param<Tensor<2>>,
    /// `[1 + H + B]`.
    pub head_bias: Param<Tensor<1>>,
    /// The reverb IR (its sample 0 is ignored: see [`DdspModel::reverb_ir`]).
    pub reverb: Param<Tensor<1>>,
    /// The body response in units of [`BODY_PARAM_DB`] dB, `[timbre_model::body::BODY_BINS]`,
    /// when the architecture has one.
    pub body: Option<Param<Tensor<1>>>,
    /// Harmonics `H`.
    pub n_harmonics: usize,
    /// Whether the synth plays the IR's body in minimum phase
    /// ([`crate::synth::minimum_phase_body`]; see [`DdspModel::reverb_ir`]).
    pub minimum_phase_body: bool,
    /// Whether the IR's body (its first [`body_taps`]) is held silent, so the IR learns only
    /// the room and the body's shaping falls to the body response in Hz and the noise bands,
    /// which add no delay (see [`DdspModel::reverb_ir`]).
    pub silent_body: bool,
}

/// The synth controls of a batch, activated.
#[derive(Clone, Debug)]
pub struct ControlTensors {
    /// `[B, T, 1]`, in `[1e-7, 2 + 1e-7]`.
    pub amplitude: Tensor<3>,
    /// `[B, T, H]`, not normalized.
    pub harmonics: Tensor<3>,
    /// `[B, T, B_noise]`.
    pub noise: Tensor<3>,
    /// The body response in dB, `[BODY_BINS]`, applied to the harmonics in Hz by the synth
    /// (`None`: flat).
    pub body_db: Option<Tensor<1>>,
}

/// DDSP's `exp_sigmoid`: `2 · sigmoid(x)^ln 10 + 1e-7`, computed as
/// `2 · exp(ln 10 · log_sigmoid(x)) + 1e-7` (no underflow to 0 in the gradient).
pub fn exp_sigmoid<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    (log_sigmoid(x) * std::f64::consts::LN_10).exp() * 2.0 + 1e-7
}

/// dB per unit of the body response parameter: Adam moves a parameter by about the learning
/// rate per step, which in plain dB would take a whole run to move a resonance a few dB.
pub const BODY_PARAM_DB: f32 = 10.0;

fn tensor1(v: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

fn tensor2(v: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn tensor3(v: Vec<f32>, shape: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// The values of a parameter as a flat `Vec<f32>`.
pub fn values<const D: usize>(p: &Param<Tensor<D>>) -> Vec<f32> {
    p.val()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 tensor")
}

/// Initial reverb IR: `len` samples of decaying noise, amplitude `0.01 · e^(−t / 0.1 s)`
/// (about −40 dB below the dry path in energy), sample 0 zero.
pub fn initial_ir(len: usize, sample_rate: f32, rng: &mut Rng) -> Vec<f32> {
    (0..len)
        .map(|i| {
            if i == 0 {
                0.0
            } else {
                0.01 * (-(i as f32) / (0.1 * sample_rate)).exp() * rng.uniform(-1.0, 1.0)
            }
        })
        .collect()
}

impl DdspModel {
    /// A freshly initialized model: weights and biases uniform in `±1/sqrt(fan_in)` (PyTorch's
    /// default), norms at identity, the IR from [`initial_ir`]. Deterministic per `rng`.
    pub fn init(arch: &Architecture, ir_len: usize, rng: &mut Rng, device: &Device) -> Self {
        let (c, k) = (arch.channels, arch.kernel_size);
        let mut uniform = |n: usize, fan_in: usize| {
            let a = 1.0 / (fan_in as f32).sqrt();
            (0..n).map(|_| rng.uniform(-a, a)).collect::<Vec<f32>>()
        };
        let input = Layer {
            weight: WeightData::F32(uniform(c * N_INPUTS * k, N_INPUTS * k)),
            bias: uniform(c, N_INPUTS * k),
        };
        let blocks = arch
            .dilations
            .iter()
            .map(|_| Block {
                conv: Layer {
                    weight: WeightData::F32(uniform(c * c * k, c * k)),
                    bias: uniform(c, c * k),
                },
                norm: (arch.norm == NormType::LayerChannels).then(|| Norm {
                    gain: vec![1.0; c],
                    bias: vec![0.0; c],
                }),
            })
            .collect();
        let n = arch.n_outputs();
        let head = Layer {
            weight: WeightData::F32(uniform(n * c, c)),
            bias: uniform(n, c),
        };
        let reverb_ir = initial_ir(ir_len, 16_000.0, rng);
        // A flat body to start from.
        let body_db = if arch.body_response {
            vec![0.0; BODY_BINS]
        } else {
            Vec::new()
        };
        Self::from_weights(
            arch,
            &Weights {
                input,
                blocks,
                head,
                reverb_ir,
                body_db,
            },
            device,
        )
    }

    /// A model holding `weights` (f32 or int8, dequantized) of shape `arch`.
    pub fn from_weights(arch: &Architecture, weights: &Weights, device: &Device) -> Self {
        let w = weights.to_f32();
        let (c, k) = (arch.channels, arch.kernel_size);
        let conv = |l: &Layer, c_in: usize, d: usize| CausalConv {
            weight: Param::from_tensor(tensor3(l.weight.to_f32(), [l.bias.len(), c_in, k], device)),
            bias: Param::from_tensor(tensor1(l.bias.clone(), device)),
            dilation: d,
        };
        let blocks = w
            .blocks
            .iter()
            .zip(&arch.dilations)
            .map(|(b, &d)| ResBlock {
                conv: conv(&b.conv, c, d),
                norm: b.norm.as_ref().map(|n| ChannelNorm {
                    gain: Param::from_tensor(tensor1(n.gain.clone(), device)),
                    bias: Param::from_tensor(tensor1(n.bias.clone(), device)),
                }),
            })
            .collect();
        let n = arch.n_outputs();
        let mut ir = w.reverb_ir.clone();
        if ir.is_empty() {
            ir.push(0.0);
        }
        Self {
            input: conv(&w.input, N_INPUTS, 1),
            blocks,
            head_weight: Param::from_tensor(tensor2(w.head.weight.to_f32(), [n, c], device)),
            head_bias: Param::from_tensor(tensor1(w.head.bias.clone(), device)),
            reverb: Param::from_tensor(tensor1(ir, device)),
            body: (!w.body_db.is_empty()).then(|| {
                let units = w.body_db.iter().map(|db| db / BODY_PARAM_DB).collect();
                Param::from_tensor(tensor1(units, device))
            }),
            n_harmonics: arch.n_harmonics,
            minimum_phase_body: false,
            silent_body: false,
        }
    }

    /// This model with its IR's body played (and exported) in minimum phase, or as learned.
    pub fn with_minimum_phase_body(mut self, on: bool) -> Self {
        self.minimum_phase_body = on;
        self
    }

    /// This model with its IR's body held silent (the IR learns only the room), or learned.
    pub fn with_silent_body(mut self, on: bool) -> Self {
        self.silent_body = on;
        self
    }

    /// The weights in the file's layout (f32). `arch` must be the model's shape.
    pub fn to_weights(&self) -> Weights {
        let layer = |c: &CausalConv| Layer {
            weight: WeightData::F32(values(&c.weight)),
            bias: values(&c.bias),
        };
        let reverb_ir = self
            .reverb_ir()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 tensor");
        Weights {
            input: layer(&self.input),
            blocks: self
                .blocks
                .iter()
                .map(|b| Block {
                    conv: layer(&b.conv),
                    norm: b.norm.as_ref().map(|n| Norm {
                        gain: values(&n.gain),
                        bias: values(&n.bias),
                    }),
                })
                .collect(),
            head: Layer {
                weight: WeightData::F32(values(&self.head_weight)),
                bias: values(&self.head_bias),
            },
            reverb_ir,
            body_db: self
                .body
                .as_ref()
                .map(|b| {
                    let db = values(b).into_iter().map(|u| u * BODY_PARAM_DB);
                    db.map(|v| v.clamp(-BODY_MAX_DB, BODY_MAX_DB)).collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The head's logits: scaled f0 and loudness `[B, T]` each → `[B, T, 1 + H + B]`.
    pub fn logits(&self, f0: Tensor<2>, loudness: Tensor<2>) -> Tensor<3> {
        let x = Tensor::stack::<3>(vec![f0, loudness], 1); // [B, 2, T]
        let mut x = self.input.forward(x); // [B, C, T]
        for block in &self.blocks {
            let h = match &block.norm {
                Some(norm) => norm.forward(x.clone()),
                None => x.clone(),
            };
            x = x + block.conv.forward(relu6(h));
        }
        let y = relu6(x).swap_dims(1, 2); // [B, T, C]
        linear(
            y,
            self.head_weight.val().transpose(),
            Some(self.head_bias.val()),
        )
    }

    /// The activated controls (see `timbre_model::Architecture`).
    pub fn forward(&self, f0: Tensor<2>, loudness: Tensor<2>) -> ControlTensors {
        let logits = self.logits(f0, loudness);
        let [b, t, n] = logits.dims();
        let h = self.n_harmonics;
        ControlTensors {
            amplitude: exp_sigmoid(logits.clone().slice([0..b, 0..t, 0..1])),
            harmonics: exp_sigmoid(logits.clone().slice([0..b, 0..t, 1..1 + h])),
            noise: exp_sigmoid(logits.slice([0..b, 0..t, 1 + h..n]) + NOISE_LOGIT_OFFSET as f64),
            body_db: self.body.as_ref().map(|b| b.val() * BODY_PARAM_DB as f64),
        }
    }

    /// The IR used by the synth and exported: the parameter with sample 0 forced to 0, `[N]`,
    /// its body turned into minimum phase when the model plays it so, or held silent (every
    /// tap of the body 0) when it learns only the room.
    pub fn reverb_ir(&self) -> Tensor<1> {
        let ir = self.reverb.val();
        let n = ir.dims()[0];
        let device = ir.device();
        let mut mask = vec![1.0f32; n];
        // Tap 0 always (the dry path plays it); the whole body when it is held silent.
        let zeroed = if self.silent_body {
            body_taps().min(n)
        } else {
            1
        };
        mask[..zeroed].fill(0.0);
        let ir = ir * tensor1(mask, &device);
        if self.minimum_phase_body {
            minimum_phase_body(ir, body_taps())
        } else {
            ir
        }
    }
}
