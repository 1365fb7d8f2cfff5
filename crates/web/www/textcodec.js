// A minimal UTF-8 TextDecoder/TextEncoder for the AudioWorklet scope, which has neither;
// wasm-bindgen's glue uses them for strings (here only error messages). Installed only where
// missing, so the main thread keeps the browser's own.

class Utf8Decoder {
  decode(bytes) {
    if (!bytes) return '';
    const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer || bytes);
    let out = '';
    for (let i = 0; i < b.length; ) {
      const c = b[i++];
      let cp;
      if (c < 0x80) cp = c;
      else if (c < 0xe0) cp = ((c & 0x1f) << 6) | (b[i++] & 0x3f);
      else if (c < 0xf0) cp = ((c & 0x0f) << 12) | ((b[i++] & 0x3f) << 6) | (b[i++] & 0x3f);
      else cp = ((c & 0x07) << 18) | ((b[i++] & 0x3f) << 12) | ((b[i++] & 0x3f) << 6) | (b[i++] & 0x3f);
      out += String.fromCodePoint(cp);
    }
    return out;
  }
}

class Utf8Encoder {
  encode(text = '') {
    const bytes = [];
    for (const ch of text) {
      const cp = ch.codePointAt(0);
      if (cp < 0x80) bytes.push(cp);
      else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
      else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
      else bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    }
    return new Uint8Array(bytes);
  }

  encodeInto(text, view) {
    const bytes = this.encode(text);
    const written = Math.min(bytes.length, view.length);
    view.set(bytes.subarray(0, written));
    return { read: text.length, written };
  }
}

if (typeof globalThis.TextDecoder === 'undefined') globalThis.TextDecoder = Utf8Decoder;
if (typeof globalThis.TextEncoder === 'undefined') globalThis.TextEncoder = Utf8Encoder;
