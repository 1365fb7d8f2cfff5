//! Real FFTs through complex FFTs of half the size, with the spectra in a chunked split
//! layout that SIMD multiply-accumulates stream.
//!
//! A real signal `x` of `2p` samples is `p` complex sample pairs `x[2n] + i·x[2n + 1]`; the
//! complex FFT of size `p` (rustfft) of those pairs is joined into the signal's spectrum
//! `X_0..=X_p` ([`store_real_portable`]), and a spectrum is split into the input of the
//! inverse complex FFT that gives the pairs back ([`load_real_portable`]). The join and the
//! split run in the same pass that converts to and from the chunked layout ([`LANES`]), as
//! AVX2/FMA code on x86-64 CPUs that have it and as portable code elsewhere. This is what a
//! real-FFT crate does around its half-size FFT, in one pass instead of two, and vectorized
//! (realfft's unpacking ran unvectorized and cost more than the butterflies it saved).
//! [`RealFft`] bundles the plans, the twiddles and the choice of build.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use crate::as_floats_mut;

/// Bins per chunk of the spectrum layout: a spectrum row is stored as chunks of `LANES` real
/// parts followed by the same `LANES` imaginary parts, so that one row is one stream of memory
/// and one chunk fills one SIMD register with real parts and one with imaginary parts.
pub(crate) const LANES: usize = 8;
/// Floats per chunk.
pub(crate) const CHUNK: usize = 2 * LANES;

/// Position of bin `b`'s real part in a row (its imaginary part follows `LANES` later).
#[inline(always)]
pub(crate) fn re_index(b: usize) -> usize {
    (b / LANES) * CHUNK + b % LANES
}

/// Floats in a row of the chunked layout holding bins `0..=p` (rounded up to whole chunks).
pub(crate) fn row_len(p: usize) -> usize {
    2 * (p + 1).next_multiple_of(LANES)
}

/// The forward and inverse real FFTs of size `2p` of one size, as complex FFTs of size `p`
/// joined and split in the chunked layout.
pub(crate) struct RealFft {
    /// Half the real size.
    p: usize,
    /// Forward complex FFT of size `p`.
    fwd: Arc<dyn Fft<f32>>,
    /// Inverse complex FFT of size `p`.
    inv: Arc<dyn Fft<f32>>,
    /// [`real_twiddles`] of `p`.
    twiddles: Vec<f32>,
}

impl RealFft {
    /// The plans for real size `2p` (`p ≥ 1`). Allocates.
    pub(crate) fn new(p: usize, planner: &mut FftPlanner<f32>) -> Self {
        Self {
            p,
            fwd: planner.plan_fft_forward(p),
            inv: planner.plan_fft_inverse(p),
            twiddles: real_twiddles(p),
        }
    }

    /// Half the real size: `p`.
    pub(crate) fn half_len(&self) -> usize {
        self.p
    }

    /// Floats in a row of the chunked layout holding bins `0..=p` ([`row_len`]).
    pub(crate) fn row_len(&self) -> usize {
        row_len(self.p)
    }

    /// Scratch the transforms need (complex values).
    pub(crate) fn scratch_len(&self) -> usize {
        self.fwd
            .get_inplace_scratch_len()
            .max(self.inv.get_outofplace_scratch_len())
    }

    /// Writes `scale ·` the spectrum of the real signal `x` (`2p` samples) into `row`.
    /// `pairs` (`p + 1` values) and `scratch` are work space. `simd`: use the AVX2 build
    /// (only true where the CPU has AVX2 and FMA).
    pub(crate) fn forward(
        &self,
        x: &[f32],
        pairs: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
        row: &mut [f32],
        scale: f32,
        simd: bool,
    ) {
        write_pairs(x, &mut pairs[..self.p]);
        self.forward_pairs(pairs, scratch, row, scale, simd);
    }

    /// [`RealFft::forward`] of the signal already in `pairs` as its `p` sample pairs
    /// (`pairs` holds `p + 1` values; the last is work space), which saves the copy when the
    /// caller can write the signal there itself.
    pub(crate) fn forward_pairs(
        &self,
        pairs: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
        row: &mut [f32],
        scale: f32,
        simd: bool,
    ) {
        let pairs = self.pair_spectrum(pairs, scratch);
        #[cfg(target_arch = "x86_64")]
        if simd && self.p.is_multiple_of(LANES) {
            // SAFETY: `simd` is only true when the CPU supports AVX2 and FMA.
            unsafe { store_real_avx2(pairs, &self.twiddles, row, scale) };
            return;
        }
        let _ = simd;
        store_real_portable(pairs, &self.twiddles, row, scale)
    }

    /// Writes the spectrum of the real signal `x` (at most `2p` samples, zero-padded to `2p`)
    /// into `bins` in natural order, all `2p` bins (those above `p` the conjugates of those
    /// below); `bins` holds `2p + 1` values (the last is work space). `pairs` (`p + 1`
    /// values) and `scratch` are work space; `simd` as for [`RealFft::forward`].
    pub(crate) fn forward_bins(
        &self,
        x: &[f32],
        pairs: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
        bins: &mut [Complex<f32>],
        simd: bool,
    ) {
        let p = self.p;
        write_pairs(x, &mut pairs[..p]);
        let pairs = self.pair_spectrum(pairs, scratch);
        let bins = &mut bins[..=2 * p];
        #[cfg(target_arch = "x86_64")]
        if simd && p.is_multiple_of(LANES) {
            // SAFETY: `simd` is only true when the CPU supports AVX2 and FMA.
            unsafe { store_bins_avx2(pairs, &self.twiddles, bins) };
            return;
        }
        let _ = simd;
        for k in 0..=p {
            store_bin(pairs, &self.twiddles, bins, k);
        }
    }

    /// The complex FFT of size `p` of the sample pairs in `pairs`, in place, followed by a
    /// copy of its bin 0: the `p + 1` values the joins read.
    fn pair_spectrum<'a>(
        &self,
        pairs: &'a mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
    ) -> &'a mut [Complex<f32>] {
        let p = self.p;
        let pairs = &mut pairs[..=p];
        self.fwd.process_with_scratch(&mut pairs[..p], scratch);
        pairs[p] = pairs[0];
        pairs
    }

    /// Writes into `out` (`p` values: the `2p` samples in pairs) the real signal whose
    /// spectrum is in `row`, unnormalized (`2p` times the signal whose spectrum it is; the
    /// imaginary parts of bins 0 and `p` are set to 0 first). `spec` (`p` values) and
    /// `scratch` are work space; `simd` as for [`RealFft::forward`].
    pub(crate) fn inverse(
        &self,
        row: &mut [f32],
        spec: &mut [Complex<f32>],
        scratch: &mut [Complex<f32>],
        out: &mut [Complex<f32>],
        simd: bool,
    ) {
        let spec = &mut spec[..self.p];
        self.split(row, spec, simd);
        self.inv.process_outofplace_with_scratch(spec, out, scratch);
    }

    /// [`load_real_portable`], or its AVX2 build when `simd` (see [`RealFft::forward`]).
    fn split(&self, row: &mut [f32], spec: &mut [Complex<f32>], simd: bool) {
        #[cfg(target_arch = "x86_64")]
        if simd && self.p.is_multiple_of(LANES) {
            // SAFETY: `simd` is only true when the CPU supports AVX2 and FMA.
            unsafe { load_real_avx2(row, &self.twiddles, spec) };
            return;
        }
        let _ = simd;
        load_real_portable(row, &self.twiddles, spec)
    }
}

/// Writes the real signal `x` (at most `2 · pairs.len()` samples) into `pairs` as sample pairs
/// `x[2n] + i·x[2n + 1]`, zero-padded.
fn write_pairs(x: &[f32], pairs: &mut [Complex<f32>]) {
    let samples = as_floats_mut(pairs);
    samples[..x.len()].copy_from_slice(x);
    samples[x.len()..].fill(0.0);
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
fn store_real_avx2(z: &[Complex<f32>], twiddles: &[f32], row: &mut [f32], scale: f32) {
    use std::arch::x86_64::*;
    let p = z.len() - 1;
    let chunks = p / LANES;
    assert!(p.is_multiple_of(LANES) && row.len() >= (chunks + 1) * CHUNK);
    assert!(twiddles.len() >= (chunks + 1) * CHUNK);
    let dst = row.as_mut_ptr();
    for c in 0..chunks {
        // SAFETY: chunk c < p / 8 (see `join_avx2`); it lies in `row` (asserted above).
        unsafe {
            let (xr, xi) = join_avx2(z, twiddles, c, scale);
            _mm256_storeu_ps(dst.add(c * CHUNK), xr);
            _mm256_storeu_ps(dst.add(c * CHUNK + LANES), xi);
        }
    }
    store_real_bin(z, twiddles, row, scale, p);
}

/// Bins `8c..8c + 8` of the spectrum joined from `z` (see [`store_real_portable`]), times
/// `scale`: their real and their imaginary parts.
///
/// # Safety
/// The CPU supports AVX2 and FMA; `8c + 8 ≤ p = z.len() − 1`, and chunk `c` lies in
/// `twiddles`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn join_avx2(
    z: &[Complex<f32>],
    twiddles: &[f32],
    c: usize,
    scale: f32,
) -> (std::arch::x86_64::__m256, std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    let p = z.len() - 1;
    let (zf, tw) = (z.as_ptr().cast::<f32>(), twiddles.as_ptr());
    let half = _mm256_set1_ps(0.5 * scale);
    let reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    // Bins k = k0..k0 + 8 and their mirrors p − k, read upwards from p − k0 − 7.
    let k0 = c * LANES;
    let m0 = p - k0 - (LANES - 1);
    // SAFETY: k0 + 8 ≤ p and m0 + 8 = p − k0 + 1 ≤ p + 1 = z.len(), so each pair of loads
    // reads 16 floats of `z`; chunk c lies in `twiddles` (the caller's promise).
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
        (xr, xi)
    }
}

/// Eight complex values, their real parts in `re` and imaginary parts in `im`, interleaved.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn interleave(
    re: std::arch::x86_64::__m256,
    im: std::arch::x86_64::__m256,
) -> (std::arch::x86_64::__m256, std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    let re = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(re)));
    let im = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(im)));
    (_mm256_unpacklo_ps(re, im), _mm256_unpackhi_ps(re, im))
}

/// [`RealFft::forward_bins`]'s join in AVX2/FMA, 8 bins and their 8 mirrors per step; `p`
/// must be a multiple of [`LANES`] and `bins` hold `2p + 1` values (chunk 0's mirror
/// writes bin 0's conjugate at `2p`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn store_bins_avx2(z: &[Complex<f32>], twiddles: &[f32], bins: &mut [Complex<f32>]) {
    use std::arch::x86_64::*;
    let p = z.len() - 1;
    let chunks = p / LANES;
    assert!(p.is_multiple_of(LANES) && bins.len() > 2 * p);
    assert!(twiddles.len() >= (chunks + 1) * CHUNK);
    let dst = bins.as_mut_ptr().cast::<f32>();
    let reverse = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    let negate = _mm256_set1_ps(-0.0);
    for c in 0..chunks {
        let k0 = c * LANES;
        // SAFETY: chunk c < p / 8 and chunk c + 1 lies in `twiddles` (asserted above); bins
        // k0..k0 + 8 ≤ p and their mirrors 2p − k0 − 7..=2p − k0 ≤ 2p lie in `bins`.
        unsafe {
            let (xr, xi) = join_avx2(z, twiddles, c, 1.0);
            let (lo, hi) = interleave(xr, xi);
            _mm256_storeu_ps(dst.add(2 * k0), lo);
            _mm256_storeu_ps(dst.add(2 * k0 + LANES), hi);
            let mr = _mm256_permutevar8x32_ps(xr, reverse);
            let mi = _mm256_xor_ps(_mm256_permutevar8x32_ps(xi, reverse), negate);
            let (lo, hi) = interleave(mr, mi);
            let m0 = 2 * p - k0 - (LANES - 1);
            _mm256_storeu_ps(dst.add(2 * m0), lo);
            _mm256_storeu_ps(dst.add(2 * m0 + LANES), hi);
        }
    }
    store_bin(z, twiddles, bins, p);
}

/// [`load_real_portable`] in AVX2/FMA, 8 bins per step; `p` must be a multiple of
/// [`LANES`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn load_real_avx2(row: &mut [f32], twiddles: &[f32], z: &mut [Complex<f32>]) {
    use std::arch::x86_64::*;
    let p = z.len();
    let chunks = p / LANES;
    assert!(p.is_multiple_of(LANES) && row.len() >= (chunks + 1) * CHUNK);
    assert!(twiddles.len() >= chunks * CHUNK);
    zero_edge_imaginary_parts(row, p);
    let (src, tw) = (row.as_ptr(), twiddles.as_ptr());
    let dst = z.as_mut_ptr().cast::<f32>();
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

/// The twiddles `W^k = e^{−iπk/p}`, `k = 0..=p`, that join the spectra of the even and the
/// odd samples of a real signal of `2p` samples into its spectrum, as a row of the chunked
/// layout (see [`store_real_portable`]).
fn real_twiddles(p: usize) -> Vec<f32> {
    let mut row = vec![0.0; row_len(p)];
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
fn store_real_portable(z: &[Complex<f32>], twiddles: &[f32], row: &mut [f32], scale: f32) {
    let p = z.len() - 1;
    for k in 0..=p {
        store_real_bin(z, twiddles, row, scale, k);
    }
}

/// Bin `k` of [`store_real_portable`].
#[inline(always)]
fn store_real_bin(z: &[Complex<f32>], twiddles: &[f32], row: &mut [f32], scale: f32, k: usize) {
    let x = join_bin(z, twiddles, k, 0.5 * scale);
    let i = re_index(k);
    row[i] = x.re;
    row[i + LANES] = x.im;
}

/// Bin `k` of [`RealFft::forward_bins`], and its mirror `2p − k` (`0 < k < p`).
#[inline(always)]
fn store_bin(z: &[Complex<f32>], twiddles: &[f32], bins: &mut [Complex<f32>], k: usize) {
    let p = z.len() - 1;
    let x = join_bin(z, twiddles, k, 0.5);
    bins[k] = x;
    if 0 < k && k < p {
        bins[2 * p - k] = x.conj();
    }
}

/// Bin `k` of the spectrum joined from `z` (see [`store_real_portable`]), times `2 · half`.
#[inline(always)]
fn join_bin(z: &[Complex<f32>], twiddles: &[f32], k: usize, half: f32) -> Complex<f32> {
    let p = z.len() - 1;
    let (a, m) = (z[k], z[p - k]);
    let i = re_index(k);
    let (wr, wi) = (twiddles[i], twiddles[i + LANES]);
    let (er, ei) = (half * (a.re + m.re), half * (a.im - m.im));
    let (or, oi) = (half * (a.im + m.im), half * (m.re - a.re));
    Complex::new(er + wr * or - wi * oi, ei + wr * oi + wi * or)
}

/// The inverse of [`store_real_portable`]: from the spectrum `X_0..=X_p` of a real signal in
/// `row` (the imaginary parts of `X_0` and `X_p`, which a real signal does not have, are set
/// to 0 first), writes into `z` (`p` values) the spectrum whose inverse complex FFT of size `p`
/// gives the signal's `2p` samples in pairs `x[2n] + i·x[2n + 1]`, unnormalized like an
/// inverse real FFT of size `2p`: `Z_k = A_k + i·B_k` with `A_k = X_k + conj X_{p−k}` (the
/// even samples' spectrum, doubled) and `B_k = (X_k − conj X_{p−k}) · conj W^k` (the odd
/// ones').
fn load_real_portable(row: &mut [f32], twiddles: &[f32], z: &mut [Complex<f32>]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::as_floats;

    /// Uniform noise in [−1, 1), deterministic.
    fn noise(len: usize, seed: u32) -> Vec<f32> {
        let mut rng = crate::rng::NoiseRng::new(seed);
        (0..len).map(|_| rng.next_bipolar()).collect()
    }

    /// The spectrum of `x` by realfft, the reference.
    fn real_spectrum(x: &[f32]) -> Vec<Complex<f32>> {
        let fft = realfft::RealFftPlanner::<f32>::new().plan_fft_forward(x.len());
        let mut input = x.to_vec();
        let mut out = fft.make_output_vec();
        fft.process(&mut input, &mut out).unwrap();
        out
    }

    /// Bin `b` of a row in the chunked layout.
    fn bin(row: &[f32], b: usize) -> Complex<f32> {
        Complex::new(row[re_index(b)], row[re_index(b) + LANES])
    }

    #[test]
    fn half_size_complex_ffts_match_a_real_fft() {
        // Forward: the spectrum matches realfft's; inverse: the spectrum (scaled by 0.5) of 2p
        // samples gives p times the samples back. Portable and AVX2 builds, sizes that are
        // and are not multiples of LANES.
        let mut planner = FftPlanner::<f32>::new();
        let builds = [false, timbre_simd::has_avx2_fma()];
        for p in [1usize, 4, 8, 12, 64, 512] {
            let fft = RealFft::new(p, &mut planner);
            let x = noise(2 * p, p as u32);
            let want = real_spectrum(&x);
            let mut pairs = vec![Complex::new(0.0, 0.0); p + 1];
            let mut spec = vec![Complex::new(0.0, 0.0); p];
            let mut scratch = vec![Complex::new(0.0, 0.0); fft.scratch_len()];
            for simd in builds {
                let mut row = vec![0.0; fft.row_len()];
                fft.forward(&x, &mut pairs, &mut scratch, &mut row, 0.5, simd);
                for (b, w) in want.iter().enumerate() {
                    let err = (bin(&row, b) - w * 0.5).norm();
                    assert!(
                        err < 1e-5 * p as f32,
                        "simd {simd} p {p} bin {b}: error {err}"
                    );
                }
                // In natural order, every bin (above p the conjugates of those below), from
                // a signal shorter than 2p, zero-padded.
                let short = &x[..2 * p - 1];
                let want_short = real_spectrum(&[short, &[0.0]].concat());
                let mut bins = vec![Complex::new(f32::NAN, 0.0); 2 * p + 1];
                fft.forward_bins(short, &mut pairs, &mut scratch, &mut bins, simd);
                for (b, got) in bins[..2 * p].iter().enumerate() {
                    let w = if b <= p {
                        want_short[b]
                    } else {
                        want_short[2 * p - b].conj()
                    };
                    let err = (got - w).norm();
                    assert!(
                        err < 1e-5 * p as f32,
                        "simd {simd} p {p} natural bin {b}: {got} against {w}"
                    );
                }
                // A real signal has no imaginary part at DC and Nyquist: whatever is there
                // is ignored.
                row[re_index(0) + LANES] = 3.0;
                row[re_index(p) + LANES] = -2.0;
                let mut out = vec![Complex::new(0.0, 0.0); p];
                fft.inverse(&mut row, &mut spec, &mut scratch, &mut out, simd);
                for (i, (&got, &v)) in as_floats(&out).iter().zip(&x).enumerate() {
                    let err = (got - v * p as f32).abs();
                    assert!(
                        err < 1e-4 * p as f32,
                        "simd {simd} p {p} sample {i}: error {err}"
                    );
                }
            }
        }
    }
}
