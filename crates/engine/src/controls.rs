//! From analysed frames to decoder inputs: pitch shift, autotune, auto-adjust and the gate.
//!
//! Everything here runs once per frame on the audio thread, on fixed-size state: no
//! allocation, lock or log.

use timbre_dsp::analysis::Frame;
use timbre_dsp::LOUDNESS_FLOOR_DB;
pub use timbre_model::features::{hz_to_midi, midi_to_hz};

/// Number of loudness quantiles the auto-adjust maps between (0%, 10%, ..., 100%).
pub const N_QUANTILES: usize = 11;

/// Frames of input history that auto-adjust summarises (10 s of the engine's 1 ms control
/// steps).
pub const HISTORY_FRAMES: usize = 10_000;

/// Voiced frames (1 ms each) after which auto-adjust moves the level by the full difference
/// between the input's loud part and the model's (see [`match_heard`]).
pub const LEVEL_FULL_FRAMES: usize = 500;

/// Voiced frames (1 ms each) after which Match dynamics maps the input's loudness quantiles
/// onto the model's in full (see [`match_heard`]).
pub const DYNAMICS_FULL_FRAMES: usize = 3_000;

/// Loudness histogram resolution for the running quantiles, in dB per bin.
const HIST_DB_PER_BIN: f32 = 0.5;
/// Histogram bins from the loudness floor (−80 dB) to +10 dB.
const HIST_BINS: usize = 180;

/// What auto-adjust needs to know about a model's training data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TargetStats {
    /// Mean pitch of the voiced training frames, as a MIDI note.
    pub pitch_mean_midi: f32,
    /// Loudness quantiles (0%, 10%, ..., 100%) of the voiced training frames, in dB.
    pub loudness_quantiles: [f32; N_QUANTILES],
}

impl TargetStats {
    /// The statistics a fraction `t` of the way from `self` to `other` (a morph): exactly
    /// `self` at 0 and exactly `other` at 1.
    pub fn lerp(&self, other: &TargetStats, t: f32) -> TargetStats {
        if t <= 0.0 {
            return *self;
        }
        if t >= 1.0 {
            return *other;
        }
        let mix = |a: f32, b: f32| a * (1.0 - t) + b * t;
        TargetStats {
            pitch_mean_midi: mix(self.pitch_mean_midi, other.pitch_mean_midi),
            loudness_quantiles: core::array::from_fn(|i| {
                mix(self.loudness_quantiles[i], other.loudness_quantiles[i])
            }),
        }
    }
}

/// Running statistics of the input over the last [`HISTORY_FRAMES`] voiced frames: mean pitch,
/// tuning and loudness quantiles. Fixed-size ring plus histogram; updates are O(1), quantiles
/// O(bins).
pub struct InputStats {
    /// Last voiced frames' (midi, vibrato centre where the pitch was steady, loudness bin).
    ring: Box<[(f32, Option<f32>, u16); HISTORY_FRAMES]>,
    /// The pitch with its vibrato smoothed away ([`TUNING_CENTRE_FRAMES`]), as a MIDI note.
    centre: Option<f32>,
    /// Next write position in the ring.
    head: usize,
    /// Frames stored (≤ HISTORY_FRAMES).
    len: usize,
    /// Sum of the stored pitches, in f64 to avoid drift over hours.
    pitch_sum: f64,
    /// Sums of the cosine and sine of each stored centre's place within its semitone (one
    /// turn per semitone), for the input's tuning ([`InputStats::tuning_semitones`]).
    tuning_sum: (f64, f64),
    /// Stored frames with a centre.
    tuning_len: usize,
    /// Count of stored frames per loudness bin.
    histogram: [u32; HIST_BINS],
}

impl Default for InputStats {
    fn default() -> Self {
        Self::new()
    }
}

impl InputStats {
    /// Empty statistics. Allocates the ring once.
    pub fn new() -> Self {
        Self {
            ring: vec![(0.0, None, 0); HISTORY_FRAMES]
                .into_boxed_slice()
                .try_into()
                .expect("the ring has HISTORY_FRAMES entries"),
            centre: None,
            head: 0,
            len: 0,
            pitch_sum: 0.0,
            tuning_sum: (0.0, 0.0),
            tuning_len: 0,
            histogram: [0; HIST_BINS],
        }
    }

    /// Forgets the history.
    pub fn reset(&mut self) {
        self.centre = None;
        self.head = 0;
        self.len = 0;
        self.pitch_sum = 0.0;
        self.tuning_sum = (0.0, 0.0);
        self.tuning_len = 0;
        self.histogram = [0; HIST_BINS];
    }

    /// Number of voiced frames in the history.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no voiced frame has been seen.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one voiced frame.
    pub fn push(&mut self, midi: f32, loudness_db: f32) {
        let bin = (((loudness_db - LOUDNESS_FLOOR_DB) / HIST_DB_PER_BIN) as isize)
            .clamp(0, HIST_BINS as isize - 1) as u16;
        // The vibrato's centre: a one-pole low-pass over the pitch that jumps with a note
        // change (a vibrato of ±40 cents spreads single frames over most of the semitone).
        // Only the place within the octave counts, so a frame read an octave off moves it as
        // the note it belongs to would.
        let centre = match self.centre {
            Some(c) => {
                let step = within_octave(midi - c);
                if step.abs() <= TUNING_CENTRE_JUMP_SEMITONES {
                    c + step / TUNING_CENTRE_FRAMES
                } else {
                    midi
                }
            }
            None => midi,
        };
        self.centre = Some(centre);
        // Only a pitch near its centre tells the tuning: not a glide, nor the frames after a
        // note change while the centre settles.
        let steady = within_octave(midi - centre).abs() <= TUNING_STEADY_SEMITONES;
        let centre = steady.then_some(centre);
        if self.len == HISTORY_FRAMES {
            let (old_midi, old_centre, old_bin) = self.ring[self.head];
            self.pitch_sum -= old_midi as f64;
            if let Some(old_centre) = old_centre {
                let (cos, sin) = semitone_phase(old_centre);
                self.tuning_sum.0 -= cos;
                self.tuning_sum.1 -= sin;
                self.tuning_len -= 1;
            }
            self.histogram[old_bin as usize] -= 1;
        } else {
            self.len += 1;
        }
        self.ring[self.head] = (midi, centre, bin);
        self.pitch_sum += midi as f64;
        if let Some(centre) = centre {
            let (cos, sin) = semitone_phase(centre);
            self.tuning_sum.0 += cos;
            self.tuning_sum.1 += sin;
            self.tuning_len += 1;
        }
        self.histogram[bin as usize] += 1;
        self.head = (self.head + 1) % HISTORY_FRAMES;
    }

    /// Mean pitch of the history as a MIDI note, if any frame was voiced.
    pub fn pitch_mean_midi(&self) -> Option<f32> {
        (self.len > 0).then(|| (self.pitch_sum / self.len as f64) as f32)
    }

    /// The input's tuning: how far its notes sit, on the whole, from the equal-tempered
    /// semitones of A = 440 Hz, in semitones (−0.5 to 0.5; a choir tuned to A = 448 Hz reads
    /// +0.31). The circular mean of each steady frame's place within its semitone (of its
    /// vibrato's centre, see [`TUNING_CENTRE_FRAMES`] and [`TUNING_STEADY_SEMITONES`]), so
    /// octave errors and which notes were sung do not count. 0 while fewer than
    /// [`TUNING_MIN_FRAMES`] steady frames were voiced, or while their places are too spread
    /// out to agree on one (a mean resultant under [`TUNING_MIN_AGREEMENT`]: glides, or a
    /// voice that wanders between tunings).
    pub fn tuning_semitones(&self) -> f32 {
        let (cos, sin) = self.tuning_sum;
        let agreement = cos.hypot(sin) / self.tuning_len.max(1) as f64;
        if self.tuning_len < TUNING_MIN_FRAMES || agreement < TUNING_MIN_AGREEMENT {
            return 0.0;
        }
        (sin.atan2(cos) / std::f64::consts::TAU) as f32
    }

    /// Loudness quantiles (0%, 10%, ..., 100%) in dB, at the resolution of the histogram.
    pub fn loudness_quantiles(&self) -> Option<[f32; N_QUANTILES]> {
        if self.len == 0 {
            return None;
        }
        let mut out = [0.0; N_QUANTILES];
        let mut cumulative = 0u32;
        let mut q = 0;
        for (bin, &count) in self.histogram.iter().enumerate() {
            cumulative += count;
            // Quantile q is reached when the cumulative count passes q/10 of the frames.
            while q < N_QUANTILES
                && cumulative as f32 >= (q as f32 / (N_QUANTILES - 1) as f32) * self.len as f32
                && count > 0
            {
                out[q] = LOUDNESS_FLOOR_DB + (bin as f32 + 0.5) * HIST_DB_PER_BIN;
                q += 1;
            }
        }
        while q < N_QUANTILES {
            out[q] = out[q.saturating_sub(1)];
            q += 1;
        }
        Some(out)
    }
}

/// The octave shift (in octaves, −3..=3) that brings `input_mean_midi` nearest to
/// `target_mean_midi`.
pub fn best_octave_shift(input_mean_midi: f32, target_mean_midi: f32) -> i32 {
    let octaves = (target_mean_midi - input_mean_midi) / 12.0;
    (octaves.round() as i32).clamp(-3, 3)
}

/// Maps `loudness_db` through the piecewise-linear curve that sends each input quantile onto
/// the matching target quantile; values beyond the ends continue with slope 1.
pub fn map_loudness(
    loudness_db: f32,
    input_quantiles: &[f32; N_QUANTILES],
    target_quantiles: &[f32; N_QUANTILES],
) -> f32 {
    let x = loudness_db;
    if x <= input_quantiles[0] {
        return target_quantiles[0] + (x - input_quantiles[0]);
    }
    for i in 1..N_QUANTILES {
        let (x0, x1) = (input_quantiles[i - 1], input_quantiles[i]);
        if x <= x1 {
            let (y0, y1) = (target_quantiles[i - 1], target_quantiles[i]);
            if x1 - x0 < 1e-6 {
                return y1;
            }
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
        }
    }
    target_quantiles[N_QUANTILES - 1] + (x - input_quantiles[N_QUANTILES - 1])
}

/// The quantile whose level auto-adjust matches ([`match_heard`]): the 80th percentile
/// (index 8 of 0 %, 10 %, ..., 100 %), the loud part of a line.
pub const LOUD_QUANTILE: usize = 8;

/// Auto-adjust's loudness for `loudness_db`, given the input's quantiles `input` read from
/// `heard` voiced frames and the model's `target`: the level match (the input's loud part,
/// its [`LOUD_QUANTILE`], onto the model's: the level moves, the line's dynamics stay as
/// played) and, with `match_dynamics`, the quantile map ([`map_loudness`]), each trusting
/// the input's quantiles in proportion to the frames heard, up to [`LEVEL_FULL_FRAMES`] and
/// [`DYNAMICS_FULL_FRAMES`]. The level moves by that share of the difference between the
/// input's loud part and the model's; the map runs from quantiles blended between the input's
/// (so moved) and the model's own, so with little heard it is the identity and with enough
/// it is the full map. Quantiles of the first notes come from a few hundred frames: mapped in
/// full, a breath before a phrase played 30 dB louder than it was, and a decaying note fell
/// 25 dB below its neighbours (the first 3 s of a sung phrase had a loudness correlation of
/// 0.72–0.75 with the input, against 0.94–0.95 after).
pub fn match_heard(
    loudness_db: f32,
    input: &[f32; N_QUANTILES],
    target: &[f32; N_QUANTILES],
    heard: usize,
    match_dynamics: bool,
) -> f32 {
    let share = |full: usize| (heard as f32 / full as f32).min(1.0);
    let shift = share(LEVEL_FULL_FRAMES) * (target[LOUD_QUANTILE] - input[LOUD_QUANTILE]);
    let level = loudness_db + shift;
    if !match_dynamics {
        return level;
    }
    let trust = share(DYNAMICS_FULL_FRAMES);
    let blended: [f32; N_QUANTILES] =
        core::array::from_fn(|i| trust * (input[i] + shift) + (1.0 - trust) * target[i]);
    map_loudness(level, &blended, target)
}

/// Pulls `midi` toward the nearest semitone of a scale tuned `tuning` semitones away from
/// A = 440 Hz ([`InputStats::tuning_semitones`]) by `amount` (0: raw, 1: fully snapped).
pub fn autotune(midi: f32, tuning: f32, amount: f32) -> f32 {
    let note = (midi - tuning).round() + tuning;
    midi + amount.clamp(0.0, 1.0) * (note - midi)
}

/// An interval in semitones folded into −6..6: the same step to the nearest octave of its
/// target.
fn within_octave(semitones: f32) -> f32 {
    (semitones + 6.0).rem_euclid(12.0) - 6.0
}

/// The cosine and sine of `midi`'s place within its semitone, one turn per semitone.
fn semitone_phase(midi: f32) -> (f64, f64) {
    let turn = std::f64::consts::TAU * (midi as f64).fract();
    (turn.cos(), turn.sin())
}

/// Time constant of the low-pass that finds a vibrato's centre for the tuning, in frames
/// (150 ms of 1 ms frames: a 6 Hz vibrato is cut to a sixth).
pub const TUNING_CENTRE_FRAMES: f32 = 150.0;

/// A pitch at most this far from its vibrato's centre, in semitones, is steady: its centre
/// counts toward the tuning.
pub const TUNING_STEADY_SEMITONES: f32 = 0.5;

/// A pitch this far from the vibrato's centre, in semitones, is a new note: the centre jumps.
pub const TUNING_CENTRE_JUMP_SEMITONES: f32 = 1.0;

/// Voiced frames the input's tuning is read from at the least (0.2 s of 1 ms frames).
pub const TUNING_MIN_FRAMES: usize = 200;

/// Least mean resultant of the frames' places within their semitones for a tuning to be read
/// (1: every frame at the same place; 0: spread evenly).
pub const TUNING_MIN_AGREEMENT: f64 = 0.2;

/// One frame's inputs for the decoder and the synth, after every control was applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shaped {
    /// f0 to play, in Hz (held through unvoiced frames so glides never fall to 0 Hz).
    pub f0_hz: f32,
    /// Whether the frame passed the gate (the decoder sees f0 = 0 otherwise).
    pub voiced: bool,
    /// Loudness for the decoder, in dB.
    pub loudness_db: f32,
    /// Gate gain in [0, 1] applied to the synth output.
    pub gate_gain: f32,
}

/// The per-frame control stage: raw analysis frame in, shaped decoder inputs out.
pub struct ControlStage {
    /// Last voiced (shifted) f0, held through unvoiced frames.
    last_f0_hz: f32,
    /// Loudness of the last voiced frame (after every shift), in dB: the ceiling of what the
    /// decoder hears while the gate releases, so a consonant or a breath does not swell the
    /// instrument into a burst of noise.
    last_voiced_loudness_db: f32,
    /// Gate envelope.
    gate_gain: f32,
    /// Gain lost per frame while the gate releases.
    gate_release_per_frame: f32,
    /// Gain gained per frame while the gate opens.
    gate_attack_per_frame: f32,
    /// Milliseconds per frame.
    frame_ms: f32,
    /// Running input statistics for auto-adjust.
    stats: InputStats,
    /// Whether the frames come from MIDI notes: their pitch is on the semitones already and a
    /// pitch bend is played as bent, so autotune leaves them alone.
    from_notes: bool,
}

/// Frames below this confidence keep the gate's decision but do not move the pitch. Raised
/// from 0.7 (2026-12-07): the listener hears the violin on real singing better when the
/// pitch holds through the half-clear frames of a breathy voice (the low sung voice 0.29
/// against 0.12, the mean over nine sources 0.63 against 0.59; the other models unchanged),
/// for 0.2–0.7 points of pYIN agreement (README, "Results").
pub const PITCH_TRUST_CONFIDENCE: f32 = 0.8;

/// Gate attack time, as a share of the analysis window (at least one frame): short, so note
/// onsets keep their edge, and in step with the window, over which a note's loudness rises
/// (1.6 ms at the default 16 ms window, 3.2 ms at the 32 ms window of a 50 Hz lowest note). The
/// gate opens when the note fills part of the window, for the lowest notes about when it
/// reaches the window's centre, so the attack delays those onsets: a fixed 8 ms made them
/// 2.2 ms late at the 16 ms window; 0.2 of the window put single onsets up to 4.1 ms late at
/// the 60 Hz setting, 0.1 up to 2.2 ms (jitter 0.41–0.73 ms from 50 to 160 Hz against
/// 0.43–1.09 ms with 0.2, `tests/in_step.rs`); one frame (1 ms) moved them no closer.
pub const GATE_ATTACK_WINDOWS: f32 = 0.1;
/// Gate release time, in ms: long enough not to chatter, short enough to cut noise tails.
pub const GATE_RELEASE_MS: f32 = 80.0;

impl ControlStage {
    /// A control stage for frames arriving at `frame_rate_hz`. Allocates the history once.
    pub fn new(frame_rate_hz: f32) -> Self {
        let frame_ms = 1000.0 / frame_rate_hz;
        Self {
            last_f0_hz: 220.0,
            last_voiced_loudness_db: LOUDNESS_FLOOR_DB,
            gate_gain: 0.0,
            gate_release_per_frame: frame_ms / GATE_RELEASE_MS,
            gate_attack_per_frame: 1.0,
            frame_ms,
            stats: InputStats::new(),
            from_notes: false,
        }
    }

    /// Sets the gate attack for an analysis window of `window_ms` ([`GATE_ATTACK_WINDOWS`]
    /// of it, at least a frame; a new stage opens in one frame until this is called).
    /// Allocation-free.
    pub fn set_window_ms(&mut self, window_ms: f32) {
        let attack_ms = (GATE_ATTACK_WINDOWS * window_ms).max(self.frame_ms);
        self.gate_attack_per_frame = self.frame_ms / attack_ms;
    }

    /// Tells the stage whether its frames come from MIDI notes (autotune then leaves them
    /// alone) or from the analysis of an input. Allocation-free.
    pub fn set_from_notes(&mut self, from_notes: bool) {
        self.from_notes = from_notes;
    }

    /// Forgets the history and closes the gate.
    pub fn reset(&mut self) {
        self.last_f0_hz = 220.0;
        self.last_voiced_loudness_db = LOUDNESS_FLOOR_DB;
        self.gate_gain = 0.0;
        self.stats.reset();
    }

    /// The running input statistics.
    pub fn stats(&self) -> &InputStats {
        &self.stats
    }

    /// Applies every control to one analysed frame. `target` is the model's training
    /// statistics, used when `params.auto_adjust` is on.
    pub fn shape(
        &mut self,
        frame: &Frame,
        params: &crate::Params,
        target: Option<&TargetStats>,
    ) -> Shaped {
        let voiced = frame.confidence >= params.gate && frame.loudness_db > LOUDNESS_FLOOR_DB;
        let input_midi = hz_to_midi(frame.f0_hz);
        if voiced {
            self.stats.push(input_midi, frame.loudness_db);
        }
        let mut shift = params.semitones + params.cents / 100.0;
        let mut loudness = frame.loudness_db;
        if let (true, Some(target)) = (params.auto_adjust, target) {
            if let Some(mean) = self.stats.pitch_mean_midi() {
                shift += 12.0 * best_octave_shift(mean + shift, target.pitch_mean_midi) as f32;
            }
            if let Some(q) = self.stats.loudness_quantiles() {
                loudness = match_heard(
                    loudness,
                    &q,
                    &target.loudness_quantiles,
                    self.stats.len(),
                    params.match_dynamics,
                );
            }
        }
        loudness = (loudness + params.loudness_db).max(LOUDNESS_FLOOR_DB);
        // Unvoiced (a consonant, a breath, the end of a note): the instrument holds its note
        // and can only get quieter while the gate releases.
        if voiced {
            self.last_voiced_loudness_db = loudness;
        } else {
            loudness = loudness.min(self.last_voiced_loudness_db);
        }
        // Mixed windows at a note change can read a common subharmonic (220 → 330 Hz reads
        // 110 Hz for a few frames, at confidence ~0.6): only trusted frames move the pitch.
        if voiced && frame.confidence >= PITCH_TRUST_CONFIDENCE {
            // Autotune keeps the input's own tuning (a singer without a reference is often a
            // quarter of a semitone away from A = 440 Hz), then the shift moves the result.
            let amount = if self.from_notes {
                0.0
            } else {
                params.autotune_percent / 100.0
            };
            let midi = if amount > 0.0 {
                autotune(input_midi, self.stats.tuning_semitones(), amount)
            } else {
                input_midi
            } + shift;
            self.last_f0_hz = midi_to_hz(midi).clamp(20.0, 20_000.0);
        }
        self.gate_gain = if voiced {
            (self.gate_gain + self.gate_attack_per_frame).min(1.0)
        } else {
            (self.gate_gain - self.gate_release_per_frame).max(0.0)
        };
        Shaped {
            f0_hz: self.last_f0_hz,
            voiced,
            loudness_db: loudness,
            gate_gain: self.gate_gain,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midi_conversions_round_trip() {
        assert!((hz_to_midi(440.0) - 69.0).abs() < 1e-5);
        assert!((hz_to_midi(880.0) - 81.0).abs() < 1e-4);
        assert!((midi_to_hz(hz_to_midi(123.4)) - 123.4).abs() < 1e-3);
    }

    #[test]
    fn octave_choice_brings_means_closest() {
        // A male voice around C3 (48) into a violin around A4 (69): +2 octaves (72) is 3
        // semitones off, +1 octave (60) 9 off.
        assert_eq!(best_octave_shift(48.0, 69.0), 2);
        assert_eq!(best_octave_shift(69.0, 69.0), 0);
        assert_eq!(best_octave_shift(90.0, 50.0), -3);
    }

    #[test]
    fn quantile_mapping_sends_quantiles_onto_quantiles() {
        let input: [f32; N_QUANTILES] = core::array::from_fn(|i| -60.0 + 4.0 * i as f32);
        let target: [f32; N_QUANTILES] = core::array::from_fn(|i| -40.0 + 3.0 * i as f32);
        for i in 0..N_QUANTILES {
            assert!((map_loudness(input[i], &input, &target) - target[i]).abs() < 1e-4);
        }
        // Midway between two quantiles maps midway.
        assert!((map_loudness(-58.0, &input, &target) - (-38.5)).abs() < 1e-4);
        // Beyond the ends: slope 1.
        assert!((map_loudness(-70.0, &input, &target) - (-50.0)).abs() < 1e-4);
    }

    #[test]
    fn auto_adjust_trusts_the_input_quantiles_as_far_as_it_has_heard() {
        let input: [f32; N_QUANTILES] = core::array::from_fn(|i| -60.0 + 3.0 * i as f32);
        let target: [f32; N_QUANTILES] = core::array::from_fn(|i| -70.0 + 6.0 * i as f32);
        // The loud parts: input −36 dB, model −22 dB, 14 dB apart.
        let gap = target[LOUD_QUANTILE] - input[LOUD_QUANTILE];
        for x in [-65.0, -50.0, -41.0, -30.0] {
            for dynamics in [false, true] {
                // Nothing heard: the input is played as it is.
                assert_eq!(match_heard(x, &input, &target, 0, dynamics), x);
            }
            // Heard in full: the level match, or the whole quantile map.
            let full = DYNAMICS_FULL_FRAMES;
            assert!((match_heard(x, &input, &target, full, false) - (x + gap)).abs() < 1e-4);
            let mapped = map_loudness(x, &input, &target);
            assert!((match_heard(x, &input, &target, full, true) - mapped).abs() < 1e-4);
            // Halfway to the level's count, half the level's move.
            let half = LEVEL_FULL_FRAMES / 2;
            let moved = match_heard(x, &input, &target, half, false) - x;
            assert!((moved - gap / 2.0).abs() < 1e-4, "{moved}");
        }
        // At every count the curve keeps the order of the input's levels.
        for heard in [
            1,
            LEVEL_FULL_FRAMES / 3,
            LEVEL_FULL_FRAMES,
            DYNAMICS_FULL_FRAMES / 2,
        ] {
            let curve: Vec<f32> = (0..400)
                .map(|k| match_heard(-80.0 + 0.2 * k as f32, &input, &target, heard, true))
                .collect();
            assert!(curve.windows(2).all(|w| w[1] >= w[0]), "heard {heard}");
        }
    }

    /// The first note of a take: 0.4 s held about −20 dB, then a 12 dB decay over 0.2 s, into a
    /// model whose training loudness spans −80 to −8 dB (the violin's). The quantiles of
    /// those 600 frames, trusted in full, put the decay in their lowest third and stretched
    /// it over most of the model's range; trusted as far as heard, it keeps its shape.
    #[test]
    fn the_first_note_of_a_take_keeps_its_dynamics_with_match_dynamics() {
        let target = TargetStats {
            pitch_mean_midi: 69.0,
            loudness_quantiles: [
                -80.0, -44.1, -35.7, -29.0, -23.4, -19.8, -18.1, -16.8, -15.7, -14.4, -7.9,
            ],
        };
        let params = crate::Params {
            auto_adjust: true,
            match_dynamics: true,
            ..crate::Params::default()
        };
        // Held with a ±1.5 dB swell (a bow or a breath is never quite steady).
        let level = |k: usize| {
            -20.0 + 1.5 * (k.min(400) as f32 * 0.03).sin()
                - 12.0 * k.saturating_sub(400) as f32 / 200.0
        };
        let mut stage = ControlStage::new(1000.0);
        let mut played = Vec::new();
        let mut trusted_in_full = Vec::new();
        for k in 0..600 {
            let frame = Frame {
                f0_hz: 220.0,
                confidence: 0.95,
                loudness_db: level(k),
            };
            played.push(stage.shape(&frame, &params, Some(&target)).loudness_db);
            let q = stage.stats().loudness_quantiles().unwrap();
            let all = DYNAMICS_FULL_FRAMES;
            let q_target = &target.loudness_quantiles;
            trusted_in_full.push(match_heard(level(k), &q, q_target, all, true));
        }
        let decay = |v: &[f32]| v[400] - v[599];
        assert!(
            decay(&trusted_in_full) > 30.0,
            "{}",
            decay(&trusted_in_full)
        );
        let kept = decay(&played);
        assert!(
            (10.0..=14.0).contains(&kept),
            "a 12 dB decay played as {kept} dB"
        );
    }

    #[test]
    fn running_stats_match_direct_computation() {
        let mut stats = InputStats::new();
        let mut values = Vec::new();
        for i in 0..HISTORY_FRAMES + 700 {
            let midi = 50.0 + (i % 13) as f32;
            let loud = -60.0 + ((i * 7) % 50) as f32;
            stats.push(midi, loud);
            values.push((midi, loud));
        }
        let kept = &values[values.len() - HISTORY_FRAMES..];
        let mean = kept.iter().map(|v| v.0 as f64).sum::<f64>() / kept.len() as f64;
        assert!((stats.pitch_mean_midi().unwrap() as f64 - mean).abs() < 1e-3);
        let mut sorted: Vec<f32> = kept.iter().map(|v| v.1).collect();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let q = stats.loudness_quantiles().unwrap();
        for (i, &value) in q.iter().enumerate() {
            let idx = ((i as f32 / 10.0) * (sorted.len() - 1) as f32).round() as usize;
            assert!(
                (value - sorted[idx]).abs() <= 1.0,
                "quantile {i}: {value} vs {}",
                sorted[idx]
            );
        }
    }

    #[test]
    fn autotune_zero_is_raw_and_one_snaps() {
        assert_eq!(autotune(60.3, 0.0, 0.0), 60.3);
        assert_eq!(autotune(60.3, 0.0, 1.0), 60.0);
        assert!((autotune(60.3, 0.0, 0.5) - 60.15).abs() < 1e-5);
        // On a scale 0.4 semitones sharp, 60.3 is nearest 60.4, and 60.85 nearest 60.4 too.
        assert!((autotune(60.3, 0.4, 1.0) - 60.4).abs() < 1e-5);
        assert!((autotune(60.85, 0.4, 1.0) - 60.4).abs() < 1e-5);
    }

    /// A singer 30 cents sharp of A = 440 Hz, with a ±40 cent vibrato, over several notes (and
    /// an octave error now and then) reads +0.30 semitones; one 45 cents flat reads −0.45; a
    /// glide over every place within the semitone reads no tuning; too few frames read none.
    #[test]
    fn the_input_tuning_is_the_circular_mean_of_the_places_within_the_semitone() {
        let read = |midi: &dyn Fn(usize) -> f32, frames: usize| {
            let mut stats = InputStats::new();
            for k in 0..frames {
                stats.push(midi(k), -20.0);
            }
            stats.tuning_semitones()
        };
        let sharp = |k: usize| {
            let note = [57.0, 60.0, 64.0, 62.0][k / 500 % 4]
                + if k.is_multiple_of(97) { 12.0 } else { 0.0 };
            note + 0.3 + 0.4 * (k as f32 * 0.04).sin()
        };
        // Within 3 cents (the frames just after each note change, before the centre has
        // settled, still carry some of the vibrato).
        assert!(
            (read(&sharp, 4000) - 0.30).abs() < 0.03,
            "{}",
            read(&sharp, 4000)
        );
        assert!((read(&|k| 69.0 - 0.45 + 0.001 * (k % 7) as f32, 1000) + 0.45).abs() < 0.01);
        assert_eq!(read(&|k| 60.0 + k as f32 / 1000.0, 3000), 0.0);
        assert_eq!(read(&sharp, TUNING_MIN_FRAMES - 1), 0.0);
        // Past the history, the oldest frames leave the reading: 12 s at +0.3, then 10 s at −0.2.
        let moved = |k: usize| if k < 12_000 { 60.3 } else { 60.8 };
        assert!(
            (read(&moved, 22_000) + 0.2).abs() < 0.01,
            "{}",
            read(&moved, 22_000)
        );
    }

    #[test]
    fn gate_closes_on_unvoiced_frames_and_holds_pitch() {
        let mut stage = ControlStage::new(250.0);
        let params = crate::Params::default();
        let voiced = Frame {
            f0_hz: 330.0,
            confidence: 0.95,
            loudness_db: -20.0,
        };
        let noise = Frame {
            f0_hz: 1234.0,
            confidence: 0.1,
            loudness_db: -20.0,
        };
        for _ in 0..10 {
            stage.shape(&voiced, &params, None);
        }
        let open = stage.shape(&voiced, &params, None);
        assert_eq!(open.gate_gain, 1.0);
        let mut last = open;
        for _ in 0..100 {
            last = stage.shape(&noise, &params, None);
        }
        assert_eq!(last.gate_gain, 0.0);
        assert!(!last.voiced);
        assert!((last.f0_hz - 330.0).abs() < 1e-2, "held f0 {}", last.f0_hz);
    }

    #[test]
    fn half_clear_frames_sound_but_do_not_move_the_pitch() {
        let mut stage = ControlStage::new(250.0);
        let params = crate::Params::default();
        let at = |f0_hz: f32, confidence: f32| Frame {
            f0_hz,
            confidence,
            loudness_db: -20.0,
        };
        for _ in 0..10 {
            stage.shape(&at(330.0, 0.95), &params, None);
        }
        // Above the gate but below the pitch trust: voiced, the pitch holds.
        let half = stage.shape(&at(290.0, PITCH_TRUST_CONFIDENCE - 0.05), &params, None);
        assert!(half.voiced);
        assert!((half.f0_hz - 330.0).abs() < 1e-2, "moved to {}", half.f0_hz);
        // At the trust: the pitch moves at once.
        let clear = stage.shape(&at(290.0, PITCH_TRUST_CONFIDENCE), &params, None);
        assert!(
            (clear.f0_hz - 290.0).abs() < 1e-2,
            "held at {}",
            clear.f0_hz
        );
    }

    /// Auto-adjust without Match dynamics moves the level only: every frame is shifted by the
    /// same dB, the input's 80th percentile onto the model's; with it, the input's spread is
    /// reshaped onto the model's.
    #[test]
    fn without_match_dynamics_auto_adjust_shifts_the_level_and_keeps_the_dynamics() {
        // A model whose loud part sits at −10 dB and whose range spans 40 dB.
        let target = TargetStats {
            pitch_mean_midi: 57.0,
            loudness_quantiles: core::array::from_fn(|i| -50.0 + 4.0 * i as f32),
        };
        // A line swinging between −45 and −35 dB (10 dB of dynamics).
        let level = |k: usize| -40.0 + 5.0 * (k as f32 * 0.05).sin();
        let frame = |k: usize| Frame {
            f0_hz: 220.0,
            confidence: 0.95,
            loudness_db: level(k),
        };
        let run = |match_dynamics: bool| {
            let params = crate::Params {
                auto_adjust: true,
                match_dynamics,
                ..crate::Params::default()
            };
            let mut stage = ControlStage::new(250.0);
            (0..3_000)
                .map(|k| stage.shape(&frame(k), &params, Some(&target)).loudness_db - level(k))
                .skip(2_500)
                .collect::<Vec<f32>>()
        };
        let shifts = run(false);
        let (lo, hi) = shifts
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        // (The running percentile is read off a histogram of HIST_DB_PER_BIN bins and follows
        // the sliding 10 s history, so it may step by a bin.)
        assert!(
            hi - lo <= HIST_DB_PER_BIN + 1e-3,
            "the shift varies by {} dB",
            hi - lo
        );
        // The input's 80th percentile is about −36 dB (5·sin 0.94 ≈ 4 dB over −40), the
        // model's −18 dB: a shift of about +18 dB.
        assert!((lo - 18.0).abs() < 1.5, "shift {lo} dB");
        // Matching the dynamics stretches the 10 dB swing over the model's 40 dB: the shift
        // varies by tens of dB.
        let reshaped = run(true);
        let spread = reshaped.iter().cloned().fold(f32::MIN, f32::max)
            - reshaped.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread > 10.0, "{spread}");
    }

    /// A sung consonant or breath (loud, unvoiced) after a note: the instrument holds the
    /// note's pitch and gets no louder than it was, so it fades instead of bursting into noise.
    #[test]
    fn a_loud_consonant_fades_the_held_note_instead_of_swelling() {
        let mut stage = ControlStage::new(250.0);
        let params = crate::Params::default();
        let note = Frame {
            f0_hz: 220.0,
            confidence: 0.95,
            loudness_db: -30.0,
        };
        let sibilant = Frame {
            f0_hz: 3000.0,
            confidence: 0.1,
            loudness_db: -12.0,
        };
        for _ in 0..20 {
            stage.shape(&note, &params, None);
        }
        let mut gains = Vec::new();
        for _ in 0..10 {
            let s = stage.shape(&sibilant, &params, None);
            assert!(s.loudness_db <= -30.0, "swelled to {} dB", s.loudness_db);
            assert!((s.f0_hz - 220.0).abs() < 1e-2);
            gains.push(s.gate_gain);
            // While the gate releases, the decoder keeps the held pitch.
            let (f0, _) = crate::Voice::decoder_inputs(&s);
            assert!(s.gate_gain == 0.0 || f0 > 0.0);
        }
        assert!(
            gains.windows(2).all(|w| w[1] < w[0] || w[1] == 0.0),
            "{gains:?}"
        );
        // A quieter unvoiced frame is followed down.
        let breath = Frame {
            loudness_db: -50.0,
            ..sibilant
        };
        assert_eq!(stage.shape(&breath, &params, None).loudness_db, -50.0);
    }
}
