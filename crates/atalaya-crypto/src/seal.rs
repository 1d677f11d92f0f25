//! Sealed bodies: a payload encrypted to one or more nodes' X25519 sealing keys in the
//! [age v1 format](https://age-encryption.org/v1) (C2SP `age`), so that any age implementation
//! (`age`, `rage`, `pyrage`, ...) opens it with the recipient's identity.
//!
//! The format is the [`age`] crate's (the reference Rust implementation, fuzzed upstream):
//! this module only chooses how it is used. Binary files, native X25519 recipients; no armor,
//! passphrases or plugins. Everything is in memory: [`open`] refuses input over
//! [`MAX_SEALED_LEN`] and [`seal`] refuses to produce it. Files sealed by this node's earlier,
//! hand-written age v1 code are the same format and still open (the fixtures in
//! `tests/fixtures/sealed/` prove it).
//!
//! # What a sealed file shows to someone without a key
//!
//! An X25519 stanza is `-> X25519 <ephemeral share>` and the wrapped file key: it names no
//! recipient, and only the holder of the recipient's secret can tell a stanza is for it (the
//! wrap key is derived from the recipient's public key too). What the file does show is its
//! size and its number of stanzas. [`seal_padded`] hides the number of recipients by adding
//! stanzas for throwaway keys, in a random order among the real ones.
//!
//! # Randomness
//!
//! The file key, the ephemeral secrets and the payload nonce come from the `age` crate, which
//! draws them from the operating system; the `rng` parameter draws only the throwaway keys
//! of the padding stanzas and their order.

use std::io::{Read, Write};
use std::str::FromStr;

use bech32::{FromBase32, ToBase32, Variant};
use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::keys::{KeyError, PublicSealingKey};

/// The largest sealed file [`open`] accepts and [`seal`] produces (16 MiB).
pub const MAX_SEALED_LEN: usize = 16 * 1024 * 1024;

const RECIPIENT_HRP: &str = "age";
const IDENTITY_HRP: &str = "age-secret-key-";

/// Errors sealing or opening a sealed body.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// [`seal`] was given no recipient.
    #[error("a sealed body needs at least one recipient")]
    NoRecipients,
    /// A recipient key is a low-order point (the shared secret would be all zeros).
    #[error("recipient {index} is not a usable X25519 key (low-order point)")]
    InvalidRecipient {
        /// Position of the offending key in the recipient list.
        index: usize,
    },
    /// The sealed input (or, when sealing, the output) exceeds [`MAX_SEALED_LEN`].
    #[error("sealed body of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the sealed input or of the output that would be produced.
        len: usize,
        /// The limit, [`MAX_SEALED_LEN`].
        max: usize,
    },
    /// The input is not an age v1 file.
    #[error("not an age v1 file: {reason}")]
    NotAge {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A recipient stanza (or the header around it) is malformed.
    #[error("malformed age header: {reason}")]
    MalformedStanza {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No X25519 stanza unwraps with the given identity.
    #[error("the file is not sealed to this identity")]
    NoMatchingRecipient,
    /// The header MAC does not verify.
    #[error("age header MAC is malformed or does not verify")]
    BadHeaderMac,
    /// The payload is truncated, breaks the final-chunk rules or fails authentication.
    #[error("age payload is corrupt: {reason}")]
    PayloadCorrupt {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl SealError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoRecipients => "no_recipients",
            Self::InvalidRecipient { .. } => "invalid_recipient",
            Self::TooLarge { .. } => "too_large",
            Self::NotAge { .. } => "not_age",
            Self::MalformedStanza { .. } => "malformed_stanza",
            Self::NoMatchingRecipient => "no_matching_recipient",
            Self::BadHeaderMac => "bad_header_mac",
            Self::PayloadCorrupt { .. } => "payload_corrupt",
        }
    }
}

/// What the age crate's refusal means here. Failures while reading the header (truncation
/// included) are header errors; once the payload key is known, any failure is the payload's.
fn header_error(e: age::DecryptError) -> SealError {
    match e {
        age::DecryptError::UnknownFormat => SealError::NotAge {
            reason: "unsupported age version",
        },
        age::DecryptError::InvalidMac => SealError::BadHeaderMac,
        age::DecryptError::NoMatchingKeys => SealError::NoMatchingRecipient,
        age::DecryptError::Io(_) => SealError::MalformedStanza {
            reason: "the header is truncated or not an age header",
        },
        age::DecryptError::DecryptionFailed => SealError::PayloadCorrupt {
            reason: "the payload fails authentication",
        },
        _ => SealError::MalformedStanza {
            reason: "the age header is invalid",
        },
    }
}

/// The age identity of an X25519 secret.
fn age_identity(secret: &StaticSecret) -> Result<age::x25519::Identity, SealError> {
    let text = Zeroizing::new(age_identity_string(secret));
    age::x25519::Identity::from_str(&text).map_err(|_| SealError::MalformedStanza {
        reason: "the identity does not encode",
    })
}

/// The age recipient of an X25519 public key.
fn age_recipient(key: &PublicSealingKey) -> Result<age::x25519::Recipient, SealError> {
    age::x25519::Recipient::from_str(&key.to_age_recipient()).map_err(|_| {
        SealError::MalformedStanza {
            reason: "the recipient does not encode",
        }
    })
}

/// Seals `plaintext` to every key in `recipients` as a binary age v1 file, one stanza each.
///
/// Any one of the recipients' X25519 secrets opens it (with [`open`] or any age
/// implementation). Duplicate recipients are allowed (each gets its own stanza).
pub fn seal(
    plaintext: &[u8],
    recipients: &[PublicSealingKey],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    seal_padded(plaintext, recipients, recipients.len(), rng)
}

/// [`seal`], with at least `stanzas` stanzas: the missing ones are for throwaway keys drawn
/// from `rng`, indistinguishable from real ones without a recipient's secret, and every
/// stanza is in a random order. So the file shows `max(stanzas, recipients.len())`, not how
/// many nodes can open it.
pub fn seal_padded(
    plaintext: &[u8],
    recipients: &[PublicSealingKey],
    stanzas: usize,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    // The age crate panics on a low-order recipient (it takes it for a failing RNG): refuse
    // those first, with a check of our own against a throwaway secret.
    let probe = StaticSecret::random_from_rng(&mut *rng);
    for (index, recipient) in recipients.iter().enumerate() {
        if !probe
            .diffie_hellman(recipient.public_key())
            .was_contributory()
        {
            return Err(SealError::InvalidRecipient { index });
        }
    }
    let mut all = recipients
        .iter()
        .map(age_recipient)
        .collect::<Result<Vec<_>, _>>()?;
    while all.len() < stanzas {
        let throwaway =
            PublicSealingKey::new(PublicKey::from(&StaticSecret::random_from_rng(&mut *rng)));
        all.push(age_recipient(&throwaway)?);
    }
    // Fisher-Yates, so a stanza's position says nothing about whom it is for.
    for i in (1..all.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        all.swap(i, j);
    }
    let encryptor = age::Encryptor::with_recipients(all.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|_| SealError::NoRecipients)?;
    // 16 bytes of tag per 64 KiB chunk, the nonce, and about 100 bytes per stanza.
    let estimate = plaintext.len() + plaintext.len() / 4096 + 64 + 128 * all.len();
    if estimate > MAX_SEALED_LEN + MAX_SEALED_LEN / 8 {
        return Err(SealError::TooLarge {
            len: estimate,
            max: MAX_SEALED_LEN,
        });
    }
    let mut out = Vec::with_capacity(estimate);
    let too_large = |_| SealError::TooLarge {
        len: estimate,
        max: MAX_SEALED_LEN,
    };
    let mut writer = encryptor.wrap_output(&mut out).map_err(too_large)?;
    writer.write_all(plaintext).map_err(too_large)?;
    writer.finish().map_err(too_large)?;
    if out.len() > MAX_SEALED_LEN {
        return Err(SealError::TooLarge {
            len: out.len(),
            max: MAX_SEALED_LEN,
        });
    }
    Ok(out)
}

/// Opens a sealed body produced by [`seal`] or by any age implementation for an X25519
/// recipient, with that recipient's secret.
///
/// Stanzas of other types are ignored; a malformed X25519 stanza, a header MAC that does not
/// verify and any payload corruption (including truncation) refuse the whole file.
pub fn open(sealed: &[u8], identity: &StaticSecret) -> Result<Vec<u8>, SealError> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(SealError::TooLarge {
            len: sealed.len(),
            max: MAX_SEALED_LEN,
        });
    }
    if !sealed.starts_with(b"age-encryption.org/") {
        return Err(SealError::NotAge {
            reason: "missing the age-encryption.org/v1 version line",
        });
    }
    let identity = age_identity(identity)?;
    let decryptor = age::Decryptor::new_buffered(sealed).map_err(|e| match e {
        // The age crate reads a v1 header it cannot parse as one of an unknown version.
        age::DecryptError::UnknownFormat if sealed.starts_with(b"age-encryption.org/v1\n") => {
            SealError::MalformedStanza {
                reason: "the age v1 header is malformed",
            }
        }
        e => header_error(e),
    })?;
    if decryptor.is_scrypt() {
        return Err(SealError::NoMatchingRecipient);
    }
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(header_error)?;
    let mut out = Vec::with_capacity(sealed.len());
    reader
        .read_to_end(&mut out)
        .map_err(|_| SealError::PayloadCorrupt {
            reason: "a chunk fails authentication (tampered, truncated or reordered)",
        })?;
    Ok(out)
}

impl PublicSealingKey {
    /// The age recipient string for this key: Bech32 with HRP `age`, lowercase (`age1...`).
    pub fn to_age_recipient(&self) -> String {
        bech32_encode(RECIPIENT_HRP, self.public_key().as_bytes())
    }

    /// Parses an age X25519 recipient string (`age1...`; all-uppercase is accepted too).
    pub fn from_age_recipient(recipient: &str) -> Result<Self, KeyError> {
        let bytes = decode_key(recipient, RECIPIENT_HRP)
            .map_err(|reason| KeyError::InvalidPublicKey { reason })?;
        Ok(Self::new(PublicKey::from(*bytes)))
    }
}

/// The age identity string for an X25519 secret: Bech32 with HRP `AGE-SECRET-KEY-`, uppercase
/// (`AGE-SECRET-KEY-1...`). It is a secret: do not log it.
pub fn age_identity_string(secret: &StaticSecret) -> String {
    let lower = Zeroizing::new(bech32_encode(IDENTITY_HRP, secret.as_bytes()));
    lower.to_ascii_uppercase()
}

fn bech32_encode(hrp: &str, data: &[u8]) -> String {
    // Both HRPs are valid constants, so encoding cannot fail.
    bech32::encode(hrp, data.to_base32(), Variant::Bech32).unwrap_or_default()
}

/// Decodes a Bech32 (not Bech32m) string with the given (lowercase) HRP carrying exactly 32
/// bytes.
fn decode_key(text: &str, hrp: &str) -> Result<Zeroizing<[u8; 32]>, &'static str> {
    let (found_hrp, data, variant) = bech32::decode(text).map_err(|_| "invalid Bech32")?;
    if variant != Variant::Bech32 {
        return Err("Bech32m, not Bech32");
    }
    if found_hrp != hrp {
        return Err("wrong Bech32 prefix");
    }
    let data = Zeroizing::new(Vec::<u8>::from_base32(&data).map_err(|_| "invalid Bech32 data")?);
    let mut key = Zeroizing::new([0u8; 32]);
    if data.len() != key.len() {
        return Err("not 32 bytes long");
    }
    key.copy_from_slice(&data);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{TestRng, test_keys};

    const CHUNK_LEN: usize = 64 * 1024;

    fn keys(seeds: &[u64]) -> (Vec<StaticSecret>, Vec<PublicSealingKey>) {
        let secrets: Vec<StaticSecret> = seeds
            .iter()
            .map(|&s| test_keys(s).sealing_secret().clone())
            .collect();
        let publics = secrets
            .iter()
            .map(|s| PublicSealingKey::new(PublicKey::from(s)))
            .collect();
        (secrets, publics)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Offset of the payload (just after the header's final LF).
    fn payload_start(sealed: &[u8]) -> usize {
        let mac_line = sealed.windows(4).position(|w| w == b"--- ").unwrap();
        mac_line + sealed[mac_line..].iter().position(|&b| b == b'\n').unwrap() + 1
    }

    fn stanza_count(sealed: &[u8]) -> usize {
        let header = std::str::from_utf8(&sealed[..payload_start(sealed)]).unwrap();
        header.matches("\n-> X25519 ").count()
    }

    #[test]
    fn round_trips_to_one_and_three_recipients() {
        let (secrets, publics) = keys(&[1, 2, 3]);
        let plaintext = b"{\"kind\":\"bulletin\",\"title\":\"\xc3\x91and\xc3\xba\"}";
        let sealed = seal(plaintext, &publics[..1], &mut TestRng(7)).unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1\n-> X25519 "));
        assert_eq!(open(&sealed, &secrets[0]).unwrap(), plaintext);

        let sealed = seal(plaintext, &publics, &mut TestRng(8)).unwrap();
        assert_eq!(stanza_count(&sealed), 3);
        for secret in &secrets {
            assert_eq!(open(&sealed, secret).unwrap(), plaintext);
        }
    }

    /// Files sealed by the hand-written age v1 code this module replaced still open, for each
    /// of their recipients and for no one else.
    #[test]
    fn files_sealed_by_the_earlier_code_still_open() {
        const IDENTITIES: &str = include_str!("../tests/fixtures/sealed/identities.txt");
        let identity = |name: &str| {
            let line = IDENTITIES
                .lines()
                .find(|l| l.starts_with(&format!("{name} AGE-SECRET-KEY-")))
                .unwrap();
            StaticSecret::from(*decode_key(&line[name.len() + 1..], IDENTITY_HRP).unwrap())
        };
        let recipient = |name: &str| {
            let line = IDENTITIES
                .lines()
                .find(|l| l.starts_with(&format!("{name} age1")))
                .unwrap();
            PublicSealingKey::from_age_recipient(&line[name.len() + 1..]).unwrap()
        };
        let fixtures: [(&[u8], &[u8], &[&str]); 4] = [
            (
                include_bytes!("../tests/fixtures/sealed/bulletin-to-a.age"),
                include_bytes!("../tests/fixtures/sealed/bulletin-to-a.plain"),
                &["a"],
            ),
            (
                include_bytes!("../tests/fixtures/sealed/three-recipients.age"),
                include_bytes!("../tests/fixtures/sealed/three-recipients.plain"),
                &["a", "b", "c"],
            ),
            (
                include_bytes!("../tests/fixtures/sealed/empty-to-b.age"),
                include_bytes!("../tests/fixtures/sealed/empty-to-b.plain"),
                &["b"],
            ),
            (
                include_bytes!("../tests/fixtures/sealed/two-chunks-to-a-c.age"),
                include_bytes!("../tests/fixtures/sealed/two-chunks-to-a-c.plain"),
                &["a", "c"],
            ),
        ];
        for (sealed, plain, readers) in fixtures {
            for name in ["a", "b", "c", "outsider"] {
                let secret = identity(name);
                assert_eq!(
                    PublicSealingKey::new(PublicKey::from(&secret)),
                    recipient(name),
                    "{name}'s recipient string"
                );
                match open(sealed, &secret) {
                    Ok(opened) => {
                        assert!(readers.contains(&name), "{name} opened {readers:?}'s file");
                        assert_eq!(opened, plain, "{name}");
                    }
                    Err(e) => {
                        assert!(!readers.contains(&name), "{name}: {e}");
                        assert_eq!(e.code(), "no_matching_recipient");
                    }
                }
            }
        }
    }

    #[test]
    fn padding_hides_the_number_of_recipients() {
        let (secrets, publics) = keys(&[1, 2, 3]);
        for (recipients, stanzas, expected) in [(1, 8, 8), (2, 8, 8), (3, 2, 3), (1, 1, 1)] {
            let sealed = seal_padded(
                b"tlp:red",
                &publics[..recipients],
                stanzas,
                &mut TestRng(20 + stanzas as u64),
            )
            .unwrap();
            assert_eq!(stanza_count(&sealed), expected, "{recipients} to {stanzas}");
            for (i, secret) in secrets.iter().enumerate() {
                let opened = open(&sealed, secret);
                if i < recipients {
                    assert_eq!(opened.unwrap(), b"tlp:red");
                } else {
                    assert_eq!(opened.unwrap_err().code(), "no_matching_recipient");
                }
            }
        }
        // The real stanza is not always first: its position follows the shuffle.
        let (secret, public) = (&secrets[0], publics[0]);
        let positions: std::collections::BTreeSet<usize> = (0..16)
            .map(|seed| {
                let sealed = seal_padded(b"x", &[public], 4, &mut TestRng(100 + seed)).unwrap();
                let (stanzas, mac) = stanzas(&sealed);
                let x25519: Vec<_> = stanzas
                    .iter()
                    .filter(|s| s[0].starts_with("-> X25519 "))
                    .collect();
                assert_eq!(x25519.len(), 4);
                // With one stanza left the MAC no longer matches, but only the stanza that
                // unwraps the file key gets as far as checking it.
                x25519
                    .iter()
                    .position(|stanza| {
                        let mut file =
                            format!("age-encryption.org/v1\n{}\n{mac}\n", stanza.join("\n"))
                                .into_bytes();
                        file.extend_from_slice(&sealed[payload_start(&sealed)..]);
                        open(&file, secret).unwrap_err().code() == "bad_header_mac"
                    })
                    .unwrap()
            })
            .collect();
        assert!(positions.len() > 1, "always at {positions:?}");
    }

    /// Splits a header into its stanzas (argument line and body lines each) and its MAC line.
    fn stanzas(sealed: &[u8]) -> (Vec<Vec<String>>, String) {
        let header = std::str::from_utf8(&sealed[..payload_start(sealed)]).unwrap();
        let mut lines = header.lines().skip(1).peekable();
        let mut out = Vec::new();
        while let Some(line) = lines.next() {
            if line.starts_with("--- ") {
                return (out, line.to_owned());
            }
            let mut stanza = vec![line.to_owned()];
            loop {
                let body = lines.next().unwrap();
                stanza.push(body.to_owned());
                if body.len() < 64 {
                    break;
                }
            }
            out.push(stanza);
        }
        unreachable!("no MAC line")
    }

    #[test]
    fn header_layout_matches_the_spec() {
        let (_, publics) = keys(&[1, 2]);
        let sealed = seal(b"x", &publics, &mut TestRng(9)).unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
        let (stanzas, mac) = stanzas(&sealed);
        // The age crate may add one "grease" stanza of a random type, which readers ignore.
        let x25519: Vec<_> = stanzas
            .iter()
            .filter(|s| s[0].starts_with("-> X25519 "))
            .collect();
        assert_eq!(x25519.len(), 2, "{stanzas:?}");
        assert!(stanzas.len() <= 3, "{stanzas:?}");
        for stanza in x25519 {
            let share = stanza[0].strip_prefix("-> X25519 ").unwrap();
            assert_eq!(share.len(), 43);
            assert_eq!(stanza.len(), 2);
            assert_eq!(stanza[1].len(), 43);
        }
        assert_eq!(mac.len(), 4 + 43);
        // Payload: nonce, one final chunk of one byte plus its tag.
        assert_eq!(sealed.len() - payload_start(&sealed), 16 + 1 + 16);
    }

    #[test]
    fn chunk_boundaries() {
        let (secrets, publics) = keys(&[4]);
        for len in [0, 1, CHUNK_LEN - 1, CHUNK_LEN, CHUNK_LEN + 1, 2 * CHUNK_LEN] {
            let plaintext = sample(len);
            let sealed = seal(&plaintext, &publics, &mut TestRng(len as u64 + 1)).unwrap();
            let chunks = len.div_ceil(CHUNK_LEN).max(1);
            assert_eq!(
                sealed.len() - payload_start(&sealed),
                16 + len + 16 * chunks,
                "{len}"
            );
            assert_eq!(open(&sealed, &secrets[0]).unwrap(), plaintext, "{len}");
        }
    }

    #[test]
    fn a_non_recipient_cannot_open() {
        let (secrets, publics) = keys(&[1, 2, 3]);
        let sealed = seal(b"secret", &publics[..2], &mut TestRng(10)).unwrap();
        let err = open(&sealed, &secrets[2]).unwrap_err();
        assert_eq!(err.code(), "no_matching_recipient");
    }

    #[test]
    fn every_sampled_flipped_byte_is_refused() {
        let (secrets, publics) = keys(&[1, 2]);
        let plaintext = sample(CHUNK_LEN + 100);
        let sealed = seal(&plaintext, &publics, &mut TestRng(11)).unwrap();
        let start = payload_start(&sealed);
        // Every header byte, then a sample of payload positions (nonce, chunk bodies, tags).
        let mut positions: Vec<usize> = (0..start).collect();
        positions.extend((start..sealed.len()).step_by(997));
        positions.extend([
            start + 15,
            start + 16,
            start + 16 + CHUNK_LEN,
            start + 16 + CHUNK_LEN + 15,
            sealed.len() - 17,
            sealed.len() - 1,
        ]);
        for pos in positions {
            for bit in [0x01u8, 0x80] {
                let mut tampered = sealed.clone();
                tampered[pos] ^= bit;
                let result = open(&tampered, &secrets[1]);
                assert!(result.is_err(), "flip {bit:#x} at {pos} was accepted");
            }
        }
        for (pos, code) in [
            (0, "not_age"),
            (start - 5, "bad_header_mac"),
            (start + 100, "payload_corrupt"),
        ] {
            let mut tampered = sealed.clone();
            // Another valid base64 character, so the MAC line still parses.
            tampered[pos] = if tampered[pos] == b'A' { b'B' } else { b'A' };
            assert_eq!(open(&tampered, &secrets[1]).unwrap_err().code(), code);
        }
    }

    #[test]
    fn truncated_or_extended_payload_is_refused() {
        let (secrets, publics) = keys(&[1]);
        for len in [0, 10, CHUNK_LEN, CHUNK_LEN + 1] {
            let sealed = seal(&sample(len), &publics, &mut TestRng(12)).unwrap();
            let start = payload_start(&sealed);
            let mut cuts = vec![start + 16, start + 31, sealed.len() - 1];
            if len > CHUNK_LEN {
                // Dropping the whole final chunk leaves a full chunk not marked final.
                cuts.push(start + 16 + CHUNK_LEN + 16);
            }
            for cut in cuts {
                let err = open(&sealed[..cut], &secrets[0]).unwrap_err();
                assert_eq!(err.code(), "payload_corrupt", "{len} cut at {cut}");
            }
            // Cut inside the nonce: the header reader cannot even start.
            for cut in [start, start + 8] {
                assert!(
                    open(&sealed[..cut], &secrets[0]).is_err(),
                    "{len} cut at {cut}"
                );
            }
            let mut extended = sealed.clone();
            extended.extend_from_slice(&[0; 16]);
            let err = open(&extended, &secrets[0]).unwrap_err();
            assert_eq!(err.code(), "payload_corrupt", "{len} extended");
        }
        // Truncated inside the header.
        let sealed = seal(b"x", &publics, &mut TestRng(13)).unwrap();
        let start = payload_start(&sealed);
        assert_eq!(
            open(&sealed[..start - 1], &secrets[0]).unwrap_err().code(),
            "malformed_stanza"
        );
        assert_eq!(
            open(&sealed[..40], &secrets[0]).unwrap_err().code(),
            "malformed_stanza"
        );
    }

    #[test]
    fn structural_errors_have_their_codes() {
        let (secrets, publics) = keys(&[1]);
        let sealed = seal(b"x", &publics, &mut TestRng(14)).unwrap();
        let text_header = std::str::from_utf8(&sealed[..payload_start(&sealed)])
            .unwrap()
            .to_owned();
        let payload = &sealed[payload_start(&sealed)..];
        let with_header = |header: &str| [header.as_bytes(), payload].concat();
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "not_age"),
            ("age-encryption.org/v2\n".into(), "not_age"),
            (
                "age-encryption.org/v1\n--- AAAA\n".into(),
                "malformed_stanza",
            ),
            (
                text_header.replace("-> X25519 ", "-> X25519  "),
                "malformed_stanza",
            ),
            (
                text_header.replace("-> X25519 ", "->  X25519 "),
                "malformed_stanza",
            ),
            (
                text_header.replace("-> X25519 ", "-> X25519 extra "),
                "malformed_stanza",
            ),
            (
                text_header.replace("\n--- ", "\n\n--- "),
                "malformed_stanza",
            ),
            (text_header.replace("\n--- ", "=\n--- "), "malformed_stanza"),
            (
                text_header.replace("\n--- ", "\r\n--- "),
                "malformed_stanza",
            ),
            (text_header.replace("--- ", "---"), "malformed_stanza"),
            (text_header.replace("--- ", "---  "), "malformed_stanza"),
            // An unknown stanza is ignored, but the MAC covers it.
            (
                text_header.replace("\n-> X25519", "\n-> other.example/x a b\nAAAA\n-> X25519"),
                "bad_header_mac",
            ),
            // Only an unknown stanza.
            (
                format!(
                    "age-encryption.org/v1\n-> other.example/x c2FsdA 10\nAAAA\n--- {}\n",
                    "A".repeat(43)
                ),
                "no_matching_recipient",
            ),
        ];
        for (header, code) in cases {
            let err = open(&with_header(&header), &secrets[0]).unwrap_err();
            assert_eq!(err.code(), code, "{header:?}: {err}");
        }
        let too_large = vec![0u8; MAX_SEALED_LEN + 1];
        assert_eq!(
            open(&too_large, &secrets[0]).unwrap_err().code(),
            "too_large"
        );
    }

    #[test]
    fn seal_refuses_no_recipient_low_order_keys_and_oversized_output() {
        let (_, publics) = keys(&[1]);
        let err = seal(b"x", &[], &mut TestRng(1)).unwrap_err();
        assert_eq!(err.code(), "no_recipients");
        let zero = PublicSealingKey::new(PublicKey::from([0u8; 32]));
        let err = seal(b"x", &[publics[0], zero], &mut TestRng(1)).unwrap_err();
        assert_eq!(err.code(), "invalid_recipient");
        assert!(matches!(err, SealError::InvalidRecipient { index: 1 }));
        let err = seal(&vec![0; MAX_SEALED_LEN], &publics, &mut TestRng(1)).unwrap_err();
        assert_eq!(err.code(), "too_large");
    }

    /// From the C2SP age spec (X25519 recipient type): identity 0x42 * 32 and its recipient.
    #[test]
    fn spec_key_strings() {
        const IDENTITY: &str =
            "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
        const RECIPIENT: &str = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
        let secret = StaticSecret::from([0x42; 32]);
        assert_eq!(age_identity_string(&secret), IDENTITY);
        assert_eq!(*decode_key(IDENTITY, IDENTITY_HRP).unwrap(), [0x42; 32]);
        let public = PublicSealingKey::new(PublicKey::from(&secret));
        assert_eq!(public.to_age_recipient(), RECIPIENT);
        assert_eq!(
            PublicSealingKey::from_age_recipient(RECIPIENT).unwrap(),
            public
        );
        assert_eq!(
            PublicSealingKey::from_age_recipient(&RECIPIENT.to_ascii_uppercase()).unwrap(),
            public
        );
        for bad in [
            &RECIPIENT[..RECIPIENT.len() - 1],
            &RECIPIENT.replace("age1z", "age1x"),
            "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
            IDENTITY,
        ] {
            let err = PublicSealingKey::from_age_recipient(bad).unwrap_err();
            assert_eq!(err.code(), "invalid_public_key", "{bad}");
        }
    }

    #[test]
    fn key_strings_round_trip() {
        for seed in 1..20 {
            let keys = test_keys(seed);
            let public = keys.sealing_public();
            let recipient = public.to_age_recipient();
            assert!(recipient.starts_with("age1") && recipient.len() == 62);
            assert_eq!(
                PublicSealingKey::from_age_recipient(&recipient).unwrap(),
                public
            );
            let identity = age_identity_string(keys.sealing_secret());
            assert!(identity.starts_with("AGE-SECRET-KEY-1") && identity.len() == 74);
            assert_eq!(
                *decode_key(&identity, IDENTITY_HRP).unwrap(),
                keys.sealing_secret().to_bytes()
            );
        }
    }

    /// The header of `stanza_valid_characters` from the age test kit
    /// (age-encryption.org/testkit, in the reference implementation's testdata): unknown
    /// stanzas with every VCHAR and empty bodies are ignored, and the X25519 stanza unwraps the
    /// file key "YELLOW SUBMARINE", whose MAC verifies, so opening gets as far as the payload
    /// (a made-up one here, which fails). Another identity gets no further than the stanzas.
    #[test]
    fn testkit_header_with_unknown_stanzas() {
        const IDENTITY: &str =
            "AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6";
        const HEADER: &str = "age-encryption.org/v1\n\
            -> !\"#$%&' ()*+,-./ 01234567 89:;<=>? @ABCDEFG HIJKLMNO\n\
            \n\
            -> PQRSTUVW XYZ[\\]^_ `abcdefg hijklmno pqrstuvw xyz{|}~\n\
            \n\
            -> X25519 TEiF0ypqr+bpvcqXNyCVJpL7OuwPdVwPL7KQEbFDOCc\n\
            EmECAEcKN+n/Vs9SbWiV+Hu0r+E8R77DdWYyd83nw7U\n\
            --- x538z9xJq9XEK1aTTTv80aWDVvVdROvaXn2tpqXPC8g\n";
        let file = [HEADER.as_bytes(), &[7u8; 16 + 20]].concat();
        let identity = StaticSecret::from(*decode_key(IDENTITY, IDENTITY_HRP).unwrap());
        assert_eq!(
            open(&file, &identity).unwrap_err().code(),
            "payload_corrupt"
        );
        let mut bad_mac = file.clone();
        let at = HEADER.len() - 3;
        bad_mac[at] ^= 1;
        assert_eq!(
            open(&bad_mac, &identity).unwrap_err().code(),
            "bad_header_mac"
        );
        let other = test_keys(1);
        assert_eq!(
            open(&file, other.sealing_secret()).unwrap_err().code(),
            "no_matching_recipient"
        );
    }
}
