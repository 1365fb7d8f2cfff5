// The page: sources (microphone, file, demo melody), the model picker, the engine's knobs,
// the "inside the synth" panel, offline rendering to WAV and recording. The engine runs in an
// AudioWorklet (worklet.js); the main thread keeps one WebAssembly.Module and a small engine
// of its own only for latency, the synth's sizes, analysis and benchmarks.
import init, { WebEngine, params_json, models_json, layout_json, analyze } from './pkg/timbre_web.js';
import { demoMelody, encodeWav } from './audio.js';

/** Sample rate of offline renders (and of decoded files). */
const RENDER_RATE = 48000;
/** Render quanta between two meter messages from a live worklet (about 40 per second). */
const METERS_EVERY = 8;
/** The sliders of the synth panel span this many dB. */
const DB_MIN = -80;
const DB_MAX = 6;

const $ = (id) => document.getElementById(id);

const state = {
  wasm: null, // the main thread's wasm exports
  module: null, // the compiled WebAssembly.Module, posted to every worklet
  layout: null,
  specs: [],
  values: [],
  models: [], // [{ key, name, instrument, settings }], as models_json gives them
  model: 0,
  morphModel: -1, // the morph's model B (-1: none)
  nHarmonics: 0,
  nBands: 0,
  manualOn: false,
  manual: null, // Float32Array in the manual buffer's layout
  ctx: null, // the live AudioContext
  workletLoaded: false,
  node: null,
  sourceNode: null,
  micStream: null,
  source: null, // { name, buffer: AudioBuffer } for rendering
  recording: null, // { left: [], right: [] } while recording
  errors: [],
};

// ---------- messages ----------

function showError(text) {
  state.errors.push(text);
  const m = $('message');
  m.textContent = text;
  m.className = '';
  m.hidden = false;
}

function showInfo(text) {
  const m = $('message');
  m.textContent = text;
  m.className = 'info';
  m.hidden = false;
}

function clearMessage() {
  $('message').hidden = true;
}

// ---------- start-up ----------

async function start() {
  try {
    const bytes = await (await fetch('pkg/timbre_web_bg.wasm')).arrayBuffer();
    state.module = await WebAssembly.compile(bytes);
    state.wasm = await init({ module_or_path: state.module });
  } catch (e) {
    showError(`The engine could not load (${e.message || e}). This page needs a browser with WebAssembly and AudioWorklet, served over http://localhost or https.`);
    return;
  }
  state.layout = JSON.parse(layout_json());
  state.specs = JSON.parse(params_json());
  state.values = state.specs.map((s) => s.default);
  state.manual = new Float32Array(state.layout.manual.len);
  const models = JSON.parse(models_json());
  state.models = models;
  const select = $('model');
  models.forEach((m, i) => select.add(new Option(`${m.name}`, String(i))));
  select.addEventListener('change', () => setModel(Number(select.value)));
  const morph = $('morph-model');
  morph.add(new Option('none (the Morph knob does nothing)', '-1'));
  models.forEach((m, i) => morph.add(new Option(`${m.name}`, String(i))));
  morph.addEventListener('change', () => setMorphModel(Number(morph.value)));
  buildKnobs();
  applySettings(models[state.model].settings);
  measureModel();
  buildBanks();
  wireSources();
  for (const id of ['mic', 'demo', 'file', 'render']) $(id).disabled = false;
  $('now-playing').textContent = 'Nothing playing. Try the demo melody, a file or your microphone (headphones!).';
  window.tinyTimbre.ready = true;
}

/** Reads the current model's harmonic and band counts from a main-thread engine. */
function measureModel() {
  const probe = new WebEngine(RENDER_RATE, 128, state.model);
  probe.process(128, 1);
  const meters = new Float32Array(state.wasm.memory.buffer, probe.meters_ptr(), state.layout.meter.len);
  state.nHarmonics = meters[state.layout.meter.nHarmonics];
  state.nBands = meters[state.layout.meter.nBands];
  probe.free();
}

/**
 * The engine's latency at `rate`, in samples, with the page's model, knobs and morph model: it
 * includes the body of the model that leads the morph, with or without Low latency.
 */
function latencyAt(rate) {
  const probe = new WebEngine(rate, 128, state.model);
  state.values.forEach((v, i) => probe.set_param(i, v));
  if (state.morphModel >= 0) {
    probe.set_morph_model(state.morphModel);
    probe.process(128, 1); // model B arrives with a block
  }
  const latency = probe.latency_samples();
  probe.free();
  return latency;
}

// ---------- knobs ----------

/** Whether a parameter is an on/off switch (a whole number from 0 to 1). */
function isSwitch(spec) {
  return spec.integer && spec.min === 0 && spec.max === 1;
}

function formatValue(spec, v) {
  if (isSwitch(spec)) return v >= 0.5 ? 'on' : 'off';
  // A level in 0..1 shown in percent (the morph).
  if (spec.unit === '%' && spec.max === 1) return `${(v * 100).toFixed(0)} %`;
  const signed = ['st', 'ct', 'dB'].includes(spec.unit) && v > 0 ? '+' : '';
  const digits = spec.integer ? 0 : spec.max - spec.min <= 1 ? 2 : 1;
  return `${signed}${v.toFixed(digits)}${spec.unit ? ' ' + spec.unit : ''}`;
}

function buildKnobs() {
  const box = $('knobs');
  state.specs.forEach((spec, index) => {
    const row = document.createElement('label');
    row.className = 'knob';
    const name = document.createElement('span');
    name.textContent = spec.name;
    const input = document.createElement('input');
    input.id = `knob-${spec.id}`;
    const out = document.createElement('output');
    if (isSwitch(spec)) {
      input.type = 'checkbox';
      input.checked = spec.default >= 0.5;
    } else {
      input.type = 'range';
      input.min = spec.min;
      input.max = spec.max;
      input.step = spec.integer ? 1 : spec.max - spec.min <= 1 ? 0.01 : 0.5;
      input.value = spec.default;
    }
    out.textContent = formatValue(spec, spec.default);
    const onChange = () => {
      const v = input.type === 'checkbox' ? (input.checked ? 1 : 0) : Number(input.value);
      out.textContent = formatValue(spec, v);
      setParam(index, v);
    };
    input.addEventListener('input', onChange);
    input.addEventListener('change', onChange);
    row.append(name, input, out);
    box.append(row);
  });
}

/**
 * Sets the knobs a model recommends (`{ id: value }`), as the plugin's editor does when a model
 * is picked: the knobs only the model before it recommended (`previous`) go back to their
 * defaults, and the other knobs keep their values.
 */
function applySettings(settings, previous = {}) {
  state.specs.forEach((spec, index) => {
    if (!(spec.id in settings) && !(spec.id in previous)) return;
    const wanted = spec.id in settings ? settings[spec.id] : spec.default;
    const v = Math.min(spec.max, Math.max(spec.min, wanted));
    const input = $(`knob-${spec.id}`);
    if (input.type === 'checkbox') input.checked = v >= 0.5;
    else input.value = v;
    input.nextElementSibling.textContent = formatValue(spec, v);
    setParam(index, v);
  });
}

function setParam(index, value) {
  state.values[index] = value;
  state.node?.port.postMessage({ type: 'param', index, value });
}

function setMorphModel(index) {
  if (index < 0) return;
  state.morphModel = index;
  // The engine keeps a model B once it has one (as the plugin does): "none" is only the
  // state before the first choice, so it cannot be chosen again and claim otherwise.
  $('morph-model').querySelector('option[value="-1"]').disabled = true;
  state.node?.port.postMessage({ type: 'morphModel', index });
}

function setModel(index) {
  const previous = state.models[state.model].settings;
  state.model = index;
  applySettings(state.models[index].settings, previous);
  measureModel();
  buildBanks();
  state.node?.port.postMessage({ type: 'model', index });
}

// ---------- inside the synth ----------

const toDb = (x) => Math.max(DB_MIN, Math.min(DB_MAX, 20 * Math.log10(Math.max(x, 1e-6))));
const fromDb = (d) => (d <= DB_MIN ? 0 : 10 ** (d / 20));

function buildBanks() {
  const L = state.layout.manual;
  const make = (box, count, offset, label) => {
    box.replaceChildren();
    for (let i = 0; i < count; i++) {
      const s = document.createElement('input');
      s.type = 'range';
      s.min = DB_MIN;
      s.max = DB_MAX;
      s.step = 0.5;
      s.value = DB_MIN;
      s.tabIndex = state.manualOn ? 0 : -1;
      s.title = `${label} ${i + 1}`;
      s.setAttribute('aria-label', `${label} ${i + 1}`);
      s.addEventListener('input', () => setManualSlot(offset + i, Number(s.value)));
      box.append(s);
    }
  };
  make($('harmonics'), state.nHarmonics, L.harmonics, 'Harmonic');
  make($('noise'), state.nBands, L.noise, 'Noise band');
  $('amp').oninput = () => setManualSlot(L.amplitude, Number($('amp').value));
}

function setManualSlot(slot, db) {
  state.manual[slot] = fromDb(db);
  state.node?.port.postMessage({ type: 'manualValue', slot, value: state.manual[slot] });
}

/** The manual buffer as the sliders show it now. */
function manualFromSliders() {
  const L = state.layout.manual;
  const m = new Float32Array(L.len);
  m[L.amplitude] = fromDb(Number($('amp').value));
  [...$('harmonics').children].forEach((s, i) => (m[L.harmonics + i] = fromDb(Number(s.value))));
  [...$('noise').children].forEach((s, i) => (m[L.noise + i] = fromDb(Number(s.value))));
  return m;
}

function setManual(on) {
  state.manualOn = on;
  if (on) state.manual = manualFromSliders();
  // Unlocked sliders take the mouse and the keyboard; locked ones only show the meters.
  for (const box of [$('amp'), $('harmonics'), $('noise')]) box.classList.toggle('locked', !on);
  for (const s of [$('amp'), ...$('harmonics').children, ...$('noise').children]) s.tabIndex = on ? 0 : -1;
  state.node?.port.postMessage({ type: 'manual', on, values: on ? state.manual : null });
}

function showMeters(m) {
  const L = state.layout.meter;
  window.tinyTimbre.liveMeters += 1;
  window.tinyTimbre.livePeaks.input = Math.max(window.tinyTimbre.livePeaks.input, m[L.inputPeak]);
  window.tinyTimbre.livePeaks.output = Math.max(window.tinyTimbre.livePeaks.output, m[L.outputPeak]);
  const hz = (x) => `${x.toFixed(1).padStart(6)} Hz`;
  $('readout').textContent =
    `in ${hz(m[L.f0In])} (conf ${m[L.confidence].toFixed(2)}, ${m[L.loudness].toFixed(0)} dB) → out ${hz(m[L.f0Out])}, gate ${m[L.gate].toFixed(2)}`;
  if (state.manualOn) return;
  $('amp').value = toDb(m[L.amplitude]);
  [...$('harmonics').children].forEach((s, i) => (s.value = toDb(m[L.harmonics + i])));
  [...$('noise').children].forEach((s, i) => (s.value = toDb(m[L.noise + i])));
}

// ---------- the worklet node ----------

function makeNode(ctx, metersEvery) {
  const node = new AudioWorkletNode(ctx, 'tiny-timbre', {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [2],
    processorOptions: {
      module: state.module,
      layout: state.layout,
      model: state.model,
      morphModel: state.morphModel,
      params: state.values,
      manual: state.manualOn ? state.manual : null,
      metersEvery,
    },
  });
  node.onprocessorerror = () => showError('The audio engine stopped with an error; press Stop and start again.');
  return node;
}

async function liveContext() {
  if (!state.ctx) state.ctx = new AudioContext({ latencyHint: 'interactive' });
  if (!state.workletLoaded) {
    await state.ctx.audioWorklet.addModule('worklet.js');
    state.workletLoaded = true;
  }
  await state.ctx.resume();
  return state.ctx;
}

/** Stops whatever plays, then routes `connect(ctx, node)`'s source through a new node. */
async function startLive(label, connect) {
  stopLive();
  const ctx = await liveContext();
  const node = makeNode(ctx, METERS_EVERY);
  node.port.onmessage = (e) => {
    const d = e.data;
    if (d.type === 'meters' && node === state.node) showMeters(d.meters);
    else if (d.type === 'error') showError(`Audio engine: ${d.message}`);
    else if (d.type === 'recorded' && state.recording) {
      state.recording.left.push(d.left);
      state.recording.right.push(d.right);
    }
  };
  await connect(ctx, node);
  window.tinyTimbre.livePeaks = { input: 0, output: 0 };
  node.connect(ctx.destination);
  state.node = node;
  if (state.recording) node.port.postMessage({ type: 'record', on: true });
  $('stop').disabled = false;
  $('record').disabled = false;
  $('now-playing').textContent = `Playing: ${label}`;
}

function stopLive() {
  state.sourceNode?.disconnect();
  try { state.sourceNode?.stop?.(); } catch { /* already stopped */ }
  state.micStream?.getTracks().forEach((t) => t.stop());
  state.node?.disconnect();
  state.node?.port.postMessage({ type: 'stop' });
  state.node = state.sourceNode = state.micStream = null;
  $('stop').disabled = true;
  $('now-playing').textContent = 'Stopped.';
}

function playBuffer(label, buffer) {
  return startLive(label, (ctx, node) => {
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(node);
    src.start();
    state.sourceNode = src;
  });
}

async function playMic() {
  clearMessage();
  if (!navigator.mediaDevices?.getUserMedia) {
    showError('The microphone needs a secure page: open it through http://localhost or https.');
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
  } catch (e) {
    if (e.name === 'NotAllowedError' || e.name === 'SecurityError') {
      showError('Microphone access was denied. Allow the microphone for this page in the browser (the icon left of the address) and press Microphone again.');
    } else if (e.name === 'NotFoundError' || e.name === 'OverconstrainedError') {
      showError('No microphone was found. Plug one in, or try the demo melody or a file.');
    } else {
      showError(`The microphone could not be opened (${e.name}: ${e.message}).`);
    }
    return;
  }
  await startLive('microphone', (ctx, node) => {
    const src = ctx.createMediaStreamSource(stream);
    src.connect(node);
    state.sourceNode = src;
    state.micStream = stream;
  });
  showInfo('Listening to the microphone. Use headphones, or the speakers will feed back.');
}

// ---------- sources ----------

function demoBuffer() {
  const samples = demoMelody(RENDER_RATE);
  const buffer = new AudioBuffer({ length: samples.length, sampleRate: RENDER_RATE, numberOfChannels: 1 });
  buffer.copyToChannel(samples, 0);
  return buffer;
}

async function loadFile(file) {
  clearMessage();
  let buffer;
  try {
    const bytes = await file.arrayBuffer();
    buffer = await new OfflineAudioContext(1, 1, RENDER_RATE).decodeAudioData(bytes);
  } catch (e) {
    showError(`"${file.name}" is not an audio file this browser can decode (${e.message || e.name}). Try WAV, MP3, OGG or FLAC.`);
    return false;
  }
  if (buffer.length === 0) {
    showError(`"${file.name}" holds no audio.`);
    return false;
  }
  state.source = { name: file.name, buffer };
  await playBuffer(file.name, buffer);
  return true;
}

function wireSources() {
  $('mic').onclick = () => playMic();
  $('demo').onclick = () => {
    clearMessage();
    state.source = { name: 'demo melody', buffer: demoBuffer() };
    playBuffer('demo melody', state.source.buffer);
  };
  $('stop').onclick = () => stopLive();
  $('file').onchange = () => $('file').files[0] && loadFile($('file').files[0]);
  const drop = $('drop');
  drop.ondragover = (e) => { e.preventDefault(); drop.classList.add('over'); };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer.files[0];
    if (file) loadFile(file);
    else showError('Nothing to play: drop an audio file (WAV, MP3, OGG, FLAC).');
  };
  $('manual').onchange = () => setManual($('manual').checked);
  $('render').onclick = () => renderSource();
  $('record').onclick = () => toggleRecord();
}

// ---------- rendering and recording ----------

/**
 * Renders `channels` (Float32Arrays at `rate`) through the engine in an OfflineAudioContext
 * with the worklet and the page's current model, knobs and hand-set controls; the latency is
 * compensated, so the output lines up with the input. Returns [left, right].
 */
async function renderOffline(channels, rate) {
  const latency = latencyAt(rate);
  const length = channels[0].length;
  const ctx = new OfflineAudioContext(2, length + latency, rate);
  await ctx.audioWorklet.addModule('worklet.js');
  const node = makeNode(ctx, 0);
  let failure = null;
  node.port.onmessage = (e) => { if (e.data.type === 'error') failure = e.data.message; };
  const input = new AudioBuffer({ length, sampleRate: rate, numberOfChannels: channels.length });
  channels.forEach((c, i) => input.copyToChannel(c, i));
  const src = ctx.createBufferSource();
  src.buffer = input;
  src.connect(node);
  node.connect(ctx.destination);
  src.start();
  const out = await ctx.startRendering();
  await new Promise((r) => setTimeout(r, 0)); // let a last error message arrive
  if (failure) throw new Error(failure);
  return [0, 1].map((c) => out.getChannelData(c).slice(latency));
}

function offerDownload(left, right, rate, name) {
  const blob = encodeWav([left, right], rate);
  const url = URL.createObjectURL(blob);
  const a = $('download');
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = url;
  a.download = `tiny-timbre-${name.replace(/\.[^.]*$/, '').replace(/[^\w-]+/g, '_')}.wav`;
  a.textContent = `Download ${a.download} (${(blob.size / 1e6).toFixed(1)} MB)`;
  a.hidden = false;
  $('preview').src = url;
  $('preview').hidden = false;
}

async function renderSource() {
  clearMessage();
  const source = state.source || { name: 'demo melody', buffer: demoBuffer() };
  const b = source.buffer;
  const channels = [...Array(b.numberOfChannels).keys()].map((c) => b.getChannelData(c));
  $('render').disabled = true;
  $('render').textContent = 'Rendering…';
  try {
    const t0 = performance.now();
    const [left, right] = await renderOffline(channels, b.sampleRate);
    const ms = performance.now() - t0;
    offerDownload(left, right, b.sampleRate, source.name);
    window.tinyTimbre.last = { input: channels[0], output: left, rate: b.sampleRate, ms };
    showInfo(`Rendered ${source.name}: ${(b.length / b.sampleRate).toFixed(1)} s in ${(ms / 1000).toFixed(2)} s.`);
  } catch (e) {
    showError(`Rendering failed: ${e.message || e}`);
  } finally {
    $('render').disabled = false;
    $('render').textContent = 'Render to WAV';
  }
}

function toggleRecord() {
  const button = $('record');
  if (!state.recording) {
    state.recording = { left: [], right: [] };
    state.node?.port.postMessage({ type: 'record', on: true });
    button.classList.add('on');
    button.textContent = '■ Stop recording';
    return;
  }
  state.node?.port.postMessage({ type: 'record', on: false });
  const rec = state.recording;
  state.recording = null;
  button.classList.remove('on');
  button.textContent = '● Record';
  const join = (parts) => {
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let pos = 0;
    for (const p of parts) { out.set(p, pos); pos += p.length; }
    return out;
  };
  if (rec.left.length === 0) {
    showError('Nothing was recorded: start the microphone, the demo or a file first.');
    return;
  }
  offerDownload(join(rec.left), join(rec.right), state.ctx.sampleRate, 'recording');
}

// ---------- benchmark ----------

/**
 * The engine's real-time factor on this thread at `rate` Hz in `block`-sample blocks: the
 * default model and parameters, a sawtooth melody with vibrato (the same signal as
 * `cargo xtask web --bench` feeds the native engine), JS copying each block in and out as the
 * worklet does. Returns { rtf, seconds, passes_ms }.
 */
function bench(seconds = 10, rate = 48000, block = 128) {
  const n = Math.floor(rate * seconds);
  const input = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const f = 220 * 2 ** ((Math.floor(t * 2) % 5) / 12) * (1 + 0.01 * Math.sin(t * 2 * Math.PI * 5.5));
    phase = (phase + f / rate) % 1;
    input[i] = 0.3 * (2 * phase - 1);
  }
  const engine = new WebEngine(rate, block, 0);
  const mem = () => state.wasm.memory.buffer;
  const inL = new Float32Array(mem(), engine.input_ptr(0), block);
  const outL = new Float32Array(mem(), engine.output_ptr(0), block);
  const outR = new Float32Array(mem(), engine.output_ptr(1), block);
  const sinkL = new Float32Array(block);
  const sinkR = new Float32Array(block);
  const blocks = Math.floor(n / block);
  const pass = (count) => {
    for (let b = 0; b < count; b++) {
      inL.set(input.subarray(b * block, (b + 1) * block));
      engine.process(block, 1);
      sinkL.set(outL);
      sinkR.set(outR);
    }
  };
  pass(Math.min(2000, blocks));
  const passes = [];
  for (let p = 0; p < 3; p++) {
    engine.reset();
    const t0 = performance.now();
    pass(blocks);
    passes.push(performance.now() - t0);
  }
  engine.free();
  passes.sort((a, b) => a - b);
  const audio = (blocks * block) / rate;
  return { rtf: audio / (passes[1] / 1000), seconds: audio, passes_ms: passes };
}

// The page's automation interface (the browser tests use it; so can the console).
window.tinyTimbre = {
  ready: false,
  /** The last offline render: { input, output, rate, ms }. */
  last: null,
  /** The largest input and output peaks the live worklet reported since it started. */
  livePeaks: { input: 0, output: 0 },
  /** How many meter messages live worklets have sent. */
  liveMeters: 0,
  errors: state.errors,
  renderOffline,
  analyze: (samples, rate) => analyze(samples, rate),
  demoMelody: (rate = RENDER_RATE) => demoMelody(rate),
  bench,
  latencyAt,
};

start();
