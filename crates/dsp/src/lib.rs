//! Real-time DSP blocks of Tiny Timbre.
//!
//! Every block follows one contract: it allocates only in its constructor (or a
//! `prepare`-style call that says so in its docs), and its processing methods take
//! `&mut self` plus slices and never allocate, lock, log or do I/O. That makes each block
//! safe to run on a plugin's audio thread.
//!
//! The blocks, in the order the signal meets them:
//! - [`resample`]: any host rate down (or up) to the analysis rate, with a known delay;
//! - [`pitch`]: f0 in Hz plus a voicing confidence, once per hop;
//! - [`loudness`]: A-weighted power in dB, once per hop;
//! - [`analysis`]: the three above glued together, host samples in, frames out;
//! - [`harmonic`]: a bank of up to [`harmonic::MAX_HARMONICS`] phase-continuous harmonics;
//! - [`noise`]: white noise shaped by band magnitudes defined in Hz;
//! - [`reverb`]: partitioned FFT convolution with zero added latency;
//! - [`decorrelate`]: a velvet-noise decorrelator for the reverb's stereo side;
//! - [`smooth`]: parameter smoothers and the NaN/Inf/denormal guard;
//! - [`transcribe`]: notes (on, off, pitch bend) from analysis frames, for MIDI out.

pub mod analysis;
pub mod decorrelate;
pub mod harmonic;
pub mod loudness;
pub mod noise;
pub mod offline;
pub mod pitch;
mod real_fft;
pub mod resample;
pub mod reverb;
pub mod rng;
pub mod smooth;
pub mod transcribe;

/// Lowest fundamental frequency the pitch tracker reports, in Hz.
pub const MIN_F0_HZ: f32 = 50.0;
/// Highest fundamental frequency the pitch tracker reports, in Hz.
pub const MAX_F0_HZ: f32 = 2000.0;
/// Loudness floor in dB (DDSP's definition): anything quieter reads as this value.
pub const LOUDNESS_FLOOR_DB: f32 = -80.0;

/// The real and imaginary parts of `x`, in order, as floats (`Complex<f32>` is two `f32`s).
pub(crate) fn as_floats(x: &[rustfft::num_complex::Complex<f32>]) -> &[f32] {
    bytemuck::cast_slice(x)
}

/// The real and imaginary parts of `x`, in order, as writable floats.
pub(crate) fn as_floats_mut(x: &mut [rustfft::num_complex::Complex<f32>]) -> &mut [f32] {
    bytemuck::cast_slice_mut(x)
}
