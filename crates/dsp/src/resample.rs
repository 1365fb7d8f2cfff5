//! Host rate → analysis rate, one hop at a time, with a known fixed delay.
//!
//! [`AnalysisResampler`] wraps rubato's asynchronous sinc resampler (`Async::new_sinc`) with
//! a fixed *output* chunk of exactly one hop (`FixedAsync::Output`, 64 analysis samples by
//! default), so every rubato call yields one hop. Host samples are staged in a buffer until
//! the `input_frames_next()` samples that call asks for are there; the calls, and so the
//! hops and the host positions at which they complete, do not depend on how the host cuts
//! its stream into blocks. At equal rates (16 kHz in, 16 kHz out, the offline path of
//! training) rubato is bypassed and samples pass through exactly.
//!
//! # Filter
//!
//! Blackman-Harris windowed sinc, at least 32 taps counted at the lower of the two rates
//! (rounded up to a multiple of 8: 96 input taps at 48 and at 44.1 kHz) and a cutoff at 0.9 of the lower Nyquist frequency
//! (7.2 kHz at 16 kHz), given explicitly so that every host rate gets the same response
//! (rubato's automatic cutoff assumes the length is counted at the input rate). Measured
//! through 22.05 to 192 kHz: flat to 0.1 dB up to 6 kHz, −4 dB at 7 kHz, aliases of
//! 8.5 kHz (folding to 7.5 kHz) at −44 dB and of anything above 9 kHz below −85 dB. The
//! analysis needs no more: pitch uses the band below 3.2 kHz, and the A-weighted loudness
//! is dominated by 0.5–5 kHz. Longer filters (48 taps: −1.5 dB at 7 kHz) cost the same CPU
//! but add 0.5 ms latency per 16 taps.
//!
//! When the rate ratio is a fraction `p/q` with `q <= 512` (every common rate: 48 kHz gives
//! `q = 1`, 44.1 kHz `q = 160`, 37 kHz `q = 16`), every output sample falls on one of `q`
//! sub-sample positions, so the sinc table is built with `q` phases and `Nearest`
//! interpolation picks the exact one. Other ratios use 256 phases with linear interpolation.
//!
//! # Delay
//!
//! An event at host time 0 appears in the analysis stream at analysis sample
//! [`AnalysisResampler::delay_analysis_samples`] `= ratio·(n/2 − 1/f) − 1` (`n` the sinc
//! length, `f` the number of phases, `ratio = analysis/host`): 14.67 samples (0.92 ms) at
//! 48 kHz, 16.41 (1.03 ms) at 44.1 kHz. The formula follows rubato's indexing (its
//! `output_delay()` truncates `n·ratio/2` to 16, 1.3 samples off at 48 kHz) and is checked
//! against the phase of a sine and the peak of a click in tests/analysis.rs to 0.01 samples.
//!
//! # Real-time safety
//!
//! [`AnalysisResampler::new`] builds the sinc table and every buffer. [`AnalysisResampler::process`]
//! copies into the preallocated staging buffer and calls rubato's `process_into_buffer`,
//! which allocates nothing; adapters over slices are plain structs. Nothing is allocated,
//! locked or logged. NaN and ±Inf read as 0, denormals are flushed to 0, and samples beyond
//! ±1000 are clamped so nothing downstream overflows.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

/// Lowest host or analysis rate accepted, in Hz.
pub const MIN_RATE_HZ: f64 = 1_000.0;
/// Highest host or analysis rate accepted, in Hz.
pub const MAX_RATE_HZ: f64 = 2_000_000.0;

/// Length of the anti-aliasing sinc, counted in samples of the lower of the two rates.
const SINC_LEN_LOW_RATE: f64 = 32.0;
/// Cutoff of the anti-aliasing sinc relative to the lower rate's Nyquist frequency.
const CUTOFF: f32 = 0.9;
/// Largest oversampling factor used for an exact (rational ratio) sinc table.
const MAX_EXACT_OVERSAMPLING: u64 = 512;
/// Oversampling factor of the sinc table when the ratio has no small exact form.
const GENERIC_OVERSAMPLING: usize = 256;
/// Input samples are clamped to ±this (60 dB over full scale) so nothing downstream overflows.
const MAX_ABS_SAMPLE: f32 = 1_000.0;

/// Why an [`AnalysisResampler`] could not be built.
#[derive(Clone, Debug, PartialEq)]
pub enum ResampleError {
    /// The host rate is not finite or lies outside [`MIN_RATE_HZ`, `MAX_RATE_HZ`].
    InvalidHostRate(f64),
    /// The analysis rate is not finite or lies outside [`MIN_RATE_HZ`, `MAX_RATE_HZ`].
    InvalidAnalysisRate(f64),
    /// The hop is 0.
    InvalidHop(usize),
    /// rubato refused the configuration (its message).
    Construction(String),
}

impl std::fmt::Display for ResampleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidHostRate(r) => write!(
                f,
                "host sample rate {r} Hz is outside {MIN_RATE_HZ}..={MAX_RATE_HZ} Hz"
            ),
            Self::InvalidAnalysisRate(r) => write!(
                f,
                "analysis sample rate {r} Hz is outside {MIN_RATE_HZ}..={MAX_RATE_HZ} Hz"
            ),
            Self::InvalidHop(h) => write!(f, "hop of {h} samples is invalid (must be > 0)"),
            Self::Construction(msg) => write!(f, "resampler construction failed: {msg}"),
        }
    }
}

impl std::error::Error for ResampleError {}

/// Makes a host sample safe for analysis: NaN/Inf and denormals become 0, huge values are
/// clamped to ±[`MAX_ABS_SAMPLE`].
#[inline]
fn sanitize(x: f32) -> f32 {
    if x.is_finite() && x.abs() >= f32::MIN_POSITIVE {
        x.clamp(-MAX_ABS_SAMPLE, MAX_ABS_SAMPLE)
    } else {
        0.0
    }
}

fn valid_rate(rate: f64) -> bool {
    rate.is_finite() && (MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate)
}

/// If `rate` is a whole number of Hz, that number.
fn whole_hz(rate: f64) -> Option<u64> {
    (rate.fract() == 0.0).then_some(rate as u64)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Converts a mono host stream to the analysis rate and hands it out in hops.
pub struct AnalysisResampler {
    host_rate: f64,
    analysis_rate: f64,
    hop: usize,
    /// `None`: the rates are equal and samples pass through untouched.
    inner: Option<Async<f32>>,
    /// Host samples waiting for the next rubato call (or the next hop, when passing through).
    pending: Vec<f32>,
    /// How many of `pending` are filled.
    filled: usize,
    /// How many `pending` samples the next call needs.
    needed: usize,
    /// One hop of analysis samples.
    out: Vec<f32>,
    /// Delay of the analysis stream behind the host stream, in analysis samples.
    delay: f64,
}

impl std::fmt::Debug for AnalysisResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisResampler")
            .field("host_rate", &self.host_rate)
            .field("analysis_rate", &self.analysis_rate)
            .field("hop", &self.hop)
            .field("passthrough", &self.inner.is_none())
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

impl AnalysisResampler {
    /// A resampler from `host_rate` to `analysis_rate` (both in Hz, within
    /// [`MIN_RATE_HZ`, `MAX_RATE_HZ`]) that emits `hop` analysis samples at a time.
    /// Allocates (builds the sinc tables and buffers).
    pub fn new(host_rate: f64, analysis_rate: f64, hop: usize) -> Result<Self, ResampleError> {
        if !valid_rate(host_rate) {
            return Err(ResampleError::InvalidHostRate(host_rate));
        }
        if !valid_rate(analysis_rate) {
            return Err(ResampleError::InvalidAnalysisRate(analysis_rate));
        }
        if hop == 0 {
            return Err(ResampleError::InvalidHop(hop));
        }
        if host_rate == analysis_rate {
            return Ok(Self {
                host_rate,
                analysis_rate,
                hop,
                inner: None,
                pending: vec![0.0; hop],
                filled: 0,
                needed: hop,
                out: vec![0.0; hop],
                delay: 0.0,
            });
        }
        let ratio = analysis_rate / host_rate;
        let (sinc_len, interpolation, oversampling) = Self::filter_design(host_rate, analysis_rate);
        let params = SincInterpolationParameters::new(sinc_len, WindowFunction::BlackmanHarris)
            .f_cutoff(CUTOFF)
            .oversampling_factor(oversampling)
            .interpolation(interpolation);
        let inner = Async::<f32>::new_sinc(ratio, 1.0, &params, hop, 1, FixedAsync::Output)
            .map_err(|e| ResampleError::Construction(e.to_string()))?;
        let pending = vec![0.0; inner.input_frames_max()];
        let needed = inner.input_frames_next();
        let delay = Self::exact_delay(sinc_len.next_multiple_of(8), oversampling, ratio);
        Ok(Self {
            host_rate,
            analysis_rate,
            hop,
            inner: Some(inner),
            pending,
            filled: 0,
            needed,
            out: vec![0.0; hop],
            delay,
        })
    }

    /// Sinc length (input samples), interpolation type and oversampling factor for a pair of
    /// rates.
    fn filter_design(host_rate: f64, analysis_rate: f64) -> (usize, SincInterpolationType, usize) {
        let ratio = analysis_rate / host_rate;
        let sinc_len = (SINC_LEN_LOW_RATE * (1.0 / ratio).max(1.0)).ceil() as usize;
        let sinc_len = sinc_len.next_multiple_of(8);
        // Output sample k sits at input position k·host/analysis = k·p/q: with q sub-positions
        // per input sample the nearest precomputed sinc is the exact one.
        if let (Some(h), Some(a)) = (whole_hz(host_rate), whole_hz(analysis_rate)) {
            let q = a / gcd(h, a);
            if q <= MAX_EXACT_OVERSAMPLING {
                return (sinc_len, SincInterpolationType::Nearest, q as usize);
            }
        }
        (
            sinc_len,
            SincInterpolationType::Linear,
            GENERIC_OVERSAMPLING,
        )
    }

    /// The delay (in output samples) of rubato's `Async` sinc resampler with an `n`-point
    /// sinc: output sample `k` is the input evaluated at input time `(k + 1)/ratio − n/2 + 1/f`
    /// (`f` the oversampling factor), so an input event at time 0 appears at output
    /// `ratio·(n/2 − 1/f) − 1`.
    fn exact_delay(n: usize, oversampling: usize, ratio: f64) -> f64 {
        ratio * (n as f64 / 2.0 - 1.0 / oversampling as f64) - 1.0
    }

    /// The host rate in Hz.
    pub fn host_rate(&self) -> f64 {
        self.host_rate
    }

    /// The analysis rate in Hz.
    pub fn analysis_rate(&self) -> f64 {
        self.analysis_rate
    }

    /// Analysis samples per hop.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// Whether host and analysis rates are equal (samples pass through untouched).
    pub fn is_passthrough(&self) -> bool {
        self.inner.is_none()
    }

    /// The fixed delay of the analysis stream behind the host stream, in analysis samples:
    /// an input event at host time `t` (seconds) shows up in the analysis stream at analysis
    /// sample `t·analysis_rate + delay`. 0 when passing through.
    pub fn delay_analysis_samples(&self) -> f64 {
        self.delay
    }

    /// [`Self::delay_analysis_samples`] in host samples.
    pub fn delay_host_samples(&self) -> f64 {
        self.delay * self.host_rate / self.analysis_rate
    }

    /// The most host samples a single internal call consumes (the size of the staging
    /// buffer).
    pub fn max_input_frames(&self) -> usize {
        self.pending.len()
    }

    /// Clears all state, as if freshly built. Allocates nothing.
    pub fn reset(&mut self) {
        self.filled = 0;
        self.pending.fill(0.0);
        self.out.fill(0.0);
        if let Some(inner) = self.inner.as_mut() {
            inner.reset();
            self.needed = inner.input_frames_next();
        } else {
            self.needed = self.hop;
        }
    }

    /// Feeds `input` (host samples) and calls `on_hop(consumed, hop)` each time `hop`
    /// analysis samples are complete, where `consumed` is how many samples of `input` had
    /// been taken in at that moment. Non-finite samples count as 0.
    ///
    /// The hops and their positions do not depend on how the stream is cut into blocks:
    /// rubato is always called with exactly the `input_frames_next()` samples it asks for.
    /// Allocates nothing.
    pub fn process(&mut self, input: &[f32], mut on_hop: impl FnMut(usize, &[f32])) {
        let mut pos = 0;
        while pos < input.len() {
            let take = (self.needed - self.filled).min(input.len() - pos);
            for (dst, &x) in self.pending[self.filled..self.filled + take]
                .iter_mut()
                .zip(&input[pos..pos + take])
            {
                *dst = sanitize(x);
            }
            pos += take;
            self.filled += take;
            if self.filled < self.needed {
                break;
            }
            match self.inner.as_mut() {
                None => on_hop(pos, &self.pending[..self.hop]),
                Some(inner) => {
                    let ok = match (
                        InterleavedSlice::new(&self.pending[..], 1, self.needed),
                        InterleavedSlice::new_mut(&mut self.out[..], 1, self.hop),
                    ) {
                        (Ok(src), Ok(mut dst)) => {
                            inner.process_into_buffer(&src, &mut dst, None).is_ok()
                        }
                        _ => false,
                    };
                    if !ok {
                        self.out.fill(0.0);
                    }
                    self.needed = inner.input_frames_next();
                    on_hop(pos, &self.out);
                }
            }
            self.filled = 0;
        }
    }
}
