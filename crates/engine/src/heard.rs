//! MIDI out: the notes the engine hears in its input, placed in the block.
//!
//! When note output is on ([`crate::Engine::set_note_output`]), every model frame (every
//! [`crate::CONTROL_STEPS`]th control step, the frame rate the tracker's timings are set for)
//! goes through a [`NoteTracker`] and its events are kept, with the position in the block of the
//! frame that decided them, in a buffer sized in [`HeardNotes::new`]; the caller reads them
//! after each `process` call ([`crate::Engine::heard_notes`]). A frame's position is where
//! the output for the input it describes begins one hop later: with the tracker's two-frame
//! onset, a note-on lands where its sound starts in the output, so a host that compensates
//! the plugin's latency lines both up with the input. Note changes within a phrase are
//! decided later (about 0.2 s, see [`timbre_dsp::transcribe`]). Allocation-free after `new`.

use timbre_dsp::analysis::Frame;
use timbre_dsp::transcribe::{NoteEvent, NoteSettings, NoteTracker};

/// One event of the notes heard, at a sample position of the last `process` call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HeardNote {
    /// Sample offset in the block.
    pub position: u32,
    /// What happened (its `frame` field counts the tracker's frames; use `position`).
    pub event: NoteEvent,
}

/// The engine's note output (see the module docs).
pub(crate) struct HeardNotes {
    tracker: NoteTracker,
    on: bool,
    events: Vec<HeardNote>,
    /// A note left sounding by a reset or by switching the output off, ended at the start
    /// of the next block.
    release: Option<u8>,
}

impl HeardNotes {
    /// Room for the events of `frames_per_block` frames. Allocates.
    pub fn new(frames_per_block: usize) -> Self {
        Self {
            tracker: NoteTracker::new(NoteSettings::default()),
            on: false,
            // At most an Off, an On and a Bend per frame, plus a release.
            events: Vec::with_capacity(3 * frames_per_block + 1),
            release: None,
        }
    }

    /// Turns the output on or off; off ends a sounding note at the next block.
    pub fn set_on(&mut self, on: bool) {
        if self.on && !on {
            self.release_later();
        }
        self.on = on;
    }

    /// Starts a block: forgets the last block's events and ends a released note at 0.
    pub fn begin_block(&mut self) {
        self.events.clear();
        if let Some(note) = self.release.take() {
            keep(&mut self.events, 0, NoteEvent::Off { note, frame: 0 });
        }
    }

    /// Reads one model frame at block position `position`.
    pub fn on_frame(&mut self, position: u32, frame: &Frame) {
        if !self.on {
            return;
        }
        let Self {
            tracker, events, ..
        } = self;
        tracker.on_frame(frame, |event| keep(events, position, event));
    }

    /// Ends a sounding note at `position` (the engine rests) and forgets the history.
    pub fn end(&mut self, position: u32) {
        let Self {
            tracker, events, ..
        } = self;
        tracker.end(|event| keep(events, position, event));
        tracker.reset();
    }

    /// Forgets the history outside a block; a sounding note ends at the next block.
    pub fn release_later(&mut self) {
        if let Some(note) = self.tracker.sounding() {
            self.release = Some(note);
        }
        self.tracker.reset();
    }

    /// The events of the last block.
    pub fn events(&self) -> &[HeardNote] {
        &self.events
    }
}

/// Appends `event` at `position` while the preallocated room lasts (never reallocates).
fn keep(events: &mut Vec<HeardNote>, position: u32, event: NoteEvent) {
    if events.len() < events.capacity() {
        events.push(HeardNote { position, event });
    }
}
