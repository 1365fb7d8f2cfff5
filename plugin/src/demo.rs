//! A built-in test melody for the standalone app (`--demo`): lets a musician hear a model (and
//! see the meters move) without a microphone. Off in the plugins.
//!
//! The melody is a PolyBLEP sawtooth with vibrato and a breathing swell, generated sample by
//! sample from fixed state: no allocation, safe on the audio thread.

use std::f64::consts::PI;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the effect replaces its input with the demo melody.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the demo input on (the standalone's `--demo`).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether the demo input is on.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The melody: (MIDI note, beats), at [`BEATS_PER_SECOND`]; a rest is note 0.
const MELODY: [(u8, f64); 12] = [
    (62, 1.0),
    (66, 1.0),
    (69, 2.0),
    (71, 1.0),
    (69, 1.0),
    (66, 2.0),
    (64, 1.0),
    (66, 1.0),
    (62, 3.0),
    (0, 1.0),
    (57, 2.0),
    (0, 2.0),
];
/// Tempo of the melody.
const BEATS_PER_SECOND: f64 = 1.6;

/// The demo oscillator.
#[derive(Clone, Debug, Default)]
pub struct DemoInput {
    /// Sample rate in Hz.
    rate: f64,
    /// Seconds since the start of the melody.
    time: f64,
    /// Oscillator phase in cycles, 0..1.
    phase: f64,
    /// Smoothed f0 (glides between notes), Hz.
    f0: f64,
    /// Smoothed level (attack/release between notes).
    level: f64,
}

impl DemoInput {
    /// A demo oscillator at `rate` Hz.
    pub fn new(rate: f64) -> Self {
        Self {
            rate,
            f0: 293.66,
            ..Self::default()
        }
    }

    /// The note and position within it at time `t` (seconds, looping).
    fn note_at(t: f64) -> (u8, f64) {
        let total: f64 = MELODY.iter().map(|(_, b)| b).sum::<f64>() / BEATS_PER_SECOND;
        let mut t = t % total;
        for (note, beats) in MELODY {
            let d = beats / BEATS_PER_SECOND;
            if t < d {
                return (note, t / d);
            }
            t -= d;
        }
        (0, 0.0)
    }

    /// Fills `out` with the melody. Allocation-free.
    pub fn fill(&mut self, out: &mut [f32]) {
        let dt = 1.0 / self.rate;
        let glide = 1.0 - (-dt / 0.03).exp();
        let attack = 1.0 - (-dt / 0.04).exp();
        for x in out {
            let (note, pos) = Self::note_at(self.time);
            let (target_f0, target_level) = if note == 0 || pos > 0.93 {
                (self.f0, 0.0)
            } else {
                let vibrato = 0.25 * (2.0 * PI * 5.3 * self.time).sin() * (pos * 3.0).min(1.0);
                (
                    440.0 * 2f64.powf((note as f64 + vibrato - 69.0) / 12.0),
                    0.35,
                )
            };
            self.f0 += (target_f0 - self.f0) * glide;
            self.level += (target_level - self.level) * attack;
            let inc = self.f0 * dt;
            // Sawtooth with PolyBLEP at the wrap.
            let mut y = 2.0 * self.phase - 1.0;
            if self.phase < inc {
                let t = self.phase / inc;
                y -= t + t - t * t - 1.0;
            } else if self.phase > 1.0 - inc {
                let t = (self.phase - 1.0) / inc;
                y -= t * t + t + t + 1.0;
            }
            *x = (y * self.level) as f32;
            self.phase = (self.phase + inc).fract();
            self.time += dt;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_is_a_bounded_melody() {
        let mut demo = DemoInput::new(48_000.0);
        let mut buf = vec![0.0f32; 48_000 * 4];
        demo.fill(&mut buf);
        assert!(buf.iter().all(|x| x.is_finite() && x.abs() <= 0.5));
        let loud = buf.iter().filter(|x| x.abs() > 0.1).count();
        assert!(loud > buf.len() / 4, "mostly sounding");
        assert_eq!(DemoInput::note_at(0.0).0, 62);
    }
}
