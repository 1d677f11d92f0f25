//! The directory in the console: the member directory with filters, a team's full record (with
//! the member-only fields), the edit form for the teams this node is the authority for, the
//! coverage report, cybercrime contacts and laws, standards adoption; and the public directory
//! (`/directory`), which shows only what [`TeamRecord::public_view`] keeps.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use atalaya_core::access::Permission;
use atalaya_core::directory::coverage::CoverageReport;
use atalaya_core::directory::{
    self, Adoption, AdoptionStatus, BusinessHours, CountryCybercrime, Day, Designation,
    DirectoryEntry, Email, Mandate, PgpKey, Phone, PhoneUsage, Problem, Sim3Assessment,
    StandardsAdoption, StandardsRegistry, TeamId, TeamRecord, TeamType, vocab,
};
use atalaya_core::{CountryCode, Timestamp, member_states};
use atalaya_federation::directory::DirectoryError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::map::MAP;
use super::{Chrome, Lang, Officer, Posted, Tr, go, render, render_status};
use crate::auth::Need;
use crate::auth::right::{EditDirectory, ReadDirectory};
use crate::error::ErrorCode;
use crate::{ApiError, AppState};

/// SIM3 rows of one category: (category, [(id, name, level)]).
type Sim3Group = (String, Vec<(String, String, String)>);
/// SIM3 selects of one category: (category, [(id, name, [(level, selected)])]).
type Sim3EditGroup = (String, Vec<(String, String, Vec<(String, bool)>)>);
/// Service checkboxes of one area: (area, [(id, name, checked)]).
type ServiceGroup = (String, Vec<(String, String, bool)>);
/// This country's adoption form: (country, [(standard id, code, [(status, selected)], obstacles)]).
type OwnAdoption = (
    String,
    Vec<(String, String, Vec<(&'static str, bool)>, String)>,
);

/// A team id as one path segment (`cl-csirt%2Fbanca`).
pub fn id_segment(id: &str) -> String {
    id.replace('%', "%25").replace('/', "%2F")
}

/// A member state's name in a language (the code if it is not one).
fn country_name(code: &str, lang: Lang) -> String {
    member_states::by_code(code)
        .map_or_else(|| code.to_owned(), |s| s.name_in(lang.code()).to_owned())
}

/// The member states, sorted by their name in `lang`: (code, name).
fn states_sorted(lang: Lang) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = member_states::all()
        .into_iter()
        .map(|s| {
            (
                s.iso2.as_str().to_owned(),
                s.name_in(lang.code()).to_owned(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    v
}

/// The state of a team's keys: `expired`, `expiring` or empty, and the soonest expiry.
fn key_state(t: &TeamRecord, today: Day, warn_days: i64) -> (&'static str, String) {
    let soonest = t.pgp_keys.iter().filter_map(|k| k.expires).min();
    match soonest {
        None => ("", String::new()),
        Some(d) => {
            let left = today.days_until(d);
            let state = if left < 0 {
                "expired"
            } else if left <= warn_days {
                "expiring"
            } else {
                ""
            };
            (state, d.to_string())
        }
    }
}

fn stale(t: &TeamRecord, now: Timestamp, max_age_days: i64) -> bool {
    t.contacts_confirmed
        .is_none_or(|at| now.millis_since(at) > max_age_days * 86_400_000)
}

fn ti_word(t: &TeamRecord) -> String {
    t.trusted_introducer
        .as_ref()
        .and_then(|ti| serde_json::to_value(ti.status).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Whether this node may edit the team (its authority, and the person holds the right).
fn may_edit(state: &AppState, c: &Chrome, id: &TeamId) -> bool {
    id.authority() == state.fed.node_id() && c.can("directory:write")
}

/// This node's country.
fn my_country(state: &AppState) -> Option<CountryCode> {
    state
        .fed
        .roster()
        .member(state.fed.node_id())
        .map(|m| m.country)
}

fn not_in_roster(tr: &Tr) -> Response {
    super::error_page(
        tr,
        &ErrorCode::NotAuthoritative.with("this node is not in the roster"),
    )
}

fn today(state: &AppState) -> Day {
    Day::of(state.fed.now())
}

/// A key's expiry day, or a dash.
fn expiry_text(k: &PgpKey) -> String {
    k.expires.map_or_else(|| "—".to_owned(), |d| d.to_string())
}

// ---------------------------------------------------------------------------------------------
// The member directory.

/// One line of the directory.
#[derive(Debug, Clone)]
pub struct TeamRow {
    /// Id, as a path segment.
    pub seg: String,
    /// Id.
    pub id: String,
    /// Short name.
    pub short_name: String,
    /// Official name.
    pub official_name: String,
    /// Country code.
    pub country: String,
    /// Country name in the person's language.
    pub country_name: String,
    /// Type (wire name).
    pub team_type: &'static str,
    /// 24/7.
    pub available_24x7: bool,
    /// Services offered.
    pub services: usize,
    /// Trusted Introducer status (wire name) or empty.
    pub ti: String,
    /// `expired`, `expiring` or empty.
    pub key_state: &'static str,
    /// Soonest key expiry.
    pub key_expires: String,
    /// Contacts not confirmed for too long.
    pub stale: bool,
}

/// `?country=&type=&service=`
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    country: Option<String>,
    #[serde(rename = "type")]
    team_type: Option<String>,
    service: Option<String>,
}

#[derive(Template)]
#[template(path = "console/directory.html")]
struct DirectoryPage {
    c: Chrome,
    rows: Vec<TeamRow>,
    total: usize,
    by_type: Vec<(&'static str, usize)>,
    countries: Vec<(String, String, bool)>,
    types: Vec<(&'static str, bool)>,
    services: Vec<(String, String, bool)>,
    can_create: bool,
}

/// `GET /console/directory`
pub async fn list(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
    Query(q): Query<ListQuery>,
) -> Response {
    let teams = match state.fed.teams().await {
        Ok(t) => t,
        Err(e) => return super::error_page(&o.c.tr, &ApiError::from(e)),
    };
    let blank = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let (fc, ft, fs) = (blank(&q.country), blank(&q.team_type), blank(&q.service));
    let (today, now) = (today(&state), state.fed.now());
    let lang = o.c.tr.lang;
    let mut rows: Vec<TeamRow> = teams
        .iter()
        .filter(|t| fc.as_deref().is_none_or(|c| t.country.as_str() == c))
        .filter(|t| ft.as_deref().is_none_or(|x| t.team_type.as_str() == x))
        .filter(|t| fs.as_deref().is_none_or(|s| t.offers(s)))
        .map(|t| {
            let (ks, ke) = key_state(t, today, state.directory.key_warning_days);
            TeamRow {
                seg: id_segment(t.id.as_str()),
                id: t.id.to_string(),
                short_name: t.short_name.clone(),
                official_name: t.official_name.clone(),
                country: t.country.to_string(),
                country_name: country_name(t.country.as_str(), lang),
                team_type: t.team_type.as_str(),
                available_24x7: t.available_24x7,
                services: t.services.len(),
                ti: ti_word(t),
                key_state: ks,
                key_expires: ke,
                stale: stale(t, now, state.directory.contacts_max_age_days),
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.country_name, &a.short_name).cmp(&(&b.country_name, &b.short_name)));
    let by_type = TeamType::ALL
        .iter()
        .map(|ty| {
            (
                ty.as_str(),
                rows.iter().filter(|r| r.team_type == ty.as_str()).count(),
            )
        })
        .collect();
    let countries = states_sorted(lang)
        .into_iter()
        .map(|(code, name)| {
            let sel = fc.as_deref() == Some(code.as_str());
            (code, name, sel)
        })
        .collect();
    let types = TeamType::ALL
        .iter()
        .map(|ty| (ty.as_str(), ft.as_deref() == Some(ty.as_str())))
        .collect();
    let services = vocab::services()
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                s.name.clone(),
                fs.as_deref() == Some(s.id.as_str()),
            )
        })
        .collect();
    let can_create = o.c.can("directory:write");
    render(&DirectoryPage {
        total: teams.len(),
        rows,
        by_type,
        countries,
        types,
        services,
        can_create,
        c: o.c,
    })
}

// ---------------------------------------------------------------------------------------------
// One team.

#[derive(Template)]
#[template(path = "console/team.html")]
struct TeamPage {
    c: Chrome,
    t: TeamRecord,
    seg: String,
    country_name: String,
    services: Vec<(String, Vec<String>)>,
    sectors: Vec<String>,
    keys: Vec<(String, String, &'static str)>,
    phones: Vec<(String, Vec<&'static str>, bool)>,
    sim3: Vec<Sim3Group>,
    sim3_assessed: String,
    stale: bool,
    confirmed: String,
    updated: String,
    editable: bool,
    ti: String,
    saved: bool,
}

/// Services grouped by the framework's areas: (area name, service names).
fn services_by_area(t: &TeamRecord) -> Vec<(String, Vec<String>)> {
    vocab::SERVICE_AREAS
        .iter()
        .filter_map(|(area, area_name)| {
            let names: Vec<String> = vocab::services()
                .iter()
                .filter(|s| s.area == *area && t.offers(&s.id))
                .map(|s| s.name.clone())
                .collect();
            (!names.is_empty()).then(|| ((*area_name).to_owned(), names))
        })
        .collect()
}

/// SIM3 levels grouped by category: (category, [(id, name, level)]).
fn sim3_table(t: &TeamRecord) -> Vec<Sim3Group> {
    let Some(sim3) = &t.sim3 else {
        return Vec::new();
    };
    let mut out: Vec<Sim3Group> = Vec::new();
    for p in vocab::sim3_parameters() {
        let level = sim3
            .levels
            .get(&p.id)
            .map_or_else(|| "—".to_owned(), u8::to_string);
        let row = (p.id.clone(), p.name.clone(), level);
        match out.iter_mut().find(|(c, _)| *c == p.category) {
            Some((_, rows)) => rows.push(row),
            None => out.push((p.category.clone(), vec![row])),
        }
    }
    out
}

/// Find a team by its (decoded) id, or the page to show instead.
#[allow(clippy::result_large_err)]
async fn find_team(state: &AppState, tr: &Tr, id: &str) -> Result<TeamRecord, Response> {
    match state.fed.team(id).await {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(super::error_page(tr, &ApiError::not_found("team"))),
        Err(e) => Err(super::error_page(tr, &ApiError::from(e))),
    }
}

/// `?saved=1`
#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /console/directory/team/{id}`
pub async fn team(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
    Path(id): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Response {
    let t = match find_team(&state, &o.c.tr, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let today = today(&state);
    let keys = t
        .pgp_keys
        .iter()
        .map(|k| {
            let state = match k.expires {
                Some(d) if today.days_until(d) < 0 => "expired",
                Some(d) if today.days_until(d) <= state.directory.key_warning_days => "expiring",
                _ => "",
            };
            (k.fingerprint.clone(), expiry_text(k), state)
        })
        .collect();
    let sectors = t
        .constituency
        .sectors
        .iter()
        .map(|s| vocab::sector(s).map_or_else(|| s.clone(), |x| x.name.clone()))
        .collect();
    render(&TeamPage {
        seg: id_segment(t.id.as_str()),
        country_name: country_name(t.country.as_str(), o.c.tr.lang),
        services: services_by_area(&t),
        phones: t
            .phones
            .iter()
            .map(|p| {
                (
                    p.number.clone(),
                    p.usage.iter().map(|u| phone_usage_word(*u)).collect(),
                    p.public,
                )
            })
            .collect(),
        sectors,
        keys,
        sim3: sim3_table(&t),
        sim3_assessed: t
            .sim3
            .as_ref()
            .map(|s| s.assessed.to_string())
            .unwrap_or_default(),
        stale: stale(&t, state.fed.now(), state.directory.contacts_max_age_days),
        confirmed: o.c.tr.when_opt(t.contacts_confirmed),
        updated: o.c.tr.when(t.updated),
        editable: may_edit(&state, &o.c, &t.id),
        ti: ti_word(&t),
        saved: q.saved.is_some(),
        t,
        c: o.c,
    })
}

// ---------------------------------------------------------------------------------------------
// The edit form.

/// The edit form's fields, as text (from a record, or as the person typed them).
#[derive(Debug, Clone, Default)]
pub struct TeamForm {
    slug: String,
    official_name: String,
    short_name: String,
    country: String,
    team_type: String,
    host: String,
    website: String,
    established: String,
    designation_ref: String,
    designation_date: String,
    types: String,
    sectors: BTreeSet<String>,
    asns: String,
    domains: String,
    ip_ranges: String,
    countries: String,
    services: BTreeSet<String>,
    hours: String,
    hours_tz: String,
    available_24x7: bool,
    emails: String,
    phones: String,
    pgp: String,
    disseminates: bool,
    shares: bool,
    assists: bool,
    sim3: BTreeMap<String, String>,
    notes: String,
}

fn lines<T: ToString>(v: &[T]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn split_lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

impl TeamForm {
    fn of(t: &TeamRecord) -> Self {
        TeamForm {
            slug: String::new(),
            official_name: t.official_name.clone(),
            short_name: t.short_name.clone(),
            country: t.country.to_string(),
            team_type: t.team_type.as_str().to_owned(),
            host: t.host_organisation.clone().unwrap_or_default(),
            website: t.website.clone().unwrap_or_default(),
            established: t.established.map(|d| d.to_string()).unwrap_or_default(),
            designation_ref: t
                .designation
                .as_ref()
                .map(|d| d.reference.clone())
                .unwrap_or_default(),
            designation_date: t
                .designation
                .as_ref()
                .map(|d| d.date.to_string())
                .unwrap_or_default(),
            types: lines(&t.constituency.types),
            sectors: t.constituency.sectors.iter().cloned().collect(),
            asns: lines(&t.constituency.asns),
            domains: lines(&t.constituency.domains),
            ip_ranges: lines(&t.constituency.ip_ranges),
            countries: lines(&t.constituency.countries),
            services: t.services.iter().cloned().collect(),
            hours: t
                .business_hours
                .as_ref()
                .map(|h| h.hours.clone())
                .unwrap_or_default(),
            hours_tz: t
                .business_hours
                .as_ref()
                .map(|h| h.timezone.clone())
                .unwrap_or_default(),
            available_24x7: t.available_24x7,
            emails: t
                .emails
                .iter()
                .map(|e| {
                    format!(
                        "{} | {} | {}",
                        e.address,
                        e.usage.join(","),
                        if e.public { "public" } else { "members" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            phones: t
                .phones
                .iter()
                .map(|p| {
                    let usage: Vec<&str> = p.usage.iter().map(|u| phone_usage_word(*u)).collect();
                    format!(
                        "{} | {} | {}",
                        p.number,
                        usage.join(","),
                        if p.public { "public" } else { "members" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            pgp: String::new(),
            disseminates: t.mandate.disseminates_nationally,
            shares: t.mandate.authorised_to_share,
            assists: t.mandate.assists_other_teams,
            sim3: t
                .sim3
                .as_ref()
                .map(|s| {
                    s.levels
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            notes: t.member_notes.clone().unwrap_or_default(),
        }
    }

    fn posted(p: &Posted) -> Self {
        let raw = |k: &str| {
            p.fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let get = |k: &str| p.get(k).unwrap_or("").to_owned();
        let on = |k: &str| p.get(k).is_some();
        TeamForm {
            slug: get("slug"),
            official_name: get("official_name"),
            short_name: get("short_name"),
            country: get("country").to_ascii_uppercase(),
            team_type: get("team_type"),
            host: get("host"),
            website: get("website"),
            established: get("established"),
            designation_ref: get("designation_ref"),
            designation_date: get("designation_date"),
            types: raw("types"),
            sectors: p.all("sector").into_iter().map(str::to_owned).collect(),
            asns: raw("asns"),
            domains: raw("domains"),
            ip_ranges: raw("ip_ranges"),
            countries: raw("countries"),
            services: p.all("service").into_iter().map(str::to_owned).collect(),
            hours: get("hours"),
            hours_tz: get("hours_tz"),
            available_24x7: on("available_24x7"),
            emails: raw("emails"),
            phones: raw("phones"),
            pgp: raw("pgp"),
            disseminates: on("disseminates"),
            shares: on("shares"),
            assists: on("assists"),
            sim3: vocab::sim3_parameters()
                .iter()
                .filter_map(|x| {
                    p.get(&format!("sim3_{}", x.id))
                        .map(|v| (x.id.clone(), v.to_owned()))
                })
                .collect(),
            notes: raw("notes"),
        }
    }

    /// The record the form describes, over `base` (which keeps what the form does not show).
    fn to_record(
        &self,
        mut t: TeamRecord,
        today: Day,
        now: Timestamp,
    ) -> Result<TeamRecord, Vec<Problem>> {
        let mut problems = Vec::new();
        let day = |problems: &mut Vec<Problem>, field: &str, s: &str| -> Option<Day> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            Day::parse(s)
                .map_err(|m| problems.push(Problem::new("bad-date", field, m)))
                .ok()
        };
        t.official_name = self.official_name.trim().to_owned();
        t.short_name = self.short_name.trim().to_owned();
        match CountryCode::new(self.country.trim()) {
            Ok(c) => t.country = c,
            Err(_) => problems.push(Problem::new(
                "unknown-country",
                "country",
                format!("`{}` is not an OAS member state", self.country.trim()),
            )),
        }
        match TeamType::parse(self.team_type.trim()) {
            Some(ty) => t.team_type = ty,
            None => problems.push(Problem::new("bad-field", "team_type", "choose a team type")),
        }
        t.host_organisation = opt(&self.host);
        t.website = opt(&self.website);
        t.established = day(&mut problems, "established", &self.established);
        let dref = opt(&self.designation_ref);
        let ddate = day(&mut problems, "designation.date", &self.designation_date);
        t.designation = match (dref, ddate) {
            (Some(reference), Some(date)) => Some(Designation {
                url: t.designation.as_ref().and_then(|d| d.url.clone()),
                reference,
                date,
            }),
            (None, None) => None,
            _ => {
                problems.push(Problem::new(
                    "bad-field",
                    "designation",
                    "give both the designation's reference and its date",
                ));
                None
            }
        };
        t.constituency.types = split_lines(&self.types);
        t.constituency.sectors = self.sectors.iter().cloned().collect();
        t.constituency.asns = Vec::new();
        for (i, a) in split_lines(&self.asns).iter().enumerate() {
            let digits = a.trim_start_matches("AS").trim_start_matches("as");
            match digits.parse::<u32>() {
                Ok(n) => t.constituency.asns.push(n),
                Err(_) => problems.push(Problem::new(
                    "bad-asn",
                    format!("constituency.asns[{i}]"),
                    format!("`{a}` is not an autonomous system number"),
                )),
            }
        }
        t.constituency.domains = split_lines(&self.domains);
        t.constituency.ip_ranges = split_lines(&self.ip_ranges);
        t.constituency.countries = Vec::new();
        for (i, c) in split_lines(&self.countries).iter().enumerate() {
            match CountryCode::new(&c.to_ascii_uppercase()) {
                Ok(c) => t.constituency.countries.push(c),
                Err(_) => problems.push(Problem::new(
                    "unknown-country",
                    format!("constituency.countries[{i}]"),
                    format!("`{c}` is not an OAS member state"),
                )),
            }
        }
        t.services = self.services.iter().cloned().collect();
        t.business_hours = match (opt(&self.hours), opt(&self.hours_tz)) {
            (None, None) => None,
            (hours, tz) => Some(BusinessHours {
                hours: hours.unwrap_or_default(),
                timezone: tz.unwrap_or_default(),
            }),
        };
        t.available_24x7 = self.available_24x7;
        let phone_tz = opt(&self.hours_tz)
            .or_else(|| member_states::by_code(t.country.as_str()).map(|s| s.timezone.clone()))
            .unwrap_or_else(|| "UTC".to_owned());
        t.emails = Vec::new();
        for line in split_lines(&self.emails) {
            let (address, usage, public) = contact_line(&line);
            t.emails.push(Email {
                address,
                usage,
                public,
            });
        }
        let old_phones = std::mem::take(&mut t.phones);
        for (i, line) in split_lines(&self.phones).iter().enumerate() {
            let (number, usage, public) = contact_line(line);
            let mut usages = Vec::new();
            for u in usage {
                match u.as_str() {
                    "voice" => usages.push(PhoneUsage::Voice),
                    "emergency" => usages.push(PhoneUsage::Emergency),
                    "fax" => usages.push(PhoneUsage::Fax),
                    other => problems.push(Problem::new(
                        "bad-phone",
                        format!("phones[{i}].usage"),
                        format!("`{other}` is not one of voice, emergency, fax"),
                    )),
                }
            }
            if usages.is_empty() {
                usages.push(PhoneUsage::Voice);
            }
            let old = old_phones
                .iter()
                .find(|p| p.number == number)
                .and_then(|p| p.comments.clone());
            t.phones.push(Phone {
                number,
                usage: usages,
                timezone: phone_tz.clone(),
                comments: old,
                public,
            });
        }
        if !self.pgp.trim().is_empty() {
            match crate::directory_api::check_armored_key(&self.pgp, now) {
                Err((code, message)) => problems.push(Problem::new(code, "pgp_keys", message)),
                Ok(k) => {
                    let expires = k
                        .expires
                        .and_then(|s| Timestamp::from_unix_millis(s.saturating_mul(1000)))
                        .map(Day::of);
                    t.pgp_keys.retain(|old| old.fingerprint != k.fingerprint);
                    t.pgp_keys.insert(
                        0,
                        PgpKey {
                            fingerprint: k.fingerprint,
                            expires,
                            armored: Some(self.pgp.trim().to_owned()),
                        },
                    );
                }
            }
        }
        t.mandate = Mandate {
            disseminates_nationally: self.disseminates,
            authorised_to_share: self.shares,
            assists_other_teams: self.assists,
        };
        let mut levels = BTreeMap::new();
        for (id, v) in &self.sim3 {
            match v.parse::<u8>() {
                Ok(l) => {
                    levels.insert(id.clone(), l);
                }
                Err(_) => problems.push(Problem::new(
                    "bad-sim3",
                    format!("sim3.levels.{id}"),
                    format!("`{v}` is not a SIM3 level (0 to 4)"),
                )),
            }
        }
        t.sim3 = if levels.is_empty() {
            None
        } else if t.sim3.as_ref().is_some_and(|s| s.levels == levels) {
            t.sim3.clone()
        } else {
            Some(Sim3Assessment {
                assessed: today,
                levels,
            })
        };
        t.member_notes = opt(&self.notes);
        t.updated = now;
        let t = directory::normalise(t);
        if let Err(more) = directory::validate(&t, today) {
            problems.extend(more);
        }
        if problems.is_empty() {
            Ok(t)
        } else {
            Err(problems)
        }
    }
}

fn phone_usage_word(u: PhoneUsage) -> &'static str {
    match u {
        PhoneUsage::Voice => "voice",
        PhoneUsage::Emergency => "emergency",
        PhoneUsage::Fax => "fax",
    }
}

/// `address | usage,usage | public`: (address, usages, public).
fn contact_line(line: &str) -> (String, Vec<String>, bool) {
    let mut parts = line.split('|').map(str::trim);
    let address = parts.next().unwrap_or("").to_owned();
    let usage = parts
        .next()
        .unwrap_or("")
        .split(',')
        .map(|u| u.trim().to_ascii_lowercase())
        .filter(|u| !u.is_empty())
        .collect();
    let public = parts
        .next()
        .is_some_and(|p| p.eq_ignore_ascii_case("public"));
    (address, usage, public)
}

#[derive(Template)]
#[template(path = "console/team_edit.html")]
struct EditPage {
    c: Chrome,
    f: TeamForm,
    action: String,
    title: String,
    new_team: bool,
    node: String,
    problems: Vec<Problem>,
    types: Vec<(&'static str, bool)>,
    sectors: Vec<(String, String, bool)>,
    services: Vec<ServiceGroup>,
    sim3: Vec<Sim3EditGroup>,
}

fn edit_page(
    c: Chrome,
    f: TeamForm,
    action: String,
    title: String,
    new_team: bool,
    problems: Vec<Problem>,
    status: StatusCode,
) -> Response {
    let types = TeamType::ALL
        .iter()
        .map(|t| (t.as_str(), f.team_type == t.as_str()))
        .collect();
    let sectors = vocab::sectors()
        .iter()
        .map(|s| (s.key.clone(), s.name.clone(), f.sectors.contains(&s.key)))
        .collect();
    let services = vocab::SERVICE_AREAS
        .iter()
        .map(|(area, name)| {
            (
                (*name).to_owned(),
                vocab::services()
                    .iter()
                    .filter(|s| s.area == *area)
                    .map(|s| (s.id.clone(), s.name.clone(), f.services.contains(&s.id)))
                    .collect(),
            )
        })
        .collect();
    let mut sim3: Vec<Sim3EditGroup> = Vec::new();
    for p in vocab::sim3_parameters() {
        let cur = f.sim3.get(&p.id).cloned().unwrap_or_default();
        let opts = ["", "0", "1", "2", "3", "4"]
            .iter()
            .map(|l| ((*l).to_owned(), cur == *l))
            .collect();
        let row = (p.id.clone(), p.name.clone(), opts);
        match sim3.iter_mut().find(|(cat, _)| *cat == p.category) {
            Some((_, rows)) => rows.push(row),
            None => sim3.push((p.category.clone(), vec![row])),
        }
    }
    let node = c.node_id.clone();
    render_status(
        status,
        &EditPage {
            c,
            f,
            action,
            title,
            new_team,
            node,
            problems,
            types,
            sectors,
            services,
            sim3,
        },
    )
}

/// Refuse unless the person may edit and this node is the team's authority.
#[allow(clippy::result_large_err)]
fn check_edit(state: &AppState, o: &Officer, id: &TeamId) -> Result<(), Response> {
    o.require(Permission::EditDirectory)?;
    if id.authority() != state.fed.node_id() {
        return Err(super::error_page(
            &o.c.tr,
            &ErrorCode::NotAuthoritative.with(format!(
                "{} is not the authority for team {id}: {} is",
                state.fed.node_id(),
                id.authority()
            )),
        ));
    }
    Ok(())
}

/// The team a path names, if the person may edit it here (see [`check_edit`]).
#[allow(clippy::result_large_err)]
async fn editable_team(state: &AppState, o: &Officer, id: &str) -> Result<TeamRecord, Response> {
    o.require(Permission::EditDirectory)?;
    let t = find_team(state, &o.c.tr, id).await?;
    check_edit(state, o, &t.id)?;
    Ok(t)
}

/// `GET /console/directory/team/{id}/edit`
pub async fn edit_form(
    State(state): State<AppState>,
    o: Officer,
    Path(id): Path<String>,
) -> Response {
    let t = match editable_team(&state, &o, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let action = format!("/console/directory/team/{}/edit", id_segment(t.id.as_str()));
    edit_page(
        o.c,
        TeamForm::of(&t),
        action,
        t.short_name.clone(),
        false,
        Vec::new(),
        StatusCode::OK,
    )
}

/// Publish a team's record and go to its page (`?saved=1`), or the error page.
async fn publish_team(state: &AppState, c: &Chrome, t: TeamRecord) -> Response {
    let seg = id_segment(t.id.as_str());
    match state
        .fed
        .publish_directory_entry(DirectoryEntry::Team(Box::new(t)))
        .await
    {
        Ok(_) => go(&format!("/console/directory/team/{seg}?saved=1")),
        Err(DirectoryError::NotAuthoritative(e)) => super::error_page(
            &c.tr,
            &ApiError::new(StatusCode::FORBIDDEN, e.code(), e.to_string()),
        ),
        Err(DirectoryError::Invalid { code, message }) => super::error_page(
            &c.tr,
            &ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
        ),
        Err(e) => super::error_page(&c.tr, &ApiError::internal(e)),
    }
}

/// `POST /console/directory/team/{id}/edit`
pub async fn edit_submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    p: Posted,
) -> Response {
    let t = match editable_team(&state, &p.officer, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let f = TeamForm::posted(&p);
    let c = p.officer.c.clone();
    let seg = id_segment(t.id.as_str());
    let title = t.short_name.clone();
    match f.to_record(t, today(&state), state.fed.now()) {
        Err(problems) => edit_page(
            c,
            f,
            format!("/console/directory/team/{seg}/edit"),
            title,
            false,
            problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(rec) => publish_team(&state, &c, rec).await,
    }
}

/// `POST /console/directory/team/{id}/confirm`: the contacts are right as of now.
pub async fn confirm(State(state): State<AppState>, Path(id): Path<String>, p: Posted) -> Response {
    let mut t = match editable_team(&state, &p.officer, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let now = state.fed.now();
    t.contacts_confirmed = Some(now);
    t.updated = now;
    publish_team(&state, &p.officer.c, directory::normalise(t)).await
}

fn blank_record(state: &AppState, id: TeamId, country: CountryCode) -> TeamRecord {
    TeamRecord {
        id,
        official_name: String::new(),
        short_name: String::new(),
        country,
        team_type: TeamType::Sectoral,
        host_organisation: None,
        postal_address: None,
        website: None,
        established: None,
        designation: None,
        constituency: Default::default(),
        services: Vec::new(),
        business_hours: None,
        available_24x7: false,
        emails: Vec::new(),
        phones: Vec::new(),
        pgp_keys: Vec::new(),
        first: None,
        trusted_introducer: None,
        mandate: Mandate::default(),
        sim3: None,
        member_notes: None,
        contacts_confirmed: None,
        updated: state.fed.now(),
        demo: false,
    }
}

/// `GET /console/directory/new`: a team this node hosts.
pub async fn new_form(
    State(state): State<AppState>,
    Need(o, ..): Need<EditDirectory, Officer>,
) -> Response {
    let Some(country) = my_country(&state) else {
        return not_in_roster(&o.c.tr);
    };
    let mut f = TeamForm::of(&blank_record(
        &state,
        TeamId::of_node(state.fed.node_id()),
        country,
    ));
    f.team_type = String::new();
    let title = o.c.tr.t("dir-new-team");
    edit_page(
        o.c,
        f,
        "/console/directory/new".into(),
        title,
        true,
        Vec::new(),
        StatusCode::OK,
    )
}

/// `POST /console/directory/new`
pub async fn new_submit(
    State(state): State<AppState>,
    Need(p, ..): Need<EditDirectory, Posted>,
) -> Response {
    let f = TeamForm::posted(&p);
    let c = p.officer.c.clone();
    let title = c.tr.t("dir-new-team");
    let refuse = |c: Chrome, f: TeamForm, problems: Vec<Problem>| {
        edit_page(
            c,
            f,
            "/console/directory/new".into(),
            title.clone(),
            true,
            problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let id = match TeamId::hosted(state.fed.node_id(), f.slug.trim()) {
        Ok(id) => id,
        Err(m) => return refuse(c, f, vec![Problem::new("bad-id", "slug", m)]),
    };
    match state.fed.team(id.as_str()).await {
        Ok(Some(_)) => {
            return refuse(
                c,
                f,
                vec![Problem::new(
                    "duplicate",
                    "slug",
                    format!("team {id} exists already"),
                )],
            );
        }
        Ok(None) => {}
        Err(e) => return super::error_page(&c.tr, &ApiError::from(e)),
    }
    let Some(country) = my_country(&state) else {
        return not_in_roster(&c.tr);
    };
    match f.to_record(
        blank_record(&state, id, country),
        today(&state),
        state.fed.now(),
    ) {
        Err(problems) => refuse(c, f, problems),
        Ok(rec) => publish_team(&state, &c, rec).await,
    }
}

// ---------------------------------------------------------------------------------------------
// Coverage.

/// One member state on the coverage map.
#[derive(Debug, Clone)]
pub struct CoverageCountry {
    /// Its shape on the map.
    pub shape: &'static super::map::Shape,
    /// Name in the viewer's language.
    pub name: String,
    /// `none`, `contact-only`, `partial`, `full`.
    pub status: &'static str,
}

/// A chart from `charts.rs`: (title, escaped SVG).
fn bars(title: String, items: Vec<(String, usize)>) -> (String, String) {
    let rows: Vec<(String, f64)> = items.into_iter().map(|(l, v)| (l, v as f64)).collect();
    let svg = crate::charts::bar_chart(&title, &rows, "");
    (title, svg)
}

#[derive(Template)]
#[template(path = "console/coverage.html")]
struct CoveragePage {
    c: Chrome,
    report: CoverageReport,
    view_box: String,
    countries: Vec<CoverageCountry>,
    charts: Vec<(String, String)>,
    no_national: Vec<String>,
    no_contact: Vec<String>,
    gaps: Vec<(String, String, String, Vec<String>)>,
    sector_gaps: Vec<(String, Vec<String>)>,
    gaps_24x7: Vec<String>,
    minimum: Vec<(String, String)>,
    expiring: Vec<(String, String, String, i64)>,
    /// (team path segment, team, key fingerprint, finding code, day or reason).
    key_problems: Vec<(String, String, String, &'static str, String)>,
    stale: Vec<(String, String, String)>,
}

/// `GET /console/coverage`
pub async fn coverage_page(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
) -> Response {
    let teams = match state.fed.teams().await {
        Ok(t) => t,
        Err(e) => return super::error_page(&o.c.tr, &ApiError::from(e)),
    };
    let report = match crate::census_api::coverage_report(&state).await {
        Ok(r) => r,
        Err(e) => return super::error_page(&o.c.tr, &e),
    };
    let minimum = match crate::census_api::minimum_set(&state).await {
        Ok(m) => m,
        Err(e) => return super::error_page(&o.c.tr, &e),
    };
    let tr = &o.c.tr;
    let lang = tr.lang;
    let name = |c: &CountryCode| country_name(c.as_str(), lang);
    let countries = MAP
        .countries
        .iter()
        .map(|shape| CoverageCountry {
            shape,
            name: country_name(&shape.code, lang),
            status: report
                .states
                .iter()
                .find(|s| s.country.as_str() == shape.code)
                .map_or("none", |s| s.status.as_str()),
        })
        .collect();
    let t = &report.totals;
    let by_status = bars(
        tr.t("cov-chart-status"),
        vec![
            (tr.t("cov-full"), t.full),
            (tr.t("cov-partial"), t.partial),
            (tr.t("cov-contact-only"), t.contact_only),
            (tr.t("cov-none"), t.none),
        ],
    );
    let mut mat: Vec<(String, usize)> = report
        .maturity
        .bands
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("SIM3 {i}"), *n))
        .collect();
    mat.push((tr.t("cov-unassessed"), report.maturity.unassessed));
    let maturity = bars(tr.t("cov-chart-maturity"), mat);
    let by_type = bars(
        tr.t("cov-chart-types"),
        TeamType::ALL
            .iter()
            .map(|ty| {
                (
                    tr.tk("type-", ty.as_str()),
                    teams.iter().filter(|x| x.team_type == *ty).count(),
                )
            })
            .collect(),
    );
    let gaps = report
        .teams_missing_requirements
        .iter()
        .map(|g| {
            (
                id_segment(g.team.as_str()),
                g.team.to_string(),
                name(&g.country),
                g.missing.clone(),
            )
        })
        .collect();
    let sector_gaps = report
        .sector_gaps
        .iter()
        .map(|(s, cs)| {
            (
                vocab::sector(s).map_or_else(|| s.clone(), |x| x.name.clone()),
                cs.iter().map(name).collect(),
            )
        })
        .collect();
    let minimum_rows = minimum
        .requirements
        .iter()
        .map(|r| (r.id.clone(), r.name.get(lang.code()).to_owned()))
        .collect();
    let today = today(&state);
    let expiring = directory::expiring_keys(&teams, today, state.directory.key_warning_days)
        .into_iter()
        .map(|w| {
            (
                id_segment(w.team.as_str()),
                w.team.to_string(),
                w.expires.to_string(),
                w.days_left,
            )
        })
        .collect();
    let key_problems = directory::key_problems(
        &teams,
        today,
        state.directory.key_warning_days,
        &atalaya_node::directory::read_armored_key,
    )
    .into_iter()
    .map(|p| {
        use directory::KeyFinding as F;
        let detail = match &p.finding {
            F::EncryptionExpiring { expires, .. } => expires.to_string(),
            F::EncryptionExpired { expired, .. } => expired.to_string(),
            F::Unreadable { reason } => reason.clone(),
            F::Revoked | F::EncryptionRevoked { .. } | F::NoEncryptionKey => String::new(),
        };
        (
            id_segment(p.team.as_str()),
            p.team.to_string(),
            p.fingerprint,
            p.finding.code(),
            detail,
        )
    })
    .collect();
    let stale = directory::stale_contacts(
        &teams,
        state.fed.now(),
        state.directory.contacts_max_age_days,
    )
    .into_iter()
    .map(|s| {
        (
            id_segment(s.team.as_str()),
            s.team.to_string(),
            tr.when_opt(s.last_confirmed),
        )
    })
    .collect();
    render(&CoveragePage {
        view_box: format!("0 0 {} {}", MAP.view_box[0], MAP.view_box[1]),
        countries,
        charts: vec![by_status, maturity, by_type],
        no_national: report.without_national_csirt.iter().map(name).collect(),
        no_contact: report.without_contact.iter().map(name).collect(),
        gaps,
        sector_gaps,
        gaps_24x7: report.gaps_24x7.iter().map(name).collect(),
        minimum: minimum_rows,
        expiring,
        key_problems,
        stale,
        report,
        c: o.c,
    })
}

// ---------------------------------------------------------------------------------------------
// Cybercrime and standards.

#[derive(Template)]
#[template(path = "console/cybercrime.html")]
struct CybercrimePage {
    c: Chrome,
    countries: Vec<(String, CountryCybercrime)>,
    own: Option<String>,
    json: String,
    problems: Vec<Problem>,
    saved: bool,
}

async fn cybercrime_entries(state: &AppState) -> Vec<CountryCybercrime> {
    state.fed.cybercrime_entries().await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cybercrime entries unreadable");
        Vec::new()
    })
}

async fn cybercrime_render(
    state: &AppState,
    c: Chrome,
    json: Option<String>,
    problems: Vec<Problem>,
    saved: bool,
    status: StatusCode,
) -> Response {
    let entries = cybercrime_entries(state).await;
    let own_country = my_country(state);
    let own_entry = own_country.and_then(|oc| entries.iter().find(|e| e.country == oc).cloned());
    let json = json.unwrap_or_else(|| {
        own_entry
            .map(|e| serde_json::json!({"authorities": e.authorities, "laws": e.laws}))
            .map_or_else(
                || "{\n  \"authorities\": [],\n  \"laws\": []\n}".to_owned(),
                |v| serde_json::to_string_pretty(&v).unwrap_or_default(),
            )
    });
    let mut countries: Vec<(String, CountryCybercrime)> = entries
        .into_iter()
        .map(|e| (country_name(e.country.as_str(), c.tr.lang), e))
        .collect();
    countries.sort_by(|a, b| a.0.cmp(&b.0));
    let own = own_country
        .filter(|_| c.can("directory:write"))
        .map(|oc| country_name(oc.as_str(), c.tr.lang));
    render_status(
        status,
        &CybercrimePage {
            c,
            countries,
            own,
            json,
            problems,
            saved,
        },
    )
}

/// `GET /console/cybercrime`
pub async fn cybercrime(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
    Query(q): Query<SavedQuery>,
) -> Response {
    cybercrime_render(
        &state,
        o.c,
        None,
        Vec::new(),
        q.saved.is_some(),
        StatusCode::OK,
    )
    .await
}

/// The authorities and laws as edited: `{"authorities": [...], "laws": [...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CybercrimeEdit {
    #[serde(default)]
    authorities: Vec<directory::CybercrimeAuthority>,
    #[serde(default)]
    laws: Vec<directory::CybercrimeLaw>,
}

/// `POST /console/cybercrime`: this node's country's entry.
pub async fn save_cybercrime(
    State(state): State<AppState>,
    Need(p, ..): Need<EditDirectory, Posted>,
) -> Response {
    let c = p.officer.c.clone();
    let json = p
        .fields
        .iter()
        .find(|(k, _)| k == "json")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let Some(country) = my_country(&state) else {
        return not_in_roster(&c.tr);
    };
    let bad = |problems| {
        cybercrime_render(
            &state,
            c.clone(),
            Some(json.clone()),
            problems,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let edit: CybercrimeEdit = match serde_json::from_str(&json) {
        Ok(e) => e,
        Err(e) => return bad(vec![Problem::new("bad-json", "json", e.to_string())]).await,
    };
    let entry = CountryCybercrime {
        country,
        authorities: edit.authorities,
        laws: edit.laws,
        updated: state.fed.now(),
        demo: false,
    };
    let entry = DirectoryEntry::Cybercrime(Box::new(entry));
    if let Err(problems) = entry.check_content(today(&state)) {
        return bad(problems).await;
    }
    publish_country_entry(&state, &c, entry, "/console/cybercrime?saved=1").await
}

/// Publish this country's cybercrime or standards entry and go to `saved_page`, or the error
/// page (403 when this node may not speak for the country, else 422).
async fn publish_country_entry(
    state: &AppState,
    c: &Chrome,
    entry: DirectoryEntry,
    saved_page: &str,
) -> Response {
    match state.fed.publish_directory_entry(entry).await {
        Ok(_) => go(saved_page),
        Err(DirectoryError::NotAuthoritative(e)) => super::error_page(
            &c.tr,
            &ApiError::new(StatusCode::FORBIDDEN, e.code(), e.to_string()),
        ),
        Err(e) => super::error_page(&c.tr, &ErrorCode::InvalidDirectoryEntry.with(e.to_string())),
    }
}

#[derive(Template)]
#[template(path = "console/standards.html")]
struct StandardsPage {
    c: Chrome,
    standards: Vec<(String, String, String, Option<String>)>,
    matrix: Vec<(String, Vec<&'static str>, Vec<String>)>,
    own: Option<OwnAdoption>,
    problems: Vec<Problem>,
    saved: bool,
}

async fn standards_render(
    state: &AppState,
    c: Chrome,
    problems: Vec<Problem>,
    saved: bool,
    status: StatusCode,
) -> Response {
    let registry: Option<StandardsRegistry> =
        state.fed.standards_registry().await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "standards registry unreadable");
            None
        });
    let stds = registry.map(|r| r.standards).unwrap_or_default();
    let adoptions: Vec<StandardsAdoption> =
        state.fed.standards_adoptions().await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "standards adoptions unreadable");
            Vec::new()
        });
    let lang = c.tr.lang;
    let status_of = |a: Option<&StandardsAdoption>, id: &str| {
        a.and_then(|a| a.adoptions.iter().find(|x| x.standard == id))
            .map_or("unknown", |x| x.status.as_str())
    };
    let mut matrix: Vec<(String, Vec<&'static str>, Vec<String>)> = adoptions
        .iter()
        .map(|a| {
            (
                country_name(a.country.as_str(), lang),
                stds.iter().map(|s| status_of(Some(a), &s.id)).collect(),
                a.adoptions
                    .iter()
                    .filter_map(|x| x.obstacles.as_ref().map(|o| format!("{}: {o}", x.standard)))
                    .collect(),
            )
        })
        .collect();
    matrix.sort_by(|a, b| a.0.cmp(&b.0));
    let own = my_country(state)
        .filter(|_| c.can("directory:write"))
        .map(|oc| {
            let mine = adoptions.iter().find(|a| a.country == oc);
            (
                country_name(oc.as_str(), lang),
                stds.iter()
                    .map(|s| {
                        let cur = status_of(mine, &s.id);
                        let opts = AdoptionStatus::ALL
                            .iter()
                            .map(|x| (x.as_str(), x.as_str() == cur))
                            .collect();
                        let obstacles = mine
                            .and_then(|a| a.adoptions.iter().find(|x| x.standard == s.id))
                            .and_then(|x| x.obstacles.clone())
                            .unwrap_or_default();
                        (
                            s.id.clone(),
                            format!("{} {}", s.body, s.number),
                            opts,
                            obstacles,
                        )
                    })
                    .collect(),
            )
        });
    let standards = stds
        .into_iter()
        .map(|s| (format!("{} {}", s.body, s.number), s.title, s.id, s.url))
        .collect();
    render_status(
        status,
        &StandardsPage {
            c,
            standards,
            matrix,
            own,
            problems,
            saved,
        },
    )
}

/// `GET /console/standards`
pub async fn standards(
    State(state): State<AppState>,
    Need(o, ..): Need<ReadDirectory, Officer>,
    Query(q): Query<SavedQuery>,
) -> Response {
    standards_render(&state, o.c, Vec::new(), q.saved.is_some(), StatusCode::OK).await
}

/// `POST /console/standards`: this node's country's adoption (`status_<id>`, `obstacles_<id>`).
pub async fn save_standards(
    State(state): State<AppState>,
    Need(p, ..): Need<EditDirectory, Posted>,
) -> Response {
    let c = p.officer.c.clone();
    let Some(country) = my_country(&state) else {
        return not_in_roster(&c.tr);
    };
    let mut problems = Vec::new();
    let mut adoptions = Vec::new();
    for (k, v) in &p.fields {
        let Some(id) = k.strip_prefix("status_") else {
            continue;
        };
        if v.trim().is_empty() || v == "unknown" {
            continue;
        }
        match AdoptionStatus::ALL.iter().find(|s| s.as_str() == v.trim()) {
            Some(s) => adoptions.push(Adoption {
                standard: id.to_owned(),
                status: *s,
                obstacles: p.get(&format!("obstacles_{id}")).map(str::to_owned),
            }),
            None => problems.push(Problem::new(
                "bad-field",
                k.clone(),
                format!("`{v}` is not an adoption status"),
            )),
        }
    }
    let entry = DirectoryEntry::StandardsAdoption(Box::new(StandardsAdoption {
        country,
        adoptions,
        updated: state.fed.now(),
        demo: false,
    }));
    if let Err(more) = entry.check_content(today(&state)) {
        problems.extend(more);
    }
    if !problems.is_empty() {
        return standards_render(&state, c, problems, false, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    }
    publish_country_entry(&state, &c, entry, "/console/standards?saved=1").await
}

// ---------------------------------------------------------------------------------------------
// The public directory.

/// One team as the public sees it.
#[derive(Debug, Clone)]
pub struct PublicTeam {
    /// Id as a path segment.
    pub seg: String,
    /// The public view of the record.
    pub t: TeamRecord,
    /// Where to report an incident.
    pub report_to: String,
    /// Keys: (fingerprint, expiry).
    pub keys: Vec<(String, String)>,
}

/// One member state on the public page.
#[derive(Debug, Clone)]
pub struct PublicCountry {
    /// Name.
    pub name: String,
    /// Code.
    pub code: String,
    /// The national CSIRT(s) first, then the others.
    pub teams: Vec<PublicTeam>,
    /// Laws: (title, url).
    pub laws: Vec<(String, Option<String>)>,
}

#[derive(Template)]
#[template(path = "console/public_directory.html")]
struct PublicPage {
    tr: Tr,
    countries: Vec<PublicCountry>,
    languages: Vec<(&'static str, &'static str, bool)>,
}

/// `?lang=`
#[derive(Debug, Default, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

fn public_lang(headers: &HeaderMap, q: &LangQuery) -> Lang {
    q.lang
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or_else(|| super::browser_lang(headers))
}

/// `GET /directory`: the public directory, no login.
pub async fn public_directory(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = public_lang(&headers, &q);
    let tr = Tr::new(lang, "UTC");
    let teams = match state.fed.teams().await {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let laws = cybercrime_entries(&state).await;
    let mut by_country: BTreeMap<String, Vec<PublicTeam>> = BTreeMap::new();
    for t in &teams {
        let t = t.public_view();
        let report_to = t
            .emails
            .iter()
            .find(|e| e.usage.iter().any(|u| u == "incident-report"))
            .or_else(|| {
                t.emails
                    .iter()
                    .find(|e| e.usage.iter().any(|u| u == "contact"))
            })
            .map(|e| e.address.clone())
            .unwrap_or_default();
        let keys = t
            .pgp_keys
            .iter()
            .map(|k| (k.fingerprint.clone(), expiry_text(k)))
            .collect();
        by_country
            .entry(t.country.to_string())
            .or_default()
            .push(PublicTeam {
                seg: id_segment(t.id.as_str()),
                report_to,
                keys,
                t,
            });
    }
    let countries: Vec<PublicCountry> = states_sorted(lang)
        .into_iter()
        .filter_map(|(code, name)| {
            let mut teams = by_country.remove(&code).unwrap_or_default();
            teams.sort_by_key(|p| (p.t.team_type != TeamType::National, p.t.short_name.clone()));
            let laws: Vec<(String, Option<String>)> = laws
                .iter()
                .filter(|l| l.country.as_str() == code)
                .flat_map(|l| l.laws.iter().map(|x| (x.title.clone(), x.url.clone())))
                .collect();
            (!teams.is_empty() || !laws.is_empty()).then_some(PublicCountry {
                name,
                code,
                teams,
                laws,
            })
        })
        .collect();
    let languages = Lang::ALL
        .into_iter()
        .map(|l| (l.code(), l.native_name(), l == lang))
        .collect();
    render(&PublicPage {
        tr,
        countries,
        languages,
    })
}

/// `GET /directory/{file}`: `<id>.txt` (RFC 2350) or `<id>.vcf` (vCard), public fields only.
pub async fn public_file(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let (id, kind) = if let Some(id) = file.strip_suffix(".txt") {
        (id, "txt")
    } else if let Some(id) = file.strip_suffix(".vcf") {
        (id, "vcf")
    } else {
        return ApiError::not_found("directory file").into_response();
    };
    let t = match state.fed.team(id).await {
        Ok(Some(t)) => t.public_view(),
        Ok(None) => return ApiError::not_found("team").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (body, ctype) = if kind == "txt" {
        (
            atalaya_formats::directory::rfc2350::rfc2350(&t, today(&state)),
            "text/plain; charset=utf-8",
        )
    } else {
        (
            atalaya_formats::directory::vcard::vcard(&t),
            "text/vcard; charset=utf-8",
        )
    };
    ([(header::CONTENT_TYPE, ctype)], body).into_response()
}
