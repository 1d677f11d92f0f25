//! Keeping the directory current (DESIGN §1 "On-going"): which teams' OpenPGP keys expire soon
//! or have expired, and whose contacts nobody has confirmed for too long.

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
/// warning), keys that expired (another), contacts not confirmed for too long (one per
/// confirmation that went stale).
pub fn due_warnings(
    teams: &[TeamRecord],
    now: Timestamp,
    settings: &DirectorySettings,
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
        let due = due_warnings(&teams, ts("2026-06-10T12:00:00Z"), &settings);
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
        assert!(due_warnings(&fresh, ts("2026-06-10T12:00:00Z"), &settings).is_empty());
    }
}
