//! Hand-set synth controls: a person drives the oscillator bank and the noise filter instead
//! of the network (the web page's "inside the synth" panel).
//!
//! A [`ManualControls`] frame has the same shape and scale as the decoder's output
//! ([`timbre_model::Controls`]): an overall harmonic amplitude, a harmonic distribution (not
//! normalized; the voice normalizes it exactly as it does the decoder's) and noise band
//! magnitudes. While [`crate::Engine::set_manual`] is on, every frame uses it in place of the
//! decoder's output. The decoder keeps running, so its output stays live for meters
//! ([`crate::Engine::decoder_output`]) and switching back is seamless. The pitch still follows
//! the input (or the notes), and the gate, the gains and the reverb still apply.
//!
//! The storage is fixed-size (the synth's maxima), allocated once in
//! [`crate::Engine::prepare`]; editing it and using it never allocate.

use timbre_dsp::harmonic::MAX_HARMONICS;
use timbre_dsp::noise::MAX_BANDS;
use timbre_dsp::smooth::sanitize;
use timbre_model::Controls;

/// Largest value a manual control takes: the decoder's own range ends at 2 (DDSP's
/// exp_sigmoid), so a hand can go as loud as the network and no louder.
pub const MANUAL_MAX: f32 = 2.0;

/// One hand-set synth frame. Entries beyond the model's harmonic or band count are ignored;
/// missing ones play as zero.
#[derive(Clone, Debug, PartialEq)]
pub struct ManualControls {
    /// Overall harmonic amplitude, like [`Controls::amplitude`].
    pub amplitude: f32,
    /// Harmonic distribution, harmonic 1 first, like [`Controls::harmonics`].
    pub harmonics: [f32; MAX_HARMONICS],
    /// Noise band magnitudes, lowest band first, like [`Controls::noise`].
    pub noise: [f32; MAX_BANDS],
}

impl ManualControls {
    /// All zeros (silence). Allocates the box; do it off the audio thread.
    pub fn new_boxed() -> Box<Self> {
        Box::new(Self {
            amplitude: 0.0,
            harmonics: [0.0; MAX_HARMONICS],
            noise: [0.0; MAX_BANDS],
        })
    }

    /// Copies a decoder output (so a hand can start from what the network played).
    /// Allocation-free.
    pub fn copy_from(&mut self, controls: &Controls) {
        self.amplitude = controls.amplitude;
        copy_padded(&mut self.harmonics, &controls.harmonics);
        copy_padded(&mut self.noise, &controls.noise);
    }

    /// Writes these controls, made safe (non-finite → 0, clamped to `0..=MANUAL_MAX`), into
    /// decoder-shaped slices: returns the amplitude and fills `harmonics` and `noise` (extra
    /// entries on either side are ignored or zeroed). Allocation-free.
    pub fn write_into(&self, harmonics: &mut [f32], noise: &mut [f32]) -> f32 {
        let safe = |x: f32| sanitize(x).clamp(0.0, MANUAL_MAX);
        for (i, h) in harmonics.iter_mut().enumerate() {
            *h = self.harmonics.get(i).map_or(0.0, |&x| safe(x));
        }
        for (i, b) in noise.iter_mut().enumerate() {
            *b = self.noise.get(i).map_or(0.0, |&x| safe(x));
        }
        safe(self.amplitude)
    }
}

/// Copies `src` into the start of `dst` and zeroes the rest (`src` is cut to fit).
fn copy_padded(dst: &mut [f32], src: &[f32]) {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
    dst[n..].fill(0.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_into_sanitizes_and_pads() {
        let mut m = ManualControls::new_boxed();
        m.amplitude = f32::NAN;
        m.harmonics[0] = 0.5;
        m.harmonics[1] = -1.0;
        m.harmonics[2] = 7.0;
        m.noise[0] = f32::INFINITY;
        m.noise[1] = 0.25;
        let mut h = [9.0f32; 4];
        let mut b = [9.0f32; 3];
        let amp = m.write_into(&mut h, &mut b);
        assert_eq!(amp, 0.0);
        assert_eq!(h, [0.5, 0.0, MANUAL_MAX, 0.0]);
        assert_eq!(b, [0.0, 0.25, 0.0]);
    }

    #[test]
    fn copy_from_round_trips_a_decoder_frame() {
        let controls = Controls {
            amplitude: 0.7,
            harmonics: vec![0.1, 0.2, 0.3],
            noise: vec![0.01, 0.02],
        };
        let mut m = ManualControls::new_boxed();
        m.harmonics[5] = 1.0;
        m.copy_from(&controls);
        let mut h = [0.0f32; 3];
        let mut b = [0.0f32; 2];
        assert_eq!(m.write_into(&mut h, &mut b), 0.7);
        assert_eq!(h.as_slice(), controls.harmonics.as_slice());
        assert_eq!(b.as_slice(), controls.noise.as_slice());
        assert_eq!(m.harmonics[5], 0.0, "stale entries are cleared");
    }
}
