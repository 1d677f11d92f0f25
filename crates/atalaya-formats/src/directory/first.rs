//! The FIRST teams API document (`GET https://api.first.org/data/v1/teams`).
//!
//! Source followed: FIRST's API documentation page "GET /teams"
//! (`https://api.first.org/v1/get-teams`). It confirms the envelope — `status`, `status-code`,
//! `version`, `last-modified`, `total`, `access` (`public` by default), `limit`, `offset`,
//! `data` — and, in its example for the public scope, the per-team fields `id` (FIRST's slug),
//! `team` (short name), `team-full`, `host`, `establishment` (`YYYY-MM-DD`), `address` and
//! `country` (ISO 3166-1 alpha-2). The documentation excerpt available to us stopped there, so
//! the remaining per-team fields are named after the labels of FIRST's public team profile in
//! the same kebab-case style and could not be confirmed: `member-since`, `website`,
//! `constituency` (free text; read as comma-separated types), `email`, `phone`,
//! `emergency-phone`, `fax`, `timezone`, `business-hours`. Unknown fields are ignored on import,
//! so a document with more fields still reads. The public scope carries no PGP keys, and
//! neither does this format. The export adds `country-name` (English) next to `country`, as a
//! reader's convenience; the import does not need it.
//!
//! Every team of a FIRST document is a FIRST member (`first: member, since member-since`).

use atalaya_core::directory::{
    BusinessHours, Constituency, Day, Email, FirstMembership, Phone, PhoneUsage, TeamRecord,
};
use atalaya_core::{CountryCode, NodeId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{FormatError, ImportProblem, TeamLabel};

/// One team of the FIRST API's `data` array.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
struct FirstTeam {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    team: Option<String>,
    team_full: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    establishment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    constituency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    emergency_phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fax: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    business_hours: Option<String>,
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Read a FIRST teams API document: one result per team of `data`, in order.
///
/// The document is refused when over [`super::MAX_INPUT_BYTES`] (`too-large`), when it is not
/// JSON or not an object with a `data` array (`malformed`), or when its `status` is not `OK`
/// (`malformed`: an error reply of the API, not a list of teams). A team is refused on its own
/// when it lacks `team`, `team-full` or `country` (`missing-field`), has an unreadable date or
/// country or a field of the wrong type (`invalid-field`), or repeats another team's id
/// (`duplicate-id`).
pub fn import_first(
    json: &[u8],
    host: &NodeId,
    now: Timestamp,
) -> Result<Vec<Result<TeamRecord, ImportProblem>>, FormatError> {
    super::check_size(json)?;
    let doc: Value = serde_json::from_slice(json).map_err(|e| FormatError::from_json(&e))?;
    let Value::Object(mut doc) = doc else {
        return Err(FormatError::malformed(
            "a FIRST teams document is a JSON object with a `data` array",
        ));
    };
    if let Some(status) = doc.get("status")
        && status.as_str() != Some("OK")
    {
        return Err(FormatError::malformed(format!(
            "the FIRST API replied with status {status} rather than a list of teams"
        )));
    }
    let Some(Value::Array(data)) = doc.remove("data") else {
        return Err(FormatError::malformed(
            "a FIRST teams document has a `data` array of teams",
        ));
    };
    Ok(super::import_each(data, "team", |v, label| {
        import_one(v, label, host, now)
    }))
}

fn import_one(
    value: Value,
    label: &TeamLabel,
    host: &NodeId,
    now: Timestamp,
) -> Result<TeamRecord, ImportProblem> {
    let t: FirstTeam = serde_json::from_value(value)
        .map_err(|e| label.invalid(format!("the team is not in the FIRST API shape: {e}")))?;
    let short_name = nonempty(t.team).ok_or_else(|| label.missing("team"))?;
    let official_name = nonempty(t.team_full).ok_or_else(|| label.missing("team-full"))?;
    let country = nonempty(t.country).ok_or_else(|| label.missing("country"))?;
    let country = CountryCode::new(&country).map_err(|e| label.invalid(format!("country: {e}")))?;
    let day = |field: &str, s: Option<String>| match nonempty(s) {
        Some(s) => Day::parse(&s)
            .map(Some)
            .map_err(|e| label.invalid(format!("{field}: {e}"))),
        None => Ok(None),
    };
    let established = day("establishment", t.establishment)?;
    let member_since = day("member-since", t.member_since)?;
    let types: Vec<String> = nonempty(t.constituency)
        .map(|c| {
            c.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let timezone = nonempty(t.timezone);
    let phone_tz = timezone.clone().unwrap_or_else(|| "UTC".to_owned());
    let mut phones = Vec::new();
    for (number, usage) in [
        (t.phone, PhoneUsage::Voice),
        (t.emergency_phone, PhoneUsage::Emergency),
        (t.fax, PhoneUsage::Fax),
    ] {
        if let Some(number) = nonempty(number) {
            phones.push(Phone {
                number,
                usage: vec![usage],
                timezone: phone_tz.clone(),
                comments: None,
                public: true,
            });
        }
    }
    let emails = nonempty(t.email)
        .map(|address| {
            vec![Email {
                address,
                usage: vec!["contact".to_owned()],
                public: true,
            }]
        })
        .unwrap_or_default();
    let business_hours = nonempty(t.business_hours).map(|hours| BusinessHours {
        hours,
        timezone: timezone.clone().unwrap_or_else(|| "UTC".to_owned()),
    });
    super::ImportedTeam {
        short_name,
        official_name,
        country,
        team_type: super::infer_team_type(&types),
        host_organisation: nonempty(t.host),
        postal_address: nonempty(t.address),
        website: nonempty(t.website),
        established,
        constituency: Constituency {
            types,
            countries: vec![country],
            ..Constituency::default()
        },
        business_hours,
        emails,
        phones,
        pgp_keys: Vec::new(),
        first: Some(FirstMembership {
            member: true,
            since: member_since,
        }),
        trusted_introducer: None,
    }
    .into_record(host, now, label)
}

/// Write a FIRST teams API document (public access) of the teams' public views. FIRST's record
/// holds one e-mail and one number of each kind, so the team's `contact` address (else its
/// first) and its first voice, emergency and fax numbers are written; `id` is the team's slug.
pub fn export_first(teams: &[TeamRecord]) -> Value {
    let data: Vec<Value> = teams.iter().map(|t| export_one(&t.public_view())).collect();
    json!({
        "status": "OK",
        "status-code": 200,
        "version": 1,
        "access": "public",
        "total": data.len(),
        "limit": data.len(),
        "offset": 0,
        "data": data,
    })
}

fn export_one(t: &TeamRecord) -> Value {
    let number = |usage: PhoneUsage| {
        t.phones
            .iter()
            .find(|p| p.usage.contains(&usage))
            .map(|p| p.number.clone())
    };
    let email = t
        .emails
        .iter()
        .find(|e| e.usage.iter().any(|u| u == "contact"))
        .or_else(|| t.emails.first())
        .map(|e| e.address.clone());
    let timezone = t
        .business_hours
        .as_ref()
        .map(|b| b.timezone.clone())
        .or_else(|| t.phones.first().map(|p| p.timezone.clone()));
    let slug =
        t.id.as_str()
            .rsplit('/')
            .next()
            .unwrap_or(t.id.as_str())
            .to_owned();
    let team = FirstTeam {
        id: Some(slug),
        team: Some(t.short_name.clone()),
        team_full: Some(t.official_name.clone()),
        host: t.host_organisation.clone(),
        establishment: t.established.map(|d| d.to_string()),
        address: t.postal_address.clone(),
        country: Some(t.country.as_str().to_owned()),
        member_since: t
            .first
            .as_ref()
            .and_then(|f| f.since)
            .map(|d| d.to_string()),
        website: t.website.clone(),
        constituency: Some(t.constituency.types.join(", ")).filter(|s| !s.is_empty()),
        email,
        phone: number(PhoneUsage::Voice),
        emergency_phone: number(PhoneUsage::Emergency),
        fax: number(PhoneUsage::Fax),
        timezone,
        business_hours: t.business_hours.as_ref().map(|b| b.hours.clone()),
    };
    let mut v = serde_json::to_value(team).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert(
            "country-name".to_owned(),
            Value::String(super::country_name(t.country.as_str())),
        );
    }
    v
}
