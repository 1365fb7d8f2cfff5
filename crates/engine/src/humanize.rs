//! Humanize: the slow, random unsteadiness of a player, added to what the synth plays.
//!
//! A bow or a breath never holds a note perfectly still: the pitch wanders by a few cents and
//! each partial's level moves as the bow pressure, the embouchure and the body's resonances
//! shift. The synth, fed a steady input, plays perfectly static partials, which an independent
//! listener hears as a synthesizer ("Siren", "Beep", "Harmonic"). [`Humanizer`] makes one
//! smooth random curve for the pitch and one per harmonic for its level: uniform noise drawn
//! once per frame through a one-pole low-pass at [`BANDWIDTH_HZ`], scaled to unit RMS. At
//! 100 % the pitch wanders by [`PITCH_CENTS`] and each harmonic's level by [`LEVEL_DB`] (RMS);
//! the knob scales both. **Spread** sets how many neighbouring harmonics move together: at 0
//! each harmonic wanders on its own (what the listener prefers for bowed strings, the flute and
//! the saxophone); at `k` each harmonic's curve is the mean of the `2k + 1` independent curves
//! around it, scaled back to unit RMS, so the spectrum's shape breathes as a whole (what it
//! prefers for the trumpet). The decoder hears the input as it is; only the synth's targets move,
//! and the harmonics keep their total power ([`crate::Voice::retarget`]): the timbre moves, the
//! level does not.
//!
//! The curves come from a fixed seed and advance one step per frame whatever the knob says,
//! so a render is the same every time and the knob only scales them. Allocation-free.

use timbre_dsp::harmonic::MAX_HARMONICS;
use timbre_dsp::rng::NoiseRng;

/// Bandwidth of the drift, in Hz: slow, like a player's (faster drift, tried at 15 and 30 Hz,
/// is heard as roughness and the listener liked it less).
pub const BANDWIDTH_HZ: f32 = 3.0;
/// RMS pitch drift at 100 %, in cents.
pub const PITCH_CENTS: f32 = 20.0;
/// RMS level drift of each harmonic at 100 %, in dB.
pub const LEVEL_DB: f32 = 6.0;
/// The most neighbours on each side a harmonic's level moves with.
pub const MAX_SPREAD: usize = 8;
/// The seed of the curves.
const SEED: u32 = 0x4855_4D41;

/// What the synth plays differently in one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    /// Factor on the synth's f0.
    pub pitch_ratio: f32,
    /// Factor on each harmonic's amplitude (harmonic 1 first).
    pub harmonic_gains: [f32; MAX_HARMONICS],
    /// Whether the factors move anything: false only for [`Drift::NONE`] (with Humanize at 0
    /// the synth skips the drift without looking at its factors).
    pub active: bool,
}

impl Drift {
    /// No drift: every factor 1.
    pub const NONE: Self = Self {
        pitch_ratio: 1.0,
        harmonic_gains: [1.0; MAX_HARMONICS],
        active: false,
    };
}

/// The drift curves (see the module docs).
pub struct Humanizer {
    /// Source of the curves.
    rng: NoiseRng,
    /// Low-pass coefficient per frame.
    pole: f32,
    /// Scales the low-passed noise to unit RMS.
    unit: f32,
    /// The pitch curve (unscaled).
    pitch: f32,
    /// The level curves (unscaled), one per harmonic.
    levels: [f32; MAX_HARMONICS],
    /// This frame's drift.
    drift: Drift,
    /// The last frame's drift, and the drift between the two (see [`Humanizer::glide`]).
    previous: Drift,
    between: Drift,
}

impl Humanizer {
    /// Curves for frames arriving at `frame_rate_hz`, starting still.
    pub fn new(frame_rate_hz: f32) -> Self {
        let pole = (-2.0 * std::f32::consts::PI * BANDWIDTH_HZ / frame_rate_hz).exp();
        // y = p·y + (1 − p)·x with x uniform in [−1, 1) (variance 1/3) has variance
        // (1 − p)² / (3·(1 − p²)).
        let unit = (3.0 * (1.0 - pole * pole)).sqrt() / (1.0 - pole);
        Self {
            rng: NoiseRng::new(SEED),
            pole,
            unit,
            pitch: 0.0,
            levels: [0.0; MAX_HARMONICS],
            drift: Drift::NONE,
            previous: Drift::NONE,
            between: Drift::NONE,
        }
    }

    /// Starts the curves again from the seed (a fresh stream sounds like a fresh instance).
    pub fn reset(&mut self) {
        self.rng = NoiseRng::new(SEED);
        self.pitch = 0.0;
        self.levels = [0.0; MAX_HARMONICS];
        self.drift = Drift::NONE;
        self.previous = Drift::NONE;
        self.between = Drift::NONE;
    }

    /// The drift a fraction `t` (0..1) of the way from the last frame's to this frame's, each
    /// factor interpolated linearly: control steps between two frames glide from one to the
    /// next instead of stepping once per frame.
    pub fn glide(&mut self, t: f32) -> &Drift {
        let t = t.clamp(0.0, 1.0);
        let (a, b) = (&self.previous, &self.drift);
        if !a.active && !b.active {
            // Both still: so is every step between them.
            if self.between.active {
                self.between = Drift::NONE;
            }
            return &self.between;
        }
        self.between.active = true;
        self.between.pitch_ratio = a.pitch_ratio + t * (b.pitch_ratio - a.pitch_ratio);
        for ((g, &x), &y) in self
            .between
            .harmonic_gains
            .iter_mut()
            .zip(&a.harmonic_gains)
            .zip(&b.harmonic_gains)
        {
            *g = x + t * (y - x);
        }
        &self.between
    }

    /// The drift of the last [`Humanizer::step`] (none after a reset).
    pub fn drift(&self) -> &Drift {
        &self.drift
    }

    /// Advances the curves by one frame and returns the drift at `amount` (0..1; 0 is none),
    /// each harmonic's level moving with its `spread` neighbours on each side (see the module
    /// docs; at most [`MAX_SPREAD`]).
    pub fn step(&mut self, amount: f32, spread: usize) -> &Drift {
        if self.previous.active || self.drift.active {
            self.previous.clone_from(&self.drift);
        }
        let (p, rng) = (self.pole, &mut self.rng);
        let mut next = |y: &mut f32| *y = p * *y + (1.0 - p) * rng.next_bipolar();
        next(&mut self.pitch);
        self.levels.iter_mut().for_each(next);
        let amount = amount.clamp(0.0, 1.0);
        if amount == 0.0 {
            if self.drift.active {
                self.drift = Drift::NONE;
            }
        } else {
            self.drift.active = true;
            let scale = amount * self.unit;
            let cents = PITCH_CENTS * scale * self.pitch;
            self.drift.pitch_ratio = (cents / 1200.0).exp2();
            let db_per_unit = LEVEL_DB * scale / 20.0;
            let spread = spread.min(MAX_SPREAD);
            for (i, gain) in self.drift.harmonic_gains.iter_mut().enumerate() {
                // The mean of the independent curves around harmonic i, times √n: unit RMS
                // again (n is smaller at the ends of the range).
                let around =
                    &self.levels[i.saturating_sub(spread)..(i + spread + 1).min(MAX_HARMONICS)];
                let level = around.iter().sum::<f32>() / (around.len() as f32).sqrt();
                *gain = 10f32.powf(db_per_unit * level);
            }
        }
        &self.drift
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timbre_testkit::correlation;

    fn rms(x: &[f32]) -> f32 {
        (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt()
    }

    /// Collects `frames` frames of pitch drift (cents) and first-harmonic drift (dB).
    fn curves(h: &mut Humanizer, amount: f32, frames: usize) -> (Vec<f32>, Vec<f32>) {
        (0..frames)
            .map(|_| {
                let d = h.step(amount, 0);
                (
                    1200.0 * d.pitch_ratio.log2(),
                    20.0 * d.harmonic_gains[0].log10(),
                )
            })
            .unzip()
    }

    #[test]
    fn the_drift_has_the_stated_size_and_bandwidth() {
        let mut h = Humanizer::new(250.0);
        // 400 s of frames: the RMS of a 3 Hz process settles within a few percent.
        let (cents, db) = curves(&mut h, 0.5, 100_000);
        assert!(
            (rms(&cents) / (0.5 * PITCH_CENTS) - 1.0).abs() < 0.1,
            "{}",
            rms(&cents)
        );
        assert!(
            (rms(&db) / (0.5 * LEVEL_DB) - 1.0).abs() < 0.1,
            "{}",
            rms(&db)
        );
        // Slow: a frame-to-frame step is a small part of the swing (white noise would step
        // by √2 of its RMS; a 3 Hz one-pole at 250 frames/s by about 0.38 of it).
        let steps: Vec<f32> = cents.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            rms(&steps) < 0.5 * rms(&cents),
            "{}",
            rms(&steps) / rms(&cents)
        );
    }

    #[test]
    fn harmonics_drift_independently() {
        let mut h = Humanizer::new(250.0);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..50_000 {
            let d = h.step(1.0, 0);
            a.push(d.harmonic_gains[0].ln());
            b.push(d.harmonic_gains[7].ln());
        }
        let corr = correlation(&a, &b);
        assert!(corr.abs() < 0.1, "{corr}");
    }

    /// With a spread of k, harmonic h and h + 1 share 2k of their 2k + 1 curves: correlation
    /// 2k / (2k + 1); each keeps the stated size.
    #[test]
    fn a_spread_moves_neighbouring_harmonics_together() {
        for spread in [1usize, 3] {
            let mut h = Humanizer::new(250.0);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for _ in 0..50_000 {
                let d = h.step(1.0, spread);
                a.push(20.0 * d.harmonic_gains[20].log10());
                b.push(20.0 * d.harmonic_gains[21].log10());
            }
            let corr = correlation(&a, &b);
            let expected = (2 * spread) as f32 / (2 * spread + 1) as f32;
            assert!(
                (corr - expected).abs() < 0.05,
                "spread {spread}: {corr} vs {expected}"
            );
            assert!((rms(&a) / LEVEL_DB - 1.0).abs() < 0.15, "{}", rms(&a));
        }
    }

    #[test]
    fn zero_is_still_and_a_reset_repeats_the_curves() {
        let mut h = Humanizer::new(250.0);
        for _ in 0..100 {
            assert_eq!(h.step(0.0, 0), &Drift::NONE);
        }
        h.reset();
        let first = curves(&mut h, 1.0, 500);
        h.reset();
        assert_eq!(curves(&mut h, 1.0, 500), first);
        // The knob scales the same curves: half the amount, half the cents.
        h.reset();
        let (half, _) = curves(&mut h, 0.5, 500);
        for (x, y) in half.iter().zip(&first.0) {
            assert!((2.0 * x - y).abs() < 1e-3, "{x} {y}");
        }
    }

    #[test]
    fn glide_runs_from_the_last_frames_drift_to_this_ones() {
        let mut h = Humanizer::new(250.0);
        h.step(1.0, 0);
        let first = h.drift().clone();
        h.step(1.0, 0);
        let second = h.drift().clone();
        assert_ne!(first, second);
        assert_eq!(h.glide(0.0), &first);
        assert_eq!(h.glide(1.0), &second);
        let mid = h.glide(0.5).clone();
        let halfway = |a: f32, b: f32| (a + b) / 2.0;
        assert!((mid.pitch_ratio - halfway(first.pitch_ratio, second.pitch_ratio)).abs() < 1e-6);
        for k in 0..MAX_HARMONICS {
            let want = halfway(first.harmonic_gains[k], second.harmonic_gains[k]);
            assert!((mid.harmonic_gains[k] - want).abs() < 1e-6, "harmonic {k}");
        }
        h.reset();
        assert_eq!(h.glide(0.5), &Drift::NONE);
    }

    /// Turned down to 0 after playing, the drift glides back to none over one frame and from
    /// the next frame on is exactly none (inactive, every factor 1) at every step; turned up
    /// again it moves at once.
    #[test]
    fn turned_down_the_drift_glides_out_and_stays_none() {
        let mut h = Humanizer::new(250.0);
        h.step(1.0, 2);
        h.step(1.0, 2);
        let playing = h.drift().clone();
        assert!(playing.active && playing != Drift::NONE);
        h.step(0.0, 2);
        let out = h.glide(0.5).clone();
        assert!(out.active);
        assert!((out.pitch_ratio - (playing.pitch_ratio + 1.0) / 2.0).abs() < 1e-6);
        for _ in 0..3 {
            h.step(0.0, 2);
            for t in [0.25, 0.5, 1.0] {
                assert_eq!(h.glide(t), &Drift::NONE);
            }
        }
        h.step(0.5, 2);
        assert!(h.glide(1.0).active && h.glide(1.0) != &Drift::NONE);
    }
}
