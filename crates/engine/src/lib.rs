//! The Tiny Timbre engine: the one pipeline that the plugin, the CLI, the browser and the
//! tests share.
//!
//! ```text
//! input block (any size, mono or stereo) ─► mono ─► Analyzer (resample to 16 kHz, f0,
//!   confidence, loudness per 4 ms hop) ─► ControlStage (shift, autotune, auto-adjust, gate)
//!   ─► Voice: decoder step ─► harmonic bank + filtered noise at the host rate ─► reverb
//!   ─► output gain ─► stereo out
//! ```
//!
//! [`Engine::prepare`] allocates everything for a host rate and a maximum block size.
//! [`Engine::process`] then never allocates, locks, logs or does I/O: blocks larger than the
//! maximum are split, frames are buffered in a preallocated array, and new models arrive
//! through the lock-free [`swap`] rings, already built by the [`VoiceFactory`] on another
//! thread. The output is identical whatever block sizes the host uses, because every event
//! (frame arrival, control ramp) is tied to an absolute sample position.

pub mod controls;
pub mod error;
pub mod factory;
pub mod ir;
pub mod manual;
pub mod notes;
pub mod offline;
pub mod params;
mod swap;
pub mod voice;

use timbre_dsp::analysis::{Analyzer, Frame};
use timbre_dsp::smooth::{sanitize, LinearSmoother};
use timbre_model::ModelFile;

pub use controls::{Shaped, TargetStats};
pub use error::EngineError;
pub use factory::VoiceFactory;
pub use manual::ManualControls;
pub use notes::{Adsr, NoteSource};
pub use params::Params;
pub use voice::Voice;

use controls::ControlStage;
use voice::WARMUP_FRAMES;

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

/// The real-time timbre-transfer engine.
pub struct Engine {
    host_rate: f64,
    max_block: usize,
    mode: Mode,
    params: Params,
    analyzer: Analyzer,
    notes: NoteSource,
    controls: ControlStage,
    /// The voice playing now.
    voice: Box<Voice>,
    /// The voice fading out after a swap, and how far its fade has gone.
    fading: Option<Box<Voice>>,
    fade_pos: usize,
    fade_len: usize,
    /// Swap rings (audio side).
    receiver: swap::VoiceReceiver,
    /// Frames completed in the current chunk: (position in chunk, frame).
    frames: Vec<(usize, Frame)>,
    /// Last decoder inputs, for warming up a new voice (ring).
    history: Box<[(f32, f32); WARMUP_FRAMES]>,
    history_head: usize,
    history_len: usize,
    /// Host samples per frame (not an integer in general).
    hop_host: f64,
    /// Synth mode: note frames emitted so far.
    note_frames: u64,
    /// Host samples processed since `prepare` or `reset`.
    samples_done: u64,
    /// Scratch buffers, `max_block` long: the mono input, the dry synth of the current and
    /// of the fading voice, the stereo output of each, and the per-sample wet and gain.
    mono: Vec<f32>,
    mix: Vec<f32>,
    fade_buf: Vec<f32>,
    out: [Vec<f32>; 2],
    fade_out: [Vec<f32>; 2],
    wet: Vec<f32>,
    gain: Vec<f32>,
    /// Resting: the source has been silent long enough that the engine was reset; it outputs
    /// zeros and does nothing until sound (or a note) arrives, and then starts exactly like a
    /// fresh instance. This makes a render independent of what played before a pause.
    resting: bool,
    /// Host samples the source has been silent for (input below [`SILENCE_FLOOR`], or no
    /// note sounding).
    silent_samples: u64,
    /// Smoothed output gain (linear) and reverb mix (0..1).
    output_gain: LinearSmoother,
    reverb_mix: LinearSmoother,
    meters: Meters,
    /// Hand-set synth controls, and whether they replace the decoder's output.
    manual: Box<ManualControls>,
    manual_on: bool,
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
        let config = factory::analysis_config(model)?;
        let analyzer = Analyzer::new(config, host_rate).map_err(EngineError::Analysis)?;
        let (sender, receiver) = swap::channel();
        let factory = VoiceFactory::new(host_rate, max_block, sender);
        let voice = factory.build(model)?;
        let frame_rate = config.frame_rate();
        let hop_host = host_rate / frame_rate;
        // Frames per chunk: at most one per hop, plus slack for the resampler's uneven intake.
        let max_frames = (max_block as f64 / hop_host).ceil() as usize + 4;
        let params = Params::default();
        let engine = Self {
            host_rate,
            max_block,
            mode: Mode::Audio,
            params,
            analyzer,
            notes: NoteSource::new(frame_rate as f32),
            controls: ControlStage::new(frame_rate as f32),
            voice,
            fading: None,
            fade_pos: 0,
            fade_len: (CROSSFADE_MS * 1e-3 * host_rate).round() as usize,
            receiver,
            frames: Vec::with_capacity(max_frames),
            history: Box::new([(0.0, 0.0); WARMUP_FRAMES]),
            history_head: 0,
            history_len: 0,
            hop_host,
            note_frames: 0,
            samples_done: 0,
            mono: vec![0.0; max_block],
            mix: vec![0.0; max_block],
            fade_buf: vec![0.0; max_block],
            out: [vec![0.0; max_block], vec![0.0; max_block]],
            fade_out: [vec![0.0; max_block], vec![0.0; max_block]],
            resting: true,
            silent_samples: 0,
            wet: vec![0.0; max_block],
            gain: vec![0.0; max_block],
            output_gain: LinearSmoother::with_time(
                params::db_to_gain(params.output_gain_db),
                PARAM_SMOOTHING_MS,
                host_rate,
            ),
            reverb_mix: LinearSmoother::with_time(
                params.reverb_percent / 100.0,
                PARAM_SMOOTHING_MS,
                host_rate,
            ),
            meters: Meters::default(),
            manual: ManualControls::new_boxed(),
            manual_on: false,
        };
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
        self.output_gain
            .set_target(params::db_to_gain(self.params.output_gain_db));
        self.reverb_mix
            .set_target(self.params.reverb_percent / 100.0);
    }

    /// The parameters in use.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Chooses audio analysis or MIDI notes as the source of f0 and loudness.
    pub fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
    }

    /// The source of f0 and loudness.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Synth mode: a key was pressed (velocity 0..1).
    pub fn note_on(&mut self, note: u8, velocity: f32) {
        self.notes.note_on(note, velocity);
        self.wake();
    }

    /// Synth mode: a key was released.
    pub fn note_off(&mut self, note: u8) {
        self.notes.note_off(note);
    }

    /// Synth mode: pitch bend in semitones.
    pub fn pitch_bend(&mut self, semitones: f32) {
        self.notes.pitch_bend(semitones);
    }

    /// Synth mode: the envelope.
    pub fn set_adsr(&mut self, adsr: Adsr) {
        self.notes.set_adsr(adsr);
    }

    /// The name of the model playing now.
    pub fn model_name(&self) -> &str {
        self.voice.name()
    }

    /// The voice playing now (its last controls feed the editor's meters).
    pub fn voice(&self) -> &Voice {
        &self.voice
    }

    /// Live values for meters.
    pub fn meters(&self) -> Meters {
        self.meters
    }

    /// What the decoder of the voice playing now output for the last frame (amplitude,
    /// harmonic distribution, noise bands), for meters. It lives in the decoder's preallocated
    /// storage and stays the network's output even while [`Engine::set_manual`] is on.
    pub fn decoder_output(&self) -> &timbre_model::Controls {
        self.voice.last_controls()
    }

    /// The hand-set synth controls (see [`manual`]), to edit in place. Allocation-free.
    pub fn manual_controls_mut(&mut self) -> &mut ManualControls {
        &mut self.manual
    }

    /// Copies the decoder's last output into the hand-set controls, so a hand takes over from
    /// exactly what the network played. Allocation-free.
    pub fn manual_from_decoder(&mut self) {
        self.manual.copy_from(self.voice.last_controls());
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
    /// [`Analyzer::latency_host_samples`]) plus half a hop, the midpoint of the control ramp
    /// that starts when a frame completes. Synth mode has only the ramp.
    pub fn latency_samples(&self) -> u32 {
        let ramp = self.hop_host / 2.0;
        let analysis = match self.mode {
            Mode::Audio => self.analyzer.latency_host_samples(),
            Mode::Notes => 0.0,
        };
        (analysis + ramp).round() as u32
    }

    /// Clears every state (analysis, decoder, synth, reverb, smoothers, held notes), keeping
    /// the model and parameters: what follows sounds exactly like a fresh instance.
    /// Allocation-free.
    pub fn reset(&mut self) {
        self.notes.reset();
        self.rest();
    }

    /// Clears what sounds and rests until the next input (or note-on). Allocation-free.
    fn rest(&mut self) {
        self.clear_sound();
        self.resting = true;
    }

    /// Clears everything that sounds or listens (not the held notes, bend or envelope
    /// settings) and puts the smoothers on their targets. Allocation-free.
    fn clear_sound(&mut self) {
        self.analyzer.reset();
        self.controls.reset();
        self.voice.reset();
        if let Some(old) = self.fading.take() {
            self.receiver.retire(old);
        }
        self.history_len = 0;
        self.history_head = 0;
        self.note_frames = 0;
        self.samples_done = 0;
        self.silent_samples = 0;
        self.output_gain
            .reset(params::db_to_gain(self.params.output_gain_db));
        self.reverb_mix.reset(self.params.reverb_percent / 100.0);
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
        let tail = self.voice.tail_samples().max(
            self.fading
                .as_ref()
                .map_or(0, |fading| fading.tail_samples()),
        );
        tail as u64 + (REST_MARGIN_MS * 1e-3 * self.host_rate) as u64
    }

    /// Processes one block. `inputs` holds one slice per input channel (mono or stereo; they
    /// are averaged; empty means silence); the outputs must have the same length as the
    /// inputs. Any length works (larger than `max_block` is split). Never allocates, locks,
    /// logs or does I/O; the output is always finite and within ±[`OUTPUT_CEILING`].
    ///
    /// The output is stereo: the two channels differ only by the side of the stereo reverb,
    /// so `(left + right) / 2` is the mono mix (see [`Voice::apply_reverb`]).
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
        self.receiver.flush();
        // A new voice waits in the ring until the current crossfade is over: cutting a fade
        // short drops a voice that is still most of the output, a click (a step of 1.2 on a
        // 0.6-amplitude tone before this rule, with swaps 1 to 3 blocks apart). When several
        // arrive meanwhile, the newest is taken and the others retired.
        if self.fading.is_none() {
            if let Some(new_voice) = self.receiver.take() {
                if self.resting {
                    // Nothing sounds: no fade needed (waking clears the new voice).
                    let old = std::mem::replace(&mut self.voice, new_voice);
                    self.receiver.retire(old);
                } else {
                    self.start_crossfade(new_voice);
                }
            }
        }
        let mut in_peak = 0.0f32;
        let mut out_peak = 0.0f32;
        let mut done = 0;
        while done < n {
            let len = (n - done).min(self.max_block);
            // Mono mix of the inputs, sanitized.
            let mono = &mut self.mono[..len];
            mono.fill(0.0);
            let channels = inputs.iter().filter(|c| c.len() >= done + len).count();
            if channels > 0 {
                let scale = 1.0 / channels as f32;
                for ch in inputs.iter().filter(|c| c.len() >= done + len) {
                    for (m, &x) in mono.iter_mut().zip(&ch[done..done + len]) {
                        *m += sanitize(x) * scale;
                    }
                }
            }
            in_peak = mono.iter().fold(in_peak, |p, x| p.max(x.abs()));
            let start = self.wake_position(len);
            self.out[0][..start].fill(0.0);
            self.out[1][..start].fill(0.0);
            if start < len {
                self.process_chunk(start, len);
                self.update_rest(start, len);
            }
            for (out, channel) in [&mut *out_left, &mut *out_right].into_iter().zip(&self.out) {
                out[done..done + len].copy_from_slice(&channel[..len]);
                out_peak = channel[..len].iter().fold(out_peak, |p, x| p.max(x.abs()));
            }
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
        if self.mode == Mode::Notes {
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
        let silent = match self.mode {
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
            Mode::Notes if self.notes.is_idle() => played,
            Mode::Notes => {
                self.silent_samples = 0;
                0
            }
        };
        self.silent_samples += silent;
        if self.silent_samples >= self.rest_after_samples() {
            self.rest();
        }
    }

    /// Starts fading from the current voice to `new_voice`, warmed up on recent history.
    fn start_crossfade(&mut self, mut new_voice: Box<Voice>) {
        let start = (self.history_head + WARMUP_FRAMES - self.history_len) % WARMUP_FRAMES;
        let take = self.history_len.min(new_voice.receptive_field());
        let skip = self.history_len - take;
        let history = &self.history;
        new_voice.warm_up((skip..self.history_len).map(|i| history[(start + i) % WARMUP_FRAMES]));
        if let Some(previous_fade) = self.fading.take() {
            // Not reached (`process` waits for the fade to end); retired, never freed here.
            self.receiver.retire(previous_fade);
        }
        let old = std::mem::replace(&mut self.voice, new_voice);
        self.fading = Some(old);
        self.fade_pos = 0;
    }

    /// Runs the pipeline on `self.mono[from..to]` into `self.out[..][from..to]`.
    fn process_chunk(&mut self, from: usize, to: usize) {
        let len = to - from;
        // 1. Frames, with the position (from `from`) at which each one is complete.
        self.frames.clear();
        match self.mode {
            Mode::Audio => {
                let frames = &mut self.frames;
                self.analyzer.process(&self.mono[from..to], |pos, frame| {
                    if frames.len() < frames.capacity() {
                        frames.push((pos, frame));
                    }
                });
            }
            Mode::Notes => {
                // Frame k is due at absolute sample round(k · hop_host).
                let end = self.samples_done + len as u64;
                loop {
                    let due = (self.note_frames as f64 * self.hop_host).round() as u64;
                    if due >= end {
                        break;
                    }
                    let pos = due.saturating_sub(self.samples_done) as usize;
                    if self.frames.len() < self.frames.capacity() {
                        self.frames.push((pos, self.notes.next_frame()));
                    }
                    self.note_frames += 1;
                }
            }
        }
        // 2. Per-sample smoothed gain and reverb mix.
        for (g, w) in self.gain[..len].iter_mut().zip(&mut self.wet[..len]) {
            *g = self.output_gain.next_value();
            *w = self.reverb_mix.next_value();
        }
        // 3. Render between frame arrivals; each frame retargets the synth from its position.
        let mut pos = 0;
        for i in 0..self.frames.len() {
            let (frame_pos, frame) = self.frames[i];
            let frame_pos = frame_pos.min(len);
            self.render(pos, frame_pos);
            self.on_frame(&frame);
            pos = frame_pos;
        }
        self.render(pos, len);
        // 4. Stereo reverb over the whole chunk, then the crossfade of a model swap.
        let wet = &self.wet[..len];
        let [left, right] = &mut self.out;
        let (left, right) = (&mut left[from..to], &mut right[from..to]);
        self.voice
            .apply_reverb(&self.mix[..len], wet, &mut *left, &mut *right);
        if let Some(old) = self.fading.as_mut() {
            let [old_left, old_right] = &mut self.fade_out;
            let (old_left, old_right) = (&mut old_left[..len], &mut old_right[..len]);
            old.apply_reverb(&self.fade_buf[..len], wet, &mut *old_left, &mut *old_right);
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
        // 5. Output gain and the safety ceiling.
        for channel in [left, right] {
            for (o, g) in channel.iter_mut().zip(&self.gain[..len]) {
                *o = sanitize(*o * g).clamp(-OUTPUT_CEILING, OUTPUT_CEILING);
            }
        }
        self.samples_done += len as u64;
    }

    /// Shapes one frame, runs the decoder(s) and retargets the synth(s).
    fn on_frame(&mut self, frame: &Frame) {
        let shaped = self
            .controls
            .shape(frame, &self.params, self.voice.target());
        let ramp = self.hop_host.round() as u32;
        let (h, nz) = (self.params.harmonic_gain_db, self.params.noise_gain_db);
        let manual = self.manual_on.then_some(&*self.manual);
        self.voice.on_frame(&shaped, h, nz, ramp, manual);
        if let Some(old) = self.fading.as_mut() {
            old.on_frame(&shaped, h, nz, ramp, manual);
        }
        self.history[self.history_head] = Voice::decoder_inputs(&shaped);
        self.history_head = (self.history_head + 1) % WARMUP_FRAMES;
        self.history_len = (self.history_len + 1).min(WARMUP_FRAMES);
        self.meters.frame = *frame;
        self.meters.f0_out_hz = shaped.f0_hz;
        self.meters.gate = shaped.gate_gain;
    }

    /// Renders the synth for samples `from..to` of the chunk: the current voice into
    /// `self.mix`, a fading voice into `self.fade_buf`.
    fn render(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        self.voice.render_synth(&mut self.mix[from..to]);
        if let Some(old) = self.fading.as_mut() {
            old.render_synth(&mut self.fade_buf[from..to]);
        }
    }
}
