//! Password hashing with Argon2id (RFC 9106), stored as PHC strings so the parameters travel
//! with each hash and can be raised later without invalidating existing accounts.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRngCore;

/// OWASP's recommended minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// A password could not be hashed, or a stored hash is unreadable.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The stored hash is not a PHC string we read.
    #[error("stored password hash is malformed")]
    Malformed,
}

/// Hash `password` with a fresh salt from `rng`, as a PHC string (`$argon2id$v=19$...`).
pub fn hash_password(
    password: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<String, PasswordError> {
    let salt = SaltString::generate(rng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC `hash` (the comparison is constant-time).
pub fn verify_password(password: &str, hash: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(hash).map_err(|_| PasswordError::Malformed)?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(PasswordError::Malformed);
    }
    // Verify with the parameters recorded in the hash itself.
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// A hash of a password nobody has, for spending the same time on unknown usernames as on
/// known ones (so the response time does not tell which usernames exist).
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$YXRhbGF5YWRlY295c2FsdA$KZ6m1uJx0L4t6x0qZ5pQ3o1iKq9Yl0g2mC0rR3cW4aE"
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::keys::tests::TestRng;

    #[test]
    fn argon2id_hashes_verify_and_salt_differs() {
        let mut rng = TestRng(0x9E37_79B9_7F4A_7C15);
        let h1 = hash_password("correct horse battery", &mut rng).unwrap();
        let h2 = hash_password("correct horse battery", &mut rng).unwrap();
        assert!(h1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h1}");
        assert_ne!(h1, h2, "every hash has its own salt");
        assert!(verify_password("correct horse battery", &h1).unwrap());
        assert!(!verify_password("correct horse batterx", &h1).unwrap());
        assert!(matches!(
            verify_password("x", "not a hash"),
            Err(PasswordError::Malformed)
        ));
        // The decoy is well-formed and matches nothing a user would type.
        assert!(!verify_password("", decoy_hash()).unwrap());
    }
}
