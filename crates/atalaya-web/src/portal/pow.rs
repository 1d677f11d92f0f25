//! The report form's proof of work, without any third party: the node issues a challenge (a
//! random nonce, an expiry and a difficulty, MAC'd with a key only the node holds), the
//! browser's own script finds a counter such that SHA-256(challenge ‖ counter) starts with that
//! many zero bits, and the node checks the MAC (in constant time), the expiry and the work. A
//! challenge is accepted once: the store remembers the used ones until they expire.
//!
//! The challenge is text: `<nonce hex>.<expires ms>.<bits>.<mac hex>`; the counter is decimal.

use atalaya_core::Timestamp;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Why a proof of work was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowError {
    /// No challenge or no counter.
    Missing,
    /// Not a challenge this node issued (bad shape or MAC).
    Forged,
    /// Issued too long ago.
    Expired,
    /// The counter does not give enough zero bits.
    NotSolved,
}

impl PowError {
    /// Stable code.
    pub fn code(self) -> &'static str {
        match self {
            PowError::Missing => "pow_missing",
            PowError::Forged => "pow_invalid",
            PowError::Expired => "pow_expired",
            PowError::NotSolved => "pow_unsolved",
        }
    }
}

/// A checked challenge: its nonce (to remember it was used) and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solved {
    /// The nonce, hex.
    pub nonce: String,
    /// Until when it would have been accepted.
    pub expires: Timestamp,
}

/// Issues and checks challenges with the node's portal key.
#[derive(Clone)]
pub struct Pow {
    key: [u8; 32],
}

impl std::fmt::Debug for Pow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pow { key: <secret> }")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// The number of leading zero bits of a digest.
pub fn leading_zero_bits(digest: &[u8]) -> u32 {
    let mut n = 0;
    for b in digest {
        if *b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// SHA-256(challenge ‖ counter) — what the browser's script computes.
pub fn work(challenge: &str, counter: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(challenge.as_bytes());
    h.update(counter.as_bytes());
    h.finalize().into()
}

/// Find a counter for a challenge (what the script does; for tests and tools).
pub fn solve(challenge: &str) -> String {
    let bits = challenge
        .split('.')
        .nth(2)
        .and_then(|b| b.parse::<u32>().ok())
        .unwrap_or(0);
    (0u64..)
        .map(|c| c.to_string())
        .find(|c| leading_zero_bits(&work(challenge, c)) >= bits)
        .unwrap_or_default()
}

impl Pow {
    /// With a key derived from the node's secret (several processes of one node agree on it).
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = hmac(secret);
        mac.update(b"atalaya portal proof-of-work key v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn tag(&self, body: &str) -> HmacSha256 {
        let mut mac = hmac(&self.key);
        mac.update(b"atalaya-pow-v1\n");
        mac.update(body.as_bytes());
        mac
    }

    /// A new challenge: `nonce` (16 random bytes), valid until `expires`, needing `bits`.
    pub fn issue(&self, nonce: [u8; 16], expires: Timestamp, bits: u8) -> String {
        let body = format!("{}.{}.{bits}", hex(&nonce), expires.unix_millis());
        let tag = self.tag(&body).finalize().into_bytes();
        format!("{body}.{}", hex(&tag))
    }

    /// Check a challenge and its counter at `now`, needing at least `min_bits` of work.
    pub fn verify(
        &self,
        challenge: &str,
        counter: &str,
        now: Timestamp,
        min_bits: u8,
    ) -> Result<Solved, PowError> {
        let (challenge, counter) = (challenge.trim(), counter.trim());
        if challenge.is_empty() || counter.is_empty() {
            return Err(PowError::Missing);
        }
        let parts: Vec<&str> = challenge.split('.').collect();
        let [nonce, expires, bits, tag] = parts[..] else {
            return Err(PowError::Forged);
        };
        let tag = unhex(tag).ok_or(PowError::Forged)?;
        let body = format!("{nonce}.{expires}.{bits}");
        // Constant-time comparison of the MAC.
        self.tag(&body)
            .verify_slice(&tag)
            .map_err(|_| PowError::Forged)?;
        let expires = expires
            .parse::<i64>()
            .ok()
            .and_then(Timestamp::from_unix_millis)
            .ok_or(PowError::Forged)?;
        let bits = bits.parse::<u8>().map_err(|_| PowError::Forged)?;
        if bits < min_bits {
            return Err(PowError::Forged);
        }
        if now > expires {
            return Err(PowError::Expired);
        }
        if counter.len() > 20 || !counter.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PowError::NotSolved);
        }
        if leading_zero_bits(&work(challenge, counter)) < u32::from(bits) {
            return Err(PowError::NotSolved);
        }
        Ok(Solved {
            nonce: nonce.to_owned(),
            expires,
        })
    }
}

fn hmac(key: &[u8]) -> HmacSha256 {
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_solved_challenge_verifies_once_shaped_right() {
        let pow = Pow::new(b"node secret");
        let c = pow.issue([7; 16], at(60_000), 8);
        let counter = solve(&c);
        let ok = pow.verify(&c, &counter, at(0), 8).unwrap();
        assert_eq!(ok.nonce, "07".repeat(16));
        assert_eq!(ok.expires, at(60_000));
    }

    #[test]
    fn refusals() {
        let pow = Pow::new(b"node secret");
        let c = pow.issue([7; 16], at(60_000), 8);
        let counter = solve(&c);
        assert_eq!(pow.verify("", &counter, at(0), 8), Err(PowError::Missing));
        assert_eq!(pow.verify(&c, "", at(0), 8), Err(PowError::Missing));
        assert_eq!(
            pow.verify(&c, &counter, at(60_001), 8),
            Err(PowError::Expired)
        );
        // Another node's challenge, a changed difficulty or expiry, a broken MAC.
        let other = Pow::new(b"other secret").issue([7; 16], at(60_000), 8);
        assert_eq!(
            pow.verify(&other, &solve(&other), at(0), 8),
            Err(PowError::Forged)
        );
        let easier = c.replacen(".8.", ".0.", 1);
        assert_eq!(pow.verify(&easier, "0", at(0), 8), Err(PowError::Forged));
        let later = c.replacen(
            &at(60_000).unix_millis().to_string(),
            &at(999_999).unix_millis().to_string(),
            1,
        );
        assert_eq!(
            pow.verify(&later, &counter, at(0), 8),
            Err(PowError::Forged)
        );
        assert_eq!(pow.verify("a.b.c", "1", at(0), 8), Err(PowError::Forged));
        // Weaker than the node now asks.
        assert_eq!(pow.verify(&c, &counter, at(0), 12), Err(PowError::Forged));
        // A wrong counter (some counter below the answer fails; the answer is the first).
        if counter != "0" {
            assert_eq!(pow.verify(&c, "0", at(0), 8), Err(PowError::NotSolved));
        }
        assert_eq!(pow.verify(&c, "12x", at(0), 8), Err(PowError::NotSolved));
    }

    #[test]
    fn zero_bits_are_counted() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x10, 0xff]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0; 4]), 32);
    }
}
