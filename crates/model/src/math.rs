//! The network's scalar nonlinearities: [`relu6`] and DDSP's [`exp_sigmoid`], the latter as a
//! fast polynomial approximation that the compiler vectorizes.
//!
//! The head evaluates `1 + H + B` (126) exp_sigmoids per frame, which with `std`'s `exp`/`ln`
//! would cost more than the whole convolution stack. [`exp_sigmoid`] uses only multiplies,
//! adds, compares and bit moves (no calls, no table lookups), so a loop over a slice becomes
//! SIMD code. Its relative error against the exact formula ([`exp_sigmoid_exact`], in f64) is
//! at most [`EXP_SIGMOID_MAX_REL_ERROR`]; `tests::exp_sigmoid_error_bound` checks that on a
//! dense sweep.
//!
//! The derivation. With `a = |x| · log2(e)`, `u = 2^−a ∈ (0, 1]` and
//! `sigmoid(x) = 2^(min(x, 0) · log2(e)) / (1 + u)`:
//! ```text
//! exp_sigmoid(x) = 2 · sigmoid(x)^ln10 + 1e-7
//!                = 2 · 2^z + 1e-7,   z = ln10 · (log2(e) · min(x, 0) − log2(1 + u))
//! ```
//! `2^t` splits into `2^round(t)` (built in the exponent bits) times a degree-4 polynomial on
//! `[−½, ½]` (relative error 2.8e-6), and `log2(1 + u)` on `u ∈ [0, 1]` is a degree-6
//! polynomial (absolute error 2.1e-6), both fitted minimax-style with their constant term pinned
//! (exact at 0). Nothing overflows: `a` and `z` are clamped first.

/// Upper bound of the relative error of [`exp_sigmoid`] against [`exp_sigmoid_exact`], for any
/// finite input (measured maximum on a sweep: see the test).
pub const EXP_SIGMOID_MAX_REL_ERROR: f64 = 1.2e-5;

/// Floor DDSP adds to exp_sigmoid's output, so magnitudes are never exactly 0.
pub const EXP_SIGMOID_FLOOR: f32 = 1e-7;

/// Offset applied to the noise logits before [`exp_sigmoid`] (DDSP's `-5` initial bias).
pub const NOISE_LOGIT_OFFSET: f32 = -5.0;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
const LN_10: f32 = std::f32::consts::LN_10;
/// `1.5 · 2^23`: adding it rounds an f32 of magnitude below 2^22 to an integer.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `min(max(x, 0), 6)`. Written with comparisons so a loop over it vectorizes to max/min.
#[inline(always)]
pub fn relu6(x: f32) -> f32 {
    let x = if x > 0.0 { x } else { 0.0 };
    if x < 6.0 {
        x
    } else {
        6.0
    }
}

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

/// `2^t` for `t ∈ [−126, 0]` (callers clamp), relative error ≤ 2.8e-6.
#[inline(always)]
fn exp2_nonpositive(t: f32) -> f32 {
    let shifted = t + ROUND_MAGIC;
    let n = shifted - ROUND_MAGIC; // round(t), an integer in [−126, 0]
    let r = t - n; // in [−½, ½]
    // 2^r ≈ 1 + r·(c1 + r·(c2 + r·(c3 + r·c4))).
    let p = 1.0 + r * (0.693_124_2 + r * (0.240_240_98 + r * (0.055_906_53 + r * 0.009_582_934)));
    // The low mantissa bits of `shifted` hold round(t) in two's complement; 2^n is built by
    // putting n + 127 in the exponent field.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND_MAGIC.to_bits());
    p * f32::from_bits(n_bits.wrapping_add(127) << 23)
}

/// `log2(1 + u)` for `u ∈ [0, 1]`, absolute error ≤ 2.1e-6, exactly 0 at `u = 0`.
#[inline(always)]
fn log2_1p_unit(u: f32) -> f32 {
    u * (1.442_553 + u * (-0.718_280_85 + u * (0.458_266 + u * (-0.279_528_58 + u * (0.123_442_9 + u * -0.026_454_562)))))
}

/// DDSP's `exp_sigmoid(x) = 2 · sigmoid(x)^ln(10) + 1e-7`, approximated (see the module docs):
/// relative error ≤ [`EXP_SIGMOID_MAX_REL_ERROR`]. Always finite, in `[1e-7, 2 + 1e-7]`, for
/// finite `x`; `±Inf` give the limits. The decoder only feeds it finite values.
#[inline(always)]
pub fn exp_sigmoid(x: f32) -> f32 {
    let ax = if x < 0.0 { -x } else { x };
    // 2^−a with a ≤ 30 (beyond that 1 + u rounds to 1 anyway).
    let a = ax * LOG2_E;
    let a = if a < 30.0 { a } else { 30.0 };
    let u = exp2_nonpositive(-a);
    let neg_part = if x < 0.0 { x } else { 0.0 };
    let z = LN_10 * (LOG2_E * neg_part - log2_1p_unit(u));
    // Below 2^−100 the floor dominates by 23 orders of magnitude.
    let z = if z > -100.0 { z } else { -100.0 };
    2.0 * exp2_nonpositive(z) + EXP_SIGMOID_FLOOR
}

/// Applies [`exp_sigmoid`] to every element in place. Allocation-free and vectorized.
#[inline(always)]
pub fn exp_sigmoid_slice(values: &mut [f32]) {
    for v in values {
        *v = exp_sigmoid(*v);
    }
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
        for x in [-1e30, -1e4, -88.0, -1e-30, 0.0, 1e-30, 88.0, 1e4, 1e30, f32::MIN, f32::MAX] {
            check(x);
        }
        println!("exp_sigmoid: max relative error {:.3e} at x = {}", worst.0, worst.1);
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
        // sigmoid(0) = ½ → 2 · 0.5^2.302585 + 1e-7 = 0.40600…
        assert!((exp_sigmoid(0.0) as f64 - exp_sigmoid_exact(0.0)).abs() < 1e-5);
        assert!((exp_sigmoid_exact(0.0) - 0.406_006_3).abs() < 1e-6);
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
    fn relu6_clamps() {
        assert_eq!(relu6(-1.0), 0.0);
        assert_eq!(relu6(3.5), 3.5);
        assert_eq!(relu6(7.0), 6.0);
    }
}
