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

use crate::arch::{Architecture, NormType, LAYER_NORM_EPSILON, MAX_CHANNELS, MAX_KERNEL_SIZE, N_INPUTS};
use crate::math::{exp_sigmoid, lane_sum, relu6, NOISE_LOGIT_OFFSET};
use crate::reference::sanitize_input;
use crate::weights::Weights;

/// Channels per SIMD group.
pub(crate) const LANES: usize = 8;
/// Most groups (C ≤ 64).
const MAX_GROUPS: usize = MAX_CHANNELS / LANES;

/// One group of 8 channels.
type Lane = [f32; LANES];
const ZERO: Lane = [0.0; LANES];

/// `acc += w · v`, lane by lane (a multiply, then an add: no fused multiply-add, so every
/// compiled variant rounds exactly like the batch reference).
#[inline(always)]
fn mul_add(acc: &mut Lane, w: &Lane, v: f32) {
    for (a, &w) in acc.iter_mut().zip(w) {
        *a += w * v;
    }
}

/// Lane-wise `a += b`.
#[inline(always)]
fn add_assign(a: &mut Lane, b: &Lane) {
    for (a, &b) in a.iter_mut().zip(b) {
        *a += b;
    }
}

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

/// The step with `NL` channel groups (0: read from `p`). Sums run in the canonical order of
/// [`crate::reference`], lane by lane, so every compiled variant gives the reference's bits.
#[inline(always)]
fn step_impl<const NL: usize>(p: &mut Packed, f0: f32, loudness: f32) {
    let nl = if NL == 0 { p.groups } else { NL };
    let cp = nl * LANES;
    let k = p.kernel_size;
    p.pos = p.pos.wrapping_add(1);
    let pos = p.pos;

    // Input conv: bias plus one dot product per tap, oldest tap first.
    let im = p.input_mask;
    p.input_history[pos & im] = [sanitize_input(f0), sanitize_input(loudness)];
    let mut x_store = [ZERO; MAX_GROUPS];
    let x = &mut x_store[..nl];
    x.copy_from_slice(&p.input_bias[..nl]);
    for j in 0..k {
        let frame = p.input_history[pos.wrapping_sub(k - 1 - j) & im];
        let w = &p.input_weight[j * N_INPUTS * nl..][..N_INPUTS * nl];
        for (g, xg) in x.iter_mut().enumerate() {
            let mut tap = ZERO;
            for (i, &v) in frame.iter().enumerate() {
                mul_add(&mut tap, &w[i * nl + g], v);
            }
            add_assign(xg, &tap);
        }
    }

    for b in &mut p.blocks {
        // h = relu6(norm(x)), stored in the ring.
        let mut h_store = [ZERO; MAX_GROUPS];
        let h = &mut h_store[..nl];
        match &b.norm {
            None => {
                for (hg, xg) in h.iter_mut().zip(x.iter()) {
                    *hg = xg.map(relu6);
                }
            }
            Some((gain, bias)) => {
                let mean = x.iter().fold(0.0, |s, &xg| s + lane_sum(xg)) * p.inv_channels;
                let mut var = 0.0;
                for (xg, mg) in x.iter().zip(&p.channel_mask[..nl]) {
                    let mut sq = ZERO;
                    for ((s, &v), &m) in sq.iter_mut().zip(xg).zip(mg) {
                        let d = (v - mean) * m;
                        *s = d * d;
                    }
                    var += lane_sum(sq);
                }
                let inv_std = 1.0 / (var * p.inv_channels + LAYER_NORM_EPSILON).sqrt();
                for (((hg, xg), gg), bg) in h.iter_mut().zip(x.iter()).zip(&gain[..nl]).zip(&bias[..nl]) {
                    for (((o, &v), &g), &bb) in hg.iter_mut().zip(xg).zip(gg).zip(bg) {
                        *o = relu6((v - mean) * inv_std * g + bb);
                    }
                }
            }
        }
        let slot = (pos & b.mask) * nl;
        b.history[slot..slot + nl].copy_from_slice(h);

        // Conv: one dot product per tap (independent chains), past taps from the ring, the
        // current one (delay 0) from `h`; then bias + taps in order, added to x.
        let mut taps = [[ZERO; MAX_GROUPS]; MAX_KERNEL_SIZE];
        let tap_len = cp * nl;
        for ((tap, &delay), w) in taps.iter_mut().zip(&b.delays).zip(b.weight.chunks_exact(tap_len)) {
            let frame: &[Lane] = if delay == 0 {
                h
            } else {
                let s = (pos.wrapping_sub(delay) & b.mask) * nl;
                &b.history[s..s + nl]
            };
            for (i, wi) in w.chunks_exact(nl).enumerate() {
                let v = frame[i / LANES][i % LANES];
                for (tg, wg) in tap[..nl].iter_mut().zip(wi) {
                    mul_add(tg, wg, v);
                }
            }
        }
        for (g, xg) in x.iter_mut().enumerate() {
            let mut sum = b.bias[g];
            for tap in &taps[..k] {
                add_assign(&mut sum, &tap[g]);
            }
            add_assign(xg, &sum);
        }
    }

    // Head on relu6(x): bias plus a dot product, the noise offset, then exp_sigmoid.
    let mut y_store = [0.0f32; MAX_CHANNELS];
    let y = &mut y_store[..cp];
    for (yv, &xv) in y.iter_mut().zip(x.as_flattened()) {
        *yv = relu6(xv);
    }
    let head = p.head_weight.chunks_exact(cp).zip(&p.head_bias).zip(&p.head_offset);
    for (out, ((w, bias), offset)) in p.out.iter_mut().zip(head) {
        let mut dot = ZERO;
        for (wi, &v) in w.iter().zip(y.iter()) {
            mul_add(&mut dot, wi, v);
        }
        let mut logit = *bias;
        add_assign(&mut logit, &dot);
        add_assign(&mut logit, offset);
        *out = logit.map(exp_sigmoid);
    }
}

/// Portable step with `NL` groups.
fn step_portable<const NL: usize>(p: &mut Packed, f0: f32, loudness: f32) {
    step_impl::<NL>(p, f0, loudness)
}

/// The step compiled with AVX2 (256-bit registers: one group of 8 channels per register).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn step_avx2_unchecked<const NL: usize>(p: &mut Packed, f0: f32, loudness: f32) {
    step_impl::<NL>(p, f0, loudness)
}

/// Safe entry to [`step_avx2_unchecked`]; only handed out by [`select`] after detection.
#[cfg(target_arch = "x86_64")]
fn step_avx2<const NL: usize>(p: &mut Packed, f0: f32, loudness: f32) {
    // SAFETY: `select` returns this function only when `is_x86_feature_detected!` reported
    // AVX2 on this CPU.
    unsafe { step_avx2_unchecked::<NL>(p, f0, loudness) }
}

/// Whether this CPU runs the AVX2 kernels.
pub(crate) fn avx2_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Picks the fastest step for `groups` channel groups, and names it.
pub(crate) fn select(groups: usize, allow_simd: bool) -> (StepFn, &'static str) {
    #[cfg(target_arch = "x86_64")]
    if allow_simd && avx2_available() {
        return match groups {
            1 => (step_avx2::<1>, "avx2, 1×8 channels"),
            2 => (step_avx2::<2>, "avx2, 2×8 channels"),
            _ => (step_avx2::<0>, "avx2, n×8 channels"),
        };
    }
    let _ = allow_simd;
    match groups {
        1 => (step_portable::<1>, "portable, 1×8 channels"),
        2 => (step_portable::<2>, "portable, 2×8 channels"),
        _ => (step_portable::<0>, "portable, n×8 channels"),
    }
}
