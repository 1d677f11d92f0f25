//! The OpenPGP key and detached signatures we write, checked by the real GnuPG (`gpg`) in a
//! throw-away GNUPGHOME: the key imports, and `gpg --verify` accepts the `.asc` over the file
//! (and refuses it over a changed file).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::path::Path;
use std::process::{Command, Output};

use atalaya_crypto::OpenPgpSigner;
use rand_core::{CryptoRng, RngCore};

struct TestRng(u64);
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

fn gpg(home: &Path, args: &[&str]) -> Output {
    match Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--no-tty", "--no-autostart"])
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("cannot run gpg ({e}): apt-get install gnupg"),
    }
}

#[test]
fn gpg_imports_our_key_and_verifies_our_detached_signature() {
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let signer =
        OpenPgpSigner::generate(&mut TestRng(0x5eed_1234_abcd_0001), 1_700_000_000).unwrap();
    let key = home.path().join("key.asc");
    std::fs::write(
        &key,
        signer
            .public_key_armored("Atalaya test CSAF <csaf@example.org>")
            .unwrap(),
    )
    .unwrap();
    let out = gpg(home.path(), &["--import", key.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let list = gpg(home.path(), &["--with-colons", "--list-keys"]);
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(
        listing.contains(&format!("fpr:::::::::{}:", signer.fingerprint())),
        "{listing}"
    );

    let doc = home.path().join("cl-csirt-1.json");
    let content = br#"{"document":{"title":"x"}}"#;
    std::fs::write(&doc, content).unwrap();
    let asc = home.path().join("cl-csirt-1.json.asc");
    std::fs::write(
        &asc,
        signer
            .sign_detached_armored(content, 1_700_000_500)
            .unwrap(),
    )
    .unwrap();
    let out = gpg(
        home.path(),
        &["--verify", asc.to_str().unwrap(), doc.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "verify: {err}");
    assert!(err.contains("Good signature"), "{err}");

    std::fs::write(&doc, br#"{"document":{"title":"y"}}"#).unwrap();
    let out = gpg(
        home.path(),
        &["--verify", asc.to_str().unwrap(), doc.to_str().unwrap()],
    );
    assert!(!out.status.success(), "a changed file verified");
}

/// What GnuPG says of each fixture key, from `--with-colons`: per (sub)key its validity
/// letter (`e` expired, `r` revoked, `u` for anything else) by fingerprint.
fn gpg_validity(home: &Path, file: &Path) -> Vec<(String, char)> {
    let out = gpg(
        home,
        &[
            "--with-colons",
            "--import-options",
            "show-only",
            "--import",
            file.to_str().unwrap(),
        ],
    );
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut result = Vec::new();
    let mut validity = None;
    for line in listing.lines() {
        let f: Vec<&str> = line.split(':').collect();
        match f[0] {
            // Without a trust database, gpg shows a usable key as `-` (validity unknown).
            "pub" | "sub" => {
                validity = f[1]
                    .chars()
                    .next()
                    .map(|v| if matches!(v, 'e' | 'r') { v } else { 'u' })
            }
            "fpr" => {
                if let Some(v) = validity.take() {
                    result.push((f[9].to_owned(), v));
                }
            }
            _ => {}
        }
    }
    result
}

#[test]
fn our_reader_agrees_with_gpg_on_every_fixture_key() {
    use atalaya_crypto::openpgp::parse_public_key;
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openpgp");
    for name in [
        "rsa-valid",
        "rsa-subkey-expired",
        "rsa-subkey-revoked",
        "rsa-revoked",
        "rsa-expired",
        "ed25519-cv25519",
        "cert",
        "rsa",
        "expired",
        "revoked",
    ] {
        let file = dir.join(format!("{name}.asc"));
        let gpg_says = gpg_validity(home.path(), &file);
        assert!(!gpg_says.is_empty(), "{name}: gpg listed nothing");
        let key = parse_public_key(&std::fs::read(&file).unwrap()).unwrap();
        let ours = |revoked: bool, expired: bool| match (revoked, expired) {
            (true, _) => 'r',
            (false, true) => 'e',
            _ => 'u',
        };
        let mut we_say = vec![(
            key.fingerprint.clone(),
            ours(key.revoked, key.expired_at(now)),
        )];
        for sub in &key.subkeys {
            // gpg shows a subkey of a revoked or expired key as revoked or expired too.
            let v = ours(
                key.revoked || sub.revoked,
                key.expired_at(now) || sub.expired_at(now),
            );
            we_say.push((sub.fingerprint.clone(), v));
        }
        assert_eq!(we_say, gpg_says, "{name}");
    }
    // And gpg finds the tampered self-signature bad, as we do.
    let out = gpg(
        home.path(),
        &[
            "--import-options",
            "show-only",
            "--import",
            dir.join("rsa-bad-self-signature.asc").to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad signature"), "{err}");
}
