//! A [`Voice`]: everything that depends on one model, built off the audio thread.
//!
//! Building a voice parses nothing (the [`ModelFile`] is already validated) but it allocates:
//! the decoder's rings, the synth's buffers, and the convolutions of the model's body and
//! room, whose impulse response is resampled from the model's rate to the host rate and cut
//! in two here ([`split_ir`]). The finished voice then moves to the
//! audio thread through the [`VoiceFactory`](crate::VoiceFactory)'s ring, where
//! [`Voice::on_frame`], [`Voice::render_synth`] and [`Voice::reverberate`] never allocate,
//! lock or log.

use timbre_dsp::decorrelate::Decorrelator;
use timbre_dsp::harmonic::{HarmonicBank, MAX_HARMONICS};
use timbre_dsp::noise::FilteredNoise;
use timbre_dsp::reverb::ConvolutionReverb;
use timbre_dsp::smooth::LinearSmoother;
use timbre_model::{apply_body, normalize_harmonics, scale_f0, scale_loudness, Decoder, ModelFile};

use crate::controls::{Shaped, TargetStats, N_QUANTILES};
use crate::error::EngineError;
use crate::factory::CONTROL_STEPS;
use crate::humanize::Drift;
use crate::ir::{body_delay_seconds, minimum_phase_body, resample_ir, split_ir};
use crate::manual::ManualControls;
use crate::params::db_to_gain;

/// Level of the reverb's side (`left = mid + side`, `right = mid − side`) against its
/// middle. 0.6 leaves the wet left/right correlation near (1 − 0.36)/(1 + 0.36) ≈ 0.47 and
/// raises each channel's wet level by 1.3 dB, while the mono sum stays exactly the plain
/// reverb.
pub const STEREO_WIDTH: f32 = 0.6;

/// How long a voice takes to move between its learned and its minimum-phase body when the
/// Low latency switch changes, in seconds.
pub const MODE_FADE_SECONDS: f64 = 0.02;

/// Most control steps of decoder input the engine keeps to warm up a new voice (the
/// receptive field of the shipped models is 55 frames, 217 steps).
pub const WARMUP_STEPS: usize = 1024;

/// One model, ready to play at one host rate.
pub struct Voice {
    /// Display name of the model.
    name: String,
    /// The network, streaming.
    decoder: Decoder,
    /// The model's Nyquist frequency: harmonics at or above it are zeroed, as in training.
    model_nyquist_hz: f32,
    /// Auto-adjust targets from the model's dataset statistics.
    target: Option<TargetStats>,
    /// Harmonic oscillators at the host rate.
    harmonics: HarmonicBank,
    /// Filtered noise at the host rate.
    noise: FilteredNoise,
    /// The body part of the model's learned IR at the host rate (always played; see
    /// [`crate::ir`]): `[0]` as learned, `[1]` in minimum phase ([`minimum_phase_body`],
    /// played with Low latency on). Only the one that plays runs, but while the switch moves.
    bodies: [ConvolutionReverb; 2],
    /// Which body plays, and the move to the other.
    switch: BodySwitch,
    /// The power-weighted group delay of each body with the direct path, in host samples
    /// ([`body_delay_seconds`]).
    body_delay: [f64; 2],
    /// The room part of the model's learned IR at the host rate (scaled by the reverb knob):
    /// the middle of the stereo image (and the whole of a mono output).
    room: ConvolutionReverb,
    /// Makes the side of the stereo room from its wet signal; the side is added to the left
    /// channel and subtracted from the right, so the mono sum is the plain room.
    decorrelator: Decorrelator,
    /// The model's body response in dB (empty when it has none; see `timbre_model::body`).
    body_db: Vec<f32>,
    /// Per-harmonic amplitudes of the current frame.
    amplitudes: Vec<f32>,
    /// Noise magnitudes of the current frame.
    magnitudes: Vec<f32>,
    /// Scratch: the noise part of a block.
    noise_buf: Vec<f32>,
    /// Scratch: the body's output.
    body_buf: Vec<f32>,
    /// Scratch: the output of the body the switch moves to.
    spare_buf: Vec<f32>,
    /// Scratch: the room's wet signal.
    wet_buf: Vec<f32>,
    /// Scratch: the room's side signal.
    side_buf: Vec<f32>,
}

impl Voice {
    /// Builds a voice for `model` at `host_rate`, for blocks of at most `max_block` samples.
    /// Allocates; call it off the audio thread.
    pub fn new(model: &ModelFile, host_rate: f64, max_block: usize) -> Result<Self, EngineError> {
        let meta = model.metadata();
        let arch = model.architecture();
        if arch.n_harmonics > MAX_HARMONICS {
            return Err(EngineError::UnsupportedModel(format!(
                "{} harmonics (the synth plays at most {MAX_HARMONICS})",
                arch.n_harmonics
            )));
        }
        let model_nyquist_hz = meta.sample_rate_hz as f32 / 2.0;
        let ir_rate = meta.reverb_sample_rate_hz as f64;
        let ir = resample_ir(model.reverb_ir(), ir_rate, host_rate)?;
        let (body_ir, room_ir) = split_ir(&ir, host_rate);
        let (model_body, _) = split_ir(model.reverb_ir(), ir_rate);
        let tight_ir = minimum_phase_body(&model_body, ir_rate, host_rate);
        let body_delay =
            [&body_ir, &tight_ir].map(|b| body_delay_seconds(b, host_rate) * host_rate);
        let q = &meta.dataset.loudness_quantiles_db;
        let target = (q.len() >= 2).then(|| TargetStats {
            pitch_mean_midi: meta.dataset.pitch_mean_midi,
            // Resample the model's quantiles onto the engine's 11 evenly spaced ones.
            loudness_quantiles: core::array::from_fn(|i| {
                let pos = i as f32 / (N_QUANTILES - 1) as f32 * (q.len() - 1) as f32;
                let lo = (pos as usize).min(q.len() - 2);
                let t = pos - lo as f32;
                q[lo] * (1.0 - t) + q[lo + 1] * t
            }),
        });
        Ok(Self {
            name: meta.name.clone(),
            decoder: Decoder::interleaved(model, CONTROL_STEPS),
            model_nyquist_hz,
            target,
            harmonics: HarmonicBank::new(host_rate),
            noise: FilteredNoise::new(host_rate, arch.n_noise_bands, model_nyquist_hz, 0x5EED),
            decorrelator: Decorrelator::new(host_rate),
            bodies: [
                ConvolutionReverb::new(&body_ir, max_block),
                ConvolutionReverb::new(&tight_ir, max_block),
            ],
            switch: BodySwitch::new(host_rate),
            body_delay,
            room: ConvolutionReverb::new(&room_ir, max_block),
            body_db: model.body_response_db().to_vec(),
            amplitudes: vec![0.0; arch.n_harmonics],
            magnitudes: vec![0.0; arch.n_noise_bands],
            noise_buf: vec![0.0; max_block],
            body_buf: vec![0.0; max_block],
            spare_buf: vec![0.0; max_block],
            wet_buf: vec![0.0; max_block],
            side_buf: vec![0.0; max_block],
        })
    }

    /// The model's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The auto-adjust targets, if the model has dataset statistics.
    pub fn target(&self) -> Option<&TargetStats> {
        self.target.as_ref()
    }

    /// The decoder's receptive field in control steps.
    pub fn receptive_field(&self) -> usize {
        self.decoder.receptive_field_steps()
    }

    /// The decoder's last output (amplitude, harmonic distribution, noise), for meters.
    pub fn last_controls(&self) -> &timbre_model::Controls {
        self.decoder.controls()
    }

    /// Silences the voice and clears every history.
    pub fn reset(&mut self) {
        self.decoder.reset();
        self.harmonics.reset();
        self.noise.reset();
        self.reset_reverb();
    }

    /// Clears the body, the room and its decorrelator (a reverb that is fed again after a
    /// pause in a morph starts from silence).
    pub fn reset_reverb(&mut self) {
        for body in &mut self.bodies {
            body.reset();
        }
        self.switch.reset();
        self.room.reset();
        self.decorrelator.reset();
    }

    /// How long the voice keeps sounding after its controls fall silent, in host samples: the
    /// room's tail (the body's is shorter).
    pub fn tail_samples(&self) -> usize {
        self.room.ir_len().max(self.bodies[0].ir_len()) + self.decorrelator.tail_samples()
    }

    /// Runs the decoder on past inputs (oldest first) so a voice that starts mid-stream has
    /// the same history as one that played all along. Allocation-free.
    pub fn warm_up(&mut self, inputs: impl Iterator<Item = (f32, f32)>) {
        self.decoder.reset();
        for (f0, loudness) in inputs {
            self.decoder.step(f0, loudness);
        }
    }

    /// The decoder inputs for a shaped frame: (scaled f0, scaled loudness). While the gate
    /// is open the held pitch stays (a consonant or a breath does not turn the instrument
    /// into its "no pitch" sound); once it has closed the decoder sees f0 = 0, as in training
    /// on silence.
    pub fn decoder_inputs(shaped: &Shaped) -> (f32, f32) {
        let f0 = if shaped.voiced || shaped.gate_gain > 0.0 {
            scale_f0(shaped.f0_hz)
        } else {
            0.0
        };
        (f0, scale_loudness(shaped.loudness_db))
    }

    /// Runs the decoder on one frame and sets the synth's targets, ramping over
    /// `ramp_samples`: [`Voice::decode`] then [`Voice::retarget`]. Allocation-free.
    pub fn on_frame(
        &mut self,
        shaped: &Shaped,
        harmonic_gain_db: f32,
        noise_gain_db: f32,
        ramp_samples: u32,
        manual: Option<&ManualControls>,
    ) {
        self.decode(shaped, harmonic_gain_db, noise_gain_db, manual);
        self.retarget(shaped.f0_hz, ramp_samples, &Drift::NONE);
    }

    /// Runs the decoder on one frame and computes the synth's targets (per-harmonic
    /// amplitudes and noise magnitudes, gated and scaled) without handing them to the synth
    /// yet: a morph blends another voice's targets in first ([`Voice::blend_toward`]). With
    /// `manual`, the targets come from those controls instead of the decoder's (the decoder
    /// still steps, so [`Voice::last_controls`] stays live). Allocation-free.
    pub fn decode(
        &mut self,
        shaped: &Shaped,
        harmonic_gain_db: f32,
        noise_gain_db: f32,
        manual: Option<&ManualControls>,
    ) {
        let (f0_in, loudness_in) = Self::decoder_inputs(shaped);
        let controls = self.decoder.step(f0_in, loudness_in);
        let gate = shaped.gate_gain;
        let amplitude = match manual {
            Some(m) => m.write_into(&mut self.amplitudes, &mut self.magnitudes),
            None => {
                self.amplitudes.copy_from_slice(&controls.harmonics);
                // The model's body response shapes its distribution in Hz (hand-set
                // controls are played as set).
                apply_body(&mut self.amplitudes, shaped.f0_hz, &self.body_db);
                for (m, &c) in self.magnitudes.iter_mut().zip(&controls.noise) {
                    *m = c;
                }
                controls.amplitude
            }
        };
        normalize_harmonics(&mut self.amplitudes, shaped.f0_hz, self.model_nyquist_hz);
        let harmonic_scale = amplitude * gate * db_to_gain(harmonic_gain_db);
        for a in &mut self.amplitudes {
            *a *= harmonic_scale;
        }
        let noise_scale = gate * db_to_gain(noise_gain_db);
        for m in &mut self.magnitudes {
            *m *= noise_scale;
        }
    }

    /// Moves this voice's targets a fraction `t` (0..1) of the way to `other`'s: the
    /// harmonics and the noise each keep the power blend of the two shapes (every harmonic's
    /// and noise band's amplitude `√((1 − t)·a² + t·b²)`: an amplitude blend of two different
    /// spectra would dip by up to 6 dB halfway) at the level interpolated in dB between the
    /// two (what a fader does). `t = 0` leaves the targets exactly as they are and `t = 1`
    /// makes them exactly `other`'s. Harmonics match by number (those `other` lacks count as
    /// silent); noise bands by index when both voices have the same number, otherwise by
    /// relative position in the band. Allocation-free.
    pub fn blend_toward(&mut self, other: &Voice, t: f32) {
        blend_power(&mut self.amplitudes, t, |i| {
            other.amplitudes.get(i).copied().unwrap_or(0.0)
        });
        let (own, theirs) = (self.magnitudes.len(), other.magnitudes.len());
        blend_power(&mut self.magnitudes, t, |i| {
            if own == theirs {
                other.magnitudes[i]
            } else {
                let pos = i as f32 * (theirs - 1) as f32 / (own - 1).max(1) as f32;
                let lo = (pos as usize).min(theirs.saturating_sub(2));
                let frac = pos - lo as f32;
                other.magnitudes[lo] * (1.0 - frac)
                    + other.magnitudes.get(lo + 1).copied().unwrap_or(0.0) * frac
            }
        });
    }

    /// Hands the targets of the last [`Voice::decode`] (and blends) to the synth, moved by
    /// `drift` (see [`crate::humanize`]): the harmonics glide to `f0_hz` and their amplitudes
    /// over `ramp_samples`. The drift reshapes the harmonics but keeps their total power, so
    /// it moves the timbre and not the level. Allocation-free.
    pub fn retarget(&mut self, f0_hz: f32, ramp_samples: u32, drift: &Drift) {
        if drift.active {
            let before: f32 = self.amplitudes.iter().map(|a| a * a).sum();
            for (a, g) in self.amplitudes.iter_mut().zip(&drift.harmonic_gains) {
                *a *= g;
            }
            let after: f32 = self.amplitudes.iter().map(|a| a * a).sum();
            if after > 0.0 {
                let keep = (before / after).sqrt();
                self.amplitudes.iter_mut().for_each(|a| *a *= keep);
            }
        }
        self.harmonics
            .set_target(f0_hz * drift.pitch_ratio, &self.amplitudes, ramp_samples);
        self.noise.set_magnitudes(&self.magnitudes);
    }

    /// Renders `out.len()` samples (at most `max_block`) of the synth, harmonics plus noise,
    /// into `out` (overwriting it).
    pub fn render_synth(&mut self, out: &mut [f32]) {
        let n = out.len();
        self.harmonics.process(out);
        let noise = &mut self.noise_buf[..n];
        self.noise.process(noise);
        for (o, x) in out.iter_mut().zip(noise.iter()) {
            *o += x;
        }
    }

    /// Whether this voice's body and room can blend toward `other`'s (their convolutions
    /// cut the IR alike, as two models' IRs of the same length are).
    pub fn blends_with(&self, other: &Voice) -> bool {
        self.bodies
            .iter()
            .zip(&other.bodies)
            .all(|(a, b)| a.blends_with(b))
            && self.room.blends_with(&other.room)
    }

    /// How much later than its dry synth this voice's body makes it heard, in host samples:
    /// the power-weighted group delay over 150 Hz–4 kHz of the learned body with the direct
    /// path, or in `low_latency` mode of the minimum-phase one ([`body_delay_seconds`]).
    pub fn body_delay_samples(&self, low_latency: bool) -> f64 {
        self.body_delay[usize::from(low_latency)]
    }

    /// Runs the body and the room on `input` (at most `max_block` samples) and returns the
    /// body's output, the room's wet middle and its decorrelated side (see [`stereo_mix`]),
    /// held in the voice's scratch buffers. With `toward`, both blend toward the other
    /// voice's at the per-sample amounts given ([`ConvolutionReverb::process_toward`]; the
    /// other voice is only read). `low_latency` picks the minimum-phase body; when it
    /// changes, the other body first hears the body's length of input, so that it plays
    /// exactly as if it had run all along, then the two crossfade over [`MODE_FADE_SECONDS`].
    pub fn reverberate(
        &mut self,
        input: &[f32],
        toward: Option<(&Voice, &[f32])>,
        low_latency: bool,
    ) -> Wet<'_> {
        let n = input.len();
        let body = &mut self.body_buf[..n];
        let spare = &mut self.spare_buf[..n];
        let mid = &mut self.wet_buf[..n];
        let goal = usize::from(low_latency);
        let switch = &mut self.switch;
        let body_len = self.bodies[0].ir_len();
        if switch.start(goal, body_len) {
            self.bodies[goal].reset();
        }
        let (playing, next) = (switch.playing, 1 - switch.playing);
        let [learned, tight] = &mut self.bodies;
        let (main, other) = if playing == 0 {
            (learned, tight)
        } else {
            (tight, learned)
        };
        match toward {
            Some((voice, amounts)) => {
                main.process_toward(input, body, &voice.bodies[playing], amounts);
                if switch.moving {
                    other.process_toward(input, spare, &voice.bodies[next], amounts);
                }
                self.room.process_toward(input, mid, &voice.room, amounts);
            }
            None => {
                main.process(input, body);
                if switch.moving {
                    other.process(input, spare);
                }
                self.room.process(input, mid);
            }
        }
        if switch.moving {
            switch.advance(goal, body, spare);
        }
        let side = &mut self.side_buf[..n];
        self.decorrelator.process(mid, side);
        Wet { body, mid, side }
    }
}

/// Which of a voice's two bodies plays (`0`: as learned, `1`: minimum phase), and the move
/// from one to the other when the Low latency switch changes (see [`Voice::reverberate`]).
#[derive(Clone, Debug)]
struct BodySwitch {
    /// The body that plays.
    playing: usize,
    /// Whether the other body is warming up or fading in.
    moving: bool,
    /// Input samples the other body still has to hear before it is heard.
    warm_left: usize,
    /// How much of the other body is heard, 0..1: it glides over [`MODE_FADE_SECONDS`].
    fade: LinearSmoother,
    /// After a reset both bodies are silent: the next block plays the one asked for at once.
    snap: bool,
}

impl BodySwitch {
    /// A switch at `host_rate` that plays whichever body the first block asks for.
    fn new(host_rate: f64) -> Self {
        Self {
            playing: 0,
            moving: false,
            warm_left: 0,
            fade: LinearSmoother::with_time(0.0, (MODE_FADE_SECONDS * 1e3) as f32, host_rate),
            snap: true,
        }
    }

    /// Both bodies have been cleared: the next block plays the one asked for at once.
    fn reset(&mut self) {
        self.moving = false;
        self.warm_left = 0;
        self.fade.reset(0.0);
        self.snap = true;
    }

    /// Before a block: plays `goal` at once after a reset, or starts moving toward it (a
    /// warm-up of `body_len` samples). Returns whether the body `goal` has to be reset first.
    fn start(&mut self, goal: usize, body_len: usize) -> bool {
        if self.snap {
            self.playing = goal;
            self.snap = false;
            return false;
        }
        if self.moving || goal == self.playing {
            return false;
        }
        self.moving = true;
        self.warm_left = body_len;
        self.fade.reset(0.0);
        true
    }

    /// After a block: counts down the warm-up, then crossfades `body` (the playing body's
    /// output) toward `spare` (the other's), or back when `goal` has returned to the playing
    /// body; the other body plays alone once the fade is complete.
    fn advance(&mut self, goal: usize, body: &mut [f32], spare: &[f32]) {
        if self.warm_left > 0 {
            self.warm_left = self.warm_left.saturating_sub(body.len());
            return;
        }
        self.fade
            .set_target(if goal == self.playing { 0.0 } else { 1.0 });
        for (b, &x) in body.iter_mut().zip(spare) {
            *b += self.fade.next_value() * (x - *b);
        }
        if self.fade.is_smoothing() {
            return;
        }
        if self.fade.value() >= 1.0 {
            self.playing = 1 - self.playing;
            self.fade.reset(0.0);
        }
        self.moving = false;
    }
}

/// What a voice's body and room add to its dry synth over one chunk.
#[derive(Clone, Copy)]
pub struct Wet<'a> {
    /// The body's output (`dry ∗ body`), played whatever the reverb knob says.
    pub body: &'a [f32],
    /// The room's output (`dry ∗ room`), the middle of the stereo room.
    pub mid: &'a [f32],
    /// The room's decorrelated side.
    pub side: &'a [f32],
}

/// Level of the trained mix `dry + dry ∗ ir` in the output: half, the level the engine has
/// always played it at.
pub const MIX_LEVEL: f32 = 0.5;

/// Mixes a voice's body, room middle and side (`wet`) over its dry synth output `dry` into
/// `left` and `right`, with the per-sample reverb amounts in `amount` (0..1, the knob):
/// `MIX_LEVEL · (dry + body + 2w · (mid ± side·`[`STEREO_WIDTH`]`))`. At `w = 0.5` that is
/// the mix the model was trained on (the room as learned); at 0 the instrument without its
/// room, at 1 with twice the room. The two channels differ only by the side, so
/// `(left + right) / 2` is the mono mix.
pub fn stereo_mix(dry: &[f32], amount: &[f32], wet: Wet<'_>, left: &mut [f32], right: &mut [f32]) {
    for i in 0..dry.len() {
        (left[i], right[i]) = mix_sample(dry[i], wet.body[i], wet.mid[i], wet.side[i], amount[i]);
    }
}

/// One sample of [`stereo_mix`], `(left, right)`, from the dry synth, the body, the room's
/// middle and side (each summed over the voices that play) and the reverb amount `w`.
#[inline(always)]
pub(crate) fn mix_sample(dry: f32, body: f32, mid: f32, side: f32, w: f32) -> (f32, f32) {
    let room = 2.0 * w;
    let centre = MIX_LEVEL * (dry + body + mid * room);
    let spread = MIX_LEVEL * side * room * STEREO_WIDTH;
    (centre + spread, centre - spread)
}

/// Blends `own` toward the values `other(i)` a fraction `t` of the way (see
/// [`Voice::blend_toward`]): the power blend of the two shapes, scaled to the dB
/// interpolation of their total powers (the power blend alone when either is silent). Exact
/// at `t = 0` (unchanged) and `t = 1` (`other`'s).
fn blend_power(own: &mut [f32], t: f32, other: impl Fn(usize) -> f32) {
    if t <= 0.0 {
        return;
    }
    if t >= 1.0 {
        for (i, a) in own.iter_mut().enumerate() {
            *a = other(i);
        }
        return;
    }
    let keep = 1.0 - t;
    let (mut own_power, mut other_power, mut blend_power) = (0.0f32, 0.0f32, 0.0f32);
    for (i, a) in own.iter_mut().enumerate() {
        let b = other(i);
        own_power += *a * *a;
        other_power += b * b;
        *a = (keep * *a * *a + t * b * b).sqrt();
        blend_power += *a * *a;
    }
    if own_power > 0.0 && other_power > 0.0 && blend_power > 0.0 {
        // Total power own^(1 − t) · other^t, i.e. its dB value interpolated linearly.
        let target = own_power.powf(keep) * other_power.powf(t);
        let scale = (target / blend_power).sqrt();
        if scale.is_finite() {
            for a in own.iter_mut() {
                *a *= scale;
            }
        }
    }
}
