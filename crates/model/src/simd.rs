//! A minimal SIMD layer: the few vector operations the decoder needs, behind one trait, so the
//! network's arithmetic is written once and compiled for each backend.
//!
//! Backends (each a zero-sized token passed by value; all methods are `#[inline(always)]`):
//! - [`Scalar`]: one `f32`. The batch reference and [`crate::math::exp_sigmoid`] use it.
//! - [`Portable`]: `[f32; 8]`, lane by lane with [`Scalar`]'s operations; the compiler
//!   vectorizes it where it can. Any target.
//! - `Avx2`: one `__m256` register (x86-64 with AVX2 and FMA, detected at run time).
//!
//! Every operation is exactly rounded IEEE arithmetic with the same semantics on every backend
//! (`fma` is fused everywhere: `f32::mul_add` in [`Scalar`]), so the same sequence of
//! operations gives the same bits on every backend. `min`/`max` are defined as
//! `if a < b { a } else { b }` / `if a > b { a } else { b }`, which is exactly what x86's
//! `minps`/`maxps` compute.

/// One group of 8 channels in memory.
pub(crate) type Lane = [f32; 8];

/// `1.5 · 2^23`: adding it rounds an f32 of magnitude below 2^22 to an integer, which then
/// sits in the low mantissa bits.
pub(crate) const ROUND_MAGIC: f32 = 12_582_912.0;

/// The vector operations of one backend.
pub(crate) trait Simd: Copy {
    /// A vector of lanes.
    type V: Copy;
    /// All lanes `x`.
    fn splat(self, x: f32) -> Self::V;
    /// Loads 8 channels (one value for [`Scalar`]: the first).
    fn load(self, lane: &Lane) -> Self::V;
    /// Stores 8 channels (one value for [`Scalar`]: the first).
    fn store(self, lane: &mut Lane, v: Self::V);
    /// `a + b`.
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a − b`.
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a · b`.
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a · b + c`, fused (one rounding).
    fn fma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `if a < b { a } else { b }`.
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// `if a > b { a } else { b }`.
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// `|a|` (clears the sign bit).
    fn abs(self, a: Self::V) -> Self::V;
    /// `2^(n + e)` where `shifted = n + ROUND_MAGIC` holds an integer `n` (see
    /// [`ROUND_MAGIC`]), built in the exponent bits: `bits((n + 127 + e) << 23)`. The caller
    /// keeps `n + 127 + e` within `1..=254`.
    fn pow2_of_rounded(self, shifted: Self::V, e: i32) -> Self::V;
}

/// One `f32` at a time: the reference semantics of every operation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scalar;

impl Simd for Scalar {
    type V = f32;
    #[inline(always)]
    fn splat(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn load(self, lane: &Lane) -> f32 {
        lane[0]
    }
    #[inline(always)]
    fn store(self, lane: &mut Lane, v: f32) {
        lane[0] = v;
    }
    #[inline(always)]
    fn add(self, a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn sub(self, a: f32, b: f32) -> f32 {
        a - b
    }
    #[inline(always)]
    fn mul(self, a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn fma(self, a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn min(self, a: f32, b: f32) -> f32 {
        if a < b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn max(self, a: f32, b: f32) -> f32 {
        if a > b {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn abs(self, a: f32) -> f32 {
        a.abs()
    }
    #[inline(always)]
    fn pow2_of_rounded(self, shifted: f32, e: i32) -> f32 {
        let offset = (127 + e).wrapping_sub(ROUND_MAGIC.to_bits() as i32) as u32;
        f32::from_bits(shifted.to_bits().wrapping_add(offset) << 23)
    }
}

/// 8 lanes with [`Scalar`]'s operations, for any target.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Portable;

/// Applies a [`Scalar`] operation lane by lane.
#[inline(always)]
fn lanewise(a: Lane, b: Lane, f: impl Fn(f32, f32) -> f32) -> Lane {
    let mut out = a;
    for (o, b) in out.iter_mut().zip(b) {
        *o = f(*o, b);
    }
    out
}

impl Simd for Portable {
    type V = Lane;
    #[inline(always)]
    fn splat(self, x: f32) -> Lane {
        [x; 8]
    }
    #[inline(always)]
    fn load(self, lane: &Lane) -> Lane {
        *lane
    }
    #[inline(always)]
    fn store(self, lane: &mut Lane, v: Lane) {
        *lane = v;
    }
    #[inline(always)]
    fn add(self, a: Lane, b: Lane) -> Lane {
        lanewise(a, b, |a, b| Scalar.add(a, b))
    }
    #[inline(always)]
    fn sub(self, a: Lane, b: Lane) -> Lane {
        lanewise(a, b, |a, b| Scalar.sub(a, b))
    }
    #[inline(always)]
    fn mul(self, a: Lane, b: Lane) -> Lane {
        lanewise(a, b, |a, b| Scalar.mul(a, b))
    }
    #[inline(always)]
    fn fma(self, a: Lane, b: Lane, c: Lane) -> Lane {
        let mut out = c;
        for ((o, a), b) in out.iter_mut().zip(a).zip(b) {
            *o = Scalar.fma(a, b, *o);
        }
        out
    }
    #[inline(always)]
    fn min(self, a: Lane, b: Lane) -> Lane {
        lanewise(a, b, |a, b| Scalar.min(a, b))
    }
    #[inline(always)]
    fn max(self, a: Lane, b: Lane) -> Lane {
        lanewise(a, b, |a, b| Scalar.max(a, b))
    }
    #[inline(always)]
    fn abs(self, a: Lane) -> Lane {
        a.map(f32::abs)
    }
    #[inline(always)]
    fn pow2_of_rounded(self, shifted: Lane, e: i32) -> Lane {
        let mut out = shifted;
        for o in &mut out {
            *o = Scalar.pow2_of_rounded(*o, e);
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Lane, Simd, ROUND_MAGIC};

    /// Proof that this CPU has AVX2 and FMA: only [`Avx2::detect`] makes one, so every
    /// intrinsic below runs on a CPU that supports it.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct Avx2(());

    impl Avx2 {
        /// The token, if this CPU has AVX2 and FMA.
        pub(crate) fn detect() -> Option<Self> {
            (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Self(()))
        }
    }

    // SAFETY (every `unsafe` below): an `Avx2` value exists only after `detect` confirmed AVX2
    // and FMA, so these intrinsics are supported; `load` and `store` touch exactly the 8 f32
    // of a `Lane`.
    impl Simd for Avx2 {
        type V = __m256;
        #[inline(always)]
        fn splat(self, x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        fn load(self, lane: &Lane) -> __m256 {
            unsafe { _mm256_loadu_ps(lane.as_ptr()) }
        }
        #[inline(always)]
        fn store(self, lane: &mut Lane, v: __m256) {
            unsafe { _mm256_storeu_ps(lane.as_mut_ptr(), v) }
        }
        #[inline(always)]
        fn add(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_sub_ps(a, b) }
        }
        #[inline(always)]
        fn mul(self, a: __m256, b: __m256) -> __m256 {
            unsafe { _mm256_mul_ps(a, b) }
        }
        #[inline(always)]
        fn fma(self, a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        fn min(self, a: __m256, b: __m256) -> __m256 {
            // minps: (a < b) ? a : b.
            unsafe { _mm256_min_ps(a, b) }
        }
        #[inline(always)]
        fn max(self, a: __m256, b: __m256) -> __m256 {
            // maxps: (a > b) ? a : b.
            unsafe { _mm256_max_ps(a, b) }
        }
        #[inline(always)]
        fn abs(self, a: __m256) -> __m256 {
            unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), a) }
        }
        #[inline(always)]
        fn pow2_of_rounded(self, shifted: __m256, e: i32) -> __m256 {
            let offset = (127 + e).wrapping_sub(ROUND_MAGIC.to_bits() as i32);
            unsafe {
                let bits = _mm256_add_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(offset));
                _mm256_castsi256_ps(_mm256_slli_epi32::<23>(bits))
            }
        }
    }
}
