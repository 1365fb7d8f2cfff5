//! A-weighted loudness of one analysis frame, in dB.
//!
//! # Definition (training computes its features with this same code)
//!
//! For a frame `x[0..N]` (`N` = the analysis window, 512 samples at 16 kHz by default):
//!
//! 1. Window it with a **periodic** Hann window `w[n] = 0.5 − 0.5·cos(2πn/N)`, `n = 0..N`
//!    (the DFT-even Hann of `torch.hann_window(N)` and `scipy.signal.get_window("hann", N)`).
//! 2. Take the one-sided DFT `X_k = Σ_n w[n]·x[n]·e^(−2πikn/N)`, `k = 0..=N/2`, at bin
//!    frequencies `f_k = k·fs/N` (an odd `N` is zero-padded by one sample first: the same
//!    quantity below, on a grid of `N + 1` bins).
//! 3. Weight each bin's power by the A curve [`a_weighting_db`] and sum:
//!
//!    ```text
//!    P = Σ_k c_k · |X_k|² · 10^(A(f_k)/10) / (N · Σ_n w[n]²)
//!    ```
//!
//!    with `c_k = 1` for DC and (even `N`) Nyquist, `2` otherwise. Without the weighting this
//!    is, by Parseval, exactly the window-weighted mean square `Σ (w·x)² / Σ w²`; with it, it
//!    is the mean square of the A-weighted signal. A full-scale 1 kHz sine reads
//!    10·log10(0.5) ≈ −3.01 dB.
//! 4. `loudness_db = max(10·log10(P), LOUDNESS_FLOOR_DB)` with
//!    [`LOUDNESS_FLOOR_DB`] = −80 dB. Silence reads exactly −80.
//!
//! The A weighting is zero at DC (A(0) = −∞ dB), so a DC offset does not change the reading.
//! Doubling the amplitude adds 20·log10(2) ≈ 6.02 dB.
//!
//! # Real-time safety
//!
//! [`LoudnessMeter::new`] plans the FFT and precomputes the window and the per-bin weights
//! (`c_k · 10^(A(f_k)/10) / (N·Σw²)`); [`LoudnessMeter::measure`] then runs one real FFT
//! (a complex one of `N/2` with preallocated scratch, joined into the spectrum:
//! [`crate::real_fft`]) and a weighted sum. It allocates nothing, locks nothing and logs
//! nothing.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use crate::pitch::FrameSpectrum;
use crate::real_fft::{re_index, RealFft, CHUNK, LANES};
use crate::{as_floats, as_floats_mut, LOUDNESS_FLOOR_DB};

/// The IEC 61672-1 A-weighting magnitude response `R_A(f)` (not normalized), in f64.
fn r_a(freq_hz: f64) -> f64 {
    // Pole frequencies of IEC 61672-1:2013, Annex E.
    const F1: f64 = 20.598_997;
    const F2: f64 = 107.652_65;
    const F3: f64 = 737.862_23;
    const F4: f64 = 12_194.217;
    let f2 = freq_hz * freq_hz;
    (F4 * F4 * f2 * f2)
        / ((f2 + F1 * F1) * ((f2 + F2 * F2) * (f2 + F3 * F3)).sqrt() * (f2 + F4 * F4))
}

/// The A-weighting power gain `10^(A(f)/10)` at `freq_hz`, exactly 1 at 1 kHz and 0 at DC.
pub fn a_weighting_power(freq_hz: f64) -> f64 {
    if freq_hz <= 0.0 || !freq_hz.is_finite() {
        return 0.0;
    }
    let g = r_a(freq_hz) / r_a(1000.0);
    g * g
}

/// The A-weighting curve of IEC 61672-1 in dB, normalized to exactly 0 dB at 1 kHz.
///
/// `A(f) = 20·log10(R_A(f) / R_A(1000))` with
/// `R_A(f) = f4²·f⁴ / ((f² + f1²)·√((f² + f2²)(f² + f3²))·(f² + f4²))`, pole frequencies
/// f1 = 20.6 Hz, f2 = 107.7 Hz, f3 = 737.9 Hz, f4 = 12194 Hz. (The standard's "+2.00 dB"
/// constant is the rounded form of the normalization; normalizing exactly makes the 1 kHz
/// value 0 instead of 0.0003.) Examples: 100 Hz → −19.1 dB, 10 kHz → −2.5 dB.
/// Returns −∞ for `freq_hz <= 0` (the curve has a zero at DC) and NaN for NaN.
pub fn a_weighting_db(freq_hz: f32) -> f32 {
    if freq_hz.is_nan() {
        return f32::NAN;
    }
    if freq_hz <= 0.0 {
        return f32::NEG_INFINITY;
    }
    (20.0 * (r_a(freq_hz as f64) / r_a(1000.0)).log10()) as f32
}

/// Measures A-weighted loudness (see the module docs for the exact definition).
pub struct LoudnessMeter {
    /// Frame length in use (at most `capacity`).
    window: usize,
    /// The longest frame.
    capacity: usize,
    /// FFT size `N`: `capacity`, rounded up to even (an odd frame is zero-padded by one).
    fft_len: usize,
    /// `Σw²` of the full-length window over `Σw²` of the window in use (1 at full length).
    power_scale: f32,
    /// Sample rate the bin frequencies refer to.
    sample_rate: f32,
    /// Periodic Hann window of the frame in use, zero-padded to `N` samples.
    hann: Vec<f32>,
    /// Per-bin factor `c_k · 10^(A(f_k)/10) / (N · Σw²)`, bins `0..=N/2`, zero-padded to
    /// whole chunks of [`LANES`] (the layout of `row`).
    weights: Vec<f32>,
    /// The real FFT of size `N` ([`RealFft`]: a complex one of `N/2`, joined).
    fft: RealFft,
    /// The FFT's work space: the windowed frame as `N/2` sample pairs, plus one.
    pairs: Vec<Complex<f32>>,
    /// The windowed frame's spectrum, bins `0..=N/2`, in the chunked layout of
    /// [`RealFft::forward`] (bins past `N/2` stay 0).
    row: Vec<f32>,
    /// `weights`, each twice (for a bin's real and imaginary parts).
    weights_twice: Vec<f32>,
    /// The spectrum of the Hann window in use, zero-padded to `N` (bins `0..=N/2`): what a
    /// frame's mean adds to its windowed spectrum ([`Self::measure_from_spectrum`]).
    hann_spectrum: Vec<Complex<f32>>,
    /// FFT scratch.
    scratch: Vec<Complex<f32>>,
}

impl std::fmt::Debug for LoudnessMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoudnessMeter")
            .field("window", &self.window)
            .field("sample_rate", &self.sample_rate)
            .finish_non_exhaustive()
    }
}

impl LoudnessMeter {
    /// A meter for frames of `window` samples at `sample_rate` Hz. Allocates (plans the FFT).
    ///
    /// # Panics
    /// If `window < 2` or `sample_rate` is not finite and positive.
    pub fn new(sample_rate: f32, window: usize) -> Self {
        assert!(window >= 2, "loudness window must be at least 2 samples");
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "sample rate must be finite and positive"
        );
        let fft_len = window.next_multiple_of(2);
        let mut hann = vec![0.0; fft_len];
        fill_hann(&mut hann[..window]);
        let sum_w2 = hann_power(window);
        let bins = fft_len / 2 + 1;
        let weights: Vec<f32> = (0..bins.next_multiple_of(LANES))
            .map(|k| {
                if k >= bins {
                    return 0.0;
                }
                let c = if k == 0 || k == fft_len / 2 { 1.0 } else { 2.0 };
                let f = k as f64 * sample_rate as f64 / fft_len as f64;
                (c * a_weighting_power(f) / (fft_len as f64 * sum_w2)) as f32
            })
            .collect();
        let fft = RealFft::new(fft_len / 2, &mut FftPlanner::new());
        let weights_twice = weights[..bins].iter().flat_map(|&g| [g, g]).collect();
        let mut meter = Self {
            weights_twice,
            window,
            capacity: window,
            fft_len,
            power_scale: 1.0,
            sample_rate,
            hann,
            weights,
            pairs: vec![Complex::default(); fft_len / 2 + 1],
            row: vec![0.0; fft.row_len()],
            scratch: vec![Complex::default(); fft.scratch_len()],
            fft,
            hann_spectrum: vec![Complex::default(); bins],
        };
        meter.update_hann_spectrum();
        meter
    }

    /// Works out the spectrum of the Hann window in use. Allocates nothing.
    fn update_hann_spectrum(&mut self) {
        let simd = timbre_simd::has_avx2_fma();
        let (pairs, scratch, row) = (&mut self.pairs, &mut self.scratch, &mut self.row);
        self.fft.forward(&self.hann, pairs, scratch, row, 1.0, simd);
        for (k, z) in self.hann_spectrum.iter_mut().enumerate() {
            let i = re_index(k);
            *z = Complex::new(self.row[i], self.row[i + LANES]);
        }
    }

    /// The frame length in samples (the longest frame, or what [`LoudnessMeter::set_window`]
    /// chose).
    pub fn window(&self) -> usize {
        self.window
    }

    /// Measures frames of `window` samples (clamped to 2..=`N`) from now on: a periodic Hann
    /// window of that length, zero-padded to the FFT size `N`. By Parseval the reading is the
    /// same quantity (the A-weighted, window-weighted mean square), on a finer frequency grid;
    /// at `N` it is bit-identical to a fresh meter. Allocates nothing.
    pub fn set_window(&mut self, window: usize) {
        let n = window.clamp(2, self.capacity);
        fill_hann(&mut self.hann[..n]);
        self.hann[n..].fill(0.0);
        let sum_full = hann_power(self.capacity);
        self.power_scale = (sum_full / hann_power(n)) as f32;
        self.window = n;
        self.update_hann_spectrum();
    }

    /// The sample rate in Hz.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// The A-weighted power `P` of `frame` (linear, not floored; see the module docs).
    ///
    /// Uses the first `window` samples of `frame`; a shorter frame is zero-padded at the end.
    /// Non-finite samples count as 0. Allocates nothing.
    pub fn measure_power(&mut self, frame: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if timbre_simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
            return unsafe { self.measure_power_avx2(frame) };
        }
        self.measure_power_impl(frame)
    }

    /// [`Self::measure_power_impl`] compiled for AVX2 + FMA (bit-identical results).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn measure_power_avx2(&mut self, frame: &[f32]) -> f32 {
        self.measure_power_impl(frame)
    }

    #[inline(always)]
    fn measure_power_impl(&mut self, frame: &[f32]) -> f32 {
        let n = frame.len().min(self.window);
        let samples = as_floats_mut(&mut self.pairs[..self.fft.half_len()]);
        for ((dst, &x), &w) in samples.iter_mut().zip(&frame[..n]).zip(&self.hann) {
            *dst = if x.is_finite() { x * w } else { 0.0 };
        }
        samples[n..].fill(0.0);
        let simd = timbre_simd::has_avx2_fma();
        let (pairs, scratch, row) = (&mut self.pairs, &mut self.scratch, &mut self.row);
        self.fft.forward_pairs(pairs, scratch, row, 1.0, simd);
        // Weighted sum, a chunk of bins at a time in independent lanes (vectorizes); the
        // weights past bin N/2 are 0.
        let mut acc = [0.0f32; LANES];
        for (chunk, g) in self
            .row
            .chunks_exact(CHUNK)
            .zip(self.weights.chunks_exact(LANES))
        {
            let (re, im) = chunk.split_at(LANES);
            for l in 0..LANES {
                acc[l] += g[l] * (re[l] * re[l] + im[l] * im[l]);
            }
        }
        self.finish_power(acc.iter().sum())
    }

    /// The weighted sum `p` of a frame's bins as the meter's reading: scaled to the full
    /// window's power when the window is shorter, 0 when not finite.
    #[inline(always)]
    fn finish_power(&self, mut p: f32) -> f32 {
        if self.window < self.capacity {
            p *= self.power_scale;
        }
        if p.is_finite() {
            p
        } else {
            0.0
        }
    }

    /// [`Self::measure`] from the frame's spectrum instead of the frame, where a caller has it
    /// already (the pitch tracker takes the same frame's FFT): the DFT of the first `window`
    /// samples with their mean removed, zero-padded to `N` (all `N` bins), and that mean. The
    /// Hann window is applied in frequency: with `s = N / window`, the windowed spectrum is
    /// `X_k / 2 − (X_{k−s} + X_{k+s}) / 4` plus the mean times the window's own spectrum (the
    /// same reading, to float rounding, without a transform). `None` when the frame is not
    /// `window` samples long, the spectrum not `N` bins, or `N` not a multiple of the window.
    /// Allocates nothing.
    pub fn measure_from_spectrum(&self, frame: &FrameSpectrum<'_>) -> Option<f32> {
        let n = self.fft_len;
        // The windowed bins reach `N / window` bins up from the top one read (`N/2`), which
        // must stay below `N`.
        let fits = n.is_multiple_of(self.window) && n / 2 + n / self.window < n;
        let FrameSpectrum {
            bins: spectrum,
            mean,
            frame_len,
        } = *frame;
        if spectrum.len() != n || frame_len != self.window || !fits || !mean.is_finite() {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        if timbre_simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
            return Some(power_to_db(unsafe {
                self.power_from_spectrum_avx2(spectrum, mean)
            }));
        }
        Some(power_to_db(self.power_from_spectrum_impl(spectrum, mean)))
    }

    /// [`Self::power_from_spectrum_impl`] compiled for AVX2 + FMA (bit-identical results).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn power_from_spectrum_avx2(&self, spectrum: &[Complex<f32>], mean: f32) -> f32 {
        self.power_from_spectrum_impl(spectrum, mean)
    }

    #[inline(always)]
    fn power_from_spectrum_impl(&self, x: &[Complex<f32>], mean: f32) -> f32 {
        let n = self.fft_len;
        let s = n / self.window;
        let bins = n / 2 + 1;
        // One part (real or imaginary) of windowed bin k from bins k, k − s and k + s and the
        // window's bin k, squared and weighted by g.
        let term = |a: f32, b: f32, c: f32, w: f32, g: f32| {
            let t = 0.5 * a - 0.25 * (b + c) + mean * w;
            g * (t * t)
        };
        // The first `s` bins reach below bin 0: X_{−j} is X_{N−j}.
        let head = s.min(bins);
        let mut p = 0.0f32;
        for k in 0..head {
            let (a, b, c, w) = (x[k], x[n + k - s], x[k + s], self.hann_spectrum[k]);
            let g = self.weights[k];
            p += term(a.re, b.re, c.re, w.re, g) + term(a.im, b.im, c.im, w.im, g);
        }
        // The rest (bin k + s ≤ N/2 + s < N) on the real and imaginary parts alike, as
        // floats, in 8 independent lanes (vectorizes); each weight is stored twice.
        let rest = bins - head;
        let a = as_floats(&x[s..s + rest]);
        let b = as_floats(&x[..rest]);
        let c = as_floats(&x[2 * s..2 * s + rest]);
        let w = as_floats(&self.hann_spectrum[s..bins]);
        let g = &self.weights_twice[2 * s..2 * bins];
        let mut acc = [0.0f32; 8];
        for ((((a8, b8), c8), w8), g8) in a
            .chunks_exact(8)
            .zip(b.chunks_exact(8))
            .zip(c.chunks_exact(8))
            .zip(w.chunks_exact(8))
            .zip(g.chunks_exact(8))
        {
            for l in 0..8 {
                acc[l] += term(a8[l], b8[l], c8[l], w8[l], g8[l]);
            }
        }
        let tail = a.len() / 8 * 8;
        for i in tail..a.len() {
            p += term(a[i], b[i], c[i], w[i], g[i]);
        }
        p += acc.iter().sum::<f32>();
        self.finish_power(p)
    }

    /// How many dB the Hann-windowed reading of a periodic frame lies off the frame's mean
    /// square over whole periods, to be added to [`Self::measure`]'s reading when the window
    /// holds only a period or two of the note: the reading then rises and falls with where
    /// the window falls on the waveform (up to 7 dB on a bright 160 Hz note in a 10 ms
    /// window), because the Hann window weighs part of a period more than the rest.
    ///
    /// Both means are taken over the first difference of the window's first `window`
    /// samples of `frame` (a high-pass that weighs the harmonics roughly as the A curve does
    /// below 1 kHz, where the interference between harmonics is): the Hann-weighted mean
    /// square over the window and the plain mean square over as many whole periods of
    /// `period_samples` as fit, centred in it (fractional samples at its edges weigh their
    /// share). Returns 0 for a frame without energy, a period that is not finite and positive,
    /// or one longer than the window. Allocates nothing.
    pub fn whole_periods_correction_db(&self, frame: &[f32], period_samples: f32) -> f32 {
        let n = frame.len().min(self.window);
        let w = n as f32;
        if !(period_samples.is_finite() && period_samples > 0.0 && period_samples < w - 1.0) {
            return 0.0;
        }
        // As many whole periods as fit in the differenced window (at least one: see above).
        let len = ((w - 1.0) / period_samples).floor() * period_samples;
        // The differenced window has n − 1 samples; sample i stands for [i, i + 1).
        let start = (w - 1.0 - len) / 2.0;
        let end = start + len;
        let (mut hann_sum, mut hann_weight, mut periods_sum) = (0.0f64, 0.0f64, 0.0f64);
        for (i, pair) in frame[..n].windows(2).enumerate() {
            let d = pair[1] - pair[0];
            let d2 = if d.is_finite() { (d * d) as f64 } else { 0.0 };
            let hann = self.hann[i + 1] as f64;
            hann_sum += hann * hann * d2;
            hann_weight += hann * hann;
            let a = i as f32;
            let share = ((a + 1.0).min(end) - a.max(start)).clamp(0.0, 1.0);
            periods_sum += share as f64 * d2;
        }
        if hann_sum <= 0.0 || periods_sum <= 0.0 {
            return 0.0;
        }
        (10.0 * ((periods_sum / len as f64) / (hann_sum / hann_weight)).log10()) as f32
    }

    /// The A-weighted loudness of `frame` in dB: `max(10·log10(P), −80)`.
    ///
    /// Uses the first `window` samples of `frame`; a shorter frame is zero-padded at the end.
    /// Non-finite samples count as 0. Allocates nothing.
    pub fn measure(&mut self, frame: &[f32]) -> f32 {
        power_to_db(self.measure_power(frame))
    }
}

/// Writes the periodic Hann window of `out.len()` samples into `out`.
fn fill_hann(out: &mut [f32]) {
    let n = out.len() as f64;
    for (i, w) in out.iter_mut().enumerate() {
        let phase = 2.0 * std::f64::consts::PI * i as f64 / n;
        *w = (0.5 - 0.5 * phase.cos()) as f32;
    }
}

/// `Σw²` of the periodic Hann window of `n` samples, summed in f64 over the f32 values.
fn hann_power(n: usize) -> f64 {
    (0..n)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
            let w = (0.5 - 0.5 * phase.cos()) as f32 as f64;
            w * w
        })
        .sum()
}

/// `max(10·log10(power), LOUDNESS_FLOOR_DB)`; 0, negative and NaN powers read the floor.
pub fn power_to_db(power: f32) -> f32 {
    if power > 0.0 && power.is_finite() {
        (10.0 * power.log10()).max(LOUDNESS_FLOOR_DB)
    } else {
        LOUDNESS_FLOOR_DB
    }
}
