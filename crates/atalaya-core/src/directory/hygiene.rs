//! Keeping the directory current (DESIGN §1 "On-going"): which teams' OpenPGP keys expire soon
//! or have expired, which cannot be encrypted to any more (the encryption subkey expired or was
//! revoked, or there is none), and whose contacts nobody has confirmed for too long.
//!
//! Core does no OpenPGP: what a listed key's armoured form says comes from the caller's reader
//! (`atalaya_crypto::openpgp`, which verifies every self-signature) as [`ArmoredKeyFacts`].

use super::team::{Day, TeamId, TeamRecord};
use crate::Timestamp;

/// A team key that expires within the warning window, or has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWarning {
    /// The team.
    pub team: TeamId,
    /// The key's fingerprint.
    pub fingerprint: String,
    /// Its expiry day.
    pub expires: Day,
    /// Days from today to the expiry; negative when it has expired, 0 when it expires today.
    pub days_left: i64,
}

/// Every key of `teams` that expires within `within_days` of `today` (inclusive) or already
/// has, soonest first. Keys without expiry never appear.
pub fn expiring_keys(teams: &[TeamRecord], today: Day, within_days: i64) -> Vec<KeyWarning> {
    let mut warnings: Vec<KeyWarning> = teams
        .iter()
        .flat_map(|team| {
            team.pgp_keys.iter().filter_map(move |key| {
                let expires = key.expires?;
                let days_left = today.days_until(expires);
                (days_left <= within_days).then(|| KeyWarning {
                    team: team.id.clone(),
                    fingerprint: key.fingerprint.clone(),
                    expires,
                    days_left,
                })
            })
        })
        .collect();
    warnings.sort_by(|a, b| {
        (a.days_left, &a.team, &a.fingerprint).cmp(&(b.days_left, &b.team, &b.fingerprint))
    });
    warnings
}

/// What a listed key's armoured form says, as the caller's OpenPGP reader found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmoredKeyFacts {
    /// The key itself was revoked.
    pub revoked: bool,
    /// Every (sub)key that may encrypt to the team.
    pub encryption_keys: Vec<EncryptionKeyFacts>,
}

/// One (sub)key that may encrypt to a team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionKeyFacts {
    /// Its fingerprint.
    pub fingerprint: String,
    /// The day it stops being usable (its own expiry or the key's, the earlier); `None` for
    /// never.
    pub expires: Option<Day>,
    /// It, or the whole key, was revoked.
    pub revoked: bool,
}

/// Reads a listed key's armoured form; `Err` with the reason when the key does not pass the
/// reader's checks (any more).
pub type KeyReader<'a> = &'a (dyn Fn(&str) -> Result<ArmoredKeyFacts, String> + Sync);

/// Why a listed key cannot (or soon will not) be used to write to the team, beyond the
/// primary key's own expiry (which [`expiring_keys`] reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFinding {
    /// The key was revoked by its owner.
    Revoked,
    /// The only usable encryption (sub)key expires within the window.
    EncryptionExpiring {
        /// The encryption (sub)key.
        subkey: String,
        /// Its expiry day.
        expires: Day,
        /// Days from today (0 when it expires today).
        days_left: i64,
    },
    /// Every encryption (sub)key expired; the one that lasted longest.
    EncryptionExpired {
        /// The encryption (sub)key.
        subkey: String,
        /// The day it expired.
        expired: Day,
    },
    /// Every encryption (sub)key that had not expired was revoked.
    EncryptionRevoked {
        /// The revoked encryption (sub)key.
        subkey: String,
    },
    /// The key has no (sub)key that can encrypt.
    NoEncryptionKey,
    /// The stored key does not pass the reader's checks (a bad self-signature, a weak key).
    Unreadable {
        /// The reader's reason.
        reason: String,
    },
}

impl KeyFinding {
    /// A stable name for the finding: the warning stage, and the console's message key
    /// (`key-finding-<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            KeyFinding::Revoked => "revoked",
            KeyFinding::EncryptionExpiring { .. } => "encryption-expiring",
            KeyFinding::EncryptionExpired { .. } => "encryption-expired",
            KeyFinding::EncryptionRevoked { .. } => "encryption-revoked",
            KeyFinding::NoEncryptionKey => "no-encryption-key",
            KeyFinding::Unreadable { .. } => "unreadable",
        }
    }
}

/// A finding about one listed key of one team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    /// The team.
    pub team: TeamId,
    /// The (primary) key's fingerprint.
    pub fingerprint: String,
    /// What is wrong.
    pub finding: KeyFinding,
}

/// What the armoured form of every key of `teams` says is wrong with it on `today`, an
/// encryption subkey expiring within `within_days` included. Keys given by fingerprint only
/// are not looked at; a key whose primary expired is left to [`expiring_keys`].
pub fn key_problems(
    teams: &[TeamRecord],
    today: Day,
    within_days: i64,
    read: KeyReader<'_>,
) -> Vec<KeyProblem> {
    let mut out = Vec::new();
    for team in teams {
        for key in &team.pgp_keys {
            let Some(armored) = &key.armored else {
                continue;
            };
            if key.expires.is_some_and(|e| today.days_until(e) < 0) {
                continue;
            }
            let finding = match read(armored) {
                Err(reason) => Some(KeyFinding::Unreadable { reason }),
                Ok(facts) => encryption_finding(&facts, key.expires, today, within_days),
            };
            if let Some(finding) = finding {
                out.push(KeyProblem {
                    team: team.id.clone(),
                    fingerprint: key.fingerprint.clone(),
                    finding,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.team, &a.fingerprint).cmp(&(&b.team, &b.fingerprint)));
    out
}

fn encryption_finding(
    facts: &ArmoredKeyFacts,
    primary_expires: Option<Day>,
    today: Day,
    within_days: i64,
) -> Option<KeyFinding> {
    if facts.revoked {
        return Some(KeyFinding::Revoked);
    }
    let expired = |k: &EncryptionKeyFacts| k.expires.is_some_and(|e| today.days_until(e) < 0);
    // Never expiring sorts last: it stays usable longest.
    let lasting = |k: &&EncryptionKeyFacts| (k.expires.is_none(), k.expires);
    let keys = &facts.encryption_keys;
    if let Some(best) = keys
        .iter()
        .filter(|k| !k.revoked && !expired(k))
        .max_by_key(lasting)
    {
        let expires = best.expires?;
        let days_left = today.days_until(expires);
        // When the primary key expires the same day or earlier, its own warning says it all.
        let before_primary = primary_expires.is_none_or(|p| expires < p);
        return (days_left <= within_days && before_primary).then(|| {
            KeyFinding::EncryptionExpiring {
                subkey: best.fingerprint.clone(),
                expires,
                days_left,
            }
        });
    }
    if let Some(revoked) = keys.iter().filter(|k| !expired(k)).max_by_key(lasting) {
        return Some(KeyFinding::EncryptionRevoked {
            subkey: revoked.fingerprint.clone(),
        });
    }
    match keys.iter().max_by_key(lasting) {
        Some(last) => Some(KeyFinding::EncryptionExpired {
            subkey: last.fingerprint.clone(),
            expired: last.expires?,
        }),
        None => Some(KeyFinding::NoEncryptionKey),
    }
}

/// The sentence for people about a key finding (English; the console translates by
/// [`KeyFinding::code`]).
fn finding_text(p: &KeyProblem) -> String {
    let (fpr, team) = (&p.fingerprint, &p.team);
    match &p.finding {
        KeyFinding::Revoked => format!(
            "The OpenPGP key {fpr} of team {team} has been revoked. Publish a new key in the directory."
        ),
        KeyFinding::EncryptionExpiring {
            subkey,
            expires,
            days_left,
        } => format!(
            "The encryption subkey {subkey} of the OpenPGP key {fpr} of team {team} expires on {expires} (in {days_left} days). Extend it or add a new encryption subkey, and publish the key in the directory."
        ),
        KeyFinding::EncryptionExpired { subkey, expired } => format!(
            "The encryption subkey {subkey} of the OpenPGP key {fpr} of team {team} expired on {expired}: nothing can be encrypted to the team with this key. Extend it or add a new encryption subkey, and publish the key in the directory."
        ),
        KeyFinding::EncryptionRevoked { subkey } => format!(
            "The encryption subkey {subkey} of the OpenPGP key {fpr} of team {team} has been revoked, and the key has no other: nothing can be encrypted to the team with it. Add a new encryption subkey and publish the key in the directory."
        ),
        KeyFinding::NoEncryptionKey => format!(
            "The OpenPGP key {fpr} of team {team} has no usable encryption subkey: nothing can be encrypted to the team with it. Add an encryption subkey and publish the key in the directory."
        ),
        KeyFinding::Unreadable { reason } => format!(
            "The OpenPGP key {fpr} of team {team} no longer passes the key checks ({reason}). Publish a new key in the directory."
        ),
    }
}

/// A team whose contacts have not been confirmed recently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleContacts {
    /// The team.
    pub team: TeamId,
    /// When a person last confirmed them; `None` for never.
    pub last_confirmed: Option<Timestamp>,
}

/// The teams whose contacts were never confirmed or were last confirmed more than
/// `max_age_days` days before `now` (exactly `max_age_days` ago is still current), never
/// confirmed first, then the oldest confirmation first.
pub fn stale_contacts(
    teams: &[TeamRecord],
    now: Timestamp,
    max_age_days: i64,
) -> Vec<StaleContacts> {
    let max_age_ms = max_age_days.saturating_mul(86_400_000);
    let mut stale: Vec<StaleContacts> = teams
        .iter()
        .filter(|team| {
            team.contacts_confirmed
                .is_none_or(|at| now.millis_since(at) > max_age_ms)
        })
        .map(|team| StaleContacts {
            team: team.id.clone(),
            last_confirmed: team.contacts_confirmed,
        })
        .collect();
    stale.sort_by(|a, b| (a.last_confirmed, &a.team).cmp(&(b.last_confirmed, &b.team)));
    stale
}

/// How the directory keeps itself current (the node's `[directory]` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectorySettings {
    /// Warn this many days before a listed OpenPGP key expires.
    pub key_warning_days: i64,
    /// Flag a team whose contacts nobody confirmed for this many days.
    pub contacts_max_age_days: i64,
    /// Milliseconds between looks for keys and contacts to warn about.
    pub hygiene_tick_ms: u64,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self {
            key_warning_days: 30,
            contacts_max_age_days: 180,
            hygiene_tick_ms: 3_600_000,
        }
    }
}

/// A warning to send about a team: once per (team, subject, stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueWarning {
    /// The team.
    pub team: TeamId,
    /// A key fingerprint, or `contacts`.
    pub subject: String,
    /// `expiring`, `expired`, or `stale-<last confirmation>`: a new stage warns again.
    pub stage: String,
    /// The sentence for people.
    pub text: String,
}

/// The warnings due for `teams` under `settings`: keys expiring within the window (one
/// warning), keys that expired (another), each [`KeyFinding`] of a key's armoured form (one per
/// finding), contacts not confirmed for too long (one per confirmation that went stale).
pub fn due_warnings(
    teams: &[TeamRecord],
    now: Timestamp,
    settings: &DirectorySettings,
    read: KeyReader<'_>,
) -> Vec<DueWarning> {
    let today = Day::of(now);
    let mut out: Vec<DueWarning> =
        expiring_keys(teams, today, settings.key_warning_days)
            .into_iter()
            .map(|k| {
                let (stage, text) = if k.days_left < 0 {
                    (
                        "expired",
                        format!(
                            "The OpenPGP key {} of team {} expired on {}. Publish a new key in the directory.",
                            k.fingerprint, k.team, k.expires
                        ),
                    )
                } else {
                    (
                        "expiring",
                        format!(
                            "The OpenPGP key {} of team {} expires on {} (in {} days). Extend it or publish a new key in the directory.",
                            k.fingerprint, k.team, k.expires, k.days_left
                        ),
                    )
                };
                DueWarning {
                    team: k.team,
                    subject: k.fingerprint,
                    stage: stage.into(),
                    text,
                }
            })
            .collect();
    for p in key_problems(teams, today, settings.key_warning_days, read) {
        let stage = match &p.finding {
            // A new expiry day is a new stage: the warning comes again after a renewal lapses.
            KeyFinding::EncryptionExpiring {
                subkey, expires, ..
            } => format!("{}-{subkey}-{expires}", p.finding.code()),
            KeyFinding::EncryptionExpired { subkey, expired } => {
                format!("{}-{subkey}-{expired}", p.finding.code())
            }
            KeyFinding::EncryptionRevoked { subkey } => format!("{}-{subkey}", p.finding.code()),
            other => other.code().to_owned(),
        };
        out.push(DueWarning {
            text: finding_text(&p),
            team: p.team,
            subject: p.fingerprint,
            stage,
        });
    }
    for s in stale_contacts(teams, now, settings.contacts_max_age_days) {
        let last = s
            .last_confirmed
            .map_or_else(|| "never".to_owned(), |t| t.to_string());
        out.push(DueWarning {
            text: format!(
                "Nobody has confirmed the contacts of team {} for more than {} days (last: {last}). Check them and press \"Confirm contacts\".",
                s.team, settings.contacts_max_age_days
            ),
            team: s.team,
            subject: "contacts".into(),
            stage: format!("stale-{last}"),
        });
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::directory::team::{PgpKey, TeamType};
    use crate::{CountryCode, directory::Constituency};

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn team(id: &str, keys: &[(&str, Option<&str>)], confirmed: Option<&str>) -> TeamRecord {
        TeamRecord {
            id: TeamId::new(id).unwrap(),
            official_name: id.into(),
            short_name: id.into(),
            country: CountryCode::new("CL").unwrap(),
            team_type: TeamType::National,
            host_organisation: None,
            postal_address: None,
            website: None,
            established: None,
            designation: None,
            constituency: Constituency::default(),
            services: Vec::new(),
            business_hours: None,
            available_24x7: false,
            emails: Vec::new(),
            phones: Vec::new(),
            pgp_keys: keys
                .iter()
                .map(|(fpr, expires)| PgpKey {
                    fingerprint: (*fpr).to_owned(),
                    expires: expires.map(day),
                    armored: None,
                })
                .collect(),
            first: None,
            trusted_introducer: None,
            mandate: Default::default(),
            sim3: None,
            member_notes: None,
            contacts_confirmed: confirmed.map(ts),
            updated: ts("2026-01-01T00:00:00Z"),
            demo: false,
        }
    }

    #[test]
    fn keys_expiring_within_the_window_or_expired_are_listed_soonest_first() {
        let teams = [
            team(
                "cl-csirt",
                &[("AA", Some("2026-07-01")), ("BB", Some("2026-07-02"))],
                None,
            ),
            team("ar-cert", &[("CC", Some("2026-05-30")), ("DD", None)], None),
            team("mx-cert", &[("EE", Some("2026-06-01"))], None),
        ];
        // 2026-06-01 + 30 days = 2026-07-01: exactly at the window is included, a day after is not.
        let warnings = expiring_keys(&teams, day("2026-06-01"), 30);
        let got: Vec<(&str, &str, i64)> = warnings
            .iter()
            .map(|w| (w.team.as_str(), w.fingerprint.as_str(), w.days_left))
            .collect();
        assert_eq!(
            got,
            [
                ("ar-cert", "CC", -2),
                ("mx-cert", "EE", 0),
                ("cl-csirt", "AA", 30)
            ]
        );
        assert_eq!(warnings[0].expires, day("2026-05-30"));
        assert!(expiring_keys(&teams[..1], day("2026-06-01"), 29).is_empty());
    }

    #[test]
    fn contacts_never_confirmed_or_older_than_the_limit_are_stale() {
        let now = ts("2026-06-01T12:00:00Z");
        let teams = [
            team("cl-csirt", &[], Some("2026-03-03T12:00:00Z")), // exactly 90 days
            team("ar-cert", &[], Some("2026-03-03T11:59:59Z")),  // 90 days and a second
            team("mx-cert", &[], None),
            team("br-cert", &[], Some("2026-05-31T00:00:00Z")),
        ];
        let stale = stale_contacts(&teams, now, 90);
        assert_eq!(
            stale,
            [
                StaleContacts {
                    team: TeamId::new("mx-cert").unwrap(),
                    last_confirmed: None,
                },
                StaleContacts {
                    team: TeamId::new("ar-cert").unwrap(),
                    last_confirmed: Some(ts("2026-03-03T11:59:59Z")),
                },
            ]
        );
    }

    #[test]
    fn due_warnings_name_each_stage_once() {
        let settings = DirectorySettings {
            key_warning_days: 30,
            contacts_max_age_days: 180,
            hygiene_tick_ms: 1000,
        };
        let teams = [
            team(
                "cl-csirt",
                &[("AA", Some("2026-07-01"))],
                Some("2026-05-01T00:00:00Z"),
            ),
            team("pe-csirt", &[("BB", Some("2026-05-01"))], None),
            team(
                "uy-cert",
                &[("CC", Some("2027-01-01"))],
                Some("2025-01-01T00:00:00Z"),
            ),
        ];
        let due = due_warnings(&teams, ts("2026-06-10T12:00:00Z"), &settings, &no_reader);
        let keys: Vec<(&str, &str, &str)> = due
            .iter()
            .map(|w| (w.team.as_str(), w.subject.as_str(), w.stage.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("pe-csirt", "BB", "expired"),
                ("cl-csirt", "AA", "expiring"),
                ("pe-csirt", "contacts", "stale-never"),
                ("uy-cert", "contacts", "stale-2025-01-01T00:00:00.000Z"),
            ]
        );
        assert!(due[1].text.contains("in 21 days"), "{}", due[1].text);
        assert!(
            due[0].text.contains("expired on 2026-05-01"),
            "{}",
            due[0].text
        );
        // Nothing due when every key is far from expiry and contacts are fresh.
        let fresh = [team(
            "cl-csirt",
            &[("AA", Some("2027-07-01"))],
            Some("2026-06-01T00:00:00Z"),
        )];
        assert!(due_warnings(&fresh, ts("2026-06-10T12:00:00Z"), &settings, &no_reader).is_empty());
    }

    /// The tests' teams list keys by fingerprint only: the reader is never asked.
    fn no_reader(_: &str) -> Result<ArmoredKeyFacts, String> {
        Err("no armoured keys in this test".into())
    }

    /// A reader that knows a few armoured keys by name, standing in for atalaya-crypto's.
    fn fake_reader(armored: &str) -> Result<ArmoredKeyFacts, String> {
        let enc = |fpr: &str, expires: Option<&str>, revoked: bool| EncryptionKeyFacts {
            fingerprint: fpr.into(),
            expires: expires.map(day),
            revoked,
        };
        let facts = |revoked, encryption_keys| {
            Ok(ArmoredKeyFacts {
                revoked,
                encryption_keys,
            })
        };
        match armored {
            "good" => facts(false, vec![enc("S1", None, false)]),
            "subkey-expired" => facts(false, vec![enc("S2", Some("2026-01-02"), false)]),
            // An old subkey expired, a newer one took over: nothing wrong.
            "rolled-over" => facts(
                false,
                vec![
                    enc("S3", Some("2025-01-01"), false),
                    enc("S4", Some("2028-01-01"), false),
                ],
            ),
            "subkey-revoked" => facts(false, vec![enc("S5", None, true)]),
            "revoked" => facts(true, vec![enc("S6", None, true)]),
            "signing-only" => facts(false, vec![]),
            "subkey-expiring" => facts(false, vec![enc("S7", Some("2026-06-20"), false)]),
            _ => Err("a self-signature does not verify".into()),
        }
    }

    fn armored_team(id: &str, keys: &[(&str, Option<&str>, &str)]) -> TeamRecord {
        let mut t = team(id, &[], Some("2026-06-01T00:00:00Z"));
        t.pgp_keys = keys
            .iter()
            .map(|(fpr, expires, armored)| PgpKey {
                fingerprint: (*fpr).to_owned(),
                expires: expires.map(day),
                armored: Some((*armored).to_owned()),
            })
            .collect();
        t
    }

    #[test]
    fn key_problems_report_what_stops_encryption_to_the_team() {
        let teams = [
            armored_team(
                "cl-csirt",
                &[
                    ("A1", None, "good"),
                    ("A2", None, "subkey-expired"),
                    ("A3", None, "rolled-over"),
                ],
            ),
            armored_team(
                "pe-csirt",
                &[
                    ("B1", None, "subkey-revoked"),
                    ("B2", None, "revoked"),
                    ("B3", None, "signing-only"),
                    ("B4", None, "tampered"),
                ],
            ),
            armored_team(
                "uy-cert",
                &[
                    ("C1", None, "subkey-expiring"),
                    // The primary expires before the subkey would: its own warning covers it.
                    ("C2", Some("2026-06-15"), "subkey-expiring"),
                    // An expired primary key: left to expiring_keys.
                    ("C3", Some("2026-01-01"), "subkey-expired"),
                ],
            ),
        ];
        let problems = key_problems(&teams, day("2026-06-10"), 30, &fake_reader);
        let got: Vec<(&str, &str, &str)> = problems
            .iter()
            .map(|p| (p.team.as_str(), p.fingerprint.as_str(), p.finding.code()))
            .collect();
        assert_eq!(
            got,
            [
                ("cl-csirt", "A2", "encryption-expired"),
                ("pe-csirt", "B1", "encryption-revoked"),
                ("pe-csirt", "B2", "revoked"),
                ("pe-csirt", "B3", "no-encryption-key"),
                ("pe-csirt", "B4", "unreadable"),
                ("uy-cert", "C1", "encryption-expiring"),
            ]
        );
        assert_eq!(
            problems[0].finding,
            KeyFinding::EncryptionExpired {
                subkey: "S2".into(),
                expired: day("2026-01-02")
            }
        );
        assert_eq!(
            problems[5].finding,
            KeyFinding::EncryptionExpiring {
                subkey: "S7".into(),
                expires: day("2026-06-20"),
                days_left: 10
            }
        );
        // A narrower window leaves the expiring subkey out.
        assert!(key_problems(&teams[2..], day("2026-06-10"), 9, &fake_reader).is_empty());
    }

    #[test]
    fn an_expired_encryption_subkey_is_warned_about_once_per_expiry() {
        let settings = DirectorySettings::default();
        let teams = [armored_team("cl-csirt", &[("A2", None, "subkey-expired")])];
        let due = due_warnings(&teams, ts("2026-06-10T12:00:00Z"), &settings, &fake_reader);
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(due[0].subject, "A2");
        assert_eq!(due[0].stage, "encryption-expired-S2-2026-01-02");
        assert!(
            due[0].text.contains("encryption subkey S2")
                && due[0].text.contains("expired on 2026-01-02"),
            "{}",
            due[0].text
        );
    }
}
