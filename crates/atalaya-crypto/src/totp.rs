//! Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP; HMAC-SHA-1, 30-second steps,
//! six digits: what every authenticator app reads from an `otpauth://` URI), and recovery codes.

use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now still accepted (clock drift of the phone).
const WINDOW: i64 = 1;
/// RFC 4226 §4 asks for at least 128 bits; 160 is what authenticator apps expect.
const SECRET_LEN: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u64, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// RFC 4648 base32 (padding, spaces and case ignored); `None` when not base32.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buf, mut bits) = (0u64, 0u32);
    for c in s.chars().filter(|c| *c != ' ' && *c != '=') {
        let v = BASE32
            .iter()
            .position(|&b| b as char == c.to_ascii_uppercase())? as u64;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// A fresh secret, base32-encoded, as stored and as shown to the person enrolling.
pub fn new_secret(rng: &mut impl CryptoRngCore) -> String {
    let mut s = [0u8; SECRET_LEN];
    rng.fill_bytes(&mut s);
    base32_encode(&s)
}

/// The HOTP value (RFC 4226 §5.3) of `secret` at `counter`, with `digits` digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return 0,
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = (u32::from(h[offset]) & 0x7f) << 24
        | u32::from(h[offset + 1]) << 16
        | u32::from(h[offset + 2]) << 8
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// The step a Unix time in seconds falls in.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The six-digit code of base32 `secret` at step `step`, zero-padded.
pub fn code_at(secret_b32: &str, step: i64) -> Option<String> {
    let secret = base32_decode(secret_b32)?;
    let v = hotp(&secret, u64::try_from(step).ok()?, DIGITS);
    Some(format!("{v:0width$}", width = DIGITS as usize))
}

/// Check `code` against base32 `secret` at `unix_seconds`, allowing one step of drift either
/// way. A step at or before `last_used` is refused, so an observed code cannot be replayed.
/// Returns the step that matched, to be remembered as the new `last_used`.
pub fn verify(
    secret_b32: &str,
    code: &str,
    unix_seconds: i64,
    last_used: Option<i64>,
) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_seconds);
    let mut matched = None;
    // Every candidate is computed and compared, so timing does not reveal which one matched.
    for step in (now - WINDOW)..=(now + WINDOW) {
        if let Some(expected) = code_at(secret_b32, step) {
            let same: bool = expected.as_bytes().ct_eq(code.as_bytes()).into();
            if same && last_used.is_none_or(|l| step > l) {
                matched = Some(step);
            }
        }
    }
    matched
}

/// The `otpauth://` URI an authenticator app scans (Google Authenticator key URI format).
pub fn otpauth_uri(secret_b32: &str, issuer: &str, account: &str) -> String {
    let esc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        esc(issuer),
        esc(account),
        esc(issuer)
    )
}

/// Ten single-use recovery codes (`xxxxx-xxxxx`, 50 bits each), shown once.
pub fn new_recovery_codes(rng: &mut impl CryptoRngCore) -> Vec<String> {
    (0..10)
        .map(|_| {
            let mut b = [0u8; 7];
            rng.fill_bytes(&mut b);
            let s = base32_encode(&b).to_ascii_lowercase();
            format!("{}-{}", &s[0..5], &s[5..10])
        })
        .collect()
}

/// How a recovery code is stored: SHA-256 of its normalised form (the codes are random, so a
/// plain digest is enough).
pub fn recovery_code_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(norm.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::keys::tests::TestRng;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits), secret "12345678901234567890".
    #[test]
    fn rfc6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, want) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(hotp(secret, step_at(t) as u64, 8), want, "t={t}");
        }
    }

    /// RFC 4226 Appendix D.
    #[test]
    fn rfc4226_hotp_vectors() {
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", c as u64, 6), *w);
        }
    }

    #[test]
    fn base32_round_trips_rfc4648_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(raw.as_bytes()), enc);
            assert_eq!(base32_decode(enc).unwrap(), raw.as_bytes());
        }
        assert!(base32_decode("MZ1").is_none(), "1 is not base32");
    }

    #[test]
    fn verify_allows_drift_and_refuses_replay_and_garbage() {
        let secret = new_secret(&mut TestRng(42));
        let t = 1_800_000_000;
        let now = code_at(&secret, step_at(t)).unwrap();
        let prev = code_at(&secret, step_at(t) - 1).unwrap();
        let old = code_at(&secret, step_at(t) - 3).unwrap();
        assert_eq!(verify(&secret, &now, t, None), Some(step_at(t)));
        assert_eq!(verify(&secret, &prev, t, None), Some(step_at(t) - 1));
        assert_eq!(verify(&secret, &old, t, None), None, "too old");
        assert_eq!(
            verify(&secret, &now, t, Some(step_at(t))),
            None,
            "a used code is not accepted twice"
        );
        assert_eq!(verify(&secret, "12345", t, None), None);
        assert_eq!(verify(&secret, "abcdef", t, None), None);
        assert_eq!(
            verify(&secret, &format!(" {now} "), t, None),
            Some(step_at(t))
        );
    }

    #[test]
    fn uri_and_recovery_codes() {
        let uri = otpauth_uri("JBSWY3DPEHPK3PXP", "Atalaya CERT-CL", "ana@cl");
        assert_eq!(
            uri,
            "otpauth://totp/Atalaya%20CERT-CL:ana%40cl?secret=JBSWY3DPEHPK3PXP&issuer=Atalaya%20CERT-CL&algorithm=SHA1&digits=6&period=30"
        );
        let codes = new_recovery_codes(&mut TestRng(9));
        assert_eq!(codes.len(), 10);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-')
        );
        let uniq: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(uniq.len(), 10);
        assert_eq!(
            recovery_code_hash(&codes[0]),
            recovery_code_hash(&codes[0].to_uppercase().replace('-', " "))
        );
    }
}
