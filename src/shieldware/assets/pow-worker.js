/* shieldware proof-of-work worker.
 * Solves sub-puzzles: find a decimal nonce n with SHA-256(cid + "." + i + "." + n) starting with
 * `bits` zero bits. A hand-written single-block SHA-256 (the input is at most 55 bytes) increments
 * the nonce's digits in place; WebCrypto is the fallback if the self-test of that code fails.
 * Messages in:  {cid, indices: [i, ...], bits}
 * Messages out: {type: "tells", env}, {type: "progress", hashes}, {type: "done", index, nonce}, {type: "error", message}
 */
"use strict";

var K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
]);
var H0 = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
]);
var MAX_NONCE = 4294967295;

/* One compression of a 64-byte block (big-endian words in w[0..15]); writes the state to out. */
function compress(w, out) {
  var i, s0, s1, t1, t2;
  for (i = 16; i < 64; i++) {
    var x = w[i - 15], y = w[i - 2];
    s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  var a = H0[0], b = H0[1], c = H0[2], d = H0[3], e = H0[4], f = H0[5], g = H0[6], h = H0[7];
  for (i = 0; i < 64; i++) {
    s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  out[0] = (a + H0[0]) | 0; out[1] = (b + H0[1]) | 0; out[2] = (c + H0[2]) | 0;
  out[3] = (d + H0[3]) | 0; out[4] = (e + H0[4]) | 0; out[5] = (f + H0[5]) | 0;
  out[6] = (g + H0[6]) | 0; out[7] = (h + H0[7]) | 0;
}

function asciiBytes(text) {
  var bytes = new Uint8Array(text.length);
  for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/* SHA-256 of a short ASCII message (< 56 bytes), as hex: the self-test and the Node tests use it. */
function sha256Short(text) {
  var bytes = asciiBytes(text);
  if (bytes.length > 55) throw new Error("message too long for one block");
  var block = new Uint8Array(64), w = new Int32Array(64), out = new Int32Array(8);
  block.set(bytes);
  block[bytes.length] = 0x80;
  block[62] = (bytes.length * 8) >>> 8;
  block[63] = (bytes.length * 8) & 0xff;
  for (var j = 0; j < 16; j++) {
    w[j] = (block[4 * j] << 24) | (block[4 * j + 1] << 16) | (block[4 * j + 2] << 8) | block[4 * j + 3];
  }
  compress(w, out);
  var hex = "";
  for (var k = 0; k < 8; k++) hex += ("00000000" + (out[k] >>> 0).toString(16)).slice(-8);
  return hex;
}

/* Find the first nonce >= 0 solving prefix (ASCII) at `bits`; calls report(hashes) now and then.
 * Returns {nonce, hashes}. The digits of the nonce are incremented in place in the block. */
function solvePrefix(prefix, bits, report) {
  var pre = asciiBytes(prefix);
  if (pre.length > 45) throw new Error("prefix too long");
  var block = new Uint8Array(64), w = new Int32Array(64), out = new Int32Array(8);
  block.set(pre);
  var p = pre.length, digits = 1, nonce = 0, hashes = 0, shift = 32 - bits;
  var first = p >> 2, lastWord = 0, len = 0;
  block[p] = 48; // "0"
  for (var j = 0; j < 16; j++) {
    var o = j << 2;
    w[j] = (block[o] << 24) | (block[o + 1] << 16) | (block[o + 2] << 8) | block[o + 3];
  }
  var resize = true;
  for (;;) {
    if (resize) { // the nonce gained a digit: move the padding byte and the length
      len = p + digits;
      block[len] = 0x80;
      block[62] = (len * 8) >>> 8;
      block[63] = (len * 8) & 0xff;
      lastWord = len >> 2;
      w[15] = (block[60] << 24) | (block[61] << 16) | (block[62] << 8) | block[63];
      resize = false;
    }
    for (var jj = first; jj <= lastWord; jj++) {
      var oo = jj << 2;
      w[jj] = (block[oo] << 24) | (block[oo + 1] << 16) | (block[oo + 2] << 8) | block[oo + 3];
    }
    compress(w, out);
    hashes++;
    if ((out[0] >>> shift) === 0 && (shift < 32 || out[0] === 0)) {
      return { nonce: nonce, hashes: hashes };
    }
    if ((hashes & 0xffff) === 0 && report) report(hashes);
    if (nonce >= MAX_NONCE) throw new Error("nonce space exhausted");
    nonce++;
    // increment the decimal digits in place
    var q = len - 1;
    while (q >= p && block[q] === 57) { block[q] = 48; q--; }
    if (q < p) { // carry out of the top digit: one more digit, "1" followed by zeros
      block[p] = 49;
      for (var r = p + 1; r <= len; r++) block[r] = 48;
      digits++;
      resize = true;
    } else {
      block[q]++;
    }
  }
}

/* The fallback: WebCrypto, 256 digests awaited at a time (slow: about 1/15 of the code above). */
async function solveWebCrypto(prefix, bits, report) {
  var enc = new TextEncoder(), nonce = 0, shift = 32 - bits;
  for (;;) {
    var batch = [];
    for (var i = 0; i < 256; i++) batch.push(crypto.subtle.digest("SHA-256", enc.encode(prefix + (nonce + i))));
    var digests = await Promise.all(batch);
    for (var k = 0; k < digests.length; k++) {
      var head = new DataView(digests[k]).getUint32(0);
      if ((head >>> shift) === 0 && (shift < 32 || head === 0)) return { nonce: nonce + k, hashes: nonce + k + 1 };
    }
    nonce += 256;
    if ((nonce & 0xffff) === 0 && report) report(nonce);
  }
}

/* The worker's half of the automation tells (see collectTells in pow.js): its own navigator and
 * the features a modern browser's worker has. */
function workerTells() {
  var n = self.navigator || {}, o = {};
  try {
    o.ua = typeof n.userAgent === "string" ? n.userAgent.slice(0, 512) : undefined;
    o.pf = typeof n.platform === "string" ? n.platform.slice(0, 80) : undefined;
    o.hc = n.hardwareConcurrency;
    o.lg = Array.prototype.slice.call(n.languages || [], 0, 12);
    if (n.userAgentData) {
      o.b = (n.userAgentData.brands || []).slice(0, 12).map(function (b) { return [b.brand, b.version]; });
      o.bp = n.userAgentData.platform;
      o.bm = n.userAgentData.mobile;
    }
    o.wa = typeof WebAssembly === "object";
    o.cs = !!(self.crypto && self.crypto.subtle);
  } catch (e) { /* report what we have */ }
  return o;
}

var selfTestOk = sha256Short("abc") === "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

if (typeof module !== "undefined" && module.exports) {
  module.exports = { sha256Short: sha256Short, solvePrefix: solvePrefix, selfTestOk: selfTestOk };
} else if (typeof self !== "undefined") {
  self.onmessage = async function (event) {
    var job = event.data, last = 0;
    self.postMessage({ type: "tells", env: workerTells() });
    var report = function (hashes) { self.postMessage({ type: "progress", hashes: hashes - last }); last = hashes; };
    try {
      for (var n = 0; n < job.indices.length; n++) {
        var prefix = job.cid + "." + job.indices[n] + ".";
        last = 0;
        var found = selfTestOk ? solvePrefix(prefix, job.bits, report)
          : await solveWebCrypto(prefix, job.bits, report);
        self.postMessage({ type: "progress", hashes: found.hashes - last });
        self.postMessage({ type: "done", index: job.indices[n], nonce: found.nonce });
      }
    } catch (err) {
      self.postMessage({ type: "error", message: String(err) });
    }
  };
}
