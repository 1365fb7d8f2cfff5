// Browser tests and benchmark of the Tiny Timbre page, in headless Chromium driven by
// playwright-core. Serves a built page folder on 127.0.0.1, drives the page as a person would
// (buttons, keyboard on sliders, file input), measures, and prints one JSON object with every
// figure on its last line; tests/browser.rs asserts on it.
//
//   node tests/browser.mjs PAGE_DIR [--screenshot FILE.png] [--bench-only]
//
// Chromium: /usr/bin/chromium (or $CHROMIUM). Nothing here reaches beyond localhost.
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const pageDir = path.resolve(args[0] || '');
const screenshot = args.includes('--screenshot') ? args[args.indexOf('--screenshot') + 1] : null;
const benchOnly = args.includes('--bench-only');
if (!fs.existsSync(path.join(pageDir, 'index.html'))) {
  console.error(`usage: node tests/browser.mjs PAGE_DIR [--screenshot FILE] [--bench-only]; no index.html in ${pageDir}`);
  process.exit(2);
}

const MIME = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.png': 'image/png', '.json': 'application/json',
};

/** A static file server for `dir` on 127.0.0.1 (ephemeral port). */
function serve(dir) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
    const file = path.join(dir, path.normalize(rel));
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': MIME[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const results = {};
const log = (...a) => console.error('[browser]', ...a);

const server = await serve(pageDir);
const url = `http://127.0.0.1:${server.address().port}/`;
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tiny-timbre-chromium-'));
// A fresh profile (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 620 },
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required', '--use-fake-device-for-media-stream',
  ],
});
const t0 = Date.now();
try {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.tinyTimbre && window.tinyTimbre.ready, null, { timeout: 30000 });
  results.loaded = true;

  // The engine's real-time factor in this browser, 48 kHz, 128-sample blocks.
  results.bench = await page.evaluate(() => window.tinyTimbre.bench(10));
  log('bench', JSON.stringify(results.bench));
  if (!benchOnly) await runTests(page);
  results.console_errors = consoleErrors;
} finally {
  await browser.close();
  server.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
results.seconds = (Date.now() - t0) / 1000;
console.log(JSON.stringify(results));

// ---------------------------------------------------------------------------------------

/** Clicks "Render to WAV" and waits for the page's result: { input, output, rate } summaries. */
async function renderWithButton(page) {
  await page.evaluate(() => (window.tinyTimbre.last = null));
  await page.click('#render');
  await page.waitForFunction(() => window.tinyTimbre.last || window.tinyTimbre.errors.length, null, { timeout: 60000 });
  const errors = await page.evaluate(() => window.tinyTimbre.errors.slice());
  if (errors.length) throw new Error(`render failed: ${errors.join('; ')}`);
}

/**
 * Measures the last render in the page: the output's pitch against the input's (the engine's
 * own tracker, compiled into the page), its level, and how strong its overtones are.
 */
function measureLast(page, shiftCents = 0) {
  return page.evaluate((shift) => {
    const { input, output, rate } = window.tinyTimbre.last;
    const fi = window.tinyTimbre.analyze(input, rate);
    const fo = window.tinyTimbre.analyze(output, rate);
    const frames = Math.min(fi.length, fo.length) / 3;
    const errors = [];
    const voiced = [];
    for (let i = 40; i < frames; i++) {
      const [f0i, ci] = [fi[3 * i], fi[3 * i + 1]];
      const [f0o, co] = [fo[3 * i], fo[3 * i + 1]];
      if (ci > 0.8 && co > 0.8) {
        errors.push(Math.abs(1200 * Math.log2(f0o / f0i) - shift));
        voiced.push([i, f0o]);
      }
    }
    errors.sort((a, b) => a - b);
    const median = errors.length ? errors[errors.length >> 1] : null;
    let sum = 0;
    for (const x of output) sum += x * x;
    // Overtones: on every 10th voiced frame, a Hann-windowed 2048-sample DFT at k·f0 (k = 1..5,
    // f0 from the output's own analysis); the loudest of k = 2..5 against k = 1, in dB, median.
    const hop = rate / 250;
    const ratios = [];
    for (let v = 0; v < voiced.length; v += 10) {
      const [i, f0] = voiced[v];
      const start = Math.round(i * hop) - 1024;
      if (start < 0 || start + 2048 > output.length) continue;
      const mag = (f) => {
        let re = 0, im = 0;
        for (let n = 0; n < 2048; n++) {
          const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / 2048);
          const ph = (2 * Math.PI * f * n) / rate;
          re += w * output[start + n] * Math.cos(ph);
          im += w * output[start + n] * Math.sin(ph);
        }
        return Math.hypot(re, im);
      };
      const h1 = mag(f0);
      let worst = 0;
      for (let k = 2; k <= 5; k++) worst = Math.max(worst, mag(k * f0));
      ratios.push(20 * Math.log10(worst / h1));
    }
    ratios.sort((a, b) => a - b);
    return {
      median_cents_error: median,
      voiced_frames: errors.length,
      frames,
      output_rms: Math.sqrt(sum / output.length),
      overtones_db: ratios.length ? ratios[ratios.length >> 1] : null,
      render_ms: window.tinyTimbre.last.ms,
      seconds: input.length / rate,
    };
  }, shiftCents);
}

/** Every knob's value as the page shows it: `{ id: value }` (switches as 0 or 1). */
function knobValues(page) {
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll('#knobs input')].map((el) => [
    el.id.replace(/^knob-/, ''), el.type === 'checkbox' ? (el.checked ? 1 : 0) : Number(el.value),
  ])));
}

/**
 * Picks model `index` in the picker and records the knobs it set (its recommended settings);
 * then, so that models are compared alike, turns auto-adjust off and the reverb and Humanize
 * to 0 (Home).
 */
async function pickModelDry(page, index) {
  await page.selectOption('#model', String(index));
  const knobs = await knobValues(page);
  await page.uncheck('#knob-auto_adjust');
  await page.focus('#knob-reverb');
  await page.keyboard.press('Home');
  await page.focus('#knob-humanize');
  await page.keyboard.press('Home');
  await page.focus('#knob-autotune');
  await page.keyboard.press('Home');
  return knobs;
}

async function runTests(page) {
  // 0. A fresh page starts from the default model's recommended settings, as the plugin does.
  results.start_knobs = await knobValues(page);
  // A person who wants the melody's own octave turns auto-adjust off, and Humanize off so that
  // the renders below can be compared sample by sample (pickModelDry keeps it there).
  await page.uncheck('#knob-auto_adjust');
  await page.focus('#knob-humanize');
  await page.keyboard.press('Home');

  // 1. The bundled melody, rendered offline through the worklet with the Render button.
  await renderWithButton(page);
  results.melody = await measureLast(page);
  await page.evaluate(() => (window.withRoom = window.tinyTimbre.last.output));
  log('melody', JSON.stringify(results.melody));
  // ... and the download is a WAV of the right shape.
  results.wav = await page.evaluate(async () => {
    const a = document.getElementById('download');
    const bytes = new DataView(await (await fetch(a.href)).arrayBuffer());
    const tag = (pos) => String.fromCharCode(...[0, 1, 2, 3].map((i) => bytes.getUint8(pos + i)));
    const { output, rate } = window.tinyTimbre.last;
    return {
      visible: !a.hidden, name: a.download, riff: tag(0), wave: tag(8), channels: bytes.getUint16(22, true),
      rate: bytes.getUint32(24, true), bits: bytes.getUint16(34, true), data_bytes: bytes.getUint32(40, true),
      total_bytes: bytes.byteLength, expected_rate: rate, expected_frames: output.length,
    };
  });

  // 2. A person moves the pitch-shift slider 12 steps up with the keyboard: an octave up.
  await page.focus('#knob-semitones');
  for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowRight');
  results.slider_label = await page.textContent('#knob-semitones + output');
  await renderWithButton(page);
  results.octave_up = await measureLast(page, 1200);
  log('octave up', JSON.stringify(results.octave_up));
  await page.focus('#knob-semitones');
  for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowLeft');

  // 3. Reverb slider to 0 (Home key): the instrument without its room.
  await page.focus('#knob-reverb');
  await page.keyboard.press('Home');
  await renderWithButton(page);
  results.dry = await measureLast(page);
  // What turning the room off changed: the RMS of the difference against the render with it,
  // relative to that render's RMS (the same input and knobs otherwise).
  results.dry.change_from_room = await page.evaluate(() => {
    const [a, b] = [window.withRoom, window.tinyTimbre.last.output];
    let diff = 0, sum = 0;
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      diff += (a[i] - b[i]) ** 2;
      sum += a[i] * a[i];
    }
    return Math.sqrt(diff / sum);
  });

  // 3b. The model picker: the second embedded model sounds different from the violin. The
  // timbre is compared as a long-term spectrum (third-octave bands, 100 Hz to 8 kHz, each as
  // dB relative to the total, so level alone does not count), against a repeat render of the
  // violin as the run-to-run reference.
  await page.evaluate(() => (window.dryViolin = window.tinyTimbre.last.output));
  await renderWithButton(page);
  await page.evaluate(() => (window.dryViolinAgain = window.tinyTimbre.last.output));
  // Picking a model sets its recommended knobs; both are compared dry, without auto-adjust,
  // Humanize or Autotune.
  results.other_model_knobs = await pickModelDry(page, 1);
  await renderWithButton(page);
  results.other_model = await page.evaluate(() => {
    const rate = window.tinyTimbre.last.rate;
    const bands = [];
    for (let f = 100; f < 8000; f *= Math.cbrt(2)) bands.push([f, f * Math.cbrt(2)]);
    // Naive DFT of Hann-windowed 2048-sample frames every 8192 samples, summed per band.
    const spectrum = (x) => {
      const n = 2048, energy = new Float64Array(bands.length);
      const w = new Float64Array(n), cos = new Float64Array(n), sin = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        w[j] = 0.5 - 0.5 * Math.cos((2 * Math.PI * j) / n);
        cos[j] = Math.cos((2 * Math.PI * j) / n);
        sin[j] = -Math.sin((2 * Math.PI * j) / n);
      }
      for (let start = 0; start + n <= x.length; start += 8192) {
        for (let k = 1; k < n / 2; k++) {
          const hz = (k * rate) / n;
          const band = bands.findIndex(([lo, hi]) => hz >= lo && hz < hi);
          if (band < 0) continue;
          let re = 0, im = 0;
          for (let j = 0, m = 0; j < n; j++, m = (m + k) % n) {
            const v = x[start + j] * w[j];
            re += v * cos[m];
            im += v * sin[m];
          }
          energy[band] += re * re + im * im;
        }
      }
      const total = energy.reduce((a, b) => a + b, 0);
      return Array.from(energy, (e) => 10 * Math.log10(Math.max(e / total, 1e-12)));
    };
    const meanAbsDb = (a, b) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;
    const violin = spectrum(window.dryViolin);
    return {
      name: document.querySelector('#model option:checked').textContent,
      band_difference_db: meanAbsDb(violin, spectrum(window.tinyTimbre.last.output)),
      repeat_difference_db: meanAbsDb(violin, spectrum(window.dryViolinAgain)),
    };
  });
  log('other model', JSON.stringify(results.other_model));
  await page.evaluate(() => (window.otherModelDry = window.tinyTimbre.last.output));
  results.violin_again_knobs = await pickModelDry(page, 0);

  // 3b. Morph: model B is the second model; the knob at 100% plays exactly that model, at
  // 50% something between, and back at 0% exactly the violin again.
  await page.selectOption('#morph-model', '1');
  const setMorph = (v) => page.evaluate((value) => {
    const el = document.getElementById('knob-morph');
    el.value = value;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, v);
  const maxDiff = (key) => page.evaluate((k) => {
    const a = window.tinyTimbre.last.output, b = window[k];
    let d = a.length === b.length ? 0 : Infinity;
    for (let i = 0; i < Math.min(a.length, b.length); i++) d = Math.max(d, Math.abs(a[i] - b[i]));
    return d;
  }, key);
  results.morph = {};
  await setMorph(1);
  await renderWithButton(page);
  results.morph.label = await page.textContent('#knob-morph + output');
  results.morph.full_vs_other = await maxDiff('otherModelDry');
  await setMorph(0.5);
  await renderWithButton(page);
  results.morph.half_vs_violin = await maxDiff('dryViolin');
  results.morph.half_vs_other = await maxDiff('otherModelDry');
  await setMorph(0);
  await renderWithButton(page);
  results.morph.zero_vs_violin = await maxDiff('dryViolin');
  log('morph', JSON.stringify(results.morph));

  // 4. Inside the synth: by hand, only harmonic 1 and no noise: a sine that still follows.
  await page.check('#manual');
  await page.evaluate(() => {
    const set = (el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); };
    set(document.getElementById('amp'), -12);
    [...document.getElementById('harmonics').children].forEach((s, i) => set(s, i === 0 ? 0 : -80));
    [...document.getElementById('noise').children].forEach((s) => set(s, -80));
  });
  await renderWithButton(page);
  results.by_hand = await measureLast(page);
  log('by hand', JSON.stringify(results.by_hand));
  await page.uncheck('#manual');
  results.synth_sliders = await page.evaluate(() => ({
    harmonics: document.getElementById('harmonics').children.length,
    noise: document.getElementById('noise').children.length,
  }));

  // 5. An unsupported file: a clear message on the page.
  await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not audio at all') });
  await page.waitForSelector('#message:not([hidden])', { timeout: 10000 });
  results.bad_file_message = await page.textContent('#message');

  // 6. The microphone (Chromium's fake device) while the page has no permission: denied, and
  // a clear message says so. Then with permission: the fake microphone plays through.
  await page.evaluate(() => { document.getElementById('message').hidden = true; });
  await page.click('#mic');
  await page.waitForSelector('#message:not([hidden])', { timeout: 10000 });
  results.mic_message = await page.textContent('#message');
  await browser.grantPermissions(['microphone'], { origin: url.replace(/\/$/, '') });
  await page.click('#mic');
  await page.waitForTimeout(1500);
  results.mic_live = await page.evaluate(() => ({
    now_playing: document.getElementById('now-playing').textContent,
    meters: document.getElementById('readout').textContent,
    peaks: window.tinyTimbre.livePeaks,
  }));
  log('microphone', JSON.stringify(results.mic_live));
  await page.click('#stop');

  // 7. Live: the demo through the real-time worklet; the synth panel follows; recording;
  // screenshot.
  await page.click('#demo');
  await page.waitForTimeout(2500);
  results.live = await page.evaluate(() => {
    const h = [...document.getElementById('harmonics').children].map((s) => Number(s.value));
    return {
      readout: document.getElementById('readout').textContent,
      harmonics_above_floor: h.filter((v) => v > -80).length,
      now_playing: document.getElementById('now-playing').textContent,
      peaks: window.tinyTimbre.livePeaks,
    };
  });
  log('live', JSON.stringify(results.live));
  // Record what plays for a second, then the download offers it.
  await page.click('#record');
  await page.waitForTimeout(1000);
  await page.click('#record');
  results.recording = await page.evaluate(async () => {
    const a = document.getElementById('download');
    const bytes = (await (await fetch(a.href)).arrayBuffer()).byteLength;
    const sampleRate = new DataView(await (await fetch(a.href)).arrayBuffer()).getUint32(24, true);
    return { name: a.download, bytes, rate: sampleRate };
  });
  log('recording', JSON.stringify(results.recording));
  if (screenshot) {
    await page.evaluate(() => { document.getElementById('message').hidden = true; });
    await page.screenshot({ path: screenshot, fullPage: true });
    results.screenshot = screenshot;
  }
  // Switching the model while playing: the live engine crossfades and keeps going.
  const before = await page.evaluate(() => [window.tinyTimbre.liveMeters, window.tinyTimbre.errors.length]);
  await page.selectOption('#model', '1');
  await page.waitForTimeout(800);
  results.live_model_switch = await page.evaluate(([meters, errors]) => ({
    meters_since: window.tinyTimbre.liveMeters - meters,
    new_errors: window.tinyTimbre.errors.slice(errors),
  }), before);
  await page.selectOption('#model', '0');
  await page.click('#stop');
}
