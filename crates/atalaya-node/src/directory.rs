//! The directory of teams: reading the OpenPGP keys teams list, for key hygiene.

use atalaya_core::directory::{ArmoredKeyFacts, Day, EncryptionKeyFacts};

/// The day of a unix time in seconds.
pub fn day_of_unix(seconds: i64) -> Option<Day> {
    atalaya_core::Timestamp::from_unix_millis(seconds.saturating_mul(1000)).map(Day::of)
}

/// What a listed key's armoured form says, for key hygiene ([`atalaya_core::directory::KeyReader`]): read
/// with every self-signature verified; `Err` with the reason when it no longer passes.
pub fn read_armored_key(armored: &str) -> Result<ArmoredKeyFacts, String> {
    let key = atalaya_crypto::openpgp::parse_public_key(armored.trim().as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(ArmoredKeyFacts {
        revoked: key.revoked,
        encryption_keys: key
            .encryption_keys()
            .into_iter()
            .map(|k| EncryptionKeyFacts {
                fingerprint: k.fingerprint,
                expires: k.expires.and_then(day_of_unix),
                revoked: k.revoked,
            })
            .collect(),
    })
}
