//! The reverb's inner loops: a portable build, plus an AVX2/FMA build picked at run time on
//! x86-64, on spectra in the chunked layout of [`crate::real_fft`].

use crate::real_fft::{CHUNK, LANES};

// ---------------------------------------------------------------------------------------------
// Kernels: a portable build, plus an AVX2/FMA build picked at run time on x86-64.
// ---------------------------------------------------------------------------------------------

/// Direct-form FIR on a span: `out[i] = Σ_m taps[m] · hist[taps.len() - 1 + i - m]`, where
/// `hist` holds the `taps.len() - 1` previous inputs followed by the span's inputs. Portable
/// build: tiles of 32 outputs accumulated in registers, taps in order `0..len` for every output
/// whatever the tile, so the result does not depend on how a signal is cut into blocks.
pub(super) fn fir_portable(taps: &[f32], hist: &[f32], out: &mut [f32]) {
    #[inline(always)]
    pub(super) fn tile<const T: usize>(taps: &[f32], window: &[f32], out: &mut [f32]) {
        let top = taps.len() - 1;
        let window = &window[..top + T];
        let mut acc = [0.0f32; T];
        for (m, &h) in taps.iter().enumerate() {
            let src: &[f32; T] = window[top - m..top - m + T].try_into().unwrap();
            for j in 0..T {
                acc[j] += h * src[j];
            }
        }
        out.copy_from_slice(&acc);
    }
    let n = out.len();
    let mut i = 0;
    while i + 32 <= n {
        tile::<32>(taps, &hist[i..], &mut out[i..i + 32]);
        i += 32;
    }
    while i < n {
        tile::<1>(taps, &hist[i..], &mut out[i..i + 1]);
        i += 1;
    }
}

/// Complex multiply-accumulate of `G` spectrum pairs at once, in the chunked layout:
/// `acc = (ASSIGN ? 0 : acc) + Σ_g x[x_at[g]..] · h[h_at[g]..]`, bin by bin, over
/// `acc.len()` floats (a multiple of `CHUNK`) from each start offset. Summing several partitions per pass keeps the accumulator in registers, which
/// cuts the memory traffic of this memory-bound loop. Portable build; [`cmac_avx2`] is the same
/// computation in AVX2/FMA intrinsics.
pub(super) fn cmac_portable<const G: usize, const ASSIGN: bool>(
    acc: &mut [f32],
    x: &[f32],
    x_at: [usize; G],
    h: &[f32],
    h_at: [usize; G],
) {
    let len = acc.len();
    let xs: [&[f32]; G] = std::array::from_fn(|g| &x[x_at[g]..][..len]);
    let hs: [&[f32]; G] = std::array::from_fn(|g| &h[h_at[g]..][..len]);
    for (c, out) in acc.chunks_exact_mut(CHUNK).enumerate() {
        for l in 0..LANES {
            let (i, j) = (c * CHUNK + l, c * CHUNK + LANES + l);
            let product = |g: usize| {
                let (a, b, cr, d) = (xs[g][i], xs[g][j], hs[g][i], hs[g][j]);
                (a * cr - b * d, a * d + b * cr)
            };
            let (mut sr, mut si) = product(0);
            for g in 1..G {
                let (r, q) = product(g);
                sr += r;
                si += q;
            }
            if ASSIGN {
                out[l] = sr;
                out[LANES + l] = si;
            } else {
                out[l] += sr;
                out[LANES + l] += si;
            }
        }
    }
}

/// [`fir_portable`] in AVX2/FMA: tiles of 64 outputs (8 independent accumulator registers,
/// enough to keep both FMA units busy), then 8 at a time, then one at a time. Every output is
/// `fma(taps[m], x, acc)` over `m = 0..len` in order whatever path computes it, so the result
/// does not depend on how a signal is cut into blocks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn fir_avx2(taps: &[f32], hist: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let top = taps.len() - 1;
    let n = out.len();
    assert!(hist.len() >= top + n);
    let src = hist.as_ptr();
    let dst = out.as_mut_ptr();
    let mut i = 0;
    while i + 64 <= n {
        let mut acc = [_mm256_setzero_ps(); 8];
        for (m, &t) in taps.iter().enumerate() {
            let hv = _mm256_set1_ps(t);
            for (j, a) in acc.iter_mut().enumerate() {
                // SAFETY: i + top - m + 8j + 8 <= top + n <= hist.len().
                let xv = unsafe { _mm256_loadu_ps(src.add(i + top - m + 8 * j)) };
                *a = _mm256_fmadd_ps(hv, xv, *a);
            }
        }
        for (j, a) in acc.iter().enumerate() {
            // SAFETY: i + 8j + 8 <= n = out.len().
            unsafe { _mm256_storeu_ps(dst.add(i + 8 * j), *a) };
        }
        i += 64;
    }
    while i + 8 <= n {
        let mut acc = _mm256_setzero_ps();
        for (m, &t) in taps.iter().enumerate() {
            // SAFETY: i + top - m + 8 <= top + n <= hist.len().
            let xv = unsafe { _mm256_loadu_ps(src.add(i + top - m)) };
            acc = _mm256_fmadd_ps(_mm256_set1_ps(t), xv, acc);
        }
        // SAFETY: i + 8 <= n = out.len().
        unsafe { _mm256_storeu_ps(dst.add(i), acc) };
        i += 8;
    }
    while i < n {
        let mut acc = 0.0f32;
        for (m, &t) in taps.iter().enumerate() {
            acc = t.mul_add(hist[i + top - m], acc);
        }
        out[i] = acc;
        i += 1;
    }
}

/// [`cmac_portable`] in AVX2/FMA intrinsics: one chunk is one register of real parts and one of
/// imaginary parts; four partitions' products are summed pairwise (short dependency chains).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn cmac_avx2<const G: usize, const ASSIGN: bool>(
    acc: &mut [f32],
    x: &[f32],
    x_at: [usize; G],
    h: &[f32],
    h_at: [usize; G],
) {
    use std::arch::x86_64::*;
    let len = acc.len();
    assert!(len.is_multiple_of(CHUNK));
    let xp: [*const f32; G] = std::array::from_fn(|g| x[x_at[g]..][..len].as_ptr());
    let hp: [*const f32; G] = std::array::from_fn(|g| h[h_at[g]..][..len].as_ptr());
    let ap = acc.as_mut_ptr();
    let mut off = 0;
    while off < len {
        // SAFETY: off + CHUNK <= len, and acc and every x/h run are len floats long.
        unsafe {
            let product = |g: usize| {
                let xr = _mm256_loadu_ps(xp[g].add(off));
                let xi = _mm256_loadu_ps(xp[g].add(off + LANES));
                let hr = _mm256_loadu_ps(hp[g].add(off));
                let hi = _mm256_loadu_ps(hp[g].add(off + LANES));
                (
                    _mm256_fmsub_ps(xr, hr, _mm256_mul_ps(xi, hi)),
                    _mm256_fmadd_ps(xr, hi, _mm256_mul_ps(xi, hr)),
                )
            };
            let (mut sr, mut si) = product(0);
            if G == 4 {
                let (r1, i1) = product(1);
                let (r2, i2) = product(2);
                let (r3, i3) = product(3);
                sr = _mm256_add_ps(_mm256_add_ps(sr, r1), _mm256_add_ps(r2, r3));
                si = _mm256_add_ps(_mm256_add_ps(si, i1), _mm256_add_ps(i2, i3));
            } else {
                for g in 1..G {
                    let (r, q) = product(g);
                    sr = _mm256_add_ps(sr, r);
                    si = _mm256_add_ps(si, q);
                }
            }
            if !ASSIGN {
                sr = _mm256_add_ps(_mm256_loadu_ps(ap.add(off)), sr);
                si = _mm256_add_ps(_mm256_loadu_ps(ap.add(off + LANES)), si);
            }
            _mm256_storeu_ps(ap.add(off), sr);
            _mm256_storeu_ps(ap.add(off + LANES), si);
        }
        off += CHUNK;
    }
}

/// Which build of the kernels runs on this CPU (chosen once, at construction).
#[derive(Clone, Copy, Debug)]
pub(super) struct Kernels {
    /// AVX2 + FMA available (x86-64 only; other targets never read it).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) avx2_fma: bool,
}

impl Kernels {
    pub(super) fn detect() -> Self {
        Self {
            avx2_fma: timbre_simd::has_avx2_fma(),
        }
    }

    #[inline]
    pub(super) fn fir(self, taps: &[f32], hist: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2_fma {
            // SAFETY: `avx2_fma` is only true when the CPU supports AVX2 and FMA.
            unsafe { fir_avx2(taps, hist, out) };
            return;
        }
        fir_portable(taps, hist, out)
    }

    #[inline]
    pub(super) fn cmac<const G: usize, const ASSIGN: bool>(
        self,
        acc: &mut [f32],
        x: &[f32],
        x_at: [usize; G],
        h: &[f32],
        h_at: [usize; G],
    ) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2_fma {
            // SAFETY: `avx2_fma` is only true when the CPU supports AVX2 and FMA.
            unsafe { cmac_avx2::<G, ASSIGN>(acc, x, x_at, h, h_at) };
            return;
        }
        cmac_portable::<G, ASSIGN>(acc, x, x_at, h, h_at)
    }
}
