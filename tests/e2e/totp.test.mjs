// The TOTP helper against RFC 6238 Appendix B (SHA-1) and RFC 4226 Appendix D.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { base32Decode, base32Encode, hotp, totp } from './lib/totp.mjs';

// The RFC 6238 SHA-1 seed: ASCII "12345678901234567890".
const SEED = Buffer.from('12345678901234567890', 'ascii');
const SEED_B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

// RFC 6238 Appendix B, the SHA1 rows: Unix time -> 8-digit TOTP.
const RFC6238_SHA1 = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

test('base32 of the RFC 6238 seed', () => {
  assert.equal(base32Encode(SEED), SEED_B32);
  assert.deepEqual(base32Decode(SEED_B32), SEED);
  assert.deepEqual(base32Decode('gezd gnbv-gy3t qojq gezdgnbvgy3tqojq===='), SEED);
  assert.throws(() => base32Decode('GEZ1'), /not base32/);
  // RFC 4648 section 10, without padding.
  assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
  assert.equal(base32Decode('MZXW6YQ').toString(), 'foob');
});

test('RFC 6238 Appendix B, SHA-1, 8 digits', () => {
  for (const [time, code] of RFC6238_SHA1) {
    assert.equal(totp(SEED_B32, { time, digits: 8 }), code, `T = ${time}`);
    assert.equal(totp(SEED, { time, digits: 8 }), code, `T = ${time} (raw key)`);
  }
});

test('6 digits are the last 6 of the 8-digit code', () => {
  for (const [time, code] of RFC6238_SHA1) {
    assert.equal(totp(SEED_B32, { time }), code.slice(2), `T = ${time}`);
  }
});

test('one code per 30-second step', () => {
  assert.equal(totp(SEED_B32, { time: 1111111111 }), totp(SEED_B32, { time: 1111111110 }));
  assert.notEqual(totp(SEED_B32, { time: 1111111109 }), totp(SEED_B32, { time: 1111111110 }));
  assert.match(totp(SEED_B32), /^\d{6}$/);
});

test('RFC 4226 Appendix D HOTP values', () => {
  const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  expected.forEach((code, counter) => assert.equal(hotp(SEED, counter), code, `count ${counter}`));
});
