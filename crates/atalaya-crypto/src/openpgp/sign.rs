//! OpenPGP signing with a v4 Ed25519 key (EdDSA legacy, algorithm 22, which every OpenPGP
//! implementation in use reads — GnuPG 2.2 included): the node's key that signs its CSAF
//! documents (CSAF §7.1.19–20).
//!
//! * [`OpenPgpSigner::public_key_armored`]: a transferable public key — the public-key packet,
//!   one user id and its positive certification (0x13) self-signature, ASCII-armoured;
//! * [`OpenPgpSigner::sign_detached_armored`]: a detached v4 signature of a binary document
//!   (type 0x00), SHA-512, armoured (`.asc`);
//! * [`OpenPgpSigner::load_or_create`]: the secret in its own file (mode 0600, checked like
//!   the node's other secret files), created on first need.
//!
//! Packets are written in the new format (RFC 9580 §4.2.1). The secret never leaves this type:
//! its `Debug` shows the fingerprint only.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey};
use rand_core::CryptoRngCore;
use sha1::Sha1;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::{ALGO_EDDSA_LEGACY, OID_ED25519_LEGACY, crc24, hex_upper};
use crate::keys::{KeyError, check_secret_file_permissions};

const FILE_PREFIX: &str = "openpgp-ed25519-secret:";
const HASH_SHA512: u8 = 10;
const HASH_SHA256: u8 = 8;

/// A v4 Ed25519 OpenPGP key that signs.
pub struct OpenPgpSigner {
    key: SigningKey,
    created: u32,
}

impl fmt::Debug for OpenPgpSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenPgpSigner")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

fn header(tag: u8, len: usize, out: &mut Vec<u8>) {
    out.push(0xC0 | tag);
    match len {
        0..=191 => out.push(len as u8),
        192..=8383 => {
            let l = len - 192;
            out.push(((l >> 8) as u8) + 192);
            out.push((l & 0xFF) as u8);
        }
        _ => {
            out.push(0xFF);
            out.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }
}

fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 6);
    header(tag, body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// An MPI of big-endian `bytes` (leading zeros dropped).
fn mpi(bytes: &[u8], out: &mut Vec<u8>) {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let b = &bytes[start..];
    let bits = b.first().map_or(0, |first| {
        (b.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
    });
    out.extend_from_slice(&(bits as u16).to_be_bytes());
    out.extend_from_slice(b);
}

fn subpacket(kind: u8, data: &[u8], out: &mut Vec<u8>) {
    // Every subpacket here is shorter than 192 bytes.
    out.push((data.len() + 1) as u8);
    out.push(kind);
    out.extend_from_slice(data);
}

/// ASCII armour (RFC 9580 §6) of `data` under `kind` (`PUBLIC KEY BLOCK`, `SIGNATURE`).
fn armor(kind: &str, data: &[u8]) -> String {
    let b64 = STANDARD.encode(data);
    let mut out = format!("-----BEGIN PGP {kind}-----\n\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    let crc = crc24(data).to_be_bytes();
    out.push('=');
    out.push_str(&STANDARD.encode(&crc[1..]));
    out.push('\n');
    out.push_str(&format!("-----END PGP {kind}-----\n"));
    out
}

impl OpenPgpSigner {
    /// A fresh key created at `created` (unix seconds).
    pub fn generate(rng: &mut impl CryptoRngCore, created: u32) -> Self {
        Self {
            key: SigningKey::generate(rng),
            created,
        }
    }

    /// The key from its 32-byte secret and creation time (which the fingerprint covers).
    pub fn from_secret(secret: &[u8; 32], created: u32) -> Self {
        Self {
            key: SigningKey::from_bytes(secret),
            created,
        }
    }

    /// When the key was created (unix seconds).
    pub fn created(&self) -> u32 {
        self.created
    }

    /// The public-key packet's body.
    fn key_body(&self) -> Vec<u8> {
        let mut body = vec![4];
        body.extend_from_slice(&self.created.to_be_bytes());
        body.push(ALGO_EDDSA_LEGACY);
        body.push(OID_ED25519_LEGACY.len() as u8);
        body.extend_from_slice(OID_ED25519_LEGACY);
        let mut point = vec![0x40];
        point.extend_from_slice(self.key.verifying_key().as_bytes());
        mpi(&point, &mut body);
        body
    }

    fn fingerprint_bytes(&self) -> [u8; 20] {
        let body = self.key_body();
        let mut h = Sha1::new();
        h.update([0x99]);
        h.update((body.len() as u16).to_be_bytes());
        h.update(&body);
        h.finalize().into()
    }

    /// The v4 fingerprint, 40 upper-case hex digits.
    pub fn fingerprint(&self) -> String {
        hex_upper(&self.fingerprint_bytes())
    }

    /// The key id: the fingerprint's last 8 bytes, 16 upper-case hex digits.
    pub fn key_id(&self) -> String {
        hex_upper(&self.fingerprint_bytes()[12..])
    }

    /// A v4 signature packet of `sig_type` over `framing` (what precedes the trailer).
    fn signature(&self, sig_type: u8, framing: &[u8], when: u32, extra_hashed: &[u8]) -> Vec<u8> {
        let fpr = self.fingerprint_bytes();
        let mut hashed = Vec::new();
        subpacket(2, &when.to_be_bytes(), &mut hashed);
        let mut issuer_fpr = vec![4];
        issuer_fpr.extend_from_slice(&fpr);
        subpacket(33, &issuer_fpr, &mut hashed);
        hashed.extend_from_slice(extra_hashed);
        let mut unhashed = Vec::new();
        subpacket(16, &fpr[12..], &mut unhashed);

        let mut head = vec![4, sig_type, ALGO_EDDSA_LEGACY, HASH_SHA512];
        head.extend_from_slice(&(hashed.len() as u16).to_be_bytes());
        head.extend_from_slice(&hashed);

        let mut h = Sha512::new();
        h.update(framing);
        h.update(&head);
        h.update([4, 0xFF]);
        h.update((head.len() as u32).to_be_bytes());
        let digest = h.finalize();
        // EdDSA in OpenPGP signs the digest.
        let sig = self.key.sign(&digest).to_bytes();

        let mut body = head;
        body.extend_from_slice(&(unhashed.len() as u16).to_be_bytes());
        body.extend_from_slice(&unhashed);
        body.extend_from_slice(&digest[..2]);
        mpi(&sig[..32], &mut body);
        mpi(&sig[32..], &mut body);
        packet(2, &body)
    }

    /// The transferable public key with `user_id` (e.g. `CSIRT Chile CSAF <csirt@example>`),
    /// binary.
    pub fn public_key(&self, user_id: &str) -> Vec<u8> {
        let body = self.key_body();
        let mut framing = vec![0x99];
        framing.extend_from_slice(&(body.len() as u16).to_be_bytes());
        framing.extend_from_slice(&body);
        framing.push(0xB4);
        framing.extend_from_slice(&(user_id.len() as u32).to_be_bytes());
        framing.extend_from_slice(user_id.as_bytes());
        let mut extra = Vec::new();
        subpacket(27, &[0x03], &mut extra); // certify and sign
        subpacket(21, &[HASH_SHA512, HASH_SHA256], &mut extra); // preferred hashes
        subpacket(30, &[0x01], &mut extra); // features: modification detection
        let sig = self.signature(0x13, &framing, self.created, &extra);

        let mut out = packet(6, &body);
        out.extend_from_slice(&packet(13, user_id.as_bytes()));
        out.extend_from_slice(&sig);
        out
    }

    /// [`OpenPgpSigner::public_key`], ASCII-armoured.
    pub fn public_key_armored(&self, user_id: &str) -> String {
        armor("PUBLIC KEY BLOCK", &self.public_key(user_id))
    }

    /// A detached signature of the binary document `data`, made at `when` (unix seconds).
    pub fn sign_detached(&self, data: &[u8], when: u32) -> Vec<u8> {
        self.signature(0x00, data, when, &[])
    }

    /// [`OpenPgpSigner::sign_detached`], ASCII-armoured (the content of a `.asc` file).
    pub fn sign_detached_armored(&self, data: &[u8], when: u32) -> String {
        armor("SIGNATURE", &self.sign_detached(data, when))
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
        Ok(Self::from_secret(&secret, created))
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
        let key = Self::generate(rng, now);
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

    fn signer() -> OpenPgpSigner {
        OpenPgpSigner::generate(&mut TestRng(0x1234_5678_9abc_def1), 1_700_000_000)
    }

    #[test]
    fn our_reader_verifies_the_exported_key() {
        let s = signer();
        let k = parse_public_key(
            s.public_key_armored("Test CSAF <csaf@example.org>")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(k.fingerprint, s.fingerprint());
        assert_eq!(k.algorithm, ALGO_EDDSA_LEGACY);
        assert_eq!(k.created, 1_700_000_000);
        assert_eq!(k.user_ids, vec!["Test CSAF <csaf@example.org>"]);
        assert!(k.self_signature_verified);
        assert_eq!(s.key_id(), &s.fingerprint()[24..]);
    }

    #[test]
    fn a_detached_signature_is_armoured_with_its_checksum() {
        let s = signer();
        let asc = s.sign_detached_armored(b"hello", 1_700_000_100);
        assert!(asc.starts_with("-----BEGIN PGP SIGNATURE-----\n\n"));
        assert!(asc.ends_with("-----END PGP SIGNATURE-----\n"));
        let sig = s.sign_detached(b"hello", 1_700_000_100);
        assert_eq!(sig[0], 0xC2);
        // Ed25519 is deterministic: same input, same signature.
        assert_eq!(sig, s.sign_detached(b"hello", 1_700_000_100));
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
