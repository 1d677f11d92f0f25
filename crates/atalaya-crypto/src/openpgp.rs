//! A team's transferable OpenPGP **public** key (RFC 9580, and the RFC 4880 keys still in use),
//! read with the `pgp` crate (rPGP), so the directory shows a team's key fingerprint, expiry,
//! user ids and encryption subkeys from the key itself instead of trusting what was typed next
//! to it.
//!
//! rPGP parses the armour and the packets and checks each signature cryptographically; this
//! module decides what the key says, with one rule for every algorithm:
//!
//! * input: ASCII armour (the CRC24 line is not checked, as RFC 9580 §6.1 asks) or binary, at most
//!   [`MAX_KEY_LEN`] bytes, holding exactly one public key (a secret key is refused);
//! * the primary key is version 4 or 6, RSA of at least [`MIN_RSA_BITS`] bits, Ed25519 (EdDSA
//!   legacy, algorithm 22, or Ed25519, algorithm 27), Ed448 or ECDSA on a NIST curve; DSA,
//!   ElGamal and RSA under 2048 bits are refused with the reason;
//! * **every** signature the primary key made over its own components — user-id
//!   certifications and their revocations, direct-key signatures, key revocations, subkey
//!   bindings and subkey revocations — must verify, or the whole key is
//!   [`OpenPgpError::BadSelfSignature`]. Third-party certifications are skipped;
//! * the primary key's expiry and usage come from its newest self-signature (direct-key or
//!   user-id certification); a verified key revocation marks it revoked;
//! * each subkey's expiry and usage come from its newest binding signature; a verified subkey
//!   revocation marks it revoked; a signing subkey counts only with a valid back-signature
//!   (RFC 9580 §5.2.1.5), an RSA subkey only from 2048 bits.
//!
//! No I/O, no clock: the caller passes "now" to [`OpenPgpKey::expired_at`] and
//! [`OpenPgpKey::encryption_state`].

pub mod sign;

pub use sign::OpenPgpSigner;

use std::io::Read as _;

use pgp::armor::{BlockType, Dearmor, DearmorOptions};
use pgp::composed::{Deserializable as _, SignedPublicKey};
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{
    KeyFlags, Packet, PacketParser, PacketTrait as _, Signature, SignatureType, SubpacketData,
};
use pgp::ser::Serialize as _;
use pgp::types::{
    EcdhPublicParams, EcdsaPublicParams, EddsaLegacyPublicParams, KeyDetails, KeyVersion,
    PublicParams, Tag,
};

/// The largest key (armoured or binary) accepted: 64 KiB.
pub const MAX_KEY_LEN: usize = 64 * 1024;

/// The smallest RSA modulus accepted, for the primary key and for a usable subkey.
pub const MIN_RSA_BITS: u16 = 2048;

/// What a team's public key says about itself, every self-signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPgpKey {
    /// The primary key's fingerprint, upper-case hexadecimal (40 digits for v4, 64 for v6).
    pub fingerprint: String,
    /// Key packet version (4 or 6).
    pub version: u8,
    /// Public-key algorithm id (1 RSA, 22 EdDSA legacy, 27 Ed25519, ...).
    pub algorithm: u8,
    /// Key size in bits: the RSA modulus, or the curve's (255 for Ed25519).
    pub bits: u16,
    /// When the key was created (unix seconds).
    pub created: i64,
    /// When the key expires (unix seconds), from the newest self-signature; `None` for never.
    pub expires: Option<i64>,
    /// The user ids bound by a self-signature and not revoked, in the key's order.
    pub user_ids: Vec<String>,
    /// A key revocation signature by the key itself is present (and verifies).
    pub revoked: bool,
    /// What the primary key itself may be used for.
    pub usage: KeyUsage,
    /// The subkeys bound by a valid binding signature, in the key's order.
    pub subkeys: Vec<OpenPgpSubkey>,
}

/// What a (sub)key may be used for, from its key-flags subpacket (or, without one, its
/// algorithm).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyUsage {
    /// It may encrypt to the team (and the algorithm can).
    pub encrypt: bool,
    /// It may sign (and the algorithm can; a subkey also needs its back-signature).
    pub sign: bool,
}

/// A subkey and what its newest binding signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPgpSubkey {
    /// The subkey's fingerprint, upper-case hexadecimal.
    pub fingerprint: String,
    /// Public-key algorithm id (1 RSA, 18 ECDH (Cv25519), 25 X25519, ...).
    pub algorithm: u8,
    /// Key size in bits.
    pub bits: u16,
    /// When the subkey was created (unix seconds).
    pub created: i64,
    /// When the subkey expires by its own binding (unix seconds); the primary key's expiry
    /// applies as well (see [`OpenPgpKey::encryption_state`]).
    pub expires: Option<i64>,
    /// A verified subkey revocation signature is present.
    pub revoked: bool,
    /// What the subkey may be used for.
    pub usage: KeyUsage,
    /// Why the subkey cannot be used for what its flags say (a weak RSA modulus, a signing
    /// subkey without back-signature, an algorithm we do not accept), if so.
    pub unusable: Option<String>,
}

impl OpenPgpSubkey {
    /// Whether the subkey's own binding has expired at `unix_now`.
    pub fn expired_at(&self, unix_now: i64) -> bool {
        self.expires.is_some_and(|e| unix_now >= e)
    }
}

/// One key that can encrypt to the team (the primary key or a subkey).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionKey {
    /// Its fingerprint.
    pub fingerprint: String,
    /// When it stops being usable: its own expiry or the primary key's, whichever is first.
    pub expires: Option<i64>,
    /// It (or the whole key) was revoked.
    pub revoked: bool,
}

/// Whether a team can be written to, encrypted, with this key at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionState {
    /// At least one encryption (sub)key is neither expired nor revoked; the one that stays
    /// usable longest.
    Usable(EncryptionKey),
    /// Every encryption (sub)key expired (the one that expired last), none usable.
    Expired(EncryptionKey),
    /// Every encryption (sub)key that has not expired was revoked.
    Revoked(EncryptionKey),
    /// The key has no (sub)key that can encrypt at all.
    None,
}

impl OpenPgpKey {
    /// Whether the key has expired at `unix_now` (a key expires at the instant of its expiry).
    pub fn expired_at(&self, unix_now: i64) -> bool {
        self.expires.is_some_and(|e| unix_now >= e)
    }

    /// `RSA-3072`, `Ed25519`, `Cv25519`, ... for people.
    pub fn algorithm_name(&self) -> String {
        algorithm_name(self.algorithm, self.bits)
    }

    /// Every (sub)key that may encrypt, with its effective expiry (never later than the
    /// primary key's) and revocation (the primary key's revocation revokes all).
    pub fn encryption_keys(&self) -> Vec<EncryptionKey> {
        let first = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let primary = self.usage.encrypt.then(|| EncryptionKey {
            fingerprint: self.fingerprint.clone(),
            expires: self.expires,
            revoked: self.revoked,
        });
        primary
            .into_iter()
            .chain(
                self.subkeys
                    .iter()
                    .filter(|s| s.usage.encrypt)
                    .map(|s| EncryptionKey {
                        fingerprint: s.fingerprint.clone(),
                        expires: first(s.expires, self.expires),
                        revoked: s.revoked || self.revoked,
                    }),
            )
            .collect()
    }

    /// Whether anything can be encrypted to this key at `unix_now`, and with what.
    pub fn encryption_state(&self, unix_now: i64) -> EncryptionState {
        let keys = self.encryption_keys();
        let expired = |k: &EncryptionKey| k.expires.is_some_and(|e| unix_now >= e);
        // Never expiring sorts last: it stays usable longest.
        let lasting = |k: &&EncryptionKey| (k.expires.is_none(), k.expires);
        if let Some(best) = keys
            .iter()
            .filter(|k| !k.revoked && !expired(k))
            .max_by_key(lasting)
        {
            return EncryptionState::Usable(best.clone());
        }
        if let Some(revoked) = keys.iter().filter(|k| !expired(k)).max_by_key(lasting) {
            return EncryptionState::Revoked(revoked.clone());
        }
        match keys.iter().max_by_key(lasting) {
            Some(last) => EncryptionState::Expired(last.clone()),
            None => EncryptionState::None,
        }
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
    /// A primary key algorithm that is not accepted (DSA, ElGamal, an unknown one).
    #[error("the key's algorithm is not accepted: {reason}")]
    UnsupportedAlgorithm {
        /// Which algorithm, and what to use instead.
        reason: String,
    },
    /// A primary key too weak to trust (RSA under [`MIN_RSA_BITS`] bits).
    #[error("the key is too weak: {reason}")]
    WeakKey {
        /// Its size and the minimum.
        reason: String,
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
    /// Making a signature or writing a key failed (signing side only).
    #[error("OpenPGP signing failed: {reason}")]
    Signing {
        /// What failed.
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
            OpenPgpError::UnsupportedAlgorithm { .. } => "unsupported-algorithm",
            OpenPgpError::WeakKey { .. } => "weak-key",
            OpenPgpError::NoUserId => "no-user-id",
            OpenPgpError::BadSelfSignature { .. } => "bad-self-signature",
            OpenPgpError::Signing { .. } => "signing-failed",
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

fn bad_sig(what: impl std::fmt::Display, e: impl std::fmt::Display) -> OpenPgpError {
    OpenPgpError::BadSelfSignature {
        reason: format!("{what}: {e}"),
    }
}

fn not_public(reason: impl Into<String>) -> OpenPgpError {
    OpenPgpError::NotAPublicKey {
        reason: reason.into(),
    }
}

/// Read a transferable public key, armoured or binary, and verify its self-signatures.
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
    let key = read_key(&binary)?;
    evaluate(&key)
}

// ---------------------------------------------------------------------------------------------
// Armour and packets

/// The binary inside an armoured public key block (rPGP's reader).
fn dearmor(input: &[u8]) -> Result<Vec<u8>, OpenPgpError> {
    // The CRC24 line is not checked: RFC 9580 §6.1 says a mismatch MUST NOT make an object
    // be rejected, and every byte that matters is covered by a verified self-signature.
    let options = DearmorOptions::new().set_limit(MAX_KEY_LEN);
    let mut reader = Dearmor::with_options(input, options);
    reader
        .read_header()
        .map_err(|e| bad_armor(format!("no `-----BEGIN PGP ...-----` block ({e})")))?;
    match reader.typ {
        Some(BlockType::PublicKey) => {}
        Some(BlockType::PrivateKey) => {
            return Err(not_public(
                "it is a secret key block; export the public key (gpg --armor --export)",
            ));
        }
        Some(other) => {
            return Err(not_public(format!(
                "the armour is a `{other}`, not a `PGP PUBLIC KEY BLOCK`"
            )));
        }
        None => return Err(bad_armor("no armour header")),
    }
    let mut data = Vec::new();
    reader
        .read_to_end(&mut data)
        .map_err(|e| bad_armor(e.to_string()))?;
    if data.is_empty() {
        return Err(bad_armor("the armour holds no data"));
    }
    Ok(data)
}

/// The one public key in `data`, refusing secret material, a second key, and broken packets.
fn read_key(data: &[u8]) -> Result<SignedPublicKey, OpenPgpError> {
    let mut packets = Vec::new();
    for packet in PacketParser::new(data) {
        match packet {
            Ok(Packet::Marker(_) | Packet::Padding(_) | Packet::Trust(_)) => {}
            Ok(p) => packets.push(p),
            Err(pgp::errors::Error::PacketIncomplete { .. }) => {
                return Err(truncated(format!(
                    "packet {} ends early",
                    packets.len() + 1
                )));
            }
            Err(pgp::errors::Error::Unsupported { message, .. }) if packets.is_empty() => {
                return Err(not_public(format!(
                    "the first packet is not supported ({message})"
                )));
            }
            // Later packets of a version or type nobody uses yet are skipped, as RFC 9580
            // §3.7.1 asks of non-critical packets.
            Err(pgp::errors::Error::Unsupported { .. }) => {}
            Err(pgp::errors::Error::InvalidPacketContent { source })
                if matches!(*source, pgp::errors::Error::Unsupported { .. }) => {}
            Err(e) if is_eof(&e) => {
                return Err(truncated(format!(
                    "packet {} ends early",
                    packets.len() + 1
                )));
            }
            Err(e) => return Err(malformed(e.to_string())),
        }
    }
    match packets.first() {
        None => return Err(truncated("no complete packet")),
        Some(Packet::PublicKey(_)) => {}
        Some(Packet::SecretKey(_)) => {
            return Err(not_public(
                "it is a secret key; export the public key (gpg --armor --export)",
            ));
        }
        Some(other) => {
            return Err(not_public(format!(
                "the first packet is a {:?}, not a public key",
                other.tag()
            )));
        }
    }
    // Each signature must be of a type that belongs where it stands (rPGP would drop the
    // others silently, and with them a subkey left unbound), and each subkey must be bound.
    let mut component = Tag::PublicKey;
    let mut subkey_signed = true;
    for p in &packets[1..] {
        match p {
            Packet::PublicKey(_) => return Err(malformed("the block holds more than one key")),
            Packet::SecretKey(_) | Packet::SecretSubkey(_) => {
                return Err(not_public("the block contains secret key material"));
            }
            Packet::UserId(_) | Packet::UserAttribute(_) | Packet::PublicSubkey(_) => {
                if !subkey_signed {
                    return Err(malformed("a subkey without a binding signature"));
                }
                component = p.tag();
                subkey_signed = component != Tag::PublicSubkey;
            }
            Packet::Signature(sig) => {
                use SignatureType as T;
                let fits = match (component, sig.typ()) {
                    (Tag::PublicKey, Some(T::Key | T::KeyRevocation)) => true,
                    (
                        Tag::UserId | Tag::UserAttribute,
                        Some(
                            T::CertGeneric
                            | T::CertPersona
                            | T::CertCasual
                            | T::CertPositive
                            | T::CertRevocation,
                        ),
                    ) => true,
                    (Tag::PublicSubkey, Some(T::SubkeyBinding | T::SubkeyRevocation)) => true,
                    // Unknown signature versions are skipped, as RFC 9580 §5.2 allows.
                    (_, None) => true,
                    _ => false,
                };
                if !fits {
                    return Err(malformed(format!(
                        "a signature of type {:?} after a {component:?} packet",
                        sig.typ()
                    )));
                }
                subkey_signed = true;
            }
            other => {
                return Err(malformed(format!(
                    "a {:?} packet has no place in a key",
                    other.tag()
                )));
            }
        }
    }
    if !subkey_signed {
        return Err(malformed("a subkey without a binding signature"));
    }
    let mut keys = SignedPublicKey::from_packets(packets.into_iter().map(Ok).peekable());
    let key = keys
        .next()
        .ok_or_else(|| truncated("no public key"))?
        .map_err(|e| malformed(e.to_string()))?;
    Ok(key)
}

fn is_eof(e: &pgp::errors::Error) -> bool {
    match e {
        pgp::errors::Error::IO { source, .. } => source.kind() == std::io::ErrorKind::UnexpectedEof,
        pgp::errors::Error::InvalidPacketContent { source } => is_eof(source),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// What the key says

/// A signature is a self-signature when every issuer it names is the primary key (or it names
/// none, as very old keys do).
fn issued_by_primary(sig: &Signature, primary: &impl KeyDetails) -> bool {
    let fingerprint = primary.fingerprint();
    let key_id = primary.legacy_key_id();
    sig.issuer_fingerprint().iter().all(|f| **f == fingerprint)
        && sig.issuer_key_id().iter().all(|id| **id == key_id)
}

/// The signature's creation time (unix seconds), which a self-signature must carry.
fn created(sig: &Signature, what: &str) -> Result<u32, OpenPgpError> {
    sig.created()
        .map(|t| t.as_secs())
        .ok_or_else(|| malformed(format!("{what} has no creation time")))
}

/// Whether the signature's hashed area has a key-flags subpacket.
fn has_key_flags(sig: &Signature) -> bool {
    sig.config().is_some_and(|c| {
        c.hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    })
}

/// The usage a self-signature grants, limited to what the algorithm can do.
fn usage(sig: &Signature, algorithm: PublicKeyAlgorithm) -> KeyUsage {
    let (can_encrypt, can_sign) = capabilities(algorithm);
    if !has_key_flags(sig) {
        // RFC 9580 §5.2.3.29: without flags, the algorithm decides.
        return KeyUsage {
            encrypt: can_encrypt,
            sign: can_sign,
        };
    }
    let flags: KeyFlags = sig.key_flags();
    KeyUsage {
        encrypt: can_encrypt && (flags.encrypt_comms() || flags.encrypt_storage()),
        sign: can_sign && flags.sign(),
    }
}

/// (can encrypt, can sign) by algorithm.
fn capabilities(algorithm: PublicKeyAlgorithm) -> (bool, bool) {
    use PublicKeyAlgorithm as A;
    match algorithm {
        A::RSA => (true, true),
        A::RSAEncrypt | A::ECDH | A::X25519 | A::X448 | A::ElgamalEncrypt => (true, false),
        A::RSASign | A::DSA | A::ECDSA | A::EdDSALegacy | A::Ed25519 | A::Ed448 => (false, true),
        _ => (false, false),
    }
}

/// Key size in bits: the RSA modulus (from its MPI header) or the curve's.
fn key_bits(params: &PublicParams) -> u16 {
    match params {
        PublicParams::RSA(_) => params
            .to_bytes()
            .ok()
            .and_then(|b| b.get(..2).map(|h| u16::from_be_bytes([h[0], h[1]])))
            .unwrap_or(0),
        PublicParams::EdDSALegacy(EddsaLegacyPublicParams::Ed25519 { .. })
        | PublicParams::Ed25519(_)
        | PublicParams::X25519(_)
        | PublicParams::ECDH(EcdhPublicParams::Curve25519Legacy { .. }) => 255,
        PublicParams::Ed448(_) | PublicParams::X448(_) => 448,
        PublicParams::ECDSA(EcdsaPublicParams::P256 { .. })
        | PublicParams::ECDSA(EcdsaPublicParams::Secp256k1 { .. })
        | PublicParams::ECDH(EcdhPublicParams::P256 { .. }) => 256,
        PublicParams::ECDSA(EcdsaPublicParams::P384 { .. })
        | PublicParams::ECDH(EcdhPublicParams::P384 { .. }) => 384,
        PublicParams::ECDSA(EcdsaPublicParams::P521 { .. })
        | PublicParams::ECDH(EcdhPublicParams::P521 { .. }) => 521,
        _ => 0,
    }
}

fn algorithm_name(algorithm: u8, bits: u16) -> String {
    match (algorithm, bits) {
        (1..=3, bits) => format!("RSA-{bits}"),
        (22 | 27, _) => "Ed25519".to_owned(),
        (28, _) => "Ed448".to_owned(),
        (18, 255) | (25, _) => "Cv25519".to_owned(),
        (26, _) => "X448".to_owned(),
        (18, bits) => format!("ECDH P-{bits}"),
        (19, bits) => format!("ECDSA P-{bits}"),
        (16 | 20, _) => "ElGamal".to_owned(),
        (17, _) => "DSA".to_owned(),
        (other, _) => format!("algorithm {other}"),
    }
}

/// Refuse a primary key we would not trust to sign its own components.
fn check_primary(key: &impl KeyDetails, bits: u16) -> Result<(), OpenPgpError> {
    use PublicKeyAlgorithm as A;
    let id = u8::from(key.algorithm());
    let name = algorithm_name(id, bits);
    match (key.algorithm(), key.public_params()) {
        (A::RSA | A::RSASign, _) if bits < MIN_RSA_BITS => Err(OpenPgpError::WeakKey {
            reason: format!(
                "{name}; RSA keys need at least {MIN_RSA_BITS} bits (make a new key: RSA-3072 or Ed25519)"
            ),
        }),
        (A::RSA | A::RSASign, _)
        | (A::EdDSALegacy, PublicParams::EdDSALegacy(EddsaLegacyPublicParams::Ed25519 { .. }))
        | (A::Ed25519 | A::Ed448, _) => Ok(()),
        (
            A::ECDSA,
            PublicParams::ECDSA(
                EcdsaPublicParams::P256 { .. }
                | EcdsaPublicParams::P384 { .. }
                | EcdsaPublicParams::P521 { .. },
            ),
        ) => Ok(()),
        _ => Err(OpenPgpError::UnsupportedAlgorithm {
            reason: format!(
                "the primary key is {name}; use RSA (at least {MIN_RSA_BITS} bits), Ed25519 or ECDSA"
            ),
        }),
    }
}

/// Why a subkey cannot be used despite its flags, if so.
fn subkey_unusable(
    algorithm: PublicKeyAlgorithm,
    params: &PublicParams,
    bits: u16,
) -> Option<String> {
    use PublicKeyAlgorithm as A;
    let name = algorithm_name(u8::from(algorithm), bits);
    match (algorithm, params) {
        (A::RSA | A::RSAEncrypt | A::RSASign, _) if bits < MIN_RSA_BITS => {
            Some(format!("{name} is under the {MIN_RSA_BITS} bits required"))
        }
        (A::ECDH | A::ECDSA | A::EdDSALegacy, _) if bits == 0 => {
            Some(format!("{name} on a curve that is not supported"))
        }
        (A::ElgamalEncrypt | A::Elgamal | A::DSA, _) => Some(format!("{name} is not accepted")),
        _ => None,
    }
}

/// Keep the newest of two signatures by creation time (the later one on a tie, as it comes
/// later in the key).
fn newer<'a>(
    current: Option<(u32, &'a Signature)>,
    created: u32,
    sig: &'a Signature,
) -> Option<(u32, &'a Signature)> {
    match current {
        Some((t, _)) if t > created => current,
        _ => Some((created, sig)),
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

fn evaluate(key: &SignedPublicKey) -> Result<OpenPgpKey, OpenPgpError> {
    let primary = &key.primary_key;
    let version = match primary.version() {
        KeyVersion::V4 => 4,
        KeyVersion::V6 => 6,
        other => {
            return Err(OpenPgpError::UnsupportedVersion {
                what: "key",
                version: u8::from(other),
            });
        }
    };
    let bits = key_bits(primary.public_params());
    check_primary(primary, bits)?;
    let fingerprint = hex_upper(primary.fingerprint().as_bytes());

    let mut revoked = false;
    for sig in &key.details.revocation_signatures {
        if !issued_by_primary(sig, primary) {
            continue; // a designated revoker's: not the key's own word
        }
        sig.verify_key(primary)
            .map_err(|e| bad_sig("the key revocation signature", e))?;
        revoked = true;
    }

    // The newest self-signature over the key (direct-key or user-id certification) says when
    // the key expires and what it may do.
    let mut newest: Option<(u32, &Signature)> = None;
    for sig in &key.details.direct_signatures {
        if !issued_by_primary(sig, primary) {
            continue;
        }
        sig.verify_key(primary)
            .map_err(|e| bad_sig("a direct-key self-signature", e))?;
        newest = newer(newest, created(sig, "a direct-key self-signature")?, sig);
    }

    let mut user_ids = Vec::new();
    for user in &key.details.users {
        let text = String::from_utf8_lossy(user.id.id()).into_owned();
        let mut certified: Option<u32> = None;
        let mut revoked_at: Option<u32> = None;
        for sig in &user.signatures {
            if !issued_by_primary(sig, primary) {
                continue; // a third-party certification
            }
            let what = format!("the self-signature on user id `{text}`");
            sig.verify_certification(primary, Tag::UserId, &user.id)
                .map_err(|e| bad_sig(&what, e))?;
            let at = created(sig, &what)?;
            if sig.typ() == Some(SignatureType::CertRevocation) {
                revoked_at = revoked_at.max(Some(at));
            } else {
                certified = certified.max(Some(at));
                newest = newer(newest, at, sig);
            }
        }
        if certified.is_some_and(|c| revoked_at.is_none_or(|r| c > r)) {
            user_ids.push(text);
        }
    }
    for attribute in &key.details.user_attributes {
        for sig in &attribute.signatures {
            if !issued_by_primary(sig, primary) {
                continue;
            }
            sig.verify_certification(primary, Tag::UserAttribute, &attribute.attr)
                .map_err(|e| bad_sig("the self-signature on a user attribute", e))?;
        }
    }
    if user_ids.is_empty() {
        return Err(OpenPgpError::NoUserId);
    }
    let created_at = i64::from(primary.created_at().as_secs());
    let expiry_of = |sig: &Signature, from: i64| {
        sig.key_expiration_time()
            .map(|d| d.as_secs())
            .filter(|&s| s != 0)
            .map(|s| from + i64::from(s))
    };
    let (expires, primary_usage) = match newest {
        Some((_, sig)) => (expiry_of(sig, created_at), usage(sig, primary.algorithm())),
        None => (None, KeyUsage::default()),
    };

    let mut subkeys = Vec::new();
    for sub in &key.public_subkeys {
        let sub_fpr = hex_upper(sub.key.fingerprint().as_bytes());
        let mut binding: Option<(u32, &Signature)> = None;
        let mut sub_revoked = false;
        for sig in &sub.signatures {
            let what = format!("the binding signature of subkey {sub_fpr}");
            sig.verify_subkey_binding(primary, &sub.key)
                .map_err(|e| bad_sig(&what, e))?;
            if sig.typ() == Some(SignatureType::SubkeyRevocation) {
                sub_revoked = true;
            } else {
                binding = newer(binding, created(sig, &what)?, sig);
            }
        }
        let Some((_, binding)) = binding else {
            continue; // revoked without ever being bound: nothing to report
        };
        let sub_bits = key_bits(sub.key.public_params());
        let sub_created = i64::from(sub.key.created_at().as_secs());
        let mut sub_usage = usage(binding, sub.key.algorithm());
        let mut unusable = subkey_unusable(sub.key.algorithm(), sub.key.public_params(), sub_bits);
        if unusable.is_some() {
            sub_usage = KeyUsage::default();
        }
        if sub_usage.sign {
            // A signing subkey must sign the primary back, or anyone could claim it.
            let back = binding
                .embedded_signature()
                .map(|back| back.verify_primary_key_binding(&sub.key, primary));
            if !matches!(back, Some(Ok(()))) {
                sub_usage.sign = false;
                unusable.get_or_insert_with(|| {
                    "a signing subkey without a valid back-signature".to_owned()
                });
            }
        }
        subkeys.push(OpenPgpSubkey {
            fingerprint: sub_fpr,
            algorithm: u8::from(sub.key.algorithm()),
            bits: sub_bits,
            created: sub_created,
            expires: expiry_of(binding, sub_created),
            revoked: sub_revoked,
            usage: sub_usage,
            unusable,
        });
    }

    Ok(OpenPgpKey {
        fingerprint,
        version,
        algorithm: u8::from(primary.algorithm()),
        bits,
        created: created_at,
        expires,
        user_ids,
        revoked,
        usage: primary_usage,
        subkeys,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]
mod tests {
    use super::*;

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

    // The RSA-era fixtures (tools/gen-rsa-era.sh).
    const RSA_SUBKEY_EXPIRED: &str =
        include_str!("../tests/fixtures/openpgp/rsa-subkey-expired.asc");
    const RSA_SUBKEY_REVOKED: &str =
        include_str!("../tests/fixtures/openpgp/rsa-subkey-revoked.asc");
    const RSA_VALID: &str = include_str!("../tests/fixtures/openpgp/rsa-valid.asc");
    const RSA_REVOKED: &str = include_str!("../tests/fixtures/openpgp/rsa-revoked.asc");
    const RSA_EXPIRED: &str = include_str!("../tests/fixtures/openpgp/rsa-expired.asc");
    const ED_CV: &str = include_str!("../tests/fixtures/openpgp/ed25519-cv25519.asc");
    const RSA_1024: &str = include_str!("../tests/fixtures/openpgp/rsa1024.asc");
    const RSA_BAD_SELF_SIG: &str =
        include_str!("../tests/fixtures/openpgp/rsa-bad-self-signature.asc");
    const MALFORMED_ARMOR: &str = include_str!("../tests/fixtures/openpgp/malformed-armor.asc");

    /// 2026-12-07T12:00:00Z, after every fixture was made.
    const NOW: i64 = 1_796_644_800;

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

    fn key(armored: &str) -> OpenPgpKey {
        parse_public_key(armored.as_bytes()).unwrap()
    }

    #[test]
    fn the_ed25519_key_reads_as_gpg_saw_it() {
        let key = key(CERT);
        assert_eq!(key.fingerprint, CERT_FPR);
        assert_eq!(key.version, 4);
        assert_eq!(key.algorithm, 22);
        assert_eq!(key.algorithm_name(), "Ed25519");
        assert_eq!(key.created, CERT_CREATED);
        assert_eq!(key.expires, Some(CERT_EXPIRES));
        assert_eq!(key.user_ids, vec![CERT_UID.to_owned()]);
        assert!(!key.revoked);
        assert!(key.usage.sign && !key.usage.encrypt);
        assert!(!key.expired_at(CERT_EXPIRES - 1));
        assert!(key.expired_at(CERT_EXPIRES));
        // A signing-only key: nothing can be encrypted to it.
        assert_eq!(key.encryption_state(NOW), EncryptionState::None);
    }

    #[test]
    fn binary_input_reads_the_same_as_armour() {
        for k in [CERT, RSA_VALID, ED_CV] {
            assert_eq!(parse_public_key(&binary(k)).unwrap(), key(k));
        }
    }

    #[test]
    fn the_rsa_key_is_read_and_verified() {
        let key = key(RSA);
        assert_eq!(key.fingerprint, RSA_FPR);
        assert_eq!(key.algorithm, 1);
        assert_eq!(key.bits, 3072);
        assert_eq!(key.algorithm_name(), "RSA-3072");
        assert_eq!(key.created, RSA_CREATED);
        assert_eq!(key.expires, Some(RSA_EXPIRES));
        assert_eq!(key.user_ids, vec![RSA_UID.to_owned()]);
    }

    #[test]
    fn an_rsa_key_with_a_valid_encryption_subkey() {
        let key = key(RSA_VALID);
        assert_eq!(key.fingerprint, "607F4CD5F9991DE9B3A182DDCEE72FEC1AF0C281");
        assert_eq!(key.expires, None);
        assert_eq!(key.subkeys.len(), 1);
        let sub = &key.subkeys[0];
        assert_eq!(sub.fingerprint, "C540E40633A11B99C64A1BD82022AF9C25AFD035");
        assert_eq!((sub.algorithm, sub.bits), (1, 3072));
        assert!(sub.usage.encrypt && !sub.usage.sign);
        assert!(!sub.revoked && sub.expires.is_none() && sub.unusable.is_none());
        match key.encryption_state(NOW) {
            EncryptionState::Usable(k) => assert_eq!(k.fingerprint, sub.fingerprint),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_expired_rsa_encryption_subkey_is_reported_expired() {
        let key = key(RSA_SUBKEY_EXPIRED);
        assert_eq!(key.fingerprint, "441BD02D0C9CFB4C952295B19E0B0699D8AE4221");
        assert_eq!(key.created, 1_735_689_600);
        assert_eq!(key.expires, Some(2_051_049_600));
        assert!(!key.expired_at(NOW), "the primary key is valid ten years");
        let sub = &key.subkeys[0];
        assert_eq!(sub.fingerprint, "954D8B0DD06D6DE37EA0D9FA39D6CC9F83C1577F");
        assert_eq!(sub.expires, Some(1_735_776_000));
        assert!(sub.expired_at(NOW));
        assert!(!sub.expired_at(1_735_775_999));
        match key.encryption_state(NOW) {
            EncryptionState::Expired(k) => {
                assert_eq!(k.fingerprint, sub.fingerprint);
                assert_eq!(k.expires, Some(1_735_776_000));
            }
            other => panic!("{other:?}"),
        }
        // The day it was made, it was usable.
        assert!(matches!(
            key.encryption_state(1_735_700_000),
            EncryptionState::Usable(_)
        ));
    }

    #[test]
    fn a_revoked_rsa_encryption_subkey_is_reported_revoked() {
        let key = key(RSA_SUBKEY_REVOKED);
        assert!(!key.revoked);
        let sub = &key.subkeys[0];
        assert_eq!(sub.fingerprint, "E3D28596EBD22D41B9BF04863EB4063465D1F433");
        assert!(sub.revoked);
        match key.encryption_state(NOW) {
            EncryptionState::Revoked(k) => assert_eq!(k.fingerprint, sub.fingerprint),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_revoked_rsa_primary_key_revokes_its_subkeys() {
        let key = key(RSA_REVOKED);
        assert_eq!(key.fingerprint, "D7360BA8EEB74A0F695D6F55E770F7156828DE74");
        assert!(key.revoked);
        assert!(!key.subkeys[0].revoked, "the subkey itself is not revoked");
        assert!(matches!(
            key.encryption_state(NOW),
            EncryptionState::Revoked(_)
        ));
    }

    #[test]
    fn an_expired_rsa_primary_key_expires_its_subkeys() {
        let key = key(RSA_EXPIRED);
        assert_eq!(key.fingerprint, "BE062C39D8F87D75448187F7F9D49B85A5E30D25");
        assert_eq!(key.expires, Some(1_577_923_200));
        assert!(key.expired_at(NOW));
        assert!(matches!(
            key.encryption_state(NOW),
            EncryptionState::Expired(_)
        ));
    }

    #[test]
    fn ed25519_with_a_cv25519_subkey() {
        let key = key(ED_CV);
        assert_eq!(key.fingerprint, "DB51D2C2B76F63B3473A34959CBFEE226FD9DE91");
        assert_eq!(key.algorithm_name(), "Ed25519");
        let sub = &key.subkeys[0];
        assert_eq!(sub.fingerprint, "2F4FCDB0EEB5AC021EAA3A4FC3F18EEA06D32FFE");
        assert_eq!((sub.algorithm, sub.bits), (18, 255));
        assert_eq!(algorithm_name(sub.algorithm, sub.bits), "Cv25519");
        assert!(sub.usage.encrypt);
        assert!(matches!(
            key.encryption_state(NOW),
            EncryptionState::Usable(_)
        ));
    }

    #[test]
    fn rsa_1024_is_refused_with_its_size() {
        let err = parse_public_key(RSA_1024.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "weak-key");
        assert!(err.to_string().contains("RSA-1024"), "{err}");
        assert!(err.to_string().contains("2048"), "{err}");
    }

    #[test]
    fn a_flipped_byte_in_an_rsa_self_signature_is_refused() {
        let err = parse_public_key(RSA_BAD_SELF_SIG.as_bytes()).unwrap_err();
        assert_eq!(err.code(), "bad-self-signature", "{err}");
        assert!(err.to_string().contains("rsa-valid@example.org"), "{err}");
    }

    #[test]
    fn a_flipped_byte_in_a_subkey_binding_is_refused() {
        // rsa-valid.asc ends with the subkey's binding signature: flip a bit of its RSA value.
        let mut data = binary(RSA_VALID);
        let at = data.len() - 50;
        data[at] ^= 0x01;
        let err = parse_public_key(&data).unwrap_err();
        assert_eq!(err.code(), "bad-self-signature", "{err}");
        assert!(
            err.to_string()
                .contains("C540E40633A11B99C64A1BD82022AF9C25AFD035"),
            "{err}"
        );
    }

    #[test]
    fn malformed_armour_is_refused() {
        let err = parse_public_key(MALFORMED_ARMOR.as_bytes()).unwrap_err();
        assert!(
            matches!(err.code(), "bad-armor" | "truncated" | "malformed"),
            "{err}"
        );
    }

    #[test]
    fn a_key_without_expiry_never_expires() {
        let key = key(FOREVER);
        assert_eq!(key.fingerprint, FOREVER_FPR);
        assert_eq!(key.expires, None);
        assert_eq!(key.user_ids, vec![FOREVER_UID.to_owned()]);
        assert!(!key.expired_at(i64::MAX));
    }

    #[test]
    fn an_expired_key_is_read_and_reported_expired() {
        let key = key(EXPIRED);
        assert_eq!(key.fingerprint, EXPIRED_FPR);
        assert_eq!(key.created, EXPIRED_CREATED);
        assert_eq!(key.expires, Some(EXPIRED_EXPIRES));
        assert!(key.expired_at(CERT_CREATED));
        assert!(!key.expired_at(EXPIRED_CREATED));
    }

    #[test]
    fn a_revoked_key_says_so() {
        assert_eq!(key(REVOKED).fingerprint, REVOKED_FPR);
        assert!(key(REVOKED).revoked);
        assert!(!key(CERT).revoked);
    }

    #[test]
    fn a_secret_key_is_refused_armoured_or_binary() {
        assert_eq!(code(SECRET.as_bytes()), "not-a-public-key");
        // The same packets without their armour are still a secret key.
        let body: String = SECRET
            .lines()
            .skip_while(|l| !l.is_empty())
            .take_while(|l| !l.starts_with('=') && !l.starts_with("-----"))
            .collect();
        use base64::Engine as _;
        let packets = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .unwrap();
        assert_eq!(code(&packets), "not-a-public-key");
    }

    #[test]
    fn the_checksum_line_is_optional_and_not_what_protects_the_key() {
        // RFC 9580 §6.1: a CRC24 mismatch must not make a key be refused; the self-signatures
        // protect it (a changed byte inside is refused by them, see the tests below).
        let crc_line = CERT.lines().find(|l| l.starts_with('=')).unwrap();
        let other = CERT.replace(crc_line, "=AAAA");
        assert_eq!(key(&other).fingerprint, CERT_FPR);
        let without = CERT.replace(&format!("{crc_line}\n"), "");
        assert_eq!(key(&without).fingerprint, CERT_FPR);
    }

    #[test]
    fn broken_armour_is_refused() {
        let no_end = CERT.replace("-----END PGP PUBLIC KEY BLOCK-----", "");
        assert_eq!(code(no_end.as_bytes()), "bad-armor");
        let bad_base64 = CERT.replacen("mDME", "m!ME", 1);
        assert!(
            matches!(code(bad_base64.as_bytes()), "bad-armor" | "malformed"),
            "{}",
            code(bad_base64.as_bytes())
        );
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
        assert_eq!(key(&with_headers).fingerprint, CERT_FPR);
    }

    #[test]
    fn truncated_keys_are_refused() {
        for k in [CERT, RSA_VALID] {
            let data = binary(k);
            for cut in [1, 2, 10, data.len() / 2, data.len() - 1] {
                let err = parse_public_key(&data[..cut]).unwrap_err();
                assert!(
                    matches!(err.code(), "truncated" | "malformed" | "no-user-id"),
                    "cut at {cut}: {err}"
                );
            }
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
    fn wrong_first_packets_are_refused() {
        // A user id packet first.
        assert_eq!(code(&[0xB4, 0x01, b'x']), "not-a-public-key");
        // Two keys in one block.
        let mut two = binary(CERT);
        two.extend(binary(FOREVER));
        assert_eq!(code(&two), "malformed");
    }

    #[test]
    fn a_key_without_user_id_is_refused() {
        let data = binary(CERT);
        // Keep only the public-key packet (old format, 1-byte length).
        let key_len = usize::from(data[1]) + 2;
        assert_eq!(code(&data[..key_len]), "no-user-id");
    }

    #[test]
    fn the_rfc_9580_v6_sample_verifies_but_has_no_user_id() {
        // Its direct-key signature and subkey binding verify; as a directory key it is refused
        // for want of a user id (a fail on the signatures would say bad-self-signature).
        assert_eq!(code(RFC9580_V6_CERT.as_bytes()), "no-user-id");
        let key = read_key(&binary(RFC9580_V6_CERT)).unwrap();
        assert_eq!(
            hex_upper(key.primary_key.fingerprint().as_bytes()),
            "CB186C4F0609A697E4D52DFA6C722B0C1F1E27C18A56708F6525EC27BAD9ACC9"
        );
        key.verify_bindings().unwrap();
    }

    /// A v6 key (Ed25519 primary, X25519 encryption subkey) made by rPGP, as GnuPG 2.2 cannot.
    fn v6_key(uid: &str) -> SignedPublicKey {
        use pgp::composed::{EncryptionCaps, KeyType, SecretKeyParamsBuilder, SubkeyParamsBuilder};
        let mut rng = crate::keys::tests::TestRng(0x0600_0000_2025);
        let mut sub = SubkeyParamsBuilder::default();
        sub.version(KeyVersion::V6)
            .key_type(KeyType::X25519)
            .can_sign(false)
            .can_encrypt(EncryptionCaps::All)
            .created_at(pgp::types::Timestamp::from_secs(1_790_000_000));
        let mut params = SecretKeyParamsBuilder::default();
        params
            .version(KeyVersion::V6)
            .key_type(KeyType::Ed25519)
            .can_certify(true)
            .can_sign(true)
            .created_at(pgp::types::Timestamp::from_secs(1_790_000_000))
            .primary_user_id(uid.into())
            .subkeys(vec![sub.build().unwrap()]);
        let secret = params.build().unwrap().generate(&mut rng).unwrap();
        SignedPublicKey::from(secret)
    }

    #[test]
    fn a_v6_ed25519_key_with_an_x25519_subkey_is_verified() {
        let public = v6_key("V6 CSIRT <v6@example.org>");
        let bytes = public.to_bytes().unwrap();
        let key = parse_public_key(&bytes).unwrap();
        assert_eq!(key.version, 6);
        assert_eq!(key.algorithm, 27);
        assert_eq!(key.fingerprint.len(), 64);
        assert_eq!(key.user_ids, vec!["V6 CSIRT <v6@example.org>".to_owned()]);
        assert_eq!(key.subkeys[0].algorithm, 25);
        assert!(matches!(
            key.encryption_state(NOW),
            EncryptionState::Usable(_)
        ));
        // The same key with its user id changed after signing is refused.
        let tampered: Vec<u8> = {
            let from = b"v6@example.org";
            let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
            let mut out = bytes.clone();
            out[at] = b'w';
            out
        };
        assert_eq!(code(&tampered), "bad-self-signature");
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
        let fpr = hex_decode(CERT_FPR);
        let fpr_at = other.windows(20).position(|w| w == fpr).unwrap();
        other[fpr_at] ^= 0xFF;
        // The unhashed issuer key id too, or it would still name the key.
        let id_at = other.windows(8).rposition(|w| w == &fpr[12..]).unwrap();
        other[id_at] ^= 0xFF;
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
        fn any_flipped_byte_of_the_rsa_key_is_refused_or_read_unchanged(pos in 0usize..2000, bit in 0u8..8) {
            let data = binary(RSA_VALID);
            let pos = pos % data.len();
            let mut tampered = data.clone();
            tampered[pos] ^= 1 << bit;
            if let Ok(key) = parse_public_key(&tampered) {
                // Only bytes outside what is signed (unhashed subpackets) may change without
                // an error, and then nothing we report changes.
                let original = parse_public_key(&data).unwrap();
                proptest::prop_assert_eq!(key, original);
            }
        }
    }
}
