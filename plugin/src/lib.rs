//! Tiny Timbre as a plugin: sing a line, hear it played by a trained instrument.
//!
//! Two plugins share this crate and one bundle: the effect [`TinyTimbre`] (audio in, the
//! engine analyses its pitch and loudness) and the instrument [`TinyTimbreSynth`] (MIDI notes
//! in). Both wrap the same [`timbre_engine::Engine`]; this crate only adds the host shell:
//!
//! - [`params`]: host-automatable parameters built from the engine's spec table;
//! - [`state`]: the checks a restored session passes before it is applied;
//! - [`models`] and [`loader`]: the model picker's list and the off-thread model swap;
//! - [`meters`]: lock-free values from the audio thread for the editor;
//! - [`editor`] and [`widgets`]: the egui editor, its knobs and its meters;
//! - [`synth`]: the instrument;
//! - [`demo`]: the standalone's built-in melody (`--demo`).
//!
//! The audio thread never allocates, locks, logs or does I/O (the tests run with nice-plug's
//! `assert_process_allocs`). The engine sanitizes NaN/Inf/denormals and the plugin also enables
//! nice-plug's flush-to-zero.

pub mod demo;
pub mod editor;
pub mod loader;
pub mod meters;
pub mod models;
pub mod params;
pub mod state;
pub mod synth;
pub mod widgets;

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditorState, RepaintNotifier};
use timbre_dsp::transcribe::NoteEvent as HeardEvent;
use timbre_engine::{Engine, Mode};

use crate::demo::DemoInput;
use crate::loader::{ModelLoader, Slot};
use crate::meters::SharedMeters;
use crate::params::{EngineParams, ModelSelection, TimbreParams, MIDI_BEND_RANGE};

pub use crate::synth::TinyTimbreSynth;

/// The vendor shown by hosts.
pub const VENDOR: &str = "Tiny Timbre";
/// The project's web page: none is published yet, so hosts show none (an empty URL).
pub const URL: &str = "";
/// Support e-mail (none yet).
pub const EMAIL: &str = "";

/// Work the plugin hands to nice-plug's background thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Load the model in the slot's persisted selection and swap it in (a restored state
    /// chose it; on failure the selection is kept, so a missing file is found again once it
    /// is back).
    LoadSelected(Slot),
    /// The same, chosen in the editor: on failure the selection goes back to the model that
    /// keeps playing in that slot, so the session never saves a file that did not load.
    LoadChosen(Slot),
}

/// The CLAP and VST3 identities of a plugin: its ids, description, CLAP features and VST3
/// subcategories (written once for the effect and once for the synth).
macro_rules! plugin_formats {
    (
        $plugin:ty,
        clap_id: $clap_id:literal,
        description: $description:literal,
        clap_features: [$($feature:ident),*],
        vst3_class_id: $vst3_id:expr,
        vst3_subcategories: [$($subcategory:ident),*] $(,)?
    ) => {
        impl ClapPlugin for $plugin {
            const CLAP_ID: &'static str = $clap_id;
            const CLAP_DESCRIPTION: Option<&'static str> = Some($description);
            const CLAP_MANUAL_URL: Option<&'static str> = None;
            const CLAP_SUPPORT_URL: Option<&'static str> = None;
            const CLAP_FEATURES: &'static [ClapFeature] = &[$(ClapFeature::$feature),*];
        }

        impl Vst3Plugin for $plugin {
            const VST3_CLASS_ID: [u8; 16] = $vst3_id;
            const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
                &[$(Vst3SubCategory::$subcategory),*];
        }
    };
}
pub(crate) use plugin_formats;

/// The `Plugin` items the effect and the synth share, for a plugin struct with
/// `params: Arc<$params>` (which has a `model` selection) and `core: Core`. Expands inside an
/// `impl Plugin` block.
macro_rules! shared_plugin_methods {
    ($params:ty) => {
        type SysExMessage = ();
        type BackgroundTask = $crate::Task;

        fn task_executor(&mut self) -> TaskExecutor<Self> {
            $crate::task_executor::<Self>(
                self.core.loader.clone(),
                [self.params.model.clone(), self.params.morph_model.clone()],
            )
        }

        fn params(&self) -> Arc<dyn Params> {
            self.params.clone()
        }

        fn filter_state(state: &mut PluginState) {
            $crate::state::sanitize(state, &<$params>::default());
        }

        fn editor(&mut self, async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
            $crate::editor::create(
                self.params.clone(),
                self.core.editor_handles(),
                self.core.editor_state.clone(),
                self.core.repaint.clone(),
                Box::new(move |slot| {
                    async_executor.execute_background($crate::Task::LoadChosen(slot))
                }),
            )
        }

        fn activate(
            &mut self,
            layout: &AudioIOLayout,
            config: &BufferConfig,
            context: &mut impl ActivateContext<Self>,
        ) -> bool {
            self.core
                .activate(&self.params.engine, layout, config, context)
        }

        fn reset(&mut self) {
            self.core.reset();
        }
    };
}
pub(crate) use shared_plugin_methods;

/// The task executor both plugins use: loads run on nice-plug's background thread.
fn task_executor<P: Plugin<BackgroundTask = Task>>(
    loader: Arc<ModelLoader>,
    selections: [ModelSelection; 2],
) -> TaskExecutor<P> {
    let selection = move |slot: Slot| match slot {
        Slot::Model => selections[0].clone(),
        Slot::Morph => selections[1].clone(),
    };
    Box::new(move |task| match task {
        Task::LoadSelected(slot) => {
            loader.load(slot, &selection(slot).get());
        }
        Task::LoadChosen(slot) => {
            let chosen = selection(slot);
            if !loader.load(slot, &chosen.get()) {
                chosen.select(&loader.slot_status(slot).playing_spec);
            }
        }
    })
}

/// The part of a plugin that owns the engine: shared by the effect and the synth.
pub struct Core {
    /// The engine, built in `activate`.
    engine: Option<Engine>,
    /// Where the engine's voices come from (shared with the background task and the editor).
    loader: Arc<ModelLoader>,
    /// Meter values for the editor.
    meters: Arc<SharedMeters>,
    /// Asks the editor to redraw after new meter values.
    repaint: RepaintNotifier,
    /// Whether the editor is open (meters are skipped when it is not).
    editor_state: Arc<EguiEditorState>,
    /// The persisted model selection and the morph's model B (shared with the params).
    selection: ModelSelection,
    morph_selection: ModelSelection,
    /// The last pitch bend sent by MIDI out (14-bit), to send only changes.
    last_bend: Option<u16>,
    /// Input channels of the active layout (0, 1 or 2).
    input_channels: usize,
    /// The latency last reported to the host, in samples.
    latency: u32,
    /// The lowest note and the Low latency switch the engine was activated with (CLAP: a new
    /// one waits for the restart it asks for), and whether that restart has been asked for.
    active_lowest_note: f32,
    active_low_latency: bool,
    restart_pending: bool,
    /// Audio analysis (effect) or MIDI notes (synth).
    mode: Mode,
    /// The standalone's `--demo` melody, replacing the input when on.
    demo: Option<DemoInput>,
}

/// The editor's initial size in logical pixels (two rows of knobs, for the effect and the
/// synth).
pub const EDITOR_SIZE: (u32, u32) = (960, 680);

impl Core {
    /// A core for `mode`, using `selection` as the persisted model and `morph_selection` as
    /// the persisted model B.
    fn new(mode: Mode, selection: ModelSelection, morph_selection: ModelSelection) -> Self {
        let loader = Arc::new(ModelLoader::default());
        selection.load_on_restore(loader.clone());
        morph_selection.load_on_restore(loader.clone());
        Self {
            engine: None,
            loader,
            meters: Arc::new(SharedMeters::default()),
            repaint: RepaintNotifier::new(),
            editor_state: EguiEditorState::from_size(
                nice_plug::editor::dpi::LogicalSize::new(
                    EDITOR_SIZE.0 as f32,
                    EDITOR_SIZE.1 as f32,
                ),
                1.0,
            ),
            selection,
            morph_selection,
            last_bend: None,
            input_channels: 0,
            latency: 0,
            active_lowest_note: 0.0,
            active_low_latency: false,
            restart_pending: false,
            mode,
            demo: None,
        }
    }

    /// Builds the engine for this configuration and the current `params` (allocates; may
    /// read the model files) and reports the latency.
    fn activate<P: Plugin>(
        &mut self,
        params: &EngineParams,
        layout: &AudioIOLayout,
        config: &BufferConfig,
        context: &mut impl ActivateContext<P>,
    ) -> bool {
        let max_block = config.max_buffer_size.max(1) as usize;
        self.input_channels = layout.main_input_channels.map_or(0, NonZeroU32::get).min(2) as usize;
        self.demo = (demo::enabled() && self.mode == Mode::Audio)
            .then(|| DemoInput::new(config.sample_rate as f64));
        // A restored state is already in the selection: this activation loads it.
        self.selection.take_changed();
        self.morph_selection.take_changed();
        let spec = self.selection.get();
        let morph_spec = self.morph_selection.get();
        let mut engine = match self.loader.prepare(
            &spec,
            &morph_spec,
            config.sample_rate as f64,
            max_block,
            self.mode,
        ) {
            Ok(engine) => engine,
            Err(e) => {
                nice_log!("Tiny Timbre cannot run here: {e}");
                return false;
            }
        };
        // The knobs as they are now, so the latency reported here is the one that plays.
        let knobs = params.to_engine();
        engine.set_params(&knobs);
        self.active_lowest_note = knobs.lowest_note_hz;
        self.active_low_latency = knobs.low_latency;
        self.restart_pending = false;
        self.latency = engine.latency_samples();
        context.set_latency_samples(self.latency);
        // Dropping the previous engine here, on the main thread, frees its voices.
        self.engine = Some(engine);
        true
    }

    /// Clears every state of the engine. Allocation-free.
    fn reset(&mut self) {
        if let Some(engine) = self.engine.as_mut() {
            engine.reset();
        }
        self.meters.clear();
    }

    /// Things to do at the start of every process call: start a load when a restored state
    /// changed the model, and apply the parameters. Without an engine (activation failed) the
    /// outputs are silenced and it returns false. Allocation-free.
    fn begin_block<P: Plugin<BackgroundTask = Task>>(
        &mut self,
        params: &EngineParams,
        slices: &mut [&mut [f32]],
        context: &mut impl ProcessContext<P>,
    ) -> bool {
        if self.selection.take_changed() {
            context.execute_background(Task::LoadSelected(Slot::Model));
        }
        if self.morph_selection.take_changed() {
            context.execute_background(Task::LoadSelected(Slot::Morph));
        }
        match self.engine.as_mut() {
            Some(engine) => {
                let mut knobs = params.to_engine();
                // CLAP lets a plugin change its latency only in `activate`: a new lowest note
                // or Low latency setting asks the host for a restart and plays from the
                // reactivation on. VST3 hosts and the standalone take the change at once
                // (`end_block` reports it).
                if context.plugin_api() == PluginApi::Clap
                    && (knobs.lowest_note_hz != self.active_lowest_note
                        || knobs.low_latency != self.active_low_latency)
                {
                    Self::ask_restart(&mut self.restart_pending, context);
                    knobs.lowest_note_hz = self.active_lowest_note;
                    knobs.low_latency = self.active_low_latency;
                }
                engine.set_params(&knobs);
                true
            }
            None => {
                for channel in slices.iter_mut() {
                    channel.fill(0.0);
                }
                false
            }
        }
    }

    /// Runs the engine on samples `from..to` of the host buffer, in place (the engine reads
    /// each chunk's input before it writes the output there). Our layouts have at most two
    /// channels; a mono output gets `(left + right) / 2`. Allocation-free.
    fn render(&mut self, slices: &mut [&mut [f32]], from: usize, to: usize) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let mut input_channels = self.input_channels;
        if let Some(demo) = self.demo.as_mut() {
            if let Some(first) = slices.first_mut() {
                demo.fill(&mut first[from..to]);
                input_channels = 1;
            }
        }
        match slices {
            [] => {}
            [mono] => engine.process_in_place(&mut [&mut mono[from..to]], input_channels),
            [left, right, ..] => engine.process_in_place(
                &mut [&mut left[from..to], &mut right[from..to]],
                input_channels,
            ),
        }
    }

    /// Asks the host for a restart (CLAP's only moment to change the latency), once until it
    /// comes: `pending` is [`Core::restart_pending`]. Allocation-free.
    fn ask_restart<P: Plugin>(pending: &mut bool, context: &mut impl ProcessContext<P>) {
        if !*pending {
            context.request_restart();
            *pending = true;
        }
    }

    /// Things to do at the end of every process call: report a changed latency and publish
    /// the meters while the editor is open. Allocation-free.
    fn end_block<P: Plugin>(&mut self, context: &mut impl ProcessContext<P>) {
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        let latency = engine.latency_samples();
        if latency != self.latency {
            if context.plugin_api() == PluginApi::Clap {
                // A model whose body delays it differently (a swap, a morph past 50 %): CLAP
                // takes the new latency at the reactivation it asks for.
                Self::ask_restart(&mut self.restart_pending, context);
            } else {
                self.latency = latency;
                context.set_latency_samples(latency);
            }
        }
        if self.editor_state.is_open() {
            self.meters.publish(engine);
            self.repaint.request_repaint();
        }
    }

    /// The handles the editor needs.
    fn editor_handles(&self) -> editor::Shared {
        editor::Shared {
            loader: self.loader.clone(),
            meters: self.meters.clone(),
            selection: self.selection.clone(),
            morph_selection: self.morph_selection.clone(),
        }
    }

    /// Sends the notes the engine heard in the last block as MIDI (note on and off, and
    /// pitch bend over ±[`MIDI_BEND_RANGE`] semitones when `bend`), at their sample
    /// positions. Allocation-free.
    fn send_heard_notes<P: Plugin>(&mut self, bend: bool, context: &mut impl ProcessContext<P>) {
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        for heard in engine.heard_notes() {
            let timing = heard.position;
            let event = match heard.event {
                HeardEvent::On { note, velocity, .. } => {
                    self.last_bend = None;
                    NoteEvent::NoteOn {
                        timing,
                        voice_id: VoiceID::Wildcard,
                        channel: Channel::Number(0),
                        key: Key::Number(note),
                        velocity: f32::from(velocity) / 127.0,
                    }
                }
                HeardEvent::Off { note, .. } => NoteEvent::NoteOff {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(0),
                    key: Key::Number(note),
                    velocity: 0.5,
                },
                HeardEvent::Bend { semitones, .. } if bend => {
                    let value = (0.5 + semitones / (2.0 * MIDI_BEND_RANGE)).clamp(0.0, 1.0);
                    let raw = (value * 16383.0).round() as u16;
                    if self.last_bend == Some(raw) {
                        continue;
                    }
                    self.last_bend = Some(raw);
                    NoteEvent::MidiPitchBend {
                        timing,
                        channel: 0,
                        value,
                    }
                }
                HeardEvent::Bend { .. } => continue,
            };
            // A full host queue drops the event; nothing else can be done on this thread.
            let _ = context.try_send_event(event);
        }
    }
}

/// The timbre-transfer effect: audio in, the same melody played by the model out.
pub struct TinyTimbre {
    /// Host-visible parameters and the persisted model.
    params: Arc<TimbreParams>,
    /// The engine and everything around it.
    core: Core,
}

impl Default for TinyTimbre {
    fn default() -> Self {
        let params = Arc::new(TimbreParams::default());
        let core = Core::new(
            Mode::Audio,
            params.model.clone(),
            params.morph_model.clone(),
        );
        Self { params, core }
    }
}

impl Plugin for TinyTimbre {
    const NAME: &'static str = "Tiny Timbre";
    const VENDOR: &'static str = VENDOR;
    const URL: &'static str = URL;
    const EMAIL: &'static str = EMAIL;
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        // A mono track in a host that wants as many outputs as inputs (JUCE hosts).
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    const SAMPLE_ACCURATE_AUTOMATION: bool = true;
    /// MIDI out (the notes heard), with pitch bend.
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;

    type Editor = nice_plug_egui::EguiEditor<editor::TimbreEditor<TimbreParams>>;
    shared_plugin_methods!(TimbreParams);

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let n = buffer.samples();
        let slices = buffer.as_slice();
        if self.core.begin_block(&self.params.engine, slices, context) {
            if let Some(engine) = self.core.engine.as_mut() {
                engine.set_note_output(self.params.midi.notes.value());
            }
            self.core.render(slices, 0, n);
            self.core
                .send_heard_notes(self.params.midi.bend.value(), context);
            self.core.end_block(context);
        }
        ProcessStatus::Normal
    }
}

plugin_formats!(
    TinyTimbre,
    clap_id: "dev.tinytimbre.tiny-timbre",
    description: "Real-time timbre transfer: sing a line, hear it played by a trained instrument",
    clap_features: [AudioEffect, Stereo, Mono, PitchShifter],
    // "TinyTimbreEffect", 16 ASCII bytes: fixed forever.
    vst3_class_id: *b"TinyTimbreEffect",
    vst3_subcategories: [Fx, PitchShift],
);

nice_export_clap!(TinyTimbre, TinyTimbreSynth);
nice_export_vst3!(TinyTimbre, TinyTimbreSynth);
