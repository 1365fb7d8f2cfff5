//! Where the frames come from: the analyzer (audio in) or the note player (MIDI in), with the
//! position in the chunk at which each frame is complete.

use timbre_dsp::analysis::{Analyzer, Frame};

use crate::notes::NoteSource;
use crate::Mode;

/// The frame source of an engine: analysis or notes (see the module docs). Allocation-free
/// after [`FrameSource::new`].
pub(crate) struct FrameSource {
    /// Which source plays.
    mode: Mode,
    /// Audio in: resampler, pitch and loudness.
    analyzer: Analyzer,
    /// MIDI in: held notes, bend and envelope.
    notes: NoteSource,
    /// The lowest note asked of the analyzer (NaN before the first setting: the analyzer's
    /// full window).
    lowest_note_hz: f32,
    /// Note frames emitted so far.
    note_frames: u64,
    /// Host samples per frame (not an integer in general).
    hop_host: f64,
    /// Frames completed in the current chunk: (position in the chunk, frame).
    frames: Vec<(usize, Frame)>,
}

impl FrameSource {
    /// A source in audio mode for chunks of at most `max_block` host samples. Allocates.
    pub fn new(analyzer: Analyzer, host_rate: f64, max_block: usize) -> Self {
        let frame_rate = analyzer.config().frame_rate();
        let hop_host = host_rate / frame_rate;
        // Frames per chunk: at most one per hop, plus slack for the resampler's uneven intake.
        let max_frames = (max_block as f64 / hop_host).ceil() as usize + 4;
        Self {
            mode: Mode::Audio,
            analyzer,
            notes: NoteSource::new(frame_rate as f32),
            lowest_note_hz: f32::NAN,
            note_frames: 0,
            hop_host,
            frames: Vec::with_capacity(max_frames),
        }
    }

    /// Audio or notes.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Chooses audio or notes.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// Tracks notes from `lowest_hz` up (see [`Analyzer::set_lowest_note`]); the latency
    /// follows. Does nothing when the setting is unchanged. Allocation-free.
    pub fn set_lowest_note(&mut self, lowest_hz: f32) {
        if lowest_hz != self.lowest_note_hz {
            self.lowest_note_hz = lowest_hz;
            self.analyzer.set_lowest_note(lowest_hz);
        }
    }

    /// The note player (synth mode's keys, bend and envelope).
    pub fn notes_mut(&mut self) -> &mut NoteSource {
        &mut self.notes
    }

    /// Whether no note sounds (synth mode).
    pub fn notes_idle(&self) -> bool {
        self.notes.is_idle()
    }

    /// The analysis window in use, in ms.
    pub fn window_ms(&self) -> f32 {
        let config = self.analyzer.config();
        1000.0 * self.analyzer.window() as f32 / config.sample_rate as f32
    }

    /// Host samples per frame.
    pub fn hop_host(&self) -> f64 {
        self.hop_host
    }

    /// The source's delay from an input event to its frame, in host samples: the analysis
    /// delay in audio mode, none in note mode.
    pub fn latency_host_samples(&self) -> f64 {
        match self.mode {
            Mode::Audio => self.analyzer.latency_host_samples(),
            Mode::Notes => 0.0,
        }
    }

    /// Clears the analysis and the note clock (not the held notes).
    pub fn clear(&mut self) {
        self.analyzer.reset();
        self.note_frames = 0;
    }

    /// Clears the held notes and bend too.
    pub fn reset_notes(&mut self) {
        self.notes.reset();
    }

    /// Collects the frames completed in the chunk `mono` (audio) or due in the chunk that
    /// starts at absolute host sample `start` (notes), with their positions in the chunk.
    pub fn collect(&mut self, mono: &[f32], start: u64) -> &[(usize, Frame)] {
        self.frames.clear();
        match self.mode {
            Mode::Audio => {
                let frames = &mut self.frames;
                self.analyzer.process(mono, |pos, frame| {
                    if frames.len() < frames.capacity() {
                        frames.push((pos, frame));
                    }
                });
            }
            Mode::Notes => {
                // Frame k is due at absolute sample round(k · hop_host).
                let end = start + mono.len() as u64;
                loop {
                    let due = (self.note_frames as f64 * self.hop_host).round() as u64;
                    if due >= end {
                        break;
                    }
                    let pos = due.saturating_sub(start) as usize;
                    if self.frames.len() < self.frames.capacity() {
                        self.frames.push((pos, self.notes.next_frame()));
                    }
                    self.note_frames += 1;
                }
            }
        }
        &self.frames
    }
}
