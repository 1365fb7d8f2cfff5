//! The network's nonlinearities: [`relu6`] and DDSP's [`exp_sigmoid`], the latter as a fast
//! polynomial approximation, plus the canonical channel sum.
//!
//! The head evaluates `1 + H + B` (126) exp_sigmoids per frame, which with `std`'s `exp`/`ln`
//! would cost more than the whole convolution stack. [`exp_sigmoid`] uses only multiplies,
//! adds, compares and bit moves (no calls, no table lookups), so a loop over a slice becomes
//! SIMD code. Its relative error against the exact formula ([`exp_sigmoid_exact`], in f64) is
//! at most [`EXP_SIGMOID_MAX_REL_ERROR`]; `tests::exp_sigmoid_error_bound` checks that on a
//! dense sweep.
//!
//! The derivation. With `u = e^−|x| = 2^(−|x| · log2(e)) ∈ (0, 1]`,
//! `sigmoid(x) = e^min(x, 0) / (1 + u)`, so
//! ```text
//! exp_sigmoid(x) = 2 · sigmoid(x)^ln10 + 1e-7
//!                = 2 · 10^min(x, 0) · (1 + u)^−ln10 + 1e-7
//! ```
//! `10^min(x, 0)` and `u` are two independent `2^t` evaluations (so the CPU overlaps them):
//! `2^round(t)` built in the exponent bits times a degree-4 polynomial on `[−½, ½]` (relative
//! error 2.8e-6). `(1 + u)^−ln10` on `u ∈ [0, 1]` is a degree-8 polynomial (relative error
//! 4.9e-6). Each is a minimax-style fit with its constant term pinned (exact at 0), evaluated
//! with fused multiply-adds (Horner's rule: fewer multiplies than Estrin's scheme, which
//! measured slower here because the head is limited by multiply throughput). Nothing
//! overflows: both exponents are clamped first.
//!
//! The formula is written once, generic over the SIMD backends of `simd.rs`; the scalar
//! [`exp_sigmoid`] is its one-lane instance, and the decoder's vector instances give the same
//! bits lane by lane.

use crate::simd::{Scalar, Simd, ROUND_MAGIC};

/// Upper bound of the relative error of [`exp_sigmoid`] against [`exp_sigmoid_exact`], for any
/// finite input (the measured maximum on a dense sweep is 8.3e-6: see the test).
pub const EXP_SIGMOID_MAX_REL_ERROR: f64 = 1.2e-5;

/// Floor DDSP adds to exp_sigmoid's output, so magnitudes are never exactly 0.
pub const EXP_SIGMOID_FLOOR: f32 = 1e-7;

/// Offset applied to the noise logits before [`exp_sigmoid`] (DDSP's `-5` initial bias).
pub const NOISE_LOGIT_OFFSET: f32 = -5.0;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln(10) · log2(e)`: `10^x = 2^(x · ln(10) · log2(e))`.
const LN10_LOG2E: f32 = std::f32::consts::LN_10 * LOG2_E;
/// `2^r ≈ 1 + r·(c1 + r·(c2 + r·(c3 + r·c4)))` on `[−½, ½]`, relative error 2.8e-6.
const EXP2_POLY: [f32; 4] = [0.693_124_2, 0.240_240_98, 0.055_906_53, 0.009_582_934];
/// `(1 + u)^−ln(10) ≈ 1 + u·(c1 + u·(c2 + …))` on `[0, 1]`, degree 8, relative error 4.9e-6.
const INV_1P_POW_LN10_POLY: [f32; 8] = [
    -2.302_132_1,
    3.788_140_5,
    -5.295_383,
    6.324_924,
    -6.011_206_6,
    4.065_757,
    -1.679_779_9,
    0.312_380_7,
];

/// Sum of one group of 8 channel values as a fixed tree:
/// `((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))`.
#[inline(always)]
pub fn lane_sum(v: [f32; 8]) -> f32 {
    let [v0, v1, v2, v3, v4, v5, v6, v7] = v;
    ((v0 + v4) + (v2 + v6)) + ((v1 + v5) + (v3 + v7))
}

/// Sum of a frame's channel values in the decoder's canonical order: groups of 8 (the last
/// padded with zeros) by [`lane_sum`], added in ascending order to 0.
pub fn channel_sum(values: &[f32]) -> f32 {
    values.chunks(8).fold(0.0, |total, chunk| {
        let mut group = [0.0; 8];
        group[..chunk.len()].copy_from_slice(chunk);
        total + lane_sum(group)
    })
}

/// The canonical dot product `Σ w_i · x_i`: four partial sums by `i mod 4`, each
/// `s = fma(w_i, x_i, s)` from 0 in ascending `i`, combined as `(s0 + s1) + (s2 + s3)`. Four
/// independent chains keep a SIMD step short; every path of the decoder sums this way.
pub fn dot(terms: impl IntoIterator<Item = (f32, f32)>) -> f32 {
    let mut s = [0.0f32; 4];
    for (i, (w, x)) in terms.into_iter().enumerate() {
        s[i % 4] = w.mul_add(x, s[i % 4]);
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

/// `min(max(x, 0), 6)`.
#[inline(always)]
pub fn relu6(x: f32) -> f32 {
    relu6_v(Scalar, x)
}

/// [`relu6`] on a vector of any backend.
#[inline(always)]
pub(crate) fn relu6_v<S: Simd>(s: S, x: S::V) -> S::V {
    s.min(s.max(x, s.splat(0.0)), s.splat(6.0))
}

/// `2^(t + e)` for `t ∈ [−126, 0]` (callers clamp) and `e ∈ {0, 1}`: `2^round(t)` added to
/// the exponent bits of a polynomial for the rest. Relative error ≤ 2.8e-6.
#[inline(always)]
fn exp2_nonpositive<S: Simd>(s: S, t: S::V, e: i32) -> S::V {
    let magic = s.splat(ROUND_MAGIC);
    let shifted = s.add(t, magic);
    let r = s.sub(t, s.sub(shifted, magic)); // t − round(t), in [−½, ½]
    let [c1, c2, c3, c4] = EXP2_POLY;
    let p = s.fma(s.splat(c4), r, s.splat(c3));
    let p = s.fma(p, r, s.splat(c2));
    let p = s.fma(p, r, s.splat(c1));
    let p = s.fma(p, r, s.splat(1.0));
    // p ∈ [0.70, 1.42] and round(t) + e ≥ −126, so the result is a normal number.
    s.scale_by_rounded(p, shifted, e)
}

/// [`exp_sigmoid`] on a vector of any backend; the same operations in the same order, so the
/// same bits on every backend.
#[inline(always)]
pub(crate) fn exp_sigmoid_v<S: Simd>(s: S, x: S::V) -> S::V {
    // Two independent chains (the CPU runs them side by side).
    // A: u = 2^−a with a = |x| · log2(e) ≤ 30 (beyond that 1 + u rounds to 1 anyway), then
    //    h = (1 + u)^−ln10 by Horner's rule.
    let t = s.max(s.mul(s.abs(x), s.splat(-LOG2_E)), s.splat(-30.0));
    let u = exp2_nonpositive(s, t, 0);
    let [c1, c2, c3, c4, c5, c6, c7, c8] = INV_1P_POW_LN10_POLY;
    let h = s.fma(s.splat(c8), u, s.splat(c7));
    let h = s.fma(h, u, s.splat(c6));
    let h = s.fma(h, u, s.splat(c5));
    let h = s.fma(h, u, s.splat(c4));
    let h = s.fma(h, u, s.splat(c3));
    let h = s.fma(h, u, s.splat(c2));
    let h = s.fma(h, u, s.splat(c1));
    let h = s.fma(h, u, s.splat(1.0));
    // B: 2 · 10^min(x, 0) = 2 · 2^(ln10 · log2(e) · min(x, 0)); below 2^−100 the floor
    //    dominates by 23 orders of magnitude.
    let z = s.max(
        s.mul(s.min(x, s.splat(0.0)), s.splat(LN10_LOG2E)),
        s.splat(-100.0),
    );
    let two_pow = exp2_nonpositive(s, z, 1);
    // 2 · sigmoid(x)^ln10 + floor = 2 · 10^min(x, 0) · (1 + u)^−ln10 + floor.
    s.fma(two_pow, h, s.splat(EXP_SIGMOID_FLOOR))
}

/// DDSP's `exp_sigmoid(x) = 2 · sigmoid(x)^ln(10) + 1e-7`, approximated (see the module docs):
/// relative error ≤ [`EXP_SIGMOID_MAX_REL_ERROR`]. Always finite, in `[1e-7, 2 + 1e-7]`,
/// whatever `x` (±Inf give the limits, NaN gives 2 + 1e-7).
#[inline(always)]
pub fn exp_sigmoid(x: f32) -> f32 {
    exp_sigmoid_v(Scalar, x)
}

/// The exact `exp_sigmoid` in f64 with `std` functions: the reference for [`exp_sigmoid`].
pub fn exp_sigmoid_exact(x: f64) -> f64 {
    // ln(sigmoid(x)) = −softplus(−x), computed without overflow.
    let log_sigmoid = x.min(0.0) - (-x.abs()).exp().ln_1p();
    2.0 * (std::f64::consts::LN_10 * log_sigmoid).exp() + 1e-7
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel_error(x: f32) -> f64 {
        let exact = exp_sigmoid_exact(x as f64);
        ((exp_sigmoid(x) as f64 - exact) / exact).abs()
    }

    #[test]
    fn exp_sigmoid_error_bound() {
        // A dense sweep over the range where the output moves (below −40 it is the floor),
        // plus far tails and every f32 near 0.
        let mut worst = (0.0f64, 0.0f32);
        let mut check = |x: f32| {
            let e = rel_error(x);
            if e > worst.0 {
                worst = (e, x);
            }
        };
        for i in 0..=2_000_000 {
            check(-60.0 + 100.0 * i as f32 / 2_000_000.0);
        }
        for x in [
            -1e30,
            -1e4,
            -88.0,
            -1e-30,
            0.0,
            1e-30,
            88.0,
            1e4,
            1e30,
            f32::MIN,
            f32::MAX,
        ] {
            check(x);
        }
        println!(
            "exp_sigmoid: max relative error {:.3e} at x = {}",
            worst.0, worst.1
        );
        assert!(
            worst.0 <= EXP_SIGMOID_MAX_REL_ERROR,
            "max relative error {:.3e} at x = {} exceeds the documented bound",
            worst.0,
            worst.1
        );
        // The bound is tight enough to matter: a degree-3 exp2 alone would exceed it.
        assert!(worst.0 > 1e-7);
    }

    #[test]
    fn exp_sigmoid_limits() {
        // sigmoid(0) = ½ → 2 · 0.5^2.302585 + 1e-7 = 2 · 0.2026996 + 1e-7 = 0.4053993.
        assert!((exp_sigmoid_exact(0.0) - 0.405_399_3).abs() < 1e-7);
        assert!((exp_sigmoid(0.0) as f64 - 0.405_399_3).abs() < 1e-5);
        assert_eq!(exp_sigmoid(1e30), 2.0 + 1e-7);
        assert_eq!(exp_sigmoid(f32::INFINITY), 2.0 + 1e-7);
        assert_eq!(exp_sigmoid(-1e30), 1e-7);
        assert_eq!(exp_sigmoid(f32::NEG_INFINITY), 1e-7);
        // Monotonic on a sweep (the decoder's outputs keep their order).
        let mut last = 0.0;
        for i in 0..200_000 {
            let y = exp_sigmoid(-40.0 + i as f32 * 4e-4);
            assert!(y >= last, "not monotonic at step {i}");
            last = y;
        }
    }

    #[test]
    fn every_backend_computes_the_same_bits() {
        use crate::simd::{Pair, Portable};
        let xs: Vec<f32> = (0..160_000)
            .map(|i| -80.0 + i as f32 * 1e-3)
            .chain([f32::NAN, 1e30, -1e30])
            .collect();
        let check = |name: &str, f: &dyn Fn([f32; 16]) -> [f32; 16]| {
            for chunk in xs.chunks_exact(16) {
                let x: [f32; 16] = chunk.try_into().unwrap();
                let got = f(x);
                for (g, &xi) in got.iter().zip(&x) {
                    assert_eq!(g.to_bits(), exp_sigmoid(xi).to_bits(), "{name} at x = {xi}");
                }
            }
        };
        let split = |x: [f32; 16]| [x[..8].try_into().unwrap(), x[8..].try_into().unwrap()];
        let join = |v: [[f32; 8]; 2]| -> [f32; 16] { v.as_flattened().try_into().unwrap() };
        check("portable", &|x| {
            join(exp_sigmoid_v(Pair(Portable), (split(x)[0], split(x)[1])).into())
        });
        #[cfg(target_arch = "x86_64")]
        {
            use crate::simd::{Avx2, Avx512};
            if let Some(s) = Avx2::detect() {
                check("avx2", &|x| {
                    let mut m = split(x);
                    let v = exp_sigmoid_v(Pair(s), Pair(s).load(&m));
                    Pair(s).store(&mut m, v);
                    join(m)
                });
            }
            if let Some(s) = Avx512::detect() {
                check("avx512", &|x| {
                    let mut m = split(x);
                    let v = exp_sigmoid_v(s, s.load(&m));
                    s.store(&mut m, v);
                    join(m)
                });
            }
        }
    }

    #[test]
    fn relu6_clamps() {
        assert_eq!(relu6(-1.0), 0.0);
        assert_eq!(relu6(3.5), 3.5);
        assert_eq!(relu6(7.0), 6.0);
    }
}
