//! A small CLAP host on `clack-host`: loads the plugin's shared library the way a DAW does,
//! instantiates a plugin by id, sets parameters through events, saves and loads state through
//! streams that move a few bytes at a time, and processes audio on a separate "audio" thread.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::latency::PluginLatency;
use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent};
use clack_host::events::Match;
use clack_host::prelude::*;

/// Id of the effect.
pub const EFFECT_ID: &CStr = c"dev.tinytimbre.tiny-timbre";
/// Id of the synth.
pub const SYNTH_ID: &CStr = c"dev.tinytimbre.tiny-timbre-synth";

/// The plugin library: `TINY_TIMBRE_CLAP` when set (e.g. the bundled release .clap), otherwise
/// the `libtiny_timbre.so` (or .dylib/.dll) cargo built beside this test binary, in
/// `<target>/<profile>/deps` or `<target>/<profile>`. Works with any `CARGO_TARGET_DIR`,
/// because it starts from the test binary's own path.
pub fn plugin_library() -> PathBuf {
    if let Some(path) = std::env::var_os("TINY_TIMBRE_CLAP") {
        return PathBuf::from(path);
    }
    let name = format!(
        "{}tiny_timbre{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps folder");
    for dir in [deps, deps.parent().unwrap_or(deps)] {
        let candidate = dir.join(&name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "{name} not found beside {} (cargo test builds it)",
        exe.display()
    );
}

/// The library, loaded once for the whole test process and never unloaded: Rust cdylibs
/// register thread-local destructors that must stay mapped until every thread that touched
/// the plugin has exited (hosts keep plugin libraries loaded for the same reason).
fn entry() -> &'static PluginEntry {
    static ENTRY: std::sync::OnceLock<PluginEntry> = std::sync::OnceLock::new();
    ENTRY.get_or_init(|| {
        let path = plugin_library();
        // SAFETY: loading our own plugin library, built by cargo for this test.
        unsafe { PluginEntry::load(&path) }
            .unwrap_or_else(|e| panic!("loading {}: {e:?}", path.display()))
    })
}

/// Thread-safe host callbacks: we only record requests.
#[derive(Default)]
pub struct Shared {
    /// The plugin asked for `on_main_thread`.
    pub callback_requested: AtomicBool,
    /// The plugin asked for a restart.
    pub restart_requested: AtomicBool,
}

impl<'a> SharedHandler<'a> for Shared {
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

/// The host type.
pub struct TestHost;

impl HostHandlers for TestHost {
    type Shared<'a> = Shared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// A parameter as the host sees it.
#[derive(Clone, Debug)]
pub struct ParamDesc {
    /// CLAP id.
    pub id: ClapId,
    /// Display name.
    pub name: String,
    /// Lowest CLAP value.
    pub min: f64,
    /// Highest CLAP value.
    pub max: f64,
    /// Default CLAP value.
    pub default: f64,
}

/// An event at an absolute sample position of a render.
#[derive(Clone, Copy, Debug)]
pub enum TimedEvent {
    /// Set a parameter (CLAP value).
    Param(u64, ClapId, f64),
    /// Note on (key, velocity 0..1).
    NoteOn(u64, u16, f64),
    /// Note off (key).
    NoteOff(u64, u16),
    /// A raw MIDI 1.0 message (pitch bend, CCs).
    Midi(u64, [u8; 3]),
}

impl TimedEvent {
    fn position(&self) -> u64 {
        match *self {
            Self::Param(p, ..) | Self::NoteOn(p, ..) | Self::NoteOff(p, ..) | Self::Midi(p, _) => p,
        }
    }
}

/// One loaded plugin instance.
pub struct Plugin {
    /// The instance (main-thread side).
    pub instance: PluginInstance<TestHost>,
}

impl Plugin {
    /// Loads the library and instantiates plugin `id`.
    pub fn new(id: &CStr) -> Self {
        let entry = entry();
        let info = HostInfo::new(
            "Tiny Timbre test host",
            "Tiny Timbre",
            "https://example.invalid",
            "0.1",
        )
        .unwrap();
        let instance =
            PluginInstance::<TestHost>::new(|_| Shared::default(), |_| (), entry, id, &info)
                .unwrap_or_else(|e| panic!("instantiating {id:?}: {e:?}"));
        Self { instance }
    }

    /// The ids of every plugin in the library.
    pub fn ids_in_library() -> Vec<String> {
        let factory = entry().get_plugin_factory().unwrap();
        factory
            .plugin_descriptors()
            .filter_map(|d| d.id().map(|id| id.to_string_lossy().into_owned()))
            .collect()
    }

    /// Every parameter.
    pub fn params(&mut self) -> Vec<ParamDesc> {
        let ext: PluginParams = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .expect("params ext");
        let handle = self.instance.plugin_handle();
        let mut out = Vec::new();
        for i in 0..ext.count(&handle) {
            let mut buf = ParamInfoBuffer::new();
            let info = ext.get_info(&handle, i, &mut buf).expect("param info");
            out.push(ParamDesc {
                id: info.id,
                name: String::from_utf8_lossy(info.name).into_owned(),
                min: info.min_value,
                max: info.max_value,
                default: info.default_value,
            });
        }
        out
    }

    /// The parameter named `name`.
    pub fn param(&mut self, name: &str) -> ParamDesc {
        self.params()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no parameter named {name}"))
    }

    /// The current CLAP value of a parameter.
    pub fn param_value(&mut self, id: ClapId) -> f64 {
        let ext: PluginParams = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .unwrap();
        ext.get_value(&self.instance.plugin_handle(), id).unwrap()
    }

    /// The reported latency in samples.
    /// Whether the plugin asked for a restart since the last call (clears the flag).
    pub fn take_restart_request(&mut self) -> bool {
        self.instance
            .access_shared_handler(|s| s.restart_requested.swap(false, Ordering::SeqCst))
    }

    /// The latency the plugin reports, in samples.
    pub fn latency(&mut self) -> u32 {
        let ext: PluginLatency = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .expect("latency ext");
        ext.get(&self.instance.plugin_handle())
    }

    /// The text the plugin shows for CLAP value `value` of parameter `id`.
    pub fn value_text(&mut self, id: ClapId, value: f64) -> String {
        let ext: PluginParams = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .expect("params ext");
        let mut buf = [0u8; 256];
        let text = ext
            .value_to_text(&self.instance.plugin_handle(), id, value, &mut buf)
            .unwrap_or_else(|_| panic!("no text for {value} of parameter {id:?}"));
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        String::from_utf8(text[..end].to_vec()).expect("UTF-8 text")
    }

    /// The CLAP value the plugin reads from `text` for parameter `id`.
    pub fn text_value(&mut self, id: ClapId, text: &str) -> Option<f64> {
        let ext: PluginParams = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .expect("params ext");
        let text = std::ffi::CString::new(text).unwrap();
        ext.text_to_value(&self.instance.plugin_handle(), id, &text)
    }

    /// Selects the audio port configuration with `inputs` main input channels (0: none) and
    /// `outputs` main output channels.
    pub fn select_layout(&mut self, inputs: u32, outputs: u32) {
        let ext: PluginAudioPortsConfig = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .expect("audio-ports-config ext");
        let handle = self.instance.plugin_handle();
        let mut chosen = None;
        for i in 0..ext.count(&handle) {
            let mut buf = AudioPortsConfigBuffer::new();
            let config = ext.get(&handle, i, &mut buf).unwrap();
            let ins = config.main_input.as_ref().map_or(0, |p| p.channel_count);
            let outs = config.main_output.as_ref().map_or(0, |p| p.channel_count);
            if (ins, outs) == (inputs, outputs) {
                chosen = Some(config.id);
            }
        }
        let id = chosen.unwrap_or_else(|| panic!("no layout {inputs} in / {outputs} out"));
        ext.select(&handle, id).expect("select layout");
    }

    /// Selects the audio port configuration whose main input has `channels` channels and
    /// whose main output is stereo.
    pub fn select_input_channels(&mut self, channels: u32) {
        self.select_layout(channels, 2);
    }

    /// Saves the state through a stream that accepts at most 7 bytes per write.
    pub fn save_state(&mut self) -> Vec<u8> {
        let ext: PluginState = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .expect("state ext");
        let mut writer = Trickle {
            data: Vec::new(),
            step: 7,
        };
        ext.save(&self.instance.plugin_handle(), &mut writer)
            .expect("save state");
        writer.data
    }

    /// Loads a state through a stream that returns at most 5 bytes per read.
    pub fn load_state(&mut self, bytes: &[u8]) -> bool {
        let ext: PluginState = self
            .instance
            .plugin_shared_handle()
            .get_extension()
            .expect("state ext");
        let mut reader = TrickleReader {
            data: bytes,
            step: 5,
        };
        ext.load(&self.instance.plugin_handle(), &mut reader)
            .is_ok()
    }

    /// Runs the plugin's main-thread callback if it asked for one.
    pub fn idle(&mut self) {
        let asked = self
            .instance
            .access_shared_handler(|s| s.callback_requested.swap(false, Ordering::SeqCst));
        if asked {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Activates at `rate` for blocks of at most `max_block`.
    pub fn activate(&mut self, rate: f64, max_block: u32) -> Session {
        let processor = self
            .instance
            .activate(
                |_, _| (),
                PluginAudioConfiguration {
                    sample_rate: rate,
                    min_frames_count: 1,
                    max_frames_count: max_block,
                },
            )
            .expect("activate");
        Session {
            sent: Vec::new(),
            processor: Some(processor),
            max_block: max_block as usize,
            outputs: 2,
        }
    }

    /// Deactivates.
    pub fn deactivate(&mut self, mut session: Session) {
        let processor = session.processor.take().unwrap();
        self.instance.deactivate(processor);
    }
}

/// An activated plugin, ready to process.
pub struct Session {
    /// The stopped audio processor between renders.
    processor: Option<StoppedPluginAudioProcessor<TestHost>>,
    /// The largest block allowed.
    pub max_block: usize,
    /// Output channels the host hands the plugin: 2, or 1 for a mono layout (then the
    /// rendered right channel is empty).
    pub outputs: usize,
    /// The events the plugin sent during the last render, at absolute sample positions.
    pub sent: Vec<(u64, SentEvent)>,
}

/// An event the plugin sent to the host.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SentEvent {
    /// Note on: key, velocity.
    NoteOn(u16, f64),
    /// Note off: key.
    NoteOff(u16),
    /// A MIDI 1 message (pitch bend, controllers).
    Midi([u8; 3]),
}

impl Session {
    /// Resets the plugin on an audio thread, as a host does before a bounce (CLAP `reset`).
    pub fn reset(&mut self) {
        let mut processor = self.processor.take().expect("active");
        let processor = std::thread::scope(|s| {
            s.spawn(move || {
                processor.reset();
                processor
            })
            .join()
            .expect("audio thread panicked")
        });
        self.processor = Some(processor);
    }

    /// Processes `inputs` (0, 1 or 2 channels of equal length) on an audio thread, in blocks
    /// whose sizes cycle through `blocks` (clamped to the maximum), sending `events` at their
    /// sample positions (sorted). Returns the left and right outputs.
    pub fn render(
        &mut self,
        inputs: &[&[f32]],
        len: usize,
        blocks: &[usize],
        events: &[TimedEvent],
    ) -> [Vec<f32>; 2] {
        let processor = self.processor.take().expect("active");
        let max_block = self.max_block;
        let outputs = self.outputs;
        let (processor, mut out, sent) = std::thread::scope(|s| {
            s.spawn(move || {
                let mut started = processor.start_processing().expect("start processing");
                let mut out = [vec![0.0f32; len], vec![0.0f32; len]];
                let mut in_bufs: Vec<Vec<f32>> = vec![vec![0.0; max_block]; inputs.len()];
                let mut out_bufs = [vec![0.0f32; max_block], vec![0.0f32; max_block]];
                let mut in_ports = AudioPorts::with_capacity(inputs.len().max(1), 1);
                let mut out_ports = AudioPorts::with_capacity(outputs, 1);
                let mut event_buf = EventBuffer::new();
                let mut out_events = EventBuffer::new();
                let mut sent = Vec::new();
                let mut pos = 0usize;
                let mut next_event = 0usize;
                let mut b = 0usize;
                while pos < len {
                    let n = blocks[b % blocks.len()].clamp(1, max_block).min(len - pos);
                    b += 1;
                    for (buf, input) in in_bufs.iter_mut().zip(inputs) {
                        buf[..n].copy_from_slice(&input[pos..pos + n]);
                    }
                    event_buf.clear();
                    while next_event < events.len()
                        && events[next_event].position() < (pos + n) as u64
                    {
                        let e = events[next_event];
                        let t = (e.position().max(pos as u64) - pos as u64) as u32;
                        match e {
                            TimedEvent::Param(_, id, v) => {
                                event_buf.push(&ParamValueEvent::new(t, id, Pckn::match_all(), v))
                            }
                            TimedEvent::NoteOn(_, key, vel) => event_buf.push(&NoteOnEvent::new(
                                t,
                                Pckn::new(0u16, 0u16, key, Match::All),
                                vel,
                            )),
                            TimedEvent::NoteOff(_, key) => event_buf.push(&NoteOffEvent::new(
                                t,
                                Pckn::new(0u16, 0u16, key, Match::All),
                                0.0,
                            )),
                            TimedEvent::Midi(_, data) => {
                                event_buf.push(&MidiEvent::new(t, 0, data))
                            }
                        }
                        next_event += 1;
                    }
                    out_events.clear();
                    let input_audio = if inputs.is_empty() {
                        InputAudioBuffers::empty()
                    } else {
                        in_ports.with_input_buffers([AudioPortBuffer {
                            latency: 0,
                            channels: AudioPortBufferType::f32_input_only(
                                in_bufs
                                    .iter_mut()
                                    .map(|b| InputChannel::variable(&mut b[..n])),
                            ),
                        }])
                    };
                    let mut output_audio = out_ports.with_output_buffers([AudioPortBuffer {
                        latency: 0,
                        channels: AudioPortBufferType::f32_output_only(
                            out_bufs.iter_mut().take(outputs).map(|b| &mut b[..n]),
                        ),
                    }]);
                    started
                        .process(
                            &input_audio,
                            &mut output_audio,
                            &InputEvents::from_buffer(&event_buf),
                            &mut OutputEvents::from_buffer(&mut out_events),
                            Some(pos as u64),
                            None,
                        )
                        .expect("process");
                    for (o, buf) in out.iter_mut().zip(&out_bufs) {
                        o[pos..pos + n].copy_from_slice(&buf[..n]);
                    }
                    for e in out_events.iter() {
                        let at = pos as u64 + u64::from(e.header().time());
                        let key = |k: Match<u16>| match k {
                            Match::Specific(k) => k,
                            Match::All => u16::MAX,
                        };
                        if let Some(on) = e.as_event::<NoteOnEvent>() {
                            sent.push((at, SentEvent::NoteOn(key(on.key()), on.velocity())));
                        } else if let Some(off) = e.as_event::<NoteOffEvent>() {
                            sent.push((at, SentEvent::NoteOff(key(off.key()))));
                        } else if let Some(midi) = e.as_event::<MidiEvent>() {
                            sent.push((at, SentEvent::Midi(midi.data())));
                        }
                    }
                    pos += n;
                }
                (started.stop_processing(), out, sent)
            })
            .join()
            .expect("audio thread panicked")
        });
        self.processor = Some(processor);
        self.sent = sent;
        if outputs == 1 {
            out[1].clear();
        }
        out
    }
}

/// A writer that takes at most `step` bytes per call, as some hosts' streams do.
struct Trickle {
    data: Vec<u8>,
    step: usize,
}

impl Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step);
        self.data.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A reader that returns at most `step` bytes per call.
struct TrickleReader<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for TrickleReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}
