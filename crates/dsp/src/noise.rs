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
//! FFT (realfft). The draws come from eight random streams stepped together ([`NoiseLanes`]).
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

use std::sync::Arc;

use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner};

use crate::as_floats_mut;
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
    inverse: Arc<dyn ComplexToReal<f32>>,
    /// The band magnitudes last set (sanitized, `n_bands`).
    magnitudes: Vec<f32>,
    /// Whether `response` still has to be worked out from `magnitudes` (the next frame does
    /// it: magnitudes may be set many times per frame, and only the last set is heard).
    response_stale: bool,
    /// Magnitude response at each of the `F/2 + 1` bins.
    response: Vec<f32>,
    /// Spectrum of the frame being made.
    spectrum: Vec<Complex32>,
    /// Time-domain frame.
    frame: Vec<f32>,
    /// Scratch for the inverse FFT.
    scratch: Vec<Complex32>,
    /// Synthesis window (sine), length `F`.
    window: Vec<f32>,
    /// Overlap-add accumulator, length `F`; its first `F/2` samples are the next output.
    overlap: Vec<f32>,
    /// Output samples of the current hop already played.
    played: usize,
    /// Noise source.
    rng: NoiseLanes,
    /// The frame's random draws (real and imaginary part of every bin, rounded up to
    /// [`NOISE_LANES`]).
    draws: Vec<f32>,
    /// Seed, kept for `reset`.
    seed: u32,
    /// Scale of the random bins (real and imaginary parts), and of the real DC/Nyquist bins.
    bin_scale: f32,
    edge_scale: f32,
}

impl FilteredNoise {
    /// A silent generator for `n_bands` magnitudes spread from 0 to `band_top_hz`, at
    /// `sample_rate`. Allocates its buffers and plans the FFT.
    pub fn new(sample_rate: f64, n_bands: usize, band_top_hz: f32, seed: u32) -> Self {
        let n_bands = n_bands.clamp(2, MAX_BANDS);
        let frame_len = (sample_rate * 0.010).max(16.0).log2().round().exp2() as usize;
        let inverse = RealFftPlanner::<f32>::new().plan_fft_inverse(frame_len);
        let bins = frame_len / 2 + 1;
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
        let mut noise = Self {
            sample_rate,
            n_bands,
            band_top_hz,
            frame_len,
            scratch: inverse.make_scratch_vec(),
            inverse,
            magnitudes: vec![0.0; n_bands],
            response_stale: false,
            response: vec![0.0; bins],
            spectrum: vec![Complex32::new(0.0, 0.0); bins],
            frame: vec![0.0; frame_len],
            window,
            overlap: vec![0.0; frame_len],
            played: frame_len / 2,
            rng: NoiseLanes::new(seed),
            draws: vec![0.0; (2 * bins).next_multiple_of(NOISE_LANES)],
            seed,
            bin_scale,
            edge_scale,
        };
        noise.reset();
        noise
    }

    /// Silences the generator and restarts its noise sequence.
    pub fn reset(&mut self) {
        self.magnitudes.iter_mut().for_each(|m| *m = 0.0);
        self.response.iter_mut().for_each(|h| *h = 0.0);
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
        for (i, m) in self.magnitudes.iter_mut().enumerate() {
            *m = magnitudes
                .get(i)
                .copied()
                .map_or(0.0, |m| sanitize(m).max(0.0));
        }
        self.response_stale = true;
    }

    /// [`Self::draw_spectrum`] compiled for AVX2 (the same bits: no multiply-add is fused).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn draw_spectrum_avx2(&mut self) {
        self.draw_spectrum()
    }

    /// Draws the frame's noise spectrum: independent uniform real and imaginary parts in
    /// every bin (real at DC and Nyquist), times the response.
    #[inline(always)]
    fn draw_spectrum(&mut self) {
        self.rng.fill_bipolar(&mut self.draws);
        let parts = as_floats_mut(&mut self.spectrum);
        for ((z, d), &h) in parts
            .chunks_exact_mut(2)
            .zip(self.draws.chunks_exact(2))
            .zip(&self.response)
        {
            let g = self.bin_scale * h;
            z[0] = d[0] * g;
            z[1] = d[1] * g;
        }
        let last = self.spectrum.len() - 1;
        for k in [0, last] {
            let d = self.draws[2 * k];
            self.spectrum[k] = Complex32::new(d * self.edge_scale * self.response[k], 0.0);
        }
    }

    /// Works out the magnitude response at every bin from the band magnitudes.
    fn update_response(&mut self) {
        let bin_hz = (self.sample_rate / self.frame_len as f64) as f32;
        let bands_per_hz = (self.n_bands - 1) as f32 / self.band_top_hz;
        let last = self.n_bands - 1;
        let band = &self.magnitudes;
        for (k, h) in self.response.iter_mut().enumerate() {
            let position = k as f32 * bin_hz * bands_per_hz;
            *h = if position > last as f32 {
                0.0
            } else {
                let i = (position as usize).min(last - 1);
                let t = position - i as f32;
                band[i] * (1.0 - t) + band[i + 1] * t
            };
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
        if self.response_stale {
            self.update_response();
            self.response_stale = false;
        }
        #[cfg(target_arch = "x86_64")]
        if timbre_simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at run time just above).
            unsafe { self.draw_spectrum_avx2() };
        } else {
            self.draw_spectrum();
        }
        #[cfg(not(target_arch = "x86_64"))]
        self.draw_spectrum();
        let hop = self.frame_len / 2;
        self.overlap.copy_within(hop.., 0);
        self.overlap[hop..].iter_mut().for_each(|x| *x = 0.0);
        // The spectrum's DC and Nyquist bins are real, so the inverse cannot fail.
        let _ = self.inverse.process_with_scratch(
            &mut self.spectrum,
            &mut self.frame,
            &mut self.scratch,
        );
        for ((acc, x), w) in self.overlap.iter_mut().zip(&self.frame).zip(&self.window) {
            *acc += x * w;
        }
        self.played = 0;
    }
}
