//! A minimal, strict reader of a transferable OpenPGP **public** key (RFC 9580, and the RFC 4880
//! keys still in use), so the directory can show a team's key fingerprint, expiry and user ids
//! from the key itself instead of trusting what was typed next to it.
//!
//! What it does:
//!
//! * takes ASCII armour (`-----BEGIN PGP PUBLIC KEY BLOCK-----`, optional headers, base64, and
//!   the CRC24 `=XXXX` line, checked when present) or binary, at most [`MAX_KEY_LEN`] bytes;
//! * reads old- and new-format packet headers; partial or indeterminate lengths are refused
//!   (no packet of a key may use them);
//! * requires the first packet to be a public-key packet (tag 6) of version 4 or 6 and computes
//!   its fingerprint (v4: SHA-1 over `0x99 ‖ u16 len ‖ body`, v6: SHA-256 over
//!   `0x9B ‖ u32 len ‖ body`);
//! * reads the self-signatures (user-id certifications 0x10–0x13 and 0x30, direct-key 0x1F,
//!   key revocation 0x20) made by the primary key. Every one of them is hashed and its
//!   left-16 bits compared; for an Ed25519 key (EdDSA legacy, algorithm 22 on the Ed25519 curve,
//!   or Ed25519, algorithm 27) each is also verified cryptographically, and any that fails makes
//!   the whole key [`OpenPgpError::BadSelfSignature`];
//! * the expiry comes from the key-expiration-time subpacket (type 9, hashed area) of the newest
//!   certification or direct-key self-signature.
//!
//! Subkeys, user attributes and third-party certifications are skipped. No I/O, no clock: the
//! caller passes "now" to [`OpenPgpKey::expired_at`].

pub mod sign;

pub use sign::OpenPgpSigner;

use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// The largest key (armoured or binary) accepted: 64 KiB.
pub const MAX_KEY_LEN: usize = 64 * 1024;

/// What a team's public key says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPgpKey {
    /// The primary key's fingerprint, upper-case hexadecimal (40 digits for v4, 64 for v6).
    pub fingerprint: String,
    /// Key packet version (4 or 6).
    pub version: u8,
    /// Public-key algorithm id (1 RSA, 22 EdDSA legacy, 27 Ed25519, ...).
    pub algorithm: u8,
    /// When the key was created (unix seconds).
    pub created: i64,
    /// When the key expires (unix seconds), from the newest self-signature; `None` for never.
    pub expires: Option<i64>,
    /// The user ids bound by a self-signature and not revoked, in the key's order.
    pub user_ids: Vec<String>,
    /// A key revocation signature by the key itself is present.
    pub revoked: bool,
    /// Every self-signature was verified cryptographically (Ed25519 keys only); `false` for
    /// algorithms this reader does not verify (RSA, ...).
    pub self_signature_verified: bool,
}

impl OpenPgpKey {
    /// Whether the key has expired at `unix_now` (a key expires at the instant of its expiry).
    pub fn expired_at(&self, unix_now: i64) -> bool {
        self.expires.is_some_and(|e| unix_now >= e)
    }
}

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenPgpError {
    /// More than [`MAX_KEY_LEN`] bytes.
    #[error("the key is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The ASCII armour is malformed or its checksum does not match.
    #[error("the ASCII armour is malformed: {reason}")]
    BadArmor {
        /// What is wrong.
        reason: String,
    },
    /// The data ends inside a packet.
    #[error("the key data is truncated: {reason}")]
    Truncated {
        /// Where it ended.
        reason: String,
    },
    /// The packets are not well formed.
    #[error("the key data is malformed: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// Not a public key (a secret key, a message, a signature, or not OpenPGP at all).
    #[error("this is not an OpenPGP public key: {reason}")]
    NotAPublicKey {
        /// What it is instead.
        reason: String,
    },
    /// A key or signature version this reader does not know (v3, v5, ...).
    #[error("unsupported OpenPGP {what} version {version}")]
    UnsupportedVersion {
        /// `key`.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// No user id carries a self-signature.
    #[error("the key has no user id bound by a self-signature")]
    NoUserId,
    /// A self-signature does not verify: the key was altered or is corrupt.
    #[error("a self-signature does not verify: {reason}")]
    BadSelfSignature {
        /// Which one and why.
        reason: String,
    },
}

impl OpenPgpError {
    /// A stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            OpenPgpError::TooLarge { .. } => "too-large",
            OpenPgpError::BadArmor { .. } => "bad-armor",
            OpenPgpError::Truncated { .. } => "truncated",
            OpenPgpError::Malformed { .. } => "malformed",
            OpenPgpError::NotAPublicKey { .. } => "not-a-public-key",
            OpenPgpError::UnsupportedVersion { .. } => "unsupported-version",
            OpenPgpError::NoUserId => "no-user-id",
            OpenPgpError::BadSelfSignature { .. } => "bad-self-signature",
        }
    }
}

fn bad_armor(reason: impl Into<String>) -> OpenPgpError {
    OpenPgpError::BadArmor {
        reason: reason.into(),
    }
}

fn truncated(reason: impl Into<String>) -> OpenPgpError {
    OpenPgpError::Truncated {
        reason: reason.into(),
    }
}

fn malformed(reason: impl Into<String>) -> OpenPgpError {
    OpenPgpError::Malformed {
        reason: reason.into(),
    }
}

fn bad_sig(reason: impl Into<String>) -> OpenPgpError {
    OpenPgpError::BadSelfSignature {
        reason: reason.into(),
    }
}

/// Read a transferable public key, armoured or binary.
pub fn parse_public_key(text_or_binary: &[u8]) -> Result<OpenPgpKey, OpenPgpError> {
    if text_or_binary.len() > MAX_KEY_LEN {
        return Err(OpenPgpError::TooLarge {
            len: text_or_binary.len(),
            max: MAX_KEY_LEN,
        });
    }
    let binary = match text_or_binary.first() {
        Some(b) if b & 0x80 != 0 => text_or_binary.to_vec(),
        Some(_) => dearmor(text_or_binary)?,
        None => return Err(truncated("the input is empty")),
    };
    let packets = split_packets(&binary)?;
    read_key(&packets)
}

// ---------------------------------------------------------------------------------------------
// ASCII armour (RFC 9580 §6)

const ARMOR_LABEL: &str = "PUBLIC KEY BLOCK";

/// The binary inside an armoured public key block.
fn dearmor(input: &[u8]) -> Result<Vec<u8>, OpenPgpError> {
    let text = std::str::from_utf8(input).map_err(|_| bad_armor("the text is not UTF-8"))?;
    let mut lines = text.lines().map(|l| l.trim_end_matches([' ', '\t', '\r']));
    let label = loop {
        match lines.next() {
            None => return Err(bad_armor("no `-----BEGIN PGP ...-----` line")),
            Some(line) => {
                if let Some(rest) = line.strip_prefix("-----BEGIN PGP ") {
                    break rest
                        .strip_suffix("-----")
                        .ok_or_else(|| bad_armor("the BEGIN line does not end in `-----`"))?;
                }
            }
        }
    };
    if label != ARMOR_LABEL {
        let what = if label.contains("PRIVATE KEY") {
            "it is a secret key block; export the public key (gpg --armor --export)".to_owned()
        } else {
            format!("the armour is a `{label}`, not a `{ARMOR_LABEL}`")
        };
        return Err(OpenPgpError::NotAPublicKey { reason: what });
    }
    // Armour headers (`Key: value`) up to a blank line; some tools write none and no blank line.
    let mut body = String::new();
    let mut checksum: Option<&str> = None;
    let mut in_headers = true;
    let mut ended = false;
    for line in lines {
        if in_headers {
            if line.is_empty() {
                in_headers = false;
                continue;
            }
            if line.contains(':') {
                continue;
            }
            in_headers = false;
        }
        if line.starts_with("-----END PGP ") {
            if line != format!("-----END PGP {ARMOR_LABEL}-----") {
                return Err(bad_armor("the END line does not match the BEGIN line"));
            }
            ended = true;
            break;
        }
        if checksum.is_some() {
            return Err(bad_armor("text after the checksum line"));
        }
        if let Some(crc) = line.strip_prefix('=') {
            checksum = Some(crc);
            continue;
        }
        body.push_str(line.trim());
    }
    if !ended {
        return Err(bad_armor("no `-----END PGP PUBLIC KEY BLOCK-----` line"));
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| bad_armor(format!("the base64 is invalid ({e})")))?;
    if let Some(crc) = checksum {
        let given = base64::engine::general_purpose::STANDARD
            .decode(crc.as_bytes())
            .ok()
            .filter(|b| b.len() == 3)
            .ok_or_else(|| bad_armor("the checksum line is not `=` and 4 base64 characters"))?;
        let given = u32::from_be_bytes([0, given[0], given[1], given[2]]);
        let actual = crc24(&data);
        if given != actual {
            return Err(bad_armor(format!(
                "the CRC24 checksum does not match (armour says {given:06X}, data gives {actual:06X})"
            )));
        }
    }
    if data.is_empty() {
        return Err(bad_armor("the armour holds no data"));
    }
    Ok(data)
}

/// The OpenPGP CRC24 (RFC 9580 §6.1).
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for &byte in data {
        crc ^= u32::from(byte) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

// ---------------------------------------------------------------------------------------------
// Packets (RFC 9580 §4.2)

/// One packet: its tag and body.
struct Packet<'a> {
    tag: u8,
    body: &'a [u8],
}

/// A cursor over bytes that reports running short as [`OpenPgpError::Truncated`].
struct Reader<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Reader { data, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], OpenPgpError> {
        if self.data.len() < n {
            return Err(truncated(format!("{} ends early", self.what)));
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, OpenPgpError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, OpenPgpError> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u32(&mut self) -> Result<u32, OpenPgpError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn len32(&mut self) -> Result<usize, OpenPgpError> {
        usize::try_from(self.u32()?).map_err(|_| truncated(format!("{} ends early", self.what)))
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }

    /// A multiprecision integer's bytes (RFC 9580 §3.2).
    fn mpi(&mut self) -> Result<&'a [u8], OpenPgpError> {
        let bits = self.u16()?;
        self.take(bits.div_ceil(8))
    }
}

fn split_packets(data: &[u8]) -> Result<Vec<Packet<'_>>, OpenPgpError> {
    let mut packets = Vec::new();
    let mut r = Reader::new(data, "a packet header");
    while !r.is_empty() {
        let ctb = r.u8()?;
        if ctb & 0x80 == 0 {
            return Err(if packets.is_empty() {
                OpenPgpError::NotAPublicKey {
                    reason: "the data is not OpenPGP packets".to_owned(),
                }
            } else {
                malformed(format!("byte {ctb:#04x} is not a packet header"))
            });
        }
        let (tag, len) = if ctb & 0x40 != 0 {
            let tag = ctb & 0x3F;
            let first = r.u8()?;
            let len = match first {
                0..=191 => usize::from(first),
                192..=223 => (usize::from(first - 192) << 8) + usize::from(r.u8()?) + 192,
                255 => r.len32()?,
                _ => {
                    return Err(malformed(format!(
                        "packet type {tag} uses a partial body length, which a key may not"
                    )));
                }
            };
            (tag, len)
        } else {
            let tag = (ctb >> 2) & 0x0F;
            let len = match ctb & 0x03 {
                0 => usize::from(r.u8()?),
                1 => r.u16()?,
                2 => r.len32()?,
                _ => {
                    return Err(malformed(format!(
                        "packet type {tag} has an indeterminate length, which a key may not"
                    )));
                }
            };
            (tag, len)
        };
        let body = r
            .take(len)
            .map_err(|_| truncated(format!("packet type {tag} ends early")))?;
        packets.push(Packet { tag, body });
    }
    Ok(packets)
}

// ---------------------------------------------------------------------------------------------
// The key

const TAG_SIGNATURE: u8 = 2;
const TAG_SECRET_KEY: u8 = 5;
const TAG_PUBLIC_KEY: u8 = 6;
const TAG_SECRET_SUBKEY: u8 = 7;
const TAG_USER_ID: u8 = 13;
const TAG_PUBLIC_SUBKEY: u8 = 14;
const TAG_USER_ATTRIBUTE: u8 = 17;

const ALGO_EDDSA_LEGACY: u8 = 22;
const ALGO_ED25519: u8 = 27;
/// 1.3.6.1.4.1.11591.15.1, the Ed25519 curve of EdDSA legacy keys.
const OID_ED25519_LEGACY: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01];

/// The primary key packet, decoded.
struct PrimaryKey<'a> {
    version: u8,
    body: &'a [u8],
    algorithm: u8,
    created: u32,
    fingerprint: Vec<u8>,
    ed25519: Option<VerifyingKey>,
}

impl PrimaryKey<'_> {
    /// The key id a v4 or v6 signature names as its issuer.
    fn key_id(&self) -> &[u8] {
        match self.version {
            4 => &self.fingerprint[12..],
            _ => &self.fingerprint[..8],
        }
    }

    /// The key packet as it enters a signature hash.
    fn hash_framing(&self) -> Result<Vec<u8>, OpenPgpError> {
        let mut out = Vec::with_capacity(self.body.len() + 5);
        if self.version == 4 {
            let len = u16::try_from(self.body.len())
                .map_err(|_| malformed("a v4 key packet longer than 65535 bytes"))?;
            out.push(0x99);
            out.extend_from_slice(&len.to_be_bytes());
        } else {
            let len = u32::try_from(self.body.len())
                .map_err(|_| malformed("a key packet longer than 4 GiB"))?;
            out.push(0x9B);
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(self.body);
        Ok(out)
    }
}

fn read_primary(body: &[u8]) -> Result<PrimaryKey<'_>, OpenPgpError> {
    let mut r = Reader::new(body, "the public-key packet");
    let version = r.u8()?;
    if version != 4 && version != 6 {
        return Err(OpenPgpError::UnsupportedVersion {
            what: "key",
            version,
        });
    }
    let created = r.u32()?;
    let algorithm = r.u8()?;
    let material = if version == 6 {
        let len = r.len32()?;
        r.take(len)?
    } else {
        r.rest()
    };
    let ed25519 = ed25519_public(algorithm, material)?;
    let fingerprint = if version == 4 {
        let mut framing = vec![0x99];
        let len = u16::try_from(body.len())
            .map_err(|_| malformed("a v4 key packet longer than 65535 bytes"))?;
        framing.extend_from_slice(&len.to_be_bytes());
        let mut h = Sha1::new();
        h.update(&framing);
        h.update(body);
        h.finalize().to_vec()
    } else {
        let len = u32::try_from(body.len()).map_err(|_| malformed("key packet too long"))?;
        let mut h = Sha256::new();
        h.update([0x9B]);
        h.update(len.to_be_bytes());
        h.update(body);
        h.finalize().to_vec()
    };
    Ok(PrimaryKey {
        version,
        body,
        algorithm,
        created,
        fingerprint,
        ed25519,
    })
}

/// The Ed25519 public key of an EdDSA legacy (Ed25519 curve) or Ed25519 key, else `None`.
fn ed25519_public(algorithm: u8, material: &[u8]) -> Result<Option<VerifyingKey>, OpenPgpError> {
    let raw: [u8; 32] = match algorithm {
        ALGO_ED25519 => material
            .get(..32)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| truncated("the Ed25519 public key ends early"))?,
        ALGO_EDDSA_LEGACY => {
            let mut r = Reader::new(material, "the EdDSA public key");
            let oid_len = usize::from(r.u8()?);
            let oid = r.take(oid_len)?;
            if oid != OID_ED25519_LEGACY {
                // EdDSA on another curve (Ed448 legacy): read, not verified.
                return Ok(None);
            }
            let point = r.mpi()?;
            // Native point encoding: 0x40 then the 32 bytes.
            match point {
                [0x40, rest @ ..] if rest.len() == 32 => {
                    rest.try_into().map_err(|_| malformed("bad EdDSA point"))?
                }
                _ => {
                    return Err(malformed(
                        "the EdDSA public key is not a 0x40-prefixed point",
                    ));
                }
            }
        }
        _ => return Ok(None),
    };
    VerifyingKey::from_bytes(&raw)
        .map(Some)
        .map_err(|_| malformed("the Ed25519 public key is not a valid point"))
}

/// A signature packet, decoded far enough to check it.
struct SigPacket<'a> {
    version: u8,
    sig_type: u8,
    pub_algorithm: u8,
    hash_algorithm: u8,
    /// Version through the end of the hashed subpackets.
    hashed_part: &'a [u8],
    hashed_subpackets: &'a [u8],
    unhashed_subpackets: &'a [u8],
    left16: [u8; 2],
    salt: &'a [u8],
    material: &'a [u8],
}

/// `Ok(None)` for a v3 (or other old) signature, which a modern self-signature never is.
fn read_signature(body: &[u8]) -> Result<Option<SigPacket<'_>>, OpenPgpError> {
    let mut r = Reader::new(body, "a signature packet");
    let version = r.u8()?;
    if version != 4 && version != 6 {
        return Ok(None);
    }
    let sig_type = r.u8()?;
    let pub_algorithm = r.u8()?;
    let hash_algorithm = r.u8()?;
    let hashed_len = if version == 4 { r.u16()? } else { r.len32()? };
    let hashed_subpackets = r.take(hashed_len)?;
    let hashed_end = body.len() - r.data.len();
    let unhashed_len = if version == 4 { r.u16()? } else { r.len32()? };
    let unhashed_subpackets = r.take(unhashed_len)?;
    let left = r.take(2)?;
    let salt = if version == 6 {
        let n = usize::from(r.u8()?);
        r.take(n)?
    } else {
        &[]
    };
    Ok(Some(SigPacket {
        version,
        sig_type,
        pub_algorithm,
        hash_algorithm,
        hashed_part: &body[..hashed_end],
        hashed_subpackets,
        unhashed_subpackets,
        left16: [left[0], left[1]],
        salt,
        material: r.rest(),
    }))
}

/// What the subpackets of a signature say.
#[derive(Default)]
struct Subpackets {
    created: Option<u32>,
    key_expiry: Option<u32>,
    issuer_ids: Vec<Vec<u8>>,
    issuer_fingerprints: Vec<Vec<u8>>,
}

fn read_subpackets(area: &[u8], hashed: bool, out: &mut Subpackets) -> Result<(), OpenPgpError> {
    let mut r = Reader::new(area, "a signature subpacket");
    while !r.is_empty() {
        let first = r.u8()?;
        let len = match first {
            0..=191 => usize::from(first),
            192..=254 => (usize::from(first - 192) << 8) + usize::from(r.u8()?) + 192,
            255 => r.len32()?,
        };
        let data = r.take(len)?;
        let Some((&kind, value)) = data.split_first() else {
            return Err(malformed("an empty signature subpacket"));
        };
        let four = |v: &[u8]| -> Result<u32, OpenPgpError> {
            <[u8; 4]>::try_from(v)
                .map(u32::from_be_bytes)
                .map_err(|_| malformed(format!("subpacket {} is not 4 bytes", kind & 0x7F)))
        };
        match (kind & 0x7F, hashed) {
            (2, true) => out.created = Some(four(value)?),
            (9, true) => out.key_expiry = Some(four(value)?),
            (16, _) => out.issuer_ids.push(value.to_vec()),
            (33, _) => {
                if let Some((_version, fpr)) = value.split_first() {
                    out.issuer_fingerprints.push(fpr.to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// What a signature is attached to.
enum Component<'a> {
    Primary,
    UserId(&'a [u8]),
    UserAttribute(&'a [u8]),
    Subkey,
}

/// A user id and the self-signatures seen on it.
struct UserIdState {
    text: String,
    newest_cert: Option<u32>,
    newest_revocation: Option<u32>,
}

fn read_key(packets: &[Packet<'_>]) -> Result<OpenPgpKey, OpenPgpError> {
    let first = packets.first().ok_or_else(|| truncated("no packets"))?;
    match first.tag {
        TAG_PUBLIC_KEY => {}
        TAG_SECRET_KEY => {
            return Err(OpenPgpError::NotAPublicKey {
                reason: "it is a secret key; export the public key (gpg --armor --export)"
                    .to_owned(),
            });
        }
        other => {
            return Err(OpenPgpError::NotAPublicKey {
                reason: format!("the first packet is of type {other}, not a public key (6)"),
            });
        }
    }
    let primary = read_primary(first.body)?;
    let framing = primary.hash_framing()?;

    let mut component = Component::Primary;
    let mut user_ids: Vec<UserIdState> = Vec::new();
    let mut newest_binding: Option<(u32, Option<u32>)> = None; // (created, key expiry)
    let mut revoked = false;
    let mut verified_any = false;

    for packet in &packets[1..] {
        match packet.tag {
            TAG_PUBLIC_KEY => return Err(malformed("the block holds more than one key")),
            TAG_SECRET_KEY | TAG_SECRET_SUBKEY => {
                return Err(OpenPgpError::NotAPublicKey {
                    reason: "the block contains secret key material".to_owned(),
                });
            }
            TAG_USER_ID => {
                component = Component::UserId(packet.body);
                user_ids.push(UserIdState {
                    text: String::from_utf8_lossy(packet.body).into_owned(),
                    newest_cert: None,
                    newest_revocation: None,
                });
            }
            TAG_USER_ATTRIBUTE => component = Component::UserAttribute(packet.body),
            TAG_PUBLIC_SUBKEY => component = Component::Subkey,
            TAG_SIGNATURE => {
                let Some(sig) = read_signature(packet.body)? else {
                    continue;
                };
                let mut sub = Subpackets::default();
                read_subpackets(sig.hashed_subpackets, true, &mut sub)?;
                read_subpackets(sig.unhashed_subpackets, false, &mut sub)?;
                if !is_self_signature(&primary, &sub) {
                    continue; // a third-party certification
                }
                let target: Option<(u8, &[u8])> = match (&component, sig.sig_type) {
                    (Component::Primary, 0x1F | 0x20) => None,
                    (Component::UserId(uid), 0x10..=0x13 | 0x30) => Some((0xB4, uid)),
                    (Component::UserAttribute(ua), 0x10..=0x13 | 0x30) => Some((0xD1, ua)),
                    // Subkey bindings and anything else: not about the primary key's identity.
                    _ => continue,
                };
                let created = sub
                    .created
                    .ok_or_else(|| malformed("a self-signature without a hashed creation time"))?;
                if check_signature(&primary, &framing, target, &sig)? {
                    verified_any = true;
                }
                match sig.sig_type {
                    0x20 => revoked = true,
                    0x30 => {
                        if let (Component::UserId(_), Some(uid)) = (&component, user_ids.last_mut())
                        {
                            uid.newest_revocation = uid.newest_revocation.max(Some(created));
                        }
                    }
                    _ => {
                        if let (Component::UserId(_), Some(uid)) = (&component, user_ids.last_mut())
                        {
                            uid.newest_cert = uid.newest_cert.max(Some(created));
                        }
                        if newest_binding.is_none_or(|(t, _)| created >= t) {
                            newest_binding = Some((created, sub.key_expiry));
                        }
                    }
                }
            }
            _ => {} // trust, marker, padding and future packets are skipped
        }
    }

    let user_ids: Vec<String> = user_ids
        .into_iter()
        .filter(|u| match (u.newest_cert, u.newest_revocation) {
            (Some(cert), Some(revocation)) => cert > revocation,
            (Some(_), None) => true,
            (None, _) => false,
        })
        .map(|u| u.text)
        .collect();
    if user_ids.is_empty() {
        return Err(OpenPgpError::NoUserId);
    }
    let created = i64::from(primary.created);
    let expires = newest_binding
        .and_then(|(_, expiry)| expiry)
        .filter(|&seconds| seconds != 0)
        .map(|seconds| created + i64::from(seconds));
    Ok(OpenPgpKey {
        fingerprint: hex_upper(&primary.fingerprint),
        version: primary.version,
        algorithm: primary.algorithm,
        created,
        expires,
        user_ids,
        revoked,
        self_signature_verified: primary.ed25519.is_some() && verified_any,
    })
}

/// A signature is a self-signature when every issuer it names is the primary key (or it names
/// none, as very old keys do).
fn is_self_signature(primary: &PrimaryKey<'_>, sub: &Subpackets) -> bool {
    sub.issuer_fingerprints
        .iter()
        .all(|f| f.as_slice() == primary.fingerprint.as_slice())
        && sub
            .issuer_ids
            .iter()
            .all(|id| id.as_slice() == primary.key_id())
}

/// Hash a self-signature and check it: the left 16 bits always, the signature itself for an
/// Ed25519 key. `Ok(true)` when verified cryptographically.
fn check_signature(
    primary: &PrimaryKey<'_>,
    framing: &[u8],
    target: Option<(u8, &[u8])>,
    sig: &SigPacket<'_>,
) -> Result<bool, OpenPgpError> {
    let mut data = Vec::with_capacity(framing.len() + sig.hashed_part.len() + 64);
    data.extend_from_slice(sig.salt);
    data.extend_from_slice(framing);
    if let Some((prefix, bytes)) = target {
        let len = u32::try_from(bytes.len()).map_err(|_| malformed("user id too long"))?;
        data.push(prefix);
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(bytes);
    }
    data.extend_from_slice(sig.hashed_part);
    let hashed_len =
        u32::try_from(sig.hashed_part.len()).map_err(|_| malformed("hashed area too long"))?;
    data.extend_from_slice(&[sig.version, 0xFF]);
    data.extend_from_slice(&hashed_len.to_be_bytes());

    let what = format!("signature type {:#04x}", sig.sig_type);
    let digest = match sig.hash_algorithm {
        2 => Sha1::digest(&data).to_vec(),
        8 => Sha256::digest(&data).to_vec(),
        9 => Sha384::digest(&data).to_vec(),
        10 => Sha512::digest(&data).to_vec(),
        11 => Sha224::digest(&data).to_vec(),
        other => {
            if primary.ed25519.is_some() {
                return Err(bad_sig(format!(
                    "{what} uses hash algorithm {other}, which is not supported"
                )));
            }
            return Ok(false);
        }
    };
    if digest.get(..2) != Some(&sig.left16[..]) {
        return Err(bad_sig(format!("{what}: the hash does not match")));
    }
    let Some(key) = primary.ed25519 else {
        return Ok(false);
    };
    if sig.hash_algorithm == 2 {
        return Err(bad_sig(format!("{what} uses SHA-1, which is not accepted")));
    }
    if sig.pub_algorithm != primary.algorithm {
        return Err(bad_sig(format!(
            "{what} is made with algorithm {}, the key is {}",
            sig.pub_algorithm, primary.algorithm
        )));
    }
    let raw = ed25519_signature_bytes(sig.pub_algorithm, sig.material)?;
    key.verify_strict(&digest, &Signature::from_bytes(&raw))
        .map_err(|_| bad_sig(format!("{what} does not verify with the key")))?;
    Ok(true)
}

/// R ‖ S of an Ed25519 signature: two MPIs (EdDSA legacy) or 64 raw bytes (Ed25519).
fn ed25519_signature_bytes(algorithm: u8, material: &[u8]) -> Result<[u8; 64], OpenPgpError> {
    let mut out = [0u8; 64];
    if algorithm == ALGO_ED25519 {
        let raw = material
            .get(..64)
            .ok_or_else(|| truncated("the Ed25519 signature ends early"))?;
        out.copy_from_slice(raw);
        return Ok(out);
    }
    let mut r = Reader::new(material, "the EdDSA signature");
    for half in 0..2 {
        let mpi = r.mpi()?;
        // MPIs drop leading zero bytes; put them back.
        let start = 32usize
            .checked_sub(mpi.len())
            .ok_or_else(|| bad_sig("an EdDSA signature value longer than 32 bytes"))?;
        out[half * 32 + start..half * 32 + 32].copy_from_slice(mpi);
    }
    Ok(out)
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    // Made with GnuPG 2.2.40; see tests/fixtures/openpgp/README.md. The constants are what
    // `gpg --with-colons --list-keys` reported for each key when it was generated.
    const CERT: &str = include_str!("../tests/fixtures/openpgp/cert.asc");
    const CERT_FPR: &str = "94874EE43FC765E7F92D7EB92801CDF236D314C2";
    const CERT_CREATED: i64 = 1_795_384_981;
    const CERT_EXPIRES: i64 = 1_858_456_981;
    const CERT_UID: &str = "Test CSIRT <cert@example.org>";

    const RSA: &str = include_str!("../tests/fixtures/openpgp/rsa.asc");
    const RSA_FPR: &str = "CD3FA923D3E9B7880B99AD81E73D86882FC81731";
    const RSA_CREATED: i64 = 1_795_384_981;
    const RSA_EXPIRES: i64 = 1_858_456_981;
    const RSA_UID: &str = "RSA CSIRT <rsa@example.org>";

    const FOREVER: &str = include_str!("../tests/fixtures/openpgp/forever.asc");
    const FOREVER_FPR: &str = "C5B4995E0C7B0C8993E1BA9D7BAF98658EF9A51D";
    const FOREVER_UID: &str = "Forever CSIRT <forever@example.org>";

    const EXPIRED: &str = include_str!("../tests/fixtures/openpgp/expired.asc");
    const EXPIRED_FPR: &str = "13334A89D4214983154201D51B006240395A8F69";
    const EXPIRED_CREATED: i64 = 1_577_836_800;
    const EXPIRED_EXPIRES: i64 = 1_577_923_200;

    const REVOKED: &str = include_str!("../tests/fixtures/openpgp/revoked.asc");
    const REVOKED_FPR: &str = "876358B328E5CE44A0DB5A3B3E21448BD273C882";

    const SECRET: &str = include_str!("../tests/fixtures/openpgp/secret-key.asc");

    /// RFC 9580 Appendix A.3, the sample v6 certificate (Ed25519 primary key, direct-key
    /// self-signature, no user id).
    const RFC9580_V6_CERT: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----

xioGY4d/4xsAAAAg+U2nu0jWCmHlZ3BqZYfQMxmZu52JGggkLq2EVD34laPCsQYf
GwoAAABCBYJjh3/jAwsJBwUVCg4IDAIWAAKbAwIeCSIhBssYbE8GCaaX5NUt+mxy
KwwfHifBilZwj2Ul7Ce62azJBScJAgcCAAAAAK0oIBA+LX0ifsDm185Ecds2v8lw
gyU2kCcUmKfvBXbAf6rhRYWzuQOwEn7E/aLwIwRaLsdry0+VcallHhSu4RN6HWaE
QsiPlR4zxP/TP7mhfVEe7XWPxtnMUMtf15OyA51YBM4qBmOHf+MZAAAAIIaTJINn
+eUBXbki+PSAld2nhJh/LVmFsS+60WyvXkQ1wpsGGBsKAAAALAWCY4d/4wKbDCIh
BssYbE8GCaaX5NUt+mxyKwwfHifBilZwj2Ul7Ce62azJAAAAAAQBIKbpGG2dWTX8
j+VjFM21J0hqWlEg+bdiojWnKfA5AQpWUWtnNwDEM0g12vYxoWM8Y81W+bHBw805
I8kWVkXU6vFOi+HWvv/ira7ofJu16NnoUkhclkUrk0mXubZvyl4GBg==
-----END PGP PUBLIC KEY BLOCK-----
";

    fn code(input: &[u8]) -> &'static str {
        parse_public_key(input).unwrap_err().code()
    }

    fn binary(armored: &str) -> Vec<u8> {
        dearmor(armored.as_bytes()).unwrap()
    }

    #[test]
    fn the_ed25519_key_reads_as_gpg_saw_it_and_its_self_signature_verifies() {
        let key = parse_public_key(CERT.as_bytes()).unwrap();
        assert_eq!(key.fingerprint, CERT_FPR);
        assert_eq!(key.version, 4);
        assert_eq!(key.algorithm, ALGO_EDDSA_LEGACY);
        assert_eq!(key.created, CERT_CREATED);
        assert_eq!(key.expires, Some(CERT_EXPIRES));
        assert_eq!(key.user_ids, vec![CERT_UID.to_owned()]);
        assert!(!key.revoked);
        assert!(key.self_signature_verified);
        assert!(!key.expired_at(CERT_EXPIRES - 1));
        assert!(key.expired_at(CERT_EXPIRES));
    }

    #[test]
    fn binary_input_reads_the_same_as_armour() {
        let armoured = parse_public_key(CERT.as_bytes()).unwrap();
        assert_eq!(parse_public_key(&binary(CERT)).unwrap(), armoured);
    }

    #[test]
    fn the_rsa_key_is_read_but_not_claimed_verified() {
        let key = parse_public_key(RSA.as_bytes()).unwrap();
        assert_eq!(key.fingerprint, RSA_FPR);
        assert_eq!(key.algorithm, 1);
        assert_eq!(key.created, RSA_CREATED);
        assert_eq!(key.expires, Some(RSA_EXPIRES));
        assert_eq!(key.user_ids, vec![RSA_UID.to_owned()]);
        assert!(!key.self_signature_verified);
    }

    #[test]
    fn a_key_without_expiry_never_expires() {
        let key = parse_public_key(FOREVER.as_bytes()).unwrap();
        assert_eq!(key.fingerprint, FOREVER_FPR);
        assert_eq!(key.expires, None);
        assert_eq!(key.user_ids, vec![FOREVER_UID.to_owned()]);
        assert!(!key.expired_at(i64::MAX));
        assert!(key.self_signature_verified);
    }

    #[test]
    fn an_expired_key_is_read_and_reported_expired() {
        let key = parse_public_key(EXPIRED.as_bytes()).unwrap();
        assert_eq!(key.fingerprint, EXPIRED_FPR);
        assert_eq!(key.created, EXPIRED_CREATED);
        assert_eq!(key.expires, Some(EXPIRED_EXPIRES));
        assert!(key.expired_at(CERT_CREATED));
        assert!(!key.expired_at(EXPIRED_CREATED));
    }

    #[test]
    fn a_revoked_key_says_so() {
        let key = parse_public_key(REVOKED.as_bytes()).unwrap();
        assert_eq!(key.fingerprint, REVOKED_FPR);
        assert!(key.revoked);
        assert!(!parse_public_key(CERT.as_bytes()).unwrap().revoked);
    }

    #[test]
    fn a_secret_key_is_refused_armoured_or_binary() {
        assert_eq!(code(SECRET.as_bytes()), "not-a-public-key");
        // The same packets under a public-key armour label are still a secret key.
        let packets = dearmor_any(SECRET);
        assert_eq!(split_packets(&packets).unwrap()[0].tag, TAG_SECRET_KEY);
        assert_eq!(code(&packets), "not-a-public-key");
    }

    /// Decode armour whatever its label (test only).
    fn dearmor_any(armored: &str) -> Vec<u8> {
        let body: String = armored
            .lines()
            .skip_while(|l| !l.is_empty())
            .take_while(|l| !l.starts_with('='))
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .unwrap()
    }

    #[test]
    fn a_wrong_checksum_is_refused() {
        let crc_line = CERT.lines().find(|l| l.starts_with('=')).unwrap();
        let bad = CERT.replace(crc_line, "=AAAA");
        assert_eq!(code(bad.as_bytes()), "bad-armor");
        // Without the checksum line the key is still read (the line is optional).
        let without = CERT.replace(&format!("{crc_line}\n"), "");
        assert_eq!(
            parse_public_key(without.as_bytes()).unwrap().fingerprint,
            CERT_FPR
        );
    }

    #[test]
    fn broken_armour_is_refused() {
        let no_end = CERT.replace("-----END PGP PUBLIC KEY BLOCK-----", "");
        assert_eq!(code(no_end.as_bytes()), "bad-armor");
        let bad_base64 = CERT.replacen("mDME", "m!ME", 1);
        assert_eq!(code(bad_base64.as_bytes()), "bad-armor");
        assert_eq!(code(b"hello, this is not a key"), "bad-armor");
        let message = "-----BEGIN PGP MESSAGE-----\n\nowE=\n-----END PGP MESSAGE-----\n";
        assert_eq!(code(message.as_bytes()), "not-a-public-key");
    }

    #[test]
    fn armour_headers_and_crlf_are_accepted() {
        let with_headers = CERT
            .replacen(
                "-----\n\n",
                "-----\nComment: Test CSIRT\nVersion: GnuPG\n\n",
                1,
            )
            .replace('\n', "\r\n");
        let key = parse_public_key(with_headers.as_bytes()).unwrap();
        assert_eq!(key.fingerprint, CERT_FPR);
    }

    #[test]
    fn truncated_keys_are_refused() {
        let data = binary(CERT);
        for cut in [1, 2, 10, data.len() / 2, data.len() - 1] {
            let err = parse_public_key(&data[..cut]).unwrap_err();
            assert_eq!(err.code(), "truncated", "cut at {cut}: {err}");
        }
        assert_eq!(code(b""), "truncated");
    }

    #[test]
    fn random_bytes_are_refused() {
        // A fixed pseudo-random sequence (xorshift), so the test is repeatable.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..200 {
            let len = 1 + round * 7 % 300;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect();
            assert!(parse_public_key(&bytes).is_err(), "round {round}");
        }
    }

    #[test]
    fn oversized_input_is_refused_before_anything_else() {
        let mut big = CERT.as_bytes().to_vec();
        big.resize(MAX_KEY_LEN + 1, b'\n');
        assert_eq!(code(&big), "too-large");
        let mut at_limit = CERT.as_bytes().to_vec();
        at_limit.resize(MAX_KEY_LEN, b'\n');
        assert_eq!(
            parse_public_key(&at_limit).unwrap().fingerprint,
            CERT_FPR,
            "exactly 64 KiB is accepted"
        );
    }

    /// Replace one user id by another of the same length, as an attacker re-labelling a key
    /// would.
    fn tamper_user_id(armored: &str, from: &str, to: &str) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let data = binary(armored);
        let at = data
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .unwrap();
        let mut out = data.clone();
        out[at..at + to.len()].copy_from_slice(to.as_bytes());
        out
    }

    #[test]
    fn a_tampered_user_id_breaks_the_self_signature() {
        let tampered = tamper_user_id(CERT, "cert@example.org", "evil@example.org");
        assert_eq!(code(&tampered), "bad-self-signature");
        let rsa = tamper_user_id(RSA, "rsa@example.org", "bad@example.org");
        assert_eq!(code(&rsa), "bad-self-signature");
    }

    #[test]
    fn a_forged_ed25519_signature_with_the_right_hash_prefix_is_refused() {
        // Flip a byte of the signature value (the last bytes of the signature packet), keeping
        // the left-16 bits: only the cryptographic check can catch it.
        let mut data = binary(CERT);
        let last = data.len() - 1;
        data[last] ^= 0x01;
        assert_eq!(code(&data), "bad-self-signature");
    }

    #[test]
    fn partial_lengths_and_wrong_first_packets_are_refused() {
        let data = binary(CERT);
        // New-format header with a partial body length.
        let mut partial = vec![0xC6, 0xE1];
        partial.extend_from_slice(&data[2..]);
        assert_eq!(code(&partial), "malformed");
        // A user id packet first.
        assert_eq!(code(&[0xB4, 0x01, b'x']), "not-a-public-key");
        // A v3 key.
        assert_eq!(code(&[0x98, 0x06, 3, 0, 0, 0, 0, 1]), "unsupported-version");
    }

    #[test]
    fn a_key_without_user_id_is_refused() {
        let data = binary(CERT);
        // Keep only the public-key packet (old format, 1-byte length).
        let key_len = usize::from(data[1]) + 2;
        assert_eq!(code(&data[..key_len]), "no-user-id");
    }

    #[test]
    fn the_rfc_9580_v6_sample_has_the_published_fingerprint_and_a_valid_signature() {
        let bytes = binary(RFC9580_V6_CERT);
        let packets = split_packets(&bytes).unwrap();
        let primary = read_primary(packets[0].body).unwrap();
        assert_eq!(
            hex_upper(&primary.fingerprint),
            "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9"
        );
        assert_eq!(primary.algorithm, ALGO_ED25519);
        let sig = read_signature(packets[1].body).unwrap().unwrap();
        assert_eq!(sig.sig_type, 0x1F);
        let framing = primary.hash_framing().unwrap();
        assert!(check_signature(&primary, &framing, None, &sig).unwrap());
        // It carries no user id, so as a directory key it is refused.
        assert_eq!(code(RFC9580_V6_CERT.as_bytes()), "no-user-id");
    }

    #[test]
    fn the_rfc_9580_v4_ed25519_legacy_sample_has_the_published_fingerprint() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode("xjMEU/NfCxYJKwYBBAHaRw8BAQdAPwmJlL3ZFu1AUxl5NOSofIBzOhKA1i+AEJkuQ+47JAY=")
            .unwrap();
        let packets = split_packets(&bytes).unwrap();
        let primary = read_primary(packets[0].body).unwrap();
        assert_eq!(
            hex_upper(&primary.fingerprint),
            "C959BDBAFA32A2F89A153B678CFDE12197965A9A"
        );
        assert!(primary.ed25519.is_some());
    }

    fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xC0 | tag, 0xFF];
        out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    /// A v4 key of algorithm 27 (Ed25519, RFC 9580), signed the way the RFC says, as gpg 2.2
    /// cannot make one.
    fn v4_ed25519_key(uid: &str, signed_uid: &str, expiry: u32) -> Vec<u8> {
        let secret = SigningKey::from_bytes(&[7; 32]);
        let mut key = vec![4, 0x60, 0, 0, 0, ALGO_ED25519];
        key.extend_from_slice(secret.verifying_key().as_bytes());
        let fingerprint = read_primary(&key).unwrap().fingerprint;
        let mut hashed = vec![5, 2, 0x60, 0, 0, 1, 5, 9];
        hashed.extend_from_slice(&expiry.to_be_bytes());
        hashed.extend_from_slice(&[22, 33, 4]);
        hashed.extend_from_slice(&fingerprint);
        let mut sig_head = vec![4, 0x13, ALGO_ED25519, 8];
        sig_head.extend_from_slice(&u16::try_from(hashed.len()).unwrap().to_be_bytes());
        sig_head.extend_from_slice(&hashed);
        let mut data = vec![0x99];
        data.extend_from_slice(&u16::try_from(key.len()).unwrap().to_be_bytes());
        data.extend_from_slice(&key);
        data.push(0xB4);
        data.extend_from_slice(&u32::try_from(signed_uid.len()).unwrap().to_be_bytes());
        data.extend_from_slice(signed_uid.as_bytes());
        data.extend_from_slice(&sig_head);
        data.extend_from_slice(&[4, 0xFF]);
        data.extend_from_slice(&u32::try_from(sig_head.len()).unwrap().to_be_bytes());
        let digest = Sha256::digest(&data);
        let mut sig = sig_head;
        sig.extend_from_slice(&[0, 0]); // no unhashed subpackets
        sig.extend_from_slice(&digest[..2]);
        sig.extend_from_slice(&secret.sign(&digest).to_bytes());
        let mut out = packet(TAG_PUBLIC_KEY, &key);
        out.extend(packet(TAG_USER_ID, uid.as_bytes()));
        out.extend(packet(TAG_SIGNATURE, &sig));
        out
    }

    #[test]
    fn a_v4_ed25519_key_of_algorithm_27_is_verified() {
        let key = parse_public_key(&v4_ed25519_key(
            "A <a@example.org>",
            "A <a@example.org>",
            86_400,
        ))
        .unwrap();
        assert_eq!(key.algorithm, ALGO_ED25519);
        assert_eq!(key.expires, Some(0x6000_0000 + 86_400));
        assert!(key.self_signature_verified);
        let forged = v4_ed25519_key("B <a@example.org>", "A <a@example.org>", 86_400);
        assert_eq!(code(&forged), "bad-self-signature");
    }

    #[test]
    fn a_third_party_certification_does_not_count() {
        let mut data = binary(CERT);
        // Append a copy of the self-signature claiming another issuer fingerprint: it is a
        // third-party certification, so it is skipped rather than failing verification.
        // gpg wrote the self-signature last, old format with a 1-byte length of 150.
        let sig_start = data.len() - 152;
        assert_eq!(&data[sig_start..sig_start + 2], &[0x88, 150]);
        let mut other = data[sig_start..].to_vec();
        let fpr_at = other
            .windows(20)
            .position(|w| w == hex_decode(CERT_FPR))
            .unwrap();
        other[fpr_at] ^= 0xFF;
        data.extend_from_slice(&other);
        let key = parse_public_key(&data).unwrap();
        assert_eq!(key.expires, Some(CERT_EXPIRES));
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse_public_key(&bytes);
        }

        #[test]
        fn any_flipped_byte_of_the_ed25519_key_is_refused_or_read_unchanged(pos in 0usize..237, bit in 0u8..8) {
            let data = binary(CERT);
            let pos = pos % data.len();
            let mut tampered = data.clone();
            tampered[pos] ^= 1 << bit;
            if let Ok(key) = parse_public_key(&tampered) {
                // Only bytes outside what is signed (the unhashed issuer subpacket) may change
                // without an error, and then nothing we report changes.
                let original = parse_public_key(&data).unwrap();
                proptest::prop_assert_eq!(key.user_ids, original.user_ids);
                proptest::prop_assert_eq!(key.expires, original.expires);
            }
        }
    }
}
