// RFC 6238 TOTP (HMAC-SHA-1, 30 s steps, 6 digits by default) over an RFC 4648 base32 secret,
// as authenticator apps compute it: for logging in to the duty console as a user with a second
// factor.
//
//   totp('JBSWY3DPEHPK3PXP')                       // the code for now
//   totp(secret, { time: Date.now() / 1000 + 30 }) // the next one

import crypto from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * Decodes RFC 4648 base32 (case-insensitive; spaces, dashes and `=` padding ignored) to bytes.
 */
export function base32Decode(text) {
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const v = ALPHABET.indexOf(ch);
    if (v === -1) throw new Error(`not base32: ${JSON.stringify(ch)} in the secret`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** Encodes bytes as RFC 4648 base32 without padding. */
export function base32Encode(bytes) {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(value >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** RFC 4226 HOTP of `key` (bytes) at `counter` (a non-negative integer or BigInt). */
export function hotp(key, counter, { digits = 6, algorithm = 'sha1' } = {}) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = crypto.createHmac(algorithm, key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(code % 10 ** digits).padStart(digits, '0');
}

/**
 * RFC 6238 TOTP of a base32 `secret` (or a Buffer of the raw key) at `time` (Unix seconds,
 * default now): HOTP of floor((time - t0) / step).
 */
export function totp(secret, { time = Date.now() / 1000, step = 30, t0 = 0, digits = 6, algorithm = 'sha1' } = {}) {
  const key = Buffer.isBuffer(secret) ? secret : base32Decode(secret);
  const counter = Math.floor((time - t0) / step);
  return hotp(key, counter, { digits, algorithm });
}

/** Seconds left before the current code (at `time`) changes. */
export function secondsLeft({ time = Date.now() / 1000, step = 30 } = {}) {
  return step - (Math.floor(time) % step);
}
