// Audio helpers of the page: the bundled demo melody (a band-limited sawtooth with a known
// f0, vibrato, glides and swells, like `cargo xtask demo`'s) and a 16-bit PCM WAV encoder.

/** The demo melody's notes: [MIDI note, seconds]. */
export const DEMO_NOTES = [
  [57, 0.6], [60, 0.5], [64, 0.7], [62, 0.5], [65, 0.6], [64, 0.5], [69, 1.1],
];

/** The melody's f0 in Hz at time t: notes with 40 ms glides and ±`vibratoCents` at 5.5 Hz. */
export function melodyF0(t, notes = DEMO_NOTES, vibratoCents = 25) {
  let start = 0;
  let midi = notes[0][0];
  for (let i = 0; i < notes.length; i++) {
    const [note, dur] = notes[i];
    if (t < start + dur || i === notes.length - 1) {
      const prev = i > 0 ? notes[i - 1][0] : note;
      const glide = Math.min(Math.max((t - start) / 0.04, 0), 1);
      midi = prev + (note - prev) * glide;
      break;
    }
    start += dur;
  }
  const vib = (vibratoCents / 100) * Math.sin(2 * Math.PI * 5.5 * t);
  return 440 * 2 ** ((midi + vib - 69) / 12);
}

/**
 * The demo melody at `rate` Hz: a sawtooth of up to 30 harmonics below 0.45·rate, with a
 * soft attack and release and a slow swell. Returns a Float32Array.
 */
export function demoMelody(rate, notes = DEMO_NOTES) {
  const seconds = notes.reduce((s, [, d]) => s + d, 0);
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const f = melodyF0(t, notes);
    const harmonics = Math.min(30, Math.floor((0.45 * rate) / f));
    let y = 0;
    for (let h = 1; h <= harmonics; h++) y += Math.sin(2 * Math.PI * h * phase) / h;
    phase = (phase + f / rate) % 1;
    const env = Math.min(t / 0.05, 1, (seconds - t) / 0.1) * (0.6 + 0.3 * Math.sin(2 * Math.PI * 0.7 * t));
    out[i] = 0.25 * env * y;
  }
  return out;
}

/** Encodes channels (Float32Arrays of equal length) as a 16-bit PCM WAV file. */
export function encodeWav(channels, rate) {
  const frames = channels[0].length;
  const nch = channels.length;
  const bytes = 44 + frames * nch * 2;
  const view = new DataView(new ArrayBuffer(bytes));
  const text = (pos, s) => [...s].forEach((c, i) => view.setUint8(pos + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, bytes - 8, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, nch, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * nch * 2, true);
  view.setUint16(32, nch * 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, frames * nch * 2, true);
  let pos = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < nch; c++) {
      const x = Math.max(-1, Math.min(1, channels[c][i]));
      view.setInt16(pos, Math.round(x * 32767), true);
      pos += 2;
    }
  }
  return new Blob([view.buffer], { type: 'audio/wav' });
}
