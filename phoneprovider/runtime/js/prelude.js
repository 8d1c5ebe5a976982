// phoneprovider handler runtime: the globals and Node built-ins an Auth0 handler expects,
// written for a bare V8 isolate. Evaluated once per context, before the handler's code.
//
// The host (Python, _child.py) talks to this file through `globalThis[HOST]` (a name chosen per
// context) and a shared-memory channel (see "Shared-memory channel" below):
//   channel()              the channel's SharedArrayBuffer, handed out once, to the host
//   define(fn)             keep the handler's CommonJS wrapper (compiled by the host)
//   run([payloadJson])     start one execution (payload from the inbox when no argument)
//   deliver([ex, id, json]) settle a pending fetch with the host's answer
//   poll()                 JSON {q, done, result?} when the outbox could not take a message
//   snapshot()             logs so far (for a timeout report)
// Messages to the host ({q: [fetch requests], done, result?}) go to the outbox, followed by an
// argument-less notification (__pp_n_host, installed by the host before this file runs).
// Every limit enforced here is enforced again by the host: this file shares its isolate with
// untrusted code and is a convenience, not a wall.
(function (global, HOST) {
  'use strict';

  const notifyHost = global.__pp_n_host;
  const SAB = global.SharedArrayBuffer;
  const waitAsync = global.Atomics.waitAsync;
  const atomicLoad = global.Atomics.load;
  const atomicStore = global.Atomics.store;
  const Int32ArrayC = global.Int32Array;
  const jsonStringify = JSON.stringify;
  const jsonParse = JSON.parse;
  const ObjectDefineProperty = Object.defineProperty;
  const dateNow = Date.now;
  const StringC = String;
  const ErrorC = Error;
  const PromiseC = Promise;
  for (const name of ['__pp_n_host', 'SharedArrayBuffer', 'Atomics', 'WebAssembly',
    'FinalizationRegistry', '__timer_manager', 'setTimeout', 'clearTimeout']) {
    try { delete global[name]; } catch (e) { /* not configurable */ }
    // mini-racer declares its timer helpers with `var`: not deletable, but writable.
    if (name in global) { try { global[name] = undefined; } catch (e) { /* ignore */ } }
  }

  function define(obj, props) {
    for (const k of Object.keys(props)) {
      try {
        ObjectDefineProperty(obj, k, { value: props[k], writable: true, configurable: true, enumerable: false });
      } catch (e) {
        obj[k] = props[k];
      }
    }
  }

  // ------------------------------------------------------------------ execution state
  let EX = null;       // the running execution, or null between executions
  let handlerWrapper = null;
  let moduleObj = null;
  let loadError = null;
  let timerSeq = 0;

  // Shared-memory channel to the host. Messages are ASCII JSON. The outbox (JS -> host) is
  // written only when the host has emptied it (header[0] == 0); otherwise header[1] ("more")
  // asks the host to call poll(). The inbox (host -> JS) carries run/deliver payloads. This
  // saves a script compilation or an evaluation round trip per message.
  const CH_HEADER = 64, CH_OUT = 512 * 1024, CH_IN = 512 * 1024;
  const chanSab = new SAB(CH_HEADER + CH_OUT + CH_IN);
  const chanHdr = new Int32ArrayC(chanSab, 0, 16);
  const chanOut = new Uint8Array(chanSab, CH_HEADER, CH_OUT);
  const chanIn = new Uint8Array(chanSab, CH_HEADER + CH_OUT, CH_IN);
  let chanGiven = false;
  const HAS_NON_ASCII = /[\u007f-\uffff]/;
  const NON_ASCII = /[\u007f-\uffff]/g;
  const escChar = (c) => '\\u' + ('000' + c.charCodeAt(0).toString(16)).slice(-4);
  function post(obj) {
    if (atomicLoad(chanHdr, 0) !== 0) return false;
    let text = jsonStringify(obj);
    if (HAS_NON_ASCII.test(text)) text = text.replace(NON_ASCII, escChar);
    if (text.length > CH_OUT || text.length === 0) return false;
    for (let i = 0; i < text.length; i++) chanOut[i] = text.charCodeAt(i);
    atomicStore(chanHdr, 0, text.length);
    return true;
  }
  function readInbox() {
    const n = atomicLoad(chanHdr, 2);
    const parts = [];
    for (let i = 0; i < n; i += 8192) parts.push(StringC.fromCharCode.apply(null, chanIn.subarray(i, Math.min(n, i + 8192))));
    atomicStore(chanHdr, 2, 0);
    return parts.join('');
  }
  function flush(ex) {
    if (EX !== ex) return;
    const out = { q: ex.queue, done: ex.done };
    if (ex.done) out.result = result(ex);
    if (post(out)) {
      ex.queue = [];
      if (ex.done) finish(ex);
    } else {
      atomicStore(chanHdr, 1, 1);
    }
    // Inside run()/deliver() the host looks at the channel when the call returns anyway;
    // a notification there would only cost a thread switch.
    if (!inCall) notifyHost();
  }
  let inCall = false;
  function signal() {
    if (EX && !EX.inHost) flush(EX);
  }

  // ------------------------------------------------------------------ utf-8 / base64 / hex
  function utf8Encode(str) {
    str = StringC(str);
    const out = new Uint8Array(str.length * 3);
    let p = 0;
    for (let i = 0; i < str.length; i++) {
      let c = str.charCodeAt(i);
      if (c < 0x80) { out[p++] = c; continue; }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
        const d = str.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++;
          out[p++] = 0xf0 | (c >> 18); out[p++] = 0x80 | ((c >> 12) & 63);
          out[p++] = 0x80 | ((c >> 6) & 63); out[p++] = 0x80 | (c & 63);
          continue;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x800) { out[p++] = 0xc0 | (c >> 6); out[p++] = 0x80 | (c & 63); }
      else { out[p++] = 0xe0 | (c >> 12); out[p++] = 0x80 | ((c >> 6) & 63); out[p++] = 0x80 | (c & 63); }
    }
    return out.slice(0, p);
  }
  function utf8Length(str) {
    let n = 0;
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      if (c < 0x80) n += 1; else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; } else n += 3;
    }
    return n;
  }
  function utf8Decode(bytes, fatal) {
    let out = '', i = 0;
    const n = bytes.length;
    const parts = [];
    while (i < n) {
      const b = bytes[i];
      let cp = 0xfffd, len = 1;
      if (b < 0x80) { cp = b; }
      else if (b >= 0xc2 && b < 0xe0 && i + 1 < n && (bytes[i + 1] & 0xc0) === 0x80) {
        cp = ((b & 31) << 6) | (bytes[i + 1] & 63); len = 2;
      } else if (b >= 0xe0 && b < 0xf0 && i + 2 < n && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) {
        cp = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63); len = 3;
        if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) { cp = 0xfffd; len = 1; }
      } else if (b >= 0xf0 && b < 0xf5 && i + 3 < n && (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80 && (bytes[i + 3] & 0xc0) === 0x80) {
        cp = ((b & 7) << 18) | ((bytes[i + 1] & 63) << 12) | ((bytes[i + 2] & 63) << 6) | (bytes[i + 3] & 63); len = 4;
        if (cp < 0x10000 || cp > 0x10ffff) { cp = 0xfffd; len = 1; }
      }
      if (cp === 0xfffd && fatal && !(b === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd)) {
        throw new TypeError('The encoded data was not valid utf-8');
      }
      if (cp > 0xffff) { cp -= 0x10000; out += StringC.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 1023)); }
      else out += StringC.fromCharCode(cp);
      if (out.length > 8192) { parts.push(out); out = ''; }
      i += len;
    }
    parts.push(out);
    return parts.join('');
  }
  function latin1Encode(str) {
    str = StringC(str);
    const out = new Uint8Array(str.length);
    for (let i = 0; i < str.length; i++) out[i] = str.charCodeAt(i) & 255;
    return out;
  }
  function latin1Decode(bytes) {
    const parts = [];
    for (let i = 0; i < bytes.length; i += 8192) {
      parts.push(StringC.fromCharCode.apply(null, bytes.subarray(i, Math.min(i + 8192, bytes.length))));
    }
    return parts.join('');
  }
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const B64REV = new Int16Array(256).fill(-1);
  for (let i = 0; i < 64; i++) { B64REV[B64.charCodeAt(i)] = i; B64REV[B64URL.charCodeAt(i)] = i; }
  function base64Encode(bytes, url) {
    const abc = url ? B64URL : B64;
    let out = '';
    const parts = [];
    let i = 0;
    for (; i + 2 < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      out += abc[n >> 18] + abc[(n >> 12) & 63] + abc[(n >> 6) & 63] + abc[n & 63];
      if (out.length > 8192) { parts.push(out); out = ''; }
    }
    if (i < bytes.length) {
      const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
      out += abc[n >> 18] + abc[(n >> 12) & 63];
      if (i + 1 < bytes.length) out += abc[(n >> 6) & 63]; else if (!url) out += '=';
      if (!url) out += '=';
    }
    parts.push(out);
    return parts.join('');
  }
  // Lenient like Node's Buffer.from(x, 'base64'): skips whitespace and invalid characters.
  function base64Decode(str) {
    str = StringC(str);
    const out = new Uint8Array(Math.ceil(str.length * 3 / 4));
    let acc = 0, bits = 0, p = 0;
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      if (c === 61) break;
      const v = c < 256 ? B64REV[c] : -1;
      if (v < 0) continue;
      acc = (acc << 6) | v; bits += 6;
      if (bits >= 8) { bits -= 8; out[p++] = (acc >> bits) & 255; }
    }
    return out.slice(0, p);
  }
  const HEX = [];
  for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));
  function hexEncode(bytes) {
    let out = '';
    for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
    return out;
  }
  function hexDecode(str) {
    str = StringC(str);
    const n = str.length >> 1;
    const out = new Uint8Array(n);
    let p = 0;
    for (let i = 0; i < n; i++) {
      const v = parseInt(str.substr(i * 2, 2), 16);
      if (Number.isNaN(v)) break;
      out[p++] = v;
    }
    return out.slice(0, p);
  }

  class DOMException extends ErrorC {
    constructor(message = '', name = 'Error') {
      super(message);
      ObjectDefineProperty(this, 'name', { value: name, configurable: true, writable: true });
    }
    get code() {
      return { AbortError: 20, TimeoutError: 23, InvalidCharacterError: 5, DataCloneError: 25,
        NotSupportedError: 9, SyntaxError: 12 }[this.name] || 0;
    }
  }

  function atob(data) {
    let s = StringC(data).replace(/[\t\n\f\r ]/g, '');
    if (s.length % 4 === 0) s = s.replace(/==?$/, '');
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) {
      throw new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
    }
    return latin1Decode(base64Decode(s));
  }
  function btoa(data) {
    const s = StringC(data);
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 255) {
        throw new DOMException('The string to be encoded contains characters outside of the Latin1 range.', 'InvalidCharacterError');
      }
    }
    return base64Encode(latin1Encode(s), false);
  }

  function toBytes(data, what) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (typeof data === 'string') return utf8Encode(data);
    throw new TypeError(`${what || 'The data'} must be a string, Buffer, TypedArray or ArrayBuffer`);
  }

  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') { return utf8Encode(input); }
    encodeInto(src, dest) {
      const bytes = utf8Encode(src);
      const n = Math.min(bytes.length, dest.length);
      dest.set(bytes.subarray(0, n));
      return { read: src.length, written: n };
    }
  }
  class TextDecoder {
    constructor(label = 'utf-8', options = {}) {
      const l = StringC(label).toLowerCase().trim();
      if (!['utf-8', 'utf8', 'unicode-1-1-utf-8', 'latin1', 'iso-8859-1', 'ascii', 'us-ascii', 'windows-1252'].includes(l)) {
        throw new RangeError(`The "${label}" encoding is not supported`);
      }
      this._latin1 = !l.startsWith('u') || l === 'us-ascii';
      this.fatal = !!options.fatal;
      this.ignoreBOM = !!options.ignoreBOM;
    }
    get encoding() { return this._latin1 ? 'windows-1252' : 'utf-8'; }
    decode(input, options) {
      if (input === undefined) return '';
      const bytes = toBytes(input);
      if (this._latin1) return latin1Decode(bytes);
      let s = utf8Decode(bytes, this.fatal);
      if (!this.ignoreBOM && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      return s;
    }
  }

  // ------------------------------------------------------------------ Buffer
  const ENCODINGS = ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'ascii', 'latin1', 'binary', 'ucs2', 'ucs-2', 'utf16le', 'utf-16le'];
  function normEnc(enc) {
    if (enc === undefined || enc === null) return 'utf8';
    const e = StringC(enc).toLowerCase();
    if (e === 'utf-8') return 'utf8';
    if (e === 'binary') return 'latin1';
    if (e === 'ucs2' || e === 'ucs-2' || e === 'utf-16le') return 'utf16le';
    if (!ENCODINGS.includes(e)) throw new TypeError(`Unknown encoding: ${enc}`);
    return e;
  }
  function encodeString(str, enc) {
    switch (normEnc(enc)) {
      case 'utf8': return utf8Encode(str);
      case 'hex': return hexDecode(str);
      case 'base64': case 'base64url': return base64Decode(str);
      case 'ascii': case 'latin1': return latin1Encode(str);
      case 'utf16le': {
        const out = new Uint8Array(str.length * 2);
        for (let i = 0; i < str.length; i++) { const c = str.charCodeAt(i); out[i * 2] = c & 255; out[i * 2 + 1] = c >> 8; }
        return out;
      }
    }
    return utf8Encode(str);
  }
  function decodeBytes(bytes, enc) {
    switch (normEnc(enc)) {
      case 'utf8': return utf8Decode(bytes, false);
      case 'hex': return hexEncode(bytes);
      case 'base64': return base64Encode(bytes, false);
      case 'base64url': return base64Encode(bytes, true);
      case 'ascii': { const c = new Uint8Array(bytes.length); for (let i = 0; i < bytes.length; i++) c[i] = bytes[i] & 127; return latin1Decode(c); }
      case 'latin1': return latin1Decode(bytes);
      case 'utf16le': {
        let s = '';
        for (let i = 0; i + 1 < bytes.length; i += 2) s += StringC.fromCharCode(bytes[i] | (bytes[i + 1] << 8));
        return s;
      }
    }
    return utf8Decode(bytes, false);
  }

  class Buffer extends Uint8Array {
    static from(value, encOrOffset, length) {
      if (typeof value === 'string') return toBuffer(encodeString(value, encOrOffset));
      if (value instanceof ArrayBuffer) {
        const off = encOrOffset >>> 0;
        const len = length === undefined ? value.byteLength - off : length >>> 0;
        return new Buffer(value, off, len);
      }
      if (ArrayBuffer.isView(value)) {
        const b = new Buffer(value.length);
        for (let i = 0; i < value.length; i++) b[i] = value[i];
        return b;
      }
      if (Array.isArray(value)) { const b = new Buffer(value.length); b.set(value.map((x) => x & 255)); return b; }
      if (value && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data);
      if (value && typeof value.length === 'number') return Buffer.from(Array.from(value));
      throw new TypeError('The first argument must be a string, Buffer, ArrayBuffer, Array, or array-like object');
    }
    static alloc(size, fill, enc) {
      const b = new Buffer(checkSize(size));
      if (fill !== undefined && fill !== 0) b.fill(fill, 0, b.length, enc);
      return b;
    }
    static allocUnsafe(size) { return new Buffer(checkSize(size)); }
    static allocUnsafeSlow(size) { return new Buffer(checkSize(size)); }
    static isBuffer(b) { return b instanceof Buffer; }
    static isEncoding(e) { try { normEnc(e); return typeof e === 'string'; } catch (_) { return false; } }
    static byteLength(v, enc) {
      if (typeof v === 'string') return normEnc(enc) === 'utf8' ? utf8Length(v) : encodeString(v, enc).length;
      return v.byteLength;
    }
    static concat(list, total) {
      if (!Array.isArray(list)) throw new TypeError('The "list" argument must be an Array of Buffers');
      const len = total === undefined ? list.reduce((a, b) => a + b.length, 0) : total;
      const out = Buffer.alloc(len);
      let p = 0;
      for (const b of list) { if (p >= len) break; const part = b.subarray(0, len - p); out.set(part, p); p += part.length; }
      return out;
    }
    static compare(a, b) { return a.compare(b); }
    toString(enc, start, end) {
      start = start === undefined ? 0 : Math.max(0, start | 0);
      end = end === undefined ? this.length : Math.min(this.length, end | 0);
      return decodeBytes(this.subarray(start, end), enc);
    }
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
    equals(other) { return this.compare(other) === 0; }
    compare(other) {
      const n = Math.min(this.length, other.length);
      for (let i = 0; i < n; i++) if (this[i] !== other[i]) return this[i] < other[i] ? -1 : 1;
      return this.length === other.length ? 0 : (this.length < other.length ? -1 : 1);
    }
    slice(start, end) { return this.subarray(start, end); }
    subarray(start, end) { const u = Uint8Array.prototype.subarray.call(this, start, end); return new Buffer(u.buffer, u.byteOffset, u.length); }
    write(str, offset, length, enc) {
      if (typeof offset === 'string') { enc = offset; offset = 0; length = undefined; }
      else if (typeof length === 'string') { enc = length; length = undefined; }
      offset = offset >>> 0;
      const bytes = encodeString(str, enc);
      const n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length);
      this.set(bytes.subarray(0, n), offset);
      return n;
    }
    fill(value, start = 0, end = this.length, enc) {
      if (typeof start === 'string') { enc = start; start = 0; end = this.length; }
      if (typeof value === 'string') {
        const bytes = value.length === 1 && value.charCodeAt(0) < 128 ? [value.charCodeAt(0)] : encodeString(value, enc);
        if (!bytes.length) return Uint8Array.prototype.fill.call(this, 0, start, end);
        for (let i = start, j = 0; i < end; i++, j = (j + 1) % bytes.length) this[i] = bytes[j];
        return this;
      }
      return Uint8Array.prototype.fill.call(this, value, start, end);
    }
    copy(target, targetStart = 0, sourceStart = 0, sourceEnd = this.length) {
      const part = this.subarray(sourceStart, sourceEnd).subarray(0, target.length - targetStart);
      target.set(part, targetStart);
      return part.length;
    }
    indexOf(value, byteOffset = 0, enc) {
      if (typeof value === 'number') return Uint8Array.prototype.indexOf.call(this, value, byteOffset);
      const needle = typeof value === 'string' ? encodeString(value, enc) : value;
      outer: for (let i = byteOffset; i <= this.length - needle.length; i++) {
        for (let j = 0; j < needle.length; j++) if (this[i + j] !== needle[j]) continue outer;
        return i;
      }
      return -1;
    }
    includes(value, byteOffset, enc) { return this.indexOf(value, byteOffset, enc) !== -1; }
    readUInt8(o = 0) { return this[o]; }
    readUInt16BE(o = 0) { return (this[o] << 8) | this[o + 1]; }
    readUInt16LE(o = 0) { return this[o] | (this[o + 1] << 8); }
    readUInt32BE(o = 0) { return ((this[o] * 0x1000000) + ((this[o + 1] << 16) | (this[o + 2] << 8) | this[o + 3])); }
    readUInt32LE(o = 0) { return ((this[o + 3] * 0x1000000) + ((this[o + 2] << 16) | (this[o + 1] << 8) | this[o])); }
    readInt32BE(o = 0) { return (this[o] << 24) | (this[o + 1] << 16) | (this[o + 2] << 8) | this[o + 3]; }
    writeUInt8(v, o = 0) { this[o] = v; return o + 1; }
    writeUInt16BE(v, o = 0) { this[o] = v >>> 8; this[o + 1] = v; return o + 2; }
    writeUInt32BE(v, o = 0) { this[o] = v >>> 24; this[o + 1] = v >>> 16; this[o + 2] = v >>> 8; this[o + 3] = v; return o + 4; }
    get parent() { return this.buffer; }
  }
  define(Buffer.prototype, { readUint8: Buffer.prototype.readUInt8, readUint16BE: Buffer.prototype.readUInt16BE,
    readUint32BE: Buffer.prototype.readUInt32BE, writeUint8: Buffer.prototype.writeUInt8 });
  function checkSize(size) {
    if (typeof size !== 'number' || size < 0 || size > 0x7fffffff || Number.isNaN(size)) {
      throw new RangeError(`The argument 'size' is invalid. Received ${size}`);
    }
    return size | 0;
  }
  function toBuffer(u8) { return new Buffer(u8.buffer, u8.byteOffset, u8.length); }

  // ------------------------------------------------------------------ hashes
  function rotl(x, n) { return (x << n) | (x >>> (32 - n)); }
  function padMessage(bytes, bigEndian, lenBytes) {
    const bitLenLo = (bytes.length * 8) >>> 0;
    const bitLenHi = Math.floor(bytes.length / 0x20000000);
    const block = lenBytes === 16 ? 128 : 64;
    const total = Math.ceil((bytes.length + 1 + lenBytes) / block) * block;
    const m = new Uint8Array(total);
    m.set(bytes);
    m[bytes.length] = 0x80;
    const dv = new DataView(m.buffer);
    if (bigEndian) { dv.setUint32(total - 8, bitLenHi); dv.setUint32(total - 4, bitLenLo); }
    else { dv.setUint32(total - 8, bitLenLo, true); dv.setUint32(total - 4, bitLenHi, true); }
    return m;
  }
  const K256 = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  function sha256(bytes, is224) {
    const m = padMessage(bytes, true, 8);
    const dv = new DataView(m.buffer);
    const H = is224
      ? [0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4]
      : [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    const W = new Uint32Array(64);
    for (let off = 0; off < m.length; off += 64) {
      for (let t = 0; t < 16; t++) W[t] = dv.getUint32(off + t * 4);
      for (let t = 16; t < 64; t++) {
        const x = W[t - 15], y = W[t - 2];
        const s0 = rotl(x, 25) ^ rotl(x, 14) ^ (x >>> 3);
        const s1 = rotl(y, 15) ^ rotl(y, 13) ^ (y >>> 10);
        W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
      }
      let [a, b, c, d, e, f, g, h] = H;
      for (let t = 0; t < 64; t++) {
        const S1 = rotl(e, 26) ^ rotl(e, 21) ^ rotl(e, 7);
        const ch = (e & f) ^ (~e & g);
        const t1 = (h + S1 + ch + K256[t] + W[t]) | 0;
        const S0 = rotl(a, 30) ^ rotl(a, 19) ^ rotl(a, 10);
        const maj = (a & b) ^ (a & c) ^ (b & c);
        const t2 = (S0 + maj) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
      H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
    }
    const out = new Uint8Array(is224 ? 28 : 32);
    const odv = new DataView(out.buffer);
    for (let i = 0; i < out.length / 4; i++) odv.setUint32(i * 4, H[i]);
    return out;
  }
  function sha1(bytes) {
    const m = padMessage(bytes, true, 8);
    const dv = new DataView(m.buffer);
    const H = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    const W = new Int32Array(80);
    for (let off = 0; off < m.length; off += 64) {
      for (let t = 0; t < 16; t++) W[t] = dv.getInt32(off + t * 4);
      for (let t = 16; t < 80; t++) W[t] = rotl(W[t - 3] ^ W[t - 8] ^ W[t - 14] ^ W[t - 16], 1);
      let [a, b, c, d, e] = H;
      for (let t = 0; t < 80; t++) {
        let f, k;
        if (t < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
        else if (t < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
        else if (t < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
        else { f = b ^ c ^ d; k = 0xca62c1d6; }
        const tmp = (rotl(a, 5) + f + e + k + W[t]) | 0;
        e = d; d = c; c = rotl(b, 30); b = a; a = tmp;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0; H[4] = (H[4] + e) | 0;
    }
    const out = new Uint8Array(20);
    const odv = new DataView(out.buffer);
    for (let i = 0; i < 5; i++) odv.setUint32(i * 4, H[i]);
    return out;
  }
  const MD5S = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21];
  const MD5K = new Int32Array(64);
  for (let i = 0; i < 64; i++) MD5K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 0x100000000) | 0;
  function md5(bytes) {
    const m = padMessage(bytes, false, 8);
    const dv = new DataView(m.buffer);
    const H = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    const M = new Int32Array(16);
    for (let off = 0; off < m.length; off += 64) {
      for (let t = 0; t < 16; t++) M[t] = dv.getInt32(off + t * 4, true);
      let [a, b, c, d] = H;
      for (let i = 0; i < 64; i++) {
        let f, g;
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
        else { f = c ^ (b | ~d); g = (7 * i) % 16; }
        const tmp = d; d = c; c = b;
        b = (b + rotl((a + f + MD5K[i] + M[g]) | 0, MD5S[i])) | 0;
        a = tmp;
      }
      H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
    }
    const out = new Uint8Array(16);
    const odv = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) odv.setInt32(i * 4, H[i], true);
    return out;
  }
  // SHA-512/384 on pairs of 32-bit words.
  const K512 = [
    0x428a2f98, 0xd728ae22, 0x71374491, 0x23ef65cd, 0xb5c0fbcf, 0xec4d3b2f, 0xe9b5dba5, 0x8189dbbc, 0x3956c25b, 0xf348b538,
    0x59f111f1, 0xb605d019, 0x923f82a4, 0xaf194f9b, 0xab1c5ed5, 0xda6d8118, 0xd807aa98, 0xa3030242, 0x12835b01, 0x45706fbe,
    0x243185be, 0x4ee4b28c, 0x550c7dc3, 0xd5ffb4e2, 0x72be5d74, 0xf27b896f, 0x80deb1fe, 0x3b1696b1, 0x9bdc06a7, 0x25c71235,
    0xc19bf174, 0xcf692694, 0xe49b69c1, 0x9ef14ad2, 0xefbe4786, 0x384f25e3, 0x0fc19dc6, 0x8b8cd5b5, 0x240ca1cc, 0x77ac9c65,
    0x2de92c6f, 0x592b0275, 0x4a7484aa, 0x6ea6e483, 0x5cb0a9dc, 0xbd41fbd4, 0x76f988da, 0x831153b5, 0x983e5152, 0xee66dfab,
    0xa831c66d, 0x2db43210, 0xb00327c8, 0x98fb213f, 0xbf597fc7, 0xbeef0ee4, 0xc6e00bf3, 0x3da88fc2, 0xd5a79147, 0x930aa725,
    0x06ca6351, 0xe003826f, 0x14292967, 0x0a0e6e70, 0x27b70a85, 0x46d22ffc, 0x2e1b2138, 0x5c26c926, 0x4d2c6dfc, 0x5ac42aed,
    0x53380d13, 0x9d95b3df, 0x650a7354, 0x8baf63de, 0x766a0abb, 0x3c77b2a8, 0x81c2c92e, 0x47edaee6, 0x92722c85, 0x1482353b,
    0xa2bfe8a1, 0x4cf10364, 0xa81a664b, 0xbc423001, 0xc24b8b70, 0xd0f89791, 0xc76c51a3, 0x0654be30, 0xd192e819, 0xd6ef5218,
    0xd6990624, 0x5565a910, 0xf40e3585, 0x5771202a, 0x106aa070, 0x32bbd1b8, 0x19a4c116, 0xb8d2d0c8, 0x1e376c08, 0x5141ab53,
    0x2748774c, 0xdf8eeb99, 0x34b0bcb5, 0xe19b48a8, 0x391c0cb3, 0xc5c95a63, 0x4ed8aa4a, 0xe3418acb, 0x5b9cca4f, 0x7763e373,
    0x682e6ff3, 0xd6b2b8a3, 0x748f82ee, 0x5defb2fc, 0x78a5636f, 0x43172f60, 0x84c87814, 0xa1f0ab72, 0x8cc70208, 0x1a6439ec,
    0x90befffa, 0x23631e28, 0xa4506ceb, 0xde82bde9, 0xbef9a3f7, 0xb2c67915, 0xc67178f2, 0xe372532b, 0xca273ece, 0xea26619c,
    0xd186b8c7, 0x21c0c207, 0xeada7dd6, 0xcde0eb1e, 0xf57d4f7f, 0xee6ed178, 0x06f067aa, 0x72176fba, 0x0a637dc5, 0xa2c898a6,
    0x113f9804, 0xbef90dae, 0x1b710b35, 0x131c471b, 0x28db77f5, 0x23047d84, 0x32caab7b, 0x40c72493, 0x3c9ebe0a, 0x15c9bebc,
    0x431d67c4, 0x9c100d4c, 0x4cc5d4be, 0xcb3e42b6, 0x597f299c, 0xfc657e2a, 0x5fcb6fab, 0x3ad6faec, 0x6c44198c, 0x4a475817];
  function sha512(bytes, is384) {
    const m = padMessage(bytes, true, 16);
    const dv = new DataView(m.buffer);
    const H = is384
      ? [0xcbbb9d5d, 0xc1059ed8, 0x629a292a, 0x367cd507, 0x9159015a, 0x3070dd17, 0x152fecd8, 0xf70e5939,
        0x67332667, 0xffc00b31, 0x8eb44a87, 0x68581511, 0xdb0c2e0d, 0x64f98fa7, 0x47b5481d, 0xbefa4fa4]
      : [0x6a09e667, 0xf3bcc908, 0xbb67ae85, 0x84caa73b, 0x3c6ef372, 0xfe94f82b, 0xa54ff53a, 0x5f1d36f1,
        0x510e527f, 0xade682d1, 0x9b05688c, 0x2b3e6c1f, 0x1f83d9ab, 0xfb41bd6b, 0x5be0cd19, 0x137e2179];
    const W = new Int32Array(160);
    const add = (ah, al, bh, bl) => { const lo = (al >>> 0) + (bl >>> 0); return [(ah + bh + Math.floor(lo / 0x100000000)) | 0, lo | 0]; };
    for (let off = 0; off < m.length; off += 128) {
      for (let t = 0; t < 32; t++) W[t] = dv.getInt32(off + t * 4);
      for (let t = 16; t < 80; t++) {
        const xh = W[(t - 15) * 2], xl = W[(t - 15) * 2 + 1];
        const s0h = ((xh >>> 1) | (xl << 31)) ^ ((xh >>> 8) | (xl << 24)) ^ (xh >>> 7);
        const s0l = ((xl >>> 1) | (xh << 31)) ^ ((xl >>> 8) | (xh << 24)) ^ ((xl >>> 7) | (xh << 25));
        const yh = W[(t - 2) * 2], yl = W[(t - 2) * 2 + 1];
        const s1h = ((yh >>> 19) | (yl << 13)) ^ ((yl >>> 29) | (yh << 3)) ^ (yh >>> 6);
        const s1l = ((yl >>> 19) | (yh << 13)) ^ ((yh >>> 29) | (yl << 3)) ^ ((yl >>> 6) | (yh << 26));
        let r = add(W[(t - 16) * 2], W[(t - 16) * 2 + 1], s0h, s0l);
        r = add(r[0], r[1], W[(t - 7) * 2], W[(t - 7) * 2 + 1]);
        r = add(r[0], r[1], s1h, s1l);
        W[t * 2] = r[0]; W[t * 2 + 1] = r[1];
      }
      const v = H.slice();
      for (let t = 0; t < 80; t++) {
        const [ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl] = v;
        const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
        const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
        const chh = (eh & fh) ^ (~eh & gh), chl = (el & fl) ^ (~el & gl);
        let t1 = add(hh, hl, S1h, S1l);
        t1 = add(t1[0], t1[1], chh, chl);
        t1 = add(t1[0], t1[1], K512[t * 2], K512[t * 2 + 1]);
        t1 = add(t1[0], t1[1], W[t * 2], W[t * 2 + 1]);
        const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
        const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
        const mjh = (ah & bh) ^ (ah & ch) ^ (bh & ch), mjl = (al & bl) ^ (al & cl) ^ (bl & cl);
        const t2 = add(S0h, S0l, mjh, mjl);
        const ne = add(dh, dl, t1[0], t1[1]);
        const na = add(t1[0], t1[1], t2[0], t2[1]);
        v[14] = gh; v[15] = gl; v[12] = fh; v[13] = fl; v[10] = eh; v[11] = el; v[8] = ne[0]; v[9] = ne[1];
        v[6] = ch; v[7] = cl; v[4] = bh; v[5] = bl; v[2] = ah; v[3] = al; v[0] = na[0]; v[1] = na[1];
      }
      for (let i = 0; i < 16; i += 2) { const r = add(H[i], H[i + 1], v[i], v[i + 1]); H[i] = r[0]; H[i + 1] = r[1]; }
    }
    const out = new Uint8Array(is384 ? 48 : 64);
    const odv = new DataView(out.buffer);
    for (let i = 0; i < out.length / 4; i++) odv.setInt32(i * 4, H[i]);
    return out;
  }
  const HASHES = {
    md5: [md5, 64], sha1: [sha1, 64], sha224: [(b) => sha256(b, true), 64], sha256: [sha256, 64],
    sha384: [(b) => sha512(b, true), 128], sha512: [sha512, 128],
  };
  function hashAlg(name) {
    const n = StringC(name).toLowerCase().replace(/^rsa-/, '').replace('-', '');
    const h = HASHES[n];
    if (!h) throw new ErrorC(`Digest method not supported: ${name}. Supported: md5, sha1, sha224, sha256, sha384, sha512`);
    return h;
  }
  function hmac(alg, key, data) {
    const [fn, block] = hashAlg(alg);
    let k = key;
    if (k.length > block) k = fn(k);
    const kp = new Uint8Array(block); kp.set(k);
    const ipad = new Uint8Array(block + data.length), opadKey = new Uint8Array(block);
    for (let i = 0; i < block; i++) { ipad[i] = kp[i] ^ 0x36; opadKey[i] = kp[i] ^ 0x5c; }
    ipad.set(data, block);
    const inner = fn(ipad);
    const outer = new Uint8Array(block + inner.length); outer.set(opadKey); outer.set(inner, block);
    return fn(outer);
  }
  function concatBytes(chunks) {
    const n = chunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(n);
    let p = 0;
    for (const c of chunks) { out.set(c, p); p += c.length; }
    return out;
  }
  function digestOut(bytes, enc) { const b = toBuffer(bytes); return enc === undefined ? b : b.toString(enc); }
  class Hash {
    constructor(alg) { this._alg = hashAlg(alg); this._chunks = []; this._done = false; }
    update(data, enc) {
      if (this._done) throw new ErrorC('Digest already called');
      this._chunks.push(typeof data === 'string' ? encodeString(data, enc) : toBytes(data));
      return this;
    }
    digest(enc) { this._done = true; return digestOut(this._alg[0](concatBytes(this._chunks)), enc); }
    copy() { const h = new Hash('md5'); h._alg = this._alg; h._chunks = this._chunks.slice(); return h; }
  }
  class Hmac {
    constructor(alg, key) {
      hashAlg(alg);
      this._algName = alg;
      this._key = typeof key === 'string' ? utf8Encode(key) : (key && key._raw) ? key._raw : toBytes(key, 'The key');
      this._chunks = []; this._done = false;
    }
    update(data, enc) {
      if (this._done) throw new ErrorC('Digest already called');
      this._chunks.push(typeof data === 'string' ? encodeString(data, enc) : toBytes(data));
      return this;
    }
    digest(enc) { this._done = true; return digestOut(hmac(this._algName, this._key, concatBytes(this._chunks)), enc); }
  }

  // Randomness: a SHA-256 counter-mode generator seeded by the host with fresh OS entropy for
  // every execution (V8's Math.random is not meant for secrets).
  const rng = { seed: new Uint8Array(32), counter: 0, buf: new Uint8Array(0), pos: 0 };
  function reseed(hex) { rng.seed = hexDecode(hex); rng.counter = 0; rng.buf = new Uint8Array(0); rng.pos = 0; }
  function randomFill(view) {
    const out = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const input = new Uint8Array(40);
    for (let i = 0; i < out.length; i++) {
      if (rng.pos >= rng.buf.length) {
        input.set(rng.seed);
        new DataView(input.buffer).setFloat64(32, ++rng.counter);
        rng.buf = sha256(input); rng.pos = 0;
      }
      out[i] = rng.buf[rng.pos++];
    }
    return view;
  }
  function randomUUID() {
    const b = randomFill(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = hexEncode(b);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function getRandomValues(view) {
    if (!ArrayBuffer.isView(view) || view instanceof Float32Array || view instanceof Float64Array || view instanceof DataView) {
      throw new TypeError("Failed to execute 'getRandomValues': parameter 1 is not an integer typed array");
    }
    if (view.byteLength > 65536) throw new DOMException('The ArrayBufferView byte length exceeds 65536', 'QuotaExceededError');
    return randomFill(view);
  }
  function subtleHashName(alg) {
    const n = typeof alg === 'string' ? alg : alg && alg.name;
    const map = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
    const r = map[StringC(n).toUpperCase()];
    if (!r) throw new DOMException(`Unrecognized algorithm name: ${n}`, 'NotSupportedError');
    return r;
  }
  class CryptoKey {
    constructor(raw, hash, extractable, usages) {
      this._raw = raw; this.type = 'secret'; this.extractable = !!extractable;
      this.algorithm = { name: 'HMAC', hash: { name: hash }, length: raw.length * 8 }; this.usages = usages || [];
    }
  }
  const subtle = {
    async digest(alg, data) { const [fn] = hashAlg(subtleHashName(alg)); return fn(toBytes(data)).buffer; },
    async importKey(format, keyData, alg, extractable, usages) {
      const name = typeof alg === 'string' ? alg : alg && alg.name;
      if (format !== 'raw' || StringC(name).toUpperCase() !== 'HMAC') {
        throw new DOMException('Only raw HMAC keys are supported here', 'NotSupportedError');
      }
      const hash = alg.hash;
      subtleHashName(hash);
      return new CryptoKey(new Uint8Array(toBytes(keyData)), typeof hash === 'string' ? hash : hash.name, extractable, usages);
    },
    async sign(alg, key, data) {
      if (!(key instanceof CryptoKey)) throw new TypeError('key is not a CryptoKey');
      return hmac(subtleHashName(key.algorithm.hash), key._raw, toBytes(data)).buffer;
    },
    async verify(alg, key, signature, data) {
      const mac = new Uint8Array(await subtle.sign(alg, key, data));
      const sig = toBytes(signature);
      return mac.length === sig.length && mac.every((v, i) => v === sig[i]);
    },
    async exportKey(format, key) {
      if (format !== 'raw' || !key.extractable) throw new DOMException('The key is not extractable', 'InvalidAccessError');
      return key._raw.slice().buffer;
    },
  };
  const webcrypto = { getRandomValues, randomUUID, subtle };

  const cryptoModule = {
    createHash: (alg) => new Hash(alg),
    createHmac: (alg, key) => new Hmac(alg, key),
    randomBytes(size, cb) {
      const b = randomFill(Buffer.alloc(checkSize(size)));
      if (typeof cb === 'function') { PromiseC.resolve().then(() => cb(null, b)); return undefined; }
      return b;
    },
    randomUUID,
    randomInt(min, max) {
      if (max === undefined) { max = min; min = 0; }
      const range = max - min;
      if (!(range > 0)) throw new RangeError('The value of "max" must be greater than "min"');
      const v = randomFill(new Uint32Array(2));
      return min + Math.floor(((v[0] * 0x100000000 + v[1]) / 2 ** 64) * range);
    },
    getRandomValues,
    timingSafeEqual(a, b) {
      const x = toBytes(a), y = toBytes(b);
      if (x.length !== y.length) throw new RangeError('Input buffers must have the same byte length');
      let d = 0;
      for (let i = 0; i < x.length; i++) d |= x[i] ^ y[i];
      return d === 0;
    },
    getHashes: () => Object.keys(HASHES),
    webcrypto,
    subtle,
  };

  // ------------------------------------------------------------------ util.format / inspect
  function inspect(value, opts) {
    const depthMax = opts && opts.depth !== undefined ? opts.depth : 2;
    const seen = [];
    function fmt(v, depth) {
      switch (typeof v) {
        case 'string': return depth === 0 ? v : `'${v.length > 10000 ? v.slice(0, 10000) + '...' : v}'`;
        case 'number': return Object.is(v, -0) ? '-0' : StringC(v);
        case 'bigint': return `${v}n`;
        case 'undefined': return 'undefined';
        case 'boolean': return StringC(v);
        case 'symbol': return v.toString();
        case 'function': return `[Function: ${v.name || '(anonymous)'}]`;
      }
      if (v === null) return 'null';
      if (seen.includes(v)) return '[Circular *1]';
      if (v instanceof ErrorC) return v.stack ? cleanStack(v) : `${v.name}: ${v.message}`;
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
      if (v instanceof RegExp) return v.toString();
      if (v instanceof Buffer) return `<Buffer ${hexEncode(v.subarray(0, 50)).replace(/(..)(?!$)/g, '$1 ')}${v.length > 50 ? ` ... ${v.length - 50} more bytes` : ''}>`;
      if (depth > depthMax) return Array.isArray(v) ? '[Array]' : '[Object]';
      seen.push(v);
      try {
        if (Array.isArray(v) || ArrayBuffer.isView(v)) {
          const items = [];
          const n = Math.min(v.length, 100);
          for (let i = 0; i < n; i++) items.push(fmt(v[i], depth + 1));
          if (v.length > 100) items.push(`... ${v.length - 100} more items`);
          const prefix = Array.isArray(v) ? '' : `${v.constructor.name}(${v.length}) `;
          return `${prefix}[ ${items.join(', ')} ]`.replace('[  ]', '[]');
        }
        if (v instanceof Map) return `Map(${v.size}) { ${[...v].slice(0, 100).map(([k, x]) => `${fmt(k, depth + 1)} => ${fmt(x, depth + 1)}`).join(', ')} }`;
        if (v instanceof Set) return `Set(${v.size}) { ${[...v].slice(0, 100).map((x) => fmt(x, depth + 1)).join(', ')} }`;
        if (v instanceof PromiseC) return 'Promise { <pending> }';
        const keys = Object.keys(v);
        const parts = keys.slice(0, 100).map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : `'${k}'`}: ${fmt(v[k], depth + 1)}`);
        if (keys.length > 100) parts.push(`... ${keys.length - 100} more items`);
        const name = v.constructor && v.constructor !== Object && typeof v.constructor.name === 'string' ? `${v.constructor.name} ` : '';
        return parts.length ? `${name}{ ${parts.join(', ')} }` : `${name}{}`;
      } finally {
        seen.pop();
      }
    }
    return fmt(value, 0);
  }
  function format(...args) {
    let out = '';
    let i = 0;
    if (typeof args[0] === 'string') {
      const f = args[0];
      i = 1;
      let last = 0;
      for (let p = 0; p < f.length - 1; p++) {
        if (f.charCodeAt(p) !== 37) continue;
        const c = f[p + 1];
        let rep;
        if (c === '%') { rep = '%'; }
        else if (i < args.length && 'sdifjoOc'.includes(c)) {
          const a = args[i++];
          if (c === 's') rep = typeof a === 'string' ? a : (typeof a === 'object' && a !== null ? inspect(a, { depth: 1 }) : StringC(a));
          else if (c === 'd' || c === 'i') rep = typeof a === 'object' ? 'NaN' : StringC(c === 'i' ? parseInt(a, 10) : Number(a));
          else if (c === 'f') rep = StringC(parseFloat(a));
          else if (c === 'j') { try { rep = jsonStringify(a); } catch (e) { rep = '[Circular]'; } }
          else if (c === 'c') rep = '';
          else rep = inspect(a, { depth: c === 'o' ? 4 : 2 });
        } else continue;
        out += f.slice(last, p) + rep;
        last = p + 2;
        p++;
      }
      out += f.slice(last);
    }
    for (; i < args.length; i++) {
      const a = args[i];
      out += (out.length || i > 0 ? ' ' : '') + (typeof a === 'string' ? a : inspect(a));
    }
    return out;
  }
  function promisify(fn) {
    return (...args) => new PromiseC((resolve, reject) => fn(...args, (err, val) => (err ? reject(err) : resolve(val))));
  }
  const utilModule = {
    format, inspect, promisify,
    inherits(ctor, superCtor) { Object.setPrototypeOf(ctor.prototype, superCtor.prototype); Object.setPrototypeOf(ctor, superCtor); },
    deprecate: (fn) => fn,
    isDeepStrictEqual: (a, b) => { try { return jsonStringify(a) === jsonStringify(b); } catch (e) { return false; } },
    types: { isPromise: (v) => v instanceof PromiseC, isDate: (v) => v instanceof Date, isRegExp: (v) => v instanceof RegExp },
    TextEncoder, TextDecoder,
  };

  // ------------------------------------------------------------------ console
  function makeConsole() {
    const log = (level) => function (...args) {
      const ex = EX;
      if (!ex || ex.logsTruncated) return;
      let message;
      try { message = format(...args); } catch (e) { message = '[unprintable value]'; }
      const cost = utf8Length(message) + 32;
      if (ex.logBytes + cost > ex.limits.max_log_bytes) {
        const room = ex.limits.max_log_bytes - ex.logBytes - 32;
        if (room > 0) ex.logs.push({ level, message: message.slice(0, Math.floor(room / 3)), t_ms: dateNow() - ex.t0 });
        ex.logsTruncated = true;
        ex.logBytes = ex.limits.max_log_bytes;
        return;
      }
      ex.logBytes += cost;
      ex.logs.push({ level, message, t_ms: dateNow() - ex.t0 });
    };
    const c = {
      log: log('log'), info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug'),
      trace: log('debug'), dir: log('log'),
    };
    const timers = new Map();
    c.time = (label = 'default') => { timers.set(label, dateNow()); };
    c.timeEnd = (label = 'default') => { const t = timers.get(label); timers.delete(label); if (t !== undefined) c.log(`${label}: ${dateNow() - t}ms`); };
    c.timeLog = (label = 'default', ...rest) => { const t = timers.get(label); if (t !== undefined) c.log(`${label}: ${dateNow() - t}ms`, ...rest); };
    c.assert = (cond, ...rest) => { if (!cond) c.error('Assertion failed' + (rest.length ? ': ' + format(...rest) : '')); };
    c.table = c.log;
    c.group = c.log; c.groupEnd = () => {}; c.count = (l = 'default') => c.log(`${l}: 1`);
    return c;
  }

  // ------------------------------------------------------------------ timers
  // Node returns Timeout objects (with unref() and friends) that also work as numbers.
  class Timeout {
    constructor(id) { this.id = id; }
    ref() { return this; }
    unref() { return this; }
    hasRef() { return true; }
    refresh() { return this; }
    [Symbol.toPrimitive]() { return this.id; }
  }
  function setTimeoutImpl(repeat) {
    return function (fn, ms, ...args) {
      const ex = EX;
      const id = ++timerSeq;
      if (!ex) return new Timeout(id);
      if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
      if (ex.timers.size >= 1000) throw new RangeError('Too many pending timers (at most 1000)');
      ex.timers.add(id);
      let delay = Number(ms);
      delay = Number.isFinite(delay) && delay >= 1 ? Math.min(delay, 2147483647) : 1;
      const arm = () => {
        const view = new Int32ArrayC(new SAB(4));
        waitAsync(view, 0, 0, delay).value.then(() => {
          if (EX !== ex || !ex.timers.has(id)) return;
          if (!repeat) ex.timers.delete(id);
          try { fn(...args); } catch (e) { failExecution(ex, e); return; }
          if (repeat && EX === ex && ex.timers.has(id)) arm();
        });
      };
      arm();
      return new Timeout(id);
    };
  }
  function clearTimer(t) {
    if (EX && t !== undefined && t !== null) EX.timers.delete(t instanceof Timeout ? t.id : Number(t));
  }

  // ------------------------------------------------------------------ AbortController / events
  class Event {
    constructor(type) { this.type = StringC(type); this.defaultPrevented = false; }
    preventDefault() { this.defaultPrevented = true; }
  }
  class EventTarget {
    constructor() { ObjectDefineProperty(this, '_listeners', { value: new Map() }); }
    addEventListener(type, fn, opts) {
      if (typeof fn !== 'function') return;
      const list = this._listeners.get(type) || [];
      list.push({ fn, once: !!(opts && opts.once) });
      this._listeners.set(type, list);
    }
    removeEventListener(type, fn) {
      const list = this._listeners.get(type);
      if (list) this._listeners.set(type, list.filter((l) => l.fn !== fn));
    }
    dispatchEvent(event) {
      const list = (this._listeners.get(event.type) || []).slice();
      const handler = this[`on${event.type}`];
      if (typeof handler === 'function') handler.call(this, event);
      for (const l of list) {
        if (l.once) this.removeEventListener(event.type, l.fn);
        l.fn.call(this, event);
      }
      return !event.defaultPrevented;
    }
  }
  class AbortSignal extends EventTarget {
    constructor() { super(); this.aborted = false; this.reason = undefined; this.onabort = null; }
    throwIfAborted() { if (this.aborted) throw this.reason; }
    static abort(reason) { const c = new AbortController(); c.abort(reason); return c.signal; }
    static timeout(ms) {
      const c = new AbortController();
      setTimeoutImpl(false)(() => c.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
      return c.signal;
    }
    static any(signals) {
      const c = new AbortController();
      for (const s of signals) {
        if (s.aborted) { c.abort(s.reason); break; }
        s.addEventListener('abort', () => c.abort(s.reason), { once: true });
      }
      return c.signal;
    }
  }
  class AbortController {
    constructor() { this.signal = new AbortSignal(); }
    abort(reason) {
      const s = this.signal;
      if (s.aborted) return;
      s.aborted = true;
      s.reason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
      s.dispatchEvent(new Event('abort'));
    }
  }

  // ------------------------------------------------------------------ structuredClone
  function structuredClone(value) {
    const memo = new Map();
    function clone(v) {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol')) return v;
      if (typeof v === 'function' || typeof v === 'symbol') throw new DOMException(`${StringC(v)} could not be cloned.`, 'DataCloneError');
      if (memo.has(v)) return memo.get(v);
      let out;
      if (v instanceof Date) out = new Date(v.getTime());
      else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
      else if (v instanceof ArrayBuffer) out = v.slice(0);
      else if (ArrayBuffer.isView(v)) { const C = v instanceof Buffer ? Uint8Array : v.constructor; out = new C(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)); }
      else if (v instanceof Map) { out = new Map(); memo.set(v, out); for (const [k, x] of v) out.set(clone(k), clone(x)); return out; }
      else if (v instanceof Set) { out = new Set(); memo.set(v, out); for (const x of v) out.add(clone(x)); return out; }
      else if (v instanceof ErrorC) { out = new ErrorC(v.message); out.name = v.name; if (v.stack) out.stack = v.stack; }
      else if (v instanceof PromiseC || v instanceof WeakMap || v instanceof WeakSet) throw new DOMException('#<Object> could not be cloned.', 'DataCloneError');
      else if (Array.isArray(v)) { out = []; memo.set(v, out); for (let i = 0; i < v.length; i++) out[i] = clone(v[i]); return out; }
      else { out = {}; memo.set(v, out); for (const k of Object.keys(v)) out[k] = clone(v[k]); return out; }
      memo.set(v, out);
      return out;
    }
    return clone(value);
  }

  // ------------------------------------------------------------------ URL / URLSearchParams
  const SPECIAL = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443', 'ftp:': '21', 'file:': '' };
  function pctEncode(str, keep) {
    let out = '';
    for (const ch of str) {
      const c = ch.codePointAt(0);
      if (c > 0x20 && c < 0x7f && !keep.includes(ch)) out += ch;
      else if (ch === '%') out += ch;
      else out += [...utf8Encode(ch)].map((b) => '%' + HEX[b].toUpperCase()).join('');
    }
    return out;
  }
  const PATH_ENC = ' "#<>?`{}';
  const QUERY_ENC = ' "#<>';
  const FRAG_ENC = ' "<>`';
  const USER_ENC = ' "#<>?`{}/:;=@[\\]^|';
  function normalizePath(path, special) {
    const segs = path.split('/');
    const out = [];
    for (let i = 1; i < segs.length; i++) {
      const s = segs[i];
      const low = s.toLowerCase();
      if (s === '.' || low === '%2e') { if (i === segs.length - 1) out.push(''); continue; }
      if (s === '..' || ['.%2e', '%2e.', '%2e%2e'].includes(low)) { out.pop(); if (i === segs.length - 1) out.push(''); continue; }
      out.push(pctEncode(s, PATH_ENC));
    }
    return '/' + out.join('/');
  }
  function parseHost(host, special) {
    if (host.startsWith('[')) {
      if (!host.endsWith(']') || !/^\[[0-9a-fA-F:.]+\]$/.test(host)) throw new TypeError('Invalid URL');
      return host.toLowerCase();
    }
    let h;
    try { h = decodeURIComponent(host); } catch (e) { throw new TypeError('Invalid URL'); }
    if (!special) return pctEncode(host, ' #/<>?@[\\]^|');
    h = h.toLowerCase();
    if (!h || /[\x00-\x20#%/:<>?@[\\\]^|]/.test(h)) throw new TypeError('Invalid URL');
    // IPv4 in decimal/hex shorthand: normalise the common dotted-decimal form only.
    return h;
  }
  class URL {
    constructor(input, base) {
      input = StringC(input).replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '').replace(/[\t\n\r]/g, '');
      const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s.exec(input);
      if (m) {
        this._parseAbsolute(m[1].toLowerCase() + ':', m[2]);
      } else {
        if (base === undefined) throw new TypeError(`Invalid URL: ${input}`);
        const b = base instanceof URL ? base : new URL(base);
        this._resolve(b, input);
      }
    }
    _parseAbsolute(protocol, rest) {
      this._protocol = protocol;
      const special = protocol in SPECIAL;
      this._username = ''; this._password = ''; this._hostname = ''; this._port = '';
      this._search = ''; this._hash = '';
      let s = special ? rest.replace(/\\/g, '/') : rest;
      const hashAt = s.indexOf('#');
      if (hashAt >= 0) { this._hash = '#' + pctEncode(s.slice(hashAt + 1), FRAG_ENC); s = s.slice(0, hashAt); }
      const qAt = s.indexOf('?');
      if (qAt >= 0) { this._search = '?' + pctEncode(s.slice(qAt + 1), special ? QUERY_ENC + "'" : QUERY_ENC); s = s.slice(0, qAt); }
      if (special || s.startsWith('//')) {
        s = s.replace(/^\/*/, special ? '' : '');
        if (!special) s = s.slice(2);
        const slash = s.indexOf('/');
        let auth = slash >= 0 ? s.slice(0, slash) : s;
        s = slash >= 0 ? s.slice(slash) : '';
        const at = auth.lastIndexOf('@');
        if (at >= 0) {
          const cred = auth.slice(0, at);
          auth = auth.slice(at + 1);
          const colon = cred.indexOf(':');
          this._username = pctEncode(colon >= 0 ? cred.slice(0, colon) : cred, USER_ENC);
          this._password = colon >= 0 ? pctEncode(cred.slice(colon + 1), USER_ENC) : '';
        }
        const pm = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(auth);
        if (!pm) throw new TypeError('Invalid URL');
        this._hostname = parseHost(pm[1], special);
        if (special && protocol !== 'file:' && !this._hostname) throw new TypeError('Invalid URL');
        const port = pm[2] || '';
        if (port && (Number(port) > 65535)) throw new TypeError('Invalid URL');
        this._port = port === '' || (special && StringC(Number(port)) === SPECIAL[protocol]) ? '' : StringC(Number(port));
        this._pathname = special ? normalizePath(s || '/') : s;
        this._opaque = false;
      } else {
        this._pathname = s.startsWith('/') ? normalizePath(s) : pctEncode(s, '');
        this._opaque = !s.startsWith('/');
      }
    }
    _resolve(b, input) {
      const special = b._protocol in SPECIAL;
      const s = special ? input.replace(/\\/g, '/') : input;
      if (s.startsWith('//')) { this._parseAbsolute(b._protocol, s); return; }
      this._protocol = b._protocol; this._username = b._username; this._password = b._password;
      this._hostname = b._hostname; this._port = b._port; this._opaque = false;
      let rest = s, hash = '', search = null;
      const hashAt = rest.indexOf('#');
      if (hashAt >= 0) { hash = '#' + pctEncode(rest.slice(hashAt + 1), FRAG_ENC); rest = rest.slice(0, hashAt); }
      const qAt = rest.indexOf('?');
      if (qAt >= 0) { search = '?' + pctEncode(rest.slice(qAt + 1), QUERY_ENC); rest = rest.slice(0, qAt); }
      if (rest === '') {
        this._pathname = b._pathname;
        this._search = search !== null ? search : b._search;
      } else if (rest.startsWith('/')) {
        this._pathname = normalizePath(rest); this._search = search || '';
      } else {
        const dir = b._pathname.slice(0, b._pathname.lastIndexOf('/') + 1);
        this._pathname = normalizePath(dir + rest); this._search = search || '';
      }
      this._hash = hash;
      if (this._search === '?') this._search = '';
    }
    get protocol() { return this._protocol; }
    set protocol(v) { const p = StringC(v).replace(/:.*$/, '').toLowerCase() + ':'; if ((p in SPECIAL) === (this._protocol in SPECIAL)) this._protocol = p; }
    get username() { return this._username; }
    set username(v) { this._username = pctEncode(StringC(v), USER_ENC); }
    get password() { return this._password; }
    set password(v) { this._password = pctEncode(StringC(v), USER_ENC); }
    get hostname() { return this._hostname; }
    set hostname(v) { this._hostname = parseHost(StringC(v), this._protocol in SPECIAL); }
    get port() { return this._port; }
    set port(v) { const p = StringC(v); this._port = p === '' || p === SPECIAL[this._protocol] ? '' : StringC(parseInt(p, 10)); }
    get host() { return this._hostname + (this._port ? ':' + this._port : ''); }
    set host(v) { const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(StringC(v)); if (m) { this.hostname = m[1]; if (m[2] !== undefined) this.port = m[2]; } }
    get origin() { return this._protocol in SPECIAL && this._protocol !== 'file:' ? `${this._protocol}//${this.host}` : 'null'; }
    get pathname() { return this._pathname; }
    set pathname(v) { if (!this._opaque) { const p = StringC(v); this._pathname = normalizePath(p.startsWith('/') ? p : '/' + p); } }
    get search() { return this._search.length > 1 ? this._search : ''; }
    set search(v) {
      const s = StringC(v).replace(/^\?/, '');
      this._search = s ? '?' + pctEncode(s, QUERY_ENC) : '';
      if (this._sp) this._sp._reset(s);
    }
    get searchParams() {
      if (!this._sp) {
        this._sp = new URLSearchParams(this.search);
        this._sp._url = this;
      }
      return this._sp;
    }
    get hash() { return this._hash.length > 1 ? this._hash : ''; }
    set hash(v) { const s = StringC(v).replace(/^#/, ''); this._hash = s ? '#' + pctEncode(s, FRAG_ENC) : ''; }
    get href() {
      const cred = this._username || this._password ? `${this._username}${this._password ? ':' + this._password : ''}@` : '';
      const auth = this._opaque ? '' : `//${cred}${this.host}`;
      return `${this._protocol}${auth}${this._pathname}${this.search}${this.hash}`;
    }
    set href(v) { const u = new URL(v); Object.assign(this, u); this._sp = undefined; }
    toString() { return this.href; }
    toJSON() { return this.href; }
    static canParse(url, base) { try { new URL(url, base); return true; } catch (e) { return false; } }
    static parse(url, base) { try { return new URL(url, base); } catch (e) { return null; } }
  }
  function formEncode(s) {
    let out = '';
    for (const b of utf8Encode(s)) {
      if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2a || b === 0x2d || b === 0x2e || b === 0x5f) out += StringC.fromCharCode(b);
      else if (b === 0x20) out += '+';
      else out += '%' + HEX[b].toUpperCase();
    }
    return out;
  }
  function formDecode(s) {
    const bytes = [];
    const str = s.replace(/\+/g, ' ');
    for (let i = 0; i < str.length; i++) {
      const c = str[i];
      if (c === '%' && /^[0-9a-fA-F]{2}$/.test(str.substr(i + 1, 2))) { bytes.push(parseInt(str.substr(i + 1, 2), 16)); i += 2; }
      else bytes.push(...utf8Encode(c));
    }
    return utf8Decode(Uint8Array.from(bytes), false);
  }
  class URLSearchParams {
    constructor(init) {
      this._list = [];
      if (init === undefined || init === null) return;
      if (init instanceof URLSearchParams) { this._list = init._list.map((p) => p.slice()); return; }
      if (typeof init === 'object') {
        if (typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) {
            const arr = [...pair];
            if (arr.length !== 2) throw new TypeError('Each query pair must be an iterable [name, value] tuple');
            this._list.push([StringC(arr[0]), StringC(arr[1])]);
          }
        } else {
          for (const k of Object.keys(init)) this._list.push([k, StringC(init[k])]);
        }
        return;
      }
      this._reset(StringC(init));
    }
    _reset(s) {
      this._list = [];
      s = s.replace(/^\?/, '');
      for (const part of s.split('&')) {
        if (!part) continue;
        const eq = part.indexOf('=');
        this._list.push(eq >= 0 ? [formDecode(part.slice(0, eq)), formDecode(part.slice(eq + 1))] : [formDecode(part), '']);
      }
    }
    _update() { if (this._url) { const s = this.toString(); this._url._search = s ? '?' + s : ''; } }
    get size() { return this._list.length; }
    append(k, v) { this._list.push([StringC(k), StringC(v)]); this._update(); }
    delete(k, v) { k = StringC(k); this._list = this._list.filter((p) => p[0] !== k || (v !== undefined && p[1] !== StringC(v))); this._update(); }
    get(k) { k = StringC(k); const p = this._list.find((x) => x[0] === k); return p ? p[1] : null; }
    getAll(k) { k = StringC(k); return this._list.filter((x) => x[0] === k).map((x) => x[1]); }
    has(k, v) { k = StringC(k); return this._list.some((x) => x[0] === k && (v === undefined || x[1] === StringC(v))); }
    set(k, v) {
      k = StringC(k); v = StringC(v);
      const i = this._list.findIndex((x) => x[0] === k);
      if (i < 0) this._list.push([k, v]);
      else { this._list[i][1] = v; this._list = this._list.filter((x, j) => j <= i || x[0] !== k); }
      this._update();
    }
    sort() { this._list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this._update(); }
    forEach(fn, thisArg) { for (const [k, v] of this._list) fn.call(thisArg, v, k, this); }
    keys() { return this._list.map((p) => p[0])[Symbol.iterator](); }
    values() { return this._list.map((p) => p[1])[Symbol.iterator](); }
    entries() { return this._list.map((p) => [p[0], p[1]])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join('&'); }
  }

  const querystringModule = {
    stringify(obj, sep = '&', eq = '=') {
      if (!obj || typeof obj !== 'object') return '';
      const enc = (x) => encodeURIComponent(typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' || typeof x === 'bigint' ? StringC(x) : '');
      return Object.keys(obj).map((k) => {
        const v = obj[k];
        if (Array.isArray(v)) return v.map((x) => enc(k) + eq + enc(x)).join(sep);
        return enc(k) + eq + enc(v);
      }).filter(Boolean).join(sep);
    },
    parse(str, sep = '&', eq = '=') {
      const out = Object.create(null);
      if (typeof str !== 'string' || !str) return out;
      for (const part of str.split(sep)) {
        if (!part) continue;
        const i = part.indexOf(eq);
        const k = formDecode(i >= 0 ? part.slice(0, i) : part);
        const v = i >= 0 ? formDecode(part.slice(i + eq.length)) : '';
        if (k in out) out[k] = [].concat(out[k], v); else out[k] = v;
      }
      return out;
    },
    escape: (s) => encodeURIComponent(s),
    unescape: (s) => { try { return decodeURIComponent(s); } catch (e) { return formDecode(s); } },
  };
  querystringModule.encode = querystringModule.stringify;
  querystringModule.decode = querystringModule.parse;

  const urlModule = {
    URL, URLSearchParams,
    parse(str, parseQuery) {
      const u = new URL(str);
      const search = u.search;
      return {
        protocol: u.protocol, slashes: true, auth: u.username ? decodeURIComponent(u.username) + (u.password ? ':' + decodeURIComponent(u.password) : '') : null,
        host: u.host, port: u.port || null, hostname: u.hostname, hash: u.hash || null, search: search || null,
        query: parseQuery ? querystringModule.parse(search.slice(1)) : (search.slice(1) || null),
        pathname: u.pathname, path: u.pathname + search, href: u.href,
      };
    },
    format(obj) {
      if (obj instanceof URL) return obj.href;
      if (typeof obj === 'string') return obj;
      const proto = obj.protocol ? obj.protocol.replace(/:?$/, ':') : '';
      const host = obj.host || ((obj.hostname || '') + (obj.port ? ':' + obj.port : ''));
      let search = obj.search || '';
      if (!search && obj.query && typeof obj.query === 'object') { const q = querystringModule.stringify(obj.query); search = q ? '?' + q : ''; }
      return `${proto}${host ? '//' + (obj.auth ? obj.auth + '@' : '') + host : ''}${obj.pathname || ''}${search}${obj.hash || ''}`;
    },
    resolve: (from, to) => new URL(to, new URL(from, 'resolve://')).href.replace(/^resolve:\/\//, ''),
  };

  // ------------------------------------------------------------------ Headers / Request / Response / fetch
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  class Headers {
    constructor(init) {
      ObjectDefineProperty(this, '_map', { value: new Map() });
      if (init === undefined || init === null) return;
      if (init instanceof Headers) { for (const [k, v] of init._map) this._map.set(k, v.slice()); return; }
      if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) { const a = [...pair]; if (a.length !== 2) throw new TypeError('Header pairs must be [name, value]'); this.append(a[0], a[1]); }
      } else if (typeof init === 'object') {
        for (const k of Object.keys(init)) this.append(k, init[k]);
      }
    }
    _name(n) {
      n = StringC(n);
      if (!TOKEN.test(n)) throw new TypeError(`Invalid header name: "${n}"`);
      return n.toLowerCase();
    }
    _value(v) {
      v = StringC(v).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
      if (/[\0\r\n]/.test(v)) throw new TypeError('Invalid header value');
      return v;
    }
    append(n, v) { const k = this._name(n); const list = this._map.get(k) || []; list.push(this._value(v)); this._map.set(k, list); }
    set(n, v) { this._map.set(this._name(n), [this._value(v)]); }
    get(n) { const l = this._map.get(this._name(n)); return l ? (this._name(n) === 'set-cookie' ? l.join(', ') : l.join(', ')) : null; }
    getSetCookie() { return (this._map.get('set-cookie') || []).slice(); }
    has(n) { return this._map.has(this._name(n)); }
    delete(n) { this._map.delete(this._name(n)); }
    forEach(fn, thisArg) { for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this); }
    *entries() { for (const k of [...this._map.keys()].sort()) yield [k, this._map.get(k).join(', ')]; }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    _pairs() { const out = []; for (const [k, list] of this._map) for (const v of list) out.push([k, v]); return out; }
  }

  function extractBody(body, headers) {
    if (body === undefined || body === null) return null;
    if (typeof body === 'string') {
      if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      return body;
    }
    if (body instanceof URLSearchParams) {
      if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      return body.toString();
    }
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return new Uint8Array(toBytes(body));
    if (typeof body === 'object' && typeof body.then === 'function') throw new TypeError('The body must not be a Promise');
    if (typeof body === 'object' && body.constructor && body.constructor.name === 'FormData') {
      throw new TypeError('FormData bodies are not supported here; send URLSearchParams or JSON instead');
    }
    if (typeof body === 'object' && typeof body.getReader === 'function') {
      throw new TypeError('Stream bodies are not supported here; pass a string, URLSearchParams or bytes');
    }
    const s = StringC(body);
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    return s;
  }
  class Body {
    _initBody(body) { this._body = body; this.bodyUsed = false; }
    _consume() {
      if (this.bodyUsed) return PromiseC.reject(new TypeError('Body is unusable: Body has already been read'));
      this.bodyUsed = true;
      return PromiseC.resolve(this._body);
    }
    get body() { return this._body === null ? null : {}; }
    async text() {
      const b = await this._consume();
      if (b === null) return '';
      return typeof b === 'string' ? b : utf8Decode(b, false);
    }
    async json() {
      const t = await this.text();
      try { return jsonParse(t); } catch (e) {
        throw new SyntaxError(`${e.message}${t.length ? '' : ' (the body is empty)'}`);
      }
    }
    async arrayBuffer() {
      const b = await this._consume();
      if (b === null) return new ArrayBuffer(0);
      const bytes = typeof b === 'string' ? utf8Encode(b) : b;
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
    async bytes() { return new Uint8Array(await this.arrayBuffer()); }
    async blob() { throw new TypeError('Blob is not supported here; use arrayBuffer() or text()'); }
    async formData() { throw new TypeError('formData() is not supported here; use text() with URLSearchParams'); }
  }
  const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'];
  class Request extends Body {
    constructor(input, init = {}) {
      super();
      init = init || {};
      let src = null;
      if (input instanceof Request) src = input;
      const urlStr = src ? src.url : (input instanceof URL ? input.href : StringC(input));
      let url;
      try { url = new URL(urlStr); } catch (e) { throw new TypeError(`Failed to parse URL from ${urlStr}`); }
      if (url.username || url.password) throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${urlStr}`);
      this.url = url.href;
      let method = init.method !== undefined ? StringC(init.method) : (src ? src.method : 'GET');
      if (METHODS.includes(method.toUpperCase())) method = method.toUpperCase();
      if (!TOKEN.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method.`);
      this.method = method;
      this.headers = new Headers(init.headers !== undefined ? init.headers : (src ? src.headers : undefined));
      this.redirect = init.redirect || (src ? src.redirect : 'follow');
      this.signal = init.signal || (src ? src.signal : new AbortSignal());
      let body = init.body !== undefined ? init.body : (src ? src._body : null);
      if (body !== null && body !== undefined && (method === 'GET' || method === 'HEAD')) {
        throw new TypeError('Request with GET/HEAD method cannot have body.');
      }
      this._initBody(extractBody(body, this.headers));
      this.credentials = 'same-origin'; this.mode = 'cors'; this.cache = 'default';
      this.keepalive = !!init.keepalive;
    }
    clone() { if (this.bodyUsed) throw new TypeError('Request body is already used'); return new Request(this); }
  }
  const STATUS_TEXT = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 400: 'Bad Request', 401: 'Unauthorized',
    403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };
  class Response extends Body {
    constructor(body = null, init = {}) {
      super();
      init = init || {};
      const status = init.status === undefined ? 200 : Number(init.status);
      if (!(status >= 200 && status <= 599) && !init._host) throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
      this.status = status;
      this.statusText = init.statusText !== undefined ? StringC(init.statusText) : '';
      this.headers = new Headers(init.headers);
      this.type = init._type || 'default';
      this.url = init._url || '';
      this.redirected = !!init._redirected;
      this._initBody(init._host ? body : extractBody(body, this.headers));
    }
    get ok() { return this.status >= 200 && this.status <= 299; }
    clone() {
      if (this.bodyUsed) throw new TypeError('Response body is already used');
      return new Response(this._body, { status: this.status, statusText: this.statusText, headers: this.headers,
        _type: this.type, _url: this.url, _redirected: this.redirected, _host: true });
    }
    static json(data, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      return new Response(jsonStringify(data), { ...init, headers });
    }
    static error() { const r = new Response(null, { status: 0, _host: true }); r.type = 'error'; return r; }
    static redirect(url, status = 302) { return new Response(null, { status, headers: { location: new URL(url).href } }); }
  }

  function fetch(input, init) {
    return new PromiseC((resolve, reject) => {
      const ex = EX;
      if (!ex) { reject(new TypeError('fetch failed: fetch can only be called while the handler runs')); return; }
      const req = new Request(input, init);
      const proto = new URL(req.url).protocol;
      if (proto !== 'http:' && proto !== 'https:') {
        throw new TypeError(`fetch failed: only http and https URLs can be fetched (got ${proto})`);
      }
      if (req.signal && req.signal.aborted) { reject(req.signal.reason); return; }
      if (ex.fetchCount >= ex.limits.max_fetches) {
        ex.limitHit = ex.limitHit || 'fetch_limit';
        reject(new ErrorC(`fetch limit reached: an execution may make at most ${ex.limits.max_fetches} requests`));
        return;
      }
      ex.fetchCount++;
      const id = ++ex.seq;
      const body = req._body;
      const msg = { id, method: req.method, url: req.url, headers: req.headers._pairs(), redirect: req.redirect };
      if (typeof body === 'string') msg.body = body;
      else if (body) msg.body_b64 = base64Encode(body, false);
      ex.pending.set(id, { resolve, reject, url: req.url });
      if (req.signal) {
        req.signal.addEventListener('abort', () => {
          if (ex.pending.delete(id)) { ex.queue.push({ cancel: id }); signal(); reject(req.signal.reason); }
        }, { once: true });
      }
      ex.queue.push(msg);
      signal();
    });
  }

  // ------------------------------------------------------------------ api.cache
  const CACHE_MAX_ENTRIES = 20, CACHE_MAX_KEY = 64, CACHE_MAX_VALUE = 4096, CACHE_MAX_TOTAL = 8192;
  const CACHE_DEFAULT_TTL = 15 * 60 * 1000, CACHE_MAX_TTL = 24 * 60 * 60 * 1000, CACHE_MAX_WRITES = 20;
  function makeCache(ex, entries) {
    const store = new Map();
    for (const k of Object.keys(entries || {})) store.set(k, { value: entries[k].value, expires_at: entries[k].expires_at });
    const live = (now) => { for (const [k, r] of store) if (r.expires_at <= now) store.delete(k); };
    const err = (code) => ({ type: 'error', code });
    const cache = {
      get(key) {
        const r = store.get(StringC(key));
        if (!r || r.expires_at <= dateNow()) return undefined;
        return { value: r.value, expires_at: r.expires_at };
      },
      set(key, value, options) {
        if (EX !== ex) return err('FailedToSetCacheRecord');
        if (ex.cacheWrites >= CACHE_MAX_WRITES) return err('MaxSideEffectsExceeded');
        const k = StringC(key);
        if (!k || utf8Length(k) > CACHE_MAX_KEY) return err('CacheKeySizeExceeded');
        if (typeof value !== 'string') return err('FailedToSetCacheRecord');
        if (utf8Length(value) > CACHE_MAX_VALUE) return err('CacheValueSizeExceeded');
        const now = dateNow();
        let expires = now + CACHE_DEFAULT_TTL;
        const o = options || {};
        if (o.expires_at !== undefined && o.expires_at !== null) {
          const e = Number(o.expires_at);
          if (!Number.isFinite(e)) return err('InvalidExpiry');
          if (e <= now) return err('ItemAlreadyExpired');
          if (e > now + CACHE_MAX_TTL) return err('InvalidExpiry');
          expires = e;
        }
        if (o.ttl !== undefined && o.ttl !== null) {
          const t = Number(o.ttl);
          if (!Number.isFinite(t) || t > CACHE_MAX_TTL) return err('InvalidExpiry');
          if (t <= 0) return err('ItemAlreadyExpired');
          expires = o.expires_at !== undefined && o.expires_at !== null ? Math.min(expires, now + t) : now + t;
        }
        expires = Math.floor(expires);
        live(now);
        const next = new Map(store);
        next.set(k, { value, expires_at: expires });
        if (next.size > CACHE_MAX_ENTRIES) return err('CacheSizeExceeded');
        let total = 0;
        for (const [kk, r] of next) total += utf8Length(kk) + utf8Length(r.value);
        if (total > CACHE_MAX_TOTAL) return err('CacheSizeExceeded');
        store.set(k, { value, expires_at: expires });
        ex.cacheWrites++;
        ex.cacheChanges[k] = { value, expires_at: expires };
        return { type: 'success', record: { value, expires_at: expires } };
      },
      delete(key) {
        if (EX !== ex) return err('FailedToDeleteCacheRecord');
        if (ex.cacheWrites >= CACHE_MAX_WRITES) return err('MaxSideEffectsExceeded');
        const k = StringC(key);
        const r = store.get(k);
        if (!r || r.expires_at <= dateNow()) return err('CacheKeyDoesNotExist');
        store.delete(k);
        ex.cacheWrites++;
        ex.cacheChanges[k] = null;
        return { type: 'success' };
      },
    };
    return Object.freeze(cache);
  }

  // ------------------------------------------------------------------ errors
  function cleanStack(err) {
    let stack;
    try { stack = StringC(err.stack || ''); } catch (e) { stack = ''; }
    const lines = stack.split('\n');
    const out = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!/^\s+at /.test(line)) { if (out.length === 0 || !/^\s+at /.test(out[out.length - 1])) out.push(line); continue; }
      if (!line.includes('handler.js:')) continue;
      out.push(line.replace(/handler\.js:(\d+):(\d+)/g, (m, l, c) => `handler.js:${Math.max(1, l - 1)}:${c}`));
    }
    return out.join('\n');
  }
  function describeValue(v) {
    try {
      if (typeof v === 'string') return jsonStringify(v.length > 500 ? v.slice(0, 500) + '...' : v);
      return inspect(v).slice(0, 500);
    } catch (e) { return '[unprintable value]'; }
  }
  function serializeError(e) {
    let isErr = false;
    try { isErr = e instanceof ErrorC || (e !== null && typeof e === 'object' && typeof e.message === 'string' && typeof e.stack === 'string'); } catch (x) { isErr = false; }
    if (!isErr) {
      return { name: 'Error', message: `The handler threw a value that is not an Error: ${describeValue(e)}`, stack: '', nonError: true };
    }
    let name = 'Error', message = '';
    try { name = StringC(e.name); } catch (x) { /* keep */ }
    try { message = StringC(e.message); } catch (x) { /* keep */ }
    let stack = '';
    try { stack = cleanStack(e); } catch (x) { stack = `${name}: ${message}`; }
    const out = { name, message, stack };
    try { if (e.code !== undefined) out.code = StringC(e.code); } catch (x) { /* ignore */ }
    return out;
  }
  function failExecution(ex, e) {
    if (ex.settled) return;
    ex.settled = true;
    ex.error = serializeError(e);
    ex.done = true;
    signal();
  }

  // ------------------------------------------------------------------ modules and the handler
  const MODULES = {
    crypto: cryptoModule,
    buffer: { Buffer, constants: { MAX_LENGTH: 0x7fffffff }, kMaxLength: 0x7fffffff, atob, btoa },
    querystring: querystringModule,
    url: urlModule,
    util: utilModule,
  };
  function requireModule(name) {
    const n = StringC(name).replace(/^node:/, '');
    if (Object.prototype.hasOwnProperty.call(MODULES, n)) return MODULES[n];
    const e = new ErrorC(`Cannot find module '${name}'. Handlers here can require only these built-in modules: ` +
      'buffer, crypto, querystring, url, util (npm packages and other Node modules are not available; ' +
      'use the global fetch for HTTP requests).');
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }

  function loadModule(exportName) {
    if (moduleObj) return moduleObj.exports[exportName];
    if (loadError) throw loadError;
    const module = { exports: {} };
    moduleObj = module;
    try {
      handlerWrapper.call(module.exports, module.exports, requireModule, module, '/handler.js', '/');
    } catch (e) {
      moduleObj = null;
      loadError = e;
      throw e;
    }
    return module.exports[exportName];
  }

  function settle(ex, status, reason) {
    if (EX !== ex || ex.settled) return;
    let r = '';
    try { r = reason === undefined || reason === null ? '' : StringC(reason); } catch (e) { r = '[unprintable reason]'; }
    ex.outcome = { status, reason: r.slice(0, 1024) };
  }

  function buildApi(ex, trigger, cacheEntries) {
    const cache = makeCache(ex, cacheEntries);
    if (trigger === 'send-phone-message') return Object.freeze({ cache });
    const api = {
      notification: Object.freeze({
        drop(reason) { settle(ex, 'drop', reason); return api; },
        retry(reason) { settle(ex, 'retry', reason); return api; },
      }),
      cache,
    };
    return Object.freeze(api);
  }

  function takeQueue(ex) { const q = ex.queue; ex.queue = []; return q; }

  function result(ex) {
    return {
      outcome: ex.outcome,
      error: ex.error,
      loadError: ex.loadError || null,
      logs: ex.logs,
      logsTruncated: ex.logsTruncated,
      cacheChanges: ex.cacheChanges,
      limitHit: ex.limitHit,
      loadMs: ex.loadMs,
    };
  }

  const hostApi = {
    define(fn) { handlerWrapper = fn; moduleObj = null; loadError = null; },
    channel() { if (chanGiven) return null; chanGiven = true; return chanSab; },
    run(payloadJson) {
      atomicStore(chanHdr, 3, atomicLoad(chanHdr, 4));  // "started": see Executor._start
      const p = jsonParse(payloadJson === undefined ? readInbox() : payloadJson);
      reseed(p.seed);
      const ex = {
        id: p.id, t0: dateNow(), limits: p.limits, logs: [], logBytes: 0, logsTruncated: false,
        outcome: { status: 'delivered', reason: '' }, error: null, loadError: null, limitHit: null,
        fetchCount: 0, seq: 0, pending: new Map(), queue: [], inHost: true,
        timers: new Set(), cacheWrites: 0, cacheChanges: {}, done: false, settled: false, loadMs: 0,
      };
      EX = ex;
      const exportName = p.trigger === 'send-phone-message' ? 'onExecuteSendPhoneMessage' : 'onExecuteCustomPhoneProvider';
      try {
        let fn;
        const t = dateNow();
        const wasLoaded = moduleObj !== null;
        try {
          fn = loadModule(exportName);
        } catch (e) {
          ex.loadError = 'throw';
          throw e;
        } finally {
          if (!wasLoaded) ex.loadMs = dateNow() - t;
        }
        const tag = typeof fn === 'function' ? Object.prototype.toString.call(fn) : typeof fn;
        if (typeof fn !== 'function') {
          ex.loadError = 'missing';
          ex.error = { name: 'Error', message: `The code must export ${exportName} as an async function, for example: exports.${exportName} = async (event, api) => { ... }`, stack: '' };
          ex.done = true; ex.settled = true;
        } else if (tag !== '[object AsyncFunction]') {
          ex.loadError = 'not_async';
          ex.error = { name: 'Error', message: `${exportName} must be an async function: exports.${exportName} = async (event, api) => { ... }`, stack: '' };
          ex.done = true; ex.settled = true;
        } else {
          const event = p.event;
          const api = buildApi(ex, p.trigger, p.cache);
          const promise = fn(event, api);
          PromiseC.resolve(promise).then(() => {
            if (ex.settled) return;
            ex.settled = true; ex.done = true; signal();
          }, (e) => failExecution(ex, e));
        }
      } catch (e) {
        if (!ex.settled) { ex.settled = true; ex.error = serializeError(e); ex.done = true; }
      }
      ex.inHost = false;
      inCall = true;
      try { flush(ex); } finally { inCall = false; }
      return 0;
    },
    deliver(exId, id, respJson) {
      let msg = null;
      if (exId === undefined) {
        msg = jsonParse(readInbox());
        exId = msg.ex; id = msg.id;
      }
      const ex = EX;
      if (!ex || ex.id !== exId) return;
      const pending = ex.pending.get(id);
      if (!pending) return;
      ex.pending.delete(id);
      ex.inHost = true;
      try {
        const r = msg ? msg.resp : jsonParse(respJson);
        if (r.error) {
          const e = new TypeError(`fetch failed: ${r.error}`);
          if (r.limit) ex.limitHit = ex.limitHit || r.limit;
          pending.reject(e);
        } else {
          const body = r.body_b64 !== undefined ? base64Decode(r.body_b64) : (r.body !== undefined ? r.body : null);
          const resp = new Response(r.status === 204 || r.status === 304 ? null : body, {
            status: r.status, statusText: r.status_text || STATUS_TEXT[r.status] || '', headers: r.headers,
            _url: r.url, _redirected: !!r.redirected, _type: 'basic', _host: true,
          });
          pending.resolve(resp);
        }
      } finally {
        ex.inHost = false;
      }
      if (ex.queue.length || ex.done) {
        inCall = true;
        try { flush(ex); } finally { inCall = false; }
      }
    },
    snapshot() {
      // What the running execution produced so far (for a timeout report); does not end it.
      const ex = EX;
      if (!ex) return 'null';
      return jsonStringify({ logs: ex.logs, logsTruncated: ex.logsTruncated, cacheChanges: ex.cacheChanges });
    },
    poll() {
      const ex = EX;
      if (!ex) return jsonStringify({ q: [], done: true, result: null });
      atomicStore(chanHdr, 1, 0);
      const out = { q: takeQueue(ex), done: ex.done };
      if (ex.done) out.result = finish(ex);
      return jsonStringify(out);
    },
  };
  function finish(ex) {
    ex.timers.clear();
    ex.pending.clear();
    EX = null;
    return result(ex);
  }
  ObjectDefineProperty(global, HOST, { value: Object.freeze(hostApi), enumerable: false, configurable: false, writable: false });

  // ------------------------------------------------------------------ globals
  const g = {
    console: makeConsole(),
    setTimeout: setTimeoutImpl(false), clearTimeout: clearTimer,
    setInterval: setTimeoutImpl(true), clearInterval: clearTimer,
    setImmediate: (fn, ...args) => setTimeoutImpl(false)(fn, 1, ...args), clearImmediate: clearTimer,
    queueMicrotask: (fn) => { PromiseC.resolve().then(() => fn()).catch((e) => { if (EX) failExecution(EX, e); }); },
    structuredClone,
    TextEncoder, TextDecoder, atob, btoa, Buffer,
    URL, URLSearchParams, Headers, Request, Response, fetch,
    AbortController, AbortSignal, Event, EventTarget, DOMException,
    crypto: webcrypto, CryptoKey,
    global,
    require: requireModule,
  };
  define(global, g);
})(globalThis, __PP_HOST_NAME__);
