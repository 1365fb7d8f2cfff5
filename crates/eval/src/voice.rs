//! A voice-like source with an exactly known f0: a sung phrase synthesized additively, for
//! the pitch-fidelity and timbre measurements from "a singer".
//!
//! The phrase is a list of notes sung legato (70 ms glides between them) with a 5.5 Hz
//! vibrato of ±30 cents that fades in over each note, a breath (silence) between phrases, and
//! a swell on each note. The source is a glottal-like harmonic series (−12 dB per octave)
//! shaped by the three formants of an "ah" vowel, plus a little breath noise. Every harmonic
//! is summed from one f64 phase, so the f0 at every sample is [`Phrase::f0_at`] exactly.

/// One sung note.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Note {
    /// MIDI pitch.
    pub midi: f32,
    /// Duration in seconds (the glide into the next note starts at its end).
    pub seconds: f32,
    /// Peak amplitude of the note's swell, full scale.
    pub level: f32,
    /// True when a breath (silence) follows the note.
    pub breath_after: bool,
}

/// A phrase of notes.
#[derive(Clone, Debug, PartialEq)]
pub struct Phrase {
    /// The notes, in order.
    pub notes: Vec<Note>,
}

/// Glide time between legato notes, in seconds.
pub const GLIDE_S: f32 = 0.07;
/// Length of a breath, in seconds.
pub const BREATH_S: f32 = 0.35;
/// Vibrato rate, in Hz.
pub const VIBRATO_HZ: f64 = 5.5;
/// Vibrato depth, in cents (peak).
pub const VIBRATO_CENTS: f64 = 30.0;
/// Formants of the vowel "ah": (centre Hz, bandwidth Hz, gain).
const FORMANTS: [(f64, f64, f64); 3] = [
    (730.0, 90.0, 1.0),
    (1090.0, 110.0, 0.5),
    (2440.0, 170.0, 0.25),
];

impl Phrase {
    /// The bundled phrase: a short melody in a baritone-to-tenor range (A2 … E4), two
    /// breaths, soft and loud notes.
    pub fn bundled() -> Self {
        let n = |midi: f32, seconds: f32, level: f32, breath_after: bool| Note {
            midi,
            seconds,
            level,
            breath_after,
        };
        Self {
            notes: vec![
                n(57.0, 0.6, 0.25, false),
                n(59.0, 0.4, 0.3, false),
                n(60.0, 0.4, 0.35, false),
                n(64.0, 0.9, 0.5, true),
                n(62.0, 0.5, 0.2, false),
                n(60.0, 0.5, 0.3, false),
                n(59.0, 0.4, 0.25, false),
                n(55.0, 1.0, 0.4, true),
                n(52.0, 0.6, 0.15, false),
                n(57.0, 1.2, 0.35, false),
            ],
        }
    }

    /// Spans `(start, end)` in seconds of each note, including its glide out.
    fn spans(&self) -> Vec<(f32, f32)> {
        let mut t = 0.0;
        self.notes
            .iter()
            .map(|note| {
                let start = t;
                t += note.seconds;
                let end = t;
                if note.breath_after {
                    t += BREATH_S;
                }
                (start, end)
            })
            .collect()
    }

    /// Length of the phrase in seconds (plus a short tail of silence).
    pub fn seconds(&self) -> f32 {
        self.spans().last().map_or(0.0, |s| s.1) + 0.3
    }

    /// The f0 at time `t` (seconds); 0 in breaths and after the end.
    pub fn f0_at(&self, t: f32) -> f32 {
        let spans = self.spans();
        for (i, (&(start, end), note)) in spans.iter().zip(&self.notes).enumerate() {
            if t < start || t >= end {
                continue;
            }
            let hz = |m: f32| 440.0 * 2f64.powf((m as f64 - 69.0) / 12.0);
            let mut f = hz(note.midi);
            // Legato glide into the next note over the last GLIDE_S of this one.
            let legato_next = (!note.breath_after)
                .then(|| self.notes.get(i + 1))
                .flatten();
            if let Some(next) = legato_next {
                let g0 = end - GLIDE_S;
                if t > g0 {
                    let x = ((t - g0) / GLIDE_S) as f64;
                    let s = x * x * (3.0 - 2.0 * x);
                    f *= (hz(next.midi) / f).powf(s);
                }
            }
            // Vibrato fading in over the first 0.3 s of the note.
            let since = (t - start) as f64;
            let depth = VIBRATO_CENTS * (since / 0.3).min(1.0);
            let cents = depth * (2.0 * std::f64::consts::PI * VIBRATO_HZ * since).sin();
            return (f * 2f64.powf(cents / 1200.0)) as f32;
        }
        0.0
    }

    /// Amplitude envelope at time `t`: a swell per note, 30 ms fades at breaths.
    fn level_at(&self, t: f32) -> f32 {
        let spans = self.spans();
        for (i, (&(start, end), note)) in spans.iter().zip(&self.notes).enumerate() {
            if t < start || t >= end {
                continue;
            }
            let x = (t - start) / (end - start);
            let swell = 0.7 + 0.3 * (std::f32::consts::PI * x).sin();
            let joined_before = i > 0 && !self.notes[i - 1].breath_after;
            let fade_in = if joined_before {
                1.0
            } else {
                ((t - start) / 0.03).min(1.0)
            };
            let fade_out = if note.breath_after || i + 1 == self.notes.len() {
                ((end - t) / 0.03).min(1.0)
            } else {
                1.0
            };
            return note.level * swell * fade_in * fade_out;
        }
        0.0
    }

    /// Renders the phrase at `sample_rate` (Hz), mono.
    pub fn render(&self, sample_rate: f64) -> Vec<f32> {
        let len = (self.seconds() as f64 * sample_rate) as usize;
        let nyquist = sample_rate / 2.0;
        let mut phase = 0.0f64; // In cycles of the fundamental.
        let mut noise = 0x2545_f491_4f6c_dd1du64;
        let mut out = Vec::with_capacity(len);
        for n in 0..len {
            let t = (n as f64 / sample_rate) as f32;
            let f0 = self.f0_at(t) as f64;
            let level = self.level_at(t) as f64;
            let mut v = 0.0;
            if f0 > 0.0 && level > 0.0 {
                let mut k = 1.0;
                let mut norm = 0.0;
                while k * f0 < nyquist.min(7_000.0) {
                    let a = spectral_envelope(k * f0) / (k * k);
                    v += a * (2.0 * std::f64::consts::PI * k * phase).sin();
                    norm += a * a;
                    k += 1.0;
                }
                v /= (2.0 * norm).sqrt().max(1e-9);
                noise ^= noise << 13;
                noise ^= noise >> 7;
                noise ^= noise << 17;
                let breath = (noise >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                v = level * (v + 0.01 * breath);
            }
            out.push(v as f32);
            phase = (phase + f0 / sample_rate).fract();
        }
        out
    }
}

/// Gain of the vowel's formants at `hz`, relative to a flat source: a floor of 0.1 plus three
/// resonance peaks.
fn spectral_envelope(hz: f64) -> f64 {
    let peaks: f64 = FORMANTS
        .iter()
        .map(|&(c, bw, g)| g / (1.0 + ((hz - c) / (bw / 2.0)).powi(2)))
        .sum();
    // Lift the source's −12 dB/oct slope back by k (the division by k² in `render`), so the
    // net tilt is about −6 dB/oct, as in speech, before the formants.
    (0.1 + peaks) * (hz / 100.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use timbre_dsp::analysis::{analyze_clip, AnalysisConfig, Analyzer};

    #[test]
    fn the_tracker_finds_the_known_f0_of_the_phrase() {
        let phrase = Phrase::bundled();
        let rate = 48_000.0;
        let audio = phrase.render(rate);
        assert!(audio.iter().all(|v| v.is_finite() && v.abs() < 1.0));
        let config = AnalysisConfig::default();
        let frames = analyze_clip(config, rate, &audio).unwrap();
        let latency = Analyzer::new(config, rate).unwrap().latency_seconds();
        let mut errors = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let t = (i + 1) as f64 * config.hop as f64 / config.sample_rate as f64 - latency;
            // Frames whose whole window is inside a note.
            let around = |dt: f64| phrase.f0_at((t + dt) as f32) > 0.0;
            if t < 0.0 || !(around(-0.02) && around(0.02) && around(0.0)) {
                continue;
            }
            let want = phrase.f0_at(t as f32);
            errors.push((1200.0 * (f.f0_hz / want).log2()).abs());
        }
        assert!(errors.len() > 1000, "{} voiced frames", errors.len());
        errors.sort_by(f32::total_cmp);
        let median = errors[errors.len() / 2];
        let p95 = errors[errors.len() * 95 / 100];
        assert!(median < 3.0, "median {median} cents");
        assert!(p95 < 15.0, "95th percentile {p95} cents");
    }

    #[test]
    fn f0_glides_between_legato_notes_and_is_zero_in_breaths() {
        let phrase = Phrase::bundled();
        assert_eq!(phrase.f0_at(0.6 + 0.4 + 0.4 + 0.9 + 0.1), 0.0);
        // Mid-glide from A3 to B3: strictly between the two.
        let mid = phrase.f0_at(0.6 - GLIDE_S / 2.0);
        assert!(mid > 225.0 && mid < 242.0, "{mid}");
        assert_eq!(phrase.f0_at(phrase.seconds() - 0.01), 0.0);
    }
}
