//! The voice deck: the voice playing now, the one fading out after a model swap, and the
//! crossfade between them.
//!
//! New voices arrive through the swap ring ([`crate::VoiceFactory`] sends them); the deck
//! takes the newest when no crossfade is running, warms it up on the last decoder inputs and
//! fades over [`crate::CROSSFADE_MS`]. Voices it is done with go back through the ring to be
//! freed off the audio thread. Every method is allocation-free.

use crate::controls::Shaped;
use crate::manual::ManualControls;
use crate::swap::VoiceReceiver;
use crate::voice::{Voice, WARMUP_FRAMES};

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
}

/// The voices of an engine and their crossfade (see the module docs).
pub(crate) struct VoiceDeck {
    /// The voice playing now.
    current: Box<Voice>,
    /// The voice fading out after a swap.
    fading: Option<Box<Voice>>,
    /// Samples of the fade done, and its length.
    fade_pos: usize,
    fade_len: usize,
    /// Swap rings (audio side).
    receiver: VoiceReceiver,
    /// Last decoder inputs, for warming up a new voice (a ring).
    history: Box<[(f32, f32); WARMUP_FRAMES]>,
    history_head: usize,
    history_len: usize,
    /// Dry synth of the current and of the fading voice, `max_block` long.
    dry: Vec<f32>,
    fading_dry: Vec<f32>,
    /// Stereo output of the fading voice, `max_block` long.
    fading_out: [Vec<f32>; 2],
}

impl VoiceDeck {
    /// A deck playing `voice`, for chunks of at most `max_block`, fading over `fade_len`
    /// samples. Allocates.
    pub fn new(
        voice: Box<Voice>,
        receiver: VoiceReceiver,
        fade_len: usize,
        max_block: usize,
    ) -> Self {
        Self {
            current: voice,
            fading: None,
            fade_pos: 0,
            fade_len,
            receiver,
            history: Box::new([(0.0, 0.0); WARMUP_FRAMES]),
            history_head: 0,
            history_len: 0,
            dry: vec![0.0; max_block],
            fading_dry: vec![0.0; max_block],
            fading_out: [vec![0.0; max_block], vec![0.0; max_block]],
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
        let start = (self.history_head + WARMUP_FRAMES - self.history_len) % WARMUP_FRAMES;
        let take = self.history_len.min(new_voice.receptive_field());
        let skip = self.history_len - take;
        let history = &self.history;
        new_voice.warm_up((skip..self.history_len).map(|i| history[(start + i) % WARMUP_FRAMES]));
        let old = std::mem::replace(&mut self.current, new_voice);
        self.fading = Some(old);
        self.fade_pos = 0;
    }

    /// Runs every voice's decoder on one frame and retargets its synth; remembers the
    /// decoder inputs for warming up the next voice.
    pub fn on_frame(&mut self, frame: FrameControls<'_>) {
        for voice in std::iter::once(&mut self.current).chain(self.fading.as_mut()) {
            voice.on_frame(
                frame.shaped,
                frame.harmonic_gain_db,
                frame.noise_gain_db,
                frame.ramp_samples,
                frame.manual,
            );
        }
        self.history[self.history_head] = Voice::decoder_inputs(frame.shaped);
        self.history_head = (self.history_head + 1) % WARMUP_FRAMES;
        self.history_len = (self.history_len + 1).min(WARMUP_FRAMES);
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

    /// Turns the chunk's dry synth (`left.len()` samples) into stereo with each voice's
    /// reverb at the per-sample mix `wet`, and crossfades a fading voice into it. Retires the
    /// fading voice when its fade is over.
    pub fn finish(&mut self, wet: &[f32], left: &mut [f32], right: &mut [f32]) {
        let len = left.len();
        self.current
            .apply_reverb(&self.dry[..len], wet, &mut *left, &mut *right);
        let Some(old) = self.fading.as_mut() else {
            return;
        };
        let [old_left, old_right] = &mut self.fading_out;
        let (old_left, old_right) = (&mut old_left[..len], &mut old_right[..len]);
        old.apply_reverb(
            &self.fading_dry[..len],
            wet,
            &mut *old_left,
            &mut *old_right,
        );
        for i in 0..len {
            let t = (self.fade_pos as f32 / self.fade_len.max(1) as f32).min(1.0);
            left[i] = left[i] * t + old_left[i] * (1.0 - t);
            right[i] = right[i] * t + old_right[i] * (1.0 - t);
            self.fade_pos += 1;
        }
        if self.fade_pos >= self.fade_len {
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
        self.history_len = 0;
        self.history_head = 0;
    }

    /// The longest reverb tail on the deck, in host samples.
    pub fn tail_samples(&self) -> usize {
        self.current.tail_samples().max(
            self.fading
                .as_ref()
                .map_or(0, |fading| fading.tail_samples()),
        )
    }
}
