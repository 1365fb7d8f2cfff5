//! The streaming forward pass: packed weights, per-layer history rings, and the per-frame step.
//!
//! Channels are padded to groups of [`LANES`] = 8 (zero weights, zero biases, so padded
//! channels stay exactly 0), and every inner loop runs over one group: a fixed-size
//! `[f32; 8]` the compiler turns into one SIMD register. The step is compiled several times:
//! for 1 and 2 groups (C = 8 and 16) with the group count as a constant, and for any count up
//! to 8 as a fallback; and each of those once for the baseline target and once with AVX2
//! enabled, picked at run time by CPU detection. No variant uses fused multiply-adds, and all
//! sum in the canonical order of [`crate::reference`], so all give bit-identical outputs.
//!
//! Weights are stored in the order the step reads them, each entry one group of 8 output
//! channels:
//! - input conv: `[tap j][input i][group g]`;
//! - block conv: `[tap j][input channel i (padded)][group g]`;
//! - head: `[output group og][input channel i (padded)]`, bias with the noise offset (−5)
//!   folded in.
//!
//! Each block keeps a ring of its conv inputs (`relu6(norm(x))`) for the last
//! `(K − 1) · d + 1` frames, rounded up to a power of two so a mask wraps the index. A new
//! frame is written at `pos & mask`; tap `j` reads `(pos − (K − 1 − j) · d) & mask`. Zeroed
//! rings are the convs' zero left padding, so [`Packed::reset`] restarts exactly like the batch
//! reference.

use crate::arch::{Architecture, NormType, LAYER_NORM_EPSILON, MAX_CHANNELS, N_INPUTS};
use crate::math::{exp_sigmoid_v, lane_sum, relu6_v, NOISE_LOGIT_OFFSET};
use crate::reference::sanitize_input;
#[cfg(target_arch = "x86_64")]
use crate::simd::Avx2;
use crate::simd::{Lane, Portable, Simd};
use crate::weights::Weights;

/// Channels per SIMD group.
pub(crate) const LANES: usize = 8;
/// Most groups (C ≤ 64).
const MAX_GROUPS: usize = MAX_CHANNELS / LANES;
const ZERO: Lane = [0.0; LANES];

/// One residual block, packed.
#[derive(Clone, Debug)]
struct PackedBlock {
    /// Conv weights `[K][C_pad][groups]`.
    weight: Vec<Lane>,
    /// Conv bias `[groups]`.
    bias: Vec<Lane>,
    /// LayerNorm gain and bias `[groups]` (padded with 0), when the norm is on.
    norm: Option<(Vec<Lane>, Vec<Lane>)>,
    /// Ring of conv inputs, `[slot][groups]`, a power-of-two number of slots.
    history: Vec<Lane>,
    /// Slots − 1.
    mask: usize,
    /// Delay of tap `j` in frames: `(K − 1 − j) · d`.
    delays: Vec<usize>,
}

/// The streaming network: packed weights plus state. Built once (allocating), stepped without
/// allocation.
#[derive(Clone, Debug)]
pub(crate) struct Packed {
    /// Channel groups (`ceil(C / 8)`).
    groups: usize,
    /// Kernel size.
    kernel_size: usize,
    /// Input conv weights `[K][2][groups]`.
    input_weight: Vec<Lane>,
    /// Input conv bias `[groups]`.
    input_bias: Vec<Lane>,
    /// Ring of the last inputs, a power-of-two length ≥ K.
    input_history: Vec<[f32; N_INPUTS]>,
    /// `input_history.len() − 1`.
    input_mask: usize,
    /// The residual blocks.
    blocks: Vec<PackedBlock>,
    /// Head weights `[output groups][C_pad]`.
    head_weight: Vec<Lane>,
    /// Head bias `[output groups]`.
    head_bias: Vec<Lane>,
    /// Added to the head's logits: the noise offset (−5) on noise outputs, 0 elsewhere.
    head_offset: Vec<Lane>,
    /// 1.0 for real channels, 0.0 for padding (the norm's variance skips padding).
    channel_mask: Vec<Lane>,
    /// `1 / C`.
    inv_channels: f32,
    /// The activated head outputs of the last step, `[output groups]`.
    pub(crate) out: Vec<Lane>,
    /// Frame counter; the newest frame sits at `pos & mask` in every ring.
    pos: usize,
}

/// Splits channel `c` into (group, lane).
fn group_lane(c: usize) -> (usize, usize) {
    (c / LANES, c % LANES)
}

/// Packs a `[c_out, c_in, k]` conv weight as `[k][c_in_pad][groups]` lanes of outputs.
fn pack_conv(w: &[f32], c_out: usize, c_in: usize, c_in_pad: usize, k: usize) -> Vec<Lane> {
    let groups = c_out.div_ceil(LANES);
    let mut packed = vec![ZERO; k * c_in_pad * groups];
    for o in 0..c_out {
        let (g, l) = group_lane(o);
        for i in 0..c_in {
            for j in 0..k {
                packed[(j * c_in_pad + i) * groups + g][l] = w[(o * c_in + i) * k + j];
            }
        }
    }
    packed
}

/// Packs a vector into lanes, padding with zeros; `offset(i)` is added to element `i`.
fn pack_vector(v: &[f32], groups: usize, offset: impl Fn(usize) -> f32) -> Vec<Lane> {
    let mut packed = vec![ZERO; groups];
    for (i, &x) in v.iter().enumerate() {
        let (g, l) = group_lane(i);
        packed[g][l] = x + offset(i);
    }
    packed
}

impl Packed {
    /// Packs f32 `weights` (as from [`Weights::to_f32`]) of a validated model. Allocates.
    pub(crate) fn new(arch: &Architecture, weights: &Weights) -> Self {
        let (c, k) = (arch.channels, arch.kernel_size);
        let groups = c.div_ceil(LANES);
        let c_pad = groups * LANES;
        let input_slots = k.next_power_of_two();
        let blocks = weights
            .blocks
            .iter()
            .zip(&arch.dilations)
            .map(|(b, &d)| {
                let slots = ((k - 1) * d + 1).next_power_of_two();
                PackedBlock {
                    weight: pack_conv(&b.conv.weight.to_f32(), c, c, c_pad, k),
                    bias: pack_vector(&b.conv.bias, groups, |_| 0.0),
                    norm: match (&b.norm, arch.norm) {
                        (Some(n), NormType::LayerChannels) => Some((
                            pack_vector(&n.gain, groups, |_| 0.0),
                            pack_vector(&n.bias, groups, |_| 0.0),
                        )),
                        _ => None,
                    },
                    history: vec![ZERO; slots * groups],
                    mask: slots - 1,
                    delays: (0..k).map(|j| (k - 1 - j) * d).collect(),
                }
            })
            .collect();
        let n_out = arch.n_outputs();
        let out_groups = n_out.div_ceil(LANES);
        let head = weights.head.weight.to_f32();
        let mut head_weight = vec![ZERO; out_groups * c_pad];
        for o in 0..n_out {
            let (g, l) = group_lane(o);
            for i in 0..c {
                head_weight[g * c_pad + i][l] = head[o * c + i];
            }
        }
        let noise_start = 1 + arch.n_harmonics;
        Self {
            groups,
            kernel_size: k,
            input_weight: pack_conv(&weights.input.weight.to_f32(), c, N_INPUTS, N_INPUTS, k),
            input_bias: pack_vector(&weights.input.bias, groups, |_| 0.0),
            input_history: vec![[0.0; N_INPUTS]; input_slots],
            input_mask: input_slots - 1,
            blocks,
            head_weight,
            head_bias: pack_vector(&weights.head.bias, out_groups, |_| 0.0),
            head_offset: pack_vector(&vec![0.0; n_out], out_groups, |o| {
                if o >= noise_start {
                    NOISE_LOGIT_OFFSET
                } else {
                    0.0
                }
            }),
            channel_mask: pack_vector(&vec![1.0; c], groups, |_| 0.0),
            inv_channels: 1.0 / c as f32,
            out: vec![ZERO; out_groups],
            pos: 0,
        }
    }

    /// Forgets all history (as if no frame had been seen). No allocation.
    pub(crate) fn reset(&mut self) {
        self.input_history.fill([0.0; N_INPUTS]);
        for b in &mut self.blocks {
            b.history.fill(ZERO);
        }
        self.out.fill(ZERO);
        self.pos = 0;
    }
}

/// A compiled variant of the step.
pub(crate) type StepFn = fn(&mut Packed, f32, f32);

/// The canonical dot-product combine: `(s0 + s1) + (s2 + s3)` (see [`crate::math::dot`]).
#[inline(always)]
fn combine<S: Simd>(s: S, p: [S::V; 4]) -> S::V {
    s.add(s.add(p[0], p[1]), s.add(p[2], p[3]))
}

/// The step for up to `CAP` channel groups on backend `S`: exactly `CAP` groups when `FIXED`
/// (the loops then have constant trip counts), else `p.groups`. The arithmetic is the
/// canonical one of [`crate::reference`], lane by lane, so every backend gives the
/// reference's bits.
#[inline(always)]
fn step_impl<S: Simd, const CAP: usize, const FIXED: bool>(s: S, p: &mut Packed, f0: f32, loudness: f32) {
    let nl = if FIXED { CAP } else { p.groups.min(CAP) };
    let cp = nl * LANES;
    let k = p.kernel_size;
    let zero = s.splat(0.0);
    p.pos = p.pos.wrapping_add(1);
    let pos = p.pos;

    // Input conv: bias plus one dot product per tap, oldest tap first.
    let im = p.input_mask;
    p.input_history[pos & im] = [sanitize_input(f0), sanitize_input(loudness)];
    let mut x = [zero; CAP];
    for (xg, b) in x[..nl].iter_mut().zip(&p.input_bias) {
        *xg = s.load(b);
    }
    for (j, w) in p.input_weight.chunks_exact(N_INPUTS * nl).enumerate() {
        let frame = p.input_history[pos.wrapping_sub(k - 1 - j) & im];
        for (g, xg) in x[..nl].iter_mut().enumerate() {
            let mut part = [zero; 4];
            for (i, &v) in frame.iter().enumerate() {
                part[i % 4] = s.fma(s.load(&w[i * nl + g]), s.splat(v), part[i % 4]);
            }
            *xg = s.add(*xg, combine(s, part));
        }
    }

    let mut lanes = [ZERO; CAP];
    let nb = if flag(1) { 0 } else { p.blocks.len() };
    for b in p.blocks.iter_mut().take(nb) {
        // h = relu6(norm(x)), written to the ring.
        let slot = (pos & b.mask) * nl;
        let h = &mut b.history[slot..slot + nl];
        match &b.norm {
            None => {
                for (hg, &xg) in h.iter_mut().zip(&x[..nl]) {
                    s.store(hg, relu6_v(s, xg));
                }
            }
            Some((gain, bias)) => {
                for (l, &xg) in lanes.iter_mut().zip(&x[..nl]) {
                    s.store(l, xg);
                }
                let mean = lanes[..nl].iter().fold(0.0, |t, &l| t + lane_sum(l)) * p.inv_channels;
                let mean_v = s.splat(mean);
                for ((l, &xg), m) in lanes.iter_mut().zip(&x[..nl]).zip(&p.channel_mask) {
                    let d = s.mul(s.sub(xg, mean_v), s.load(m));
                    s.store(l, s.mul(d, d));
                }
                let var = lanes[..nl].iter().fold(0.0, |t, &l| t + lane_sum(l)) * p.inv_channels;
                let inv_std = s.splat(1.0 / (var + LAYER_NORM_EPSILON).sqrt());
                for (((hg, &xg), gg), bg) in h.iter_mut().zip(&x[..nl]).zip(gain).zip(bias) {
                    let normed = s.fma(s.mul(s.sub(xg, mean_v), inv_std), s.load(gg), s.load(bg));
                    s.store(hg, relu6_v(s, normed));
                }
            }
        }

        // Conv: bias plus one dot product per tap, oldest first, each tap's input read from
        // the ring. The dot products do not depend on each other, so only the current tap
        // (delay 0, last) lies on this frame's critical path.
        let mut sum = [zero; CAP];
        for (sg, bias) in sum[..nl].iter_mut().zip(&b.bias) {
            *sg = s.load(bias);
        }
        for (&delay, w) in b.delays.iter().zip(b.weight.chunks_exact(cp * nl)) {
            let start = (pos.wrapping_sub(delay) & b.mask) * nl;
            let frame = &b.history[start..start + nl];
            let mut part = [[zero; CAP]; 4];
            for (i, wi) in w.chunks_exact(nl).enumerate() {
                let v = s.splat(frame[i / LANES][i % LANES]);
                for (pg, wg) in part[i % 4][..nl].iter_mut().zip(wi) {
                    *pg = s.fma(s.load(wg), v, *pg);
                }
            }
            for (g, sg) in sum[..nl].iter_mut().enumerate() {
                *sg = s.add(*sg, combine(s, [part[0][g], part[1][g], part[2][g], part[3][g]]));
            }
        }
        for (xg, &sg) in x[..nl].iter_mut().zip(&sum[..nl]) {
            *xg = s.add(*xg, sg);
        }
    }

    // Head on relu6(x): bias plus a dot product, plus the noise offset, into `out`; then
    // exp_sigmoid over all outputs.
    for (l, &xg) in lanes.iter_mut().zip(&x[..nl]) {
        s.store(l, relu6_v(s, xg));
    }
    let y = &lanes.as_flattened()[..cp];
    let head = p.head_weight.chunks_exact(cp).zip(&p.head_bias).zip(&p.head_offset);
    for (out, ((w, bias), offset)) in p.out.iter_mut().zip(head) {
        let mut part = [zero; 4];
        for (i, (wi, &v)) in w.iter().zip(y).enumerate() {
            part[i % 4] = s.fma(s.load(wi), s.splat(v), part[i % 4]);
        }
        let logit = s.add(s.add(s.load(bias), combine(s, part)), s.load(offset));
        s.store(out, logit);
    }
    if !flag(0) { for out in p.out.iter_mut() {
        let v = exp_sigmoid_v(s, s.load(out));
        s.store(out, v);
    } }
}

static FLAGS: std::sync::OnceLock<[bool; 4]> = std::sync::OnceLock::new();
#[inline(always)]
fn flag(i: usize) -> bool { FLAGS.get_or_init(|| [std::env::var_os("NOEXP").is_some(), std::env::var_os("NOBLOCKS").is_some(), std::env::var_os("NOHEAD").is_some(), false])[i] }
/// Portable step (see [`step_impl`] for the parameters).
fn step_portable<const CAP: usize, const FIXED: bool>(p: &mut Packed, f0: f32, loudness: f32) {
    step_impl::<Portable, CAP, FIXED>(Portable, p, f0, loudness)
}

/// The step compiled with AVX2 and FMA (one group of 8 channels per 256-bit register).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn step_avx2_unchecked<const CAP: usize, const FIXED: bool>(s: Avx2, p: &mut Packed, f0: f32, loudness: f32) {
    step_impl::<Avx2, CAP, FIXED>(s, p, f0, loudness)
}

/// Safe entry to [`step_avx2_unchecked`]; only handed out by [`select`] after detection.
#[cfg(target_arch = "x86_64")]
fn step_avx2<const CAP: usize, const FIXED: bool>(p: &mut Packed, f0: f32, loudness: f32) {
    match Avx2::detect() {
        // SAFETY: the token proves AVX2 and FMA.
        Some(s) => unsafe { step_avx2_unchecked::<CAP, FIXED>(s, p, f0, loudness) },
        None => step_portable::<CAP, FIXED>(p, f0, loudness),
    }
}

/// Picks the fastest step for `groups` channel groups, and names it.
pub(crate) fn select(groups: usize, allow_simd: bool) -> (StepFn, &'static str) {
    #[cfg(target_arch = "x86_64")]
    if allow_simd && Avx2::detect().is_some() {
        return match groups {
            1 => (step_avx2::<1, true>, "avx2, 1×8 channels"),
            2 => (step_avx2::<2, true>, "avx2, 2×8 channels"),
            _ => (step_avx2::<MAX_GROUPS, false>, "avx2, n×8 channels"),
        };
    }
    let _ = allow_simd;
    match groups {
        1 => (step_portable::<1, true>, "portable, 1×8 channels"),
        2 => (step_portable::<2, true>, "portable, 2×8 channels"),
        _ => (step_portable::<MAX_GROUPS, false>, "portable, n×8 channels"),
    }
}
