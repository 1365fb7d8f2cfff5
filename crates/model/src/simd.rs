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
    /// The memory a vector loads from and stores to.
    type Mem;
    /// All lanes `x`.
    fn splat(self, x: f32) -> Self::V;
    /// Loads a vector.
    fn load(self, mem: &Self::Mem) -> Self::V;
    /// Stores a vector.
    fn store(self, mem: &mut Self::Mem, v: Self::V);
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
    /// `p · 2^(n + e)` where `shifted = n + ROUND_MAGIC` holds an integer `n` (see
    /// [`ROUND_MAGIC`]), by adding `n + e` to `p`'s exponent bits: exact, like the multiply it
    /// replaces, as long as the result stays a normal number (the caller makes sure).
    fn scale_by_rounded(self, p: Self::V, shifted: Self::V, e: i32) -> Self::V;
}

/// One `f32` at a time: the reference semantics of every operation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scalar;

impl Simd for Scalar {
    type V = f32;
    type Mem = f32;
    #[inline(always)]
    fn splat(self, x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn load(self, mem: &f32) -> f32 {
        *mem
    }
    #[inline(always)]
    fn store(self, mem: &mut f32, v: f32) {
        *mem = v;
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
    fn scale_by_rounded(self, p: f32, shifted: f32, e: i32) -> f32 {
        let offset = e.wrapping_sub(ROUND_MAGIC.to_bits() as i32) as u32;
        f32::from_bits(
            p.to_bits()
                .wrapping_add(shifted.to_bits().wrapping_add(offset) << 23),
        )
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
    type Mem = Lane;
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
    fn scale_by_rounded(self, p: Lane, shifted: Lane, e: i32) -> Lane {
        lanewise(p, shifted, |p, shifted| {
            Scalar.scale_by_rounded(p, shifted, e)
        })
    }
}

/// Backends whose vectors hold whole groups of channels: how packed `Lane` data maps onto
/// their vectors.
pub(crate) trait Channels: Simd {
    /// Channels per vector (8 or 16).
    const WIDTH: usize;
    /// `lanes` as this backend's memory units (8-channel lanes, or pairs of them).
    fn view(lanes: &[Lane]) -> &[Self::Mem];
    /// `lanes` as this backend's memory units, mutably.
    fn view_mut(lanes: &mut [Lane]) -> &mut [Self::Mem];
    /// Channel `i` of `v` in every lane (`i < WIDTH`).
    fn broadcast(self, v: Self::V, i: usize) -> Self::V;
}

impl Channels for Portable {
    const WIDTH: usize = 8;
    #[inline(always)]
    fn view(lanes: &[Lane]) -> &[Lane] {
        lanes
    }
    #[inline(always)]
    fn view_mut(lanes: &mut [Lane]) -> &mut [Lane] {
        lanes
    }
    #[inline(always)]
    fn broadcast(self, v: Lane, i: usize) -> Lane {
        [v[i]; 8]
    }
}

/// Two 8-lane vectors of a backend side by side: 16 channels, for code written for 16-wide
/// vectors (the head) on an 8-wide backend. Same operations, so same bits as [`Avx512`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pair<S>(pub(crate) S);

impl<S: Simd<Mem = Lane>> Simd for Pair<S> {
    type V = (S::V, S::V);
    type Mem = [Lane; 2];
    #[inline(always)]
    fn splat(self, x: f32) -> Self::V {
        (self.0.splat(x), self.0.splat(x))
    }
    #[inline(always)]
    fn load(self, mem: &[Lane; 2]) -> Self::V {
        (self.0.load(&mem[0]), self.0.load(&mem[1]))
    }
    #[inline(always)]
    fn store(self, mem: &mut [Lane; 2], v: Self::V) {
        self.0.store(&mut mem[0], v.0);
        self.0.store(&mut mem[1], v.1);
    }
    #[inline(always)]
    fn add(self, a: Self::V, b: Self::V) -> Self::V {
        (self.0.add(a.0, b.0), self.0.add(a.1, b.1))
    }
    #[inline(always)]
    fn sub(self, a: Self::V, b: Self::V) -> Self::V {
        (self.0.sub(a.0, b.0), self.0.sub(a.1, b.1))
    }
    #[inline(always)]
    fn mul(self, a: Self::V, b: Self::V) -> Self::V {
        (self.0.mul(a.0, b.0), self.0.mul(a.1, b.1))
    }
    #[inline(always)]
    fn fma(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V {
        (self.0.fma(a.0, b.0, c.0), self.0.fma(a.1, b.1, c.1))
    }
    #[inline(always)]
    fn min(self, a: Self::V, b: Self::V) -> Self::V {
        (self.0.min(a.0, b.0), self.0.min(a.1, b.1))
    }
    #[inline(always)]
    fn max(self, a: Self::V, b: Self::V) -> Self::V {
        (self.0.max(a.0, b.0), self.0.max(a.1, b.1))
    }
    #[inline(always)]
    fn abs(self, a: Self::V) -> Self::V {
        (self.0.abs(a.0), self.0.abs(a.1))
    }
    #[inline(always)]
    fn scale_by_rounded(self, p: Self::V, shifted: Self::V, e: i32) -> Self::V {
        (
            self.0.scale_by_rounded(p.0, shifted.0, e),
            self.0.scale_by_rounded(p.1, shifted.1, e),
        )
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Channels, Lane, Simd, ROUND_MAGIC};

    /// The AVX2 + FMA backend: `timbre_simd`'s token, so every intrinsic below runs on a CPU
    /// that supports it.
    pub(crate) use timbre_simd::Avx2Fma as Avx2;

    // SAFETY (every `unsafe` below): an `Avx2` value exists only after `detect` confirmed AVX2
    // and FMA, so these intrinsics are supported; `load` and `store` touch exactly the 8 f32
    // of a `Lane`.
    impl Simd for Avx2 {
        type V = __m256;
        type Mem = Lane;
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
        fn scale_by_rounded(self, p: __m256, shifted: __m256, e: i32) -> __m256 {
            let offset = e.wrapping_sub(ROUND_MAGIC.to_bits() as i32);
            unsafe {
                let n = _mm256_add_epi32(_mm256_castps_si256(shifted), _mm256_set1_epi32(offset));
                let bits = _mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32::<23>(n));
                _mm256_castsi256_ps(bits)
            }
        }
    }

    impl Channels for Avx2 {
        const WIDTH: usize = 8;
        #[inline(always)]
        fn view(lanes: &[Lane]) -> &[Lane] {
            lanes
        }
        #[inline(always)]
        fn view_mut(lanes: &mut [Lane]) -> &mut [Lane] {
            lanes
        }
        #[inline(always)]
        fn broadcast(self, v: __m256, i: usize) -> __m256 {
            // SAFETY: see the `Simd` impl.
            unsafe { _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(i as i32)) }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx512::Avx512;

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{Channels, Lane, Simd, ROUND_MAGIC};

    /// The AVX-512F backend (the head of the decoder): `timbre_simd`'s token.
    pub(crate) use timbre_simd::Avx512;

    // SAFETY (every `unsafe` below): an `Avx512` value exists only after `detect` confirmed
    // AVX-512F, so these intrinsics are supported; `load` and `store` touch exactly the 16 f32
    // of a `[Lane; 2]`.
    impl Simd for Avx512 {
        type V = __m512;
        type Mem = [Lane; 2];
        #[inline(always)]
        fn splat(self, x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        fn load(self, mem: &[Lane; 2]) -> __m512 {
            unsafe { _mm512_loadu_ps(mem.as_ptr().cast()) }
        }
        #[inline(always)]
        fn store(self, mem: &mut [Lane; 2], v: __m512) {
            unsafe { _mm512_storeu_ps(mem.as_mut_ptr().cast(), v) }
        }
        #[inline(always)]
        fn add(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_sub_ps(a, b) }
        }
        #[inline(always)]
        fn mul(self, a: __m512, b: __m512) -> __m512 {
            unsafe { _mm512_mul_ps(a, b) }
        }
        #[inline(always)]
        fn fma(self, a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        fn min(self, a: __m512, b: __m512) -> __m512 {
            // vminps: (a < b) ? a : b.
            unsafe { _mm512_min_ps(a, b) }
        }
        #[inline(always)]
        fn max(self, a: __m512, b: __m512) -> __m512 {
            // vmaxps: (a > b) ? a : b.
            unsafe { _mm512_max_ps(a, b) }
        }
        #[inline(always)]
        fn abs(self, a: __m512) -> __m512 {
            unsafe {
                _mm512_castsi512_ps(_mm512_and_si512(
                    _mm512_castps_si512(a),
                    _mm512_set1_epi32(0x7fff_ffff),
                ))
            }
        }
        #[inline(always)]
        fn scale_by_rounded(self, p: __m512, shifted: __m512, e: i32) -> __m512 {
            let offset = e.wrapping_sub(ROUND_MAGIC.to_bits() as i32);
            unsafe {
                let n = _mm512_add_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(offset));
                let bits = _mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32::<23>(n));
                _mm512_castsi512_ps(bits)
            }
        }
    }

    impl Channels for Avx512 {
        const WIDTH: usize = 16;
        #[inline(always)]
        fn view(lanes: &[Lane]) -> &[[Lane; 2]] {
            lanes.as_chunks::<2>().0
        }
        #[inline(always)]
        fn view_mut(lanes: &mut [Lane]) -> &mut [[Lane; 2]] {
            lanes.as_chunks_mut::<2>().0
        }
        #[inline(always)]
        fn broadcast(self, v: __m512, i: usize) -> __m512 {
            // SAFETY: see the `Simd` impl.
            unsafe { _mm512_permutexvar_ps(_mm512_set1_epi32(i as i32), v) }
        }
    }
}
