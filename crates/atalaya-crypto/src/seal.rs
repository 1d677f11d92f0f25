//! Sealed bodies: a payload encrypted to one or more nodes' X25519 sealing keys in the
//! [age v1 format](https://age-encryption.org/v1) (C2SP `age`), so that any age implementation
//! (`age`, `rage`, `pyrage`, ...) opens it with the recipient's identity.
//!
//! Only the binary format and the native X25519 recipient type are implemented; ASCII armor,
//! scrypt and plugin recipients are not. Everything is in memory: [`open`] refuses input over
//! [`MAX_SEALED_LEN`] and [`seal`] refuses to produce it.
//!
//! # Format (summary of the spec, which is authoritative)
//!
//! * A random 16-byte *file key* per file.
//! * Header: `age-encryption.org/v1\n`, then one stanza per recipient,
//!   `-> X25519 <E>\n<body>\n`, where `E = X25519(e, basepoint)` for a fresh 32-byte ephemeral
//!   secret `e`, the wrap key is HKDF-SHA-256(ikm = X25519(e, R), salt = E || R,
//!   info = `age-encryption.org/v1/X25519`) and the body is ChaCha20-Poly1305 with that key and
//!   a zero nonce over the file key (32 bytes). Base64 is standard without padding (canonical
//!   encodings only); bodies are wrapped at 64 columns and end with a line shorter than 64
//!   (possibly empty). The header closes with `--- <MAC>\n`, the MAC being HMAC-SHA-256 keyed
//!   with HKDF-SHA-256(ikm = file key, salt = empty, info = `header`) over the header up to and
//!   including `---`.
//! * Payload: a random 16-byte nonce, then the plaintext in 64 KiB chunks, each sealed with
//!   ChaCha20-Poly1305 under HKDF-SHA-256(ikm = file key, salt = nonce, info = `payload`) and the
//!   nonce `11-byte big-endian chunk counter || flag`, flag `0x01` for the last chunk and `0x00`
//!   before. The last chunk may be a full 64 KiB; it is empty only when the plaintext is.
//! * Keys as strings: recipients are Bech32 (BIP 173, no length limit) with HRP `age`
//!   (`age1...`, lowercase), identities with HRP `AGE-SECRET-KEY-` (uppercase).

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::Sha256;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::keys::{KeyError, PublicSealingKey};

/// The largest sealed file [`open`] accepts and [`seal`] produces (16 MiB).
pub const MAX_SEALED_LEN: usize = 16 * 1024 * 1024;

const VERSION_LINE: &[u8] = b"age-encryption.org/v1";
const VERSION_PREFIX: &[u8] = b"age-encryption.org/";
const X25519_TAG: &str = "X25519";
const X25519_INFO: &[u8] = b"age-encryption.org/v1/X25519";
const HEADER_INFO: &[u8] = b"header";
const PAYLOAD_INFO: &[u8] = b"payload";
const FILE_KEY_LEN: usize = 16;
const PAYLOAD_NONCE_LEN: usize = 16;
const TAG_LEN: usize = 16;
const CHUNK_LEN: usize = 64 * 1024;
const WRAPPED_KEY_LEN: usize = FILE_KEY_LEN + TAG_LEN;
const BODY_COLUMNS: usize = 64;
const MAC_LINE_PREFIX: &[u8] = b"--- ";
/// Base64 characters of a 32-byte value without padding.
const B64_32_LEN: usize = 43;

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
    /// The input does not start with the age v1 version line.
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
    /// The header MAC line is malformed or the MAC does not verify.
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

fn malformed(reason: &'static str) -> SealError {
    SealError::MalformedStanza { reason }
}

fn corrupt(reason: &'static str) -> SealError {
    SealError::PayloadCorrupt { reason }
}

/// HKDF-SHA-256 with 32 bytes of output.
fn hkdf32(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut okm = Zeroizing::new([0u8; 32]);
    if Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, okm.as_mut())
        .is_err()
    {
        // HKDF-SHA-256 expands up to 255 * 32 bytes; 32 always fits.
        unreachable!("HKDF-SHA-256 refused a 32-byte output");
    }
    okm
}

fn header_mac(file_key: &[u8], header: &[u8]) -> Hmac<Sha256> {
    let key = hkdf32(&[], file_key, HEADER_INFO);
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()) else {
        // HMAC takes keys of any length.
        unreachable!("HMAC-SHA-256 refused a 32-byte key");
    };
    mac.update(header);
    mac
}

fn cipher(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&Key::from(*key))
}

fn chunk_nonce(counter: u64, last: bool) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    Nonce::from(nonce)
}

/// Seals `plaintext` to every key in `recipients` as a binary age v1 file.
///
/// Any one of the recipients' X25519 secrets opens it (with [`open`] or any age
/// implementation). The file key, ephemeral secrets and payload nonce come from `rng`.
/// Duplicate recipients are allowed (each gets its own stanza).
pub fn seal(
    plaintext: &[u8],
    recipients: &[PublicSealingKey],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    let mut file_key = Zeroizing::new([0u8; FILE_KEY_LEN]);
    rng.fill_bytes(file_key.as_mut());

    let mut out = Vec::new();
    out.extend_from_slice(VERSION_LINE);
    out.push(b'\n');
    for (index, recipient) in recipients.iter().enumerate() {
        let ephemeral = EphemeralSecret::random_from_rng(&mut *rng);
        let share = PublicKey::from(&ephemeral);
        let shared = ephemeral.diffie_hellman(recipient.public_key());
        if !shared.was_contributory() {
            return Err(SealError::InvalidRecipient { index });
        }
        let wrap_key = hkdf32(
            &[
                share.as_bytes().as_slice(),
                recipient.public_key().as_bytes(),
            ]
            .concat(),
            shared.as_bytes(),
            X25519_INFO,
        );
        let body = cipher(&wrap_key)
            .encrypt(&Nonce::default(), file_key.as_slice())
            .map_err(|_| SealError::TooLarge {
                len: file_key.len(),
                max: MAX_SEALED_LEN,
            })?;
        out.extend_from_slice(b"-> ");
        out.extend_from_slice(X25519_TAG.as_bytes());
        out.push(b' ');
        out.extend_from_slice(STANDARD_NO_PAD.encode(share.as_bytes()).as_bytes());
        out.push(b'\n');
        push_wrapped_body(&mut out, &body);
    }
    out.extend_from_slice(b"---");
    let mac = header_mac(file_key.as_slice(), &out)
        .finalize()
        .into_bytes();
    out.push(b' ');
    out.extend_from_slice(STANDARD_NO_PAD.encode(mac).as_bytes());
    out.push(b'\n');

    let chunks = plaintext.len().div_ceil(CHUNK_LEN).max(1);
    let total = out.len() + PAYLOAD_NONCE_LEN + plaintext.len() + chunks * TAG_LEN;
    if total > MAX_SEALED_LEN {
        return Err(SealError::TooLarge {
            len: total,
            max: MAX_SEALED_LEN,
        });
    }
    out.reserve_exact(total - out.len());

    let mut nonce = [0u8; PAYLOAD_NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    out.extend_from_slice(&nonce);
    let payload = cipher(&hkdf32(&nonce, file_key.as_slice(), PAYLOAD_INFO));
    let too_large = |_| SealError::TooLarge {
        len: total,
        max: MAX_SEALED_LEN,
    };
    if plaintext.is_empty() {
        let tag = payload
            .encrypt_in_place_detached(&chunk_nonce(0, true), b"", &mut [])
            .map_err(too_large)?;
        out.extend_from_slice(&tag);
    }
    for (index, chunk) in plaintext.chunks(CHUNK_LEN).enumerate() {
        let nonce = chunk_nonce(index as u64, index + 1 == chunks);
        let start = out.len();
        out.extend_from_slice(chunk);
        let tag = payload
            .encrypt_in_place_detached(&nonce, b"", &mut out[start..])
            .map_err(too_large)?;
        out.extend_from_slice(&tag);
    }
    Ok(out)
}

/// Writes `body` as base64 wrapped at 64 columns, ending with a line shorter than 64.
fn push_wrapped_body(out: &mut Vec<u8>, body: &[u8]) {
    let encoded = STANDARD_NO_PAD.encode(body);
    let mut rest = encoded.as_bytes();
    loop {
        let line = &rest[..rest.len().min(BODY_COLUMNS)];
        out.extend_from_slice(line);
        out.push(b'\n');
        if line.len() < BODY_COLUMNS {
            break;
        }
        rest = &rest[BODY_COLUMNS..];
    }
}

/// Opens a sealed body produced by [`seal`] or by any age implementation for an X25519
/// recipient, with that recipient's secret.
///
/// Stanzas of other types are ignored; a malformed X25519 stanza, a header MAC that does not
/// verify and any payload corruption (including truncation) refuse the whole file.
pub fn open(sealed: &[u8], identity: &StaticSecret) -> Result<Vec<u8>, SealError> {
    let (file_key, payload) = open_header(sealed, identity)?;
    decrypt_payload(file_key.as_slice(), payload)
}

/// A parsed recipient stanza.
struct Stanza<'a> {
    args: Vec<&'a str>,
    body: Vec<u8>,
}

/// A parsed header: its stanzas, the bytes the MAC covers, the MAC and the payload after it.
struct Header<'a> {
    stanzas: Vec<Stanza<'a>>,
    mac_input: &'a [u8],
    mac: Vec<u8>,
    payload: &'a [u8],
}

/// The next LF-terminated line at `*pos` (without the LF), advancing past it.
fn next_line<'a>(input: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = input.get(*pos..)?;
    let end = rest.iter().position(|&b| b == b'\n')?;
    *pos += end + 1;
    Some(&rest[..end])
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn parse_header(input: &[u8]) -> Result<Header<'_>, SealError> {
    let mut pos = 0;
    let version = next_line(input, &mut pos).ok_or(SealError::NotAge {
        reason: "no version line",
    })?;
    if version != VERSION_LINE {
        return Err(SealError::NotAge {
            reason: if version.starts_with(VERSION_PREFIX) {
                "unsupported age version"
            } else {
                "missing the age-encryption.org/v1 version line"
            },
        });
    }
    let mut stanzas = Vec::new();
    loop {
        let line_start = pos;
        let line = next_line(input, &mut pos).ok_or(malformed("header ends before its MAC"))?;
        if line.starts_with(b"---") {
            if stanzas.is_empty() {
                return Err(malformed("header has no recipient stanza"));
            }
            let encoded = line
                .strip_prefix(MAC_LINE_PREFIX)
                .filter(|mac| mac.len() == B64_32_LEN)
                .ok_or(SealError::BadHeaderMac)?;
            let mac = STANDARD_NO_PAD
                .decode(encoded)
                .map_err(|_| SealError::BadHeaderMac)?;
            return Ok(Header {
                stanzas,
                mac_input: &input[..line_start + 3],
                mac,
                payload: &input[pos..],
            });
        }
        let args = line
            .strip_prefix(b"-> ")
            .ok_or(malformed("header line is neither a stanza nor the MAC"))?;
        let args = args
            .split(|&b| b == b' ')
            .map(|arg| {
                if !arg.is_empty() && arg.iter().all(|b| b.is_ascii_graphic()) {
                    // ASCII graphic bytes are valid UTF-8.
                    std::str::from_utf8(arg).map_err(|_| malformed("invalid stanza argument"))
                } else {
                    Err(malformed("empty or invalid stanza argument"))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut encoded = Vec::new();
        loop {
            let body_line = next_line(input, &mut pos).ok_or(malformed("truncated stanza body"))?;
            if body_line.len() > BODY_COLUMNS || !body_line.iter().copied().all(is_base64_char) {
                return Err(malformed("invalid stanza body line"));
            }
            encoded.extend_from_slice(body_line);
            if body_line.len() < BODY_COLUMNS {
                break;
            }
        }
        let body = STANDARD_NO_PAD
            .decode(&encoded)
            .map_err(|_| malformed("stanza body is not canonical base64"))?;
        stanzas.push(Stanza { args, body });
    }
}

/// Parses the header, unwraps the file key with `identity` and checks the header MAC. Returns
/// the file key and the payload.
fn open_header<'a>(
    sealed: &'a [u8],
    identity: &StaticSecret,
) -> Result<(Zeroizing<[u8; FILE_KEY_LEN]>, &'a [u8]), SealError> {
    if sealed.len() > MAX_SEALED_LEN {
        return Err(SealError::TooLarge {
            len: sealed.len(),
            max: MAX_SEALED_LEN,
        });
    }
    let header = parse_header(sealed)?;

    // Check every X25519 stanza before trying any, so a malformed one refuses the file
    // whatever its position.
    let mut ours = Vec::new();
    for stanza in &header.stanzas {
        if stanza.args.first() != Some(&X25519_TAG) {
            continue;
        }
        let [_, share] = stanza.args.as_slice() else {
            return Err(malformed("X25519 stanza must have exactly two arguments"));
        };
        let share: [u8; 32] = STANDARD_NO_PAD
            .decode(share)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(malformed(
                "X25519 share is not canonical base64 of 32 bytes",
            ))?;
        let body: &[u8; WRAPPED_KEY_LEN] = stanza
            .body
            .as_slice()
            .try_into()
            .map_err(|_| malformed("X25519 stanza body is not 32 bytes"))?;
        ours.push((PublicKey::from(share), body));
    }

    let recipient = PublicKey::from(identity);
    let mut file_key = None;
    for (share, body) in ours {
        let shared = identity.diffie_hellman(&share);
        if !shared.was_contributory() {
            return Err(malformed("X25519 share is a low-order point"));
        }
        let wrap_key = hkdf32(
            &[share.as_bytes().as_slice(), recipient.as_bytes()].concat(),
            shared.as_bytes(),
            X25519_INFO,
        );
        if let Ok(key) = cipher(&wrap_key).decrypt(&Nonce::default(), body.as_slice()) {
            let key = Zeroizing::new(key);
            let mut unwrapped = Zeroizing::new([0u8; FILE_KEY_LEN]);
            // The body is 32 bytes, so the plaintext is the 16-byte file key.
            if key.len() != FILE_KEY_LEN {
                return Err(malformed("X25519 stanza wraps a key of the wrong size"));
            }
            unwrapped.copy_from_slice(&key);
            file_key = Some(unwrapped);
            break;
        }
    }
    let file_key = file_key.ok_or(SealError::NoMatchingRecipient)?;

    header_mac(file_key.as_slice(), header.mac_input)
        .verify_slice(&header.mac)
        .map_err(|_| SealError::BadHeaderMac)?;
    Ok((file_key, header.payload))
}

fn decrypt_payload(file_key: &[u8], payload: &[u8]) -> Result<Vec<u8>, SealError> {
    if payload.len() < PAYLOAD_NONCE_LEN {
        return Err(corrupt("truncated before the payload nonce"));
    }
    let (nonce, body) = payload.split_at(PAYLOAD_NONCE_LEN);
    if body.is_empty() {
        return Err(corrupt("no final chunk"));
    }
    let payload_cipher = cipher(&hkdf32(nonce, file_key, PAYLOAD_INFO));
    let chunks = body.len().div_ceil(CHUNK_LEN + TAG_LEN);
    let mut out = Vec::with_capacity(body.len());
    for (index, chunk) in body.chunks(CHUNK_LEN + TAG_LEN).enumerate() {
        let last = index + 1 == chunks;
        if chunk.len() < TAG_LEN {
            return Err(corrupt("truncated chunk"));
        }
        if last && chunk.len() == TAG_LEN && index > 0 {
            return Err(corrupt("empty final chunk after a full one"));
        }
        let plain = payload_cipher
            .decrypt(&chunk_nonce(index as u64, last), chunk)
            .map_err(|_| {
                corrupt("chunk fails authentication (tampered, truncated or reordered)")
            })?;
        out.extend_from_slice(&plain);
    }
    Ok(out)
}

impl PublicSealingKey {
    /// The age recipient string for this key: Bech32 with HRP `age`, lowercase (`age1...`).
    pub fn to_age_recipient(&self) -> String {
        bech32::encode(RECIPIENT_HRP, self.public_key().as_bytes())
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
    let lower = Zeroizing::new(bech32::encode(IDENTITY_HRP, secret.as_bytes()));
    lower.to_ascii_uppercase()
}

/// Decodes a Bech32 string with the given (lowercase) HRP carrying exactly 32 bytes.
fn decode_key(text: &str, hrp: &str) -> Result<Zeroizing<[u8; 32]>, &'static str> {
    let (found_hrp, data) = bech32::decode(text)?;
    if found_hrp != hrp {
        return Err("wrong Bech32 prefix");
    }
    let mut key = Zeroizing::new([0u8; 32]);
    if data.len() != key.len() {
        return Err("not 32 bytes long");
    }
    key.copy_from_slice(&data);
    Ok(key)
}

/// BIP 173 Bech32 (not Bech32m), without the 90-character limit (as age uses it).
mod bech32 {
    use zeroize::Zeroizing;

    const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const GENERATORS: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    const CHECKSUM_LEN: usize = 6;

    fn polymod(values: impl IntoIterator<Item = u8>) -> u32 {
        let mut chk: u32 = 1;
        for value in values {
            let top = chk >> 25;
            chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(value);
            for (i, generator) in GENERATORS.iter().enumerate() {
                if (top >> i) & 1 == 1 {
                    chk ^= generator;
                }
            }
        }
        chk
    }

    fn hrp_expand(hrp: &[u8]) -> impl Iterator<Item = u8> + '_ {
        hrp.iter()
            .map(|c| c >> 5)
            .chain([0])
            .chain(hrp.iter().map(|c| c & 31))
    }

    /// Regroups bits (8 to 5 with zero padding, or 5 to 8 refusing leftover bits).
    fn convert_bits(data: &[u8], from: u32, to: u32, pad: bool) -> Option<Vec<u8>> {
        let mut acc: u32 = 0;
        let mut bits: u32 = 0;
        let max = (1u32 << to) - 1;
        let mut out = Vec::with_capacity(data.len() * from as usize / to as usize + 1);
        for &value in data {
            acc = ((acc << from) | u32::from(value)) & 0xffff;
            bits += from;
            while bits >= to {
                bits -= to;
                out.push(((acc >> bits) & max) as u8);
            }
        }
        if pad {
            if bits > 0 {
                out.push(((acc << (to - bits)) & max) as u8);
            }
        } else if bits >= from || (acc << (to - bits)) & max != 0 {
            return None;
        }
        Some(out)
    }

    /// Encodes `data` under the lowercase `hrp`, in lowercase.
    pub(super) fn encode(hrp: &str, data: &[u8]) -> String {
        // Regrouping 8-bit bytes into 5-bit groups with padding always succeeds.
        let words = Zeroizing::new(convert_bits(data, 8, 5, true).unwrap_or_default());
        let checksum = polymod(
            hrp_expand(hrp.as_bytes())
                .chain(words.iter().copied())
                .chain([0; CHECKSUM_LEN]),
        ) ^ 1;
        let mut out = String::with_capacity(hrp.len() + 1 + words.len() + CHECKSUM_LEN);
        out.push_str(hrp);
        out.push('1');
        out.extend(words.iter().map(|&w| char::from(CHARSET[usize::from(w)])));
        out.extend((0..CHECKSUM_LEN).map(|i| {
            let word = (checksum >> (5 * (CHECKSUM_LEN - 1 - i))) & 31;
            char::from(CHARSET[word as usize])
        }));
        out
    }

    /// Decodes a Bech32 string (all lowercase or all uppercase). Returns the lowercase HRP and
    /// the data bytes.
    pub(super) fn decode(text: &str) -> Result<(String, Zeroizing<Vec<u8>>), &'static str> {
        let bytes = text.as_bytes();
        if bytes.iter().any(|b| !(33..=126).contains(b)) {
            return Err("invalid character in Bech32 string");
        }
        let has_lower = bytes.iter().any(u8::is_ascii_lowercase);
        let has_upper = bytes.iter().any(u8::is_ascii_uppercase);
        if has_lower && has_upper {
            return Err("mixed-case Bech32 string");
        }
        let lower = Zeroizing::new(text.to_ascii_lowercase());
        let separator = lower.rfind('1').ok_or("no Bech32 separator")?;
        let (hrp, data) = (&lower[..separator], &lower.as_bytes()[separator + 1..]);
        if hrp.is_empty() || data.len() < CHECKSUM_LEN {
            return Err("Bech32 string too short");
        }
        let words = Zeroizing::new(
            data.iter()
                .map(|c| CHARSET.iter().position(|x| x == c).map(|p| p as u8))
                .collect::<Option<Vec<u8>>>()
                .ok_or("invalid Bech32 data character")?,
        );
        if polymod(hrp_expand(hrp.as_bytes()).chain(words.iter().copied())) != 1 {
            return Err("bad Bech32 checksum");
        }
        let payload = &words[..words.len() - CHECKSUM_LEN];
        let data = convert_bits(payload, 5, 8, false).ok_or("invalid Bech32 padding")?;
        Ok((hrp.to_owned(), Zeroizing::new(data)))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn bip173_valid_vectors() {
            for valid in [
                "A12UEL5L",
                "a12uel5l",
                "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
                "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
                "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
                "?1ezyfcl",
            ] {
                let words = {
                    let lower = valid.to_ascii_lowercase();
                    let sep = lower.rfind('1').unwrap();
                    let hrp = lower[..sep].to_owned();
                    let words: Vec<u8> = lower.as_bytes()[sep + 1..]
                        .iter()
                        .map(|c| CHARSET.iter().position(|x| x == c).unwrap() as u8)
                        .collect();
                    (hrp, words)
                };
                // Checksum validity (the data of some vectors is not whole bytes).
                assert_eq!(
                    polymod(hrp_expand(words.0.as_bytes()).chain(words.1.iter().copied())),
                    1,
                    "{valid}"
                );
            }
        }

        #[test]
        fn bip173_invalid_vectors() {
            for invalid in [
                "pzry9x0s0muk",
                "1pzry9x0s0muk",
                "x1b4n0q5v",
                "li1dgmt3",
                "A1G7SGD8",
                "10a06t8",
                "1qzzfhee",
                "a12UEL5L",
                "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx",
                "de1lg7wt\u{7f}",
            ] {
                assert!(decode(invalid).is_err(), "{invalid}");
            }
        }

        #[test]
        fn bytes_round_trip() {
            for len in [0usize, 1, 5, 20, 32, 33] {
                let data: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(29)).collect();
                let text = encode("test", &data);
                let (hrp, decoded) = decode(&text).unwrap();
                assert_eq!(hrp, "test");
                assert_eq!(decoded.as_slice(), data.as_slice());
                let (_, decoded) = decode(&text.to_ascii_uppercase()).unwrap();
                assert_eq!(decoded.as_slice(), data.as_slice());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{TestRng, test_keys};

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

    #[test]
    fn round_trips_to_one_and_three_recipients() {
        let (secrets, publics) = keys(&[1, 2, 3]);
        let plaintext = b"{\"kind\":\"bulletin\",\"title\":\"\xc3\x91and\xc3\xba\"}";
        let sealed = seal(plaintext, &publics[..1], &mut TestRng(7)).unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1\n-> X25519 "));
        assert_eq!(open(&sealed, &secrets[0]).unwrap(), plaintext);

        let sealed = seal(plaintext, &publics, &mut TestRng(8)).unwrap();
        let header = std::str::from_utf8(&sealed[..payload_start(&sealed)]).unwrap();
        assert_eq!(header.matches("\n-> X25519 ").count(), 3, "{header}");
        for secret in &secrets {
            assert_eq!(open(&sealed, secret).unwrap(), plaintext);
        }
    }

    #[test]
    fn header_layout_matches_the_spec() {
        let (_, publics) = keys(&[1, 2]);
        let sealed = seal(b"x", &publics, &mut TestRng(9)).unwrap();
        let header = std::str::from_utf8(&sealed[..payload_start(&sealed)]).unwrap();
        let lines: Vec<&str> = header.lines().collect();
        assert_eq!(lines.len(), 6, "{header}");
        assert_eq!(lines[0], "age-encryption.org/v1");
        for stanza in [&lines[1..3], &lines[3..5]] {
            let (tag, share) = stanza[0]
                .strip_prefix("-> ")
                .unwrap()
                .split_once(' ')
                .unwrap();
            assert_eq!(tag, "X25519");
            assert_eq!(share.len(), 43);
            assert_eq!(stanza[1].len(), 43);
        }
        assert_eq!(lines[5].len(), 4 + 43);
        // Payload: nonce, one final chunk of one byte plus its tag.
        assert_eq!(sealed.len() - payload_start(&sealed), 16 + 1 + 16);
    }

    #[test]
    fn wrapped_bodies_end_with_a_short_line() {
        for (len, expected) in [
            (0usize, "\n"),
            (32, "\n"),
            (48, "\n\n"),
            (49, "\n\n"),
            (96, "\n\n\n"),
        ] {
            let mut out = Vec::new();
            push_wrapped_body(&mut out, &sample(len));
            let text = String::from_utf8(out).unwrap();
            let newlines: String = text.chars().filter(|&c| c == '\n').collect();
            assert_eq!(newlines, expected, "{len}: {text:?}");
            let lines: Vec<&str> = text.split_terminator('\n').collect();
            assert!(lines.last().is_none_or(|l| l.len() < 64), "{len}");
            assert!(
                lines[..lines.len().saturating_sub(1)]
                    .iter()
                    .all(|l| l.len() == 64)
            );
        }
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
            (start - 2, "bad_header_mac"),
            (start + 100, "payload_corrupt"),
        ] {
            let mut tampered = sealed.clone();
            tampered[pos] ^= 0x02;
            assert_eq!(open(&tampered, &secrets[1]).unwrap_err().code(), code);
        }
    }

    #[test]
    fn truncated_or_extended_payload_is_refused() {
        let (secrets, publics) = keys(&[1]);
        for len in [0, 10, CHUNK_LEN, CHUNK_LEN + 1] {
            let sealed = seal(&sample(len), &publics, &mut TestRng(12)).unwrap();
            let start = payload_start(&sealed);
            let mut cuts = vec![start, start + 8, start + 16, start + 31, sealed.len() - 1];
            if len > CHUNK_LEN {
                // Dropping the whole final chunk leaves a full chunk not marked final.
                cuts.push(start + 16 + CHUNK_LEN + 16);
            }
            for cut in cuts {
                let err = open(&sealed[..cut], &secrets[0]).unwrap_err();
                assert_eq!(err.code(), "payload_corrupt", "{len} cut at {cut}");
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
            (text_header.replace("v1\n", "v1\r\n"), "not_age"),
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
            (text_header.replace("--- ", "---"), "bad_header_mac"),
            (text_header.replace("--- ", "---  "), "bad_header_mac"),
            // An unknown stanza is ignored, but the MAC covers it.
            (
                text_header.replace("\n-> X25519", "\n-> other.example/x a b\nAAAA\n-> X25519"),
                "bad_header_mac",
            ),
            // Only an unknown stanza.
            (
                format!(
                    "age-encryption.org/v1\n-> scrypt c2FsdA 10\nAAAA\n--- {}\n",
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
    /// file key "YELLOW SUBMARINE", whose MAC verifies. (The kit's binary payload is not
    /// reproduced here.)
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
        let identity = StaticSecret::from(*decode_key(IDENTITY, IDENTITY_HRP).unwrap());
        let (file_key, payload) = open_header(HEADER.as_bytes(), &identity).unwrap();
        assert_eq!(file_key.as_slice(), b"YELLOW SUBMARINE");
        assert!(payload.is_empty());
        let other = test_keys(1);
        assert_eq!(
            open_header(HEADER.as_bytes(), other.sealing_secret())
                .unwrap_err()
                .code(),
            "no_matching_recipient"
        );
    }
}
