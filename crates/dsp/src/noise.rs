//! Filtered noise: white noise shaped by band magnitudes defined in Hz.
//!
//! The decoder gives `n_bands` magnitudes at frequencies spread linearly from 0 Hz to
//! `band_top_hz` (the model's Nyquist, 8 kHz for a 16 kHz model). The magnitude response
//! `H(f)` interpolates them linearly and is zero above `band_top_hz`.
//!
//! ## Method: frequency-sampling in short-time frames, overlap-added
//! Filtering white noise by a frequency-sampled filter multiplies the noise's spectrum by
//! `H(f_k)` bin by bin. The DFT of a frame of white noise is itself white (independent bins), so
//! each frame draws its noise spectrum directly, multiplies it by `H`, and takes one inverse real
//! FFT (a complex one of half the size, [`crate::real_fft`]). The draws come from eight random
//! streams stepped together ([`NoiseLanes`]), straight into the spectrum's layout.
//! Frames of `F` samples are windowed by a sine window (the square root of a
//! periodic Hann) and overlap-added at hop `F/2`; the squared windows sum to 1, so the output is
//! stationary noise with power spectral density `σ²·|H(f)|²`. This costs one inverse FFT per
//! `F/2` output samples instead of the forward FFT, product and inverse FFT of FIR
//! overlap-add, and is statistically the same signal.
//!
//! `F` is the power of two nearest to 10 ms at the output rate (512 at 44.1 and 48 kHz), which
//! gives bins of about 94 Hz at 48 kHz against DDSP's 125 Hz band spacing. A new set of
//! magnitudes is heard from the next frame on; the envelope lags by about `F/2` samples
//! ([`FilteredNoise::envelope_delay_samples`]).
//!
//! ## The same spectrum at any rate
//! The noise variance is scaled by `fs / (2 · band_top_hz)` so that the power per Hz below
//! `band_top_hz` is the same at every output rate (the plain DDSP recipe would make a 48 kHz
//! render 4.8 dB quieter than a 16 kHz one). At the model rate, the noise is uniform in
//! `[-1, 1)` before filtering, as in DDSP.
//!
//! [`FilteredNoise::set_magnitudes`] and [`FilteredNoise::process`] never allocate, lock or log.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

use crate::as_floats;
use crate::real_fft::{re_index, RealFft, LANES};
use crate::rng::{NoiseLanes, NOISE_LANES};
use crate::smooth::sanitize;

/// Most bands a noise filter can have.
pub const MAX_BANDS: usize = 1024;

/// A streaming filtered-noise generator.
pub struct FilteredNoise {
    /// Output sample rate in Hz.
    sample_rate: f64,
    /// Number of band magnitudes expected by [`FilteredNoise::set_magnitudes`].
    n_bands: usize,
    /// Frequency of the last band, in Hz.
    band_top_hz: f32,
    /// Frame length `F` (a power of two).
    frame_len: usize,
    /// Inverse real FFT of size `F`.
    inverse: RealFft,
    /// Whether the AVX2 builds run (the CPU has AVX2 and FMA).
    simd: bool,
    /// The band magnitudes last set (sanitized, `n_bands`).
    magnitudes: Vec<f32>,
    /// Whether `response` still has to be worked out from `magnitudes` (the next frame does
    /// it: magnitudes may be set many times per frame, and only the last set is heard).
    response_stale: bool,
    /// Each bin's response `H(f_k)` from the band magnitudes: `band[i]·w0 + band[i + 1]·w1`
    /// (`(i, w0, w1)`; zero weights above `band_top_hz`), fixed by the rates.
    interpolation: Vec<(usize, f32, f32)>,
    /// The magnitude response at each bin (`F/2 + 1`, padded with zeros to whole chunks): a
    /// pass of its own, so the scaling into `gains` vectorizes (one loop over both costs the
    /// noise a fifth more instructions).
    response: Vec<f32>,
    /// The scale of each random part in the spectrum's layout (0 for the imaginary parts of
    /// DC and Nyquist, which are real, and for the padding).
    part_scales: Vec<f32>,
    /// The response times the part scales, in the spectrum's layout.
    gains: Vec<f32>,
    /// Spectrum of the frame being made ([`crate::real_fft`]'s chunked layout).
    spectrum: Vec<f32>,
    /// Scratch for the inverse FFT: its input, and work space.
    spec: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Time-domain frame, as sample pairs.
    frame: Vec<Complex<f32>>,
    /// Synthesis window (sine), length `F`.
    window: Vec<f32>,
    /// Overlap-add accumulator, length `F`; its first `F/2` samples are the next output.
    overlap: Vec<f32>,
    /// Output samples of the current hop already played.
    played: usize,
    /// Noise source.
    rng: NoiseLanes,
    /// Seed, kept for `reset`.
    seed: u32,
}

impl FilteredNoise {
    /// A silent generator for `n_bands` magnitudes spread from 0 to `band_top_hz`, at
    /// `sample_rate`. Allocates its buffers and plans the FFT.
    pub fn new(sample_rate: f64, n_bands: usize, band_top_hz: f32, seed: u32) -> Self {
        let n_bands = n_bands.clamp(2, MAX_BANDS);
        let frame_len = (sample_rate * 0.010).max(16.0).log2().round().exp2() as usize;
        let half = frame_len / 2;
        let inverse = RealFft::new(half, &mut FftPlanner::new());
        let row = inverse.row_len();
        debug_assert!(row.is_multiple_of(NOISE_LANES));
        let window = (0..frame_len)
            .map(|n| (core::f64::consts::PI * (n as f64 + 0.5) / frame_len as f64).sin() as f32)
            .collect();
        // Per-sample variance of the unfiltered noise: 1/3 (uniform in [-1, 1)) at the model
        // rate, scaled so the power per Hz is rate-independent.
        let variance = (1.0 / 3.0) * sample_rate / (2.0 * band_top_hz as f64);
        // The unnormalised inverse FFT of white bins with E|Z|² = F·σ², divided by F, gives
        // samples of variance σ²·mean|H|². Uniform parts in [-1, 1) have variance 1/3 each.
        let f = frame_len as f64;
        let bin_scale = ((f * variance * 1.5).sqrt() / f) as f32;
        let edge_scale = ((f * variance * 3.0).sqrt() / f) as f32;
        let bin_hz = sample_rate / frame_len as f64;
        let bands_per_hz = (n_bands - 1) as f64 / band_top_hz as f64;
        let last = n_bands - 1;
        let interpolation = (0..=half)
            .map(|k| {
                let position = (k as f64 * bin_hz * bands_per_hz) as f32;
                if position > last as f32 {
                    (0, 0.0, 0.0)
                } else {
                    let i = (position as usize).min(last - 1);
                    let t = position - i as f32;
                    (i, 1.0 - t, t)
                }
            })
            .collect();
        let mut part_scales = vec![0.0; row];
        for k in 0..=half {
            let edge = k == 0 || k == half;
            part_scales[re_index(k)] = if edge { edge_scale } else { bin_scale };
            part_scales[re_index(k) + LANES] = if edge { 0.0 } else { bin_scale };
        }
        let mut noise = Self {
            sample_rate,
            n_bands,
            band_top_hz,
            frame_len,
            scratch: vec![Complex::new(0.0, 0.0); inverse.scratch_len()],
            inverse,
            simd: timbre_simd::has_avx2_fma(),
            magnitudes: vec![0.0; n_bands],
            response_stale: false,
            interpolation,
            response: vec![0.0; row / 2],
            part_scales,
            gains: vec![0.0; row],
            spectrum: vec![0.0; row],
            spec: vec![Complex::new(0.0, 0.0); half],
            frame: vec![Complex::new(0.0, 0.0); half],
            window,
            overlap: vec![0.0; frame_len],
            played: frame_len / 2,
            rng: NoiseLanes::new(seed),
            seed,
        };
        noise.reset();
        noise
    }

    /// Silences the generator and restarts its noise sequence.
    pub fn reset(&mut self) {
        self.magnitudes.iter_mut().for_each(|m| *m = 0.0);
        self.response.fill(0.0);
        self.gains.fill(0.0);
        self.response_stale = false;
        self.overlap.iter_mut().for_each(|x| *x = 0.0);
        self.played = self.frame_len / 2;
        self.rng = NoiseLanes::new(self.seed);
    }

    /// The output sample rate in Hz.
    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// The number of band magnitudes the generator expects.
    pub fn n_bands(&self) -> usize {
        self.n_bands
    }

    /// The centre frequency of band `i` in Hz.
    pub fn band_hz(&self, i: usize) -> f32 {
        self.band_top_hz * i as f32 / (self.n_bands - 1) as f32
    }

    /// The frame length `F` in samples.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    /// How many samples a change of magnitudes takes to reach the middle of the output's
    /// envelope (half a frame).
    pub fn envelope_delay_samples(&self) -> usize {
        self.frame_len / 2
    }

    /// Sets the band magnitudes (linear amplitude, one per band; missing bands read as 0,
    /// non-finite or negative values as 0). Heard from the next frame on.
    pub fn set_magnitudes(&mut self, magnitudes: &[f32]) {
        let given = magnitudes.len().min(self.magnitudes.len());
        let (set, missing) = self.magnitudes.split_at_mut(given);
        for (m, &x) in set.iter_mut().zip(magnitudes) {
            *m = sanitize(x).max(0.0);
        }
        missing.fill(0.0);
        self.response_stale = true;
    }

    /// Draws the frame's noise spectrum: independent uniform real and imaginary parts in
    /// every bin (real at DC and Nyquist), times the response.
    #[inline(always)]
    fn draw_spectrum(&mut self) {
        self.rng.fill_bipolar(&mut self.spectrum);
        for (z, &g) in self.spectrum.iter_mut().zip(&self.gains) {
            *z *= g;
        }
    }

    /// Works out the magnitude response at every bin from the band magnitudes, and the
    /// gains of the spectrum's parts from it.
    #[inline(always)]
    fn update_response(&mut self) {
        let band = &self.magnitudes;
        for (h, &(i, w0, w1)) in self.response.iter_mut().zip(&self.interpolation) {
            *h = band[i] * w0 + band[i + 1] * w1;
        }
        let chunks = self.gains.chunks_exact_mut(2 * LANES);
        let scales = self.part_scales.chunks_exact(2 * LANES);
        for ((gains, scales), response) in chunks.zip(scales).zip(self.response.chunks(LANES)) {
            for (l, &h) in response.iter().enumerate() {
                gains[l] = h * scales[l];
                gains[LANES + l] = h * scales[LANES + l];
            }
        }
    }

    /// Writes the next `out.len()` samples into `out` (overwriting it).
    pub fn process(&mut self, out: &mut [f32]) {
        let hop = self.frame_len / 2;
        let mut done = 0;
        while done < out.len() {
            if self.played == hop {
                self.next_frame();
            }
            let n = (hop - self.played).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.overlap[self.played..self.played + n]);
            self.played += n;
            done += n;
        }
    }

    /// Shifts the overlap buffer by one hop and adds a new windowed frame.
    fn next_frame(&mut self) {
        #[cfg(target_arch = "x86_64")]
        if self.simd {
            // SAFETY: `simd` is only true when the CPU supports AVX2 and FMA.
            unsafe { self.next_frame_avx2() };
            return;
        }
        self.next_frame_impl();
    }

    /// [`Self::next_frame_impl`] compiled for AVX2 (the same frame to float rounding: the
    /// inverse FFT's split fuses multiply-adds there).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn next_frame_avx2(&mut self) {
        self.next_frame_impl()
    }

    #[inline(always)]
    fn next_frame_impl(&mut self) {
        if self.response_stale {
            self.update_response();
            self.response_stale = false;
        }
        self.draw_spectrum();
        let hop = self.frame_len / 2;
        self.overlap.copy_within(hop.., 0);
        self.overlap[hop..].iter_mut().for_each(|x| *x = 0.0);
        let (spec, scratch) = (&mut self.spec, &mut self.scratch);
        self.inverse.inverse(
            &mut self.spectrum,
            spec,
            scratch,
            &mut self.frame,
            self.simd,
        );
        let frame = as_floats(&self.frame);
        for ((acc, x), w) in self.overlap.iter_mut().zip(frame).zip(&self.window) {
            *acc += x * w;
        }
        self.played = 0;
    }
}
