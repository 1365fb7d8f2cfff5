//! "Tiny Timbre Synth": the same engine played from MIDI notes instead of a voice.
//!
//! Monophonic with last-note priority (the engine's [`timbre_engine::NoteSource`]): legato
//! playing glides without retriggering the envelope, like a bowed or blown instrument. Notes are
//! sample-accurate: the block is split at every event, which costs nothing because the engine's
//! output does not depend on block boundaries. Pitch bend covers ±[`PITCH_BEND_SEMITONES`].

use std::sync::Arc;

use nice_plug::midi::Key;
use nice_plug::prelude::*;
use timbre_engine::Mode;

use crate::params::SynthParams;
use crate::{editor, plugin_formats, shared_plugin_methods, Core, EMAIL, URL, VENDOR};

/// Pitch-bend range, in semitones each way.
pub const PITCH_BEND_SEMITONES: f32 = 2.0;

/// MIDI controllers that silence everything (All Sound Off, All Notes Off).
const PANIC_CCS: [u8; 2] = [120, 123];

/// The instrument: MIDI notes in, the model's instrument out.
pub struct TinyTimbreSynth {
    /// Host-visible parameters (engine knobs and envelope) and the persisted model.
    params: Arc<SynthParams>,
    /// The engine and everything around it.
    core: Core,
}

impl Default for TinyTimbreSynth {
    fn default() -> Self {
        let params = Arc::new(SynthParams::default());
        let core = Core::new(
            Mode::Notes,
            params.model.clone(),
            params.morph_model.clone(),
        );
        Self { params, core }
    }
}

impl TinyTimbreSynth {
    /// Applies one note event to the engine. Allocation-free.
    fn apply(&mut self, event: NoteEvent<()>) {
        let Some(engine) = self.core.engine.as_mut() else {
            return;
        };
        match event {
            NoteEvent::NoteOn {
                key: Key::Number(note),
                velocity,
                ..
            } => {
                // Some hosts send note-on with velocity 0 for note-off.
                if velocity > 0.0 {
                    engine.note_on(note, velocity);
                } else {
                    engine.note_off(note);
                }
            }
            NoteEvent::NoteOff {
                key: Key::Number(note),
                ..
            } => engine.note_off(note),
            // A wildcard note-off releases every key.
            NoteEvent::NoteOff {
                key: Key::Wildcard, ..
            } => (0..=127).for_each(|note| engine.note_off(note)),
            // A choke silences at once.
            NoteEvent::Choke { .. } => engine.reset(),
            NoteEvent::MidiPitchBend { value, .. } => {
                engine.pitch_bend(bend_semitones(value));
            }
            NoteEvent::MidiCC { cc, .. } if PANIC_CCS.contains(&cc) => engine.reset(),
            _ => {}
        }
    }
}

/// Converts a normalized pitch-bend value (0..1, 0.5 = centre) to semitones.
pub fn bend_semitones(value: f32) -> f32 {
    if !value.is_finite() {
        return 0.0;
    }
    (value.clamp(0.0, 1.0) - 0.5) * 2.0 * PITCH_BEND_SEMITONES
}

impl Plugin for TinyTimbreSynth {
    const NAME: &'static str = "Tiny Timbre Synth";
    const VENDOR: &'static str = VENDOR;
    const URL: &'static str = URL;
    const EMAIL: &'static str = EMAIL;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: None,
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: None,
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = nice_plug_egui::EguiEditor<editor::TimbreEditor<SynthParams>>;
    shared_plugin_methods!(SynthParams);

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let n = buffer.samples();
        let slices = buffer.as_slice();
        if !self.core.begin_block(&self.params.engine, slices, context) {
            // Drain the events so the host's queue does not back up.
            while context.next_event().is_some() {}
            return ProcessStatus::Normal;
        }
        if let Some(engine) = self.core.engine.as_mut() {
            engine.set_adsr(self.params.envelope.to_engine());
        }
        // Render up to each event, apply it, go on.
        let mut pos = 0;
        let mut next = context.next_event();
        loop {
            while let Some(event) = next {
                if event.timing() as usize > pos {
                    break;
                }
                self.apply(event);
                next = context.next_event();
            }
            let end = next.map_or(n, |e| (e.timing() as usize).min(n));
            self.core.render(slices, pos, end);
            pos = end;
            if pos >= n {
                // Events stamped past the block (should not happen) still count.
                while let Some(event) = next {
                    self.apply(event);
                    next = context.next_event();
                }
                break;
            }
        }
        self.core.end_block(context);
        ProcessStatus::Normal
    }
}

plugin_formats!(
    TinyTimbreSynth,
    clap_id: "dev.tinytimbre.tiny-timbre-synth",
    description: "A trained instrument played from MIDI: the Tiny Timbre engine in synth mode",
    clap_features: [Instrument, Synthesizer, Mono, Stereo],
    // "TinyTimbreSynth!", 16 ASCII bytes: fixed forever.
    vst3_class_id: *b"TinyTimbreSynth!",
    vst3_subcategories: [Instrument, Synth],
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pitch_bend_spans_two_semitones_each_way() {
        assert_eq!(bend_semitones(0.5), 0.0);
        assert_eq!(bend_semitones(1.0), 2.0);
        assert_eq!(bend_semitones(0.0), -2.0);
        assert_eq!(bend_semitones(0.75), 1.0);
        assert_eq!(bend_semitones(f32::NAN), 0.0);
        assert_eq!(bend_semitones(7.0), 2.0);
    }
}
