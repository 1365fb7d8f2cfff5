//! The reverb's inner loops: a portable build, plus an AVX2/FMA build picked at run time on
//! x86-64, and the chunked spectrum layout they share.

use rustfft::num_complex::Complex;

use crate::{as_floats, as_floats_mut};

// ---------------------------------------------------------------------------------------------
// Kernels: a portable build, plus an AVX2/FMA build picked at run time on x86-64.
// ---------------------------------------------------------------------------------------------

/// Bins per chunk of the spectrum layout: a spectrum row is stored as chunks of `LANES` real
/// parts followed by the same `LANES` imaginary parts, so that one row is one stream of memory
/// and one chunk fills one SIMD register with real parts and one with imaginary parts.
pub(super) const LANES: usize = 8;
/// Floats per chunk.
pub(super) const CHUNK: usize = 2 * LANES;

/// Position of bin `b`'s real part in a row (its imaginary part follows `LANES` later).
#[inline(always)]
pub(super) fn re_index(b: usize) -> usize {
    (b / LANES) * CHUNK + b % LANES
}

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

/// The real and the imaginary parts of 8 interleaved complex values (`a`: the first four,
/// `b`: the last four).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn deinterleave(
    a: std::arch::x86_64::__m256,
    b: std::arch::x86_64::__m256,
) -> (std::arch::x86_64::__m256, std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    let re = _mm256_shuffle_ps::<0x88>(a, b); // r0 r1 r4 r5 | r2 r3 r6 r7
    let im = _mm256_shuffle_ps::<0xDD>(a, b);
    (
        _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(re))),
        _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(im))),
    )
}

/// [`store_real_portable`] in AVX2/FMA, 8 bins per step; `p` must be a multiple of
/// [`LANES`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn store_real_avx2(z: &[Complex<f32>], twiddles: &[f32], row: &mut [f32], scale: f32) {
    use std::arch::x86_64::*;
    let p = z.len() - 1;
    let chunks = p / LANES;
    assert!(p.is_multiple_of(LANES) && row.len() >= (chunks + 1) * CHUNK);
    assert!(twiddles.len() >= (chunks + 1) * CHUNK);
    let zf = as_floats(z).as_ptr();
    let (tw, dst) = (twiddles.as_ptr(), row.as_mut_ptr());
    let half = _mm256_set1_ps(0.5 * scale);
    let reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    for c in 0..chunks {
        // Bins k = k0..k0 + 8 and their mirrors p − k, read upwards from p − k0 − 7.
        let k0 = c * LANES;
        let m0 = p - k0 - (LANES - 1);
        // SAFETY: k0 + 8 ≤ p and m0 + 8 = p − k0 + 1 ≤ p + 1 = z.len(), so each pair of loads
        // reads 16 floats of `z`; chunk c lies in `twiddles` and `row` (asserted above).
        unsafe {
            let (ar, ai) = deinterleave(
                _mm256_loadu_ps(zf.add(2 * k0)),
                _mm256_loadu_ps(zf.add(2 * k0 + LANES)),
            );
            let (mr, mi) = deinterleave(
                _mm256_loadu_ps(zf.add(2 * m0)),
                _mm256_loadu_ps(zf.add(2 * m0 + LANES)),
            );
            let mr = _mm256_permutevar8x32_ps(mr, reverse);
            let mi = _mm256_permutevar8x32_ps(mi, reverse);
            let wr = _mm256_loadu_ps(tw.add(c * CHUNK));
            let wi = _mm256_loadu_ps(tw.add(c * CHUNK + LANES));
            let er = _mm256_mul_ps(half, _mm256_add_ps(ar, mr));
            let ei = _mm256_mul_ps(half, _mm256_sub_ps(ai, mi));
            let or = _mm256_mul_ps(half, _mm256_add_ps(ai, mi));
            let oi = _mm256_mul_ps(half, _mm256_sub_ps(mr, ar));
            let xr = _mm256_fmadd_ps(wr, or, _mm256_fnmadd_ps(wi, oi, er));
            let xi = _mm256_fmadd_ps(wr, oi, _mm256_fmadd_ps(wi, or, ei));
            _mm256_storeu_ps(dst.add(c * CHUNK), xr);
            _mm256_storeu_ps(dst.add(c * CHUNK + LANES), xi);
        }
    }
    store_real_bin(z, twiddles, row, scale, p);
}

/// [`load_real_portable`] in AVX2/FMA, 8 bins per step; `p` must be a multiple of
/// [`LANES`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn load_real_avx2(row: &mut [f32], twiddles: &[f32], z: &mut [Complex<f32>]) {
    use std::arch::x86_64::*;
    let p = z.len();
    let chunks = p / LANES;
    assert!(p.is_multiple_of(LANES) && row.len() >= (chunks + 1) * CHUNK);
    assert!(twiddles.len() >= chunks * CHUNK);
    zero_edge_imaginary_parts(row, p);
    let (src, tw) = (row.as_ptr(), twiddles.as_ptr());
    let dst = as_floats_mut(z).as_mut_ptr();
    let reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    for c in 0..chunks {
        // Bins k = k0..k0 + 8; their mirrors p − k0 − 7..=p − k0 are lanes 1..8 of chunk j
        // and lane 0 of chunk j + 1.
        let k0 = c * LANES;
        let j = (p - k0) / LANES - 1;
        // SAFETY: chunks c < p/8 and j + 1 ≤ p/8 lie in `row` (asserted above), the 8 floats
        // from j·16 + 9 end at (j + 1)·16 + 1; chunk c lies in `twiddles`; 16 floats from
        // 2·k0 lie in `z` since k0 + 8 ≤ p.
        unsafe {
            let base = src.add(j * CHUNK);
            let xr = _mm256_loadu_ps(src.add(c * CHUNK));
            let xi = _mm256_loadu_ps(src.add(c * CHUNK + LANES));
            let mr = _mm256_blend_ps::<0x80>(
                _mm256_loadu_ps(base.add(1)),
                _mm256_set1_ps(*base.add(CHUNK)),
            );
            let mi = _mm256_blend_ps::<0x80>(
                _mm256_loadu_ps(base.add(LANES + 1)),
                _mm256_set1_ps(*base.add(CHUNK + LANES)),
            );
            let mr = _mm256_permutevar8x32_ps(mr, reverse);
            let mi = _mm256_permutevar8x32_ps(mi, reverse);
            let wr = _mm256_loadu_ps(tw.add(c * CHUNK));
            let wi = _mm256_loadu_ps(tw.add(c * CHUNK + LANES));
            let (ar, ai) = (_mm256_add_ps(xr, mr), _mm256_sub_ps(xi, mi));
            let (dr, di) = (_mm256_sub_ps(xr, mr), _mm256_add_ps(xi, mi));
            let zr = _mm256_fnmadd_ps(di, wr, _mm256_fmadd_ps(dr, wi, ar));
            let zi = _mm256_fmadd_ps(dr, wr, _mm256_fmadd_ps(di, wi, ai));
            let zr = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(zr)));
            let zi = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(zi)));
            _mm256_storeu_ps(dst.add(2 * k0), _mm256_unpacklo_ps(zr, zi));
            _mm256_storeu_ps(dst.add(2 * k0 + LANES), _mm256_unpackhi_ps(zr, zi));
        }
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

    /// Stores `scale ·` the spectrum of a real signal into a row of the chunked layout, from
    /// the complex FFT of its sample pairs (see [`store_real_portable`]).
    #[inline]
    pub(super) fn store_real(
        self,
        z: &[Complex<f32>],
        twiddles: &[f32],
        row: &mut [f32],
        scale: f32,
    ) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2_fma && (z.len() - 1).is_multiple_of(LANES) {
            // SAFETY: `avx2_fma` is only true when the CPU supports AVX2 and FMA.
            unsafe { store_real_avx2(z, twiddles, row, scale) };
            return;
        }
        store_real_portable(z, twiddles, row, scale)
    }

    /// Turns a row holding the spectrum of a real signal into the input of the inverse
    /// complex FFT that gives the signal's sample pairs (see [`load_real_portable`]).
    #[inline]
    pub(super) fn load_real(self, row: &mut [f32], twiddles: &[f32], z: &mut [Complex<f32>]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2_fma && z.len().is_multiple_of(LANES) {
            // SAFETY: `avx2_fma` is only true when the CPU supports AVX2 and FMA.
            unsafe { load_real_avx2(row, twiddles, z) };
            return;
        }
        load_real_portable(row, twiddles, z)
    }
}

/// The twiddles `W^k = e^{−iπk/p}`, `k = 0..=p`, that join the spectra of the even and the
/// odd samples of a real signal of `2p` samples into its spectrum, as a row of the chunked
/// layout (see [`store_real_portable`]).
pub(super) fn real_twiddles(p: usize) -> Vec<f32> {
    let mut row = vec![0.0; 2 * (p + 1).next_multiple_of(LANES)];
    for k in 0..=p {
        let (s, c) = (std::f64::consts::PI * k as f64 / p as f64).sin_cos();
        let i = re_index(k);
        row[i] = c as f32;
        row[i + LANES] = -s as f32;
    }
    // Exactly −1 at k = p (the sine of π reads 1.2e-16 in f64).
    row[re_index(p) + LANES] = 0.0;
    row
}

/// Writes `scale ·` the spectrum `X_0..=X_p` of a real signal `x` of `2p` samples into `row`
/// (chunked layout), from `z`: the complex FFT of size `p` of its sample pairs
/// `x[2n] + i·x[2n + 1]`, followed by a copy of `z[0]` (`p + 1` values). With `E` and `O` the
/// spectra of the even and the odd samples, `Z_k = E_k + i·O_k`, so
/// `E_k = (Z_k + conj Z_{p−k}) / 2`, `O_k = (Z_k − conj Z_{p−k}) / 2i` and
/// `X_k = E_k + W^k O_k` ([`real_twiddles`]). This is what a real FFT does after its half-size
/// complex FFT, fused with the layout conversion: one pass instead of two.
pub(super) fn store_real_portable(
    z: &[Complex<f32>],
    twiddles: &[f32],
    row: &mut [f32],
    scale: f32,
) {
    let p = z.len() - 1;
    for k in 0..=p {
        store_real_bin(z, twiddles, row, scale, k);
    }
}

/// Bin `k` of [`store_real_portable`].
#[inline(always)]
fn store_real_bin(z: &[Complex<f32>], twiddles: &[f32], row: &mut [f32], scale: f32, k: usize) {
    let p = z.len() - 1;
    let half = 0.5 * scale;
    let (a, m) = (z[k], z[p - k]);
    let i = re_index(k);
    let (wr, wi) = (twiddles[i], twiddles[i + LANES]);
    let (er, ei) = (half * (a.re + m.re), half * (a.im - m.im));
    let (or, oi) = (half * (a.im + m.im), half * (m.re - a.re));
    row[i] = er + wr * or - wi * oi;
    row[i + LANES] = ei + wr * oi + wi * or;
}

/// The inverse of [`store_real_portable`]: from the spectrum `X_0..=X_p` of a real signal in
/// `row` (the imaginary parts of `X_0` and `X_p`, which a real signal does not have, are set
/// to 0 first), writes into `z` (`p` values) the spectrum whose inverse complex FFT of size `p`
/// gives the signal's `2p` samples in pairs `x[2n] + i·x[2n + 1]`, unnormalized like an
/// inverse real FFT of size `2p`: `Z_k = A_k + i·B_k` with `A_k = X_k + conj X_{p−k}` (the
/// even samples' spectrum, doubled) and `B_k = (X_k − conj X_{p−k}) · conj W^k` (the odd
/// ones').
pub(super) fn load_real_portable(row: &mut [f32], twiddles: &[f32], z: &mut [Complex<f32>]) {
    let p = z.len();
    zero_edge_imaginary_parts(row, p);
    for (k, out) in z.iter_mut().enumerate() {
        let (i, j) = (re_index(k), re_index(p - k));
        let (xr, xi, mr, mi) = (row[i], row[i + LANES], row[j], row[j + LANES]);
        let (wr, wi) = (twiddles[i], twiddles[i + LANES]);
        let (ar, ai) = (xr + mr, xi - mi);
        let (dr, di) = (xr - mr, xi + mi);
        *out = Complex::new(ar + dr * wi - di * wr, ai + dr * wr + di * wi);
    }
}

/// Sets the imaginary parts of bins 0 and `p` of a row to 0.
fn zero_edge_imaginary_parts(row: &mut [f32], p: usize) {
    row[LANES] = 0.0;
    row[re_index(p) + LANES] = 0.0;
}
