//! The plain, non-streaming forward pass: whole-sequence causal convolutions written straight
//! from the definition, sharing nothing with the streaming kernels but the scalar
//! nonlinearities and the channel sum. It is the reference the streaming decoder is tested
//! against, and the trainer's parity check.
//!
//! A causal conv with kernel `K` and dilation `d` over a sequence `x[t]` (zero for `t < 0`):
//! `out[o, t] = bias[o] + Σ_j Σ_i w[o, i, j] · x[i, t − (K−1−j)·d]`, with `w` in PyTorch/burn
//! layout `[out, in, K]` (the same as left-padding by `(K−1)·d` and a plain conv).
//!
//! Canonical arithmetic. f32 results depend on the order of operations, and one ulp in a logit
//! is about one ulp of an output after exp_sigmoid, so the streaming decoder and this reference
//! compute the same operations in the same order and agree to the bit:
//! - conv / dense: `((bias + dot_0) + dot_1) + …`, one dot product per tap `j` (oldest first;
//!   the head has one), each over the input channels as [`crate::math::dot`] defines it (four
//!   fused multiply-add chains);
//! - the noise logits get `+ (−5)` after that;
//! - a block's update is `(x + (bias + dot_0 + … + dot_{K−2})) + dot_{K−1}`: the current tap
//!   last, so that only it waits for the current frame;
//! - LayerNorm: `mean = channel_sum(x) · (1/C)`, `var = channel_sum((x − mean)²) · (1/C)`,
//!   `y = fma((x − mean) · (1 / sqrt(var + ε)), gain, bias)` ([`crate::math::channel_sum`]).

use crate::arch::{Architecture, LAYER_NORM_EPSILON, N_INPUTS};
use crate::controls::Controls;
use crate::math::{channel_sum, dot, exp_sigmoid, relu6, NOISE_LOGIT_OFFSET};
use crate::weights::{Norm, Weights};

/// Largest magnitude of a network input; larger inputs are clamped and NaN/Inf read as 0, so
/// no input can make an output non-finite. Valid scaled features lie within `[−0.5, 1.1]`.
pub const INPUT_LIMIT: f32 = 8.0;

/// The input guard shared by the streaming and batch paths.
#[inline(always)]
pub(crate) fn sanitize_input(x: f32) -> f32 {
    if x.is_finite() {
        x.clamp(-INPUT_LIMIT, INPUT_LIMIT)
    } else {
        0.0
    }
}

/// A sequence of `channels`-vectors, frame-major: `seq[t][c]`.
type Seq = Vec<Vec<f32>>;

/// Causal dilated conv over a whole sequence (see the module docs), split as
/// `(bias + dot_0 + … + dot_{K−2}, dot_{K−1})`: the past taps with the bias, and the current
/// tap. Their sum is the conv's output.
fn causal_conv(
    x: &Seq,
    weight: &[f32],
    bias: &[f32],
    c_in: usize,
    k: usize,
    dilation: usize,
) -> (Seq, Seq) {
    let c_out = bias.len();
    let zeros = vec![0.0; c_in];
    let tap = |t: usize, o: usize, j: usize| {
        // Left zero padding: a tap before the start sees zeros.
        let frame = t
            .checked_sub((k - 1 - j) * dilation)
            .map_or(&zeros, |s| &x[s]);
        dot((0..c_in).map(|i| (weight[(o * c_in + i) * k + j], frame[i])))
    };
    let past = (0..x.len())
        .map(|t| {
            (0..c_out)
                .map(|o| (0..k - 1).fold(bias[o], |sum, j| sum + tap(t, o, j)))
                .collect()
        })
        .collect();
    let current = (0..x.len())
        .map(|t| (0..c_out).map(|o| tap(t, o, k - 1)).collect())
        .collect();
    (past, current)
}

/// LayerNorm over the channels of one frame.
fn layer_norm(x: &[f32], norm: &Norm) -> Vec<f32> {
    let inv_n = 1.0 / x.len() as f32;
    let mean = channel_sum(x) * inv_n;
    let squares: Vec<f32> = x.iter().map(|v| (v - mean) * (v - mean)).collect();
    let inv_std = 1.0 / (channel_sum(&squares) * inv_n + LAYER_NORM_EPSILON).sqrt();
    x.iter()
        .zip(&norm.gain)
        .zip(&norm.bias)
        .map(|((v, g), b)| ((v - mean) * inv_std).mul_add(*g, *b))
        .collect()
}

/// Runs the network over whole sequences of scaled inputs (the first
/// `min(f0.len(), loudness.len())` frames), from zero history. `weights` must be f32 and match
/// `arch` (as in a validated [`crate::ModelFile`] after [`Weights::to_f32`]). Allocates freely.
pub fn forward(
    arch: &Architecture,
    weights: &Weights,
    f0: &[f32],
    loudness: &[f32],
) -> Vec<Controls> {
    let (c, k) = (arch.channels, arch.kernel_size);
    let inputs: Seq = f0
        .iter()
        .zip(loudness)
        .map(|(&f, &l)| vec![sanitize_input(f), sanitize_input(l)])
        .collect();
    let (past, current) = causal_conv(
        &inputs,
        &weights.input.weight.to_f32(),
        &weights.input.bias,
        N_INPUTS,
        k,
        1,
    );
    let mut x: Seq = past
        .iter()
        .zip(&current)
        .map(|(p, c)| p.iter().zip(c).map(|(p, c)| p + c).collect())
        .collect();
    for (block, &dilation) in weights.blocks.iter().zip(&arch.dilations) {
        let h: Seq = x
            .iter()
            .map(|frame| {
                let normed = match &block.norm {
                    Some(norm) => layer_norm(frame, norm),
                    None => frame.clone(),
                };
                normed.into_iter().map(relu6).collect()
            })
            .collect();
        let (past, current) = causal_conv(
            &h,
            &block.conv.weight.to_f32(),
            &block.conv.bias,
            c,
            k,
            dilation,
        );
        for ((frame, p), c) in x.iter_mut().zip(&past).zip(&current) {
            for ((v, p), c) in frame.iter_mut().zip(p).zip(c) {
                *v = (*v + p) + c;
            }
        }
    }
    let head_w = weights.head.weight.to_f32();
    let n_out = arch.n_outputs();
    x.iter()
        .map(|frame| {
            let y: Vec<f32> = frame.iter().map(|&v| relu6(v)).collect();
            let logits: Vec<f32> = (0..n_out)
                .map(|o| weights.head.bias[o] + dot((0..c).map(|i| (head_w[o * c + i], y[i]))))
                .collect();
            let act = |o: usize| {
                let offset = if o > arch.n_harmonics {
                    NOISE_LOGIT_OFFSET
                } else {
                    0.0
                };
                exp_sigmoid(logits[o] + offset)
            };
            Controls {
                amplitude: act(0),
                harmonics: (1..=arch.n_harmonics).map(act).collect(),
                noise: (arch.n_harmonics + 1..n_out).map(act).collect(),
            }
        })
        .collect()
}
