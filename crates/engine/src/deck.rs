//! The voice deck: the voice playing now, the one fading out after a model swap, and the
//! crossfade between them.
//!
//! New voices arrive through the swap ring ([`crate::VoiceFactory`] sends them); the deck
//! takes the newest when no crossfade is running, warms it up on the last decoder inputs and
//! fades over [`crate::CROSSFADE_MS`]. Voices it is done with go back through the ring to be
//! freed off the audio thread. The deck also holds the morph slot (model B, see
//! [`crate::morph`]), whose timbre it blends into the playing voices. Every method is
//! allocation-free.

use crate::controls::{Shaped, TargetStats};
use crate::humanize::Drift;
use crate::manual::ManualControls;
use crate::morph::MorphSlot;
use crate::swap::VoiceReceiver;
use crate::voice::{mix_sample, stereo_mix, Voice, Wet, WARMUP_STEPS};

/// What every voice on the deck plays for one frame: the shaped controls and the settings
/// that scale them.
#[derive(Clone, Copy)]
pub(crate) struct FrameControls<'a> {
    /// The frame after shifting, auto-adjust and the gate.
    pub shaped: &'a Shaped,
    /// Gain of the harmonics, in dB.
    pub harmonic_gain_db: f32,
    /// Gain of the noise, in dB.
    pub noise_gain_db: f32,
    /// Host samples the synth ramps over to the new targets.
    pub ramp_samples: u32,
    /// Hand-set controls that replace the decoder's output, if on.
    pub manual: Option<&'a ManualControls>,
    /// The morph amount toward model B at this frame (0..1).
    pub morph: f32,
    /// How the synth's pitch and harmonic levels drift at this frame (Humanize).
    pub drift: &'a Drift,
    /// Where in the chunk the frame takes effect, in samples.
    pub offset: usize,
}

/// The voices of an engine and their crossfade (see the module docs).
pub(crate) struct VoiceDeck {
    /// The voice playing now.
    current: Box<Voice>,
    /// The voice fading out after a swap.
    fading: Option<Box<Voice>>,
    /// How far the crossfade from the fading voice has come.
    fade: Fade,
    /// Swap rings (audio side).
    receiver: VoiceReceiver,
    /// Last decoder inputs, for warming up a new voice.
    history: DecoderHistory,
    /// Dry synth of the current and of the fading voice, `max_block` long.
    dry: Vec<f32>,
    fading_dry: Vec<f32>,
    /// Stereo output of the fading voice, `max_block` long.
    fading_out: [Vec<f32>; 2],
    /// Model B and its fade (the morph).
    morph: MorphSlot,
    /// Scratch, `max_block` long: a reverb's input, and the summed body, room middle and
    /// side of the morph's voices.
    send: Vec<f32>,
    /// Scratch, `max_block` long: how far the A voices' rooms blend toward B's, per sample.
    amounts: Vec<f32>,
    body: Vec<f32>,
    mid: Vec<f32>,
    side: Vec<f32>,
    /// Whether the current voice's reverb sits idle (a morph at 1 has fed it nothing for
    /// longer than its tail plus `idle_margin`), and the samples since it was last fed.
    current_idle: bool,
    current_quiet: usize,
    /// Samples beyond a reverb's tail after which its output is exactly zero (the engine's
    /// rest margin): a reverb is only skipped then, so skipping never changes the output and
    /// the output stays independent of the block sizes.
    idle_margin: usize,
}

impl VoiceDeck {
    /// A deck playing `voice`, for chunks of at most `max_block`, fading over `fade_len`
    /// samples. Allocates.
    pub fn new(
        voice: Box<Voice>,
        receivers: [VoiceReceiver; 2],
        fade_len: usize,
        idle_margin: usize,
        max_block: usize,
    ) -> Self {
        let [receiver, morph_receiver] = receivers;
        Self {
            current: voice,
            fading: None,
            fade: Fade::new(fade_len),
            receiver,
            history: DecoderHistory::new(),
            dry: vec![0.0; max_block],
            fading_dry: vec![0.0; max_block],
            fading_out: [vec![0.0; max_block], vec![0.0; max_block]],
            morph: MorphSlot::new(morph_receiver, fade_len, idle_margin, max_block),
            send: vec![0.0; max_block],
            amounts: vec![0.0; max_block],
            body: vec![0.0; max_block],
            mid: vec![0.0; max_block],
            side: vec![0.0; max_block],
            current_idle: false,
            current_quiet: 0,
            idle_margin,
        }
    }

    /// Model B of the morph, if one has arrived.
    pub fn morph_voice(&self) -> Option<&Voice> {
        self.morph.current()
    }

    /// The auto-adjust targets at morph amount `morph`, `offset` samples into the chunk: the
    /// playing voice's, moved toward model B's as far as the morph goes.
    pub fn target(&self, morph: f32, offset: usize) -> Option<TargetStats> {
        let own = self.current.target().copied();
        let amount = morph * self.morph.share_at(offset);
        match (own, self.morph.current().and_then(Voice::target)) {
            (Some(a), Some(b)) => Some(a.lerp(b, amount)),
            (_, theirs) if amount >= 1.0 => theirs.copied(),
            (own, _) => own,
        }
    }

    /// The voice playing now.
    pub fn current(&self) -> &Voice {
        &self.current
    }

    /// Takes a voice that arrived through the ring, if any and if no crossfade is running: a
    /// new voice waits until the current fade is over, because cutting a fade short drops a
    /// voice that is still most of the output (a click: a step of 1.2 on a 0.6-amplitude tone
    /// before this rule, with swaps 1 to 3 blocks apart). When several arrive meanwhile, the
    /// newest is taken and the others retired. When `silent` (the engine rests), the voice
    /// is swapped without a fade.
    pub fn take_arrivals(&mut self, silent: bool) {
        let history = &self.history;
        self.morph
            .take_arrivals(silent, |voice| history.warm_up(voice));
        self.receiver.flush();
        if self.fading.is_some() {
            return;
        }
        let Some(mut new_voice) = self.receiver.take() else {
            return;
        };
        if silent {
            // Nothing sounds: no fade needed (waking clears the new voice).
            let old = std::mem::replace(&mut self.current, new_voice);
            self.receiver.retire(old);
            return;
        }
        self.history.warm_up(&mut new_voice);
        let old = std::mem::replace(&mut self.current, new_voice);
        self.fading = Some(old);
        self.fade.start();
        // The new voice's reverb starts from silence, fed as the morph says.
        self.current_idle = false;
        self.current_quiet = 0;
    }

    /// Runs every voice's decoder on one frame, blends model B's timbre into the playing
    /// voices at the frame's morph amount, and retargets their synths; remembers the decoder
    /// inputs for warming up the next voice.
    pub fn on_frame(&mut self, frame: FrameControls<'_>) {
        for voice in std::iter::once(&mut self.current).chain(self.fading.as_mut()) {
            voice.decode(
                frame.shaped,
                frame.harmonic_gain_db,
                frame.noise_gain_db,
                frame.manual,
            );
        }
        let blend = self.morph.on_frame(
            frame.shaped,
            frame.harmonic_gain_db,
            frame.noise_gain_db,
            frame.manual,
            frame.offset,
        );
        if let Some((b, amount)) = blend {
            let amount = amount * frame.morph;
            for voice in std::iter::once(&mut self.current).chain(self.fading.as_mut()) {
                voice.blend_toward(b, amount);
            }
        }
        for voice in std::iter::once(&mut self.current).chain(self.fading.as_mut()) {
            voice.retarget(frame.shaped.f0_hz, frame.ramp_samples, frame.drift);
        }
        self.history.push(Voice::decoder_inputs(frame.shaped));
    }

    /// Renders the dry synth of every voice for samples `from..to` of the chunk.
    pub fn render(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        self.current.render_synth(&mut self.dry[from..to]);
        if let Some(old) = self.fading.as_mut() {
            old.render_synth(&mut self.fading_dry[from..to]);
        }
    }

    /// Turns the chunk's dry synth (`left.len()` samples) into stereo with the reverbs at
    /// the per-sample mix `wet`, and crossfades a fading voice into it. At the per-sample
    /// morph amounts `morph`, the A voices' rooms blend toward B's (or, when their reverbs are
    /// cut differently, A's reverbs are fed `(1 − t)` of their dry synth and B's `t` of the
    /// crossfaded dry synth, added to both A voices). Retires the fading voice when its fade
    /// is over.
    /// `low_latency` picks every voice's minimum-phase body ([`Voice::reverberate`]).
    pub fn finish(
        &mut self,
        wet: &[f32],
        morph: &[f32],
        low_latency: bool,
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let len = left.len();
        self.mix(wet, morph, low_latency, left, right);
        self.morph.advance_fade(len);
    }

    /// [`VoiceDeck::finish`] but for advancing model B's fade.
    fn mix(
        &mut self,
        wet: &[f32],
        morph: &[f32],
        low_latency: bool,
        left: &mut [f32],
        right: &mut [f32],
    ) {
        let len = left.len();
        let fade = self.fade;
        let (dry, fading_dry) = (&self.dry[..len], &self.fading_dry[..len]);
        // B's room blends into the A voices' own rooms when their reverbs are cut alike (every
        // two models with reverbs of the same length): one reverb per A voice, fed its dry
        // synth. Otherwise B's reverbs play beside A's, each fed its share of the dry synth.
        let blend_rooms = self.morph.current().is_some_and(|b| {
            self.current.blends_with(b) && self.fading.as_ref().is_none_or(|v| v.blends_with(b))
        });
        let amounts = &mut self.amounts[..len];
        if blend_rooms {
            for (i, a) in amounts.iter_mut().enumerate() {
                // B's share of the morph: `t`, or `t` times its fade while it fades in.
                *a = morph[i] * self.morph.share_at(i);
            }
        }
        let side_by_side = !blend_rooms && self.morph.engaged(morph);
        if side_by_side {
            // B hears what A plays: the crossfaded dry synth.
            let send = &mut self.send[..len];
            if self.fading.is_some() {
                for i in 0..len {
                    send[i] = dry[i] * fade.at(i) + fading_dry[i] * (1.0 - fade.at(i));
                }
            } else {
                send.copy_from_slice(dry);
            }
            self.morph.reverberate(
                send,
                morph,
                low_latency,
                [
                    &mut self.body[..len],
                    &mut self.mid[..len],
                    &mut self.side[..len],
                ],
            );
        }
        let b = side_by_side.then_some(Wet {
            body: &self.body[..len],
            mid: &self.mid[..len],
            side: &self.side[..len],
        });
        let room = self
            .morph
            .current()
            .filter(|_| blend_rooms)
            .map(|b| (b, &*amounts));
        // The current voice's reverb, fed `(1 − t)` of its dry synth while B's reverbs play
        // beside it, and left idle once a morph at 1 has fed it nothing for longer than its
        // tail and the margin. Otherwise it always runs.
        let a_input = own_send(
            dry,
            side_by_side.then_some((morph, &self.morph)),
            &mut self.send,
        );
        let fed = !side_by_side || a_input.iter().any(|&x| x != 0.0);
        self.current_quiet = if fed { 0 } else { self.current_quiet + len };
        if fed && self.current_idle {
            self.current.reset_reverb();
            self.current_idle = false;
        }
        if self.current_quiet > self.current.tail_samples() + self.idle_margin {
            self.current_idle = true;
        }
        let a = (!self.current_idle).then(|| self.current.reverberate(a_input, room, low_latency));
        mix_reverbs(dry, wet, a, b, left, right);
        let Some(old) = self.fading.as_mut() else {
            return;
        };
        let input = own_send(
            fading_dry,
            side_by_side.then_some((morph, &self.morph)),
            &mut self.send,
        );
        let [old_left, old_right] = &mut self.fading_out;
        let (old_left, old_right) = (&mut old_left[..len], &mut old_right[..len]);
        let a = Some(old.reverberate(input, room, low_latency));
        mix_reverbs(fading_dry, wet, a, b, old_left, old_right);
        for i in 0..len {
            let t = fade.at(i);
            left[i] = left[i] * t + old_left[i] * (1.0 - t);
            right[i] = right[i] * t + old_right[i] * (1.0 - t);
        }
        if self.fade.advance(len) {
            if let Some(done) = self.fading.take() {
                self.receiver.retire(done);
            }
        }
    }

    /// Clears what sounds: the current voice's state, a fading voice (retired) and the
    /// decoder history.
    pub fn clear(&mut self) {
        self.current.reset();
        if let Some(old) = self.fading.take() {
            self.receiver.retire(old);
        }
        self.history.clear();
        self.morph.clear();
        self.current_idle = false;
        self.current_quiet = 0;
    }

    /// The longest reverb tail on the deck, in host samples.
    pub fn tail_samples(&self) -> usize {
        let own = self.current.tail_samples().max(
            self.fading
                .as_ref()
                .map_or(0, |fading| fading.tail_samples()),
        );
        own.max(self.morph.tail_samples())
    }
}

/// A crossfade of a fixed length, and how far it has come.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fade {
    /// Samples done (`len` when none runs).
    pos: usize,
    /// Its length in samples.
    len: usize,
}

impl Fade {
    /// A fade of `len` samples, not running.
    pub fn new(len: usize) -> Self {
        Self { pos: len, len }
    }

    /// Starts it from the beginning.
    pub fn start(&mut self) {
        self.pos = 0;
    }

    /// Ends it at once.
    pub fn finish(&mut self) {
        self.pos = self.len;
    }

    /// How far it has come `offset` samples from now, 0..1 (exactly 1, without a division,
    /// once it is over).
    #[inline]
    pub fn at(&self, offset: usize) -> f32 {
        if self.pos >= self.len {
            1.0
        } else {
            ((self.pos + offset) as f32 / self.len as f32).min(1.0)
        }
    }

    /// Advances it by `samples`; returns whether it is over.
    pub fn advance(&mut self, samples: usize) -> bool {
        self.pos = (self.pos + samples).min(self.len);
        self.pos >= self.len
    }
}

/// The last decoder inputs of the deck, oldest first, for warming up a voice that starts
/// mid-stream (a ring of [`WARMUP_STEPS`]).
struct DecoderHistory {
    frames: Box<[(f32, f32); WARMUP_STEPS]>,
    head: usize,
    len: usize,
}

impl DecoderHistory {
    /// An empty history. Allocates.
    fn new() -> Self {
        Self {
            frames: Box::new([(0.0, 0.0); WARMUP_STEPS]),
            head: 0,
            len: 0,
        }
    }

    /// Remembers one frame's decoder inputs.
    fn push(&mut self, inputs: (f32, f32)) {
        self.frames[self.head] = inputs;
        self.head = (self.head + 1) % WARMUP_STEPS;
        self.len = (self.len + 1).min(WARMUP_STEPS);
    }

    /// Forgets everything.
    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Runs `voice`'s decoder on the last frames its receptive field needs, oldest first, so
    /// it has the history of a voice that played all along. Allocation-free.
    fn warm_up(&self, voice: &mut Voice) {
        let start = (self.head + WARMUP_STEPS - self.len) % WARMUP_STEPS;
        let skip = self.len - self.len.min(voice.receptive_field());
        voice.warm_up((skip..self.len).map(|i| self.frames[(start + i) % WARMUP_STEPS]));
    }
}

/// What an A voice's own reverb is fed: its dry synth, or while morphing (`morph` holds the
/// chunk's morph amounts and the slot) `dry · (1 − t · B's share)`, written into `scratch`.
fn own_send<'a>(
    dry: &'a [f32],
    morph: Option<(&[f32], &MorphSlot)>,
    scratch: &'a mut [f32],
) -> &'a [f32] {
    let Some((morph, slot)) = morph else {
        return dry;
    };
    let send = &mut scratch[..dry.len()];
    for i in 0..dry.len() {
        // B's share of the morph: `t`, or `t` times its fade while it fades in.
        send[i] = dry[i] * (1.0 - morph[i] * slot.share_at(i));
    }
    send
}

/// Mixes the dry synth `dry` with the bodies and rooms of `a` (the voice's own) and `b` (the
/// morph's) at the per-sample reverb amounts `amount` into `left` and `right`
/// ([`stereo_mix`]). With one of them its output is used as it is, so a voice without a
/// morph, or a morph at 1, sounds exactly like that model alone.
fn mix_reverbs(
    dry: &[f32],
    amount: &[f32],
    a: Option<Wet<'_>>,
    b: Option<Wet<'_>>,
    left: &mut [f32],
    right: &mut [f32],
) {
    match (a, b) {
        (Some(wet), None) | (None, Some(wet)) => stereo_mix(dry, amount, wet, left, right),
        (Some(a), Some(b)) => {
            for i in 0..dry.len() {
                (left[i], right[i]) = mix_sample(
                    dry[i],
                    a.body[i] + b.body[i],
                    a.mid[i] + b.mid[i],
                    a.side[i] + b.side[i],
                    amount[i],
                );
            }
        }
        (None, None) => {
            for i in 0..dry.len() {
                (left[i], right[i]) = mix_sample(dry[i], 0.0, 0.0, 0.0, amount[i]);
            }
        }
    }
}
