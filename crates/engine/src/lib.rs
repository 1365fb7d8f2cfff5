//! The Tiny Timbre engine: the one pipeline that the plugin, the CLI, the browser and the
//! tests share.
//!
//! ```text
//! host block (any size; separate buffers or the host's channels in place)
//!   ─► chunks of at most max_block ─► mono
//!   ─► FrameSource: Analyzer (resample to 16 kHz, f0, confidence, loudness every 1 ms:
//!      four control steps per 4 ms model frame, see [`CONTROL_STEPS`])
//!      or the note player (synth mode)
//!      (and, with MIDI out on, HeardNotes: the notes in those frames)
//!   ─► ControlStage (shift, autotune, auto-adjust, gate)
//!   ─► VoiceDeck: each voice's decoder step (model B's blended in by the morph knob)
//!      ─► harmonic bank + filtered noise at the host rate ─► body + stereo room; the crossfade
//!      of a model swap
//!   ─► OutputStage (gain, ceiling) ─► stereo out (or its mono mix)
//! ```
//!
//! [`Engine::prepare`] allocates everything for a host rate and a maximum block size and
//! returns the engine with its [`VoiceFactory`]. [`Engine::process`] and
//! [`Engine::process_in_place`] share one chunk loop and never allocate, lock, log or do I/O:
//! blocks larger than the maximum are split, frames are buffered in a preallocated array, and
//! new models arrive through a lock-free ring, already built by the factory on another
//! thread. The output is identical whatever block sizes the host uses, because every event
//! (frame arrival, control ramp) is tied to an absolute sample position.

pub mod controls;
mod deck;
pub mod error;
pub mod factory;
mod heard;
pub mod humanize;
pub mod ir;
pub mod manual;
mod morph;
pub mod notes;
pub mod offline;
mod output;
pub mod params;
mod source;
mod swap;
pub mod voice;

use std::ops::Range;

use timbre_dsp::analysis::{AnalysisConfig, Analyzer, Frame};
use timbre_dsp::smooth::sanitize;
use timbre_model::ModelFile;

pub use controls::{Shaped, TargetStats};
pub use error::EngineError;
pub use factory::{VoiceFactory, CONTROL_STEPS};
pub use heard::HeardNote;
pub use manual::ManualControls;
pub use notes::{Adsr, NoteSource};
pub use params::Params;
pub use voice::Voice;

use controls::ControlStage;
use deck::{FrameControls, VoiceDeck};
use heard::HeardNotes;
use humanize::Humanizer;
use output::OutputStage;
use source::FrameSource;

/// The latency [`Engine::latency_samples`] reports in audio mode, in seconds, at `host_rate`
/// for each lowest-note setting in `lowest_notes_hz`, with the default analysis (every shipped
/// model's): what the Lowest note knob's text says. Allocates (builds one analyzer); call it
/// off the audio thread.
pub fn latencies_seconds(host_rate: f64, lowest_notes_hz: &[f32]) -> Result<Vec<f64>, EngineError> {
    let config = factory::control_config_of(AnalysisConfig::default());
    let mut analyzer = Analyzer::new(config, host_rate).map_err(EngineError::Analysis)?;
    let hop = 1.0 / config.frame_rate();
    Ok(lowest_notes_hz
        .iter()
        .map(|&hz| {
            analyzer.set_lowest_note(hz);
            analyzer.latency_seconds() + hop
        })
        .collect())
}

/// Lowest host sample rate the engine runs at, in Hz. Below 2 × the model's band (16 kHz for
/// an 8 kHz model) the synth drops the harmonics and noise bands above the host's Nyquist
/// frequency: at 8 kHz a violin keeps its partials below 4 kHz, at 1 kHz only what lies
/// below 500 Hz (the analysis still hears the whole band the host delivers).
pub const MIN_SAMPLE_RATE: f64 = 1_000.0;
/// Highest host sample rate the engine runs at, in Hz: beyond every rate a host offers
/// (768 kHz) and the 1.23 MHz the VST3 validator tries.
pub const MAX_SAMPLE_RATE: f64 = 2_000_000.0;
/// Length of the crossfade between two models, in ms.
pub const CROSSFADE_MS: f64 = 20.0;
/// Glide time of the output gain and reverb mix, in ms.
pub const PARAM_SMOOTHING_MS: f32 = 20.0;
/// The output never exceeds this magnitude (+12 dBFS): a last safety net against a runaway
/// model or extreme settings, far above any normal level.
pub const OUTPUT_CEILING: f32 = 4.0;
/// Input samples smaller than this in magnitude (−140 dBFS) count as silence for the rest
/// state (see [`Engine::process`]).
pub const SILENCE_FLOOR: f32 = 1e-7;
/// How long the engine waits after its source fell silent before it rests, beyond the
/// reverb's tail, in ms: long enough for the gate to close, the decoder and the noise frames
/// to empty and every reverb partition to flush, so the output is exactly zero by then.
pub const REST_MARGIN_MS: f64 = 1000.0;

/// Where the f0 and loudness come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Timbre transfer: analysed from the input audio.
    Audio,
    /// Synth mode: from MIDI notes ([`Engine::note_on`] and friends); the input is ignored.
    Notes,
}

/// Live values for meters (editor, web page). Copied out once per block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Meters {
    /// The last analysed (or note) frame.
    pub frame: Frame,
    /// The shaped frame the decoder saw.
    pub f0_out_hz: f32,
    /// Gate gain in 0..1.
    pub gate: f32,
    /// Peak of the last block's input.
    pub input_peak: f32,
    /// Peak of the last block's output.
    pub output_peak: f32,
}

/// The real-time timbre-transfer engine: a frame source, the control stage, a deck of voices
/// and an output stage, run chunk by chunk (see the crate docs).
pub struct Engine {
    host_rate: f64,
    max_block: usize,
    params: Params,
    /// Analysis or notes.
    source: FrameSource,
    /// Shift, autotune, auto-adjust, gate.
    controls: ControlStage,
    /// The player's unsteadiness the synth adds (Humanize).
    humanizer: Humanizer,
    /// The voice playing and the one fading out.
    deck: VoiceDeck,
    /// Gain, reverb mix, ceiling.
    output: OutputStage,
    /// Host samples processed since `prepare` or the last clear.
    samples_done: u64,
    /// The chunk's mono input and stereo output, `max_block` long.
    mono: Vec<f32>,
    out: [Vec<f32>; 2],
    /// Resting: the source has been silent long enough that the engine was reset; it outputs
    /// zeros and does nothing until sound (or a note) arrives, and then starts exactly like a
    /// fresh instance. This makes a render independent of what played before a pause.
    resting: bool,
    /// Host samples the source has been silent for (input below [`SILENCE_FLOOR`], or no
    /// note sounding).
    silent_samples: u64,
    meters: Meters,
    /// Hand-set synth controls, and whether they replace the decoder's output.
    manual: Box<ManualControls>,
    manual_on: bool,
    /// The notes heard in the input (MIDI out), and where in the block the chunk being
    /// processed starts.
    heard: HeardNotes,
    chunk_start: usize,
    /// Control steps since the last model frame (see [`CONTROL_STEPS`]): the note tracker
    /// and Humanize's curves move once per model frame, at the steps whose window ends where
    /// a model frame's does.
    step_in_frame: usize,
}

impl Engine {
    /// Prepares an engine for `host_rate` Hz and blocks of at most `max_block` samples,
    /// playing `model`. Returns the engine and the [`VoiceFactory`] through which other threads
    /// build voices for it and swap them in. Allocates; call it off the audio thread (in the
    /// plugin's `activate`).
    pub fn prepare(
        model: &ModelFile,
        host_rate: f64,
        max_block: usize,
    ) -> Result<(Self, VoiceFactory), EngineError> {
        if !host_rate.is_finite() || !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&host_rate) {
            return Err(EngineError::UnsupportedSampleRate(host_rate));
        }
        if max_block == 0 {
            return Err(EngineError::InvalidBlockSize);
        }
        let config = factory::control_config(model)?;
        let analyzer = Analyzer::new(config, host_rate).map_err(EngineError::Analysis)?;
        let (sender, receiver) = swap::channel();
        let (morph_sender, morph_receiver) = swap::channel();
        let factory = VoiceFactory::new(host_rate, max_block, [sender, morph_sender]);
        let voice = factory.build(model)?;
        let fade_len = (CROSSFADE_MS * 1e-3 * host_rate).round() as usize;
        let params = Params::default();
        let mut engine = Self {
            host_rate,
            max_block,
            controls: ControlStage::new(config.frame_rate() as f32),
            humanizer: Humanizer::new((config.frame_rate() / CONTROL_STEPS as f64) as f32),
            source: FrameSource::new(analyzer, host_rate, max_block),
            deck: VoiceDeck::new(
                voice,
                [receiver, morph_receiver],
                fade_len,
                (REST_MARGIN_MS * 1e-3 * host_rate) as usize,
                max_block,
            ),
            output: OutputStage::new(&params, host_rate, max_block),
            params,
            samples_done: 0,
            mono: vec![0.0; max_block],
            out: [vec![0.0; max_block], vec![0.0; max_block]],
            resting: true,
            silent_samples: 0,
            meters: Meters::default(),
            manual: ManualControls::new_boxed(),
            manual_on: false,
            heard: HeardNotes::new(
                (max_block as f64 / (host_rate / config.frame_rate())).ceil() as usize + 4,
            ),
            step_in_frame: 0,
            chunk_start: 0,
        };
        engine.set_lowest_note();
        Ok((engine, factory))
    }

    /// The host rate in Hz.
    pub fn sample_rate(&self) -> f64 {
        self.host_rate
    }

    /// The largest block processed in one piece (larger ones are split).
    pub fn max_block(&self) -> usize {
        self.max_block
    }

    /// Sets every parameter (clamped into range). Allocation-free; call it from the audio
    /// thread before `process`, e.g. with values read from the host's atomics.
    pub fn set_params(&mut self, params: &Params) {
        self.params = params.clamped();
        self.output.set_targets(&self.params);
        self.set_lowest_note();
    }

    /// Applies the lowest-note knob: the analysis window, and the gate attack that follows it.
    fn set_lowest_note(&mut self) {
        self.source.set_lowest_note(self.params.lowest_note_hz);
        self.controls.set_window_ms(self.source.window_ms());
    }

    /// The parameters in use.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Chooses audio analysis or MIDI notes as the source of f0 and loudness (Autotune acts
    /// on the analysed input only).
    pub fn set_mode(&mut self, mode: Mode) {
        self.source.set_mode(mode);
        self.controls.set_from_notes(mode == Mode::Notes);
    }

    /// The source of f0 and loudness.
    pub fn mode(&self) -> Mode {
        self.source.mode()
    }

    /// Synth mode: a key was pressed (velocity 0..1).
    pub fn note_on(&mut self, note: u8, velocity: f32) {
        self.source.notes_mut().note_on(note, velocity);
        self.wake();
    }

    /// Synth mode: a key was released.
    pub fn note_off(&mut self, note: u8) {
        self.source.notes_mut().note_off(note);
    }

    /// Synth mode: pitch bend in semitones.
    pub fn pitch_bend(&mut self, semitones: f32) {
        self.source.notes_mut().pitch_bend(semitones);
    }

    /// Synth mode: the envelope.
    pub fn set_adsr(&mut self, adsr: Adsr) {
        self.source.notes_mut().set_adsr(adsr);
    }

    /// The name of the model playing now.
    pub fn model_name(&self) -> &str {
        self.deck.current().name()
    }

    /// Model B of the morph, once one has arrived (see [`VoiceFactory::send_morph`]).
    pub fn morph_voice(&self) -> Option<&Voice> {
        self.deck.morph_voice()
    }

    /// The voice playing now (its last controls feed the editor's meters).
    pub fn voice(&self) -> &Voice {
        self.deck.current()
    }

    /// Live values for meters.
    pub fn meters(&self) -> Meters {
        self.meters
    }

    /// What the decoder of the voice playing now output for the last frame (amplitude,
    /// harmonic distribution, noise bands), for meters. It lives in the decoder's preallocated
    /// storage and stays the network's output even while [`Engine::set_manual`] is on.
    pub fn decoder_output(&self) -> &timbre_model::Controls {
        self.deck.current().last_controls()
    }

    /// The hand-set synth controls (see [`manual`]), to edit in place. Allocation-free.
    pub fn manual_controls_mut(&mut self) -> &mut ManualControls {
        &mut self.manual
    }

    /// Copies the decoder's last output into the hand-set controls, so a hand takes over from
    /// exactly what the network played. Allocation-free.
    pub fn manual_from_decoder(&mut self) {
        self.manual.copy_from(self.deck.current().last_controls());
    }

    /// The hand-set synth controls.
    pub fn manual_controls(&self) -> &ManualControls {
        &self.manual
    }

    /// Whether the synth plays the hand-set controls instead of the decoder's output, from the
    /// next frame on. Allocation-free.
    pub fn set_manual(&mut self, on: bool) {
        self.manual_on = on;
    }

    /// Whether the hand-set controls are playing.
    pub fn manual(&self) -> bool {
        self.manual_on
    }

    /// The delay from an input event to the matching output, in host samples, rounded to
    /// whole samples: the analysis delay (resampler plus half the window, see
    /// [`Analyzer::latency_host_samples`]) plus one control step (1 ms: a quarter of the
    /// model's hop, see [`CONTROL_STEPS`]). The synth reaches a step's values at the end of the
    /// ramp that starts when the step completes, one step later, so a vibrato or a tremolo
    /// comes out one step after the analysis delay; an input step falls on average half a
    /// control step before the step that first sees it and is heard at the ramp's midpoint,
    /// half a step after it: one step again (measured in tests/in_step.rs). Synth mode has
    /// only the control step. To that comes the delay of the playing model's body
    /// ([`Voice::body_delay_samples`]: 7–13 ms for the shipped models as learned, 1–2.5 ms
    /// with Low latency on), after which the output's vibrato is heard (within 3 ms,
    /// tests/trained_in_step.rs); in a morph, the body of the model that has the larger
    /// share (model B from 50 % on), so that each end plays exactly as its model alone.
    pub fn latency_samples(&self) -> u32 {
        let voice = match self.deck.morph_voice() {
            Some(b) if self.params.morph >= 0.5 => b,
            _ => self.deck.current(),
        };
        let body = voice.body_delay_samples(self.params.low_latency);
        (self.analysis_latency_samples() + body).round() as u32
    }

    /// [`Engine::latency_samples`] without the body: the analysis and the control step, in
    /// host samples (what [`latencies_seconds`] gives for each lowest note).
    pub fn analysis_latency_samples(&self) -> f64 {
        self.source.latency_host_samples() + self.source.hop_host()
    }

    /// Clears every state (analysis, decoder, synth, reverb, smoothers, held notes), keeping
    /// the model and parameters: what follows sounds exactly like a fresh instance.
    /// Allocation-free.
    pub fn reset(&mut self) {
        self.source.reset_notes();
        self.heard.release_later();
        self.rest();
    }

    /// Turns the note output (MIDI out) on or off: while on, the notes heard in the input
    /// (audio mode) are reported after each block by [`Engine::heard_notes`]; turning it off
    /// ends a sounding note at the next block. Allocation-free.
    pub fn set_note_output(&mut self, on: bool) {
        self.heard.set_on(on);
    }

    /// The note events of the last `process` call, in order, each at its sample position in
    /// that block (see [`HeardNote`]): note on (velocity from the loudness), note off, and
    /// the pitch's distance from the note for pitch bend.
    pub fn heard_notes(&self) -> &[HeardNote] {
        self.heard.events()
    }

    /// Clears what sounds and rests until the next input (or note-on). Allocation-free.
    fn rest(&mut self) {
        self.clear_sound();
        self.resting = true;
    }

    /// Clears everything that sounds or listens (not the held notes, bend or envelope
    /// settings) and puts the smoothers on their targets. Allocation-free.
    fn clear_sound(&mut self) {
        self.source.clear();
        self.controls.reset();
        self.humanizer.reset();
        self.step_in_frame = 0;
        self.deck.clear();
        self.samples_done = 0;
        self.silent_samples = 0;
        self.output.reset(&self.params);
    }

    /// Leaves the rest state: the next sample is the first of a fresh stream.
    fn wake(&mut self) {
        if self.resting {
            self.resting = false;
            self.clear_sound();
        }
    }

    /// Whether the engine is resting (see [`Engine::process`]).
    pub fn is_resting(&self) -> bool {
        self.resting
    }

    /// Host samples of silence after which the engine rests: the reverb's tail plus
    /// [`REST_MARGIN_MS`].
    fn rest_after_samples(&self) -> u64 {
        self.deck.tail_samples() as u64 + (REST_MARGIN_MS * 1e-3 * self.host_rate) as u64
    }

    /// Processes one block. `inputs` holds one slice per input channel (mono or stereo; they
    /// are averaged; empty means silence); the outputs must have the same length as the
    /// inputs. Any length works (larger than `max_block` is split). Never allocates, locks,
    /// logs or does I/O; the output is always finite and within ±[`OUTPUT_CEILING`].
    ///
    /// The output is stereo: the two channels differ only by the side of the stereo reverb,
    /// so `(left + right) / 2` is the mono mix (see [`Voice::reverberate`]).
    ///
    /// **Rest.** A fresh or reset engine rests, and so does one whose source has been silent
    /// (input below [`SILENCE_FLOOR`] in audio mode, no note sounding in note mode) for the
    /// reverb's tail plus [`REST_MARGIN_MS`], by which time its output is exactly zero. A
    /// resting engine outputs zeros and skips all work; the first input sample above the floor
    /// (or the next note-on) starts it again from a cleared state, on that very sample. So a
    /// phrase renders bit-identically however long the silence before it, whatever played
    /// before the pause and however the host cut its blocks: two bounces of a session match.
    pub fn process(&mut self, inputs: &[&[f32]], out_left: &mut [f32], out_right: &mut [f32]) {
        let n = out_left.len().min(out_right.len());
        self.run(
            n,
            &mut SplitIo {
                inputs,
                left: out_left,
                right: out_right,
            },
        );
    }

    /// Processes the host's channels in place, as a plugin gets them: the first
    /// `input_channels` slices are the input (averaged; 0 means silence), and all slices are
    /// overwritten with the output: left and right on two or more channels (extra channels get
    /// the left), the mono mix `(left + right) / 2` on one. Same behaviour as
    /// [`Engine::process`], without copying the input out first: each chunk's input is read
    /// before its output is written. Allocation-free.
    pub fn process_in_place(&mut self, channels: &mut [&mut [f32]], input_channels: usize) {
        let n = channels.iter().map(|c| c.len()).min().unwrap_or(0);
        let input_channels = input_channels.min(channels.len());
        self.run(
            n,
            &mut InPlaceIo {
                channels,
                input_channels,
            },
        );
    }

    /// The one chunk loop behind both entry points: for each chunk of at most `max_block`
    /// samples of the `n`, `io` fills the mono input, the pipeline runs, and `io` takes the
    /// stereo output.
    fn run(&mut self, n: usize, io: &mut impl BlockIo) {
        self.deck.take_arrivals(self.resting);
        self.heard.begin_block();
        let mut in_peak = 0.0f32;
        let mut out_peak = 0.0f32;
        let mut done = 0;
        while done < n {
            let len = (n - done).min(self.max_block);
            let range = done..done + len;
            let mono = &mut self.mono[..len];
            io.read(range.clone(), mono);
            in_peak = mono.iter().fold(in_peak, |p, x| p.max(x.abs()));
            self.chunk_start = done;
            let start = self.wake_position(len);
            self.out[0][..start].fill(0.0);
            self.out[1][..start].fill(0.0);
            if start < len {
                self.process_chunk(start, len);
                self.update_rest(start, len);
            }
            let [left, right] = &self.out;
            out_peak = left[..len]
                .iter()
                .chain(&right[..len])
                .fold(out_peak, |p, x| p.max(x.abs()));
            io.write(range, &left[..len], &right[..len]);
            done += len;
        }
        self.meters.input_peak = in_peak;
        self.meters.output_peak = out_peak;
    }

    /// Where in the chunk `mono[..len]` the engine plays from: 0 when it is awake; when it
    /// rests, the first sample above [`SILENCE_FLOOR`] in audio mode (waking it there), or
    /// `len` (stays at rest; note mode wakes on a note-on).
    fn wake_position(&mut self, len: usize) -> usize {
        if !self.resting {
            return 0;
        }
        if self.source.mode() == Mode::Notes {
            return len;
        }
        match self.mono[..len]
            .iter()
            .position(|x| x.abs() > SILENCE_FLOOR)
        {
            Some(first) => {
                self.wake();
                first
            }
            None => len,
        }
    }

    /// Counts the silence in samples `from..len` of the chunk just played, and rests once it
    /// has lasted [`Engine::rest_after_samples`].
    fn update_rest(&mut self, from: usize, len: usize) {
        let played = (len - from) as u64;
        let silent = match self.source.mode() {
            Mode::Audio => {
                let chunk = &self.mono[from..len];
                match chunk.iter().rposition(|x| x.abs() > SILENCE_FLOOR) {
                    Some(last) => {
                        self.silent_samples = 0;
                        (chunk.len() - 1 - last) as u64
                    }
                    None => played,
                }
            }
            Mode::Notes if self.source.notes_idle() => played,
            Mode::Notes => {
                self.silent_samples = 0;
                0
            }
        };
        self.silent_samples += silent;
        if self.silent_samples >= self.rest_after_samples() {
            self.heard.end((self.chunk_start + len) as u32);
            self.rest();
        }
    }

    /// Runs the pipeline on `self.mono[from..to]` into `self.out[..][from..to]`.
    fn process_chunk(&mut self, from: usize, to: usize) {
        let len = to - from;
        // 1. Frames, with the position (from `from`) at which each one is complete.
        let ramp_samples = self.source.hop_host().round() as u32;
        let listening = self.source.mode() == Mode::Audio;
        let frames = self.source.collect(&self.mono[from..to], self.samples_done);
        // 2. Per-sample smoothed gain and reverb mix.
        self.output.advance(len);
        // 3. Render between frame arrivals; each frame retargets the synth from its position.
        let mut pos = 0;
        for &(frame_pos, frame) in frames {
            let frame_pos = frame_pos.min(len);
            self.deck.render(pos, frame_pos);
            let morph = self.output.morph(len)[frame_pos.min(len.saturating_sub(1))];
            let target = self.deck.target(morph, frame_pos);
            let shaped = self.controls.shape(&frame, &self.params, target.as_ref());
            self.step_in_frame = (self.step_in_frame + 1) % CONTROL_STEPS;
            let model_frame = self.step_in_frame == 0;
            if model_frame {
                self.humanizer.step(
                    self.params.humanize_percent / 100.0,
                    self.params.humanize_spread as usize,
                );
            }
            let glide = (self.step_in_frame + 1) as f32 / CONTROL_STEPS as f32;
            let drift = self.humanizer.glide(glide);
            self.deck.on_frame(FrameControls {
                shaped: &shaped,
                harmonic_gain_db: self.params.harmonic_gain_db,
                noise_gain_db: self.params.noise_gain_db,
                ramp_samples,
                manual: self.manual_on.then_some(&*self.manual),
                morph,
                drift,
                offset: frame_pos,
            });
            if listening && model_frame {
                self.heard
                    .on_frame((self.chunk_start + from + frame_pos) as u32, &frame);
            }
            self.meters.frame = frame;
            self.meters.f0_out_hz = shaped.f0_hz;
            self.meters.gate = shaped.gate_gain;
            pos = frame_pos;
        }
        self.deck.render(pos, len);
        // 4. Stereo reverb over the whole chunk, then the crossfade of a model swap.
        let [left, right] = &mut self.out;
        let (left, right) = (&mut left[from..to], &mut right[from..to]);
        self.deck.finish(
            self.output.wet(len),
            self.output.morph(len),
            self.params.low_latency,
            left,
            right,
        );
        // 5. Output gain and the safety ceiling.
        self.output.apply([left, right]);
        self.samples_done += len as u64;
    }
}

/// Where a block's input comes from and its output goes, chunk by chunk.
trait BlockIo {
    /// Fills `mono` with the mean of the input channels over `range`, sanitized (silence
    /// when there is no input).
    fn read(&mut self, range: Range<usize>, mono: &mut [f32]);
    /// Stores the stereo output of `range`.
    fn write(&mut self, range: Range<usize>, left: &[f32], right: &[f32]);
}

/// Separate input slices and a left/right output pair ([`Engine::process`]).
struct SplitIo<'a, 'b> {
    inputs: &'a [&'b [f32]],
    left: &'a mut [f32],
    right: &'a mut [f32],
}

impl BlockIo for SplitIo<'_, '_> {
    fn read(&mut self, range: Range<usize>, mono: &mut [f32]) {
        // Channels shorter than the block count as silent from where they end.
        let covering = || self.inputs.iter().filter(|c| c.len() >= range.end);
        mix_to_mono(
            covering().count(),
            covering().map(|c| &c[range.clone()]),
            mono,
        );
    }

    fn write(&mut self, range: Range<usize>, left: &[f32], right: &[f32]) {
        self.left[range.clone()].copy_from_slice(left);
        self.right[range].copy_from_slice(right);
    }
}

/// The host's channels, input and output in the same slices
/// ([`Engine::process_in_place`]).
struct InPlaceIo<'a, 'b> {
    channels: &'a mut [&'b mut [f32]],
    input_channels: usize,
}

impl BlockIo for InPlaceIo<'_, '_> {
    fn read(&mut self, range: Range<usize>, mono: &mut [f32]) {
        let inputs = &self.channels[..self.input_channels];
        mix_to_mono(inputs.len(), inputs.iter().map(|c| &c[range.clone()]), mono);
    }

    fn write(&mut self, range: Range<usize>, left: &[f32], right: &[f32]) {
        match &mut self.channels[..] {
            [] => {}
            [mono] => {
                for ((m, l), r) in mono[range].iter_mut().zip(left).zip(right) {
                    *m = (*l + *r) * 0.5;
                }
            }
            [first, second, rest @ ..] => {
                first[range.clone()].copy_from_slice(left);
                second[range.clone()].copy_from_slice(right);
                for extra in rest {
                    extra[range.clone()].copy_from_slice(left);
                }
            }
        }
    }
}

/// Writes the mean of `count` channels (each `mono.len()` long), sanitized, into `mono`.
fn mix_to_mono<'c>(count: usize, channels: impl Iterator<Item = &'c [f32]>, mono: &mut [f32]) {
    mono.fill(0.0);
    if count == 0 {
        return;
    }
    let scale = 1.0 / count as f32;
    for channel in channels {
        for (m, &x) in mono.iter_mut().zip(channel) {
            *m += sanitize(x) * scale;
        }
    }
}
