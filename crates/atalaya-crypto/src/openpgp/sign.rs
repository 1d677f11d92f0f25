//! OpenPGP signing with a v4 Ed25519 key (EdDSA legacy, algorithm 22, which every OpenPGP
//! implementation in use reads — GnuPG 2.2 included): the node's key that signs its CSAF
//! documents (CSAF §7.1.19–20). The packets are made by the `pgp` crate (rPGP).
//!
//! * [`OpenPgpSigner::public_key_armored`]: a transferable public key — the public-key packet,
//!   one user id and its positive certification (0x13) self-signature, ASCII-armoured;
//! * [`OpenPgpSigner::sign_detached_armored`]: a detached v4 signature of a binary document
//!   (type 0x00), SHA-512, armoured (`.asc`);
//! * [`OpenPgpSigner::load_or_create`]: the secret in its own file (mode 0600, checked like
//!   the node's other secret files), created on first need.
//!
//! The key is rebuilt from the 32-byte secret and the creation time in that file, so its
//! fingerprint is the same whichever version of Atalaya wrote it. The secret never leaves
//! this type: its `Debug` shows the fingerprint only.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use pgp::composed::{ArmorOptions, DetachedSignature, SignedKeyDetails, SignedPublicKey};
use pgp::crypto::ed25519::{Mode, SecretKey as Ed25519Secret};
use pgp::crypto::eddsa_legacy::SecretKey as EddsaLegacySecret;
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{
    Features, KeyFlags, PubKeyInner, PublicKey, SecretKey, Signature, SignatureConfig,
    SignatureType, Subpacket, SubpacketData, UserId,
};
use pgp::ser::Serialize as _;
use pgp::types::{
    EddsaLegacyPublicParams, KeyDetails as _, KeyVersion, PacketHeaderVersion, Password,
    PlainSecretParams, PublicParams, SecretParams, SignedUser, Tag, Timestamp,
};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{OpenPgpError, hex_upper};
use crate::keys::{KeyError, check_secret_file_permissions};

const FILE_PREFIX: &str = "openpgp-ed25519-secret:";

/// A v4 Ed25519 OpenPGP key that signs.
pub struct OpenPgpSigner {
    key: SigningKey,
    created: u32,
    secret: SecretKey,
}

impl fmt::Debug for OpenPgpSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenPgpSigner")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

fn signing(e: pgp::errors::Error) -> OpenPgpError {
    OpenPgpError::Signing {
        reason: e.to_string(),
    }
}

/// The rPGP secret-key packet of the Ed25519 `key` created at `created`.
fn secret_packet(key: &SigningKey, created: u32) -> Result<SecretKey, pgp::errors::Error> {
    let secret = Ed25519Secret::try_from_bytes(key.to_bytes(), Mode::EdDSALegacy)?;
    let public = PublicParams::EdDSALegacy(EddsaLegacyPublicParams::from(&secret));
    let inner = PubKeyInner::new(
        KeyVersion::V4,
        PublicKeyAlgorithm::EdDSALegacy,
        Timestamp::from_secs(created),
        None,
        public,
    )?;
    SecretKey::new(
        PublicKey::from_inner(inner)?,
        SecretParams::Plain(PlainSecretParams::EdDSALegacy(EddsaLegacySecret::Ed25519(
            secret,
        ))),
    )
}

impl OpenPgpSigner {
    /// A fresh key created at `created` (unix seconds).
    pub fn generate(rng: &mut impl CryptoRngCore, created: u32) -> Result<Self, OpenPgpError> {
        Self::from_signing_key(SigningKey::generate(rng), created)
    }

    /// The key from its 32-byte secret and creation time (which the fingerprint covers).
    pub fn from_secret(secret: &[u8; 32], created: u32) -> Result<Self, OpenPgpError> {
        Self::from_signing_key(SigningKey::from_bytes(secret), created)
    }

    fn from_signing_key(key: SigningKey, created: u32) -> Result<Self, OpenPgpError> {
        let secret = secret_packet(&key, created).map_err(signing)?;
        Ok(Self {
            key,
            created,
            secret,
        })
    }

    /// When the key was created (unix seconds).
    pub fn created(&self) -> u32 {
        self.created
    }

    /// The v4 fingerprint, 40 upper-case hex digits.
    pub fn fingerprint(&self) -> String {
        hex_upper(self.secret.fingerprint().as_bytes())
    }

    /// The key id: the fingerprint's last 8 bytes, 16 upper-case hex digits.
    pub fn key_id(&self) -> String {
        hex_upper(self.secret.legacy_key_id().as_ref())
    }

    /// A v4 signature configuration of `typ` made at `when`, naming this key as its issuer
    /// (fingerprint hashed, key id unhashed, as GnuPG writes them).
    fn config(&self, typ: SignatureType, when: u32) -> Result<SignatureConfig, pgp::errors::Error> {
        let mut config =
            SignatureConfig::v4(typ, PublicKeyAlgorithm::EdDSALegacy, HashAlgorithm::Sha512);
        config.hashed_subpackets = vec![
            Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::from_secs(
                when,
            )))?,
            Subpacket::regular(SubpacketData::IssuerFingerprint(self.secret.fingerprint()))?,
        ];
        config.unhashed_subpackets = vec![Subpacket::regular(SubpacketData::IssuerKeyId(
            self.secret.legacy_key_id(),
        ))?];
        Ok(config)
    }

    /// The user id's positive certification, made at the key's creation.
    fn certification(&self, user_id: &UserId) -> Result<Signature, pgp::errors::Error> {
        let mut config = self.config(SignatureType::CertPositive, self.created)?;
        let mut flags = KeyFlags::default();
        flags.set_certify(true);
        flags.set_sign(true);
        let mut features = Features::default();
        features.set_seipd_v1(true);
        config.hashed_subpackets.extend([
            Subpacket::regular(SubpacketData::KeyFlags(flags))?,
            Subpacket::regular(SubpacketData::PreferredHashAlgorithms(
                [HashAlgorithm::Sha512, HashAlgorithm::Sha256]
                    .into_iter()
                    .collect(),
            ))?,
            Subpacket::regular(SubpacketData::Features(features))?,
        ]);
        config.sign_certification(
            &self.secret,
            self.secret.public_key(),
            &Password::empty(),
            Tag::UserId,
            user_id,
        )
    }

    fn signed_public_key(&self, user_id: &str) -> Result<SignedPublicKey, pgp::errors::Error> {
        let id = UserId::from_str(PacketHeaderVersion::New, user_id)?;
        let certification = self.certification(&id)?;
        Ok(SignedPublicKey::new(
            self.secret.public_key().clone(),
            SignedKeyDetails::new(
                Vec::new(),
                Vec::new(),
                vec![SignedUser::new(id, vec![certification])],
                Vec::new(),
            ),
            Vec::new(),
        ))
    }

    /// The transferable public key with `user_id` (e.g. `CSIRT Chile CSAF <csirt@example>`),
    /// binary.
    pub fn public_key(&self, user_id: &str) -> Result<Vec<u8>, OpenPgpError> {
        self.signed_public_key(user_id)
            .and_then(|k| k.to_bytes())
            .map_err(signing)
    }

    /// [`OpenPgpSigner::public_key`], ASCII-armoured.
    pub fn public_key_armored(&self, user_id: &str) -> Result<String, OpenPgpError> {
        self.signed_public_key(user_id)
            .and_then(|k| k.to_armored_string(ArmorOptions::default()))
            .map_err(signing)
    }

    fn detached(&self, data: &[u8], when: u32) -> Result<DetachedSignature, pgp::errors::Error> {
        let signature = self.config(SignatureType::Binary, when)?.sign(
            &self.secret,
            &Password::empty(),
            data,
        )?;
        Ok(DetachedSignature::new(signature))
    }

    /// A detached signature of the binary document `data`, made at `when` (unix seconds).
    pub fn sign_detached(&self, data: &[u8], when: u32) -> Result<Vec<u8>, OpenPgpError> {
        self.detached(data, when)
            .and_then(|s| s.to_bytes())
            .map_err(signing)
    }

    /// [`OpenPgpSigner::sign_detached`], ASCII-armoured (the content of a `.asc` file).
    pub fn sign_detached_armored(&self, data: &[u8], when: u32) -> Result<String, OpenPgpError> {
        self.detached(data, when)
            .and_then(|s| s.to_armored_string(ArmorOptions::default()))
            .map_err(signing)
    }

    /// Write the key to `path` (mode 0600), refusing to overwrite.
    pub fn write(&self, path: &Path) -> Result<(), KeyError> {
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::KeyExists {
                path: path.to_path_buf(),
            },
            _ => KeyError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        };
        let mut line = Zeroizing::new(String::from(FILE_PREFIX));
        STANDARD.encode_string(self.key.as_bytes(), &mut line);
        line.push_str(&format!(":{}\n", self.created));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        f.write_all(line.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }

    /// Read a key written by [`OpenPgpSigner::write`], refusing a file others can read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        check_secret_file_permissions(path)?;
        let malformed = |reason| KeyError::MalformedKeyFile {
            path: path.to_path_buf(),
            reason,
        };
        let content = Zeroizing::new(fs::read_to_string(path).map_err(|e| KeyError::Io {
            path: path.to_path_buf(),
            source: e,
        })?);
        let rest = content
            .trim_end()
            .strip_prefix(FILE_PREFIX)
            .ok_or_else(|| malformed("missing or wrong key type prefix"))?;
        let (secret, created) = rest
            .split_once(':')
            .ok_or_else(|| malformed("missing creation time"))?;
        let created: u32 = created
            .parse()
            .map_err(|_| malformed("creation time is not a number"))?;
        let bytes = Zeroizing::new(
            STANDARD
                .decode(secret)
                .map_err(|_| malformed("secret is not valid base64"))?,
        );
        let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| malformed("secret is not 32 bytes long"))?,
        );
        Self::from_secret(&secret, created)
            .map_err(|_| malformed("the OpenPGP key cannot be built from the secret"))
    }

    /// The key at `path`, created there (created at `now`, unix seconds) when there is none.
    pub fn load_or_create(
        path: &Path,
        rng: &mut impl CryptoRngCore,
        now: u32,
    ) -> Result<Self, KeyError> {
        if fs::symlink_metadata(path).is_ok() {
            return Self::load(path);
        }
        let key = Self::generate(rng, now).map_err(|_| KeyError::MalformedKeyFile {
            path: path.to_path_buf(),
            reason: "a new OpenPGP key could not be built",
        })?;
        key.write(path)?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::keys::tests::TestRng;
    use crate::openpgp::parse_public_key;
    use sha1::{Digest as _, Sha1};

    fn signer() -> OpenPgpSigner {
        OpenPgpSigner::generate(&mut TestRng(0x1234_5678_9abc_def1), 1_700_000_000).unwrap()
    }

    #[test]
    fn our_reader_verifies_the_exported_key() {
        let s = signer();
        let armored = s
            .public_key_armored("Test CSAF <csaf@example.org>")
            .unwrap();
        let k = parse_public_key(armored.as_bytes()).unwrap();
        assert_eq!(k.fingerprint, s.fingerprint());
        assert_eq!(k.algorithm, 22);
        assert_eq!(k.created, 1_700_000_000);
        assert_eq!(k.expires, None);
        assert_eq!(k.user_ids, vec!["Test CSAF <csaf@example.org>"]);
        assert!(k.usage.sign);
        assert_eq!(s.key_id(), &s.fingerprint()[24..]);
        // Binary and armoured are the same key.
        let binary = s.public_key("Test CSAF <csaf@example.org>").unwrap();
        assert_eq!(parse_public_key(&binary).unwrap(), k);
    }

    #[test]
    fn the_fingerprint_is_the_one_earlier_versions_published() {
        // The v4 fingerprint as RFC 9580 §5.5.4 defines it, computed here by hand over the
        // EdDSA legacy key packet: a node upgraded from the hand-written signer keeps the
        // fingerprint its CSAF provider metadata already names.
        let s = signer();
        let mut body = vec![4];
        body.extend_from_slice(&1_700_000_000u32.to_be_bytes());
        body.extend_from_slice(&[22, 9, 0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01]);
        body.extend_from_slice(&263u16.to_be_bytes());
        body.push(0x40);
        body.extend_from_slice(s.key.verifying_key().as_bytes());
        let mut h = Sha1::new();
        h.update([0x99]);
        h.update((body.len() as u16).to_be_bytes());
        h.update(&body);
        assert_eq!(s.fingerprint(), hex_upper(&h.finalize()));
    }

    #[test]
    fn a_detached_signature_is_armoured_with_its_checksum_and_verifies() {
        let s = signer();
        let asc = s.sign_detached_armored(b"hello", 1_700_000_100).unwrap();
        assert!(
            asc.starts_with("-----BEGIN PGP SIGNATURE-----\n\n"),
            "{asc}"
        );
        assert!(asc.ends_with("-----END PGP SIGNATURE-----\n"), "{asc}");
        assert!(
            asc.lines().any(|l| l.starts_with('=') && l.len() == 5),
            "{asc}"
        );
        let sig = s.sign_detached(b"hello", 1_700_000_100).unwrap();
        assert_eq!(sig[0], 0xC2, "a new-format signature packet");
        // Ed25519 is deterministic: same input, same signature.
        assert_eq!(sig, s.sign_detached(b"hello", 1_700_000_100).unwrap());
        // rPGP verifies it with the public key, and refuses it over other bytes.
        use pgp::composed::Deserializable as _;
        let (detached, _) = DetachedSignature::from_string(&asc).unwrap();
        let public = s.signed_public_key("Test <t@example.org>").unwrap();
        detached.verify(&public, b"hello").unwrap();
        assert!(detached.verify(&public, b"hellO").is_err());
        assert_eq!(
            detached.signature.created().map(|t| t.as_secs()),
            Some(1_700_000_100)
        );
    }

    #[test]
    fn the_key_file_round_trips_and_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("csaf-openpgp.key");
        let mut rng = TestRng(77);
        let a = OpenPgpSigner::load_or_create(&path, &mut rng, 1_700_000_000).unwrap();
        let b = OpenPgpSigner::load_or_create(&path, &mut rng, 1_800_000_000).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert!(!format!("{a:?}").contains(&STANDARD.encode(a.key.as_bytes())));
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            OpenPgpSigner::load(&path).unwrap_err().code(),
            "insecure_permissions"
        );
    }
}
