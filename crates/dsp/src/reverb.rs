//! Partitioned FFT convolution reverb with zero added latency.
//!
//! [`ConvolutionReverb`] convolves its input with an impulse response (IR) of any length, up to
//! several seconds at high sample rates (3 s at 192 kHz is 576,000 taps), and adds no latency:
//! the wet signal of an impulse starts with `ir[0]` on the impulse's own sample.
//!
//! # Algorithm: non-uniform partitioned convolution
//!
//! The IR is cut into pieces that grow with their distance from the start (Gardner 1995;
//! Garcia 2002):
//!
//! - **Head**, taps `0..B` (`B` = 32 to 256): a direct-form FIR filter in the time domain. It is
//!   the only part that has to answer within the same sample. It costs `B` multiply-adds per
//!   sample, computed for a whole span of outputs at once with the accumulators in registers.
//! - **Levels** of partition size `p` (powers of two, `B ≤ p ≤ 16384`), each a uniformly
//!   partitioned overlap-save convolution with FFT size `2p` and a frequency-domain delay line
//!   (FDL). When an input block of `p` samples completes, a level takes one forward real FFT
//!   of its last `2p` inputs into the FDL, sums the products of its `K` IR partition spectra
//!   with the matching past input spectra, and takes one inverse FFT: that gives its output
//!   for the next `p` samples. A level's first tap is at an offset `o` that is a multiple of
//!   `p` (so `o ≥ p`), so its output is ready exactly when it is due: no latency. An offset
//!   beyond `p` costs nothing: the level reads older spectra from the FDL.
//!
//! [`ConvolutionReverb::new`] chooses `B` and the levels with a small dynamic program over a
//! cost model measured on the development machine: a direct tap costs about 1/130 of a
//! partition, and a level (two FFTs per block plus bookkeeping) about 20 partitions, almost
//! whatever its size. A 1 s IR at 48 kHz gets a 64-tap head and levels of 64 × 7, 512 × 7
//! and 4096 × 11 (25 partitions instead of 750 uniform ones); IRs shorter than about 250 taps
//! get the direct FIR alone.
//!
//! Spectra are stored split into real and imaginary parts, in chunks of 8 bins, so that the
//! multiply-accumulate, which is memory-bound, streams each row once and sums up to four
//! partitions per pass. On x86-64 CPUs with AVX2 and FMA (detected once, in `new`) the FIR,
//! the multiply-accumulate and the layout conversions run as AVX2/FMA code; elsewhere as
//! portable code. Partitions whose input spectra are all zero are skipped, so silence is cheap.
//!
//! Levels of 4096 samples and more spread their work over time: the products that need only
//! past input spectra (all partitions but the first) are summed in slices while the next input
//! block is being collected, so the block in which such a level completes only does its two
//! FFTs and one partition's products. With a 3 s IR at 192 kHz in 128-sample blocks, the
//! slowest block then takes about a fifth of the block's real-time budget instead of two
//! thirds.

//! # Real-time safety
//!
//! [`ConvolutionReverb::new`] allocates every buffer and plans every FFT. After that,
//! [`process`](ConvolutionReverb::process), [`process_mix`](ConvolutionReverb::process_mix),
//! [`process_mix_in_place`](ConvolutionReverb::process_mix_in_place) and
//! [`reset`](ConvolutionReverb::reset) allocate nothing, take no lock, log nothing and do no
//! I/O: the FFTs run through realfft's `process_with_scratch` on preallocated scratch.
//!
//! # Robustness
//!
//! Non-finite input samples are treated as 0, finite ones are clamped to ±[`INPUT_LIMIT`], and
//! samples smaller in magnitude than [`INPUT_FLOOR`] are flushed to 0, so a NaN leaves no trace
//! in the state. IR taps that are non-finite, subnormal, or more than 240 dB below the IR's peak
//! are set to 0 in `new`. With both floors, the products in the filter state stay in the normal
//! range of `f32` for any IR whose peak is above −120 dBFS, so a decaying tail never makes the
//! CPU crawl on subnormal numbers.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// Input samples smaller than this in magnitude (−300 dBFS) are treated as 0, so that the
/// filter state never holds subnormal numbers.
pub const INPUT_FLOOR: f32 = 1e-15;

/// Input samples are clamped to ±`INPUT_LIMIT` (+180 dBFS), so that any IR with finite taps of
/// sane gain gives a finite output.
pub const INPUT_LIMIT: f32 = 1e9;

/// IR taps smaller than the IR's peak magnitude times this (−240 dB) are flushed to 0.
const IR_FLOOR_RELATIVE: f32 = 1e-12;

/// Largest FFT partition size the planner uses.
const MAX_PARTITION: usize = 16384;

/// Levels with partitions at least this large spread their work over time (see [`Level`]).
const SPREAD_MIN: usize = 4096;

/// Smallest slice of a spread level's partial sum computed at once, in chunks of `LANES` bins.
const SPREAD_SLICE: usize = 64;

/// Head sizes (direct FIR length, also the smallest partition) the planner tries.
const HEAD_SIZES: [usize; 4] = [32, 64, 128, 256];

/// An IR at most this long is always convolved by the direct FIR alone (longer ones are too
/// when the cost model says that is cheaper).
const DIRECT_ONLY_MAX: usize = 64;

/// Sanitizes one input sample: non-finite → 0, tiny → 0, huge → clamped.
#[inline(always)]
fn clean_input(x: f32) -> f32 {
    let a = x.abs();
    if (INPUT_FLOOR..=f32::MAX).contains(&a) {
        x.clamp(-INPUT_LIMIT, INPUT_LIMIT)
    } else {
        0.0
    }
}

// ---------------------------------------------------------------------------------------------
// Kernels: a portable build, plus an AVX2/FMA build picked at run time on x86-64.
// ---------------------------------------------------------------------------------------------

/// Bins per chunk of the spectrum layout: a spectrum row is stored as chunks of `LANES` real
/// parts followed by the same `LANES` imaginary parts, so that one row is one stream of memory
/// and one chunk fills one SIMD register with real parts and one with imaginary parts.
const LANES: usize = 8;
/// Floats per chunk.
const CHUNK: usize = 2 * LANES;

/// Position of bin `b`'s real part in a row (its imaginary part follows `LANES` later).
#[inline(always)]
fn re_index(b: usize) -> usize {
    (b / LANES) * CHUNK + b % LANES
}

/// Direct-form FIR on a span: `out[i] = Σ_m taps[m] · hist[taps.len() - 1 + i - m]`, where
/// `hist` holds the `taps.len() - 1` previous inputs followed by the span's inputs. Portable
/// build: tiles of 32 outputs accumulated in registers, taps in order `0..len` for every output
/// whatever the tile, so the result does not depend on how a signal is cut into blocks.
fn fir_portable(taps: &[f32], hist: &[f32], out: &mut [f32]) {
    #[inline(always)]
    fn tile<const T: usize>(taps: &[f32], window: &[f32], out: &mut [f32]) {
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
fn cmac_portable<const G: usize, const ASSIGN: bool>(
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
fn fir_avx2(taps: &[f32], hist: &[f32], out: &mut [f32]) {
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
fn cmac_avx2<const G: usize, const ASSIGN: bool>(
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

/// [`store_spectrum`] (with `scale` 1) in AVX2: de-interleaves 8 complex values per step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn store_spectrum_avx2(spec: &[Complex<f32>], row: &mut [f32]) {
    use std::arch::x86_64::*;
    let whole = spec.len() / LANES;
    assert!(row.len() >= whole * CHUNK);
    // Complex<f32> is #[repr(C)] { re, im }: the spectrum is a run of interleaved floats.
    let src = spec.as_ptr().cast::<f32>();
    let dst = row.as_mut_ptr();
    for c in 0..whole {
        // SAFETY: c < whole, so 16 floats from src + 16c lie in `spec` and 16 floats from
        // dst + 16c lie in `row`.
        unsafe {
            let a = _mm256_loadu_ps(src.add(c * CHUNK)); // r0 i0 r1 i1 | r2 i2 r3 i3
            let b = _mm256_loadu_ps(src.add(c * CHUNK + LANES)); // r4 i4 r5 i5 | r6 i6 r7 i7
            let re = _mm256_shuffle_ps::<0x88>(a, b); // r0 r1 r4 r5 | r2 r3 r6 r7
            let im = _mm256_shuffle_ps::<0xDD>(a, b);
            let re = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(re)));
            let im = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(im)));
            _mm256_storeu_ps(dst.add(c * CHUNK), re);
            _mm256_storeu_ps(dst.add(c * CHUNK + LANES), im);
        }
    }
    for (b, c) in spec.iter().enumerate().skip(whole * LANES) {
        let i = re_index(b);
        row[i] = c.re;
        row[i + LANES] = c.im;
    }
}

/// [`load_spectrum`] in AVX2: interleaves 8 complex values per step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn load_spectrum_avx2(row: &[f32], spec: &mut [Complex<f32>]) {
    use std::arch::x86_64::*;
    let whole = spec.len() / LANES;
    assert!(row.len() >= whole * CHUNK);
    let src = row.as_ptr();
    let dst = spec.as_mut_ptr().cast::<f32>();
    for c in 0..whole {
        // SAFETY: as in `store_spectrum_avx2`.
        unsafe {
            let re = _mm256_loadu_ps(src.add(c * CHUNK));
            let im = _mm256_loadu_ps(src.add(c * CHUNK + LANES));
            let re = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(re)));
            let im = _mm256_castpd_ps(_mm256_permute4x64_pd::<0xD8>(_mm256_castps_pd(im)));
            _mm256_storeu_ps(dst.add(c * CHUNK), _mm256_unpacklo_ps(re, im));
            _mm256_storeu_ps(dst.add(c * CHUNK + LANES), _mm256_unpackhi_ps(re, im));
        }
    }
    for (b, c) in spec.iter_mut().enumerate().skip(whole * LANES) {
        let i = re_index(b);
        *c = Complex::new(row[i], row[i + LANES]);
    }
}

/// Which build of the kernels runs on this CPU (chosen once, at construction).
#[derive(Clone, Copy, Debug)]
struct Kernels {
    /// AVX2 + FMA available (x86-64 only; other targets never read it).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2_fma: bool,
}

impl Kernels {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        let avx2_fma = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2_fma = false;
        Self { avx2_fma }
    }

    #[inline]
    fn fir(self, taps: &[f32], hist: &[f32], out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2_fma {
            // SAFETY: `avx2_fma` is only true when the CPU supports AVX2 and FMA.
            unsafe { fir_avx2(taps, hist, out) };
            return;
        }
        fir_portable(taps, hist, out)
    }

    #[inline]
    fn cmac<const G: usize, const ASSIGN: bool>(
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

    /// Stores a spectrum into a row of the chunked layout.
    #[inline]
    fn store(self, spec: &[Complex<f32>], row: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2_fma {
            // SAFETY: `avx2_fma` is only true when the CPU supports AVX2 and FMA.
            unsafe { store_spectrum_avx2(spec, row) };
            return;
        }
        store_spectrum(spec, row, 1.0)
    }

    /// Loads a spectrum from a row of the chunked layout.
    #[inline]
    fn load(self, row: &[f32], spec: &mut [Complex<f32>]) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2_fma {
            // SAFETY: `avx2_fma` is only true when the CPU supports AVX2 and FMA.
            unsafe { load_spectrum_avx2(row, spec) };
            return;
        }
        load_spectrum(row, spec)
    }
}

// ---------------------------------------------------------------------------------------------
// Partition planning.
// ---------------------------------------------------------------------------------------------

/// How the IR is cut: a direct head of `head` taps, then levels `(size, parts)` in order, each
/// starting where the previous one ends.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Plan {
    head: usize,
    levels: Vec<(usize, usize)>,
}

/// Cost model of one second of audio, in milliseconds on the machine it was measured on (a
/// 2.6 GHz AMD EPYC, AVX2 kernels, 128-sample host blocks); only the ratios matter for the plan.
/// Measured: a direct tap costs about 1/130 of a partition, and one FFT level (a forward and an
/// inverse real FFT of size `2p` per `p` samples, plus bookkeeping) about 20 partitions, almost
/// independently of `p`; each partition costs one complex multiply-add per bin per block, which
/// is memory-bound at every size.
mod cost {
    /// Direct FIR, per tap.
    pub const FIR_TAP: f64 = 0.00135;
    /// One FFT level of partition size `p`.
    pub fn level(p: usize) -> f64 {
        0.19 + 0.01 * (128.0 / p as f64).log2().max(0.0)
    }
    /// One partition of size `p`.
    pub fn partition(p: usize) -> f64 {
        0.0095 * (1.0 + 16.0 / p as f64)
    }
}

impl Plan {
    /// Chooses the cheapest plan under [`cost`] for an IR of `len` taps.
    fn choose(len: usize) -> Self {
        let mut best = (
            cost::FIR_TAP * len as f64,
            Plan {
                head: len.max(1),
                levels: Vec::new(),
            },
        );
        if len <= DIRECT_ONLY_MAX {
            return best.1;
        }
        for &head in &HEAD_SIZES {
            if head >= len {
                continue;
            }
            let (c, levels) = Self::levels_after(head, len);
            let total = c + cost::FIR_TAP * head as f64;
            if total < best.0 {
                best = (total, Plan { head, levels });
            }
        }
        best.1
    }

    /// Dynamic program: cheapest levels covering taps `head..len`, the first of size `head`.
    /// Sizes are powers of two times `head`; a level of size `q` may start at offset `o` only if
    /// `o` is a multiple of `q` (then `o ≥ q` holds too, since `o ≥ head > 0`).
    fn levels_after(head: usize, len: usize) -> (f64, Vec<(usize, usize)>) {
        let mut sizes = vec![head];
        while sizes.last().unwrap() * 2 <= MAX_PARTITION.max(head) {
            sizes.push(sizes.last().unwrap() * 2);
        }
        let ns = sizes.len();
        let slots = len.div_ceil(head) + 1; // offsets 0, head, 2·head, ... up to ≥ len
                                            // f[o][s]: cheapest cost to cover [o·head, len) given that a level of size sizes[s] is
                                            // running at offset o·head and already has at least one partition (its FFT is paid).
                                            // choice[o][s]: 0 = add a partition of this size; t > 0 = switch to size index s + t.
        let inf = f64::INFINITY;
        let mut f = vec![inf; slots * ns];
        let mut choice = vec![0u8; slots * ns];
        for o in (0..slots).rev() {
            let off = o * head;
            for s in (0..ns).rev() {
                let p = sizes[s];
                if !off.is_multiple_of(p) {
                    continue;
                }
                let idx = o * ns + s;
                if off >= len {
                    f[idx] = 0.0;
                    continue;
                }
                // Another partition of size p.
                let next = o + p / head;
                let mut best =
                    cost::partition(p) + if next < slots { f[next * ns + s] } else { 0.0 };
                let mut pick = 0u8;
                // Or a new, larger level starting here, with its first partition.
                for (t, &q) in sizes.iter().enumerate().skip(s + 1) {
                    if !off.is_multiple_of(q) {
                        continue;
                    }
                    let next = o + q / head;
                    let c = cost::level(q)
                        + cost::partition(q)
                        + if next < slots { f[next * ns + t] } else { 0.0 };
                    if c < best {
                        best = c;
                        pick = (t - s) as u8;
                    }
                }
                f[idx] = best;
                choice[idx] = pick;
            }
        }
        // First level: size `head` at offset `head`, with its first partition.
        let mut levels: Vec<(usize, usize)> = vec![(head, 1)];
        let mut o = 2;
        let mut s = 0;
        let total =
            cost::level(head) + cost::partition(head) + f.get(2 * ns).copied().unwrap_or(0.0);
        while o < slots && o * head < len {
            let pick = choice[o * ns + s] as usize;
            if pick == 0 {
                levels.last_mut().unwrap().1 += 1;
                o += sizes[s] / head;
            } else {
                s += pick;
                levels.push((sizes[s], 1));
                o += sizes[s] / head;
            }
        }
        (total, levels)
    }
}

// ---------------------------------------------------------------------------------------------
// One uniformly partitioned level.
// ---------------------------------------------------------------------------------------------

/// Uniformly partitioned overlap-save convolution of one IR segment, with an FDL.
///
/// A level of at least [`SPREAD_MIN`] samples spreads its work over time: every product that
/// only needs past input spectra is summed in slices while the next input block is being
/// collected (in step with the samples), so the block in which the level completes only does
/// its two FFTs and at most one partition's products.
struct Level {
    /// Partition size `p` (the FFT size is `2p`).
    size: usize,
    /// Number of partitions `K`.
    parts: usize,
    /// Blocks of extra delay (the segment's offset is `(delay + 1) · p`).
    delay: usize,
    /// Spectrum length `p + 1`.
    bins: usize,
    /// Floats per spectrum row in the chunked layout (`bins` rounded up to `LANES`, times 2).
    row: usize,
    /// IR partition spectra, `K` rows, scaled by the inverse FFT's `1 / 2p`.
    h: Vec<f32>,
    /// Whether each IR partition has any non-zero tap.
    h_live: Vec<bool>,
    /// FDL: input spectra of the last `K + delay` blocks (a ring of rows).
    x: Vec<f32>,
    /// Whether each FDL row's input window had any non-zero sample.
    x_live: Vec<bool>,
    /// Row of the newest spectrum in the FDL ring.
    newest: usize,
    /// Whether the previous input block had any non-zero sample.
    prev_live: bool,
    /// Inverse FFT output, `2p` long: its second half is the output for the current block,
    /// computed at the end of the previous one (overlap-save keeps only that half).
    output: Vec<f32>,
    /// Whether this level spreads its products over the block period (`p ≥ SPREAD_MIN`).
    spread: bool,
    /// Spread levels: the sum of the products that need only past spectra, for the block
    /// being collected (one row; empty for other levels).
    pre: Vec<f32>,
    /// Spread levels: chunks of `pre` already summed in this block period.
    pre_done: usize,
    /// Forward real FFT of size `2p`.
    fwd: Arc<dyn RealToComplex<f32>>,
    /// Inverse real FFT of size `2p`.
    inv: Arc<dyn ComplexToReal<f32>>,
}

impl Level {
    /// Builds a level for `segment` (taps from offset `(delay + 1) · size`, at most
    /// `parts · size` of them). Allocates.
    fn new(
        segment: &[f32],
        size: usize,
        parts: usize,
        delay: usize,
        planner: &mut RealFftPlanner<f32>,
    ) -> Self {
        let n = 2 * size;
        let bins = size + 1;
        let row = 2 * bins.next_multiple_of(LANES);
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        let mut h = vec![0.0; parts * row];
        let mut h_live = vec![false; parts];
        let mut time = fwd.make_input_vec();
        let mut spec = fwd.make_output_vec();
        let mut scratch = fwd.make_scratch_vec();
        // The inverse FFT's 1/n normalization is folded into the IR spectra.
        let scale = 1.0 / n as f32;
        for k in 0..parts {
            let start = (k * size).min(segment.len());
            let end = ((k + 1) * size).min(segment.len());
            let taps = &segment[start..end];
            h_live[k] = taps.iter().any(|&t| t != 0.0);
            if !h_live[k] {
                continue;
            }
            time.fill(0.0);
            time[..taps.len()].copy_from_slice(taps);
            fwd.process_with_scratch(&mut time, &mut spec, &mut scratch)
                .expect("buffers sized by realfft");
            store_spectrum(&spec, &mut h[k * row..(k + 1) * row], scale);
        }
        let rows = parts + delay;
        let spread = size >= SPREAD_MIN;
        Self {
            size,
            parts,
            delay,
            bins,
            row,
            h,
            h_live,
            x: vec![0.0; rows * row],
            x_live: vec![false; rows],
            newest: 0,
            prev_live: false,
            output: vec![0.0; n],
            spread,
            pre: if spread { vec![0.0; row] } else { Vec::new() },
            pre_done: 0,
            fwd,
            inv,
        }
    }

    /// Clears all state.
    fn reset(&mut self) {
        self.x.fill(0.0);
        self.x_live.fill(false);
        self.newest = 0;
        self.prev_live = false;
        self.output.fill(0.0);
        self.pre.fill(0.0);
        self.pre_done = 0;
    }

    /// First partition whose product needs only spectra older than the newest one when the
    /// FDL is read `back` blocks early (`back` = 1 while the next block is being collected).
    fn first_part(&self, back: usize) -> usize {
        back.saturating_sub(self.delay)
    }

    /// `acc = Σ_k x[age(k)] · h[k]` over the chunks `c0..c0 + acc.len() / CHUNK` of a row, for
    /// partitions `k` in `first..parts`, where `age(k) = delay + k − back` counts blocks back
    /// from the newest FDL row. Silent partitions are skipped; up to 4 partitions per pass.
    /// Returns false (and leaves `acc` untouched) when every product is zero.
    fn sum_products(
        &self,
        kernels: Kernels,
        acc: &mut [f32],
        c0: usize,
        first: usize,
        back: usize,
    ) -> bool {
        let rows = self.parts + self.delay;
        let base = c0 * CHUNK;
        let mut assign = true;
        let mut xs = [0usize; 4];
        let mut hs = [0usize; 4];
        let mut g = 0;
        for k in first..self.parts {
            let r = (self.newest + rows + back - self.delay - k) % rows;
            if !self.h_live[k] || !self.x_live[r] {
                continue;
            }
            xs[g] = r * self.row + base;
            hs[g] = k * self.row + base;
            g += 1;
            if g == 4 {
                self.mac(kernels, acc, &xs, &hs, assign);
                assign = false;
                g = 0;
            }
        }
        if g > 0 {
            self.mac(kernels, acc, &xs[..g], &hs[..g], assign);
            assign = false;
        }
        !assign
    }

    /// Spread levels: brings the partial sum for the next block up to date with the phase
    /// `phase` (samples of the block collected so far, `1..=p`).
    fn advance(&mut self, kernels: Kernels, phase: usize) {
        if !self.spread {
            return;
        }
        let chunks = self.row / CHUNK;
        let target = chunks * phase / self.size;
        // Slices of at least SPREAD_SLICE chunks keep the per-call overhead small.
        if target <= self.pre_done || (target < self.pre_done + SPREAD_SLICE && phase < self.size) {
            return;
        }
        let mut pre = std::mem::take(&mut self.pre);
        let range = &mut pre[self.pre_done * CHUNK..target * CHUNK];
        if !self.sum_products(kernels, range, self.pre_done, self.first_part(1), 1) {
            range.fill(0.0);
        }
        self.pre = pre;
        self.pre_done = target;
    }

    /// Called when a block of `p` inputs is complete, with the last `2p` inputs in `window`
    /// (the previous block, then this one): computes the next `p` outputs.
    fn run(&mut self, window: &[f32], work: &mut Work, kernels: Kernels) {
        let p = self.size;
        let bins = self.bins;
        let row = self.row;
        let rows = self.parts + self.delay;
        let cur_live = window[p..].iter().any(|&v| v != 0.0);
        let live = cur_live || self.prev_live;
        self.prev_live = cur_live;
        // Spread levels: the past products are all summed by now.
        self.advance(kernels, p);

        // Push the spectrum of the last 2p inputs into the FDL.
        self.newest = if self.newest + 1 == rows {
            0
        } else {
            self.newest + 1
        };
        self.x_live[self.newest] = live;
        let time = &mut work.time[..2 * p];
        let spec = &mut work.spec[..bins];
        if live {
            time.copy_from_slice(window);
            // Lengths are right by construction, so this cannot fail.
            let _ = self
                .fwd
                .process_with_scratch(time, spec, &mut work.fft_scratch);
            let dst = &mut self.x[self.newest * row..(self.newest + 1) * row];
            kernels.store(spec, dst);
        }

        // Sum of input spectra times IR partition spectra.
        let any = if self.spread {
            // The past products are in `pre`; add the newest spectrum's, if it is used now.
            let mut pre = std::mem::take(&mut self.pre);
            let past = (self.first_part(1)..self.parts).any(|k| {
                self.h_live[k] && self.x_live[(self.newest + rows - self.delay - k) % rows]
            });
            let now = if past {
                self.sum_products_now(kernels, &mut pre, false)
            } else {
                self.sum_products_now(kernels, &mut pre, true)
            };
            self.pre_done = 0;
            if past || now {
                kernels.load(&pre, spec);
            }
            self.pre = pre;
            past || now
        } else {
            let acc = &mut work.acc[..row];
            let any = self.sum_products(kernels, acc, 0, 0, 0);
            if any {
                kernels.load(acc, spec);
            }
            any
        };
        if !any {
            self.output[p..].fill(0.0);
            return;
        }

        // Back to the time domain; the last p samples are the valid (overlap-save) part.
        // realfft's inverse requires zero imaginary parts at DC and Nyquist.
        spec[0].im = 0.0;
        spec[bins - 1].im = 0.0;
        let _ = self
            .inv
            .process_with_scratch(spec, &mut self.output, &mut work.fft_scratch);
    }

    /// Spread levels at the end of a block: adds (or, with `assign`, writes) the products that
    /// need the newest spectrum (only partition 0 when the level has no extra delay) to `acc`.
    /// Returns whether there were any.
    fn sum_products_now(&self, kernels: Kernels, acc: &mut [f32], assign: bool) -> bool {
        let end = self.first_part(1);
        if end == 0 || !self.h_live[0] || !self.x_live[self.newest] {
            return false;
        }
        let (x, h) = ([self.newest * self.row], [0]);
        if assign {
            kernels.cmac::<1, true>(acc, &self.x, x, &self.h, h);
        } else {
            kernels.cmac::<1, false>(acc, &self.x, x, &self.h, h);
        }
        true
    }

    /// `acc (=|+=) Σ_g x[xs[g]..] · h[hs[g]..]` for one group of 1 to 4 partitions.
    fn mac(&self, kernels: Kernels, acc: &mut [f32], xs: &[usize], hs: &[usize], assign: bool) {
        macro_rules! go {
            ($g:literal) => {{
                let xa: [usize; $g] = xs.try_into().unwrap();
                let ha: [usize; $g] = hs.try_into().unwrap();
                if assign {
                    kernels.cmac::<$g, true>(acc, &self.x, xa, &self.h, ha)
                } else {
                    kernels.cmac::<$g, false>(acc, &self.x, xa, &self.h, ha)
                }
            }};
        }
        match xs.len() {
            1 => go!(1),
            2 => go!(2),
            3 => go!(3),
            _ => go!(4),
        }
    }
}

/// Writes `spec · scale` into `row` in the chunked layout (see [`LANES`]).
fn store_spectrum(spec: &[Complex<f32>], row: &mut [f32], scale: f32) {
    let whole = spec.len() / LANES;
    for (src, dst) in spec.chunks_exact(LANES).zip(row.chunks_exact_mut(CHUNK)) {
        let (re, im) = dst.split_at_mut(LANES);
        for l in 0..LANES {
            re[l] = src[l].re * scale;
            im[l] = src[l].im * scale;
        }
    }
    for (b, c) in spec.iter().enumerate().skip(whole * LANES) {
        let i = re_index(b);
        row[i] = c.re * scale;
        row[i + LANES] = c.im * scale;
    }
}

/// Reads `spec` back from `row` in the chunked layout (the inverse of [`store_spectrum`]).
fn load_spectrum(row: &[f32], spec: &mut [Complex<f32>]) {
    let whole = spec.len() / LANES;
    for (src, dst) in row.chunks_exact(CHUNK).zip(spec.chunks_exact_mut(LANES)) {
        let (re, im) = src.split_at(LANES);
        for l in 0..LANES {
            dst[l] = Complex::new(re[l], im[l]);
        }
    }
    for (b, c) in spec.iter_mut().enumerate().skip(whole * LANES) {
        let i = re_index(b);
        *c = Complex::new(row[i], row[i + LANES]);
    }
}

/// Scratch shared by all levels, sized for the largest one.
struct Work {
    time: Vec<f32>,
    spec: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    acc: Vec<f32>,
}

// ---------------------------------------------------------------------------------------------
// The reverb.
// ---------------------------------------------------------------------------------------------

/// Zero-latency convolution reverb: a direct FIR head plus uniformly partitioned FFT levels of
/// growing size (see the [module docs](self)).
///
/// Build it off the audio thread with [`new`](Self::new) (which allocates); then
/// [`process`](Self::process) and friends never allocate.
pub struct ConvolutionReverb {
    /// IR length as given to [`new`](Self::new).
    ir_len: usize,
    /// Largest block [`process_mix_in_place`](Self::process_mix_in_place) handles in one go.
    max_block: usize,
    /// Head taps, in order (`ir[0..head]`).
    head: Vec<f32>,
    /// Input history shared by the head and the levels (sanitized samples, oldest first):
    /// `hist[..write]` holds the past, at least `keep` samples of it.
    hist: Vec<f32>,
    /// Where the next input sample goes in `hist`.
    write: usize,
    /// History the head and the levels need: `max(head.len() - 1, 2 · largest level)`.
    keep: usize,
    /// Smallest level size (or a fixed span when there is no level): spans never cross a
    /// multiple of it.
    quantum: usize,
    /// Position in the stream modulo `period`.
    pos: usize,
    /// Largest level size (or `quantum`): all level boundaries repeat with this period.
    period: usize,
    /// FFT levels, smallest first.
    levels: Vec<Level>,
    /// Shared FFT scratch.
    work: Work,
    /// Dry copy for [`process_mix_in_place`](Self::process_mix_in_place), `max_block` long.
    mix_scratch: Vec<f32>,
    /// SIMD build of the kernels.
    kernels: Kernels,
}

impl std::fmt::Debug for ConvolutionReverb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConvolutionReverb")
            .field("ir_len", &self.ir_len)
            .field("head", &self.head.len())
            .field(
                "levels",
                &self
                    .levels
                    .iter()
                    .map(|l| (l.size, l.parts))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ConvolutionReverb {
    /// Builds a reverb for `ir` (any length, including 0; an empty or all-zero IR gives a
    /// silent wet signal). `max_block` sizes the scratch of
    /// [`process_mix_in_place`](Self::process_mix_in_place); the other methods take blocks of
    /// any length regardless.
    ///
    /// **Allocates** (all buffers, FFT plans and the IR's partition spectra, about 16 bytes per
    /// IR tap): call it off the audio thread.
    pub fn new(ir: &[f32], max_block: usize) -> Self {
        Self::with_plan(ir, max_block, None)
    }

    /// [`new`](Self::new) with the plan chosen by [`Plan::choose`], or an explicit one.
    fn with_plan(ir: &[f32], max_block: usize, plan: Option<Plan>) -> Self {
        let max_block = max_block.max(1);
        // Clean the IR: non-finite, subnormal and −240 dB taps → 0, trailing zeros cut.
        let peak = ir
            .iter()
            .filter(|t| t.is_finite())
            .fold(0.0f32, |m, t| m.max(t.abs()));
        let floor = peak * IR_FLOOR_RELATIVE;
        let mut taps: Vec<f32> = ir
            .iter()
            .map(|&t| {
                if t.is_finite() && t.abs() >= floor.max(f32::MIN_POSITIVE) {
                    t
                } else {
                    0.0
                }
            })
            .collect();
        let effective = taps.iter().rposition(|&t| t != 0.0).map_or(0, |i| i + 1);
        taps.truncate(effective);

        let plan = plan.unwrap_or_else(|| Plan::choose(effective));
        let head_len = plan.head.max(1);
        let mut head = vec![0.0; head_len];
        let n = head_len.min(taps.len());
        head[..n].copy_from_slice(&taps[..n]);

        let mut planner = RealFftPlanner::<f32>::new();
        let mut levels = Vec::with_capacity(plan.levels.len());
        let mut offset = head_len;
        for &(size, parts) in &plan.levels {
            assert!(
                size.is_power_of_two() && offset.is_multiple_of(size) && parts > 0,
                "invalid partition plan"
            );
            let start = offset.min(taps.len());
            let end = (offset + size * parts).min(taps.len());
            levels.push(Level::new(
                &taps[start..end],
                size,
                parts,
                offset / size - 1,
                &mut planner,
            ));
            offset += size * parts;
        }

        let quantum = levels.first().map_or(128, |l| l.size);
        let period = levels.last().map_or(quantum, |l| l.size);
        // The history is shifted back to its start when full: with room for at least `keep`
        // more samples, that costs at most one copied sample per processed sample.
        let keep = (head_len - 1).max(if levels.is_empty() { 0 } else { 2 * period });
        let hist_len = keep + keep.max(4096).max(quantum);
        let max_size = period;
        let scratch_len = levels
            .iter()
            .map(|l| l.fwd.get_scratch_len().max(l.inv.get_scratch_len()))
            .max()
            .unwrap_or(0);
        let work = Work {
            time: vec![0.0; 2 * max_size],
            spec: vec![Complex::new(0.0, 0.0); max_size + 1],
            fft_scratch: vec![Complex::new(0.0, 0.0); scratch_len],
            acc: vec![0.0; 2 * (max_size + 1).next_multiple_of(LANES)],
        };
        Self {
            ir_len: ir.len(),
            max_block,
            hist: vec![0.0; hist_len],
            write: keep,
            keep,
            head,
            quantum,
            pos: 0,
            period,
            levels,
            work,
            mix_scratch: vec![0.0; max_block],
            kernels: Kernels::detect(),
        }
    }

    /// Length of the IR given to [`new`](Self::new), in samples.
    pub fn ir_len(&self) -> usize {
        self.ir_len
    }

    /// Latency the reverb adds, in samples: always 0 (the wet signal of an impulse starts with
    /// `ir[0]` on the impulse's own sample).
    pub fn latency_samples(&self) -> usize {
        0
    }

    /// The `max_block` given to [`new`](Self::new) (at least 1).
    pub fn max_block(&self) -> usize {
        self.max_block
    }

    /// Clears all state (input history, delay lines, pending output): what follows sounds
    /// exactly like a fresh instance. Allocates nothing.
    pub fn reset(&mut self) {
        self.hist.fill(0.0);
        self.write = self.keep;
        self.pos = 0;
        for level in &mut self.levels {
            level.reset();
        }
    }

    /// Writes the pure wet signal, `input` convolved with the IR, to `wet_out`.
    ///
    /// Blocks of any length work (1 sample, or more than `max_block`); the result does not
    /// depend on how a signal is cut into blocks. Processes `input.len().min(wet_out.len())`
    /// samples (debug builds assert that the lengths are equal). Allocates nothing, takes no
    /// lock. The cost is uneven: the block in which a large partition completes does its FFTs.
    pub fn process(&mut self, input: &[f32], wet_out: &mut [f32]) {
        debug_assert_eq!(
            input.len(),
            wet_out.len(),
            "input and output lengths differ"
        );
        let n = input.len().min(wet_out.len());
        let mut done = 0;
        while done < n {
            let phase = self.pos & (self.quantum - 1);
            let span = (self.quantum - phase).min(n - done);
            self.process_span(&input[done..done + span], &mut wet_out[done..done + span]);
            done += span;
        }
    }

    /// Dry/wet mix: `output = (1 − wet) · dry + wet · reverb`, a linear crossfade with `wet`
    /// clamped to `[0, 1]` (a non-finite `wet` counts as 0). The dry signal is sanitized like
    /// the reverb's input, so NaN/Inf never reach `output`. Same length rules as
    /// [`process`](Self::process); allocates nothing.
    pub fn process_mix(&mut self, input: &[f32], output: &mut [f32], wet: f32) {
        self.process(input, output);
        let wet = if wet.is_finite() {
            wet.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let dry = 1.0 - wet;
        for (o, &x) in output.iter_mut().zip(input) {
            *o = dry * clean_input(x) + wet * *o;
        }
    }

    /// [`process_mix`](Self::process_mix) on a buffer in place (the buffer holds the dry
    /// input and receives the mix). Any length works: the dry copy goes through a
    /// preallocated scratch `max_block` long, in pieces. Allocates nothing.
    pub fn process_mix_in_place(&mut self, buffer: &mut [f32], wet: f32) {
        let mut scratch = std::mem::take(&mut self.mix_scratch);
        for chunk in buffer.chunks_mut(self.max_block) {
            let dry = &mut scratch[..chunk.len()];
            dry.copy_from_slice(chunk);
            self.process_mix(dry, chunk, wet);
        }
        self.mix_scratch = scratch;
    }

    /// Processes a span that crosses no multiple of `quantum`.
    fn process_span(&mut self, input: &[f32], out: &mut [f32]) {
        let n = input.len();
        if self.write + n > self.hist.len() {
            self.hist.copy_within(self.write - self.keep..self.write, 0);
            self.write = self.keep;
        }
        let w = self.write;
        for (h, &x) in self.hist[w..w + n].iter_mut().zip(input) {
            *h = clean_input(x);
        }
        self.write = w + n;
        let base = self.head.len() - 1;
        self.kernels
            .fir(&self.head, &self.hist[w - base..w + n], out);

        for level in &mut self.levels {
            let p = level.size;
            let ph = self.pos & (p - 1);
            for (o, &y) in out.iter_mut().zip(&level.output[p + ph..p + ph + n]) {
                *o += y;
            }
            level.advance(self.kernels, ph + n);
        }

        self.pos = (self.pos + n) & (self.period - 1);
        for level in &mut self.levels {
            if self.pos & (level.size - 1) == 0 {
                let window = &self.hist[w + n - 2 * level.size..w + n];
                level.run(window, &mut self.work, self.kernels);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise in [-1, 1).
    fn noise(len: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Naive convolution, f64 accumulation.
    fn direct(x: &[f32], ir: &[f32]) -> Vec<f32> {
        (0..x.len())
            .map(|t| {
                (0..ir.len().min(t + 1))
                    .map(|m| ir[m] as f64 * x[t - m] as f64)
                    .sum::<f64>() as f32
            })
            .collect()
    }

    fn max_err(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    /// An IR with unit energy and a room-like decay.
    fn ir(len: usize, seed: u32) -> Vec<f32> {
        let mut v = noise(len, seed);
        for (i, t) in v.iter_mut().enumerate() {
            *t *= (-6.9 * i as f32 / len as f32).exp();
        }
        let g = 1.0 / v.iter().map(|t| t * t).sum::<f32>().sqrt();
        v.iter_mut().for_each(|t| *t *= g);
        v
    }

    #[test]
    fn plans_cover_the_ir_with_aligned_levels() {
        for len in (1..3000)
            .step_by(37)
            .chain([48_000, 144_000, 576_000, 1 << 20])
        {
            let plan = Plan::choose(len);
            assert!(plan.head >= 1);
            let mut offset = plan.head;
            for &(size, parts) in &plan.levels {
                assert!(
                    size.is_power_of_two() && size <= MAX_PARTITION,
                    "{len}: {plan:?}"
                );
                assert!(parts >= 1 && offset.is_multiple_of(size), "{len}: {plan:?}");
                assert!(offset < len, "{len}: a level past the IR's end: {plan:?}");
                offset += size * parts;
            }
            assert!(offset >= len, "{len}: plan covers {offset} taps: {plan:?}");
            if let Some(&(first, _)) = plan.levels.first() {
                assert_eq!(first, plan.head, "{len}: {plan:?}");
            }
            let sizes: Vec<usize> = plan.levels.iter().map(|l| l.0).collect();
            assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{len}: {plan:?}");
        }
    }

    #[test]
    fn explicit_plans_with_fdl_delays_match_direct_convolution() {
        // Levels that start beyond their own size read older FDL rows (delay > 0).
        assert_eq!(SPREAD_MIN, 4096, "update the last plan");
        let h = ir(9000, 3);
        let x = noise(30_000, 4);
        let want = direct(&x, &h);
        for plan in [
            Plan {
                head: 128,
                levels: vec![(128, 15), (1024, 2), (4096, 2)],
            },
            Plan {
                head: 64,
                levels: vec![(64, 3), (128, 2), (512, 1), (1024, 9)],
            },
            Plan {
                head: 256,
                levels: vec![(256, 3), (512, 4), (1024, 6)],
            },
            // A spread level (p ≥ SPREAD_MIN) with a delay of one block.
            Plan {
                head: 128,
                levels: vec![(128, 63), (SPREAD_MIN, 1)],
            },
        ] {
            let mut rev = ConvolutionReverb::with_plan(&h, 256, Some(plan.clone()));
            let mut got = vec![0.0; x.len()];
            for (i, o) in x.chunks(333).zip(got.chunks_mut(333)) {
                rev.process(i, o);
            }
            let err = max_err(&got, &want);
            assert!(err < 1e-5, "{plan:?}: error {err}");
        }
    }

    #[test]
    fn portable_kernels_match_the_reference() {
        // The whole reverb on the portable kernels (the AVX2 ones are covered by the
        // integration tests on machines that have AVX2).
        let h = ir(20_000, 5);
        let x = noise(40_000, 6);
        let want = direct(&x, &h);
        let mut rev = ConvolutionReverb::new(&h, 512);
        rev.kernels = Kernels { avx2_fma: false };
        let mut got = vec![0.0; x.len()];
        for (i, o) in x.chunks(100).zip(got.chunks_mut(100)) {
            rev.process(i, o);
        }
        let err = max_err(&got, &want);
        assert!(err < 1e-5, "portable kernels: error {err}");
    }

    #[test]
    fn simd_kernels_agree_with_portable_ones() {
        let k = Kernels::detect();
        if !k.avx2_fma {
            return;
        }
        let p = Kernels { avx2_fma: false };
        // FIR, for span lengths that exercise every tile size.
        for taps_len in [1usize, 5, 64, 129] {
            let taps = noise(taps_len, 7);
            for n in [1usize, 7, 8, 9, 63, 64, 65, 128, 200] {
                let hist = noise(taps_len - 1 + n, 8);
                let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
                k.fir(&taps, &hist, &mut a);
                p.fir(&taps, &hist, &mut b);
                assert!(max_err(&a, &b) < 1e-5, "fir {taps_len} taps, {n} outputs");
            }
        }
        // Layout round trip and multiply-accumulate.
        let bins: usize = 129;
        let row = 2 * bins.next_multiple_of(LANES);
        let spec: Vec<Complex<f32>> = noise(2 * bins, 9)
            .chunks(2)
            .map(|c| Complex::new(c[0], c[1]))
            .collect();
        let (mut r1, mut r2) = (vec![0.0; row], vec![0.0; row]);
        k.store(&spec, &mut r1);
        p.store(&spec, &mut r2);
        assert_eq!(r1, r2);
        let mut back = vec![Complex::new(0.0, 0.0); bins];
        k.load(&r1, &mut back);
        assert_eq!(back, spec);

        let x = noise(5 * row, 10);
        let h = noise(5 * row, 11);
        fn at<const G: usize>(rows: [usize; G], row: usize) -> [usize; G] {
            rows.map(|r| r * row)
        }
        let (mut a, mut b) = (noise(row, 12), noise(row, 12));
        k.cmac::<4, false>(&mut a, &x, at([4, 0, 2, 1], row), &h, at([0, 1, 2, 3], row));
        p.cmac::<4, false>(&mut b, &x, at([4, 0, 2, 1], row), &h, at([0, 1, 2, 3], row));
        k.cmac::<3, false>(&mut a, &x, at([3, 3, 1], row), &h, at([4, 2, 0], row));
        p.cmac::<3, false>(&mut b, &x, at([3, 3, 1], row), &h, at([4, 2, 0], row));
        assert!(max_err(&a, &b) < 1e-5);
        k.cmac::<2, true>(&mut a, &x, at([0, 1], row), &h, at([1, 0], row));
        p.cmac::<2, true>(&mut b, &x, at([0, 1], row), &h, at([1, 0], row));
        assert!(max_err(&a, &b) < 1e-5);
        // And the product itself is right: bin 3 of x-row 0 times h-row 1.
        k.cmac::<1, true>(&mut a, &x, [0], &h, [row]);
        let i = re_index(3);
        let xc = Complex::new(x[i], x[i + LANES]);
        let hc = Complex::new(h[row + i], h[row + i + LANES]);
        let want = xc * hc;
        assert!((a[i] - want.re).abs() < 1e-6 && (a[i + LANES] - want.im).abs() < 1e-6);
    }

    #[test]
    fn tiny_and_non_finite_ir_taps_are_cleaned() {
        let mut h = vec![0.0f32; 1000];
        h[0] = 1.0;
        h[10] = f32::NAN;
        h[20] = 1e-20; // −400 dB: flushed
        h[30] = f32::from_bits(5); // subnormal: flushed
        h[500] = 0.5;
        let mut rev = ConvolutionReverb::new(&h, 64);
        let mut x = vec![0.0f32; 1200];
        x[0] = 1.0;
        let mut y = vec![0.0f32; 1200];
        rev.process(&x, &mut y);
        let mut want = vec![0.0f32; 1200];
        want[0] = 1.0;
        want[500] = 0.5;
        assert!(max_err(&y, &want) < 1e-6);
    }
}
