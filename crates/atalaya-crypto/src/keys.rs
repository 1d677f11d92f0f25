//! Node key pairs (Ed25519 for signing, X25519 for sealing), their public halves and key files.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// File name of the Ed25519 signing secret inside a key directory.
pub const SIGNING_KEY_FILE: &str = "signing.key";
/// File name of the X25519 sealing secret inside a key directory.
pub const SEALING_KEY_FILE: &str = "sealing.key";

const SIGNING_PREFIX: &str = "ed25519-secret:";
const SEALING_PREFIX: &str = "x25519-secret:";

/// Errors reading, writing or decoding keys.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file already exists and would be overwritten.
    #[error("key file {} already exists; refusing to overwrite it", path.display())]
    KeyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// A key file does not exist.
    #[error("key file {} does not exist", path.display())]
    KeyMissing {
        /// The missing file.
        path: PathBuf,
    },
    /// A secret file can be read by group or others.
    #[error(
        "key file {} is readable by group or others (mode {mode:04o}); run chmod 600 {}",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The offending file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file's content is not in the expected format.
    #[error("key file {} is malformed: {reason}", path.display())]
    MalformedKeyFile {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A public key in base64 form could not be decoded.
    #[error("invalid public key: {reason}")]
    InvalidPublicKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An I/O error on a key file.
    #[error("i/o error on key file {}: {source}", path.display())]
    Io {
        /// The file being accessed.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl KeyError {
    /// Stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeyExists { .. } => "key_exists",
            Self::KeyMissing { .. } => "key_missing",
            Self::InsecurePermissions { .. } => "insecure_permissions",
            Self::MalformedKeyFile { .. } => "malformed_key_file",
            Self::InvalidPublicKey { .. } => "invalid_public_key",
            Self::Io { .. } => "io_error",
        }
    }

    fn io(path: &Path, source: io::Error) -> Self {
        match source.kind() {
            io::ErrorKind::NotFound => Self::KeyMissing {
                path: path.to_path_buf(),
            },
            io::ErrorKind::AlreadyExists => Self::KeyExists {
                path: path.to_path_buf(),
            },
            _ => Self::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

/// A node's secret keys: Ed25519 for signatures and X25519 for sealing.
pub struct NodeKeys {
    signing: SigningKey,
    sealing: StaticSecret,
}

impl NodeKeys {
    /// Generates fresh keys from the given random source.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let signing = SigningKey::generate(rng);
        let sealing = StaticSecret::random_from_rng(rng);
        Self { signing, sealing }
    }

    /// The Ed25519 signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The X25519 sealing secret.
    pub fn sealing_secret(&self) -> &StaticSecret {
        &self.sealing
    }

    /// The public half of the signing key.
    pub fn verifying_key(&self) -> PublicSigningKey {
        PublicSigningKey(self.signing.verifying_key())
    }

    /// The public half of the sealing key.
    pub fn sealing_public(&self) -> PublicSealingKey {
        PublicSealingKey(PublicKey::from(&self.sealing))
    }

    /// The key id of the public signing key (see [`PublicSigningKey::key_id`]).
    pub fn key_id(&self) -> String {
        self.verifying_key().key_id()
    }

    /// Writes `signing.key` and `sealing.key` (mode 0600) into `dir`, refusing to overwrite.
    pub fn write_to_dir(&self, dir: &Path) -> Result<(), KeyError> {
        let signing_path = dir.join(SIGNING_KEY_FILE);
        let sealing_path = dir.join(SEALING_KEY_FILE);
        // Check both first so that an existing sealing key does not leave a lone signing key.
        for path in [&signing_path, &sealing_path] {
            if fs::symlink_metadata(path).is_ok() {
                return Err(KeyError::KeyExists { path: path.clone() });
            }
        }
        write_secret_file(&signing_path, SIGNING_PREFIX, self.signing.as_bytes())?;
        write_secret_file(&sealing_path, SEALING_PREFIX, self.sealing.as_bytes())
    }

    /// Loads keys written by [`NodeKeys::write_to_dir`], refusing files readable by others.
    pub fn load_from_dir(dir: &Path) -> Result<Self, KeyError> {
        let signing_bytes = read_secret_file(&dir.join(SIGNING_KEY_FILE), SIGNING_PREFIX)?;
        let sealing_bytes = read_secret_file(&dir.join(SEALING_KEY_FILE), SEALING_PREFIX)?;
        Ok(Self {
            signing: SigningKey::from_bytes(&signing_bytes),
            sealing: StaticSecret::from(*sealing_bytes),
        })
    }
}

impl fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKeys")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// Fails unless `path` is inaccessible to group and others (`mode & 0o077 == 0`).
pub fn check_secret_file_permissions(path: &Path) -> Result<(), KeyError> {
    let metadata = fs::metadata(path).map_err(|e| KeyError::io(path, e))?;
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

fn write_secret_file(path: &Path, prefix: &str, secret: &[u8; 32]) -> Result<(), KeyError> {
    let mut line = Zeroizing::new(String::with_capacity(prefix.len() + 45));
    line.push_str(prefix);
    STANDARD.encode_string(secret, &mut line);
    line.push('\n');
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| KeyError::io(path, e))?;
    file.write_all(line.as_bytes())
        .map_err(|e| KeyError::io(path, e))?;
    file.sync_all().map_err(|e| KeyError::io(path, e))
}

fn read_secret_file(path: &Path, prefix: &str) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    check_secret_file_permissions(path)?;
    let malformed = |reason| KeyError::MalformedKeyFile {
        path: path.to_path_buf(),
        reason,
    };
    let content = Zeroizing::new(fs::read(path).map_err(|e| KeyError::io(path, e))?);
    let line = content.strip_suffix(b"\n").unwrap_or(&content);
    let encoded = line
        .strip_prefix(prefix.as_bytes())
        .ok_or_else(|| malformed("missing or wrong key type prefix"))?;
    let decoded = Zeroizing::new(
        STANDARD
            .decode(encoded)
            .map_err(|_| malformed("secret is not valid base64"))?,
    );
    let mut secret = Zeroizing::new([0u8; 32]);
    if decoded.len() != secret.len() {
        return Err(malformed("secret is not 32 bytes long"));
    }
    secret.copy_from_slice(&decoded);
    Ok(secret)
}

fn decode_public_b64(encoded: &str) -> Result<[u8; 32], KeyError> {
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| KeyError::InvalidPublicKey {
            reason: "not valid base64",
        })?;
    bytes.try_into().map_err(|_| KeyError::InvalidPublicKey {
        reason: "not 32 bytes long",
    })
}

/// Lowercase hex of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
}

/// A node's public Ed25519 key; serializes as standard padded base64 of its 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicSigningKey(VerifyingKey);

impl PublicSigningKey {
    /// Wraps an Ed25519 verifying key.
    pub fn new(key: VerifyingKey) -> Self {
        Self(key)
    }

    /// Parses standard padded base64 of the 32 raw key bytes.
    pub fn from_b64(encoded: &str) -> Result<Self, KeyError> {
        let bytes = decode_public_b64(encoded)?;
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| KeyError::InvalidPublicKey {
                reason: "not a valid Ed25519 point",
            })
    }

    /// Standard padded base64 of the 32 raw key bytes.
    pub fn to_b64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }

    /// Lowercase hex of the first 8 bytes of SHA-256 over the raw key (16 characters).
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        to_hex(&digest[..8])
    }

    /// The underlying Ed25519 verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl From<VerifyingKey> for PublicSigningKey {
    fn from(key: VerifyingKey) -> Self {
        Self(key)
    }
}

impl Serialize for PublicSigningKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_b64())
    }
}

impl<'de> Deserialize<'de> for PublicSigningKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let encoded = String::deserialize(deserializer)?;
        Self::from_b64(&encoded).map_err(serde::de::Error::custom)
    }
}

/// A node's public X25519 key; serializes as standard padded base64 of its 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicSealingKey(PublicKey);

impl PublicSealingKey {
    /// Wraps an X25519 public key.
    pub fn new(key: PublicKey) -> Self {
        Self(key)
    }

    /// Parses standard padded base64 of the 32 raw key bytes.
    pub fn from_b64(encoded: &str) -> Result<Self, KeyError> {
        decode_public_b64(encoded).map(|bytes| Self(PublicKey::from(bytes)))
    }

    /// Standard padded base64 of the 32 raw key bytes.
    pub fn to_b64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }

    /// The underlying X25519 public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.0
    }
}

impl From<PublicKey> for PublicSealingKey {
    fn from(key: PublicKey) -> Self {
        Self(key)
    }
}

impl Serialize for PublicSealingKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_b64())
    }
}

impl<'de> Deserialize<'de> for PublicSealingKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let encoded = String::deserialize(deserializer)?;
        Self::from_b64(&encoded).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand_core::{CryptoRng, RngCore};

    /// Deterministic test RNG (xorshift); NOT cryptographically secure.
    pub(crate) struct TestRng(pub u64);

    impl RngCore for TestRng {
        fn next_u32(&mut self) -> u32 {
            self.next_u64() as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for chunk in dest.chunks_mut(8) {
                let bytes = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&bytes[..chunk.len()]);
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl CryptoRng for TestRng {}

    pub(crate) fn test_keys(seed: u64) -> NodeKeys {
        NodeKeys::generate(&mut TestRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1))
    }

    fn set_mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn write_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let keys = test_keys(1);
        keys.write_to_dir(dir.path()).unwrap();

        for name in [SIGNING_KEY_FILE, SEALING_KEY_FILE] {
            let mode = fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let text = fs::read_to_string(dir.path().join(SIGNING_KEY_FILE)).unwrap();
        assert!(text.starts_with("ed25519-secret:") && text.ends_with('\n'));
        assert_eq!(text.lines().count(), 1);
        let text = fs::read_to_string(dir.path().join(SEALING_KEY_FILE)).unwrap();
        assert!(text.starts_with("x25519-secret:") && text.ends_with('\n'));

        let loaded = NodeKeys::load_from_dir(dir.path()).unwrap();
        assert_eq!(
            loaded.signing_key().to_bytes(),
            keys.signing_key().to_bytes()
        );
        assert_eq!(loaded.verifying_key(), keys.verifying_key());
        assert_eq!(loaded.sealing_public(), keys.sealing_public());
    }

    #[test]
    fn load_refuses_group_or_world_readable_files() {
        for (name, mode) in [(SIGNING_KEY_FILE, 0o644), (SEALING_KEY_FILE, 0o640)] {
            let dir = tempfile::tempdir().unwrap();
            test_keys(2).write_to_dir(dir.path()).unwrap();
            let path = dir.path().join(name);
            set_mode(&path, mode);
            let err = NodeKeys::load_from_dir(dir.path()).unwrap_err();
            assert_eq!(err.code(), "insecure_permissions");
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains(&format!("mode {mode:04o}")), "{message}");
            assert!(message.contains("chmod 600"), "{message}");
            assert!(
                matches!(err, KeyError::InsecurePermissions { mode: m, .. } if m == mode),
                "{err:?}"
            );
        }
    }

    #[test]
    fn check_secret_file_permissions_accepts_0600_and_0400() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        fs::write(&path, b"x").unwrap();
        for mode in [0o600, 0o400] {
            set_mode(&path, mode);
            check_secret_file_permissions(&path).unwrap();
        }
        set_mode(&path, 0o604);
        assert_eq!(
            check_secret_file_permissions(&path).unwrap_err().code(),
            "insecure_permissions"
        );
        let missing = dir.path().join("missing");
        assert_eq!(
            check_secret_file_permissions(&missing).unwrap_err().code(),
            "key_missing"
        );
    }

    #[test]
    fn write_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        test_keys(3).write_to_dir(dir.path()).unwrap();
        let before = fs::read(dir.path().join(SIGNING_KEY_FILE)).unwrap();
        let err = test_keys(4).write_to_dir(dir.path()).unwrap_err();
        assert_eq!(err.code(), "key_exists");
        assert_eq!(fs::read(dir.path().join(SIGNING_KEY_FILE)).unwrap(), before);

        // An existing sealing key alone also blocks the write, and no signing key is left behind.
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(SEALING_KEY_FILE), b"x").unwrap();
        let err = test_keys(5).write_to_dir(dir.path()).unwrap_err();
        assert_eq!(err.code(), "key_exists");
        assert!(err.to_string().contains(SEALING_KEY_FILE));
        assert!(!dir.path().join(SIGNING_KEY_FILE).exists());
    }

    #[test]
    fn load_rejects_corrupted_files() {
        let good = STANDARD.encode([7u8; 32]);
        let cases: Vec<(&str, String, &str)> = vec![
            (
                SIGNING_KEY_FILE,
                format!("x25519-secret:{good}\n"),
                "prefix",
            ),
            (
                SIGNING_KEY_FILE,
                format!("ed25519-secret: {good}\n"),
                "base64",
            ),
            (
                SIGNING_KEY_FILE,
                "ed25519-secret:!!!!\n".to_string(),
                "base64",
            ),
            (
                SIGNING_KEY_FILE,
                format!("ed25519-secret:{}\n", STANDARD.encode([7u8; 31])),
                "32",
            ),
            (
                SEALING_KEY_FILE,
                format!("x25519-secret:{}\n", STANDARD.encode([7u8; 33])),
                "32",
            ),
            (SEALING_KEY_FILE, String::new(), "prefix"),
            (
                SEALING_KEY_FILE,
                format!("x25519-secret:{good}\n\n"),
                "base64",
            ),
        ];
        for (name, content, reason) in cases {
            let dir = tempfile::tempdir().unwrap();
            test_keys(6).write_to_dir(dir.path()).unwrap();
            let path = dir.path().join(name);
            fs::write(&path, &content).unwrap();
            let err = NodeKeys::load_from_dir(dir.path()).unwrap_err();
            assert_eq!(err.code(), "malformed_key_file", "{content:?}");
            let message = err.to_string();
            assert!(
                message.contains(name) && message.contains(reason),
                "{message}"
            );
            assert!(!message.contains(&good));
        }
    }

    #[test]
    fn load_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let err = NodeKeys::load_from_dir(dir.path()).unwrap_err();
        assert_eq!(err.code(), "key_missing");
    }

    #[test]
    fn public_keys_base64_and_serde() {
        let keys = test_keys(7);
        let signing = keys.verifying_key();
        let sealing = keys.sealing_public();
        assert_eq!(
            PublicSigningKey::from_b64(&signing.to_b64()).unwrap(),
            signing
        );
        assert_eq!(
            PublicSealingKey::from_b64(&sealing.to_b64()).unwrap(),
            sealing
        );
        assert_eq!(signing.to_b64().len(), 44);
        assert!(signing.to_b64().ends_with('='));

        let json = serde_json::to_string(&(signing, sealing)).unwrap();
        assert_eq!(
            json,
            format!("[\"{}\",\"{}\"]", signing.to_b64(), sealing.to_b64())
        );
        let back: (PublicSigningKey, PublicSealingKey) = serde_json::from_str(&json).unwrap();
        assert_eq!(back, (signing, sealing));

        for bad in ["", "not base64!", &STANDARD.encode([1u8; 31])] {
            assert_eq!(
                PublicSigningKey::from_b64(bad).unwrap_err().code(),
                "invalid_public_key"
            );
            assert_eq!(
                PublicSealingKey::from_b64(bad).unwrap_err().code(),
                "invalid_public_key"
            );
        }
        assert!(serde_json::from_str::<PublicSigningKey>("\"AAAA\"").is_err());
    }

    #[test]
    fn key_id_is_first_8_bytes_of_sha256_in_hex() {
        // RFC 8032 test 1 public key.
        let key =
            PublicSigningKey::from_b64("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=").unwrap();
        // Expected value from `sha256sum` of the raw 32 bytes.
        assert_eq!(key.key_id(), "21fe31dfa154a261");
        assert_eq!(to_hex(&[0x01, 0xab, 0xff]), "01abff");
    }

    #[test]
    fn debug_does_not_leak_secrets() {
        let keys = test_keys(8);
        let debug = format!("{keys:?}");
        assert!(debug.contains(&keys.key_id()), "{debug}");
        assert!(!debug.contains(&STANDARD.encode(keys.signing_key().as_bytes())));
        assert!(!debug.contains("secret"));
    }
}
