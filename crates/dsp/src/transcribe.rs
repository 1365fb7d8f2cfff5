//! Notes from analysis frames: what a singer sang, as note on / note off / pitch bend events.
//!
//! [`NoteTracker`] reads one [`Frame`] per hop and decides, with hysteresis, when a note
//! starts, changes and ends:
//! - **start**: [`NoteSettings::onset_frames`] voiced frames in a row (confidence at least
//!   [`NoteSettings::min_confidence`], loudness at least [`NoteSettings::min_loudness_db`]);
//!   the note is the nearest semitone, its velocity comes from the loudness;
//! - **change**: the pitch averaged over [`NoteSettings::smooth_frames`] stays more than half
//!   a semitone plus [`NoteSettings::hysteresis_semitones`] from the sounding note for
//!   [`NoteSettings::change_frames`] frames in a row: a vibrato or a scoop that only swings
//!   across does not retrigger, a glide or a leap does. The new note is the averaged pitch
//!   then, dated to where the pitch last left the old note (a note that never sat on its
//!   pitch, a scoop at the onset, is corrected from its start). A live reader hears changes
//!   that late (about 0.2 s); starts after a rest are on time;
//! - **end**: [`NoteSettings::release_frames`] unvoiced frames in a row (a consonant or a
//!   breath shorter than that inside a phrase keeps the note);
//! - **re-articulation**: a quick dip of the loudness and a quick rise out of it (a new
//!   syllable, [`NoteSettings::dip_db`]) ends the note at the dip and starts the next there,
//!   even on the same pitch; a slow swell or a tremolo does not;
//! - **settle**: [`NoteSettings::settle_frames`] after a note starts, the median pitch of
//!   the second half of those frames names the note; a scoop into it is corrected from the
//!   start (a live reader hears the correction then, 0.1 s in);
//! - **bend**: while a note sounds, the distance of the pitch from it, in semitones.
//!
//! Every event carries the frame at which it really happened (a start is dated to the first
//! voiced frame, a change to the first frame on the new semitone, an end to the first
//! unvoiced frame), so an offline reader can place it exactly; a live reader emits it when it
//! is decided. [`NoteTracker::on_frame`] allocates nothing; [`transcribe`] (offline) collects
//! whole notes and drops those shorter than a minimum length.

use crate::analysis::Frame;

/// The tracker's thresholds (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NoteSettings {
    /// Lowest pitch confidence of a voiced frame.
    pub min_confidence: f32,
    /// Lowest loudness of a voiced frame, in dB.
    pub min_loudness_db: f32,
    /// Voiced frames in a row that start a note.
    pub onset_frames: u32,
    /// Frames over which the pitch is averaged for note changes (a vibrato averages out).
    pub smooth_frames: u32,
    /// Frames the averaged pitch must stay on another note to change the note.
    pub change_frames: u32,
    /// Unvoiced frames in a row that end the note.
    pub release_frames: u32,
    /// How much farther than half a semitone the pitch must go to count as another note.
    pub hysteresis_semitones: f32,
    /// Loudness (dB) mapped to velocity 1 and to velocity 127, linearly between.
    pub velocity_range_db: (f32, f32),
    /// A re-articulation (a new syllable on the same breath) starts a new note: the loudness
    /// fell at least this many dB within [`NoteSettings::dip_frames`] and rose as much again
    /// within [`NoteSettings::rise_frames`].
    pub dip_db: f32,
    /// See [`NoteSettings::dip_db`].
    pub dip_frames: u32,
    /// See [`NoteSettings::dip_db`].
    pub rise_frames: u32,
    /// A note's pitch is checked once this many frames after it started: when the median
    /// pitch of its last half is another semitone (a scoop into the note), the note is
    /// corrected from its start.
    pub settle_frames: u32,
}

impl Default for NoteSettings {
    /// At 250 frames/s: 8 ms to start; the pitch averaged over 160 ms for changes (a
    /// 5.5 Hz vibrato of ±150 cents leaves ±20 cents), and a change decided once that
    /// average has sat on the new note for 160 ms (so it is the new note's own); 40 ms of
    /// silence to end.
    fn default() -> Self {
        Self {
            min_confidence: 0.6,
            min_loudness_db: -55.0,
            onset_frames: 2,
            smooth_frames: 40,
            change_frames: 40,
            release_frames: 10,
            hysteresis_semitones: 0.25,
            velocity_range_db: (-50.0, -6.0),
            dip_db: 9.0,
            dip_frames: 25,
            rise_frames: 12,
            settle_frames: 25,
        }
    }
}

/// What happened, and at which frame it really did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoteEvent {
    /// A note starts.
    On {
        /// MIDI note number.
        note: u8,
        /// MIDI velocity, 1..=127.
        velocity: u8,
        /// The frame it started at.
        frame: u64,
    },
    /// A note ends.
    Off {
        /// MIDI note number.
        note: u8,
        /// The frame it ended at.
        frame: u64,
    },
    /// The pitch of the sounding note moved: `semitones` away from the note (unclamped).
    Bend {
        /// Distance from the note in semitones.
        semitones: f32,
        /// The frame.
        frame: u64,
    },
}

/// A sounding note.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sounding {
    note: u8,
}

/// Frames of pitch and loudness history the tracker keeps (at least
/// [`NoteSettings::smooth_frames`] and [`NoteSettings::dip_frames`] +
/// [`NoteSettings::rise_frames`]).
const HISTORY: usize = 64;

/// Frames in, note events out (see the module docs). Allocation-free.
#[derive(Clone, Debug)]
pub struct NoteTracker {
    settings: NoteSettings,
    /// Frames seen.
    frame: u64,
    /// The sounding note, if any.
    sounding: Option<Sounding>,
    /// Voiced frames in a row, and the first of them.
    voiced_run: u32,
    voiced_since: u64,
    /// Unvoiced frames in a row, and the first of them.
    unvoiced_run: u32,
    unvoiced_since: u64,
    /// The pitch (MIDI, fractional) of the last voiced frames of the sounding note, a ring.
    history: [f32; HISTORY],
    history_len: usize,
    history_head: usize,
    /// The last frame whose pitch sat within half a semitone plus the hysteresis of the
    /// sounding note.
    last_on_note: u64,
    /// The frame the sounding note started at.
    note_start: u64,
    /// Since when the averaged pitch has been away from the sounding note.
    away_since: Option<u64>,
    /// The loudness of the last frames while a note sounds (voiced or not), a ring.
    loudness: [f32; HISTORY],
    loudness_len: usize,
}

impl NoteTracker {
    /// A tracker with `settings`, before any frame.
    pub fn new(settings: NoteSettings) -> Self {
        Self {
            settings,
            frame: 0,
            sounding: None,
            voiced_run: 0,
            voiced_since: 0,
            unvoiced_run: 0,
            unvoiced_since: 0,
            history: [0.0; HISTORY],
            history_len: 0,
            history_head: 0,
            last_on_note: 0,
            note_start: 0,
            away_since: None,
            loudness: [0.0; HISTORY],
            loudness_len: 0,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &NoteSettings {
        &self.settings
    }

    /// The note sounding now, if any.
    pub fn sounding(&self) -> Option<u8> {
        self.sounding.map(|s| s.note)
    }

    /// Forgets everything (no note sounds; frames count from 0 again). A note that was
    /// sounding is not ended: call [`NoteTracker::end`] first for that.
    pub fn reset(&mut self) {
        *self = Self::new(self.settings);
    }

    /// Ends the sounding note, if any, at the current frame (calls `emit` with its Off).
    pub fn end(&mut self, mut emit: impl FnMut(NoteEvent)) {
        if let Some(s) = self.sounding.take() {
            emit(NoteEvent::Off {
                note: s.note,
                frame: self.frame,
            });
        }
        self.voiced_run = 0;
        self.away_since = None;
    }

    /// Reads one frame; calls `emit` for each event it decides (in order: an Off before the
    /// On that replaces it; a Bend for every voiced frame while a note sounds).
    pub fn on_frame(&mut self, frame: &Frame, mut emit: impl FnMut(NoteEvent)) {
        let k = self.frame;
        self.frame += 1;
        let s = self.settings;
        let voiced = frame.confidence >= s.min_confidence
            && frame.loudness_db >= s.min_loudness_db
            && frame.f0_hz.is_finite()
            && frame.f0_hz > 0.0;
        if self.sounding.is_some() {
            self.push_loudness(frame.loudness_db);
        }
        if !voiced {
            if self.unvoiced_run == 0 {
                self.unvoiced_since = k;
            }
            self.unvoiced_run += 1;
            self.voiced_run = 0;
            self.away_since = None;
            if self.unvoiced_run >= s.release_frames {
                if let Some(sounding) = self.sounding.take() {
                    emit(NoteEvent::Off {
                        note: sounding.note,
                        frame: self.unvoiced_since,
                    });
                }
            }
            return;
        }
        self.unvoiced_run = 0;
        let midi = 69.0 + 12.0 * (frame.f0_hz / 440.0).log2();
        let nearest = midi.round().clamp(0.0, 127.0) as u8;
        let rearticulation = self
            .sounding
            .and_then(|_| self.rearticulated(frame.loudness_db));
        match (self.sounding, rearticulation) {
            (None, _) => {
                if self.voiced_run == 0 {
                    self.voiced_since = k;
                }
                self.voiced_run += 1;
                if self.voiced_run >= s.onset_frames {
                    self.begin(
                        nearest,
                        midi,
                        frame.loudness_db,
                        self.voiced_since,
                        &mut emit,
                    );
                }
            }
            (Some(sounding), Some(ago)) => {
                // A new syllable: the note ends at the dip and the next starts there.
                emit(NoteEvent::Off {
                    note: sounding.note,
                    frame: k - ago,
                });
                self.begin(nearest, midi, frame.loudness_db, k - ago, &mut emit);
            }
            (Some(sounding), None) => {
                self.push_history(midi);
                let note = sounding.note as f32;
                if (midi - note).abs() <= 0.5 + s.hysteresis_semitones {
                    self.last_on_note = k;
                }
                let window = s.smooth_frames as usize;
                let average = self.average(window);
                if (average - note).abs() > 0.5 + s.hysteresis_semitones {
                    self.away_since.get_or_insert(k);
                } else {
                    self.away_since = None;
                }
                let settle = u64::from(s.settle_frames);
                if k == self.note_start + settle && self.history_len as u64 >= settle / 2 {
                    let settled = self.recent_median((settle / 2) as usize);
                    let named = settled.round().clamp(0.0, 127.0) as u8;
                    if named != sounding.note && (settled - note).abs() > 0.5 {
                        emit(NoteEvent::Off {
                            note: sounding.note,
                            frame: self.note_start,
                        });
                        self.start(named, frame.loudness_db, self.note_start, &mut emit);
                        self.last_on_note = k;
                        emit(NoteEvent::Bend {
                            semitones: midi - named as f32,
                            frame: k,
                        });
                        return;
                    }
                }
                let settled = self
                    .away_since
                    .filter(|&since| k + 1 - since >= u64::from(s.change_frames));
                if let Some(since) = settled {
                    let new_note = average.round().clamp(0.0, 127.0) as u8;
                    if new_note != sounding.note {
                        // A note that was never on its pitch (a scoop or a vibrato at the
                        // onset) is corrected from its start; otherwise the new note starts
                        // where the pitch left the old one.
                        let window = window as u64;
                        let date = if since <= self.note_start + window {
                            self.note_start
                        } else {
                            (self.last_on_note + 1).max(since.saturating_sub(window))
                        };
                        emit(NoteEvent::Off {
                            note: sounding.note,
                            frame: date,
                        });
                        self.start(new_note, frame.loudness_db, date, &mut emit);
                        self.last_on_note = k;
                    }
                    self.away_since = None;
                }
                let note = self.sounding.map_or(nearest, |s| s.note);
                emit(NoteEvent::Bend {
                    semitones: midi - note as f32,
                    frame: k,
                });
            }
        }
    }

    /// Appends a frame's loudness to the loudness history.
    fn push_loudness(&mut self, db: f32) {
        self.loudness[(self.frame as usize - 1) % HISTORY] = db;
        self.loudness_len = (self.loudness_len + 1).min(HISTORY);
    }

    /// The loudness `i` frames before the newest (0: the newest).
    fn recent_loudness(&self, i: usize) -> f32 {
        self.loudness[(self.frame as usize - 1 + HISTORY - i) % HISTORY]
    }

    /// When the newest frame (loudness `now`) rises out of a quick dip, how many frames ago
    /// the dip's bottom was (see [`NoteSettings::dip_db`]).
    fn rearticulated(&self, now: f32) -> Option<u64> {
        let s = &self.settings;
        let (rise, dip) = (s.rise_frames as usize, s.dip_frames as usize);
        // The frames of this note only (a note that just began has a short history).
        let known = self.loudness_len.saturating_sub(1);
        // The bottom within the rise window, then the top before it within the dip window.
        let (bottom_at, bottom) = (1..=rise.min(known))
            .map(|i| (i, self.recent_loudness(i)))
            .fold((0, f32::INFINITY), |a, b| if b.1 < a.1 { b } else { a });
        if bottom_at == 0 || bottom_at >= known {
            return None;
        }
        let top = (bottom_at + 1..=(bottom_at + dip).min(known))
            .map(|i| self.recent_loudness(i))
            .fold(f32::NEG_INFINITY, f32::max);
        (top - bottom >= s.dip_db && now - bottom >= s.dip_db).then_some(bottom_at as u64)
    }

    /// The median of the last `n` pitches (at most the history's length).
    fn recent_median(&self, n: usize) -> f32 {
        let mut values = [0.0f32; HISTORY];
        let n = n.clamp(1, self.history_len.max(1));
        for (i, v) in values[..n].iter_mut().enumerate() {
            *v = self.recent(i);
        }
        values[..n].sort_unstable_by(f32::total_cmp);
        values[n / 2]
    }

    /// Appends a voiced frame's pitch to the history.
    fn push_history(&mut self, midi: f32) {
        self.history[self.history_head] = midi;
        self.history_head = (self.history_head + 1) % HISTORY;
        self.history_len = (self.history_len + 1).min(HISTORY);
    }

    /// The `i`-th most recent pitch (0: the newest).
    fn recent(&self, i: usize) -> f32 {
        self.history[(self.history_head + HISTORY - 1 - i) % HISTORY]
    }

    /// The mean of the last `n` pitches (fewer if the history is shorter).
    fn average(&self, n: usize) -> f32 {
        let n = n.clamp(1, HISTORY).min(self.history_len.max(1));
        (0..n).map(|i| self.recent(i)).sum::<f32>() / n as f32
    }

    /// Starts `note` after a rest or a re-articulation (dated to `date`), the newest frame's
    /// pitch `midi` its first history, and bends to it.
    fn begin(
        &mut self,
        note: u8,
        midi: f32,
        loudness_db: f32,
        date: u64,
        emit: &mut impl FnMut(NoteEvent),
    ) {
        self.history_len = 0;
        self.push_history(midi);
        // The dip that started it is not a dip of this note.
        self.loudness_len = 1;
        self.last_on_note = self.frame - 1;
        self.start(note, loudness_db, date, emit);
        emit(NoteEvent::Bend {
            semitones: midi - note as f32,
            frame: self.frame - 1,
        });
    }

    /// Starts `note` (dated to `frame`) with a velocity from `loudness_db`.
    fn start(&mut self, note: u8, loudness_db: f32, frame: u64, emit: &mut impl FnMut(NoteEvent)) {
        let (lo, hi) = self.settings.velocity_range_db;
        let velocity = (1.0 + 126.0 * (loudness_db - lo) / (hi - lo))
            .round()
            .clamp(1.0, 127.0) as u8;
        self.sounding = Some(Sounding { note });
        self.note_start = frame;
        self.voiced_run = 0;
        self.away_since = None;
        emit(NoteEvent::On {
            note,
            velocity,
            frame,
        });
    }
}

/// A whole note found by [`transcribe`], in frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    /// MIDI note number.
    pub note: u8,
    /// MIDI velocity.
    pub velocity: u8,
    /// First frame.
    pub start: u64,
    /// Frame after the last.
    pub end: u64,
}

/// A clip's notes and pitch bends, found by [`transcribe`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transcription {
    /// The notes, in order.
    pub notes: Vec<Note>,
    /// (frame, semitones from the sounding note) for every voiced frame inside a kept note.
    pub bends: Vec<(u64, f32)>,
}

/// Offline: the notes of a clip's frames, each at least `min_frames` long (shorter ones, a
/// consonant's blip say, are dropped with their bends), and the bends inside them. A note
/// still sounding at the end ends with the frames. Allocates; never call it on the audio
/// thread.
pub fn transcribe(frames: &[Frame], settings: NoteSettings, min_frames: u64) -> Transcription {
    let mut tracker = NoteTracker::new(settings);
    let mut notes: Vec<Note> = Vec::new();
    let mut open: Option<Note> = None;
    let mut on_event = |event: NoteEvent, open: &mut Option<Note>| match event {
        NoteEvent::On {
            note,
            velocity,
            frame,
        } => {
            *open = Some(Note {
                note,
                velocity,
                start: frame,
                end: frame,
            })
        }
        NoteEvent::Off { frame, .. } => {
            if let Some(mut n) = open.take() {
                n.end = frame;
                notes.push(n);
            }
        }
        NoteEvent::Bend { .. } => {}
    };
    for frame in frames {
        tracker.on_frame(frame, |e| on_event(e, &mut open));
    }
    tracker.end(|e| on_event(e, &mut open));
    // A note corrected from its start (a scoop, a vibrato at the onset) lasted no frame.
    notes.retain(|n| n.end > n.start && n.end - n.start >= min_frames);
    // The bends, from each kept note's own voiced frames (a change dates the new note back
    // to frames the live tracker still bent against the old one).
    let bends = notes
        .iter()
        .flat_map(|n| {
            (n.start..n.end.min(frames.len() as u64)).filter_map(move |k| {
                let f = &frames[k as usize];
                (f.confidence >= settings.min_confidence && f.f0_hz > 0.0).then(|| {
                    let midi = 69.0 + 12.0 * (f.f0_hz / 440.0).log2();
                    (k, midi - n.note as f32)
                })
            })
        })
        .collect();
    Transcription { notes, bends }
}
