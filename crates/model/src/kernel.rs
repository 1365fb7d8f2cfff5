//! The streaming forward pass: packed weights, per-layer history rings, and the per-frame step.
//!
//! Channels are padded to groups of [`LANES`] = 8 (zero weights, zero biases, so padded
//! channels stay exactly 0) and the head's outputs to groups of 16. Every inner loop runs over
//! whole SIMD vectors (`simd.rs`): 8 channels per AVX2 register, 16 per AVX-512 register. The
//! step is compiled for several (backend, channel count) pairs and picked once, at
//! [`select`], by CPU detection:
//! - AVX-512F: the head (126 outputs, their exp_sigmoid) 16 outputs per register; the blocks
//!   in AVX2 registers for C = 8, in one AVX-512 register for C = 16, in two for C = 32;
//! - AVX2 + FMA: everything 8 lanes per register;
//! - portable: the same code on `[f32; 8]` arrays, for any target.
//!
//! C = 8, 16 and 32 get variants with constant trip counts; other sizes share one variant that
//! reads the group count at run time. Every dot product sums into four partial sums (input `i`
//! into sum `i % 4`), four inputs a pass, so that each partial sum is indexed by a constant
//! and the compiler keeps them in registers (indexed by `i % 4` one input at a time, they
//! lived on the stack: a load and a store around every multiply-add, which made the 32-channel
//! step take 45 % of the engine's instructions). Every variant performs the canonical
//! arithmetic of [`crate::reference`] lane by lane, so all give bit-identical outputs.
//!
//! Weights are stored in the order the step reads them:
//! - input conv: `[tap j][input i][group g]` (8 output channels per entry);
//! - block conv: `[tap j][input channel i (padded)][group g]` (so the groups of one `(j, i)`
//!   are adjacent and form one 16-channel AVX-512 vector when C = 16);
//! - head: `[output pair][input channel i (padded)]`, 16 outputs per entry.
//!
//! Each block keeps a ring of its conv inputs (`relu6(norm(x))`) for the last
//! `(K − 1) · d + 1` frames, rounded up to a power of two so a mask wraps the index. A new
//! frame is written at `pos & mask`; tap `j` reads `(pos − (K − 1 − j) · d) & mask`, except the
//! current tap (`j = K − 1`, delay 0), which uses the registers just computed. Zeroed rings are
//! the convs' zero left padding, so [`Packed::reset`] restarts exactly like the batch
//! reference.

use crate::arch::{Architecture, LAYER_NORM_EPSILON, MAX_CHANNELS, N_INPUTS};
use crate::math::{exp_sigmoid_v, lane_sum, relu6_v, NOISE_LOGIT_OFFSET};
use crate::reference::sanitize_input;
#[cfg(target_arch = "x86_64")]
use crate::simd::{Avx2, Avx512};
use crate::simd::{Channels, Lane, Pair, Portable, Simd};
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
    /// Delay of tap `j` in steps: `(K − 1 − j) · d · stride`.
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
    /// Ring of the last inputs, a power-of-two length ≥ `(K − 1) · stride + 1`.
    input_history: Vec<[f32; N_INPUTS]>,
    /// Steps between the input conv's taps: the stride (see [`Packed::new`]).
    input_stride: usize,
    /// `input_history.len() − 1`.
    input_mask: usize,
    /// The residual blocks.
    blocks: Vec<PackedBlock>,
    /// Head weights `[output pairs][C_pad]`, 16 outputs per entry.
    head_weight: Vec<[Lane; 2]>,
    /// Head bias `[output pairs]`.
    head_bias: Vec<[Lane; 2]>,
    /// Added to the head's logits: the noise offset (−5) on noise outputs, 0 elsewhere.
    head_offset: Vec<[Lane; 2]>,
    /// 1.0 for real channels, 0.0 for padding (the norm's variance skips padding).
    channel_mask: Vec<Lane>,
    /// `1 / C`.
    inv_channels: f32,
    /// The activated head outputs of the last step, `[output pairs]`.
    pub(crate) out: Vec<[Lane; 2]>,
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

/// Packs a vector into `groups` lanes, padding with zeros.
fn pack_vector(v: &[f32], groups: usize) -> Vec<Lane> {
    let mut packed = vec![ZERO; groups];
    for (i, &x) in v.iter().enumerate() {
        let (g, l) = group_lane(i);
        packed[g][l] = x;
    }
    packed
}

impl Packed {
    /// Packs the weights of a validated model (int8 weights dequantized), for steps
    /// `stride` times as frequent as the model's frames: every tap's delay (the input conv's
    /// and each block's) is multiplied by `stride`, so each output depends only on the steps
    /// a whole number of frames back, and the network runs as `stride` interleaved copies of
    /// itself, each one frame apart in its own steps. Stride 1 is the network as trained; it is
    /// never 0 ([`crate::Decoder`] clamps it). Allocates.
    pub(crate) fn new(arch: &Architecture, weights: &Weights, stride: usize) -> Self {
        let (c, k) = (arch.channels, arch.kernel_size);
        let groups = c.div_ceil(LANES);
        let c_pad = groups * LANES;
        let input_slots = ((k - 1) * stride + 1).next_power_of_two();
        let blocks = weights
            .blocks
            .iter()
            .zip(&arch.dilations)
            .map(|(b, &d)| {
                let d = d * stride;
                let slots = ((k - 1) * d + 1).next_power_of_two();
                PackedBlock {
                    weight: pack_conv(&b.conv.weight.to_f32(), c, c, c_pad, k),
                    bias: pack_vector(&b.conv.bias, groups),
                    norm: b
                        .norm
                        .as_ref()
                        .map(|n| (pack_vector(&n.gain, groups), pack_vector(&n.bias, groups))),
                    history: vec![ZERO; slots * groups],
                    mask: slots - 1,
                    delays: (0..k).map(|j| (k - 1 - j) * d).collect(),
                }
            })
            .collect();
        let n_out = arch.n_outputs();
        let out_pairs = n_out.div_ceil(2 * LANES);
        let head = weights.head.weight.to_f32();
        let mut head_weight = vec![[ZERO; 2]; out_pairs * c_pad];
        for o in 0..n_out {
            let (g, l) = group_lane(o);
            for i in 0..c {
                head_weight[g / 2 * c_pad + i][g % 2][l] = head[o * c + i];
            }
        }
        let pairs = |v: &[f32]| -> Vec<[Lane; 2]> {
            let lanes = pack_vector(v, 2 * out_pairs);
            lanes.chunks_exact(2).map(|c| [c[0], c[1]]).collect()
        };
        let noise_start = 1 + arch.n_harmonics;
        let offsets: Vec<f32> = (0..n_out)
            .map(|o| {
                if o >= noise_start {
                    NOISE_LOGIT_OFFSET
                } else {
                    0.0
                }
            })
            .collect();
        Self {
            groups,
            kernel_size: k,
            input_weight: pack_conv(&weights.input.weight.to_f32(), c, N_INPUTS, N_INPUTS, k),
            input_bias: pack_vector(&weights.input.bias, groups),
            input_history: vec![[0.0; N_INPUTS]; input_slots],
            input_stride: stride,
            input_mask: input_slots - 1,
            blocks,
            head_weight,
            head_bias: pairs(&weights.head.bias),
            head_offset: pairs(&offsets),
            channel_mask: pack_vector(&vec![1.0; c], groups),
            inv_channels: 1.0 / c as f32,
            out: vec![[ZERO; 2]; out_pairs],
            pos: 0,
        }
    }

    /// Forgets all history (as if no frame had been seen). No allocation.
    pub(crate) fn reset(&mut self) {
        self.input_history.fill([0.0; N_INPUTS]);
        for b in &mut self.blocks {
            b.history.fill(ZERO);
        }
        self.out.fill([ZERO; 2]);
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

/// The step: blocks on backend `B` (`CAP` vectors of `B::WIDTH` channels when `FIXED`, else
/// as many as the model has, up to `CAP`), the head on the 16-wide backend `H`. The arithmetic
/// is the canonical one of [`crate::reference`], lane by lane, so every backend gives the
/// reference's bits.
#[inline(always)]
fn step_impl<B, H, const CAP: usize, const FIXED: bool>(
    b: B,
    hs: H,
    p: &mut Packed,
    f0: f32,
    loudness: f32,
) where
    B: Channels,
    H: Simd<Mem = [Lane; 2]>,
{
    let per = B::WIDTH / LANES;
    let nv = if FIXED {
        CAP
    } else {
        (p.groups / per).min(CAP)
    };
    let nl = nv * per;
    let cp = nl * LANES;
    let k = p.kernel_size;
    let zero = b.splat(0.0);
    p.pos = p.pos.wrapping_add(1);
    let pos = p.pos;

    // Input conv: bias plus one dot product per tap, oldest tap first.
    let im = p.input_mask;
    p.input_history[pos & im] = [sanitize_input(f0), sanitize_input(loudness)];
    let mut x = [zero; CAP];
    for (xv, bias) in x[..nv].iter_mut().zip(B::view(&p.input_bias)) {
        *xv = b.load(bias);
    }
    for (j, w) in B::view(&p.input_weight)
        .chunks_exact(N_INPUTS * nv)
        .enumerate()
    {
        let frame = p.input_history[pos.wrapping_sub((k - 1 - j) * p.input_stride) & im];
        for (v, xv) in x[..nv].iter_mut().enumerate() {
            let mut part = [zero; 4];
            for (i, &value) in frame.iter().enumerate() {
                part[i % 4] = b.fma(b.load(&w[i * nv + v]), b.splat(value), part[i % 4]);
            }
            *xv = b.add(*xv, combine(b, part));
        }
    }

    // Scratch for horizontal sums and for the head's input, as 8-channel lanes.
    let mut lanes = [ZERO; MAX_GROUPS];
    for blk in &mut p.blocks {
        // h = relu6(norm(x)), kept in registers and written to the ring.
        let mut h = [zero; CAP];
        match &blk.norm {
            None => {
                for (hv, &xv) in h[..nv].iter_mut().zip(&x[..nv]) {
                    *hv = relu6_v(b, xv);
                }
            }
            Some((gain, bias)) => {
                let scratch = B::view_mut(&mut lanes[..nl]);
                for (l, &xv) in scratch.iter_mut().zip(&x[..nv]) {
                    b.store(l, xv);
                }
                let mean = lanes[..nl].iter().fold(0.0, |t, &l| t + lane_sum(l)) * p.inv_channels;
                let mean_v = b.splat(mean);
                let scratch = B::view_mut(&mut lanes[..nl]);
                for ((l, &xv), m) in scratch
                    .iter_mut()
                    .zip(&x[..nv])
                    .zip(B::view(&p.channel_mask))
                {
                    let d = b.mul(b.sub(xv, mean_v), b.load(m));
                    b.store(l, b.mul(d, d));
                }
                let var = lanes[..nl].iter().fold(0.0, |t, &l| t + lane_sum(l)) * p.inv_channels;
                let inv_std = b.splat(1.0 / (var + LAYER_NORM_EPSILON).sqrt());
                let params = B::view(gain).iter().zip(B::view(bias));
                for ((hv, &xv), (g, bb)) in h[..nv].iter_mut().zip(&x[..nv]).zip(params) {
                    let normed = b.fma(b.mul(b.sub(xv, mean_v), inv_std), b.load(g), b.load(bb));
                    *hv = relu6_v(b, normed);
                }
            }
        }
        let slot = (pos & blk.mask) * nl;
        for (l, &hv) in B::view_mut(&mut blk.history[slot..slot + nl])
            .iter_mut()
            .zip(&h[..nv])
        {
            b.store(l, hv);
        }

        // Conv: (x + (bias + past taps)) + current tap. Each tap is one dot product; the past
        // taps (oldest first) read the ring and do not wait for this frame's h, so only the
        // current tap, broadcast from registers, lies on the frame's critical path.
        let weights = B::view(&blk.weight);
        let tap_len = cp * nv;
        let mut past = [zero; CAP];
        for (pv, bias) in past[..nv].iter_mut().zip(B::view(&blk.bias)) {
            *pv = b.load(bias);
        }
        let history = blk.history.as_flattened();
        for (j, &delay) in blk.delays[..k - 1].iter().enumerate() {
            let start = (pos.wrapping_sub(delay) & blk.mask) * cp;
            let frame = &history[start..start + cp];
            // Input i goes to partial sum i % 4, four inputs a pass, so that each partial
            // sum is indexed by a constant and stays in registers.
            let mut part = [[zero; CAP]; 4];
            for (wq, xq) in weights[j * tap_len..][..tap_len]
                .chunks_exact(4 * nv)
                .zip(frame.chunks_exact(4))
            {
                for (r, (part, wi)) in part.iter_mut().zip(wq.chunks_exact(nv)).enumerate() {
                    let value = b.splat(xq[r]);
                    for (pv, w) in part[..nv].iter_mut().zip(wi) {
                        *pv = b.fma(b.load(w), value, *pv);
                    }
                }
            }
            for (v, pv) in past[..nv].iter_mut().enumerate() {
                *pv = b.add(
                    *pv,
                    combine(b, [part[0][v], part[1][v], part[2][v], part[3][v]]),
                );
            }
        }
        let mut part = [[zero; CAP]; 4];
        for (q, wq) in weights[(k - 1) * tap_len..][..tap_len]
            .chunks_exact(4 * nv)
            .enumerate()
        {
            for (r, (part, wi)) in part.iter_mut().zip(wq.chunks_exact(nv)).enumerate() {
                let i = 4 * q + r;
                let value = b.broadcast(h[i / B::WIDTH], i % B::WIDTH);
                for (pv, w) in part[..nv].iter_mut().zip(wi) {
                    *pv = b.fma(b.load(w), value, *pv);
                }
            }
        }
        for (v, xv) in x[..nv].iter_mut().enumerate() {
            let current = combine(b, [part[0][v], part[1][v], part[2][v], part[3][v]]);
            *xv = b.add(b.add(*xv, past[v]), current);
        }
    }

    // Head on y = relu6(x): bias plus a dot product, plus the noise offset, through
    // exp_sigmoid, 16 outputs at a time.
    for (l, &xv) in B::view_mut(&mut lanes[..nl]).iter_mut().zip(&x[..nv]) {
        b.store(l, relu6_v(b, xv));
    }
    let y = &lanes.as_flattened()[..cp];
    let head = p
        .head_weight
        .chunks_exact(cp)
        .zip(&p.head_bias)
        .zip(&p.head_offset);
    for (out, ((w, bias), offset)) in p.out.iter_mut().zip(head) {
        let mut part = [hs.splat(0.0); 4];
        for (wq, yq) in w.chunks_exact(4).zip(y.chunks_exact(4)) {
            for ((pv, wi), &value) in part.iter_mut().zip(wq).zip(yq) {
                *pv = hs.fma(hs.load(wi), hs.splat(value), *pv);
            }
        }
        let logit = hs.add(hs.add(hs.load(bias), combine(hs, part)), hs.load(offset));
        hs.store(out, exp_sigmoid_v(hs, logit));
    }
}

/// Portable step (see [`step_impl`] for the parameters).
fn step_portable<const CAP: usize, const FIXED: bool>(p: &mut Packed, f0: f32, loudness: f32) {
    step_impl::<Portable, Pair<Portable>, CAP, FIXED>(Portable, Pair(Portable), p, f0, loudness)
}

/// The step with AVX2 + FMA (8 lanes per register).
///
/// # Safety
/// The CPU must support AVX2 and FMA (the token proves it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn step_avx2_unchecked<const CAP: usize, const FIXED: bool>(
    s: Avx2,
    p: &mut Packed,
    f0: f32,
    loudness: f32,
) {
    step_impl::<Avx2, Pair<Avx2>, CAP, FIXED>(s, Pair(s), p, f0, loudness)
}

/// Safe entry to [`step_avx2_unchecked`].
#[cfg(target_arch = "x86_64")]
fn step_avx2<const CAP: usize, const FIXED: bool>(p: &mut Packed, f0: f32, loudness: f32) {
    match Avx2::detect() {
        // SAFETY: the token proves AVX2 and FMA.
        Some(s) => unsafe { step_avx2_unchecked::<CAP, FIXED>(s, p, f0, loudness) },
        None => step_portable::<CAP, FIXED>(p, f0, loudness),
    }
}

/// The step with AVX-512F for the head; the blocks on `B` (AVX2 or AVX-512 registers).
///
/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA (the tokens prove it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn step_avx512_unchecked<B: Channels, const CAP: usize, const FIXED: bool>(
    blocks: B,
    head: Avx512,
    p: &mut Packed,
    f0: f32,
    loudness: f32,
) {
    step_impl::<B, Avx512, CAP, FIXED>(blocks, head, p, f0, loudness)
}

/// Safe entry to [`step_avx512_unchecked`] with AVX2 blocks.
#[cfg(target_arch = "x86_64")]
fn step_avx512_avx2_blocks<const CAP: usize, const FIXED: bool>(
    p: &mut Packed,
    f0: f32,
    loudness: f32,
) {
    match Avx512::detect() {
        // SAFETY: the token proves AVX-512F, AVX2 and FMA.
        Some(s) => unsafe {
            step_avx512_unchecked::<Avx2, CAP, FIXED>(s.avx2_fma(), s, p, f0, loudness)
        },
        None => step_avx2::<CAP, FIXED>(p, f0, loudness),
    }
}

/// Safe entry to [`step_avx512_unchecked`] with the blocks in `CAP` AVX-512 registers (16
/// channels each: `GROUPS = 2 · CAP` 8-channel groups, which the AVX2 fallback takes).
#[cfg(target_arch = "x86_64")]
fn step_avx512_blocks<const CAP: usize, const GROUPS: usize>(
    p: &mut Packed,
    f0: f32,
    loudness: f32,
) {
    match Avx512::detect() {
        // SAFETY: the token proves AVX-512F, AVX2 and FMA.
        Some(s) => unsafe { step_avx512_unchecked::<Avx512, CAP, true>(s, s, p, f0, loudness) },
        None => step_avx2::<GROUPS, true>(p, f0, loudness),
    }
}

/// The instruction sets the decoder has kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Plain Rust on `[f32; 8]` arrays; any target. The compiler vectorizes what it can.
    Portable,
    /// x86-64 AVX2 + FMA: 8 lanes per register.
    Avx2,
    /// x86-64 AVX-512F (with AVX2 + FMA): the head 16 outputs per register, the blocks 16
    /// channels per register when 9 ≤ C ≤ 16.
    Avx512,
}

impl Isa {
    /// Whether this CPU can run the kernels for `self`.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => Avx2::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => Avx512::detect().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest instruction set this CPU supports.
    pub fn best() -> Isa {
        [Isa::Avx512, Isa::Avx2]
            .into_iter()
            .find(|isa| isa.is_available())
            .unwrap_or(Isa::Portable)
    }
}

/// The step for `groups` 8-channel groups on `isa`, and its name (the portable step when this
/// CPU lacks `isa`).
pub(crate) fn select(groups: usize, isa: Isa) -> (StepFn, &'static str) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 if isa.is_available() => match groups {
            1 => (
                step_avx512_avx2_blocks::<1, true>,
                "avx512 head, avx2 blocks, C ≤ 8",
            ),
            2 => (step_avx512_blocks::<1, 2>, "avx512, 9 ≤ C ≤ 16"),
            4 => (step_avx512_blocks::<2, 4>, "avx512, 25 ≤ C ≤ 32"),
            _ => (
                step_avx512_avx2_blocks::<MAX_GROUPS, false>,
                "avx512 head, avx2 blocks, any C",
            ),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 if isa.is_available() => match groups {
            1 => (step_avx2::<1, true>, "avx2, C ≤ 8"),
            2 => (step_avx2::<2, true>, "avx2, 9 ≤ C ≤ 16"),
            4 => (step_avx2::<4, true>, "avx2, 25 ≤ C ≤ 32"),
            _ => (step_avx2::<MAX_GROUPS, false>, "avx2, any C"),
        },
        _ => match groups {
            1 => (step_portable::<1, true>, "portable, C ≤ 8"),
            2 => (step_portable::<2, true>, "portable, 9 ≤ C ≤ 16"),
            4 => (step_portable::<4, true>, "portable, 25 ≤ C ≤ 32"),
            _ => (step_portable::<MAX_GROUPS, false>, "portable, any C"),
        },
    }
}
