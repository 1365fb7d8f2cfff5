// The AudioWorklet processor: one timbre-engine (WebEngine) per node, fed and read through
// Float32Array views on buffers the engine allocated up front, so a render quantum allocates
// nothing on the Rust side. The main thread compiles the WebAssembly.Module and hands it over
// in processorOptions (the worklet scope cannot fetch).
import './textcodec.js';
import { initSync, WebEngine } from './pkg/timbre_web.js';

// One instance per worklet scope: wasm-bindgen's glue keeps a single instance, so every node
// of this scope shares it (each with its own WebEngine inside).
let wasm = null;

class TinyTimbreProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const o = options.processorOptions;
    this.layout = o.layout;
    this.metersEvery = o.metersEvery || 0; // quanta between meter messages; 0: none
    this.quanta = 0;
    this.record = false;
    this.stopped = false;
    this.engine = null;
    try {
      if (!wasm) wasm = initSync({ module: o.module });
      this.wasm = wasm;
      this.engine = new WebEngine(sampleRate, 128, o.model);
      if (o.morphModel >= 0) this.engine.set_morph_model(o.morphModel);
      o.params.forEach((value, index) => this.engine.set_param(index, value));
      this.bindViews();
      if (o.manual) this.setManual(true, o.manual);
    } catch (e) {
      this.port.postMessage({ type: 'error', message: `the engine could not start: ${e.message || e}` });
      this.engine = null;
      return;
    }
    this.port.onmessage = (e) => this.onMessage(e.data);
    this.port.postMessage({ type: 'ready', latency: this.engine.latency_samples(), sampleRate });
  }

  bindViews() {
    const buf = this.wasm.memory.buffer;
    const e = this.engine;
    this.buffer = buf;
    this.inL = new Float32Array(buf, e.input_ptr(0), 128);
    this.inR = new Float32Array(buf, e.input_ptr(1), 128);
    this.outL = new Float32Array(buf, e.output_ptr(0), 128);
    this.outR = new Float32Array(buf, e.output_ptr(1), 128);
    this.meters = new Float32Array(buf, e.meters_ptr(), this.layout.meter.len);
    this.manual = new Float32Array(buf, e.manual_ptr(), this.layout.manual.len);
  }

  setManual(on, values) {
    this.engine.set_manual(on);
    if (on && values) {
      if (this.buffer !== this.wasm.memory.buffer) this.bindViews();
      this.manual.set(values);
    }
  }

  onMessage(m) {
    try {
      if (m.type === 'param') this.engine.set_param(m.index, m.value);
      else if (m.type === 'model') {
        this.engine.set_model(m.index);
        this.port.postMessage({ type: 'model', index: m.index });
      } else if (m.type === 'morphModel') this.engine.set_morph_model(m.index);
      else if (m.type === 'manual') this.setManual(m.on, m.values);
      else if (m.type === 'manualValue') {
        if (this.buffer !== this.wasm.memory.buffer) this.bindViews();
        this.manual[m.slot] = m.value;
      } else if (m.type === 'record') this.record = m.on;
      else if (m.type === 'stop') {
        // Free the engine; process() then returns false and the node can go.
        this.engine.free();
        this.engine = null;
        this.stopped = true;
      }
    } catch (e) {
      this.port.postMessage({ type: 'error', message: String(e.message || e) });
    }
  }

  process(inputs, outputs) {
    const out = outputs[0];
    if (this.stopped) return false;
    if (!this.engine) return true;
    if (this.buffer !== this.wasm.memory.buffer) this.bindViews();
    const input = inputs[0];
    const n = out[0].length;
    const channels = Math.min(input.length, 2);
    if (channels === 0) this.inL.fill(0);
    for (let c = 0; c < channels; c++) (c === 0 ? this.inL : this.inR).set(input[c]);
    this.engine.process(n, Math.max(channels, 1));
    out[0].set(this.outL.subarray(0, n));
    if (out.length > 1) out[1].set(this.outR.subarray(0, n));
    if (this.record) {
      this.port.postMessage({ type: 'recorded', left: out[0].slice(), right: (out[1] || out[0]).slice() });
    }
    if (this.metersEvery && ++this.quanta >= this.metersEvery) {
      this.quanta = 0;
      this.port.postMessage({ type: 'meters', meters: this.meters.slice() });
    }
    return true;
  }
}

registerProcessor('tiny-timbre', TinyTimbreProcessor);
