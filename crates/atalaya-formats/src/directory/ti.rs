//! The Trusted Introducer directory's team records: the array of teams published at
//! `https://www.trusted-introducer.org/directory/teams.json`.
//!
//! The shape followed is the published one (as in IntelMQ's test data for its Trusted
//! Introducer lookup expert): `official_name`, `short_name`, `country {code, name}`,
//! `established`, `host_organisation`, `classification {code: l|a|c, name, since}`,
//! `postal_address`, `constituency {types, asns, domains, ipranges, countries}`,
//! `business_hours`, `business_hours_timezone`, `pgp_keys [{fingerprint, expires}]`,
//! `phones [{usage, number, timezone, comments}]`, `emails [{address, usage}]` and `misp`.
//! Fields Trusted Introducer adds later are ignored on import; `misp` has no place in the
//! record and is dropped.
//!
//! Imported teams are hosted by the importing node (`<host>/<slug of short name>`), their
//! contacts are public (the directory is public), and their type is inferred from the
//! constituency types ([`super::infer_team_type`]). Whether the country is an OAS member
//! state is the directory validation's question, not the importer's.

use atalaya_core::directory::{
    BusinessHours, Constituency, Day, Email, PgpKey, Phone, PhoneUsage, TeamRecord,
    TiClassification, TiStatus,
};
use atalaya_core::{CountryCode, NodeId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FormatError, ImportProblem, TeamLabel};

/// A Trusted Introducer team record as published (unknown fields ignored).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct TiTeam {
    official_name: Option<String>,
    short_name: Option<String>,
    country: Option<TiCountry>,
    established: Option<String>,
    host_organisation: Option<String>,
    classification: Option<TiClass>,
    postal_address: Option<String>,
    #[serde(default)]
    constituency: TiConstituency,
    business_hours: Option<String>,
    business_hours_timezone: Option<String>,
    #[serde(default)]
    pgp_keys: Vec<TiKey>,
    #[serde(default)]
    phones: Vec<TiPhone>,
    #[serde(default)]
    emails: Vec<TiEmail>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct TiCountry {
    code: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct TiClass {
    code: String,
    #[serde(default)]
    name: String,
    since: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct TiConstituency {
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    asns: Vec<u32>,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    ipranges: Vec<String>,
    #[serde(default)]
    countries: Vec<TiCountry>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct TiKey {
    fingerprint: String,
    expires: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct TiPhone {
    #[serde(default)]
    usage: Vec<String>,
    number: String,
    timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comments: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
struct TiEmail {
    address: String,
    #[serde(default)]
    usage: Vec<String>,
}

/// Read a Trusted Introducer `teams.json`: one result per team, in the document's order.
///
/// The whole document is refused when it is over [`super::MAX_INPUT_BYTES`] (`too-large`) or
/// is not a JSON array (`malformed`, with serde's line and column); a team is refused on its
/// own when it lacks `short_name`, `official_name` or `country` (`missing-field`), has a field
/// of the wrong shape or an unreadable date or country (`invalid-field`), or repeats another
/// team's id (`duplicate-id`).
pub fn import_ti(
    json: &[u8],
    host: &NodeId,
    now: Timestamp,
) -> Result<Vec<Result<TeamRecord, ImportProblem>>, FormatError> {
    super::check_size(json)?;
    let teams: Vec<Value> = serde_json::from_slice(json).map_err(|e| FormatError::from_json(&e))?;
    Ok(super::import_each(teams, "short_name", |v, label| {
        import_one(v, label, host, now)
    }))
}

fn import_one(
    value: Value,
    label: &TeamLabel,
    host: &NodeId,
    now: Timestamp,
) -> Result<TeamRecord, ImportProblem> {
    let t: TiTeam = serde_json::from_value(value).map_err(|e| {
        label.invalid(format!(
            "the team record is not in the Trusted Introducer shape: {e}"
        ))
    })?;
    let short_name = t
        .short_name
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| label.missing("short_name"))?;
    let official_name = t
        .official_name
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| label.missing("official_name"))?;
    let country = t.country.ok_or_else(|| label.missing("country"))?;
    let country =
        CountryCode::new(&country.code).map_err(|e| label.invalid(format!("country: {e}")))?;
    let day =
        |field: &str, s: &str| Day::parse(s).map_err(|e| label.invalid(format!("{field}: {e}")));
    let established = match t.established.as_deref() {
        Some(s) if !s.is_empty() => Some(day("established", s)?),
        _ => None,
    };
    let trusted_introducer = match t.classification {
        Some(c) => {
            let status = match c.code.as_str() {
                "l" => TiStatus::Listed,
                "a" => TiStatus::Accredited,
                "c" => TiStatus::Certified,
                other => {
                    return Err(
                        label.invalid(format!("classification code {other:?} is not l, a or c"))
                    );
                }
            };
            let since = match c.since.as_deref() {
                Some(s) if !s.is_empty() => Some(day("classification.since", s)?),
                _ => None,
            };
            Some(TiClassification { status, since })
        }
        None => None,
    };
    let countries = t
        .constituency
        .countries
        .iter()
        .map(|c| {
            CountryCode::new(&c.code)
                .map_err(|e| label.invalid(format!("constituency country: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let team_type = super::infer_team_type(&t.constituency.types);
    let default_tz = t
        .business_hours_timezone
        .clone()
        .filter(|tz| !tz.is_empty())
        .unwrap_or_else(|| "UTC".to_owned());
    let business_hours = t
        .business_hours
        .filter(|h| !h.is_empty())
        .map(|hours| BusinessHours {
            hours,
            timezone: default_tz.clone(),
        });
    let pgp_keys = t
        .pgp_keys
        .iter()
        .map(|k| {
            Ok(PgpKey {
                fingerprint: super::normalise_fingerprint(&k.fingerprint),
                expires: match k.expires.as_deref() {
                    Some(s) if !s.is_empty() => Some(day("pgp_keys.expires", s)?),
                    _ => None,
                },
                armored: None,
            })
        })
        .collect::<Result<Vec<_>, ImportProblem>>()?;
    let phones: Vec<Phone> = t
        .phones
        .into_iter()
        .map(|p| Phone {
            number: p.number,
            usage: p
                .usage
                .iter()
                .filter_map(|u| match u.as_str() {
                    "voice" => Some(PhoneUsage::Voice),
                    "emergency" => Some(PhoneUsage::Emergency),
                    "fax" => Some(PhoneUsage::Fax),
                    _ => None,
                })
                .collect(),
            timezone: p
                .timezone
                .filter(|tz| !tz.is_empty())
                .unwrap_or_else(|| default_tz.clone()),
            comments: p.comments,
            public: true,
        })
        .collect();
    let emails = t
        .emails
        .into_iter()
        .map(|e| Email {
            address: e.address,
            usage: e.usage,
            public: true,
        })
        .collect();
    super::ImportedTeam {
        short_name,
        official_name,
        country,
        team_type,
        host_organisation: t.host_organisation.filter(|s| !s.is_empty()),
        postal_address: t.postal_address.filter(|s| !s.is_empty()),
        website: None,
        established,
        constituency: Constituency {
            types: t.constituency.types,
            sectors: Vec::new(),
            asns: t.constituency.asns,
            domains: t.constituency.domains,
            ip_ranges: t.constituency.ipranges,
            countries,
        },
        business_hours,
        emails,
        phones,
        pgp_keys,
        first: None,
        trusted_introducer,
    }
    .into_record(host, now, label)
}

/// Write teams in the Trusted Introducer shape (an array), from their public view: the
/// directory is public, so member-only contacts never leave through it. Country names are the
/// English names of the OAS member states; for any other country the code stands in.
pub fn export_ti(teams: &[TeamRecord]) -> Value {
    Value::Array(teams.iter().map(|t| export_one(&t.public_view())).collect())
}

fn country(code: CountryCode) -> TiCountry {
    TiCountry {
        code: code.as_str().to_owned(),
        name: super::country_name(code.as_str()),
    }
}

fn export_one(t: &TeamRecord) -> Value {
    let tz = t.business_hours.as_ref().map(|b| b.timezone.clone());
    let ti = TiTeam {
        official_name: Some(t.official_name.clone()),
        short_name: Some(t.short_name.clone()),
        country: Some(country(t.country)),
        established: t.established.map(|d| d.to_string()),
        host_organisation: t.host_organisation.clone(),
        classification: t.trusted_introducer.as_ref().map(|c| TiClass {
            code: match c.status {
                TiStatus::Listed => "l",
                TiStatus::Accredited => "a",
                TiStatus::Certified => "c",
            }
            .to_owned(),
            name: match c.status {
                TiStatus::Listed => "Listed",
                TiStatus::Accredited => "Accredited",
                TiStatus::Certified => "Certified",
            }
            .to_owned(),
            since: c.since.map(|d| d.to_string()),
        }),
        postal_address: t.postal_address.clone(),
        constituency: TiConstituency {
            types: t.constituency.types.clone(),
            asns: t.constituency.asns.clone(),
            domains: t.constituency.domains.clone(),
            ipranges: t.constituency.ip_ranges.clone(),
            countries: t
                .constituency
                .countries
                .iter()
                .map(|c| country(*c))
                .collect(),
        },
        business_hours: t.business_hours.as_ref().map(|b| b.hours.clone()),
        business_hours_timezone: tz,
        pgp_keys: t
            .pgp_keys
            .iter()
            .map(|k| TiKey {
                fingerprint: super::spaced_fingerprint(&k.fingerprint),
                expires: k.expires.map(|d| d.to_string()),
            })
            .collect(),
        phones: t
            .phones
            .iter()
            .map(|p| TiPhone {
                usage: p
                    .usage
                    .iter()
                    .map(|u| {
                        match u {
                            PhoneUsage::Voice => "voice",
                            PhoneUsage::Emergency => "emergency",
                            PhoneUsage::Fax => "fax",
                        }
                        .to_owned()
                    })
                    .collect(),
                number: p.number.clone(),
                timezone: Some(p.timezone.clone()),
                comments: p.comments.clone(),
            })
            .collect(),
        emails: t
            .emails
            .iter()
            .map(|e| TiEmail {
                address: e.address.clone(),
                usage: e.usage.clone(),
            })
            .collect(),
    };
    let mut v = serde_json::to_value(ti).unwrap_or(Value::Null);
    // Trusted Introducer leaves out what a team has not given rather than writing null.
    if let Value::Object(map) = &mut v {
        map.retain(|_, v| !v.is_null());
    }
    v
}
