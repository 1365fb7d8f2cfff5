//! The morph slot: a second model (B) whose timbre the engine blends into the first's.
//!
//! Model B's decoder runs on the same shaped controls as model A's, every frame, whether the
//! morph is at 0 or not, so a knob that leaves 0 finds B's network already in step. At a
//! morph amount `t`, the synth of A's voice plays the power blend of the two voices'
//! harmonic amplitudes and noise bands ([`Voice::blend_toward`]), and A's body and room play
//! the blends of the two models', `(1 − t) · IR_A + t · IR_B` (their partition spectra moved
//! toward B's, [`timbre_dsp::reverb::ConvolutionReverb::process_toward`]); B's own never run.
//! Only when the two IRs are cut differently (IRs of different lengths) do they play side by
//! side: A's fed `(1 − t)` of the dry synth and B's `t` of it ([`MorphSlot::reverberate`]).
//! Either way the output at `t = 0` is exactly A's and at `t = 1` exactly B's (when both
//! models have the same noise bands, as every model `cargo xtask` exports does).
//!
//! A new B arrives through its own swap ring and fades in over [`crate::CROSSFADE_MS`]: into
//! the silence of an empty slot (the morph amount rises from 0 with the fade) or out of the
//! B it replaces (their targets are power-blended; the room moves to the new B's at once, part
//! by part). Every method is allocation-free.

use crate::controls::Shaped;
use crate::deck::Fade;
use crate::manual::ManualControls;
use crate::swap::VoiceReceiver;
use crate::voice::Voice;

/// The second voice of a morph, and the one it is replacing (see the module docs).
pub(crate) struct MorphSlot {
    /// Model B, once one has arrived.
    current: Option<Box<Voice>>,
    /// The B being replaced, during a fade.
    fading: Option<Box<Voice>>,
    /// How far the fade to the newest B has come.
    fade: Fade,
    /// Swap rings (audio side) of slot B.
    receiver: VoiceReceiver,
    /// Whether B's reverbs sit idle: fed nothing for longer than their tail plus
    /// `idle_margin` (by then their output is exactly zero, so skipping them changes nothing).
    idle: bool,
    idle_margin: usize,
    /// Samples since B's reverbs were last fed anything but zeros.
    quiet: usize,
    /// Scratch: a B reverb's input, `max_block` long.
    send: Vec<f32>,
}

impl MorphSlot {
    /// An empty slot for chunks of at most `max_block`, fading over `fade_len`. Allocates.
    /// `idle_margin`: samples beyond the tail after which idle reverbs are skipped.
    pub fn new(
        receiver: VoiceReceiver,
        fade_len: usize,
        idle_margin: usize,
        max_block: usize,
    ) -> Self {
        Self {
            current: None,
            fading: None,
            fade: Fade::new(fade_len),
            receiver,
            idle: true,
            idle_margin,
            quiet: 0,
            send: vec![0.0; max_block],
        }
    }

    /// Model B, if one has arrived.
    pub fn current(&self) -> Option<&Voice> {
        self.current.as_deref()
    }

    /// Takes a B that arrived through the ring, as [`crate::deck::VoiceDeck::take_arrivals`]
    /// does for A: not during a fade; warmed up by `warm_up` (on the deck's decoder history);
    /// without a fade when `silent`.
    pub fn take_arrivals(&mut self, silent: bool, warm_up: impl FnOnce(&mut Voice)) {
        self.receiver.flush();
        if self.fading.is_some() {
            return;
        }
        let Some(mut new_voice) = self.receiver.take() else {
            return;
        };
        warm_up(&mut new_voice);
        self.fading = self.current.replace(new_voice);
        self.fade.start();
        if silent {
            self.fade.finish();
            if let Some(old) = self.fading.take() {
                self.receiver.retire(old);
            }
        }
    }

    /// The share of the morph amount B gets `offset` samples into the chunk: the fade's
    /// progress while B fades in from an empty slot, else 1 (0 while the slot is empty).
    pub fn share_at(&self, offset: usize) -> f32 {
        match (&self.current, &self.fading) {
            (None, _) => 0.0,
            (Some(_), None) => self.fade.at(offset),
            (Some(_), Some(_)) => 1.0,
        }
    }

    /// Runs B's decoders on one frame, `offset` samples into the chunk, and returns the B
    /// targets to blend into A's voices with the share of the morph amount they get (1, or
    /// the fade's progress while a B fades in from an empty slot); `None` while the slot is
    /// empty.
    pub fn on_frame(
        &mut self,
        shaped: &Shaped,
        harmonic_gain_db: f32,
        noise_gain_db: f32,
        manual: Option<&ManualControls>,
        offset: usize,
    ) -> Option<(&Voice, f32)> {
        let fade = self.fade.at(offset);
        let share = self.share_at(offset);
        let current = self.current.as_mut()?;
        current.decode(shaped, harmonic_gain_db, noise_gain_db, manual);
        if let Some(old) = self.fading.as_mut() {
            old.decode(shaped, harmonic_gain_db, noise_gain_db, manual);
            current.blend_toward(old, 1.0 - fade);
        }
        Some((&**current, share))
    }

    /// Whether B's reverbs run this chunk: B is there and the morph amounts `morph` feed
    /// it, or its tail still rings. Clears the reverbs when they wake from idle.
    pub fn engaged(&mut self, morph: &[f32]) -> bool {
        let Some(current) = self.current.as_mut() else {
            return false;
        };
        let fed = morph.iter().any(|&t| t != 0.0);
        if fed && self.idle {
            current.reset_reverb();
            if let Some(old) = self.fading.as_mut() {
                old.reset_reverb();
            }
            self.idle = false;
        }
        !self.idle
    }

    /// Runs B's bodies and rooms on `dry · morph` (fading voices in proportion) and writes
    /// the sums of their outputs into `sum` (body, middle, side). Call only when
    /// [`MorphSlot::engaged`], and [`MorphSlot::advance_fade`] once the chunk is done.
    /// `low_latency` picks B's minimum-phase bodies ([`Voice::reverberate`]).
    pub fn reverberate(
        &mut self,
        dry: &[f32],
        morph: &[f32],
        low_latency: bool,
        sum: [&mut [f32]; 3],
    ) {
        let [body, mid, side] = sum;
        let len = dry.len();
        let fade = self.fade;
        let send = &mut self.send[..len];
        if let Some(current) = self.current.as_mut() {
            for i in 0..len {
                // After the fade, `fade.at(i)` is exactly 1: the send is exactly `dry · morph`.
                send[i] = dry[i] * morph[i] * fade.at(i);
            }
            let wet = current.reverberate(send, None, low_latency);
            body.copy_from_slice(wet.body);
            mid.copy_from_slice(wet.mid);
            side.copy_from_slice(wet.side);
        }
        if let Some(old) = self.fading.as_mut() {
            for i in 0..len {
                send[i] = dry[i] * morph[i] * (1.0 - fade.at(i));
            }
            let wet = old.reverberate(send, None, low_latency);
            for i in 0..len {
                body[i] += wet.body[i];
                mid[i] += wet.mid[i];
                side[i] += wet.side[i];
            }
        }
        let fed = send_was_fed(dry, morph);
        self.quiet = if fed { 0 } else { self.quiet + len };
        let tail = self.tail_samples();
        if self.quiet > tail + self.idle_margin {
            self.idle = true;
        }
    }

    /// Advances the fade by `len` samples and retires the replaced B when it is over.
    pub fn advance_fade(&mut self, len: usize) {
        if self.fade.advance(len) {
            if let Some(done) = self.fading.take() {
                self.receiver.retire(done);
            }
        }
    }

    /// Clears what sounds: B's state, a fading B (retired), the reverbs (idle).
    pub fn clear(&mut self) {
        if let Some(current) = self.current.as_mut() {
            current.reset();
        }
        if let Some(old) = self.fading.take() {
            self.receiver.retire(old);
        }
        self.fade.finish();
        self.idle = true;
        self.quiet = 0;
    }

    /// The longest reverb tail in the slot, in host samples.
    pub fn tail_samples(&self) -> usize {
        let tail = |v: &Option<Box<Voice>>| v.as_ref().map_or(0, |v| v.tail_samples());
        tail(&self.current).max(tail(&self.fading))
    }
}

/// Whether a reverb fed `dry · morph` got anything but zeros.
fn send_was_fed(dry: &[f32], morph: &[f32]) -> bool {
    dry.iter().zip(morph).any(|(&x, &t)| x * t != 0.0)
}
