//! Fundamental frequency (f0) and voicing confidence of one analysis frame.
//!
//! TODO: measured comparison goes here.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::{MAX_F0_HZ, MIN_F0_HZ};

/// The f0 reported before the first voiced frame (A3). After that, unvoiced frames repeat the
/// last voiced f0, so that downstream glides never fall to 0.
pub const DEFAULT_F0_HZ: f32 = 220.0;

/// Frames whose confidence is below this are treated as unvoiced: their `f0_hz` repeats the
/// last voiced value. Silence and white noise stay well below it (see the module docs).
pub const VOICED_CONFIDENCE: f32 = 0.6;

/// Frames whose mean square is below this (−140 dBFS) are silence: confidence 0.
const SILENCE_MEAN_SQUARE: f32 = 1e-14;

/// MPM's key-maximum threshold: the first key maximum within this fraction of the highest
/// one wins (McLeod & Wyvill use 0.8 to 1.0).
const MPM_K: f32 = 0.9;

/// YIN's absolute threshold on the cumulative mean normalized difference.
const YIN_THRESHOLD: f32 = 0.15;

/// Which periodicity function and peak picking the tracker uses. Both share the same
/// FFT autocorrelation; see the module docs for the measured comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PitchAlgorithm {
    /// YIN (de Cheveigné & Kawahara 2002): cumulative mean normalized difference, absolute
    /// threshold, parabolic interpolation.
    Yin,
    /// McLeod's pitch method (McLeod & Wyvill 2005): normalized square difference function,
    /// key maxima, parabolic interpolation.
    #[default]
    Mpm,
}

/// One frame's pitch estimate.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct PitchEstimate {
    /// Fundamental frequency in Hz, in [`MIN_F0_HZ`, `MAX_F0_HZ`]. When the frame is unvoiced
    /// (`confidence < VOICED_CONFIDENCE`) this is the last voiced f0 (or [`DEFAULT_F0_HZ`]).
    pub f0_hz: f32,
    /// Voicing confidence in [0, 1]: about 1 for a clean periodic tone, near 0 for silence
    /// and noise.
    pub confidence: f32,
}

/// An allocation-free f0 tracker on a preplanned real FFT.
pub struct PitchTracker {
    sample_rate: f32,
    window: usize,
    algorithm: PitchAlgorithm,
    /// Smallest lag searched (period of `MAX_F0_HZ`).
    min_lag: usize,
    /// Largest lag searched (period of `MIN_F0_HZ`).
    max_lag: usize,
    /// The frame, mean removed (`window` samples).
    frame: Vec<f32>,
    /// Forward FFT size `M`, a power of two of at least `window + max_lag + 2` (no circular
    /// wrap for the lags used).
    fft_len: usize,
    /// Forward real FFT of size `M`.
    fft: Arc<dyn RealToComplex<f32>>,
    /// Inverse real FFT of size `2M`: the autocorrelation at half-sample lags.
    ifft: Arc<dyn ComplexToReal<f32>>,
    /// Forward FFT input (`M`).
    time: Vec<f32>,
    /// Forward FFT output (`M/2 + 1`).
    spectrum: Vec<Complex<f32>>,
    /// Power spectrum zero-padded to `M + 1` bins (inverse FFT input).
    power: Vec<Complex<f32>>,
    /// Autocorrelation at half-sample lags (`2M`).
    acf: Vec<f32>,
    /// Forward FFT scratch.
    scratch_fwd: Vec<Complex<f32>>,
    /// Inverse FFT scratch.
    scratch_inv: Vec<Complex<f32>>,
    /// m(τ) at integer lags `0..=max_lag + 1`.
    overlap_energy: Vec<f32>,
    /// NSDF (MPM) or CMNDF (YIN) at half-sample lags: index `i` is lag `i/2`,
    /// `i = 0..=2·(max_lag + 1)`.
    curve: Vec<f32>,
    /// Last voiced f0.
    last_f0: f32,
}

impl std::fmt::Debug for PitchTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PitchTracker")
            .field("sample_rate", &self.sample_rate)
            .field("window", &self.window)
            .field("algorithm", &self.algorithm)
            .field("min_lag", &self.min_lag)
            .field("max_lag", &self.max_lag)
            .field("fft_len", &self.fft_len)
            .field("last_f0", &self.last_f0)
            .finish_non_exhaustive()
    }
}

impl PitchTracker {
    /// A tracker for frames of `window` samples at `sample_rate` Hz, with the default
    /// algorithm. Allocates (plans the FFTs).
    ///
    /// # Panics
    /// If `sample_rate` is not finite and positive, or `window` is too short to hold two
    /// periods' worth of lags: `window < max_lag + 2` with `max_lag = ceil(sample_rate / 50)`.
    pub fn new(sample_rate: f32, window: usize) -> Self {
        Self::with_algorithm(sample_rate, window, PitchAlgorithm::default())
    }

    /// Like [`PitchTracker::new`] with an explicit algorithm.
    pub fn with_algorithm(sample_rate: f32, window: usize, algorithm: PitchAlgorithm) -> Self {
        assert!(
            sample_rate.is_finite() && sample_rate > 0.0,
            "sample rate must be finite and positive"
        );
        let max_lag = Self::max_lag_for(sample_rate);
        let min_lag = ((sample_rate / MAX_F0_HZ).floor() as usize).max(2);
        assert!(
            window >= max_lag + 2,
            "pitch window {window} too short: needs at least {} samples",
            max_lag + 2
        );
        let fft_len = (window + max_lag + 2).next_power_of_two();
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(fft_len);
        let ifft = planner.plan_fft_inverse(2 * fft_len);
        Self {
            sample_rate,
            window,
            algorithm,
            min_lag,
            max_lag,
            frame: vec![0.0; window],
            fft_len,
            time: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            power: ifft.make_input_vec(),
            acf: ifft.make_output_vec(),
            scratch_fwd: fft.make_scratch_vec(),
            scratch_inv: ifft.make_scratch_vec(),
            fft,
            ifft,
            overlap_energy: vec![0.0; max_lag + 2],
            curve: vec![0.0; 2 * (max_lag + 1) + 1],
            last_f0: DEFAULT_F0_HZ,
        }
    }

    /// The largest lag (in samples) searched at `sample_rate`: `ceil(sample_rate / MIN_F0_HZ)`.
    /// A window must be at least this plus 2 samples long.
    pub fn max_lag_for(sample_rate: f32) -> usize {
        (sample_rate / MIN_F0_HZ).ceil() as usize
    }

    /// The frame length in samples.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The sample rate in Hz.
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> PitchAlgorithm {
        self.algorithm
    }

    /// Forgets the last voiced f0 (back to [`DEFAULT_F0_HZ`]).
    pub fn reset(&mut self) {
        self.last_f0 = DEFAULT_F0_HZ;
    }

    /// Estimates f0 and confidence of `frame`.
    ///
    /// Uses the first `window` samples of `frame`; a shorter frame is zero-padded at the end.
    /// Non-finite samples count as 0. Allocates nothing.
    pub fn estimate(&mut self, frame: &[f32]) -> PitchEstimate {
        let (period, confidence) = self.raw_estimate(frame);
        let confidence = if confidence.is_finite() {
            confidence.clamp(0.0, 1.0)
        } else {
            0.0
        };
        if confidence >= VOICED_CONFIDENCE && period.is_finite() && period > 0.0 {
            self.last_f0 = (self.sample_rate / period).clamp(MIN_F0_HZ, MAX_F0_HZ);
        }
        PitchEstimate {
            f0_hz: self.last_f0,
            confidence,
        }
    }

    /// Returns (period in samples, unclamped confidence); period is 0 when none was found.
    fn raw_estimate(&mut self, frame: &[f32]) -> (f32, f32) {
        let n = frame.len().min(self.window);
        let mut sum = 0.0f32;
        for (dst, &x) in self.frame.iter_mut().zip(&frame[..n]) {
            let x = if x.is_finite() { x } else { 0.0 };
            *dst = x;
            sum += x;
        }
        self.frame[n..].fill(0.0);
        let mean = sum / self.window as f32;
        let mut energy = 0.0f32;
        for x in self.frame.iter_mut() {
            *x -= mean;
            energy += *x * *x;
        }
        if !(energy.is_finite() && energy > SILENCE_MEAN_SQUARE * self.window as f32) {
            return (0.0, 0.0);
        }

        // Autocorrelation r(τ) = Σ_j x_j x_{j+τ} through |FFT|² (zero-padded: no wrap),
        // evaluated at half-sample lags by an inverse FFT of twice the size (the power
        // spectrum zero-padded: exact band-limited interpolation of r).
        self.time[..self.window].copy_from_slice(&self.frame);
        self.time[self.window..].fill(0.0);
        if self
            .fft
            .process_with_scratch(&mut self.time, &mut self.spectrum, &mut self.scratch_fwd)
            .is_err()
        {
            return (0.0, 0.0);
        }
        let half = self.fft_len / 2;
        for (dst, src) in self.power[..half].iter_mut().zip(&self.spectrum[..half]) {
            *dst = Complex::new(src.norm_sqr(), 0.0);
        }
        self.power[half] = Complex::new(0.5 * self.spectrum[half].norm_sqr(), 0.0);
        self.power[half + 1..].fill(Complex::new(0.0, 0.0));
        if self
            .ifft
            .process_with_scratch(&mut self.power, &mut self.acf, &mut self.scratch_inv)
            .is_err()
        {
            return (0.0, 0.0);
        }
        // acf[i] = M · r(i/2).
        let scale = 1.0 / self.fft_len as f32;

        // m(τ) = Σ_{j<L−τ} (x_j² + x_{j+τ}²) at integer lags.
        let l = self.window;
        let mut m = 2.0 * energy;
        for (tau, slot) in self.overlap_energy.iter_mut().enumerate() {
            *slot = m.max(0.0);
            let a = self.frame[tau];
            let b = self.frame[l - 1 - tau];
            m -= a * a + b * b;
        }

        match self.algorithm {
            PitchAlgorithm::Mpm => self.mpm(scale),
            PitchAlgorithm::Yin => self.yin(scale),
        }
    }

    /// m(i/2), linearly interpolated between integer lags.
    #[inline]
    fn overlap_at_half(&self, i: usize) -> f32 {
        let t = i / 2;
        if i % 2 == 0 {
            self.overlap_energy[t]
        } else {
            0.5 * (self.overlap_energy[t] + self.overlap_energy[t + 1])
        }
    }

    /// NSDF n(τ) = 2 r(τ) / m(τ); the first key maximum within [`MPM_K`] of the highest.
    fn mpm(&mut self, scale: f32) -> (f32, f32) {
        for i in 0..self.curve.len() {
            let m = self.overlap_at_half(i);
            let r = self.acf[i] * scale;
            self.curve[i] = if m > 0.0 { 2.0 * r / m } else { 0.0 };
        }
        let nsdf = &self.curve;
        let lo = 2 * self.min_lag;
        let hi = nsdf.len() - 1;

        // Pass 1: highest key maximum. Pass 2: first key maximum >= MPM_K × highest.
        let mut best = f32::NEG_INFINITY;
        for_each_key_max(nsdf, lo, hi, |_, _, v| best = best.max(v));
        if best <= 0.0 {
            return (0.0, 0.0);
        }
        let cut = MPM_K * best;
        let mut chosen = None;
        for_each_key_max(nsdf, lo, hi, |i, offset, v| {
            if chosen.is_none() && v >= cut {
                chosen = Some((i as f32 + offset, v));
            }
        });
        match chosen {
            Some((index, value)) => (0.5 * index, value),
            None => (0.0, 0.0),
        }
    }

    /// YIN on the full-overlap difference d(τ) = m(τ) − 2 r(τ), normalized per lag by its
    /// length, then cumulative-mean normalized; first dip under [`YIN_THRESHOLD`].
    fn yin(&mut self, scale: f32) -> (f32, f32) {
        let l = self.window as f32;
        let mut running = 0.0f32;
        self.curve[0] = 1.0;
        for i in 1..self.curve.len() {
            let m = self.overlap_at_half(i);
            let r = self.acf[i] * scale;
            let d = ((m - 2.0 * r) / (l - 0.5 * i as f32)).max(0.0);
            running += d;
            self.curve[i] = if running > 0.0 {
                d * i as f32 / running
            } else {
                1.0
            };
        }
        let cmndf = &self.curve;
        let lo = 2 * self.min_lag;
        let hi = 2 * self.max_lag;
        let mut i = lo;
        let mut found = 0;
        while i <= hi {
            if cmndf[i] < YIN_THRESHOLD {
                while i < hi && cmndf[i + 1] < cmndf[i] {
                    i += 1;
                }
                found = i;
                break;
            }
            i += 1;
        }
        if found == 0 {
            // No dip under the threshold: the global minimum, reported with low confidence.
            let mut best = f32::INFINITY;
            for (t, &v) in cmndf.iter().enumerate().take(hi + 1).skip(lo) {
                if v < best {
                    best = v;
                    found = t;
                }
            }
        }
        let (offset, value) = parabolic_peak(-cmndf[found - 1], -cmndf[found], -cmndf[found + 1]);
        (0.5 * (found as f32 + offset), 1.0 + value)
    }
}

/// Calls `f(index, offset, value)` for each key maximum of `nsdf` (the highest point of each
/// positive lobe after the first negative-going zero crossing) whose index lies in
/// `[lo, hi)` and which is a true interior maximum; `offset` and `value` are its parabolic
/// refinement.
fn for_each_key_max(nsdf: &[f32], lo: usize, hi: usize, mut f: impl FnMut(usize, f32, f32)) {
    let mut t = 1;
    // Skip the lobe around lag 0.
    while t < hi && nsdf[t] > 0.0 {
        t += 1;
    }
    loop {
        while t < hi && nsdf[t] <= 0.0 {
            t += 1;
        }
        if t >= hi {
            return;
        }
        let mut peak = t;
        while t < hi && nsdf[t] > 0.0 {
            if nsdf[t] > nsdf[peak] {
                peak = t;
            }
            t += 1;
        }
        // A lobe cut off at `hi` counts only if its maximum is interior.
        let interior = peak + 1 < hi || nsdf[hi] < nsdf[peak];
        if peak >= lo && interior {
            let (offset, value) = parabolic_peak(nsdf[peak - 1], nsdf[peak], nsdf[peak + 1]);
            f(peak, offset, value);
        }
        if t >= hi {
            return;
        }
    }
}

/// Vertex of the parabola through (−1, a), (0, b), (1, c): (offset in [−0.5, 0.5], value).
fn parabolic_peak(a: f32, b: f32, c: f32) -> (f32, f32) {
    let curvature = a - 2.0 * b + c;
    if curvature >= 0.0 || !curvature.is_finite() {
        return (0.0, b);
    }
    let offset = (0.5 * (a - c) / curvature).clamp(-0.5, 0.5);
    let value = b - 0.25 * (a - c) * offset;
    (offset, value)
}
