//! Batches of training examples: network inputs and target audio, flattened row-major.

use crate::{Clip, HOP};

/// A batch of examples, flattened row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Examples in the batch.
    pub batch: usize,
    /// Frames per example.
    pub frames: usize,
    /// `[batch, frames]` network f0 input.
    pub f0_in: Vec<f32>,
    /// `[batch, frames]` network loudness input.
    pub loudness_in: Vec<f32>,
    /// `[batch, frames]` synth f0 in Hz.
    pub f0_hz: Vec<f32>,
    /// `[batch, frames · HOP]` target audio.
    pub audio: Vec<f32>,
}

impl Batch {
    pub(crate) fn with_capacity(batch: usize, frames: usize) -> Self {
        Self {
            batch: 0,
            frames,
            f0_in: Vec::with_capacity(batch * frames),
            loudness_in: Vec::with_capacity(batch * frames),
            f0_hz: Vec::with_capacity(batch * frames),
            audio: Vec::with_capacity(batch * frames * HOP),
        }
    }

    pub(crate) fn push(&mut self, clip: &Clip, start: usize, offset: i64) {
        let t = self.frames;
        self.f0_in.extend_from_slice(&clip.f0_in[start..start + t]);
        self.loudness_in
            .extend_from_slice(&clip.loudness_in[start..start + t]);
        self.f0_hz.extend_from_slice(&clip.f0_hz[start..start + t]);
        let a = Clip::audio_start(start, offset);
        self.audio
            .extend((a..a + t * HOP).map(|i| clip.audio.get(i).copied().unwrap_or(0.0)));
        self.batch += 1;
    }
}
